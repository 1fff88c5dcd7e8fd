//! An append-only file of records, written once by the scan and read back by its readers: what
//! the catalog keeps of a large export outside memory ([`crate::Sidecars`], [`crate::Media`]).
//!
//! Written through a buffer, sealed, then only read: by place through one shared window (a
//! read serves the records after it too, as the readers take them in about the order they were
//! written), or from the start by readers of their own ([`Sequential`]), which several threads
//! may hold at once. In memory ([`Spill::Memory`]) the same bytes are kept in a vector, so both
//! ways are tested by the same code.

use std::io::Write;
#[cfg(not(unix))]
use std::io::{Read, Seek, SeekFrom};
use std::sync::Mutex;

use crate::parts::ZipLoc;

/// Where a catalog's sidecars and media entries are kept between the scan and their readers.
#[derive(Debug)]
pub enum Spill {
    /// In memory, encoded.
    Memory,
    /// In files the caller created for them (empty; each is written from its start and read
    /// back; unnamed temporary files are best, as nothing else should see them): the
    /// sidecars, the media entries, where each media entry starts (8 bytes per entry, by id),
    /// and what only the scan reads: the media and JSON entries as placed (until their folder
    /// is matched), and the survey's hashes of paths (in sorted runs, once more than 1 MiB of
    /// them), and a large folder's sidecars and matched slices while it is matched
    /// ([`crate::Limits::folder_slice`]), and the listings of tar parts from their survey to
    /// their placement, and the paths an export without Takeout part names is known by (in
    /// sorted runs, once more than 4 MiB of them).
    Files {
        sidecars: std::fs::File,
        media: std::fs::File,
        media_index: std::fs::File,
        placement: std::fs::File,
        survey: std::fs::File,
        matching: std::fs::File,
        listings: std::fs::File,
        paths: std::fs::File,
    },
}

impl Spill {
    /// [`Spill::Files`], each file made by `make` (unnamed temporary files are best).
    ///
    /// # Errors
    /// `make`'s first error.
    pub fn files<E>(mut make: impl FnMut() -> Result<std::fs::File, E>) -> Result<Spill, E> {
        Ok(Spill::Files {
            sidecars: make()?,
            media: make()?,
            media_index: make()?,
            placement: make()?,
            survey: make()?,
            matching: make()?,
            listings: make()?,
            paths: make()?,
        })
    }
}

/// Bytes written at a time to a file.
const WRITE_BUFFER: usize = 64 << 10;

/// Bytes read at a time by a [`Sequential`] reader of a file.
const SEQUENTIAL_READ: usize = 64 << 10;

/// The records (see the module docs).
#[derive(Debug)]
pub(crate) struct Records {
    end: u64,
    backing: Backing,
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
    /// The last bytes read through the shared window, from `at`.
    at: u64,
    read: Vec<u8>,
    /// Reads of the file through the shared window so far (tests check that the readers'
    /// orders are served by few).
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

impl Records {
    /// Records in `file`, or in memory.
    pub(crate) fn new(file: Option<std::fs::File>) -> Records {
        let backing = match file {
            None => Backing::Memory(Vec::new()),
            Some(file) => Backing::File(Mutex::new(FileBacking {
                file,
                pending: Vec::with_capacity(WRITE_BUFFER),
                at: 0,
                read: Vec::new(),
                reads: 0,
            })),
        };
        Records { end: 0, backing }
    }

    /// Where the next record starts (the bytes written so far).
    pub(crate) fn end(&self) -> u64 {
        self.end
    }

    /// Appends `bytes`; returns where they start.
    ///
    /// # Errors
    /// When the file cannot be written.
    pub(crate) fn append(&mut self, bytes: &[u8]) -> std::io::Result<u64> {
        match &mut self.backing {
            Backing::Memory(v) => v.extend_from_slice(bytes),
            Backing::File(f) => {
                let f = writing(f);
                f.pending.extend_from_slice(bytes);
                if f.pending.len() >= WRITE_BUFFER {
                    f.file.write_all(&f.pending)?;
                    f.pending.clear();
                }
            }
        }
        let start = self.end;
        self.end += bytes.len() as u64;
        Ok(start)
    }

    /// Done writing: what is buffered goes to the file.
    ///
    /// # Errors
    /// When the file cannot be written.
    pub(crate) fn seal(&mut self) -> std::io::Result<()> {
        self.flush()?;
        match &mut self.backing {
            Backing::Memory(v) => v.shrink_to_fit(),
            Backing::File(f) => writing(f).pending = Vec::new(),
        }
        Ok(())
    }

