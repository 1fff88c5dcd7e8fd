//! A slice that one name key crowds: matched in parts of counters.
//!
//! A large folder is matched a slice of [`crate::names::slice_key`]s at a time
//! (`slices.rs`), so that what the matching holds at once is a slice's, some 1.3 KB per media
//! entry. But one key can fill a slice alone: Google gives files of one name in one folder
//! collision counters (`unnamed.jpg`, `unnamed(1).jpg` … for every attachment saved from
//! Gmail or Chat, `image(N).png` for pasted screenshots), and all of them have the key
//! `unnamed`. Such a slice was matched whole, whatever its size: 130 MB for 100,000 files of
//! one name (an estimate from the 1.3 KB). The rules pair names of one counter as well
//! ([`crate::names::last_counter`]: a file's, and a sidecar's name's, else its title's), so a
//! slice of more than [`crate::Limits::crowded_slice`] names is matched in parts, each a run
//! of whole counters of a key, of at most [`crate::Limits::folder_slice`] names. Parted, a crowded
//! slice is matched as it would be whole (`a_folder_matched_in_slices_of_its_keys_is_matched_
//! as_a_whole` checks it on random folders) but in three corners, each needing a sidecar
//! that no rule names after its file: one renamed with an `(N)` of its own (`Copy (2) of
//! X.jpg.json`) that pairs by its title alone; one named `X(N).jpg.json` whose `X(N).jpg` is
//! missing, which would pair with `X.jpg` by its title; and a title whose own `(N)` Google's
//! clipping cuts at 46 units in the sidecar's name but not at 47 in the file's. There the file
//! keeps no sidecar, as it would with no sidecar at all; it is never lost.
//!
//! Only a hostile or broken export fills one counter of one key past the bound (names that
//! share their first 32 units, or their beginning up to a `-` and a letter, and no counter);
//! those names are matched in parts of whole plain stems ([`crate::names::plain_stem`]),
//! which keeps a file with the sidecar titled as it is named but may leave an edit, a
//! companion or a clipped name without its original's sidecar. That is reported; no file is
//! left out either way.

use super::slices::Scratch;
use super::*;

/// An entry of a crowded slice with its finer keys.
#[derive(Clone, Copy, Debug)]
pub(super) struct Finer {
    /// A hash of its key (a slice holds several).
    pub(super) key: u64,
    /// Its last counter, 0 for none, else N + 1.
    pub(super) counter: u64,
    /// A hash of its plain stem.
    pub(super) stem: u64,
    /// A media entry (else a sidecar), and its place in the slice's list of them.
    pub(super) media: bool,
    pub(super) at: u32,
}

impl Finer {
    /// `name`: a media entry's file name, or a sidecar's file name and title. A sidecar's
    /// counter is its name's, else its title's: a sidecar renamed past every rule (paired by
    /// its title alone) with a title of its own `(N)` goes with the file of that name.
    pub(super) fn new(name: &str, title: Option<&str>, at: usize) -> Finer {
        let counter = names::last_counter(name).or_else(|| title.and_then(names::last_counter));
        Finer {
            key: content_hash(names::slice_key(title.unwrap_or(name)).as_bytes()),
            counter: counter.map_or(0, |k| u64::from(k) + 1),
            stem: content_hash(names::plain_stem(title.unwrap_or(name)).as_bytes()),
            media: title.is_none(),
            at: index32(at),
        }
    }
}

/// One part of a crowded slice: the places of its media entries and of its sidecars in the
/// slice's lists, each ascending.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct SlicePart {
    pub(super) media: Vec<u32>,
    pub(super) sidecars: Vec<u32>,
    /// Its names share one key and counter, and were parted by plain stem.
    pub(super) by_stem: bool,
}

impl SlicePart {
    fn len(&self) -> usize {
        self.media.len() + self.sidecars.len()
    }

    fn push(&mut self, e: &Finer) {
        if e.media {
            self.media.push(e.at);
        } else {
            self.sidecars.push(e.at);
        }
    }
}

/// Parts of at most `most` names (unless one group is larger), each of whole counters of a
/// key; a counter of a key with more than `crowded` names is parted the same way by plain
/// stems.
pub(super) fn split(mut entries: Vec<Finer>, most: usize, crowded: usize) -> Vec<SlicePart> {
    entries.sort_unstable_by_key(|e| (e.key, e.counter, e.stem, !e.media, e.at));
    let mut parts = vec![SlicePart::default()];
    // Groups of equal keys, packed in order into parts.
    let pack = |group: &[Finer], by_stem: bool, parts: &mut Vec<SlicePart>| {
        let last = parts.last().expect("a part to fill");
        if last.len() > 0 && (last.len() + group.len() > most || last.by_stem != by_stem) {
            parts.push(SlicePart::default());
        }
        let last = parts.last_mut().expect("a part to fill");
        last.by_stem = by_stem;
        group.iter().for_each(|e| last.push(e));
    };
    for counter in entries.chunk_by(|a, b| (a.key, a.counter) == (b.key, b.counter)) {
        if counter.len() <= crowded {
            pack(counter, false, &mut parts);
        } else {
            for stem in counter.chunk_by(|a, b| a.stem == b.stem) {
                pack(stem, true, &mut parts);
            }
        }
    }
    parts.retain(|p| p.len() > 0);
    for p in &mut parts {
        p.media.sort_unstable();
        p.sidecars.sort_unstable();
    }
    parts
}

