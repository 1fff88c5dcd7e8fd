//! Fixed-width slots by index in a scratch file, read and written through a small cache of
//! pages: what is kept per entry of a large export when it is looked up by id, not read in
//! order (the catalog's place of each media entry's record, [`crate::Media`]; the importer's
//! plan of each entry).
//!
//! Why a file: a vector of 8 bytes per entry was most of what the scan still held per entry
//! of the export (BENCHMARKS.md, session 16). Why pages of 4 KiB: the entries of one folder
//! get ids close to each other, and are written and read together, so a page read once serves
//! many; an entry far from the others costs one small read (and a write back), not a large
//! one. The least recently used page goes when one more is needed; a page's slots that were
//! never written read as zeros (a file made longer with `set_len`), so a caller whose zero
//! means "none" needs no other mark.

use std::collections::HashMap;
use std::fs::File;

use crate::records::{read_at, write_at};

/// Bytes per page (whole slots: a slot never spans two pages).
const PAGE_BYTES: usize = 4096;

/// The slots (see the module docs).
pub struct Slots {
    file: File,
    width: usize,
    /// Slots per page.
    per_page: usize,
    /// How many slots (the file holds every one of them).
    n: usize,
    /// Pages cached at most.
    cached: usize,
    /// Page number to its place in `pages`.
    at: HashMap<usize, usize>,
    pages: Vec<Page>,
    clock: u64,
}

struct Page {
    number: usize,
    used: u64,
    dirty: bool,
    bytes: Box<[u8]>,
}

impl std::fmt::Debug for Slots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Slots")
            .field("width", &self.width)
            .field("n", &self.n)
            .field("cached", &self.pages.len())
            .finish_non_exhaustive()
    }
}

impl Slots {
    /// `n` slots of `width` bytes (1 to 4096) in `file` (empty: it is made `n` slots long,
    /// and they read as zeros until written), through a cache of `cached` pages of 4 KiB (at
    /// least one).
    ///
    /// # Errors
    /// When the file cannot be sized.
    pub fn new(file: File, n: usize, width: usize, cached: usize) -> std::io::Result<Slots> {
        assert!((1..=PAGE_BYTES).contains(&width), "a slot of {width} bytes");
        let per_page = PAGE_BYTES / width;
        file.set_len((n as u64) * width as u64)?;
        Ok(Slots {
            file,
            width,
            per_page,
            n,
            cached: cached.max(1),
            at: HashMap::new(),
            pages: Vec::new(),
            clock: 0,
        })
    }

    /// How many slots there are.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Pages in the cache now (at most the `cached` of [`Self::new`]).
    pub fn cached(&self) -> usize {
        self.pages.len()
    }

    /// Slot `i`'s bytes.
    ///
    /// # Errors
    /// When the file cannot be read there, or a changed page written back.
    ///
    /// # Panics
    /// When there is no slot `i`.
    pub fn get(&mut self, i: usize) -> std::io::Result<&[u8]> {
        let (k, at) = self.page(i)?;
        Ok(&self.pages[k].bytes[at..at + self.width])
    }

    /// Writes `bytes` (as wide as a slot) into slot `i`.
    ///
    /// # Errors
    /// When the file cannot be read there, or a changed page written back.
    ///
    /// # Panics
    /// When there is no slot `i`, or `bytes` is not as wide as a slot.
    pub fn set(&mut self, i: usize, bytes: &[u8]) -> std::io::Result<()> {
        assert_eq!(bytes.len(), self.width, "a slot's bytes");
        let (k, at) = self.page(i)?;
        let page = &mut self.pages[k];
        page.bytes[at..at + bytes.len()].copy_from_slice(bytes);
        page.dirty = true;
        Ok(())
    }

    /// Writes every changed page back to the file.
    ///
    /// # Errors
    /// When the file cannot be written.
    pub fn flush(&mut self) -> std::io::Result<()> {
        for k in 0..self.pages.len() {
            self.write_back(k)?;
        }
        Ok(())
    }

