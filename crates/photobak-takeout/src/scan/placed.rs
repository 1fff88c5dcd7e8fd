//! The media entries as placed, kept out of memory until their folder is matched.
//!
//! Every media entry of an export is placed before the first folder is matched (a folder may
//! span parts), so what the placement keeps per entry is held for all of them at once, at the
//! scan's peak: a [`Placed`] with its name in memory was some 100 bytes per media entry, 27 MB
//! of a 200,000-item export (BENCHMARKS.md, session 13). Each is written instead to a record
//! file (the scan's `placement` scratch file, [`crate::Spill::Files`]) naming the record its folder
//! placed before it, and a folder keeps only where its last one is ([`Chain`]): its entries
//! are read back, newest first, when it is matched.
//!
//! A folder's JSON entries wait the same way, in a chain of their own ([`PlacedJson`]): held
//! in their folders, every listed JSON entry of the parts placed so far was in memory at once
//! (some 120 bytes each, one or two per item) once a part's listing no longer was.

use crate::parts::{EntryAt, Held, RawEntry, ZipLoc};
use crate::records::{Fields, Records, framed, put_text, put_zip};

/// A media entry as the placement keeps it until its folder is matched: what its
/// [`crate::MediaEntry`] is made of then, its path as its folder's (an index in the group's
/// folder paths) and its name.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Placed {
    pub(super) id: u32,
    pub(super) part: u32,
    pub(super) ordinal: u32,
    pub(super) folder: u32,
    pub(super) size: u64,
    pub(super) zip: Option<ZipLoc>,
    pub(super) duplicate_of: Option<u32>,
    pub(super) name: Box<str>,
}

/// A JSON entry as the placement keeps it until its folder is matched: its part, whether the
/// same-path rule leaves it out (a later copy of a path), and its listed entry (where it is
/// in the part, or a tar part's contents).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct PlacedJson {
    pub(super) part: u32,
    pub(super) skip: bool,
    pub(super) entry: RawEntry,
}

/// What a record holds, its first byte after the one before it: a record of the other kind
/// where a chain leads is a damaged file, not another entry.
const MEDIA: u8 = b'M';
const JSON: u8 = b'J';

/// Where a folder's placed entries are: the last one's record, which names the one before.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Chain {
    last: Option<u64>,
    count: u32,
}

impl Chain {
    /// How many entries it holds.
    pub(super) fn len(&self) -> usize {
        self.count as usize
    }
}

/// Bytes read at once when a folder's entries are read back (they were mostly written
/// together: a zip part lists a folder's files together).
const READ_AHEAD: usize = 64 << 10;

/// No record before this one.
const NONE: u64 = u64::MAX;

/// The placed entries of every folder.
pub(super) struct PlacedStore {
    records: Records,
    buf: Vec<u8>,
}

impl PlacedStore {
    /// In `file`, or in memory.
    pub(super) fn new(file: Option<std::fs::File>) -> PlacedStore {
        PlacedStore {
            records: Records::new(file),
            buf: Vec::new(),
        }
    }

    /// Adds `p` to the folder whose entries `chain` holds.
    ///
    /// # Errors
    /// When the file cannot be written.
    pub(super) fn push(&mut self, chain: &mut Chain, p: &Placed) -> std::io::Result<()> {
        self.append(chain, MEDIA, |out| {
            for n in [p.id, p.part, p.ordinal, p.folder] {
                out.extend_from_slice(&n.to_le_bytes());
            }
            out.extend_from_slice(&p.size.to_le_bytes());
            match &p.zip {
                Some(z) => {
                    out.push(1);
                    put_zip(out, z);
                }
                None => out.push(0),
            }
            match p.duplicate_of {
                Some(d) => {
                    out.push(1);
                    out.extend_from_slice(&d.to_le_bytes());
                }
                None => out.push(0),
            }
            put_text(out, Some(&p.name));
        })
    }

    /// Adds the JSON entry `j` to the folder whose JSON `chain` holds.
    ///
    /// # Errors
    /// When the file cannot be written.
    pub(super) fn push_json(&mut self, chain: &mut Chain, j: &PlacedJson) -> std::io::Result<()> {
        self.append(chain, JSON, |out| {
            out.extend_from_slice(&j.part.to_le_bytes());
            out.push(u8::from(j.skip));
            put_entry(out, &j.entry);
        })
    }

