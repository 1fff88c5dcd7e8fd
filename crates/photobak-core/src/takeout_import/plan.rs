//! What the record pass decided for each media entry, for the passes after it (the tallies,
//! the variant links, the bytes pass, the finishing steps). Held for every entry from the
//! record pass to the end of the bytes pass, so packed: a boxed plan per entry (64 bytes)
//! with its file name in an allocation of its own, and a pointer to it, became 32 bytes and
//! the name's own bytes; the bytes pass's resident memory at 100,114 items fell from 69–70 to
//! 62–63 MiB (BENCHMARKS.md, session 11). The names are kept in blocks of 1 MiB: one string
//! grown by doubling held up to twice their size, and both the old and the new string for the
//! moment it grew (7.6 MB for 3.8 of names at 100,114 items, the import's largest allocation;
//! session 14).

use std::collections::HashMap;

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

/// An entry's plan, packed (see the module docs).
#[derive(Clone, Copy, Default)]
pub(super) struct Planned {
    /// The item; 0 (no row has it) for an entry that became none.
    pub item_id: i64,
    taken_at: i64,
    /// The file name's place in [`Plan::names`]: its block, and where in the block.
    name_at: u32,
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

/// The size of a block of [`Plan::names`]: a name's place is its block's number (12 bits, up
/// to 4,096 blocks: 4 GiB of names, less what blocks leave unused) and its offset (20 bits).
const NAMES_BLOCK: usize = 1 << 20;

/// Every entry's plan, by entry index.
pub(super) struct Plan {
    entries: Vec<Planned>,
    /// Every recorded entry's file name, one after the other, in blocks of [`NAMES_BLOCK`]
    /// bytes (a longer name has a block of its own).
    names: Vec<String>,
    /// The report lines of the items an entry adopted (rare), by item.
    adopted: HashMap<i64, Box<str>>,
}

impl Plan {
    /// A plan for `n` entries, none recorded yet.
    pub fn new(n: usize) -> Plan {
        Plan {
            entries: vec![Planned::default(); n],
            names: Vec::new(),
            adopted: HashMap::new(),
        }
    }

    /// Entry `i` became `r`'s item.
    pub fn record(&mut self, i: usize, r: Recorded) {
        debug_assert_ne!(r.item_id, 0, "rowids start at 1");
        let len = r.filename.len();
        // By the block's length, not its room (a block may have more than it asked for): a
        // name starts below `NAMES_BLOCK` in its block, so its place keeps its block's number
        // whole; a full block, or one made for a longer name, takes no more, not even an
        // empty name.
        let fits = |b: &String| b.len() < NAMES_BLOCK && b.len() + len <= NAMES_BLOCK;
        if !self.names.last().is_some_and(fits) {
            self.names.push(String::with_capacity(len.max(NAMES_BLOCK)));
        }
        let block = self.names.len() - 1;
        assert!(block < 1 << 12, "more than 4,096 blocks of file names");
        let names = &mut self.names[block];
        let at = u32::try_from(block << 20 | names.len()).expect("a block number of 12 bits");
        names.push_str(&r.filename);
        let len = u32::try_from(len).expect("a file name of fewer than 4 GiB");
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
        self.entries[i] = Planned {
            item_id: r.item_id,
            taken_at: r.taken_at.unwrap_or(0),
            name_at: at,
            name_len: len,
            flags,
        };
    }

    /// Entry `i`'s plan; `None` when it became no item (skipped) or is no entry.
    pub fn get(&self, i: usize) -> Option<&Planned> {
        self.entries.get(i).filter(|p| p.item_id != 0)
    }

    /// The plans of the entries that became items, in entry order.
    pub fn iter(&self) -> impl Iterator<Item = &Planned> {
        self.entries.iter().filter(|p| p.item_id != 0)
    }

    /// The name of a new stored file for `p`.
    pub fn filename(&self, p: &Planned) -> &str {
        let (block, at) = (
            p.name_at as usize >> 20,
            p.name_at as usize & (NAMES_BLOCK - 1),
        );
        &self.names[block][at..at + p.name_len as usize]
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

    /// What is recorded reads back, per entry, and skipped entries read as none.
    #[test]
    fn plans_read_back_as_recorded() {
        let mut plan = Plan::new(4);
        plan.record(
            0,
            Recorded {
                adopted: None,
                item_id: 7,
                filename: "IMG_1.jpg".into(),
                taken_at: Some(-5),
                was_stored: true,
                changed: false,
                known_before: true,
            },
        );
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
        );
        let (a, b) = (plan.get(0).unwrap(), plan.get(2).unwrap());
        assert!(plan.get(1).is_none() && plan.get(3).is_none() && plan.get(4).is_none());
        assert_eq!(
            (a.item_id, plan.filename(a), a.taken_at()),
            (7, "IMG_1.jpg", Some(-5))
        );
        assert_eq!(
            (a.was_stored(), a.changed(), a.known_before(), a.adopted()),
            (true, false, true, false)
        );
        assert_eq!(
            (b.item_id, plan.filename(b), b.taken_at()),
            (9, "VID_é.mp4", None)
        );
        assert_eq!(
            (b.was_stored(), b.changed(), b.known_before(), b.adopted()),
            (false, true, false, true)
        );
        assert_eq!(plan.adopted_line(b), Some("adopted picked item"));
        assert_eq!(plan.adopted_line(a), None);
        let ids: Vec<i64> = plan.iter().map(|p| p.item_id).collect();
        assert_eq!(ids, [7, 9]);
    }

    /// Names read back across the blocks they are kept in, a name longer than a block too,
    /// and no block grows past what it was made with.
    #[test]
    fn names_read_back_across_blocks() {
        // A block filled exactly by entries 1,000 and 1,001, then an empty name; an empty name
        // after each long one, the last entry one of them (its place must name its own block,
        // which is the last).
        let n = 60_000;
        let name = |i: usize| match i {
            777 | 59_998 => "L".repeat(NAMES_BLOCK + 5),
            778 | 1002 | 59_999 => String::new(),
            1000 => "a".repeat(NAMES_BLOCK - 10),
            1001 => "b".repeat(10),
            _ => format!("IMG_{i:06}_{}.jpg", "x".repeat(i % 13)),
        };
        let mut plan = Plan::new(n);
        for i in 0..n {
            plan.record(
                i,
                Recorded {
                    adopted: None,
                    item_id: i as i64 + 1,
                    filename: name(i),
                    taken_at: None,
                    was_stored: false,
                    changed: false,
                    known_before: false,
                },
            );
        }
        assert!(plan.names.len() > 2, "{} blocks", plan.names.len());
        assert!(
            plan.names
                .iter()
                .all(|b| b.len() <= NAMES_BLOCK || b.len() == NAMES_BLOCK + 5),
            "a block grew"
        );
        for i in 0..n {
            assert_eq!(plan.filename(plan.get(i).unwrap()), name(i), "entry {i}");
        }
    }
}
