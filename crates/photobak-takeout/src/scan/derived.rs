//! The id of an export whose parts carry no Takeout name (an extracted folder renamed, a
//! copy): the FNV-1a hash of every listed path and size, sorted by whole path, then size.
//!
//! The id is how a re-import of the export is recognised, so it must stay what it was in
//! earlier versions: the same paths in the same order, hashed the same way. Sorting needs
//! every path, and held together they were some 80 bytes per listed entry (a path, its size
//! and where it starts), what the scan still held per entry of such an export: more than the
//! rest of a first import's memory past some 800,000 entries. Given a scratch file
//! ([`crate::Spill::Files`]), [`Paths`] keeps [`RUN_BYTES`] of paths in memory, writes each
//! full run to the file sorted, and hashes the runs merged, a small read of each at a time:
//! the same sequence as one sort of them all (equal pairs are equal bytes, so how ties are
//! broken between runs changes nothing).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{Error, ErrorKind};

use crate::records::{Fields, Records, Sequential, framed};

/// Bytes of paths held before a run is sorted and written: 4 MiB, some 60,000 paths.
const RUN_BYTES: usize = 4 << 20;

/// Bytes read at a time from each run while the runs are merged: the readers are held at
/// once, one per run.
const RUN_READ: usize = 16 << 10;

/// Listed paths and their sizes (see the module docs).
pub(super) struct Paths {
    /// The current run's paths, one after the other: a `String` per path was an allocation
    /// and 24 bytes more for each.
    text: String,
    /// Each path's start in `text`, its length and its entry's size.
    at: Vec<(usize, u32, u64)>,
    /// The full runs, when there is a file to write them to.
    runs: Option<Records>,
    /// Where each run starts in `runs`, and its pairs.
    starts: Vec<(u64, usize)>,
    /// Bytes of paths in a full run ([`RUN_BYTES`]; less in tests, to merge many runs).
    run_bytes: usize,
}

impl Paths {
    /// Paths whose full runs go to `file` (empty), or all held in memory.
    pub(super) fn new(file: Option<std::fs::File>) -> Paths {
        Paths {
            text: String::new(),
            at: Vec::new(),
            runs: file.map(|f| Records::new(Some(f))),
            starts: Vec::new(),
            run_bytes: RUN_BYTES,
        }
    }

    /// One more listed entry.
    ///
    /// # Errors
    /// When a full run cannot be written.
    pub(super) fn push(&mut self, path: &str, size: u64) -> std::io::Result<()> {
        let len = u32::try_from(path.len()).expect("a path of fewer than 4 GiB");
        self.at.push((self.text.len(), len, size));
        self.text.push_str(path);
        if self.runs.is_some() && self.text.len() >= self.run_bytes {
            self.write_run()?;
        }
        Ok(())
    }

    /// The current run, sorted.
    fn sort(&mut self) {
        let text = &self.text;
        let path = |&(at, len, _): &(usize, u32, u64)| &text[at..at + len as usize];
        self.at
            .sort_unstable_by(|a, b| path(a).cmp(path(b)).then(a.2.cmp(&b.2)));
    }

    fn write_run(&mut self) -> std::io::Result<()> {
        self.sort();
        let Some(runs) = &mut self.runs else {
            return Ok(());
        };
        let start = runs.end();
        let mut buf = Vec::new();
        for &(at, len, size) in &self.at {
            buf.clear();
            framed(&mut buf, |out| {
                out.extend_from_slice(&size.to_le_bytes());
                out.extend_from_slice(&self.text.as_bytes()[at..at + len as usize]);
            });
            runs.append(&buf)?;
        }
        self.starts.push((start, self.at.len()));
        self.text.clear();
        self.at.clear();
        Ok(())
    }

    /// The export's id: every path and size, sorted, hashed.
    ///
    /// # Errors
    /// When the runs cannot be written or read back, or the file holds something else than
    /// was written to it.
    pub(super) fn id(mut self) -> std::io::Result<String> {
        self.sort();
        let mut h = Fnv::new();
        match &mut self.runs {
            Some(runs) if !self.starts.is_empty() => {
                runs.seal()?;
                let runs = &*runs;
                let mut cursors: Vec<Cursor<'_>> = self
                    .starts
                    .iter()
                    .map(|&(start, n)| Cursor::File {
                        read: runs.sequential_from(start, RUN_READ),
                        left: n,
                        head: None,
                    })
                    .collect();
                cursors.push(Cursor::Memory {
                    text: &self.text,
                    at: &self.at,
                    next: 0,
                });
                merge(&mut cursors, |path, size| h.pair(path, size))?;
            }
            _ => {
                for &(at, len, size) in &self.at {
                    h.pair(&self.text.as_bytes()[at..at + len as usize], size);
                }
            }
        }
        Ok(format!("takeout-derived-{:016x}", h.0))
    }
}

/// FNV-1a, 64 bits, over each path, a NUL, its size in decimal and a newline.
struct Fnv(u64);

