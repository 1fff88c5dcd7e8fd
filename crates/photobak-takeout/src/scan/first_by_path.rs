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
//!
//! The survey's hashes themselves (8 bytes per kept entry with its product folder, which
//! decides whether the entry counts once every part is surveyed) were what the scan still
//! held per entry of a large export: 8.5 MB at 400,114 items, more while the vector grew
//! (BENCHMARKS.md, session 16). Given a scratch file ([`crate::Spill::Files`]), a [`Tally`]
//! keeps [`RUN`] of them in memory, writes each full run to the file sorted, and finds the
//! shared hashes by merging the runs, a small read of each at a time.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::fs::File;

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
    /// The rule for entries with these hashes (those more than one kept entry has, sorted:
    /// [`Tally::shared`]).
    pub(super) fn new(shared: Vec<u32>) -> FirstByPath {
        debug_assert!(shared.is_sorted(), "shared hashes sorted");
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

/// Pairs held before a full run goes to the file: 1 MiB.
const RUN: usize = 1 << 17;

/// Pairs read at a time from each run while the runs are merged (8 KiB).
const MERGE_READ: usize = 1 << 10;

/// Every kept entry's hash with the group it counts for (its product folder, as a number),
/// in sorted runs: in memory, or the full ones in a scratch file (see the module docs).
pub(super) struct Tally {
    run: Vec<(u32, u32)>,
    file: Option<File>,
    /// The runs in the file: where each starts and its pairs, counted in pairs.
    runs: Vec<(u64, u64)>,
    written: u64,
}

impl Tally {
    /// A tally in `file` (empty), or in memory.
    pub(super) fn new(file: Option<File>) -> Tally {
        Tally {
            run: Vec::new(),
            file,
            runs: Vec::new(),
            written: 0,
        }
    }

    /// One more entry's `hash`, which counts if its `group` is kept ([`Self::shared`]).
    ///
    /// # Errors
    /// When the file cannot be written.
    pub(super) fn push(&mut self, hash: u32, group: u32) -> std::io::Result<()> {
        self.run.push((hash, group));
        match &self.file {
            Some(file) if self.run.len() >= RUN => {
                self.run.sort_unstable();
                let mut bytes = Vec::with_capacity(self.run.len() * 8);
                for (h, g) in &self.run {
                    bytes.extend_from_slice(&h.to_le_bytes());
                    bytes.extend_from_slice(&g.to_le_bytes());
                }
                crate::records::write_at(file, &bytes, self.written * 8)?;
                let n = self.run.len() as u64;
                self.runs.push((self.written, n));
                self.written += n;
                self.run.clear();
            }
            _ => {}
        }
        Ok(())
    }

    /// The hashes that more than one entry of a kept group has (`keep`), sorted.
    ///
    /// # Errors
    /// When the file cannot be read back, or does not hold what was written.
    pub(super) fn shared(mut self, keep: impl Fn(u32) -> bool) -> std::io::Result<Vec<u32>> {
        self.run.sort_unstable();
        let mut cursors: Vec<Cursor<'_>> = Vec::with_capacity(self.runs.len() + 1);
        if let Some(file) = &self.file {
            for &(start, n) in &self.runs {
                cursors.push(Cursor::File {
                    file,
                    next: start,
                    end: start + n,
                    buf: Vec::new(),
                    at: 0,
                });
            }
        }
        cursors.push(Cursor::Memory(&self.run, 0));
        let mut heap = BinaryHeap::with_capacity(cursors.len());
        for (k, c) in cursors.iter_mut().enumerate() {
            if let Some((h, _)) = c.peek()? {
                heap.push(Reverse((h, k)));
            }
        }
        let mut shared = Vec::new();
        let mut last: Option<(u32, bool)> = None;
        while let Some(Reverse((h, k))) = heap.pop() {
            let (_, group) = cursors[k].peek()?.expect("a cursor in the heap has a pair");
            cursors[k].advance();
            if let Some((next, _)) = cursors[k].peek()? {
                if next < h {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        "the survey's scratch file does not hold what was written to it",
                    ));
                }
                heap.push(Reverse((next, k)));
            }
            if !keep(group) {
                continue;
            }
            match &mut last {
                // A third copy or more: already counted.
                Some((seen, true)) if *seen == h => {}
                Some((seen, twice)) if *seen == h => {
                    shared.push(h);
                    *twice = true;
                }
                _ => last = Some((h, false)),
            }
        }
        Ok(shared)
    }
}

/// One sorted run being merged.
enum Cursor<'a> {
    Memory(&'a [(u32, u32)], usize),
    /// Pairs `next..end` of the file not read yet; `buf[at..]` read.
    File {
        file: &'a File,
        next: u64,
        end: u64,
        buf: Vec<(u32, u32)>,
        at: usize,
    },
}

