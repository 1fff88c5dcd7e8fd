//! A set of ids as bits, for what a run remembers about every item or entry it touches (which
//! items to finish, which were counted, which entries of an export are still to be read).
//!
//! Why not a `HashSet<i64>` or a list of ids: those hold 8 to 16 bytes per item for the whole
//! run, and at the end of a first Takeout import they were among what still grew with the
//! library (issue 12: peak RSS under 100 MB whatever the number of items). Item ids are the
//! index's rowids, dense from 1, and a Takeout catalog's entry ids are dense from 0, so a bit
//! per id is a bit per item: a library of 1,000,000 items costs 125 KB per set. The bits are
//! kept in chunks of 4 KiB allocated on first use, so a run that touches a few items of a
//! large library holds a few chunks, not the whole range.

use std::collections::BTreeMap;

/// Ids per chunk (4 KiB of bits).
const CHUNK_IDS: u64 = 1 << 15;
const WORDS: usize = (CHUNK_IDS / 64) as usize;

/// A set of ids (any `i64`; in practice rowids), iterated in ascending order.
#[derive(Default)]
pub struct IdSet {
    chunks: BTreeMap<u64, Box<[u64; WORDS]>>,
    len: usize,
}

/// The id's place in an unsigned order that keeps the signed one (negative ids first).
fn key(id: i64) -> u64 {
    (id as u64) ^ (1 << 63)
}

fn id(key: u64) -> i64 {
    (key ^ (1 << 63)) as i64
}

impl IdSet {
    pub fn new() -> IdSet {
        IdSet::default()
    }

    /// Adds `id`; true when it was not in the set.
    pub fn insert(&mut self, id: i64) -> bool {
        let k = key(id);
        let words = self
            .chunks
            .entry(k / CHUNK_IDS)
            .or_insert_with(|| Box::new([0; WORDS]));
        let (w, bit) = (((k % CHUNK_IDS) / 64) as usize, 1u64 << (k % 64));
        let new = words[w] & bit == 0;
        words[w] |= bit;
        self.len += usize::from(new);
        new
    }

    pub fn contains(&self, id: i64) -> bool {
        let k = key(id);
        self.chunks
            .get(&(k / CHUNK_IDS))
            .is_some_and(|words| words[((k % CHUNK_IDS) / 64) as usize] & (1 << (k % 64)) != 0)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The ids, ascending.
    pub fn iter(&self) -> impl Iterator<Item = i64> + '_ {
        self.range(i64::MIN..=i64::MAX)
    }

    /// The ids in `ids`, ascending; the chunks before the range are not walked.
    pub fn range(&self, ids: std::ops::RangeInclusive<i64>) -> impl Iterator<Item = i64> + '_ {
        let (lo, hi) = (key(*ids.start()), key(*ids.end()));
        self.chunks
            .range(lo / CHUNK_IDS..=hi / CHUNK_IDS)
            .flat_map(|(&c, words)| {
                words.iter().enumerate().flat_map(move |(w, &word)| {
                    let base = c * CHUNK_IDS + w as u64 * 64;
                    Bits(word).map(move |b| base + b)
                })
            })
            .skip_while(move |&k| k < lo)
            .take_while(move |&k| k <= hi)
            .map(id)
    }
}

/// The set bits of a word, lowest first.
struct Bits(u64);

impl Iterator for Bits {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        if self.0 == 0 {
            return None;
        }
        let b = self.0.trailing_zeros();
        self.0 &= self.0 - 1;
        Some(u64::from(b))
    }
}

impl Extend<i64> for IdSet {
    fn extend<T: IntoIterator<Item = i64>>(&mut self, ids: T) {
        for i in ids {
            self.insert(i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// The set agrees with a `BTreeSet` on every question, across chunks, word edges and
    /// signs, and keeps only the chunks it uses.
    #[test]
    fn agrees_with_a_btree_set() {
        let mut ids: Vec<i64> = vec![
            i64::MIN,
            -1,
            0,
            1,
            63,
            64,
            65,
            CHUNK_IDS as i64 - 1,
            CHUNK_IDS as i64,
            5 * CHUNK_IDS as i64 + 7,
            i64::MAX,
        ];
        ids.extend((0..20_000).map(|i| (i * 7919) % 1_000_003));
        let mut set = IdSet::new();
        let mut oracle = BTreeSet::new();
        for &i in &ids {
            assert_eq!(set.insert(i), oracle.insert(i), "insert {i}");
        }
        assert_eq!(set.len(), oracle.len());
        assert!(set.iter().eq(oracle.iter().copied()));
        for (lo, hi) in [
            (-1, 64),
            (2, 62),
            (63, 63),
            (65, 2 * CHUNK_IDS as i64 + 3),
            (i64::MAX, i64::MAX),
        ] {
            assert!(
                set.range(lo..=hi).eq(oracle.range(lo..=hi).copied()),
                "{lo}..={hi}"
            );
        }
        for probe in [-2, 2, 62, 66, CHUNK_IDS as i64 + 1, 999_999, i64::MAX - 1] {
            assert_eq!(set.contains(probe), oracle.contains(&probe), "{probe}");
        }
        assert!(ids.iter().all(|&i| set.contains(i)));
        // 0..1,000,003 spans 31 chunks; the extremes and -1 add three.
        assert_eq!(set.chunks.len(), 34);
        assert!(IdSet::new().is_empty() && !set.is_empty());
    }
}
