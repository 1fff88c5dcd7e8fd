//! The catalog's media entries, written once by the scan and read back by the importer's
//! passes: in record order from the start ([`Media::in_record_order`]), or one by one by id
//! ([`Media::get`]).
//!
//! Why not held: a media entry is 136 bytes and its path's allocation, some 200 bytes for each
//! of the 133,000 media entries of a 100,000-item export, and every pass of an import held all
//! of them from the scan to the end of the bytes pass (BENCHMARKS.md, session 12). Written to a
//! file the caller gives ([`Spill::Files`]), the catalog keeps where each record starts in a
//! second one, 8 bytes per entry by id ([`Slots`]: a few pages cached); in memory those 8
//! bytes per entry were most of what the scan still held per entry of a large export
//! (BENCHMARKS.md, session 16). [`Spill::Memory`] keeps the same records and places in
//! memory.
//!
//! The records are written in record order (folder, then name: [`MediaEntry::record_key`],
//! the order an importer records entries in, the same for the same export as zip, tgz or
//! folders), so the pass that takes every entry in that order reads the file once, from its
//! start, and the entries of one folder (which a zip part mostly holds together) are near each
//! other for the readers by id. The scan writes each folder's entries as it matches the folder,
//! the folders by path; a same-path duplicate whose first copy is in another folder (parts
//! laid out differently) comes last, with that copy's outcome.
//!
//! [`Spill::Files`]: crate::Spill::Files
//! [`Spill::Memory`]: crate::Spill::Memory

use std::sync::{Arc, Mutex};

use crate::Slots;
use crate::folders::{AlbumFolder, Folder};
use crate::matcher::{MatchRule, NONE_REASONS};
use crate::records::{Fields, Records, Sequential, framed, put_text, put_zip};
use crate::sidecars::SidecarId;
use crate::{MediaEntry, Variant};

/// Bytes read at a time by [`Media::get`]: the readers by id take the entries of a folder in
/// about the order they were written.
const READ_AHEAD: usize = 16 << 10;

/// Pages of the places' file cached (256 KiB: 512 entries a page).
const CACHED_PAGES: usize = 64;

/// The media entries of a catalog (see the module docs).
#[derive(Debug)]
pub struct Media {
    /// Where each entry's record starts, by id, plus one (0: not written).
    at: Places,
    n: usize,
    written: usize,
    records: Records,
}

#[derive(Debug)]
enum Places {
    Memory(Vec<u64>),
    /// Read by the importer's readers at once: the cache is behind a lock, as the records'
    /// window is.
    File(Mutex<Slots>),
}

impl Places {
    fn get(&self, id: usize) -> std::io::Result<u64> {
        match self {
            Places::Memory(v) => Ok(v[id]),
            Places::File(m) => {
                let mut slots = m.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                let b = slots.get(id)?;
                Ok(u64::from_le_bytes(b.try_into().expect("slots of 8 bytes")))
            }
        }
    }

    fn set(&mut self, id: usize, at: u64) -> std::io::Result<()> {
        match self {
            Places::Memory(v) => v[id] = at,
            Places::File(m) => m
                .get_mut()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .set(id, &at.to_le_bytes())?,
        }
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Places::Memory(_) => Ok(()),
            Places::File(m) => m
                .get_mut()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .flush(),
        }
    }
}

impl Media {
    /// A store for `n` entries (ids `0..n`): in `files` (the records', then the places'), or
    /// in memory.
    ///
    /// # Errors
    /// When the places' file cannot be sized.
    pub(crate) fn new(
        files: Option<(std::fs::File, std::fs::File)>,
        n: usize,
    ) -> std::io::Result<Media> {
        let (records, at) = match files {
            None => (Records::new(None), Places::Memory(vec![0; n])),
            Some((records, places)) => (
                Records::new(Some(records)),
                Places::File(Mutex::new(Slots::new(places, n, 8, CACHED_PAGES)?)),
            ),
        };
        Ok(Media {
            at,
            n,
            written: 0,
            records,
        })
    }