    /// What is buffered goes to the file, so that what is written can be read back, and more
    /// may be written after (as [`Self::seal`], without giving back what the writing used: a
    /// writer that reads between its writes would copy it all again each time).
    ///
    /// # Errors
    /// When the file cannot be written.
    pub(crate) fn flush(&mut self) -> std::io::Result<()> {
        if let Backing::File(f) = &mut self.backing {
            let f = writing(f);
            f.file.write_all(&f.pending)?;
            f.pending.clear();
            f.file.flush()?;
        }
        Ok(())
    }

    /// `f` of the `len` bytes at `start`, through the shared window: from the last window read
    /// when they are in it, else from a new one read there, of `ahead` bytes at least. Only
    /// after [`Self::seal`].
    ///
    /// # Errors
    /// When the file cannot be read there (a record past its end: `UnexpectedEof`).
    pub(crate) fn with<R>(
        &self,
        start: u64,
        len: usize,
        ahead: usize,
        f: impl FnOnce(&[u8]) -> R,
    ) -> std::io::Result<R> {
        let past = || std::io::Error::from(std::io::ErrorKind::UnexpectedEof);
        let stop = start.checked_add(len as u64).ok_or_else(past)?;
        match &self.backing {
            Backing::Memory(v) => {
                let bytes = usize::try_from(start)
                    .ok()
                    .zip(usize::try_from(stop).ok())
                    .and_then(|(a, b)| v.get(a..b))
                    .ok_or_else(past)?;
                Ok(f(bytes))
            }
            Backing::File(m) => {
                let mut b = m.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                debug_assert!(b.pending.is_empty(), "read before the records were sealed");
                let cached = start >= b.at && stop <= b.at + b.read.len() as u64;
                if !cached {
                    if stop > self.end {
                        return Err(past());
                    }
                    // A reader going backwards (before the last window) gets the window that
                    // ends an eighth past what it asked for (a record's header, then its body,
                    // are two asks); others the one that starts with it.
                    let backwards = start < b.at && !b.read.is_empty();
                    let want = len.max(ahead);
                    // Never past `start`: a record longer than seven eighths of the window
                    // gets the window that starts with it.
                    let from = if backwards {
                        (stop + want as u64 / 8)
                            .min(self.end)
                            .saturating_sub(want as u64)
                            .min(start)
                    } else {
                        start
                    };
                    let want = want.min((self.end - from) as usize);
                    // Forgotten first: a read that fails leaves no window, not a wrong one.
                    b.read.clear();
                    let mut buf = std::mem::take(&mut b.read);
                    buf.resize(want, 0);
                    read_at(&b.file, &mut buf, from)?;
                    b.reads += 1;
                    b.read = buf;
                    b.at = from;
                }
                let from = (start - b.at) as usize;
                Ok(f(&b.read[from..from + len]))
            }
        }
    }

    /// `f` of the record framed at `start` (its length, then its bytes; see [`framed`]),
    /// through the shared window as [`Self::with`].
    ///
    /// # Errors
    /// As [`Self::with`].
    pub(crate) fn framed_at<R>(
        &self,
        start: u64,
        ahead: usize,
        f: impl FnOnce(&[u8]) -> R,
    ) -> std::io::Result<R> {
        let len = self.with(start, 4, ahead, |b| {
            u32::from_le_bytes(b.try_into().expect("four bytes asked for"))
        })?;
        self.with(start + 4, len as usize, ahead, f)
    }

    /// A reader of the records from their start, with a buffer of its own.
    pub(crate) fn sequential(&self) -> Sequential<'_> {
        self.sequential_from(0, SEQUENTIAL_READ)
    }

    /// A reader of the records from the one at `at`, with a buffer of its own that reads
    /// `read` bytes at a time (several readers of one file at once keep theirs small).
    pub(crate) fn sequential_from(&self, at: u64, read: usize) -> Sequential<'_> {
        Sequential {
            records: self,
            at,
            buf: Vec::new(),
            from: 0,
            read,
        }
    }

    /// Reads through the shared window so far (tests).
    #[cfg(test)]
    pub(crate) fn reads(&self) -> usize {
        match &self.backing {
            Backing::File(f) => f.lock().map_or(0, |f| f.reads),
            Backing::Memory(_) => 0,
        }
    }

    /// Cuts the records to `len` bytes, as if no more had been written (tests of damaged
    /// records).
    #[cfg(test)]
    pub(crate) fn damage(&mut self, len: u64) {
        match &mut self.backing {
            Backing::Memory(v) => v.truncate(len as usize),
            Backing::File(f) => writing(f).file.set_len(len).unwrap(),
        }
        self.end = len;
    }
}

