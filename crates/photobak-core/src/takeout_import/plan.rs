//! What the record pass decided for each media entry, for the passes after it (the tallies,
//! the variant links, the bytes pass, the finishing steps). Needed for every entry from the
//! record pass to the end of the bytes pass, so it is not held in memory: each entry's plan is
//! a record of 32 bytes at its entry's place in a scratch file, read and written through a
//! cache of a few pages, and the file names follow one another in a second scratch file.
//!
//! Held in memory, packed (32 bytes and the name's bytes per entry, the names in blocks of
//! 1 MiB), the plan was the largest thing a first import still held per item after the scan:
//! some 7.5 MB for the 133,425 media entries of a 100,114-item export (BENCHMARKS.md, session
//! 15). The entries are recorded in folder order and read in archive order, which Takeout
//! keeps close to each other: a page read from the file serves many entries, and the reads
//! come from the operating system's cache, not the disk.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::sync::Mutex;

use photobak_takeout::{Slots, read_at};

/// One entry's plan, as [`crate::takeout_import::mapping::plan_entry`] makes it.
pub(super) struct Recorded {
    /// A picked item this entry adopted (the same photo): its bytes are replaced by the
    /// export's original; the report's line.
    pub adopted: Option<String>,
    pub item_id: i64,
    /// The name of a new stored file.
    pub filename: String,
    pub taken_at: Option<i64>,
    /// The item had a stored file before this import.
    pub was_stored: bool,
    /// This entry changed the item's metadata or added an album membership.
    pub changed: bool,
    /// An earlier export had delivered the item (its newest export was another one). An
    /// earlier, interrupted import of this same export does not count.
    pub known_before: bool,
}

/// An entry's plan, as read back (its record: [`RECORD`]).
#[derive(Clone, Copy, Default)]
pub(super) struct Planned {
    /// The item; 0 (no row has it) for an entry that became none.
    pub item_id: i64,
    taken_at: i64,
    /// The file name's place in the names' file.
    name_at: u64,
    name_len: u32,
    flags: u8,
}

const WAS_STORED: u8 = 1;
const CHANGED: u8 = 2;
const KNOWN_BEFORE: u8 = 4;
const HAS_TIME: u8 = 8;
const ADOPTED: u8 = 16;

impl Planned {
    pub fn taken_at(&self) -> Option<i64> {
        (self.flags & HAS_TIME != 0).then_some(self.taken_at)
    }

    pub fn was_stored(&self) -> bool {
        self.flags & WAS_STORED != 0
    }

    pub fn changed(&self) -> bool {
        self.flags & CHANGED != 0
    }

    pub fn known_before(&self) -> bool {
        self.flags & KNOWN_BEFORE != 0
    }

    /// The entry adopted a picked item ([`Plan::adopted_line`]).
    pub fn adopted(&self) -> bool {
        self.flags & ADOPTED != 0
    }
}

/// The bytes of one entry's record: its item, its capture time, its name's place and
/// length in the names file, its flags.
const RECORD: usize = 32;

/// Pages of 4 KiB the records' cache holds (1 MiB: 128 records a page).
const CACHED_PAGES: usize = 256;

impl Planned {
    fn encode(&self) -> [u8; RECORD] {
        let mut b = [0; RECORD];
        b[0..8].copy_from_slice(&self.item_id.to_le_bytes());
        b[8..16].copy_from_slice(&self.taken_at.to_le_bytes());
        b[16..24].copy_from_slice(&self.name_at.to_le_bytes());
        b[24..28].copy_from_slice(&self.name_len.to_le_bytes());
        b[28] = self.flags;
        b
    }

    fn decode(b: &[u8]) -> Planned {
        let word = |r: std::ops::Range<usize>| {
            let mut w = [0; 8];
            w.copy_from_slice(&b[r]);
            w
        };
        Planned {
            item_id: i64::from_le_bytes(word(0..8)),
            taken_at: i64::from_le_bytes(word(8..16)),
            name_at: u64::from_le_bytes(word(16..24)),
            name_len: u32::from_le_bytes([b[24], b[25], b[26], b[27]]),
            flags: b[28],
        }
    }
}

/// The plan as the record pass makes it (see the module docs).
pub(super) struct PlanWriter {
    records: Slots,
    n: usize,
    names: BufWriter<File>,
    /// Bytes of names written.
    names_len: u64,
    adopted: HashMap<i64, Box<str>>,
}

impl PlanWriter {
    /// A plan for `n` entries, none recorded yet, in two empty scratch files.
    ///
    /// # Errors
    /// When the records' file cannot be sized.
    pub fn new(records: File, names: File, n: usize) -> std::io::Result<PlanWriter> {
        Ok(PlanWriter {
            records: Slots::new(records, n, RECORD, CACHED_PAGES)?,
            n,
            names: BufWriter::with_capacity(64 << 10, names),
            names_len: 0,
            adopted: HashMap::new(),
        })
    }