    /// Appends to `chain` a record of `kind` whose fields `fields` writes, after the record
    /// before it (see [`unframed`]).
    fn append(
        &mut self,
        chain: &mut Chain,
        kind: u8,
        fields: impl FnOnce(&mut Vec<u8>),
    ) -> std::io::Result<()> {
        self.buf.clear();
        framed(&mut self.buf, |out| {
            out.extend_from_slice(&chain.last.unwrap_or(NONE).to_le_bytes());
            out.push(kind);
            fields(out);
        });
        chain.last = Some(self.records.append(&self.buf)?);
        chain.count += 1;
        Ok(())
    }

    /// Done placing: what is buffered goes to the file.
    ///
    /// # Errors
    /// When the file cannot be written.
    pub(super) fn seal(&mut self) -> std::io::Result<()> {
        self.records.seal()
    }

    /// Where each of a folder's placed media entries is, in the order they were placed, and
    /// what `keep` takes of each (its name's slice, while the folder is read for its
    /// matching). Only after [`Self::seal`].
    ///
    /// # Errors
    /// When the file cannot be read, or holds something else than was written there.
    pub(super) fn media_starts<U>(
        &self,
        chain: Chain,
        mut keep: impl FnMut(&Placed) -> U,
    ) -> std::io::Result<Vec<(u64, U)>> {
        self.walk(chain, decode, |start, p| (start, keep(&p)))
    }

    /// Where each of a folder's placed JSON entries is, in the order they were placed. Only
    /// after [`Self::seal`].
    ///
    /// # Errors
    /// As [`Self::media_starts`].
    pub(super) fn json_starts(&self, chain: Chain) -> std::io::Result<Vec<u64>> {
        // Only each record's header: the entry is decoded once, when it is read
        // ([`Self::json_at`]), not twice (a tar part's JSON text is in its record).
        self.walk(chain, json_header, |start, ()| start)
    }

    /// The media entry placed at `start` (one of [`Self::media_starts`]).
    ///
    /// # Errors
    /// As [`Self::media_starts`].
    pub(super) fn media_at(&self, start: u64) -> std::io::Result<Placed> {
        self.at(start, decode).map(|(_, p)| p)
    }

    /// The JSON entry placed at `start` (one of [`Self::json_starts`]).
    ///
    /// # Errors
    /// As [`Self::media_starts`].
    pub(super) fn json_at(&self, start: u64) -> std::io::Result<PlacedJson> {
        self.at(start, decode_json).map(|(_, j)| j)
    }

    /// A folder's placed entries, in the order they were placed (tests).
    #[cfg(test)]
    fn take(&self, chain: Chain) -> std::io::Result<Vec<Placed>> {
        let starts = self.media_starts(chain, |_| ())?;
        starts.iter().map(|&(at, ())| self.media_at(at)).collect()
    }

    /// A folder's JSON entries, in the order they were placed (tests).
    #[cfg(test)]
    fn take_jsons(&self, chain: Chain) -> std::io::Result<Vec<PlacedJson>> {
        let starts = self.json_starts(chain)?;
        starts.iter().map(|&at| self.json_at(at)).collect()
    }

    /// The record at `start` read back by `decode`: the record before it, and the entry.
    fn at<T>(
        &self,
        start: u64,
        decode: fn(&[u8]) -> std::io::Result<(u64, T)>,
    ) -> std::io::Result<(u64, T)> {
        self.records.framed_at(start, READ_AHEAD, decode)?
    }

