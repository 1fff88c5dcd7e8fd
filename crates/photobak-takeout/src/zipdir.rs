//! A zip part's central directory, read one record at a time from the file.
//!
//! Why not the zip crate's `ZipArchive`: it parses the whole directory into memory (some 250
//! bytes per entry, and three small allocations per name) while the listing copies the little
//! it needs; for a part of 133,000 entries that was 33 MB at the scan's peak, and what it freed
//! between the listing's own allocations stayed with the process (the import's RSS sat 50 MB
//! above its heap). Read in order through one buffer, the directory costs one record.
//!
//! The layout is PKWARE's APPNOTE: the end-of-central-directory record (and, for more than
//! 65,535 entries or offsets past 4 GiB, its zip64 form through a locator), then fixed 46-byte
//! records each followed by a name, an extra field and a comment; a zip64 extra field (id 1)
//! carries the sizes and offset a record marks as `0xFFFFFFFF`. Google's parts of 2, 10 or
//! 50 GB are zip64.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};

const EOCD: &[u8; 4] = b"PK\x05\x06";
const ZIP64_LOCATOR: &[u8; 4] = b"PK\x06\x07";
const ZIP64_EOCD: &[u8; 4] = b"PK\x06\x06";
const RECORD: &[u8; 4] = b"PK\x01\x02";
const EOCD_LEN: usize = 22;
const LOCATOR_LEN: usize = 20;
const ZIP64_EOCD_LEN: usize = 56;
/// The fixed part of a directory record: no record is shorter.
pub(crate) const RECORD_LEN: usize = 46;
/// Compression methods the listing reads (APPNOTE 4.4.5).
pub(crate) const STORED: u16 = 0;
pub(crate) const DEFLATED: u16 = 8;

/// Where the central directory is and what it says of itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Directory {
    /// Number of records, as the end record states it.
    pub entries: u64,
    /// File offset of the first record.
    pub start: u64,
    /// Bytes of records.
    pub size: u64,
    /// Bytes in front of the archive (a self-extractor's stub): every offset the records
    /// state is relative to the archive, not to the file.
    pub offset: u64,
}

/// One record, borrowed from the reader's buffers.
#[derive(Debug)]
pub(crate) struct Record<'a> {
    pub name: &'a [u8],
    pub flags: u16,
    pub method: u16,
    pub crc32: u32,
    pub compressed: u64,
    pub size: u64,
    /// File offset of the entry's local header.
    pub header_start: u64,
    /// The Unix mode, when the entry was made on a Unix-like system.
    pub unix_mode: Option<u32>,
}

impl Record<'_> {
    pub fn is_dir(&self) -> bool {
        self.name.ends_with(b"/")
    }

    /// Bit 0 of the flags: the bytes are encrypted.
    pub fn encrypted(&self) -> bool {
        self.flags & 1 != 0
    }

    pub fn is_symlink(&self) -> bool {
        self.unix_mode.is_some_and(|m| m & 0o170_000 == 0o120_000)
    }
}

fn bad(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(x)
}

fn read_at(f: &mut File, at: u64, len: usize) -> io::Result<Vec<u8>> {
    f.seek(SeekFrom::Start(at))?;
    let mut buf = vec![0u8; len];
    f.read_exact(&mut buf)?;
    Ok(buf)
}

