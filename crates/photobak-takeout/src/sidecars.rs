//! The catalog's sidecars, written once as the scan matches each folder and read again by id.
//!
//! Why not held: a boxed [`SidecarRef`] and its names cost some 270 bytes per matched media
//! entry (a 112-byte box and the allocation of its names), the largest part of the catalog
//! from the matching on, and nothing reads them while the scan runs once their folder is
//! matched. Written to a spill file the caller gives ([`Spill::File`]: the importer puts it
//! under the repository's `.photobak/tmp`, so this crate still creates no file of its own), the
//! catalog keeps 16 bytes per sidecar (its place in the file, and the id in its media entry):
//! at 100,114 items the heap from the matching to the record pass fell from 65–69 MB to
//! 35–49 MB (heaptrack, BENCHMARKS.md, session 11). [`Spill::Memory`] (what [`crate::scan`]
//! uses) keeps the same encoding in memory, some 170 bytes per sidecar.
//!
//! A sidecar shared by several media entries (an edited variant's is its original's, a
//! same-path duplicate's is its first copy's) is written once and named by one [`SidecarId`]:
//! as boxes each of them held a copy.
//!
//! The texts of sidecars read from tar parts (which can only be streamed, so their JSON text is
//! held) stay in memory, shared between byte-identical sidecars as before.

use std::collections::HashMap;
use std::io::Write;
#[cfg(not(unix))]
use std::io::{Read, Seek, SeekFrom};
use std::sync::{Arc, Mutex};

use crate::json::{RawJson, RawKind, SidecarRef};
use crate::parts::{EntryAt, ZipLoc};

/// Where a catalog's sidecars are kept between the scan and their readers.
#[derive(Debug)]
pub enum Spill {
    /// In memory, encoded.
    Memory,
    /// In this file, which the caller created for it (empty; it is written from its start and
    /// read back; an unnamed temporary file is best, as nothing else should see it).
    File(std::fs::File),
}

/// A sidecar of the catalog ([`crate::MediaEntry::sidecar`]; [`crate::Catalog::sidecar`]
/// reads it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SidecarId(u32);

/// Bytes read at a time from a spill file: the readers take the sidecars in about the order
/// they were written (folder by folder), so one read serves the next few hundred.
const READ_AHEAD: usize = 64 << 10;

/// Bytes written at a time to a spill file.
const WRITE_BUFFER: usize = 64 << 10;

/// The store (see the module docs).
#[derive(Debug)]
pub struct Sidecars {
    /// Where each sidecar starts; the next one's start (or `end`) is where it ends.
    starts: Vec<u64>,
    end: u64,
    backing: Backing,
    /// The held texts (tar parts), by index.
    texts: Vec<Arc<str>>,
    /// Held texts by the hash of their bytes, while sidecars are written: byte-identical
    /// sidecars (a photo's copies in its year and album folders) share one text.
    text_by_hash: HashMap<u64, u32>,
}

#[derive(Debug)]
enum Backing {
    Memory(Vec<u8>),
    File(Mutex<FileBacking>),
}

struct FileBacking {
    file: std::fs::File,
    /// Written, not yet in the file.
    pending: Vec<u8>,
    /// The last bytes read, from `at`.
    at: u64,
    read: Vec<u8>,
    /// Reads of the file so far (a test checks that the import's order is served by few).
    reads: usize,
}

impl std::fmt::Debug for FileBacking {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileBacking")
            .field("file", &self.file)
            .field("pending", &self.pending.len())
            .field("at", &self.at)
            .field("read", &self.read.len())
            .finish()
    }
}

