//! The catalog's sidecars, written once as the scan matches each folder and read again by id.
//!
//! Why not held: a boxed [`SidecarRef`] and its names cost some 270 bytes per matched media
//! entry (a 112-byte box and the allocation of its names), the largest part of the catalog
//! from the matching on, and nothing reads them while the scan runs once their folder is
//! matched. Written to a spill file the caller gives ([`crate::Spill::Files`]: the importer puts it
//! under the repository's `.photobak/tmp`, so this crate still creates no file of its own), the
//! catalog keeps the place in the file of one sidecar in [`STRIDE`] (its id is in its media
//! entries' records, [`crate::Media`]): the records are framed by their length and ids are
//! given in the order they are written, so a sidecar is found in its group, read whole from
//! the kept place before it (the read-ahead window mostly holds it already).
//! The place of every sidecar, 8 bytes each, was most of what the scan still held per entry
//! of a large export with the media entries' (BENCHMARKS.md, session 16); with the sidecars
//! out of memory the heap from the matching to the record pass had fallen from 65–69 MB to
//! 35–49 MB at 100,114 items (session 11). [`crate::Spill::Memory`] (what [`crate::scan`]
//! uses) keeps the same encoding in memory, some 170 bytes per sidecar.
//!
//! A sidecar shared by several media entries (an edited variant's is its original's, a
//! same-path duplicate's is its first copy's) is written once and named by one [`SidecarId`]:
//! as boxes each of them held a copy.
//!
//! The text of a sidecar read from a tar part (which can only be streamed, so its JSON text is
//! kept: it cannot be read again where it is) is in its record. Held in memory instead, shared
//! between byte-identical sidecars, the texts were 69 MB of the 85 MB heap peak of a first
//! import of a 100,114-item tgz export (heaptrack, BENCHMARKS.md session 19).

use std::sync::Arc;

use crate::json::{RawJson, RawKind, SidecarRef};
use crate::parts::EntryAt;
use crate::records::{Fields, Records, framed, put_text, put_zip};

/// A sidecar of the catalog ([`crate::MediaEntry::sidecar`]; [`crate::Catalog::sidecar`]
/// reads it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SidecarId(u32);

impl SidecarId {
    /// The id as a media entry's record keeps it ([`crate::Media`]).
    pub(crate) fn raw(self) -> u32 {
        self.0
    }

    pub(crate) fn from_raw(raw: u32) -> SidecarId {
        SidecarId(raw)
    }
}

/// Bytes read at a time from a spill file: the readers take the sidecars in about the order
/// they were written (folder by folder), so one read serves the next few hundred.
const READ_AHEAD: usize = 64 << 10;

/// One sidecar's place kept in this many: 0.25 bytes per sidecar, and a sidecar is read with
/// the others of its group (some 7 KiB), in the window already read but for one read a
/// window.
const STRIDE: usize = 32;

/// A group longer than this is read a record at a time (a window as large as the group would
/// be held after: 32 sidecars of titles of megabytes are possible in a hostile export).
const LARGE_GROUP: usize = 4 * READ_AHEAD;

/// The store (see the module docs).
#[derive(Debug)]
pub struct Sidecars {
    /// Where sidecars `0, STRIDE, 2 * STRIDE …` start.
    every: Vec<u64>,
    /// How many sidecars are kept.
    n: usize,
    records: Records,
}

impl Sidecars {
    /// A store in the spill's sidecar file, or in memory.
    pub(crate) fn new(spill: Option<std::fs::File>) -> Sidecars {
        Sidecars {
            every: Vec::new(),
            n: 0,
            records: Records::new(spill),
        }
    }

    /// How many sidecars are kept.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Keeps `s`.
    ///
    /// # Errors
    /// When the spill file cannot be written.
    pub(crate) fn push(&mut self, s: &SidecarRef) -> std::io::Result<SidecarId> {
        let id = u32::try_from(self.n)
            .map(SidecarId)
            .map_err(|_| std::io::Error::other("more than 4 billion sidecars"))?;
        let text = s.raw.held().map_or(0, str::len);
        let mut buf = Vec::with_capacity(68 + s.names_len() + text);
        framed(&mut buf, |out| encode(s, out));
        let start = self.records.append(&buf)?;
        if self.n.is_multiple_of(STRIDE) {
            self.every.push(start);
        }
        self.n += 1;
        Ok(id)
    }