/// Finds the central directory of the zip file `f` of `len` bytes.
pub(crate) fn locate(f: &mut File, len: u64) -> io::Result<Directory> {
    let tail_len = len.min((EOCD_LEN + usize::from(u16::MAX)) as u64);
    let tail_start = len - tail_len;
    let tail = read_at(
        f,
        tail_start,
        usize::try_from(tail_len).map_err(|_| bad("too large"))?,
    )?;
    // The end record closes the file, its comment last; a signature inside the comment (or
    // inside the last entry's bytes) is not it. The last record whose comment ends the file
    // wins; failing that, the last signature whose comment fits.
    let candidates = (0..=tail.len().saturating_sub(EOCD_LEN))
        .rev()
        .filter(|&i| tail[i..].starts_with(EOCD));
    let mut fitting = None;
    let mut exact = None;
    for i in candidates {
        let comment = usize::from(u16_at(&tail, i + 20));
        if i + EOCD_LEN + comment == tail.len() {
            exact = Some(i);
            break;
        }
        if fitting.is_none() && i + EOCD_LEN + comment <= tail.len() {
            fitting = Some(i);
        }
    }
    let at = exact
        .or(fitting)
        .ok_or_else(|| bad("no end of central directory record (truncated part?)"))?;
    let eocd = &tail[at..];
    let eocd_pos = tail_start + at as u64;
    let mut entries = u64::from(u16_at(eocd, 10));
    let mut size = u64::from(u32_at(eocd, 12));
    let mut start = u64::from(u32_at(eocd, 16));
    if u16_at(eocd, 4) != 0 || u16_at(eocd, 6) != 0 {
        return Err(bad("a zip spanning several disks is not supported"));
    }
    // Where the directory ends: the end record, or the zip64 end record when there is one.
    let mut dir_end = eocd_pos;
    let has_locator = at >= LOCATOR_LEN && tail[at - LOCATOR_LEN..].starts_with(ZIP64_LOCATOR);
    if has_locator {
        let loc = &tail[at - LOCATOR_LEN..at];
        let stated = u64_at(loc, 8);
        let locator_pos = eocd_pos - LOCATOR_LEN as u64;
        // The zip64 end record sits where the locator says, or (with bytes in front of the
        // archive) just before the locator.
        let guesses = [Some(stated), locator_pos.checked_sub(ZIP64_EOCD_LEN as u64)];
        let mut found = None;
        for pos in guesses.into_iter().flatten() {
            if pos + ZIP64_EOCD_LEN as u64 > locator_pos {
                continue;
            }
            let rec = read_at(f, pos, ZIP64_EOCD_LEN)?;
            if rec.starts_with(ZIP64_EOCD) {
                found = Some((pos, rec));
                break;
            }
        }
        let (pos, rec) =
            found.ok_or_else(|| bad("the zip64 end record is not where its locator points"))?;
        entries = u64_at(&rec, 32);
        size = u64_at(&rec, 40);
        start = u64_at(&rec, 48);
        dir_end = pos;
    }
    // With nothing in front, the directory ends where its end record begins; a stub in front
    // shifts every stated offset by its length.
    let shifted = dir_end
        .checked_sub(size)
        .and_then(|d| d.checked_sub(start))
        .ok_or_else(|| bad("the central directory is larger than the part"))?;
    for offset in [shifted, 0] {
        let first = start.saturating_add(offset);
        if first.saturating_add(size) > dir_end {
            continue;
        }
        if entries == 0 || read_at(f, first, 4)?.as_slice() == RECORD {
            return Ok(Directory {
                entries,
                start: first,
                size,
                offset,
            });
        }
    }
    Err(bad("no central directory where the end record points"))
}

/// The records of a [`Directory`], in order.
pub(crate) struct Records {
    r: io::Take<BufReader<File>>,
    dir: Directory,
    read: u64,
    fixed: [u8; RECORD_LEN],
    name: Vec<u8>,
    extra: Vec<u8>,
}

impl Records {
    /// Reads the directory of `f` through a buffer of `buffer` bytes.
    pub fn new(mut f: File, dir: Directory, buffer: usize) -> io::Result<Records> {
        f.seek(SeekFrom::Start(dir.start))?;
        Ok(Records {
            r: BufReader::with_capacity(buffer, f).take(dir.size),
            dir,
            read: 0,
            fixed: [0; RECORD_LEN],
            name: Vec::new(),
            extra: Vec::new(),
        })
    }