impl FileBacking {
    /// The `len` bytes at `start` of a store of `end` bytes, from the last window read when
    /// they are in it, else from a new window read there. Only after [`Sidecars::seal`]:
    /// nothing is pending then.
    fn window(&mut self, start: u64, len: usize, end: u64) -> std::io::Result<&[u8]> {
        debug_assert!(self.pending.is_empty(), "read before the store was sealed");
        let cached = start >= self.at && start + len as u64 <= self.at + self.read.len() as u64;
        if !cached {
            // Forgotten first: a read that fails leaves no window, not a wrong one.
            self.read.clear();
            let want = len.max(READ_AHEAD).min((end - start) as usize);
            let mut buf = std::mem::take(&mut self.read);
            buf.resize(want, 0);
            read_at(&mut self.file, &mut buf, start)?;
            self.reads += 1;
            self.read = buf;
            self.at = start;
        }
        let from = (start - self.at) as usize;
        Ok(&self.read[from..from + len])
    }
}

impl Sidecars {
    pub(crate) fn new(spill: Spill) -> Sidecars {
        let backing = match spill {
            Spill::Memory => Backing::Memory(Vec::new()),
            Spill::File(file) => Backing::File(Mutex::new(FileBacking {
                file,
                pending: Vec::with_capacity(WRITE_BUFFER),
                at: 0,
                read: Vec::new(),
                reads: 0,
            })),
        };
        Sidecars {
            starts: Vec::new(),
            end: 0,
            backing,
            texts: Vec::new(),
            text_by_hash: HashMap::new(),
        }
    }

    /// How many sidecars are kept.
    pub fn len(&self) -> usize {
        self.starts.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.starts.is_empty()
    }

    /// Keeps `s`; `hash` is the hash of its JSON's bytes (shares a held text with an identical
    /// sidecar's).
    ///
    /// # Errors
    /// When the spill file cannot be written.
    pub(crate) fn push(&mut self, s: &SidecarRef, hash: u64) -> std::io::Result<SidecarId> {
        let id = u32::try_from(self.starts.len())
            .map(SidecarId)
            .map_err(|_| std::io::Error::other("more than 4 billion sidecars"))?;
        let text = match &s.raw.0 {
            RawKind::Text(t) => Some(self.text_index(t, hash)),
            RawKind::At { .. } => None,
        };
        let mut buf = Vec::with_capacity(64 + s.names_len());
        encode(s, text, &mut buf);
        match &mut self.backing {
            Backing::Memory(v) => v.extend_from_slice(&buf),
            Backing::File(f) => {
                let f = writing(f);
                f.pending.extend_from_slice(&buf);
                if f.pending.len() >= WRITE_BUFFER {
                    f.file.write_all(&f.pending)?;
                    f.pending.clear();
                }
            }
        }
        self.starts.push(self.end);
        self.end += buf.len() as u64;
        Ok(id)
    }

    fn text_index(&mut self, text: &Arc<str>, hash: u64) -> u32 {
        if let Some(&i) = self.text_by_hash.get(&hash)
            && *self.texts[i as usize] == **text
        {
            return i;
        }
        let i = self.texts.len() as u32;
        self.texts.push(text.clone());
        self.text_by_hash.entry(hash).or_insert(i);
        i
    }

    /// Done writing: what is buffered goes to the file, and what only the writing needed is
    /// released.
    ///
    /// # Errors
    /// When the spill file cannot be written.
    pub(crate) fn seal(&mut self) -> std::io::Result<()> {
        self.text_by_hash = HashMap::new();
        self.starts.shrink_to_fit();
        self.texts.shrink_to_fit();
        match &mut self.backing {
            Backing::Memory(v) => v.shrink_to_fit(),
            Backing::File(f) => {
                let f = writing(f);
                f.file.write_all(&f.pending)?;
                f.pending = Vec::new();
                f.file.flush()?;
            }
        }
        Ok(())
    }