    /// Done writing: what is buffered goes to the file, and what only the writing needed is
    /// released.
    ///
    /// # Errors
    /// When the spill file cannot be written.
    pub(crate) fn seal(&mut self) -> std::io::Result<()> {
        self.every.shrink_to_fit();
        self.records.seal()
    }

    /// The sidecar `id` names.
    ///
    /// # Errors
    /// When the spill file cannot be read back, or what it gives back is not what was written
    /// (`InvalidData`).
    pub fn get(&self, id: SidecarId) -> std::io::Result<SidecarRef> {
        let i = id.0 as usize;
        if i >= self.n {
            return Err(std::io::Error::other("a sidecar id of another catalog"));
        }
        // The whole group of `STRIDE` records from the kept place, read as one: its frames
        // must tile it exactly (a record that does not end where the next begins is damage,
        // never another sidecar), and one window serves it whichever way the reader goes.
        let g = i / STRIDE;
        let from = self.every[g];
        let to = self.every.get(g + 1).copied().unwrap_or(self.records.end());
        let span = usize::try_from(to - from).map_err(std::io::Error::other)?;
        let records = (self.n - g * STRIDE).min(STRIDE);
        if span > LARGE_GROUP {
            return self.get_in_large(from, to, records, i % STRIDE);
        }
        self.records
            .with(from, span, READ_AHEAD, |group| {
                let mut rest = group;
                let mut wanted = None;
                for k in 0..records {
                    let len = rest
                        .get(..4)
                        .map(|b| u32::from_le_bytes(b.try_into().expect("four bytes")) as usize)
                        .filter(|&len| len <= rest.len() - 4);
                    let Some(len) = len else { break };
                    if k == i % STRIDE {
                        wanted = Some(&rest[4..4 + len]);
                    }
                    rest = &rest[4 + len..];
                    if k + 1 == records && rest.is_empty() {
                        return wanted.map(|bytes| self.decode(bytes));
                    }
                }
                None
            })?
            .unwrap_or_else(|| Err(changed()))
    }

    /// Record `k` of the `records` that tile `from..to`, a group too large to read as one
    /// (sidecars of huge titles): frame by frame, with the same checks.
    fn get_in_large(
        &self,
        from: u64,
        to: u64,
        records: usize,
        k: usize,
    ) -> std::io::Result<SidecarRef> {
        let mut at = from;
        let mut wanted = None;
        for j in 0..records {
            let len = self.records.with(at, 4, READ_AHEAD, |b| {
                u64::from(u32::from_le_bytes(b.try_into().expect("four bytes")))
            })?;
            if at + 4 + len > to {
                return Err(changed());
            }
            if j == k {
                wanted = Some((at + 4, len as usize));
            }
            at += 4 + len;
        }
        match wanted {
            Some((start, len)) if at == to => {
                self.records
                    .with(start, len, READ_AHEAD, |bytes| self.decode(bytes))?
            }
            _ => Err(changed()),
        }
    }

    fn decode(&self, bytes: &[u8]) -> std::io::Result<SidecarRef> {
        decode(bytes).ok_or_else(changed)
    }
}

fn changed() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        "the catalog's spill file does not hold what was written to it",
    )
}

/// Reads of a file store so far (tests).
#[cfg(test)]
pub(crate) fn file_reads(s: &Sidecars) -> usize {
    s.records.reads()
}

const TAG_TEXT: u8 = 0;
const TAG_ZIP: u8 = 1;
const TAG_FILE: u8 = 3;

/// `json_part`, the capture time, where the JSON is (or its text), then the three names, each
/// with its length. Little-endian, fixed widths: the record is read whole, so nothing is
/// gained by varints but code.
pub(crate) fn encode(s: &SidecarRef, out: &mut Vec<u8>) {
    out.extend_from_slice(&(s.json_part as u64).to_le_bytes());
    match s.photo_taken_time {
        Some(t) => {
            out.push(1);
            out.extend_from_slice(&t.to_le_bytes());
        }
        None => out.push(0),
    }
    match &s.raw.0 {
        RawKind::Text(t) => {
            out.push(TAG_TEXT);
            put_text(out, Some(t));
        }
        RawKind::At { at, size } => {
            match at {
                EntryAt::Zip(z) => {
                    out.push(TAG_ZIP);
                    put_zip(out, z);
                }
                EntryAt::File => out.push(TAG_FILE),
            }
            out.extend_from_slice(&size.to_le_bytes());
        }
    }
    put_text(out, Some(s.json_path()));
    put_text(out, Some(s.title()));
    put_text(out, s.photo_key());
}