impl Cursor<'_> {
    fn peek(&mut self) -> std::io::Result<Option<(u32, u32)>> {
        match self {
            Cursor::Memory(run, at) => Ok(run.get(*at).copied()),
            Cursor::File {
                file,
                next,
                end,
                buf,
                at,
            } => {
                if *at == buf.len() {
                    if *next == *end {
                        return Ok(None);
                    }
                    let n = (*end - *next).min(MERGE_READ as u64) as usize;
                    let mut bytes = vec![0; n * 8];
                    crate::records::read_at(file, &mut bytes, *next * 8)?;
                    buf.clear();
                    buf.extend(bytes.chunks_exact(8).map(|b| {
                        let word = |r: std::ops::Range<usize>| {
                            u32::from_le_bytes(b[r].try_into().expect("four bytes"))
                        };
                        (word(0..4), word(4..8))
                    }));
                    (*next, *at) = (*next + n as u64, 0);
                }
                Ok(Some(buf[*at]))
            }
        }
    }

    fn advance(&mut self) {
        match self {
            Cursor::Memory(_, at) | Cursor::File { at, .. } => *at += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(part: usize, entry: usize) -> Ref {
        Ref { part, entry }
    }

    /// The hashes given more than once, by a tally in memory.
    fn shared(hashes: impl Iterator<Item = u32>) -> Vec<u32> {
        let mut t = Tally::new(None);
        for h in hashes {
            t.push(h, 0).unwrap();
        }
        t.shared(|_| true).unwrap()
    }

    /// Runs in the file and in memory, merged: the hashes more than one entry of a kept group
    /// has, each once, as counting them all in memory finds.
    #[test]
    fn a_tally_in_runs_finds_what_one_in_memory_finds() {
        let n = 3 * RUN + 777;
        // Hashes from a small range (many repeat), groups 0 to 2; group 1 does not count.
        let pairs: Vec<(u32, u32)> = (0..n as u64)
            .map(|i| {
                let x = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 40;
                ((x % 900_000) as u32, (i % 3) as u32)
            })
            .collect();
        let mut want: Vec<u32> = pairs.iter().filter(|p| p.1 != 1).map(|p| p.0).collect();
        want.sort_unstable();
        let want: Vec<u32> = want
            .chunk_by(|a, b| a == b)
            .filter(|r| r.len() > 1)
            .map(|r| r[0])
            .collect();
        assert!(want.len() > 1000, "{}", want.len());
        for file in [None, Some(tempfile::tempfile().unwrap())] {
            let in_file = file.is_some();
            let mut t = Tally::new(file);
            for &(h, g) in &pairs {
                t.push(h, g).unwrap();
            }
            assert_eq!(t.runs.len(), if in_file { 3 } else { 0 });
            assert_eq!(t.shared(|g| g != 1).unwrap(), want);
        }
    }

    /// A hash counts once per entry of a kept group: one kept copy and any number of copies
    /// in other groups are no duplicates, across runs too.
    #[test]
    fn only_copies_in_kept_groups_count() {
        for file in [None, Some(tempfile::tempfile().unwrap())] {
            let mut t = Tally::new(file);
            for i in 0..RUN as u32 + 10 {
                // 7 once kept and once not; 8 twice, kept; 9 three times, kept.
                let (h, g) = match i {
                    3 => (7, 0),
                    5 => (9, 0),
                    n if n == RUN as u32 + 2 => (7, 1),
                    n if n == RUN as u32 + 3 => (8, 0),
                    n if n == RUN as u32 + 4 => (8, 0),
                    n if n == RUN as u32 + 5 => (9, 0),
                    n if n == RUN as u32 + 6 => (9, 0),
                    _ => (1000 + i, 1),
                };
                t.push(h, g).unwrap();
            }
            assert_eq!(t.shared(|g| g == 0).unwrap(), vec![8, 9]);
        }
    }

    /// A run that cannot be written is an error.
    #[test]
    fn a_tally_that_cannot_write_is_an_error() {
        let t = tempfile::NamedTempFile::new().unwrap();
        let mut tally = Tally::new(Some(File::open(t.path()).unwrap()));
        let failed = (0..RUN as u32)
            .map(|i| tally.push(i, 0))
            .find(Result::is_err);
        assert!(failed.is_some());
    }

    /// A run that no longer reads back as written is an error, never fewer shared hashes.
    #[test]
    fn a_shortened_tally_file_is_an_error() {
        let file = tempfile::tempfile().unwrap();
        let mut t = Tally::new(Some(file.try_clone().unwrap()));
        for i in 0..RUN as u32 + 5 {
            t.push(i / 2, 0).unwrap();
        }
        file.set_len(1000).unwrap();
        assert!(t.shared(|_| true).is_err());
    }

    /// Every entry's rule, placed in the order given.
    fn place_all(listed: &[(Ref, &str)]) -> Vec<Option<First>> {
        let mut f = FirstByPath::new(shared(listed.iter().map(|(_, p)| short_hash(p))));
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
        let hashes = paths.iter().map(|p| short_hash(p));
        let mut f = FirstByPath::new(shared(hashes.chain([short_hash(&paths[7])])));
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