impl Builder {
    /// The parts of a crowded slice (`placed`: its media entries, `sidecars`: its sidecars
    /// as [`Scratch`] keeps them), each read once for its names; a counter parted by stem is
    /// reported as a problem of the folder.
    pub(super) fn crowded_parts(
        &mut self,
        g: &Group,
        placed: &[(u64, u32)],
        sidecars: &[(u32, u64)],
        scratch: &Scratch,
    ) -> Result<Vec<SlicePart>, Error> {
        let mut entries = Vec::with_capacity(placed.len() + sidecars.len());
        for (i, &(at, _)) in placed.iter().enumerate() {
            let p = self.placed.media_at(at).map_err(Error::SpillRead)?;
            entries.push(Finer::new(&p.name, None, i));
        }
        let sidecar = |at: u64| {
            let record = scratch.sidecar_record(at)?;
            scratch.decode_sidecar(&record)
        };
        for (i, &(_, at)) in sidecars.iter().enumerate() {
            let f = sidecar(at).map_err(Error::SpillRead)?;
            entries.push(Finer::new(f.name(), Some(f.sidecar.title()), i));
        }
        let (most, crowded) = (self.limits.folder_slice.max(1), self.limits.crowded_slice);
        let parts = split(entries, most, crowded);
        let by_stem: usize = parts.iter().filter(|p| p.by_stem).map(SlicePart::len).sum();
        // Named by the first file of the parts by stem (else its first sidecar): its key is
        // the one that crowds (the slice holds others).
        let named = parts.iter().find(|p| p.by_stem).and_then(|p| {
            let file = p.media.first().map(|&m| Ok(placed[m as usize].0));
            file.or_else(|| p.sidecars.first().map(|&s| Err(sidecars[s as usize].1)))
        });
        if by_stem > 0
            && let Some(named) = named
        {
            // A file's place (Ok), or a sidecar's (Err).
            let (part, path, name) = match named {
                Ok(at) => {
                    let p = self.placed.media_at(at).map_err(Error::SpillRead)?;
                    let e = g.entry(p, self.listings.len()).map_err(Error::SpillRead)?;
                    let name = names::last_segment(&e.path).to_owned();
                    (e.part(), e.path.to_string(), name)
                }
                Err(at) => {
                    let f = sidecar(at).map_err(Error::SpillRead)?;
                    let (path, title) = (f.sidecar.json_path(), f.sidecar.title());
                    (f.sidecar.json_part, path.to_owned(), title.to_owned())
                }
            };
            let part = self.part_path(part).to_path_buf();
            let key = names::slice_key(&name);
            self.problems.push(Problem::new(
                &part,
                Some(&path),
                ProblemKind::TooLarge,
                format!(
                    "{by_stem} files and sidecars of this folder begin as \"{key}\" with the same \
                     counter, more than {} to match at once: they were matched in parts of one \
                     name each, so an edited copy, a live photo's video or a file of a clipped \
                     name may have no sidecar applied (every file is kept)",
                    crowded
                ),
            ));
        }
        Ok(parts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finer(counter: u64, stem: u64, media: bool, at: u32) -> Finer {
        Finer {
            key: 7,
            counter,
            stem,
            media,
            at,
        }
    }

    /// Parts hold whole counters, at most `most` names unless one counter is larger, media
    /// and sidecars each in their order; a counter past `crowded` is parted by whole stems.
    #[test]
    fn parts_hold_whole_counters_then_whole_stems() {
        let mut entries = Vec::new();
        // 30 counters of a file and its sidecar, then a counter of 50 files of 25 stems.
        for k in 0..30u32 {
            entries.push(finer(u64::from(k % 10), 0, true, k));
            entries.push(finer(u64::from(k % 10), 0, false, k));
        }
        for i in 0..50u32 {
            entries.push(finer(99, u64::from(i % 25), true, 30 + i));
        }
        entries.reverse();
        let parts = split(entries, 8, 20);
        let counter_of = |p: &SlicePart| -> Vec<u32> {
            p.media
                .iter()
                .map(|&at| if at < 30 { at % 10 } else { 99 })
                .collect()
        };
        let mut seen_media: Vec<u32> = Vec::new();
        for p in &parts {
            assert!(p.media.is_sorted() && p.sidecars.is_sorted(), "{p:?}");
            seen_media.extend(&p.media);
            let counters = counter_of(p);
            if p.by_stem {
                assert!(counters.iter().all(|&c| c == 99), "{p:?}");
                assert!(p.len() <= 8, "{p:?}");
                let stems: Vec<u32> = p.media.iter().map(|&at| (at - 30) % 25).collect();
                for s in &stems {
                    // Each stem whole in one part: both of its files here.
                    assert_eq!(stems.iter().filter(|x| *x == s).count(), 2, "{p:?}");
                }
            } else {
                // Each counter whole (its 3 files and 3 sidecars): 6 names, one per part.
                assert_eq!(p.len(), 6, "{p:?}");
                assert!(counters.iter().all(|&c| c == counters[0]), "{p:?}");
                assert_eq!(p.sidecars, p.media, "{p:?}");
            }
        }
        seen_media.sort_unstable();
        assert_eq!(seen_media, (0..80).collect::<Vec<u32>>());
        assert_eq!(parts.iter().filter(|p| !p.by_stem).count(), 10);
        assert_eq!(parts.iter().filter(|p| p.by_stem).count(), 7);
    }
}