pub(crate) fn decode(b: &[u8]) -> Option<SidecarRef> {
    let mut b = Fields(b);
    let json_part = usize::try_from(b.u64()?).ok()?;
    let time = match b.u8()? {
        0 => None,
        _ => Some(b.u64()? as i64),
    };
    let raw = match b.u8()? {
        TAG_TEXT => RawJson(RawKind::Text(Arc::from(b.text()??))),
        TAG_ZIP => {
            let at = EntryAt::Zip(b.zip()?);
            RawJson(RawKind::At { at, size: b.u64()? })
        }
        TAG_FILE => RawJson(RawKind::At {
            at: EntryAt::File,
            size: b.u64()?,
        }),
        _ => return None,
    };
    let json_path = b.text()??;
    let title = b.text()??;
    let key = b.text()?;
    b.is_empty()
        .then(|| SidecarRef::with_key(json_path, json_part, title, time, key, raw))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> Vec<SidecarRef> {
        let zip = |deflated| {
            RawJson(RawKind::At {
                at: EntryAt::Zip(crate::parts::ZipLoc {
                    header_start: 1 << 40,
                    compressed: 12_345,
                    crc32: 0xdead_beef,
                    deflated,
                }),
                size: 70_000,
            })
        };
        vec![
            SidecarRef::with_key(
                "Takeout/Google Photos/Photos from 2020/IMG_1.jpg.json",
                3,
                "IMG_1.jpg",
                Some(-86_400),
                Some("AF1QipXYZ"),
                zip(true),
            ),
            SidecarRef::with_key("a/ü.json", 0, "", None, None, zip(false)),
            SidecarRef::with_key(
                "x.json",
                1,
                "x",
                Some(0),
                Some(""),
                RawJson(RawKind::At {
                    at: EntryAt::File,
                    size: 9,
                }),
            ),
            SidecarRef::with_key("t.json", 2, "t", None, None, RawJson::from_text("{}")),
            SidecarRef::with_key("u.json", 2, "u", None, None, RawJson::from_text("{}")),
            SidecarRef::with_key(
                "v.json",
                2,
                "v",
                None,
                None,
                RawJson::from_text("{\"a\":1}"),
            ),
        ]
    }

    /// Every field comes back as written, from memory and from a file, read in any order
    /// (the file's read-ahead window moving back and forth), a tar part's text with it.
    #[test]
    fn what_is_written_is_read_back() {
        for spill in [None, Some(tempfile::tempfile().unwrap())] {
            let mut store = Sidecars::new(spill);
            let want = samples();
            // Enough records that the file is read in several windows.
            let n = 3 * READ_AHEAD / 40;
            let mut ids = Vec::new();
            for k in 0..n {
                ids.push(store.push(&want[k % want.len()]).unwrap());
            }
            store.seal().unwrap();
            assert_eq!(store.len(), n);
            for k in (0..n).rev().chain(0..n).step_by(7) {
                assert_eq!(store.get(ids[k]).unwrap(), want[k % want.len()], "{k}");
            }
        }
    }

    /// Sidecars of long names read against the order they were written take a read a
    /// window, not one a group: a group is read whole from its kept place.
    #[test]
    fn long_sidecars_read_backwards_take_few_reads() {
        let long = |k: usize| {
            SidecarRef::with_key(
                &format!(
                    "Takeout/Google Photos/{}/IMG_{k:06}.jpg.supplemental-metadata.json",
                    "Album with a long name ".repeat(14)
                ),
                0,
                &format!("IMG_{k:06}.jpg"),
                Some(k as i64),
                None,
                RawJson(RawKind::At {
                    at: EntryAt::File,
                    size: 9,
                }),
            )
        };
        let mut store = Sidecars::new(Some(tempfile::tempfile().unwrap()));
        let n = 2000;
        let ids: Vec<SidecarId> = (0..n).map(|k| store.push(&long(k)).unwrap()).collect();
        store.seal().unwrap();
        let size = store.records.end() as usize;
        assert!(size / n > 400, "records of {} bytes", size / n);
        for k in (0..n).rev() {
            assert_eq!(store.get(ids[k]).unwrap(), long(k));
        }
        let reads = file_reads(&store);
        assert!(
            reads <= 2 + size / (READ_AHEAD / 2),
            "{reads} reads of {size} bytes"
        );
    }

    /// A group's records must tile it: bytes left after its last record are damage, whichever
    /// of its sidecars is read, in a group read as one and in one read frame by frame; groups
    /// that end exactly at the store's end (a multiple of 32 sidecars) read whole.
    #[cfg(unix)]
    #[test]
    fn a_group_that_its_records_do_not_tile_is_an_error() {
        use std::os::unix::fs::FileExt;
        let title = |k: usize, long: bool| {
            let t = format!("IMG_{k}.jpg");
            if long { t.repeat(3000) } else { t }
        };
        let sidecar = |k: usize, long: bool| {
            SidecarRef::with_key(
                "a.json",
                0,
                &title(k, long),
                None,
                None,
                RawJson(RawKind::At {
                    at: EntryAt::File,
                    size: 1,
                }),
            )
        };
        let make = |long: bool| {
            let file = tempfile::tempfile().unwrap();
            let mut store = Sidecars::new(Some(file.try_clone().unwrap()));
            let ids: Vec<SidecarId> = (0..2 * STRIDE)
                .map(|k| store.push(&sidecar(k, long)).unwrap())
                .collect();
            store.seal().unwrap();
            assert_eq!(store.every.len(), 2);
            (file, store, ids)
        };
        for long in [false, true] {
            let (_, store, ids) = make(long);
            let from = store.every[1];
            assert_eq!(
                (store.records.end() - from > LARGE_GROUP as u64),
                long,
                "the group read frame by frame or as one"
            );
            for k in (0..2 * STRIDE).rev() {
                assert_eq!(store.get(ids[k]).unwrap(), sidecar(k, long), "{k}");
            }
            // The last record's length made 8 bytes shorter: 8 bytes left after it.
            let (file, store, ids) = make(long);
            let mut at = from;
            for _ in 0..STRIDE - 1 {
                let mut len = [0; 4];
                file.read_exact_at(&mut len, at).unwrap();
                at += 4 + u64::from(u32::from_le_bytes(len));
            }
            let mut len = [0; 4];
            file.read_exact_at(&mut len, at).unwrap();
            let len = u32::from_le_bytes(len);
            file.write_all_at(&(len - 8).to_le_bytes(), at).unwrap();
            for k in [STRIDE, 2 * STRIDE - 1] {
                let err = store.get(ids[k]).unwrap_err();
                assert_eq!(err.kind(), std::io::ErrorKind::InvalidData, "{k}: {err}");
            }
            assert_eq!(
                store.get(ids[3]).unwrap(),
                sidecar(3, long),
                "another group"
            );
        }
    }

    /// A spill file that does not hold what was written is an error, not a wrong sidecar.
    #[test]
    fn a_changed_spill_file_is_an_error() {
        let file = tempfile::tempfile().unwrap();
        let mut store = Sidecars::new(Some(file.try_clone().unwrap()));
        let id = store.push(&samples()[0]).unwrap();
        store.seal().unwrap();
        file.set_len(10).unwrap();
        let err = store.get(id).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof, "{err}");
        // Again: a failed read left no window to serve it from.
        assert!(store.get(id).is_err());
        let mut mem = Sidecars::new(None);
        let id = mem.push(&samples()[0]).unwrap();
        mem.seal().unwrap();
        let cut = mem.records.end() - 1;
        mem.records.damage(cut);
        let err = mem.get(id).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData, "{err}");
        // A record whose length says less than was written: what is left is no sidecar (nor
        // the start of the next one).
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileExt;
            let file = tempfile::tempfile().unwrap();
            let mut store = Sidecars::new(Some(file.try_clone().unwrap()));
            let id = store.push(&samples()[0]).unwrap();
            let next = store.push(&samples()[1]).unwrap();
            store.seal().unwrap();
            let mut len = [0; 4];
            file.read_exact_at(&mut len, 0).unwrap();
            let len = u32::from_le_bytes(len);
            file.write_all_at(&(len - 8).to_le_bytes(), 0).unwrap();
            for id in [id, next] {
                let err = store.get(id).unwrap_err();
                assert_eq!(err.kind(), std::io::ErrorKind::InvalidData, "{err}");
            }
        }
        assert!(mem.get(SidecarId(5)).is_err());
    }
}
