//! The first entry seen with each path, for the scan's same-path rule: a path listed twice
//! (in two parts, or twice in one) is one entry and the later a duplicate. A file of its own
//! because its memory layout is a decision of its own: a map of every placed entry, filled as
//! the entries were placed, was 9 MB at the scan's peak at 270,000 listed entries, beside the
//! listings and the media entries.
//!
//! So the rule is decided before the placement, from a sorted list that is gone before the
//! media entries are made: every placed entry by a 32-bit hash of its path, sorted, so that
//! the entries of one path are neighbours in placement order. Entries whose cut hashes are
//! equal are told apart by their paths, compared whole (some seven pairs among 270,000 paths).
//! Only what is a duplicate is kept: duplicates are rare.

use std::collections::{HashMap, HashSet};

use super::Ref;
use crate::matcher::content_hash;

/// Which entries repeat the path of an earlier one, and which entries are repeated.
#[derive(Default)]
pub(super) struct FirstByPath {
    /// A later entry with a path already seen → the first entry with that path.
    later: HashMap<Ref, Ref>,
    /// The first entries of the paths seen more than once.
    repeated: HashSet<Ref>,
}

/// The path's hash, cut to the sort's key.
pub(super) fn short_hash(path: &str) -> u32 {
    content_hash(path.as_bytes()) as u32
}

impl FirstByPath {
    /// The rule for `placed`, every entry the placement keeps, in placement order, by its
    /// path (`path_of`).
    pub(super) fn find(
        placed: impl Iterator<Item = Ref>,
        path_of: impl Fn(Ref) -> String,
    ) -> FirstByPath {
        let mut keyed: Vec<(u32, Ref)> = placed.map(|r| (short_hash(&path_of(r)), r)).collect();
        // Placement order within equal hashes; in place (a stable sort's buffer was 6 MB).
        keyed.sort_unstable();
        let mut found = FirstByPath::default();
        for run in keyed.chunk_by(|a, b| a.0 == b.0) {
            if run.len() == 1 {
                continue;
            }
            // Usually one path; more only when cut hashes collide (a crafted export could make
            // many collide: they are told apart by a map, not by comparing each with each).
            let mut firsts: HashMap<String, Ref> = HashMap::new();
            for &(_, r) in run {
                match firsts.entry(path_of(r)) {
                    std::collections::hash_map::Entry::Occupied(o) => {
                        found.later.insert(r, *o.get());
                        found.repeated.insert(*o.get());
                    }
                    std::collections::hash_map::Entry::Vacant(v) => {
                        v.insert(r);
                    }
                }
            }
        }
        found
    }

    /// The first entry with the path of `r`, when `r` is not that entry.
    pub(super) fn first_of(&self, r: Ref) -> Option<Ref> {
        self.later.get(&r).copied()
    }

    /// Whether a later entry repeats the path of `r`.
    pub(super) fn is_repeated(&self, r: Ref) -> bool {
        self.repeated.contains(&r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(part: usize, entry: usize) -> Ref {
        Ref { part, entry }
    }

    fn find(listed: &[(Ref, &str)]) -> FirstByPath {
        let path_of = |r: Ref| {
            listed
                .iter()
                .find(|(q, _)| *q == r)
                .map(|(_, p)| (*p).to_owned())
                .expect("listed")
        };
        FirstByPath::find(listed.iter().map(|(r, _)| *r), path_of)
    }

    #[test]
    fn later_entries_point_at_the_first_with_their_path() {
        let f = find(&[
            (at(0, 0), "Takeout/Google Photos/a/x.jpg"),
            (at(0, 1), "Takeout/Google Photos/a/y.jpg"),
            (at(0, 2), "Takeout/Google Photos/a/x.jpg"),
            (at(1, 0), "Takeout/Google Photos/a/x.jpg"),
            (at(1, 1), "Takeout/Google Photos/b/x.jpg"),
        ]);
        assert_eq!(f.first_of(at(0, 0)), None);
        assert_eq!(f.first_of(at(0, 2)), Some(at(0, 0)));
        // The first, not the previous copy.
        assert_eq!(f.first_of(at(1, 0)), Some(at(0, 0)));
        assert_eq!(f.first_of(at(0, 1)), None);
        assert_eq!(f.first_of(at(1, 1)), None);
        assert!(f.is_repeated(at(0, 0)));
        assert!(!f.is_repeated(at(0, 1)) && !f.is_repeated(at(0, 2)));
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
        let f = find(&[
            (at(0, 0), &a),
            (at(0, 1), &b),
            (at(1, 0), &b),
            (at(1, 1), &a),
        ]);
        assert_eq!(f.first_of(at(0, 1)), None);
        assert_eq!(f.first_of(at(1, 0)), Some(at(0, 1)));
        assert_eq!(f.first_of(at(1, 1)), Some(at(0, 0)));
        assert!(f.is_repeated(at(0, 0)) && f.is_repeated(at(0, 1)));
    }
}
