//! A tar or tgz part's listing, kept out of memory from its survey to its placement.
//!
//! A zip or folder part is listed again when it is placed, at the cost of its central
//! directory or a walk of its folders. A tar part can only be listed by reading it whole (a
//! tgz decompressed whole), and its listing holds the text of its JSON files (they cannot be
//! read again where they are). Held in memory from the survey to the placement, every tar
//! part's listing was there at once: a first import of a 100,114-item tgz export (1,857
//! parts) peaked at 166 MB, where the same export in zip parts peaks at 36 MiB (BENCHMARKS.md,
//! session 19). Here each tar part's entries are written as records after its survey and
//! read back, one part at a time, when it is placed: what the scan holds of a tar part is then
//! what it holds of a zip part.

use std::io::{Error, ErrorKind};

use super::placed::{put_entry, take_entry};
use crate::parts::RawEntry;
use crate::records::{Fields, Records, framed};

/// Bytes read at a time when a part's entries are read back (they were written together).
const READ: usize = 64 << 10;

/// The held parts' entries (see the module docs).
pub(super) struct HeldListings {
    records: Records,
    buf: Vec<u8>,
}

/// Where a held part's entries are, and how many.
#[derive(Debug, Clone, Copy)]
pub(super) struct HeldAt {
    start: u64,
    count: usize,
}

impl HeldListings {
    /// In `file`, or in memory.
    pub(super) fn new(file: Option<std::fs::File>) -> HeldListings {
        HeldListings {
            records: Records::new(file),
            buf: Vec::new(),
        }
    }

    /// Writes `entries` (one part's, in its order); returns where they are.
    ///
    /// # Errors
    /// When the file cannot be written.
    pub(super) fn put(&mut self, entries: &[RawEntry]) -> std::io::Result<HeldAt> {
        let start = self.records.end();
        for e in entries {
            self.buf.clear();
            framed(&mut self.buf, |out| put_entry(out, e));
            self.records.append(&self.buf)?;
        }
        Ok(HeldAt {
            start,
            count: entries.len(),
        })
    }

    /// Done writing (the survey is over): what is buffered goes to the file.
    ///
    /// # Errors
    /// When the file cannot be written.
    pub(super) fn seal(&mut self) -> std::io::Result<()> {
        self.buf = Vec::new();
        self.records.seal()
    }

    /// The entries [`Self::put`] wrote at `at`, in their order. Only after [`Self::seal`].
    ///
    /// # Errors
    /// When the file cannot be read, or holds something else than was written there.
    pub(super) fn take(&self, at: HeldAt) -> std::io::Result<Vec<RawEntry>> {
        let mut read = self.records.sequential_from(at.start, READ);
        let mut entries = Vec::with_capacity(at.count);
        while entries.len() < at.count {
            let (_, b) = read.next_framed()?.ok_or_else(damaged)?;
            let mut f = Fields(b);
            let e = take_entry(&mut f).filter(|_| f.is_empty());
            entries.push(e.ok_or_else(damaged)?);
        }
        Ok(entries)
    }
}

fn damaged() -> Error {
    Error::new(
        ErrorKind::InvalidData,
        "the scan's file of tar listings holds something else than was written to it",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parts::{EntryAt, Held, ZipLoc};

    fn entry(ordinal: u32, name: &str, held: Held) -> RawEntry {
        RawEntry {
            ordinal,
            dir: ordinal % 3,
            name: name.into(),
            size: 1000 + u64::from(ordinal),
            held,
        }
    }

    /// Each part's entries come back as they were written, whichever part is read first, in
    /// memory and in a file; a file cut short is an error, not fewer entries.
    #[test]
    fn a_part_reads_back_what_was_written_for_it() {
        let zip = ZipLoc {
            header_start: 77,
            compressed: 12,
            crc32: 0xdead_beef,
            deflated: true,
        };
        let first: Vec<RawEntry> = (0..500)
            .map(|i| {
                let held = match i % 4 {
                    0 => Held::Nothing,
                    1 => Held::At(EntryAt::File),
                    2 => Held::At(EntryAt::Zip(zip)),
                    _ => Held::Data(format!(r#"{{"title": "IMG_{i}.jpg"}}"#).into_bytes().into()),
                };
                entry(i, &format!("IMG_{i}.jpg"), held)
            })
            .collect();
        let second = vec![entry(0, "ünïcode name.json", Held::Data(Box::new([])))];
        for file in [None, Some(tempfile::tempfile().unwrap())] {
            let in_file = file.is_some();
            let mut held = HeldListings::new(file);
            let a = held.put(&first).unwrap();
            let none = held.put(&[]).unwrap();
            let b = held.put(&second).unwrap();
            held.seal().unwrap();
            assert_eq!(held.take(b).unwrap(), second, "in a file: {in_file}");
            assert_eq!(held.take(none).unwrap(), Vec::<RawEntry>::new());
            assert_eq!(held.take(a).unwrap(), first, "in a file: {in_file}");
            held.records.damage(held.records.end() - 3);
            assert!(held.take(b).is_err(), "in a file: {in_file}");
        }
    }
}