    /// Keeps `m` (in record order: see the module docs).
    ///
    /// # Errors
    /// When a spill file cannot be written (or the places' read back), or `m` is already
    /// written or of no id of this store.
    pub(crate) fn push(&mut self, m: &MediaEntry, buf: &mut Vec<u8>) -> std::io::Result<()> {
        let id = m.index();
        if id >= self.n || self.at.get(id)? != 0 {
            return Err(std::io::Error::other(
                "a media entry written twice or unknown",
            ));
        }
        buf.clear();
        framed(buf, |out| encode(m, out));
        let start = self.records.append(buf)?;
        self.at.set(id, start + 1)?;
        self.written += 1;
        Ok(())
    }

    /// What is written so far can be read back ([`Self::get`]); more may be written after.
    ///
    /// # Errors
    /// When a spill file cannot be written.
    pub(crate) fn flush(&mut self) -> std::io::Result<()> {
        self.at.flush()?;
        self.records.seal()
    }

    /// Done writing.
    ///
    /// # Errors
    /// When a spill file cannot be written.
    pub(crate) fn seal(&mut self) -> std::io::Result<()> {
        debug_assert_eq!(self.written, self.n, "every media entry written");
        self.at.flush()?;
        self.records.seal()
    }

    /// How many media entries the export has.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Whether it has none.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// The entry of id `id` ([`MediaEntry::id`]).
    ///
    /// # Errors
    /// When there is no such entry, the spill file cannot be read back, or it does not give
    /// back what was written (`InvalidData`).
    pub fn get(&self, id: usize) -> std::io::Result<MediaEntry> {
        let start = (id < self.n)
            .then(|| self.at.get(id))
            .transpose()?
            .and_then(|at| at.checked_sub(1))
            .ok_or_else(|| std::io::Error::other(format!("no media entry {id} in the catalog")))?;
        let m = self.records.framed_at(start, READ_AHEAD, decode)??;
        (m.index() == id).then_some(m).ok_or_else(changed)
    }

    /// Every entry, in record order ([`MediaEntry::record_key`]), read from the start of the
    /// store with a buffer of its own.
    pub fn in_record_order(&self) -> RecordOrder<'_> {
        RecordOrder {
            seq: self.records.sequential(),
        }
    }

    /// Every entry by id, in a vector: for small exports and tests (a large export's entries
    /// are what the store keeps out of memory).
    ///
    /// # Errors
    /// As [`Self::get`].
    pub fn to_vec(&self) -> std::io::Result<Vec<MediaEntry>> {
        let mut all: Vec<MediaEntry> = self.in_record_order().collect::<Result<_, _>>()?;
        all.sort_unstable_by_key(|m| m.id);
        Ok(all)
    }

    /// Reads through the shared window so far (tests).
    #[cfg(test)]
    pub(crate) fn reads(&self) -> usize {
        self.records.reads()
    }
}

/// The entries in the order they were written ([`Media::in_record_order`]).
pub struct RecordOrder<'m> {
    seq: Sequential<'m>,
}

impl Iterator for RecordOrder<'_> {
    type Item = std::io::Result<MediaEntry>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.seq.next_framed() {
            Ok(Some((_, bytes))) => Some(decode(bytes)),
            Ok(None) => None,
            Err(e) => Some(Err(e)),
        }
    }
}

fn changed() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        "the catalog's spill file does not hold what was written to it",
    )
}

/// An optional `u32`: a flag, then the value.
fn put_opt(out: &mut Vec<u8>, v: Option<u32>) {
    match v {
        Some(v) => {
            out.push(1);
            out.extend_from_slice(&v.to_le_bytes());
        }
        None => out.push(0),
    }
}

fn opt(b: &mut Fields<'_>) -> Option<Option<u32>> {
    match b.u8()? {
        0 => Some(None),
        1 => b.u32().map(Some),
        _ => None,
    }
}

