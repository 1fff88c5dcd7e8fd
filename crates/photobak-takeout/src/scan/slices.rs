//! What a folder's matching keeps outside memory: its sidecars as read, and its slices as
//! matched, merged back into the catalog's order.
//!
//! Why: a folder was matched whole, its media entries, sidecars and the matcher's tables held
//! together, some 1.3 KB per media entry of the folder; a year of 21,000 photos was 27.7 MB
//! of a 400,114-item import's 42.7 MiB, and a year of 100,000 would have taken 130 MB
//! (BENCHMARKS.md, session 16). The name rules only ever pair names of one
//! [`crate::names::slice_key`], so a folder larger than [`crate::Limits::folder_slice`] is
//! matched in slices of keys: its sidecars are written here as they are parsed (their title
//! gives their slice), each slice's media entries and sidecars are read back, matched, and
//! written here as a run in the catalog's record order; the runs are then merged, so the
//! catalog gets the folder's entries, and its sidecars, in the same order as from a folder
//! matched whole. What stays in memory for each entry of the folder is some 50 bytes: where
//! it and its sidecar are placed and their slices, the sidecar's id in the catalog once
//! stored (and the held JSON text of a sidecar of a tar part, as the catalog holds them
//! anyway); and, while the runs are merged, a buffer of 16 KiB and an entry for each slice.
//! The slices are as even as the keys' hashes, but never cut the names of one key.
//!
//! A folder of one slice keeps the same records in memory: one way of doing it, tested by
//! every scan.

use std::collections::BinaryHeap;
use std::io::{Seek, SeekFrom};

use super::*;
use crate::records::{Fields, Records, Sequential, framed};
use crate::sidecars;

/// Bytes read at a time for a sidecar read back (the sidecars of a slice are about in the
/// order they were written, one in every few slices').
const SIDECAR_READ: usize = 16 << 10;

/// Bytes read at a time by each run's reader while the runs are merged: the readers are held
/// at once, one per slice.
const RUN_READ: usize = 16 << 10;

/// One sidecar of the folder being matched: what the catalog keeps of it, and what the
/// matcher needs besides.
pub(super) struct Folded {
    pub(super) sidecar: SidecarRef,
    /// The hash of its bytes (identical sidecars of a photo's copies in other folders).
    pub(super) hash: u64,
    /// Google made it (`googlePhotosOrigin.composition`): a media entry that is otherwise an
    /// original is a creation.
    pub(super) composition: bool,
}

impl Folded {
    /// The JSON's file name.
    pub(super) fn name(&self) -> &str {
        names::last_segment(self.sidecar.json_path())
    }
}

/// The slice of `slices` that a name (a media file's, a sidecar's title) is matched in.
pub(super) fn slice_of(name: &str, slices: usize) -> u32 {
    match slices {
        0 | 1 => 0,
        n => (content_hash(names::slice_key(name).as_bytes()) % n as u64) as u32,
    }
}

/// A folder's sidecars and matched runs while it is matched (see the module docs).
pub(super) struct Scratch {
    records: Records,
    buf: Vec<u8>,
}

impl Scratch {
    /// In `file` (emptied first) when the folder is matched in several slices, else in memory.
    ///
    /// # Errors
    /// When the file cannot be emptied or opened again.
    pub(super) fn new(file: Option<&std::fs::File>, sliced: bool) -> std::io::Result<Scratch> {
        let file = match file {
            Some(f) if sliced => {
                // Each folder's records start from an empty file: it holds one folder at a
                // time, not the export's.
                f.set_len(0)?;
                let mut f = f.try_clone()?;
                f.seek(SeekFrom::Start(0))?;
                Some(f)
            }
            _ => None,
        };
        Ok(Scratch {
            records: Records::new(file),
            buf: Vec::new(),
        })
    }

    /// Keeps `f`; returns where it is.
    ///
    /// # Errors
    /// When the file cannot be written.
    pub(super) fn put_sidecar(&mut self, f: &Folded) -> std::io::Result<u64> {
        self.buf.clear();
        framed(&mut self.buf, |out| {
            out.extend_from_slice(&f.hash.to_le_bytes());
            out.push(u8::from(f.composition));
            sidecars::encode(&f.sidecar, out);
        });
        self.records.append(&self.buf)
    }

    /// The record of the sidecar kept at `at` ([`Self::decode_sidecar`] reads it). Only
    /// after [`Self::flush`].
    ///
    /// # Errors
    /// When the file cannot be read back.
    pub(super) fn sidecar_record(&self, at: u64) -> std::io::Result<Box<[u8]>> {
        self.records.framed_at(at, SIDECAR_READ, |b| Box::from(b))
    }

    /// The sidecar a record of [`Self::sidecar_record`] holds.
    ///
    /// # Errors
    /// When it is not what was written (a damaged file).
    pub(super) fn decode_sidecar(&self, record: &[u8]) -> std::io::Result<Folded> {
        let mut f = Fields(record);
        let read = (|| {
            let hash = f.u64()?;
            let composition = match f.u8()? {
                0 => false,
                1 => true,
                _ => return None,
            };
            let sidecar = sidecars::decode(f.0)?;
            Some(Folded {
                sidecar,
                hash,
                composition,
            })
        })();
        read.ok_or_else(damaged)
    }