impl Fnv {
    fn new() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    fn bytes(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn pair(&mut self, path: &[u8], size: u64) {
        self.bytes(path);
        self.bytes(&[0]);
        self.bytes(size.to_string().as_bytes());
        self.bytes(b"\n");
    }
}

/// One sorted run being merged.
enum Cursor<'a> {
    /// The run still in memory.
    Memory {
        text: &'a str,
        at: &'a [(usize, u32, u64)],
        next: usize,
    },
    /// A run in the file: `left` pairs not taken yet, the first of them read into `head`.
    File {
        read: Sequential<'a>,
        left: usize,
        head: Option<(Vec<u8>, u64)>,
    },
}

impl Cursor<'_> {
    /// The run's next pair (read once), None when it is taken whole.
    fn peek(&mut self) -> std::io::Result<Option<(&[u8], u64)>> {
        match self {
            Cursor::Memory { text, at, next } => Ok(at
                .get(*next)
                .map(|&(a, len, size)| (&text.as_bytes()[a..a + len as usize], size))),
            Cursor::File { read, left, head } => {
                if head.is_none() && *left > 0 {
                    let (_, b) = read.next_framed()?.ok_or_else(damaged)?;
                    let mut f = Fields(b);
                    let size = f.u64().ok_or_else(damaged)?;
                    *head = Some((f.0.to_vec(), size));
                    *left -= 1;
                }
                Ok(head.as_ref().map(|(p, s)| (p.as_slice(), *s)))
            }
        }
    }

    fn advance(&mut self) {
        match self {
            Cursor::Memory { next, .. } => *next += 1,
            Cursor::File { head, .. } => *head = None,
        }
    }
}

/// Gives every pair of the sorted `runs` to `each`, in order.
fn merge(runs: &mut [Cursor<'_>], mut each: impl FnMut(&[u8], u64)) -> std::io::Result<()> {
    // The heap orders the runs by their heads; a head is copied in, as the cursors are
    // borrowed again to advance.
    let mut heap = BinaryHeap::with_capacity(runs.len());
    for (k, c) in runs.iter_mut().enumerate() {
        if let Some((p, s)) = c.peek()? {
            heap.push(Reverse((p.to_vec(), s, k)));
        }
    }
    while let Some(Reverse((path, size, k))) = heap.pop() {
        each(&path, size);
        runs[k].advance();
        if let Some((p, s)) = runs[k].peek()? {
            if (p, s) < (path.as_slice(), size) {
                return Err(damaged());
            }
            heap.push(Reverse((p.to_vec(), s, k)));
        }
    }
    Ok(())
}

fn damaged() -> Error {
    Error::new(
        ErrorKind::InvalidData,
        "the scan's file of listed paths holds something else than was written to it",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Paths of varied lengths, some repeated (a path listed in two parts), some of equal
    /// path and other sizes, in no order.
    fn listed(n: usize) -> Vec<(String, u64)> {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        (0..n)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let dir = x % 17;
                let name = "é".repeat((x % 5) as usize);
                let path = format!("Google Photos/{dir}/{name}IMG_{}.jpg", x % (n as u64 / 2));
                (path, if i % 7 == 0 { x % 3 } else { 100 + x % 1000 })
            })
            .collect()
    }

    fn hashed_whole(listed: &[(String, u64)]) -> String {
        let mut sorted: Vec<(&[u8], u64)> =
            listed.iter().map(|(p, s)| (p.as_bytes(), *s)).collect();
        sorted.sort();
        let mut h = Fnv::new();
        for (p, s) in sorted {
            h.pair(p, s);
        }
        format!("takeout-derived-{:016x}", h.0)
    }

    /// Written in runs to a file and merged, the paths hash as one sort of them all does,
    /// and as paths held in memory do; a run cut short is an error, not another id.
    #[test]
    fn runs_merged_hash_as_one_sort() {
        // Some 30 runs of 64 KiB, and a part of one in memory.
        let listed = listed(60_000);
        let expected = hashed_whole(&listed);
        let small = |file: Option<std::fs::File>| Paths {
            run_bytes: 64 << 10,
            ..Paths::new(file)
        };
        let mut in_memory = small(None);
        let mut in_file = small(Some(tempfile::tempfile().unwrap()));
        for (p, s) in &listed {
            in_memory.push(p, *s).unwrap();
            in_file.push(p, *s).unwrap();
        }
        assert!(in_memory.starts.is_empty());
        assert!(in_file.starts.len() >= 20, "{} runs", in_file.starts.len());
        assert!(in_file.text.len() < 64 << 10);
        assert_eq!(in_memory.id().unwrap(), expected);
        assert_eq!(in_file.id().unwrap(), expected);

        let mut cut = small(Some(tempfile::tempfile().unwrap()));
        for (p, s) in &listed {
            cut.push(p, *s).unwrap();
        }
        let runs = cut.runs.as_mut().unwrap();
        runs.flush().unwrap();
        let end = runs.end();
        runs.damage(end - 10);
        assert!(cut.id().is_err());
    }
}