/// The fields in their order, little-endian, fixed widths (the record is read whole); enums as
/// a tag and their fields.
pub(crate) fn encode(m: &MediaEntry, out: &mut Vec<u8>) {
    for v in [m.id, m.part_index, m.entry_index] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&m.size.to_le_bytes());
    put_text(out, Some(&m.path));
    match &m.folder {
        Folder::Year(y) => {
            out.push(0);
            out.extend_from_slice(&y.to_le_bytes());
        }
        Folder::Album(a) => {
            out.push(1);
            put_text(out, Some(&a.folder_name));
            put_text(out, Some(&a.title));
            put_text(out, a.description.as_deref());
        }
        Folder::Archive => out.push(2),
        Folder::Trash => out.push(3),
        Folder::FailedVideos => out.push(4),
        Folder::LockedFolder => out.push(5),
        Folder::Other(p) => {
            out.push(6);
            put_text(out, Some(p));
        }
    }
    match &m.zip {
        Some(z) => {
            out.push(1);
            put_zip(out, z);
        }
        None => out.push(0),
    }
    put_opt(out, m.sidecar.map(SidecarId::raw));
    // The tag, then a counter for the rules that have one.
    let (tag, counter) = match &m.matched_by {
        MatchRule::Legacy { counter } => (0, Some(*counter)),
        MatchRule::Supplemental { counter } => (1, Some(*counter)),
        MatchRule::SupplementalClipped { counter } => (2, Some(*counter)),
        MatchRule::SupplementalUnclipped { counter } => (3, Some(*counter)),
        MatchRule::SidecarWithoutExtension { counter } => (4, Some(*counter)),
        MatchRule::CounterInTitle { counter } => (5, Some(Some(*counter))),
        MatchRule::TitleWithoutExtension { counter } => (6, Some(*counter)),
        MatchRule::EditedVariant => (7, None),
        MatchRule::EditedVariantInferred { .. } => (8, None),
        MatchRule::LiveCompanion => (9, None),
        MatchRule::TitleOnly => (10, None),
        MatchRule::None { .. } => (11, None),
        MatchRule::Ambiguous { .. } => (12, None),
    };
    out.push(tag);
    if let Some(c) = counter {
        put_opt(out, c);
    }
    match &m.matched_by {
        MatchRule::EditedVariantInferred { suffix } => put_text(out, Some(suffix)),
        MatchRule::None { reason } => {
            let i = NONE_REASONS.iter().position(|r| r == reason);
            debug_assert!(i.is_some(), "every reason is in NONE_REASONS: {reason}");
            out.push(i.unwrap_or(0) as u8);
        }
        MatchRule::Ambiguous { candidates } => {
            out.extend_from_slice(&(candidates.len() as u32).to_le_bytes());
            for c in candidates {
                put_text(out, Some(c));
            }
        }
        _ => {}
    }
    let (tag, link) = match m.variant {
        Variant::Original => (0, None),
        Variant::Edited { original } => (1, Some(original)),
        Variant::LiveCompanion { still } => (2, Some(still)),
        Variant::Creation => (3, None),
    };
    out.push(tag);
    if let Some(l) = link {
        put_opt(out, l);
    }
    put_opt(out, m.duplicate_of);
}
pub(crate) fn decode(bytes: &[u8]) -> std::io::Result<MediaEntry> {
    decode_fields(&mut Fields(bytes)).ok_or_else(changed)
}