    /// Keeps a matched media entry of the run being written; `settled`: whether it has its
    /// outcome (a same-path duplicate whose first copy is in another folder has not yet).
    /// Its [`MediaEntry::sidecar`] names a sidecar of the folder by its index, not one of the
    /// catalog: the merge stores each applied sidecar once, in the catalog's order, from the
    /// `sidecar` record the first entry of the run that has it carries. Read from where the
    /// JSON pass put it, in the catalog's order instead of its own, the sidecars of a large
    /// folder were a read of the file each.
    ///
    /// # Errors
    /// When the file cannot be written.
    pub(super) fn put_entry(
        &mut self,
        e: &MediaEntry,
        settled: bool,
        sidecar: Option<&[u8]>,
    ) -> std::io::Result<()> {
        self.buf.clear();
        framed(&mut self.buf, |out| {
            out.push(u8::from(settled));
            match sidecar {
                Some(record) => {
                    out.push(1);
                    let len = u32::try_from(record.len()).expect("a sidecar of fewer than 4 GB");
                    out.extend_from_slice(&len.to_le_bytes());
                    out.extend_from_slice(record);
                }
                None => out.push(0),
            }
            crate::media::encode(e, out);
        });
        self.records.append(&self.buf).map(drop)
    }

    /// Where the next record starts.
    pub(super) fn end(&self) -> u64 {
        self.records.end()
    }

    /// What is written can be read back; more may be written after.
    ///
    /// # Errors
    /// When the file cannot be written.
    pub(super) fn flush(&mut self) -> std::io::Result<()> {
        self.records.flush()
    }

    /// The entries of `runs` (where each starts and how many it has, each in record order),
    /// given to `each` in record order, with whether each is settled and the sidecar it
    /// carries (see [`Self::put_entry`]).
    ///
    /// # Errors
    /// [`Error::SpillRead`] when a run cannot be read back; `each`'s errors.
    pub(super) fn merge(
        &self,
        runs: &[(u64, usize)],
        mut each: impl FnMut(MediaEntry, bool, Option<Folded>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        // A run's reader reads no further than its run (a small run's buffer is its size).
        let ends = runs
            .iter()
            .skip(1)
            .map(|&(at, _)| at)
            .chain([self.records.end()]);
        let mut readers: Vec<RunReader<'_>> = runs
            .iter()
            .zip(ends)
            .map(|(&(at, left), end)| {
                let read = usize::try_from(end.saturating_sub(at))
                    .map_or(RUN_READ, |len| len.min(RUN_READ));
                RunReader {
                    seq: self.records.sequential_from(at, read),
                    left,
                }
            })
            .collect();
        let mut heads = BinaryHeap::with_capacity(readers.len());
        for (run, r) in readers.iter_mut().enumerate() {
            if let Some((entry, settled, sidecar)) = r.next(self).map_err(Error::SpillRead)? {
                heads.push(Head {
                    entry,
                    settled,
                    sidecar,
                    run,
                });
            }
        }
        while let Some(Head {
            entry,
            settled,
            sidecar,
            run,
        }) = heads.pop()
        {
            if let Some((entry, settled, sidecar)) =
                readers[run].next(self).map_err(Error::SpillRead)?
            {
                heads.push(Head {
                    entry,
                    settled,
                    sidecar,
                    run,
                });
            }
            each(entry, settled, sidecar)?;
        }
        Ok(())
    }
}

/// A run read back from its start.
struct RunReader<'r> {
    seq: Sequential<'r>,
    /// Its entries not yet read.
    left: usize,
}

impl RunReader<'_> {
    fn next(
        &mut self,
        scratch: &Scratch,
    ) -> std::io::Result<Option<(MediaEntry, bool, Option<Folded>)>> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        let (_, bytes) = self.seq.next_framed()?.ok_or_else(damaged)?;
        let mut f = Fields(bytes);
        let settled = match f.u8() {
            Some(0) => false,
            Some(1) => true,
            _ => return Err(damaged()),
        };
        let sidecar = match f.u8() {
            Some(0) => None,
            Some(1) => {
                let record = f
                    .u32()
                    .and_then(|len| f.take(len as usize))
                    .ok_or_else(damaged)?;
                Some(scratch.decode_sidecar(record)?)
            }
            _ => return Err(damaged()),
        };
        let entry = crate::media::decode(f.0).map_err(|_| damaged())?;
        Ok(Some((entry, settled, sidecar)))
    }
}

/// A run's next entry while the runs are merged: the heap gives the least in record order
/// first. Two runs never hold one record key (equal keys are one path, one name, one slice);
/// the run decides between equals all the same, so that the order is total.
struct Head {
    entry: MediaEntry,
    settled: bool,
    sidecar: Option<Folded>,
    run: usize,
}

impl Head {
    fn key(&self) -> ((&str, &str, &str), usize) {
        (self.entry.record_key(), self.run)
    }
}

impl PartialEq for Head {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for Head {}

impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Head {
    /// Reversed: [`BinaryHeap`] pops its greatest.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        other.key().cmp(&self.key())
    }
}

/// The error of a matching file that does not hold what was written to it.
pub(super) fn damaged() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        "the scan's matching file holds something else than was written to it",
    )
}