    /// The sidecar `id` names.
    ///
    /// # Errors
    /// When the spill file cannot be read back, or what it gives back is not what was written
    /// (`InvalidData`).
    pub fn get(&self, id: SidecarId) -> std::io::Result<SidecarRef> {
        let i = id.0 as usize;
        let start = *self
            .starts
            .get(i)
            .ok_or_else(|| std::io::Error::other("a sidecar id of another catalog"))?;
        let end = self.starts.get(i + 1).copied().unwrap_or(self.end);
        let len = usize::try_from(end - start).map_err(std::io::Error::other)?;
        match &self.backing {
            Backing::Memory(v) => self.decode(&v[start as usize..end as usize]),
            Backing::File(f) => {
                let mut f = f.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                let bytes = f.window(start, len, self.end)?;
                self.decode(bytes)
            }
        }
    }

    fn decode(&self, bytes: &[u8]) -> std::io::Result<SidecarRef> {
        decode(bytes, &self.texts).ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "the catalog's spill file does not hold what was written to it",
            )
        })
    }
}

/// The file backing while writing (`&mut`: no lock is taken; a reader that panicked leaves
/// nothing half-done that writing could trip on).
fn writing(f: &mut Mutex<FileBacking>) -> &mut FileBacking {
    f.get_mut()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Reads of a file store so far (tests).
#[cfg(test)]
pub(crate) fn file_reads(s: &Sidecars) -> usize {
    match &s.backing {
        Backing::File(f) => f.lock().map_or(0, |f| f.reads),
        Backing::Memory(_) => 0,
    }
}

/// Fills `buf` from `file` at `offset`, leaving the file's position where writes append.
#[cfg(unix)]
fn read_at(file: &mut std::fs::File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(not(unix))]
fn read_at(file: &mut std::fs::File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    file.seek(SeekFrom::Start(offset))?;
    file.read_exact(buf)?;
    file.seek(SeekFrom::End(0)).map(drop)
}

const TAG_TEXT: u8 = 0;
const TAG_ZIP: u8 = 1;
const TAG_ZIP_DEFLATED: u8 = 2;
const TAG_FILE: u8 = 3;

/// `json_part`, the capture time, where the JSON is, then the three names, each with its
/// length. Little-endian, fixed widths: the record is read whole, so nothing is gained by
/// varints but code.
fn encode(s: &SidecarRef, text: Option<u32>, out: &mut Vec<u8>) {
    out.extend_from_slice(&(s.json_part as u64).to_le_bytes());
    match s.photo_taken_time {
        Some(t) => {
            out.push(1);
            out.extend_from_slice(&t.to_le_bytes());
        }
        None => out.push(0),
    }
    match (&s.raw.0, text) {
        (RawKind::Text(_), Some(i)) => {
            out.push(TAG_TEXT);
            out.extend_from_slice(&i.to_le_bytes());
        }
        (RawKind::At { at, size }, _) => {
            match at {
                EntryAt::Zip(z) => {
                    out.push(if z.deflated {
                        TAG_ZIP_DEFLATED
                    } else {
                        TAG_ZIP
                    });
                    out.extend_from_slice(&z.header_start.to_le_bytes());
                    out.extend_from_slice(&z.compressed.to_le_bytes());
                    out.extend_from_slice(&z.crc32.to_le_bytes());
                }
                EntryAt::File => out.push(TAG_FILE),
            }
            out.extend_from_slice(&size.to_le_bytes());
        }
        (RawKind::Text(_), None) => unreachable!("a held text has its index"),
    }
    let mut name = |n: Option<&str>| match n {
        Some(n) => {
            out.extend_from_slice(&(n.len() as u32).to_le_bytes());
            out.extend_from_slice(n.as_bytes());
        }
        None => out.extend_from_slice(&u32::MAX.to_le_bytes()),
    };
    name(Some(s.json_path()));
    name(Some(s.title()));
    name(s.photo_key());
}

fn decode(mut b: &[u8], texts: &[Arc<str>]) -> Option<SidecarRef> {
    fn take<'a>(b: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
        if b.len() < n {
            return None;
        }
        let (head, rest) = b.split_at(n);
        *b = rest;
        Some(head)
    }
    fn u64_(b: &mut &[u8]) -> Option<u64> {
        Some(u64::from_le_bytes(take(b, 8)?.try_into().ok()?))
    }
    fn u32_(b: &mut &[u8]) -> Option<u32> {
        Some(u32::from_le_bytes(take(b, 4)?.try_into().ok()?))
    }
    fn name<'a>(b: &mut &'a [u8]) -> Option<Option<&'a str>> {
        let n = u32_(b)?;
        if n == u32::MAX {
            return Some(None);
        }
        std::str::from_utf8(take(b, n as usize)?).ok().map(Some)
    }
    let json_part = usize::try_from(u64_(&mut b)?).ok()?;
    let time = match take(&mut b, 1)?[0] {
        0 => None,
        _ => Some(u64_(&mut b)? as i64),
    };
    let raw = match take(&mut b, 1)?[0] {
        TAG_TEXT => RawJson(RawKind::Text(texts.get(u32_(&mut b)? as usize)?.clone())),
        tag @ (TAG_ZIP | TAG_ZIP_DEFLATED) => {
            let header_start = u64_(&mut b)?;
            let compressed = u64_(&mut b)?;
            let crc32 = u32_(&mut b)?;
            let at = EntryAt::Zip(ZipLoc {
                header_start,
                compressed,
                crc32,
                deflated: tag == TAG_ZIP_DEFLATED,
            });
            RawJson(RawKind::At {
                at,
                size: u64_(&mut b)?,
            })
        }
        TAG_FILE => RawJson(RawKind::At {
            at: EntryAt::File,
            size: u64_(&mut b)?,
        }),
        _ => return None,
    };
    let json_path = name(&mut b)??;
    let title = name(&mut b)??;
    let key = name(&mut b)?;
    b.is_empty()
        .then(|| SidecarRef::with_key(json_path, json_part, title, time, key, raw))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> Vec<SidecarRef> {
        let zip = |deflated| {
            RawJson(RawKind::At {
                at: EntryAt::Zip(ZipLoc {
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
    /// (the file's read-ahead window moving back and forth), and held texts are shared.
    #[test]
    fn what_is_written_is_read_back() {
        for spill in [Spill::Memory, Spill::File(tempfile::tempfile().unwrap())] {
            let mut store = Sidecars::new(spill);
            let want = samples();
            // Enough records that the file is read in several windows.
            let n = 3 * READ_AHEAD / 40;
            let mut ids = Vec::new();
            for k in 0..n {
                let s = &want[k % want.len()];
                let hash = crate::matcher::content_hash(s.raw.held().unwrap_or("").as_bytes());
                ids.push(store.push(s, hash).unwrap());
            }
            store.seal().unwrap();
            assert_eq!(store.len(), n);
            assert_eq!(store.texts.len(), 2, "identical texts are shared");
            for k in (0..n).rev().chain(0..n).step_by(7) {
                assert_eq!(store.get(ids[k]).unwrap(), want[k % want.len()], "{k}");
            }
        }
    }

    /// A spill file that does not hold what was written is an error, not a wrong sidecar.
    #[test]
    fn a_changed_spill_file_is_an_error() {
        let file = tempfile::tempfile().unwrap();
        let mut store = Sidecars::new(Spill::File(file.try_clone().unwrap()));
        let id = store.push(&samples()[0], 1).unwrap();
        store.seal().unwrap();
        file.set_len(10).unwrap();
        let err = store.get(id).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof, "{err}");
        // Again: a failed read left no window to serve it from.
        assert!(store.get(id).is_err());
        let mut mem = Sidecars::new(Spill::Memory);
        let id = mem.push(&samples()[0], 1).unwrap();
        mem.seal().unwrap();
        if let Backing::Memory(v) = &mut mem.backing {
            v.truncate(v.len() - 1);
        }
        mem.end -= 1;
        let err = mem.get(id).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData, "{err}");
        assert!(mem.get(SidecarId(5)).is_err());
    }
}