    /// Entry `i` became `r`'s item.
    ///
    /// # Errors
    /// When a scratch file cannot be written or read back.
    pub fn record(&mut self, i: usize, r: Recorded) -> std::io::Result<()> {
        assert_ne!(r.item_id, 0, "rowids start at 1");
        assert!(i < self.n, "entry {i} of {}", self.n);
        self.names.write_all(r.filename.as_bytes())?;
        let name_at = self.names_len;
        let name_len = u32::try_from(r.filename.len()).expect("a file name of fewer than 4 GiB");
        self.names_len += u64::from(name_len);
        let mut flags = 0;
        for (set, flag) in [
            (r.was_stored, WAS_STORED),
            (r.changed, CHANGED),
            (r.known_before, KNOWN_BEFORE),
            (r.taken_at.is_some(), HAS_TIME),
            (r.adopted.is_some(), ADOPTED),
        ] {
            if set {
                flags |= flag;
            }
        }
        if let Some(line) = r.adopted {
            self.adopted.insert(r.item_id, line.into_boxed_str());
        }
        let record = Planned {
            item_id: r.item_id,
            taken_at: r.taken_at.unwrap_or(0),
            name_at,
            name_len,
            flags,
        }
        .encode();
        self.records.set(i, &record)
    }

    /// The plan recorded, to be read.
    ///
    /// # Errors
    /// When a scratch file cannot be written.
    pub fn finish(mut self) -> std::io::Result<Plan> {
        self.records.flush()?;
        let names = self.names.into_inner().map_err(|e| e.into_error())?;
        Ok(Plan {
            n: self.n,
            store: Mutex::new(Store {
                records: self.records,
                names,
            }),
            adopted: self.adopted,
        })
    }
}

/// Every entry's plan, by entry index, as recorded (see the module docs).
pub(super) struct Plan {
    n: usize,
    /// Read by the bytes pass's readers and its committer alike.
    store: Mutex<Store>,
    /// The report lines of the items an entry adopted (rare), by item.
    adopted: HashMap<i64, Box<str>>,
}

struct Store {
    records: Slots,
    names: File,
}

impl Plan {
    fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        // Only this module's code runs under the lock, and the cache is whole at every point
        // where it can fail (a page is mapped once read in full: `Slots`): a poisoned lock is
        // still usable.
        self.store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Entry `i`'s plan; `None` when it became no item (skipped) or is no entry.
    ///
    /// # Errors
    /// When the scratch file cannot be read.
    pub fn get(&self, i: usize) -> std::io::Result<Option<Planned>> {
        if i >= self.n {
            return Ok(None);
        }
        let mut store = self.store();
        let p = Planned::decode(store.records.get(i)?);
        Ok((p.item_id != 0).then_some(p))
    }