fn decode_fields(b: &mut Fields<'_>) -> Option<MediaEntry> {
    let (id, part_index, entry_index) = (b.u32()?, b.u32()?, b.u32()?);
    let size = b.u64()?;
    let path: Box<str> = b.text()??.into();
    let folder = match b.u8()? {
        0 => Folder::Year(b.u32()? as i32),
        1 => Folder::Album(Arc::new(AlbumFolder {
            folder_name: b.text()??.into(),
            title: b.text()??.into(),
            description: b.text()?.map(Arc::from),
        })),
        2 => Folder::Archive,
        3 => Folder::Trash,
        4 => Folder::FailedVideos,
        5 => Folder::LockedFolder,
        6 => Folder::Other(b.text()??.into()),
        _ => return None,
    };
    let zip = match b.u8()? {
        0 => None,
        1 => Some(b.zip()?),
        _ => return None,
    };
    let sidecar = opt(b)?.map(SidecarId::from_raw);
    let matched_by = match b.u8()? {
        0 => MatchRule::Legacy { counter: opt(b)? },
        1 => MatchRule::Supplemental { counter: opt(b)? },
        2 => MatchRule::SupplementalClipped { counter: opt(b)? },
        3 => MatchRule::SupplementalUnclipped { counter: opt(b)? },
        4 => MatchRule::SidecarWithoutExtension { counter: opt(b)? },
        5 => MatchRule::CounterInTitle { counter: opt(b)?? },
        6 => MatchRule::TitleWithoutExtension { counter: opt(b)? },
        7 => MatchRule::EditedVariant,
        8 => MatchRule::EditedVariantInferred {
            suffix: b.text()??.into(),
        },
        9 => MatchRule::LiveCompanion,
        10 => MatchRule::TitleOnly,
        11 => MatchRule::None {
            reason: NONE_REASONS.get(usize::from(b.u8()?))?,
        },
        12 => {
            let n = b.u32()? as usize;
            // Each candidate takes four bytes at least: a count past what is left is damage.
            if n > b.0.len() / 4 {
                return None;
            }
            let candidates = (0..n)
                .map(|_| b.text()?.map(str::to_owned))
                .collect::<Option<Vec<_>>>()?;
            MatchRule::Ambiguous {
                candidates: candidates.into(),
            }
        }
        _ => return None,
    };
    let variant = match b.u8()? {
        0 => Variant::Original,
        1 => Variant::Edited { original: opt(b)? },
        2 => Variant::LiveCompanion { still: opt(b)? },
        3 => Variant::Creation,
        _ => return None,
    };
    let duplicate_of = opt(b)?;
    b.is_empty().then_some(MediaEntry {
        id,
        part_index,
        entry_index,
        path,
        folder,
        size,
        zip,
        sidecar,
        matched_by,
        variant,
        duplicate_of,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parts::ZipLoc;

    /// One entry of every kind of field value.
    fn samples() -> Vec<MediaEntry> {
        let base = MediaEntry {
            id: 0,
            part_index: 2,
            entry_index: 77,
            path: "Takeout/Google Photos/Photos from 2020/IMG_1.jpg".into(),
            folder: Folder::Year(2020),
            size: 5 << 33,
            zip: Some(ZipLoc {
                header_start: 1 << 40,
                compressed: 12_345,
                crc32: 0xdead_beef,
                deflated: true,
            }),
            sidecar: Some(SidecarId::from_raw(9)),
            matched_by: MatchRule::Supplemental { counter: Some(3) },
            variant: Variant::Original,
            duplicate_of: None,
        };
        let folders = [
            Folder::Year(-3),
            Folder::album("Trip", "Trip to ü", Some("by the sea")),
            Folder::album("x", "x", None),
            Folder::Archive,
            Folder::Trash,
            Folder::FailedVideos,
            Folder::LockedFolder,
            Folder::Other("a/b".into()),
        ];
        let rules = [
            MatchRule::Legacy { counter: None },
            MatchRule::SupplementalClipped { counter: Some(0) },
            MatchRule::SupplementalUnclipped { counter: None },
            MatchRule::SidecarWithoutExtension { counter: Some(1) },
            MatchRule::CounterInTitle { counter: 4 },
            MatchRule::TitleWithoutExtension { counter: None },
            MatchRule::EditedVariant,
            MatchRule::EditedVariantInferred {
                suffix: "-redigeret".into(),
            },
            MatchRule::LiveCompanion,
            MatchRule::TitleOnly,
            MatchRule::None {
                reason: NONE_REASONS[1],
            },
            MatchRule::Ambiguous {
                candidates: vec!["a.json".to_owned(), String::new()].into(),
            },
        ];
        let variants = [
            Variant::Edited { original: Some(1) },
            Variant::Edited { original: None },
            Variant::LiveCompanion { still: Some(0) },
            Variant::LiveCompanion { still: None },
            Variant::Creation,
        ];
        let mut out = vec![base.clone()];
        for (k, f) in folders.into_iter().enumerate() {
            out.push(MediaEntry {
                folder: f,
                zip: None,
                sidecar: None,
                duplicate_of: Some(k as u32),
                ..base.clone()
            });
        }
        for r in rules {
            out.push(MediaEntry {
                matched_by: r,
                ..base.clone()
            });
        }
        for v in variants {
            out.push(MediaEntry {
                variant: v,
                path: "".into(),
                ..base.clone()
            });
        }
        for (i, m) in out.iter_mut().enumerate() {
            m.id = i as u32;
        }
        out
    }

    fn scratch() -> (std::fs::File, std::fs::File) {
        (tempfile::tempfile().unwrap(), tempfile::tempfile().unwrap())
    }

    /// Every field comes back as written, from memory and from a file: in the order written,
    /// and by id in any order, across several windows of the file.
    #[test]
    fn what_is_written_is_read_back() {
        let one = samples();
        let n = one.len() * 400;
        let want: Vec<MediaEntry> = (0..n)
            .map(|i| MediaEntry {
                id: i as u32,
                ..one[i % one.len()].clone()
            })
            .collect();
        for files in [None, Some(scratch())] {
            let mut store = Media::new(files, n).unwrap();
            let mut buf = Vec::new();
            // Written in an order of their own, as the scan writes folder by folder.
            let order: Vec<usize> = (0..n).map(|k| (k * 7919) % n).collect();
            for &i in &order {
                store.push(&want[i], &mut buf).unwrap();
            }
            store.seal().unwrap();
            assert_eq!(store.len(), n);
            let read: Vec<MediaEntry> = store.in_record_order().map(Result::unwrap).collect();
            let written: Vec<MediaEntry> = order.iter().map(|&i| want[i].clone()).collect();
            assert_eq!(read, written);
            for i in (0..n).rev().chain(0..n).step_by(11) {
                assert_eq!(store.get(i).unwrap(), want[i], "{i}");
            }
            assert_eq!(store.to_vec().unwrap(), want);
        }
    }

    /// A store that does not hold what was written is an error, not a wrong entry; an entry is
    /// written once.
    #[test]
    fn a_damaged_store_is_an_error() {
        let want = samples();
        let mut store = Media::new(Some(scratch()), want.len()).unwrap();
        let mut buf = Vec::new();
        for m in &want {
            store.push(m, &mut buf).unwrap();
        }
        assert!(store.push(&want[0], &mut buf).is_err(), "written twice");
        store.seal().unwrap();
        let last = want.len() - 1;
        let cut = store.at.get(last).unwrap() - 1 + 6;
        store.records.damage(cut);
        let err = store.get(last).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof, "{err}");
        assert!(store.get(last).is_err(), "a failed read left no window");
        let read: Vec<_> = store.in_record_order().collect();
        assert!(read[last].is_err());
        assert!(read[..last].iter().all(Result::is_ok));
        assert!(store.get(want.len()).is_err());

        // A record whose bytes changed.
        let mut mem = Media::new(None, 1).unwrap();
        mem.push(&want[0], &mut buf).unwrap();
        mem.seal().unwrap();
        let Places::Memory(at) = &mut mem.at else {
            unreachable!("in memory")
        };
        at[0] += 1;
        let err = mem.get(0).unwrap_err();
        assert!(
            matches!(
                err.kind(),
                std::io::ErrorKind::InvalidData | std::io::ErrorKind::UnexpectedEof
            ),
            "{err}"
        );
    }
}