    /// The next record; `None` after the last the end record counts.
    pub fn next_record(&mut self) -> io::Result<Option<Record<'_>>> {
        if self.read == self.dir.entries {
            return Ok(None);
        }
        let n = self.read;
        let short = |e: io::Error| {
            if e.kind() == io::ErrorKind::UnexpectedEof {
                bad(format!(
                    "the central directory ends after {n} of its {} records",
                    self.dir.entries
                ))
            } else {
                e
            }
        };
        self.r.read_exact(&mut self.fixed).map_err(short)?;
        if &self.fixed[..4] != RECORD {
            return Err(bad(format!(
                "record {n} of the central directory is damaged"
            )));
        }
        let h = &self.fixed;
        let made_by = u16_at(h, 4);
        let flags = u16_at(h, 8);
        let method = u16_at(h, 10);
        let crc32 = u32_at(h, 16);
        let mut compressed = u64::from(u32_at(h, 20));
        let mut size = u64::from(u32_at(h, 24));
        let (name_len, extra_len, comment_len) = (
            usize::from(u16_at(h, 28)),
            usize::from(u16_at(h, 30)),
            u64::from(u16_at(h, 32)),
        );
        let external = u32_at(h, 38);
        let mut header = u64::from(u32_at(h, 42));
        self.name.resize(name_len, 0);
        self.r.read_exact(&mut self.name).map_err(short)?;
        self.extra.resize(extra_len, 0);
        self.r.read_exact(&mut self.extra).map_err(short)?;
        let skipped = io::copy(&mut (&mut self.r).take(comment_len), &mut io::sink())?;
        if skipped != comment_len {
            return Err(short(io::ErrorKind::UnexpectedEof.into()));
        }
        // The zip64 extra field holds, in this order, each value the record marks as too large
        // for its 32 bits.
        let mut at = 0;
        while at + 4 <= self.extra.len() {
            let id = u16_at(&self.extra, at);
            let len = usize::from(u16_at(&self.extra, at + 2));
            let body = self
                .extra
                .get(at + 4..at + 4 + len)
                .ok_or_else(|| bad(format!("record {n}: an extra field overruns the record")))?;
            if id == 1 {
                let mut fields = body.chunks_exact(8).map(|c| u64_at(c, 0));
                let mut take = |v: &mut u64| -> io::Result<()> {
                    if *v == u64::from(u32::MAX) {
                        *v = fields.next().ok_or_else(|| {
                            bad(format!("record {n}: its zip64 field is too short"))
                        })?;
                    }
                    Ok(())
                };
                take(&mut size)?;
                take(&mut compressed)?;
                take(&mut header)?;
            }
            at += 4 + len;
        }
        self.read += 1;
        // Host 3 is Unix, 19 macOS: both keep the Unix mode in the upper half.
        let unix_mode = matches!(made_by >> 8, 3 | 19).then_some(external >> 16);
        Ok(Some(Record {
            name: &self.name,
            flags,
            method,
            crc32,
            compressed,
            size,
            header_start: header.saturating_add(self.dir.offset),
            unix_mode,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn write_zip(path: &std::path::Path, prefix: &[u8], entries: usize, large: bool) {
        let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored)
            .large_file(large);
        for i in 0..entries {
            z.start_file(format!("d/f{i}.txt"), opts).unwrap();
            z.write_all(format!("entry {i}").as_bytes()).unwrap();
        }
        z.add_directory("d/sub/", opts).unwrap();
        let bytes = z.finish().unwrap().into_inner();
        let mut all = prefix.to_vec();
        all.extend_from_slice(&bytes);
        std::fs::write(path, all).unwrap();
    }

    fn records(path: &std::path::Path) -> (Directory, Vec<(String, u64, u64, bool)>) {
        let mut f = File::open(path).unwrap();
        let len = f.metadata().unwrap().len();
        let dir = locate(&mut f, len).unwrap();
        let mut rs = Records::new(f, dir, 4096).unwrap();
        let mut out = Vec::new();
        while let Some(r) = rs.next_record().unwrap() {
            out.push((
                String::from_utf8(r.name.to_vec()).unwrap(),
                r.size,
                r.header_start,
                r.is_dir(),
            ));
        }
        (dir, out)
    }

    /// `bytes` written to `p` as a part: how many records read before the end or the first
    /// error, and which.
    fn records_of(p: &std::path::Path, bytes: &[u8]) -> (usize, io::Result<()>) {
        std::fs::write(p, bytes).unwrap();
        let mut n = 0;
        let end = (|| {
            let mut f = File::open(p)?;
            let dir = locate(&mut f, bytes.len() as u64)?;
            let mut rs = Records::new(f, dir, 64)?;
            while rs.next_record()?.is_some() {
                n += 1;
            }
            Ok(())
        })();
        (n, end)
    }

    /// Every record is read, with sizes and header offsets that point at the entry's local
    /// header, for a plain zip, one whose entries carry zip64 fields, one of more than 65,535
    /// entries (a zip64 end record), and one with bytes in front.
    #[test]
    fn directories_plain_zip64_and_shifted() {
        let tmp = tempfile::tempdir().unwrap();
        for (name, prefix, n, large) in [
            ("plain.zip", &b""[..], 5, false),
            ("large.zip", &b""[..], 5, true),
            ("many.zip", &b""[..], 70_000, false),
            ("stub.zip", &b"#!/bin/sh\nexit 0\n"[..], 5, false),
        ] {
            let p = tmp.path().join(name);
            write_zip(&p, prefix, n, large);
            let (dir, recs) = records(&p);
            assert_eq!(dir.entries as usize, n + 1, "{name}");
            assert_eq!(dir.offset, prefix.len() as u64, "{name}");
            assert_eq!(recs.len(), n + 1, "{name}");
            let bytes = std::fs::read(&p).unwrap();
            let locator = bytes.len() - EOCD_LEN - LOCATOR_LEN;
            assert_eq!(
                &bytes[locator..locator + 4] == ZIP64_LOCATOR,
                n > 65_535,
                "{name}: a zip64 end record exactly when there are too many entries"
            );
            for (i, (rname, size, header, is_dir)) in recs.iter().enumerate().take(n) {
                assert_eq!(rname, &format!("d/f{i}.txt"));
                assert_eq!(*size, format!("entry {i}").len() as u64);
                assert!(!is_dir);
                let h = usize::try_from(*header).unwrap();
                assert_eq!(&bytes[h..h + 4], b"PK\x03\x04", "{name} {i}");
                let nl = usize::from(u16_at(&bytes, h + 26));
                assert_eq!(&bytes[h + 30..h + 30 + nl], rname.as_bytes());
            }
            assert!(recs[n].3, "{name}: the directory entry");
        }
    }

    /// A part cut anywhere in its directory, or whose directory lies, is an error naming what
    /// is wrong, never a shorter listing.
    #[test]
    fn damaged_directories_are_errors() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("a.zip");
        write_zip(&p, b"", 20, false);
        let good = std::fs::read(&p).unwrap();
        let mut f = File::open(&p).unwrap();
        let dir = locate(&mut f, good.len() as u64).unwrap();
        let read_all = |bytes: &[u8]| -> io::Result<usize> {
            let (n, end) = records_of(&p, bytes);
            end.map(|()| n)
        };
        assert_eq!(read_all(&good).unwrap(), 21);
        // Cut: no end record.
        let e = read_all(&good[..good.len() - 10]).unwrap_err();
        assert!(e.to_string().contains("no end of central directory"), "{e}");
        // A record's signature damaged.
        let mut bad_sig = good.clone();
        let third = usize::try_from(dir.start).unwrap();
        let mut at = third;
        for _ in 0..3 {
            let (n, x, c) = (
                usize::from(u16_at(&good, at + 28)),
                usize::from(u16_at(&good, at + 30)),
                usize::from(u16_at(&good, at + 32)),
            );
            at += RECORD_LEN + n + x + c;
        }
        bad_sig[at] = b'X';
        let e = read_all(&bad_sig).unwrap_err();
        assert!(e.to_string().contains("record 3"), "{e}");
        // The end record counts more records than there are.
        let mut more = good.clone();
        let eocd = good.len() - EOCD_LEN;
        more[eocd + 10] += 1;
        more[eocd + 8] += 1;
        let e = read_all(&more).unwrap_err();
        assert!(e.to_string().contains("ends after 21 of its 22"), "{e}");
        // The end record points past the part.
        let mut far = good.clone();
        far[eocd + 16..eocd + 20].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(read_all(&far).is_err());
    }

    /// Every byte of the directory and the end records changed, and the part cut at every
    /// length past its entries: an error or a listing, never a panic. (A record that points
    /// past the part lists; its entry's read fails on its own, in the bytes pass.)
    #[test]
    fn every_damaged_byte_is_an_error_or_a_listing() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("a.zip");
        write_zip(&p, b"", 6, true);
        let good = std::fs::read(&p).unwrap();
        let mut f = File::open(&p).unwrap();
        let dir = locate(&mut f, good.len() as u64).unwrap();
        let first = usize::try_from(dir.start).unwrap();
        let check = |bytes: &[u8]| {
            let (n, _) = records_of(&p, bytes);
            assert!(n <= 7, "more records than the directory holds");
        };
        for at in first..good.len() {
            for v in [0x00, 0xff, good[at] ^ 0x01] {
                let mut b = good.clone();
                b[at] = v;
                check(&b);
            }
        }
        for len in first..good.len() {
            check(&good[..len]);
        }
    }
}