/// Reads records in the order they were written, each framed by its length (`u32`, then the
/// bytes), from its own buffer of the file.
pub(crate) struct Sequential<'r> {
    records: &'r Records,
    /// Where the next record starts.
    at: u64,
    /// Bytes of the file from `from`.
    buf: Vec<u8>,
    from: u64,
    /// Bytes read at a time.
    read: usize,
}

impl Sequential<'_> {
    /// The next record's bytes and where it starts; None at the end. After a frame whose
    /// length cannot be read, or runs past the end, none follows (where the next one starts is
    /// not known); a failed read of a record's bytes skips that record only.
    ///
    /// # Errors
    /// When the file cannot be read, or a frame runs past its end.
    pub(crate) fn next_framed(&mut self) -> std::io::Result<Option<(u64, &[u8])>> {
        if self.at >= self.records.end {
            return Ok(None);
        }
        let start = self.at;
        self.at = self.records.end;
        let len = u32::from_le_bytes(
            self.bytes(start, 4)?
                .try_into()
                .expect("four bytes asked for"),
        ) as usize;
        let next = start + 4 + len as u64;
        if next > self.records.end {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        self.at = next;
        Ok(Some((start, self.bytes(start + 4, len)?)))
    }

    fn bytes(&mut self, start: u64, len: usize) -> std::io::Result<&[u8]> {
        let stop = start + len as u64;
        if stop > self.records.end {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        match &self.records.backing {
            Backing::Memory(v) => v
                .get(start as usize..stop as usize)
                .ok_or_else(|| std::io::ErrorKind::UnexpectedEof.into()),
            Backing::File(m) => {
                if start < self.from || stop > self.from + self.buf.len() as u64 {
                    self.buf.clear();
                    let want = len.max(self.read).min((self.records.end - start) as usize);
                    self.buf.resize(want, 0);
                    let b = m.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    let read = read_at(&b.file, &mut self.buf, start);
                    drop(b);
                    if let Err(e) = read {
                        self.buf.clear();
                        return Err(e);
                    }
                    self.from = start;
                }
                let from = (start - self.from) as usize;
                Ok(&self.buf[from..from + len])
            }
        }
    }
}

/// Frames a record for [`Sequential`]: its length, then the bytes `write` appends to `out`
/// (in place: no copy of the record is made).
pub(crate) fn framed(out: &mut Vec<u8>, write: impl FnOnce(&mut Vec<u8>)) {
    let at = out.len();
    out.extend_from_slice(&[0; 4]);
    write(out);
    let len = u32::try_from(out.len() - at - 4).expect("a record of fewer than 4 GB");
    out[at..at + 4].copy_from_slice(&len.to_le_bytes());
}

/// The file backing while writing (`&mut`: no lock is taken; a reader that panicked leaves
/// nothing half-done that writing could trip on).
fn writing(f: &mut Mutex<FileBacking>) -> &mut FileBacking {
    f.get_mut()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Fills `buf` from `file` at `offset`. Positioned reads leave the file's position where
/// writes append (elsewhere than Unix, at the file's end), and need no `&mut`: how the
/// catalog's scratch files, and the importer's, are read back.
#[cfg(unix)]
pub fn read_at(file: &std::fs::File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(not(unix))]
pub fn read_at(mut file: &std::fs::File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    file.seek(SeekFrom::Start(offset))?;
    file.read_exact(buf)?;
    file.seek(SeekFrom::End(0)).map(drop)
}

/// Writes `buf` to `file` at `offset`, leaving the file's position alone (Unix) or at the end
/// (elsewhere), as [`read_at`] does.
#[cfg(unix)]
pub(crate) fn write_at(file: &std::fs::File, buf: &[u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(file, buf, offset)
}

#[cfg(not(unix))]
pub(crate) fn write_at(mut file: &std::fs::File, buf: &[u8], offset: u64) -> std::io::Result<()> {
    file.seek(SeekFrom::Start(offset))?;
    file.write_all(buf)?;
    file.seek(SeekFrom::End(0)).map(drop)
}

/// Little-endian readers of a record's fields; None past its end.
pub(crate) struct Fields<'a>(pub &'a [u8]);

impl<'a> Fields<'a> {
    pub(crate) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    pub(crate) fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }

    pub(crate) fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    pub(crate) fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    /// A text written by [`put_text`]; `Some(None)` for an absent one.
    pub(crate) fn text(&mut self) -> Option<Option<&'a str>> {
        let n = self.u32()?;
        if n == u32::MAX {
            return Some(None);
        }
        std::str::from_utf8(self.take(n as usize)?).ok().map(Some)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A place in a zip part written by [`put_zip`].
    pub(crate) fn zip(&mut self) -> Option<ZipLoc> {
        Some(ZipLoc {
            header_start: self.u64()?,
            compressed: self.u64()?,
            crc32: self.u32()?,
            deflated: self.u8()? != 0,
        })
    }
}

/// Where a zip part holds an entry.
pub(crate) fn put_zip(out: &mut Vec<u8>, z: &ZipLoc) {
    out.extend_from_slice(&z.header_start.to_le_bytes());
    out.extend_from_slice(&z.compressed.to_le_bytes());
    out.extend_from_slice(&z.crc32.to_le_bytes());
    out.push(u8::from(z.deflated));
}

/// A text with its length; `None` as an absent one.
pub(crate) fn put_text(out: &mut Vec<u8>, t: Option<&str>) {
    match t {
        Some(t) => {
            let n = u32::try_from(t.len()).expect("a text of fewer than 4 GB");
            out.extend_from_slice(&n.to_le_bytes());
            out.extend_from_slice(t.as_bytes());
        }
        None => out.extend_from_slice(&u32::MAX.to_le_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Framed records come back in order from memory and from a file, across reads of
    /// several buffers, and through the shared window by place; a record past the end is an
    /// error.
    #[test]
    fn framed_records_read_back_in_order_and_by_place() {
        for file in [None, Some(tempfile::tempfile().unwrap())] {
            let mut r = Records::new(file);
            let mut starts = Vec::new();
            let mut buf = Vec::new();
            for k in 0..5000u32 {
                buf.clear();
                framed(&mut buf, |out| {
                    out.extend(vec![(k % 251) as u8; (k % 97) as usize])
                });
                starts.push(r.append(&buf).unwrap());
            }
            r.seal().unwrap();
            let mut seq = r.sequential();
            let mut k = 0u32;
            while let Some((at, bytes)) = seq.next_framed().unwrap() {
                assert_eq!(at, starts[k as usize]);
                assert_eq!(bytes, &vec![(k % 251) as u8; (k % 97) as usize][..]);
                k += 1;
            }
            assert_eq!(k, 5000);
            for k in (0..5000usize).rev().step_by(13) {
                let len = r.with(starts[k], 4, 4096, |b| b.to_vec()).unwrap();
                assert_eq!(len, ((k % 97) as u32).to_le_bytes());
            }
            let err = r.with(r.end() - 2, 4, 4096, |_| ()).unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof);
        }
    }

    /// Records longer than the window read backwards come back whole (the window starts with
    /// the record then), and a sequential reader ends after a damaged frame.
    #[test]
    fn long_records_read_backwards_and_a_damaged_frame_ends_the_reading() {
        for file in [None, Some(tempfile::tempfile().unwrap())] {
            let mut r = Records::new(file);
            let records: Vec<Vec<u8>> = (0..6u8).map(|k| vec![k; 700 + 300 * k as usize]).collect();
            let mut starts = Vec::new();
            let mut buf = Vec::new();
            for rec in &records {
                buf.clear();
                framed(&mut buf, |out| out.extend_from_slice(rec));
                starts.push(r.append(&buf).unwrap());
            }
            r.seal().unwrap();
            for k in (0..records.len()).rev() {
                let got = r
                    .with(starts[k] + 4, records[k].len(), 512, <[u8]>::to_vec)
                    .unwrap();
                assert_eq!(got, records[k], "{k}");
            }
            // The third frame's length made to run past the end.
            r.damage(starts[3] + 2);
            let mut seq = r.sequential();
            let mut got = 0;
            loop {
                match seq.next_framed() {
                    Ok(Some(_)) => got += 1,
                    Ok(None) => break,
                    Err(_) => got += 100,
                }
                assert!(got < 1000, "the reading ends");
            }
            assert_eq!(got, 103, "three records, then one error");
        }
    }
}