    /// Where slot `i` is: its page's place in the cache (read in if needed) and its offset.
    fn page(&mut self, i: usize) -> std::io::Result<(usize, usize)> {
        assert!(i < self.n, "slot {i} of {}", self.n);
        let number = i / self.per_page;
        self.clock += 1;
        let k = match self.at.get(&number) {
            Some(&k) => k,
            None => {
                let k = if self.pages.len() < self.cached {
                    self.pages.push(Page {
                        number,
                        used: 0,
                        dirty: false,
                        bytes: vec![0; self.per_page * self.width].into_boxed_slice(),
                    });
                    self.pages.len() - 1
                } else {
                    let k = (0..self.pages.len())
                        .min_by_key(|&k| self.pages[k].used)
                        .expect("a full cache has pages");
                    self.write_back(k)?;
                    // Unless a failed read left this place unmapped (and its page read
                    // again elsewhere since).
                    if self.at.get(&self.pages[k].number) == Some(&k) {
                        self.at.remove(&self.pages[k].number);
                    }
                    k
                };
                let (start, end) = self.span(number);
                let page = &mut self.pages[k];
                read_at(&self.file, &mut page.bytes[..end - start], start as u64)?;
                (page.number, page.dirty) = (number, false);
                // Mapped once read in full: a failed read leaves no page that reads wrong.
                self.at.insert(number, k);
                k
            }
        };
        self.pages[k].used = self.clock;
        Ok((k, (i % self.per_page) * self.width))
    }

    /// Page `number`'s bytes in the file: the last page is short (the file ends with the
    /// last slot).
    fn span(&self, number: usize) -> (usize, usize) {
        let start = number * self.per_page * self.width;
        (
            start,
            (start + self.per_page * self.width).min(self.n * self.width),
        )
    }

    fn write_back(&mut self, k: usize) -> std::io::Result<()> {
        if self.pages[k].dirty {
            let (start, end) = self.span(self.pages[k].number);
            write_at(
                &self.file,
                &self.pages[k].bytes[..end - start],
                start as u64,
            )?;
            self.pages[k].dirty = false;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Slots written in any order, far more than the cache holds, read back as written; the
    /// ones never written read as zeros; the file is exactly the slots, the last page short.
    #[test]
    fn slots_past_the_cache_read_back_as_written() {
        for width in [8, 24, 32, 4096] {
            let file = tempfile::tempfile().unwrap();
            let n = 3 * PAGE_BYTES / width * 5 + 7;
            let mut s = Slots::new(file.try_clone().unwrap(), n, width, 2).unwrap();
            let value = |i: usize| {
                let mut b = vec![0u8; width];
                for (j, x) in b.iter_mut().enumerate() {
                    *x = (i * 31 + j) as u8 | 1;
                }
                b
            };
            // Every third slot, from the middle outwards in the first half, then from the end
            // inwards: pages leave and come back.
            let mut order: Vec<usize> = (0..n).filter(|i| i % 3 == 0).collect();
            let (front, back) = order.split_at_mut(n / 6);
            back.reverse();
            front.reverse();
            for &i in &order {
                s.set(i, &value(i)).unwrap();
            }
            for i in (0..n).rev() {
                let want = if i % 3 == 0 { value(i) } else { vec![0; width] };
                assert_eq!(s.get(i).unwrap(), &want[..], "slot {i} of width {width}");
            }
            s.flush().unwrap();
            assert_eq!(file.metadata().unwrap().len(), (n * width) as u64);
            let mut again = Slots::new(file, n, width, 1).unwrap();
            for i in [0, 1, n / 2, n - 2, n - 1] {
                let want = if i % 3 == 0 { value(i) } else { vec![0; width] };
                assert_eq!(again.get(i).unwrap(), &want[..], "slot {i} read again");
            }
        }
    }

    /// A file cut short under the slots is an error, never zeros (which would read as none).
    #[test]
    fn a_shortened_file_is_an_error() {
        let file = tempfile::tempfile().unwrap();
        let mut s = Slots::new(file.try_clone().unwrap(), 1000, 8, 4).unwrap();
        s.set(999, &[7; 8]).unwrap();
        s.flush().unwrap();
        let mut s = Slots::new(file.try_clone().unwrap(), 1000, 8, 4).unwrap();
        file.set_len(4096).unwrap();
        assert!(s.get(999).is_err());
        assert!(s.get(10).is_ok(), "a page before the cut reads");
    }
}
