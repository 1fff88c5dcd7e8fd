//! The first entry seen with each path, for the scan's same-path rule: a path listed twice
//! (in two parts, or twice in one) is one entry and the later a duplicate. A file of its own
//! because its memory layout is a decision of its own: a map of every placed entry, filled as
//! the entries were placed, was 9 MB at the scan's peak at 270,000 listed entries; a sorted
//! list of every kept entry's hash and place, made before the placement from every part's
//! listing, was 24 bytes per entry beside those listings.
//!
//! So the survey (one part's listing at a time) keeps only a 32-bit hash of each kept path,
//! and the hashes that more than one entry has are what is left of them: the placement
//! remembers the paths of the entries with one of those hashes only (the duplicates, and some
//! seven pairs among 270,000 paths whose cut hashes are equal), and decides the rule as it
//! places, in placement order. Paths are compared whole: equal hashes are no duplicates.

use std::collections::HashMap;

use super::Ref;
use crate::matcher::content_hash;

/// The path's hash, cut to the survey's key.
pub(super) fn short_hash(path: &str) -> u32 {
    content_hash(path.as_bytes()) as u32
}

/// The first entry with a path, as the placement saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct First {
    pub(super) at: Ref,
    /// Its media entry's id (none for a JSON file).
    pub(super) media: Option<usize>,
}

/// Which entries repeat the path of an earlier one, decided as they are placed.
#[derive(Default)]
pub(super) struct FirstByPath {
    /// The cut hashes that more than one kept entry has, sorted.
    shared: Vec<u32>,
    /// The first entry placed with each path whose hash is shared.
    firsts: HashMap<Box<str>, First>,
}

impl FirstByPath {
    /// The rule for entries with these hashes (every kept entry's [`short_hash`], in any order).
    pub(super) fn new(mut hashes: Vec<u32>) -> FirstByPath {
        hashes.sort_unstable();
        let mut shared = Vec::new();
        for run in hashes.chunk_by(|a, b| a == b) {
            if run.len() > 1 {
                shared.push(run[0]);
            }
        }
        FirstByPath {
            shared,
            firsts: HashMap::new(),
        }
    }

    /// Places the entry `at` with `path` (its media id `media`, none for JSON): the first entry
    /// placed before it with the same path, if any. Entries must come in placement order, each
    /// once, and only those the survey hashed: any other path is taken as its only copy.
    pub(super) fn place(&mut self, at: Ref, path: &str, media: Option<usize>) -> Option<First> {
        if self.shared.binary_search(&short_hash(path)).is_err() {
            return None;
        }
        match self.firsts.get(path) {
            Some(first) => Some(*first),
            None => {
                self.firsts.insert(path.into(), First { at, media });
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(part: usize, entry: usize) -> Ref {
        Ref { part, entry }
    }

    /// Every entry's rule, placed in the order given.
    fn place_all(listed: &[(Ref, &str)]) -> Vec<Option<First>> {
        let mut f = FirstByPath::new(listed.iter().map(|(_, p)| short_hash(p)).collect());
        listed
            .iter()
            .enumerate()
            .map(|(i, (r, p))| f.place(*r, p, Some(i)))
            .collect()
    }

    #[test]
    fn later_entries_point_at_the_first_with_their_path() {
        let got = place_all(&[
            (at(0, 0), "Takeout/Google Photos/a/x.jpg"),
            (at(0, 1), "Takeout/Google Photos/a/y.jpg"),
            (at(0, 2), "Takeout/Google Photos/a/x.jpg"),
            (at(1, 0), "Takeout/Google Photos/a/x.jpg"),
            (at(1, 1), "Takeout/Google Photos/b/x.jpg"),
        ]);
        let first = Some(First {
            at: at(0, 0),
            media: Some(0),
        });
        // The first, not the previous copy.
        assert_eq!(got, vec![None, None, first, first, None]);
    }

    #[test]
    fn equal_cut_hashes_of_different_paths_are_no_duplicates() {
        // A birthday search: some 77,000 names until two cut hashes meet.
        let mut seen = HashMap::new();
        let (a, b) = (0..)
            .find_map(|i| {
                let p = format!("Takeout/Google Photos/Photos from 2020/IMG_{i}.jpg");
                seen.insert(short_hash(&p), p.clone())
                    .map(|earlier| (earlier, p))
            })
            .expect("a collision");
        assert_eq!(short_hash(&a), short_hash(&b));
        let got = place_all(&[
            (at(0, 0), &a),
            (at(0, 1), &b),
            (at(1, 0), &b),
            (at(1, 1), &a),
        ]);
        let first = |entry, media| {
            Some(First {
                at: at(0, entry),
                media: Some(media),
            })
        };
        assert_eq!(got, vec![None, None, first(1, 1), first(0, 0)]);
    }

    /// Only the paths of shared hashes are remembered: a unique path costs nothing.
    #[test]
    fn unique_paths_are_not_remembered() {
        let paths: Vec<String> = (0..1000).map(|i| format!("G/P/IMG_{i}.jpg")).collect();
        let mut hashes: Vec<u32> = paths.iter().map(|p| short_hash(p)).collect();
        hashes.push(short_hash(&paths[7]));
        let mut f = FirstByPath::new(hashes);
        for (i, p) in paths.iter().enumerate() {
            assert_eq!(f.place(at(0, i), p, Some(i)), None);
        }
        assert_eq!(f.firsts.len(), 1);
        assert_eq!(
            f.place(at(1, 0), &paths[7], Some(1000)),
            Some(First {
                at: at(0, 7),
                media: Some(7)
            })
        );
    }
}