    /// The plans of the entries that became items, in entry order.
    pub fn iter(&self) -> impl Iterator<Item = std::io::Result<Planned>> + '_ {
        (0..self.n).filter_map(|i| self.get(i).transpose())
    }

    /// The name of a new stored file for `p`.
    ///
    /// # Errors
    /// When the scratch file cannot be read.
    pub fn filename(&self, p: &Planned) -> std::io::Result<String> {
        let mut name = vec![0; p.name_len as usize];
        read_at(&self.store().names, &mut name, p.name_at)?;
        String::from_utf8(name).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
    }

    /// The report line of the picked item `p`'s item adopted. Kept by item: check
    /// [`Planned::adopted`] first, as only the copy that adopted it has it.
    pub fn adopted_line(&self, p: &Planned) -> Option<&str> {
        self.adopted.get(&p.item_id).map(|l| &**l)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records per page of the cache.
    const PAGE_RECORDS: usize = 4096 / RECORD;

    fn writer(n: usize) -> PlanWriter {
        PlanWriter::new(
            tempfile::tempfile().unwrap(),
            tempfile::tempfile().unwrap(),
            n,
        )
        .unwrap()
    }

    fn recorded(item_id: i64, filename: String) -> Recorded {
        Recorded {
            adopted: None,
            item_id,
            filename,
            taken_at: None,
            was_stored: false,
            changed: false,
            known_before: false,
        }
    }

    /// What is recorded reads back, per entry, and skipped entries read as none.
    #[test]
    fn plans_read_back_as_recorded() {
        let mut plan = writer(4);
        plan.record(
            2,
            Recorded {
                adopted: Some("adopted picked item".into()),
                item_id: 9,
                filename: "VID_é.mp4".into(),
                taken_at: None,
                was_stored: false,
                changed: true,
                known_before: false,
            },
        )
        .unwrap();
        plan.record(
            0,
            Recorded {
                taken_at: Some(-5),
                was_stored: true,
                known_before: true,
                ..recorded(7, "IMG_1.jpg".into())
            },
        )
        .unwrap();
        let plan = plan.finish().unwrap();
        let (a, b) = (plan.get(0).unwrap().unwrap(), plan.get(2).unwrap().unwrap());
        for none in [1, 3, 4] {
            assert!(plan.get(none).unwrap().is_none(), "entry {none}");
        }
        assert_eq!(
            (a.item_id, plan.filename(&a).unwrap(), a.taken_at()),
            (7, "IMG_1.jpg".into(), Some(-5))
        );
        assert_eq!(
            (a.was_stored(), a.changed(), a.known_before(), a.adopted()),
            (true, false, true, false)
        );
        assert_eq!(
            (b.item_id, plan.filename(&b).unwrap(), b.taken_at()),
            (9, "VID_é.mp4".into(), None)
        );
        assert_eq!(
            (b.was_stored(), b.changed(), b.known_before(), b.adopted()),
            (false, true, false, true)
        );
        assert_eq!(plan.adopted_line(&b), Some("adopted picked item"));
        assert_eq!(plan.adopted_line(&a), None);
        let ids: Vec<i64> = plan.iter().map(|p| p.unwrap().item_id).collect();
        assert_eq!(ids, [7, 9]);
    }

    /// Many more entries than the cache holds, recorded out of order (pages written back and
    /// read again while recording) and read in another order: each reads back as recorded,
    /// the last, short page too, and the cache stays at its size.
    #[test]
    fn plans_read_back_past_the_cache() {
        let n = CACHED_PAGES * PAGE_RECORDS * 2 + 77;
        let records = tempfile::tempfile().unwrap();
        let records_again = records.try_clone().unwrap();
        let name = |i: usize| match i % 1000 {
            0 => String::new(),
            1 => "L".repeat(70_000),
            _ => format!("IMG_{i:06}_{}.jpg", "x".repeat(i % 13)),
        };
        // Every third entry skipped; the rest recorded in a scattered order.
        let order: Vec<usize> = (0..n)
            .map(|k| (k * 7919) % n)
            .filter(|i| i % 3 != 1)
            .collect();
        let mut plan = PlanWriter::new(records, tempfile::tempfile().unwrap(), n).unwrap();
        for &i in &order {
            plan.record(
                i,
                Recorded {
                    taken_at: i.is_multiple_of(2).then_some(-(i as i64)),
                    changed: i.is_multiple_of(5),
                    ..recorded(i as i64 + 1, name(i))
                },
            )
            .unwrap();
            assert!(plan.records.cached() <= CACHED_PAGES);
        }
        assert_eq!(records_again.metadata().unwrap().len(), (n * RECORD) as u64);
        let plan = plan.finish().unwrap();
        for k in 0..n {
            let i = (k * 104_729) % n;
            let got = plan.get(i).unwrap();
            if i % 3 == 1 {
                assert!(got.is_none(), "entry {i}");
                continue;
            }
            let p = got.unwrap_or_else(|| panic!("entry {i}"));
            assert_eq!(
                (p.item_id, p.taken_at(), p.changed()),
                (
                    i as i64 + 1,
                    i.is_multiple_of(2).then_some(-(i as i64)),
                    i.is_multiple_of(5)
                ),
                "entry {i}"
            );
            assert_eq!(plan.filename(&p).unwrap(), name(i), "entry {i}");
        }
        let read: Vec<i64> = plan.iter().map(|p| p.unwrap().item_id).collect();
        let want: Vec<i64> = (0..n)
            .filter(|i| i % 3 != 1)
            .map(|i| i as i64 + 1)
            .collect();
        assert_eq!(read, want);
        assert!(plan.store().records.cached() <= CACHED_PAGES);
    }

    /// A scratch file that no longer holds what was written reads as an error, never as an
    /// entry that became no item (which the bytes pass would skip).
    #[test]
    fn a_shortened_scratch_file_is_an_error() {
        let n = CACHED_PAGES * PAGE_RECORDS * 2;
        let (records, names) = (tempfile::tempfile().unwrap(), tempfile::tempfile().unwrap());
        let (records_again, names_again) =
            (records.try_clone().unwrap(), names.try_clone().unwrap());
        let mut plan = PlanWriter::new(records, names, n).unwrap();
        for i in 0..n {
            plan.record(i, recorded(i as i64 + 1, format!("{i}.jpg")))
                .unwrap();
        }
        let plan = plan.finish().unwrap();
        records_again.set_len(0).unwrap();
        names_again.set_len(0).unwrap();
        let mut failed = 0;
        for i in 0..n {
            match plan.get(i) {
                Ok(Some(p)) => {
                    assert_eq!(p.item_id, i as i64 + 1);
                    assert!(plan.filename(&p).is_err(), "entry {i}");
                }
                Ok(None) => panic!("entry {i} read as no item"),
                Err(_) => failed += 1,
            }
        }
        // The pages still cached read as recorded; the others fail.
        assert!(failed >= n - CACHED_PAGES * PAGE_RECORDS, "{failed}");
    }
}