    /// What `keep` takes of each record of `chain` (where it starts, and the entry `decode`
    /// reads), oldest first: only that is held, not the entries.
    fn walk<T, U>(
        &self,
        chain: Chain,
        decode: fn(&[u8]) -> std::io::Result<(u64, T)>,
        mut keep: impl FnMut(u64, T) -> U,
    ) -> std::io::Result<Vec<U>> {
        let mut out = Vec::with_capacity(chain.count as usize);
        let mut at = chain.last;
        while let Some(start) = at {
            if out.len() == chain.count as usize {
                return Err(damaged());
            }
            let (before, placed) = self.at(start, decode)?;
            // A record names only one written before it.
            at = (before != NONE).then_some(before);
            if at.is_some_and(|b| b >= start) {
                return Err(damaged());
            }
            out.push(keep(start, placed));
        }
        if out.len() != chain.count as usize {
            return Err(damaged());
        }
        out.reverse();
        Ok(out)
    }
}

/// The error of a placement file that does not hold what was written to it.
pub(super) fn damaged() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        "the scan's placement file holds something else than was written to it",
    )
}

/// A record as [`PlacedStore::push`] wrote it: the record before it, and the entry.
fn decode(b: &[u8]) -> std::io::Result<(u64, Placed)> {
    unframed(b, MEDIA, |f| {
        let (id, part, ordinal, folder) = (f.u32()?, f.u32()?, f.u32()?, f.u32()?);
        let size = f.u64()?;
        let zip = match f.u8()? {
            0 => None,
            1 => Some(f.zip()?),
            _ => return None,
        };
        let duplicate_of = match f.u8()? {
            0 => None,
            1 => Some(f.u32()?),
            _ => return None,
        };
        let name = f.text()??.into();
        Some(Placed {
            id,
            part,
            ordinal,
            folder,
            size,
            zip,
            duplicate_of,
            name,
        })
    })
}

/// A record as [`PlacedStore::push_json`] wrote it: the record before it, and the entry.
fn decode_json(b: &[u8]) -> std::io::Result<(u64, PlacedJson)> {
    unframed(b, JSON, |f| {
        let part = f.u32()?;
        let skip = match f.u8()? {
            0 => false,
            1 => true,
            _ => return None,
        };
        let entry = take_entry(f)?;
        Some(PlacedJson { part, skip, entry })
    })
}

/// A listed entry's fields, as [`take_entry`] reads them back: what a placed JSON entry and a
/// held tar listing (`held.rs`) keep of it.
pub(super) fn put_entry(out: &mut Vec<u8>, e: &RawEntry) {
    for n in [e.ordinal, e.dir] {
        out.extend_from_slice(&n.to_le_bytes());
    }
    out.extend_from_slice(&e.size.to_le_bytes());
    match &e.held {
        Held::Nothing => out.push(0),
        Held::At(EntryAt::File) => out.push(1),
        Held::At(EntryAt::Zip(z)) => {
            out.push(2);
            put_zip(out, z);
        }
        Held::Data(d) => {
            out.push(3);
            let n = u32::try_from(d.len()).expect("a listed file of fewer than 4 GB held");
            out.extend_from_slice(&n.to_le_bytes());
            out.extend_from_slice(d);
        }
    }
    put_text(out, Some(&e.name));
}

/// A listed entry written by [`put_entry`]; None when the fields are not one.
pub(super) fn take_entry(f: &mut Fields<'_>) -> Option<RawEntry> {
    let (ordinal, dir, size) = (f.u32()?, f.u32()?, f.u64()?);
    let held = match f.u8()? {
        0 => Held::Nothing,
        1 => Held::At(EntryAt::File),
        2 => Held::At(EntryAt::Zip(f.zip()?)),
        3 => {
            let n = f.u32()?;
            Held::Data(f.take(n as usize)?.into())
        }
        _ => return None,
    };
    let name = f.text()??.into();
    Some(RawEntry {
        ordinal,
        dir,
        name,
        size,
        held,
    })
}

/// The record before a JSON record, and that it is one (its fields are read by
/// [`decode_json`] when the entry is).
fn json_header(b: &[u8]) -> std::io::Result<(u64, ())> {
    let mut f = Fields(b);
    let before = f.u64().ok_or_else(damaged)?;
    match f.u8() {
        Some(JSON) => Ok((before, ())),
        _ => Err(damaged()),
    }
}

