//! The first entry seen with each path, for the scan's same-path rule: a path listed twice
//! (in two parts, or twice in one) is one entry and the later a duplicate. A file of its own
//! because its memory layout is a decision of its own (the map was the scan's peak at 270,000
//! listed entries).

use std::collections::HashMap;

use super::{Builder, Ref, content_hash};
use crate::MediaEntry;

/// The first entry seen with each path (and its media id), by a hash of the path: the path
/// itself is in the listing, and a copy of every path as the key cost some 100 bytes per entry
/// at the scan's peak. Two different paths with the same hash are told apart by the listing;
/// the later one is then kept by its path in `collided`. The hash is cut to 32 bits: a table
/// made for 270,000 entries has 524,288 slots, 13 MB at the scan's peak with a 64-bit key and
/// 9 MB with this one, and the few paths whose cut hashes collide (some seven among 270,000)
/// only cost a copy of their path in `collided`.
#[derive(Default)]
pub(super) struct FirstByPath {
    by_hash: HashMap<u32, Packed>,
    collided: HashMap<String, (Ref, Option<usize>)>,
}

/// A first entry as the map holds it: with 270,000 entries its table (and the copy a growing
/// table makes) was the scan's peak, 32 MB with a `(Ref, Option<usize>)` of 32 bytes.
#[derive(Clone, Copy)]
struct Packed {
    part: u32,
    entry: u32,
    /// `u32::MAX`: not a media entry.
    media: u32,
}

impl Packed {
    /// Packs a first entry; `Limits::max_entries` keeps every index far below `u32::MAX`, and
    /// one that is not is kept by its path (in `collided`), not truncated.
    fn pack((r, m): (Ref, Option<usize>)) -> Option<Packed> {
        let small = |n: usize| u32::try_from(n).ok().filter(|&n| n != u32::MAX);
        Some(Packed {
            part: small(r.part)?,
            entry: small(r.entry)?,
            media: match m {
                Some(m) => small(m)?,
                None => u32::MAX,
            },
        })
    }

    fn unpack(self) -> (Ref, Option<usize>) {
        let r = Ref {
            part: self.part as usize,
            entry: self.entry as usize,
        };
        (r, (self.media != u32::MAX).then_some(self.media as usize))
    }
}

/// The path's hash, cut to the map's key.
pub(super) fn short_hash(path: &str) -> u32 {
    content_hash(path.as_bytes()) as u32
}

impl FirstByPath {
    /// Room for `n` entries at once: grown by doubling, the table was copied at its largest.
    pub(super) fn with_capacity(n: usize) -> Self {
        FirstByPath {
            by_hash: HashMap::with_capacity(n),
            collided: HashMap::new(),
        }
    }

    pub(super) fn get(
        &self,
        b: &Builder,
        media: &[MediaEntry],
        path: &str,
    ) -> Option<(Ref, Option<usize>)> {
        match self.by_hash.get(&short_hash(path)) {
            Some(p) if Self::path_of(b, media, p.unpack()) == path => Some(p.unpack()),
            _ if self.collided.is_empty() => None,
            _ => self.collided.get(path).copied(),
        }
    }

    /// Records the first entry of `path` (which [`Self::get`] did not find).
    pub(super) fn insert(
        &mut self,
        b: &Builder,
        media: &[MediaEntry],
        path: &str,
        first: (Ref, Option<usize>),
    ) {
        let Some(packed) = Packed::pack(first) else {
            self.collided.insert(path.to_owned(), first);
            return;
        };
        match self.by_hash.entry(short_hash(path)) {
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(packed);
            }
            std::collections::hash_map::Entry::Occupied(o) => {
                if Self::path_of(b, media, o.get().unpack()) != path {
                    self.collided.insert(path.to_owned(), first);
                }
            }
        }
    }

    /// The path of a first entry: a media entry's is in the media entry (its listing gave it
    /// up), a JSON file's in the listing.
    fn path_of<'a>(
        b: &'a Builder,
        media: &'a [MediaEntry],
        (r, m): (Ref, Option<usize>),
    ) -> &'a str {
        match m {
            Some(m) => &media[m].path,
            None => &b.entry(r).path,
        }
    }
}