/// A record as [`PlacedStore::append`] framed it: the record before it, and what `fields`
/// reads of the rest, which must be a record of `kind` read to its end.
fn unframed<T>(
    b: &[u8],
    kind: u8,
    fields: impl FnOnce(&mut Fields<'_>) -> Option<T>,
) -> std::io::Result<(u64, T)> {
    let mut f = Fields(b);
    let before = f.u64().ok_or_else(damaged)?;
    if f.u8() != Some(kind) {
        return Err(damaged());
    }
    let read = fields(&mut f).ok_or_else(damaged)?;
    match f.is_empty() {
        true => Ok((before, read)),
        false => Err(damaged()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placed(id: u32, name: &str, zip: bool) -> Placed {
        Placed {
            id,
            part: id % 3,
            ordinal: id * 7,
            folder: id % 2,
            size: u64::from(id) << 33,
            zip: zip.then_some(ZipLoc {
                header_start: u64::from(id) * 1000,
                compressed: 77,
                crc32: 0xdead_beef,
                deflated: id.is_multiple_of(2),
            }),
            duplicate_of: id.is_multiple_of(4).then_some(id / 2),
            name: name.into(),
        }
    }

    /// Three folders placed interleaved come back each in its own order, every field whole,
    /// from memory and from a file larger than a read; a folder with nothing placed is empty;
    /// a chain whose count or start does not match the records is an error, not a panic.
    #[test]
    fn folders_come_back_in_placement_order() {
        for file in [None, Some(tempfile::tempfile().unwrap())] {
            let mut store = PlacedStore::new(file);
            let mut chains = [Chain::default(); 3];
            let mut want: [Vec<Placed>; 3] = Default::default();
            for id in 0..3000u32 {
                let g = (id as usize * 7 / 5) % 3;
                let p = placed(id, &format!("IMG_{id:05}.jpg"), id % 5 != 0);
                store.push(&mut chains[g], &p).unwrap();
                want[g].push(p);
            }
            store.seal().unwrap();
            for g in 0..3 {
                assert_eq!(store.take(chains[g]).unwrap(), want[g]);
            }
            assert!(store.take(Chain::default()).unwrap().is_empty());
            let mut wrong = chains[0];
            wrong.count += 1;
            assert!(store.take(wrong).is_err());
            wrong.count -= 2;
            assert!(store.take(wrong).is_err());
            let mut wrong = chains[1];
            wrong.last = wrong.last.map(|l| l + 3);
            assert!(store.take(wrong).is_err());
        }
    }

    fn json(i: u32) -> PlacedJson {
        let held = match i % 4 {
            0 => Held::Nothing,
            1 => Held::At(EntryAt::File),
            2 => Held::At(EntryAt::Zip(ZipLoc {
                header_start: u64::from(i) << 20,
                compressed: 91,
                crc32: i,
                deflated: true,
            })),
            _ => Held::Data(format!(r#"{{"title": "IMG_{i}.jpg"}}"#).into_bytes().into()),
        };
        PlacedJson {
            part: i % 5,
            skip: i.is_multiple_of(7),
            entry: RawEntry {
                ordinal: i * 3,
                dir: i % 11,
                name: format!("IMG_{i}.jpg.supplemental-metadata.json").into(),
                size: u64::from(i) + 40,
                held,
            },
        }
    }

    /// A folder's JSON entries, placed between media entries, come back in their order with
    /// every kind of place (none, a file, a zip entry, a tar part's contents) whole; a chain
    /// read as the other kind is an error (a damaged file), not an entry.
    #[test]
    fn json_entries_come_back_beside_the_media() {
        for file in [None, Some(tempfile::tempfile().unwrap())] {
            let mut store = PlacedStore::new(file);
            let (mut media, mut jsons) = (Chain::default(), Chain::default());
            let mut want = Vec::new();
            for i in 0..2000u32 {
                store
                    .push(&mut media, &placed(i, &format!("IMG_{i}.jpg"), true))
                    .unwrap();
                let j = json(i);
                store.push_json(&mut jsons, &j).unwrap();
                want.push(j);
            }
            store.seal().unwrap();
            assert_eq!(store.take_jsons(jsons).unwrap(), want);
            assert_eq!(store.take(media).unwrap().len(), 2000);
            assert!(store.take(jsons).is_err());
            assert!(store.take_jsons(media).is_err());
        }
    }
}
