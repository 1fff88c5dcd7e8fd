//! Listing parts (pass 1): zip central directory, tgz/tar stream, folder walk.

use std::cell::Cell;
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::rc::Rc;

use flate2::read::MultiGzDecoder;

use crate::guard::{Capped, Counting, RatioGuard, is_bomb};
use crate::zipdir;
use crate::{Limits, PartFormat, Problem, ProblemKind};

/// Bytes a compressed stream may produce beyond `ratio ×` its input (headers, tiny files).
pub const RATIO_SLACK: u64 = 1 << 20;
/// Zip entries smaller than this are not checked against the ratio cap.
pub const RATIO_MIN_SIZE: u64 = 1 << 20;

/// One file entry of a part.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawEntry {
    /// Its position in the part (below [`Limits::max_entries`]).
    pub ordinal: u32,
    /// Its folder, in its listing's [`Listing::dirs`].
    pub dir: u32,
    /// Its file name (the path after the folder). The path is the two together
    /// ([`Listing::path`]): a listing holds every entry of its part at once, and the folder's
    /// part was most of each path (some 40 of 75 bytes, 11 MB of a 100,000-item export's
    /// listings).
    pub name: Box<str>,
    pub size: u64,
    /// Where the entry is, or its contents.
    pub held: Held,
}

/// What a listing keeps of an entry besides its name and size: where it is, or its contents
/// (never both are needed, so one field: two were 16 bytes more for each of the some 270,000
/// entries of a 100,000-item export, all held at the scan's peak).
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Held {
    /// Neither (a tar part's media, which the bytes pass streams again).
    #[default]
    Nothing,
    /// Where every entry of a zip part is, and where a JSON file of a folder is, to be read
    /// when it is used ([`read_json_at`], and a zip's media by the bytes pass): holding the
    /// text of every sidecar from the listing to the matching was most of the scan's peak
    /// memory on a large export, and the part's central directory most of the bytes pass's. A
    /// zip entry's CRC-32 is in its place.
    At(EntryAt),
    /// Contents of small files the scan needs: a tar part's JSON (it can only be streamed),
    /// the HTML pages that name the account.
    Data(Box<[u8]>),
}

impl RawEntry {
    /// Where the entry is ([`Held::At`]).
    pub fn at(&self) -> Option<EntryAt> {
        match self.held {
            Held::At(at) => Some(at),
            _ => None,
        }
    }

    /// Its contents, when held ([`Held::Data`]).
    pub fn data(&self) -> Option<&[u8]> {
        match &self.held {
            Held::Data(d) => Some(d),
            _ => None,
        }
    }
}

/// The listing of one part.
#[derive(Debug)]
pub struct Listing {
    pub format: PartFormat,
    pub entries: Vec<RawEntry>,
    /// The folders of the entries, each once, with its trailing `/` (`""`: the part's top).
    pub dirs: Vec<Box<str>>,
    pub problems: Vec<Problem>,
    pub readable: bool,
}

impl Listing {
    /// The path of an entry of this listing (one moved out of it too).
    pub fn path(&self, e: &RawEntry) -> String {
        let dir = self.dir(e);
        let mut path = String::with_capacity(dir.len() + e.name.len());
        path.push_str(dir);
        path.push_str(&e.name);
        path
    }

    /// The folder of an entry of this listing, with its trailing `/` (empty at the root).
    pub fn dir(&self, e: &RawEntry) -> &str {
        self.dirs.get(e.dir as usize).map_or("", |d| d)
    }
}

/// Where an entry can be read again (see [`RawEntry::at`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryAt {
    /// A zip entry, by what its central directory said: enough to read it without the
    /// directory (which costs some 170 bytes per entry of the part to hold).
    Zip(ZipLoc),
    /// A file of a folder part, at its path under the part.
    File,
}

/// A zip entry's place, compressed size and CRC-32, from the central directory. Its size is
/// the entry's own (`RawEntry::size`, `MediaEntry::size`), not repeated here: a place is held
/// for every entry of a listing and every media entry of the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZipLoc {
    /// Offset of the entry's local header.
    pub header_start: u64,
    pub compressed: u64,
    pub crc32: u32,
    /// Deflated (else stored; the listing skips other methods).
    pub deflated: bool,
}

/// Reads a JSON entry again from where the listing found it: a zip entry through its local
/// header (inflated, capped at its listed size and checked against its CRC-32, as reading it
/// through the central directory would), or a folder part's file. `part` is the part's path;
/// `file` an open handle on a zip part, reused between calls; `size` the size the listing
/// found (never more is read).
pub fn read_json_at(
    part: &Path,
    file: &mut Option<File>,
    path: &str,
    at: &EntryAt,
    size: u64,
) -> std::io::Result<Vec<u8>> {
    use std::io::{Seek, SeekFrom};
    let capacity = usize::try_from(size).unwrap_or(0).min(1 << 20);
    match at {
        EntryAt::File => {
            let mut p = part.to_path_buf();
            p.extend(path.split('/'));
            let mut buf = Vec::with_capacity(capacity);
            Capped::new(File::open(p)?, size).read_to_end(&mut buf)?;
            Ok(buf)
        }
        EntryAt::Zip(loc) => {
            if file.is_none() {
                *file = Some(File::open(part)?);
            }
            let Some(f) = file.as_mut() else {
                unreachable!("opened above")
            };
            f.seek(SeekFrom::Start(loc.header_start))?;
            let mut r = BufReader::with_capacity(
                usize::try_from(loc.compressed.clamp(512, 64 << 10)).unwrap_or(64 << 10) + 512,
                f,
            );
            let mut buf = Vec::with_capacity(capacity);
            zip_entry(&mut r, loc, size, path)?.read_to_end(&mut buf)?;
            Ok(buf)
        }
    }
}

/// A zip entry's bytes, read through its local header from `r`, which stands at that header
/// (`loc.header_start`), without the part's central directory: holding that directory cost
/// some 250 bytes per entry of the part (33 MB for a part of 133,000 entries), parsed again by
/// every reader of the bytes pass. Inflated when deflated, never more than the listed size,
/// and an error at the end when the bytes do not match the listed size and CRC-32, as reading
/// through the central directory would be. `path` is the name the listing found: a local
/// header with another name (or none there) means the part changed since it was listed.
pub(crate) fn zip_entry<'r, R: BufRead>(
    r: &'r mut R,
    loc: &ZipLoc,
    size: u64,
    path: &str,
) -> std::io::Result<ZipEntry<'r, R>> {
    use std::io::{Error, ErrorKind};
    let changed = |what: &str| {
        Error::new(
            ErrorKind::InvalidData,
            format!("the part changed since it was listed ({what})"),
        )
    };
    let mut head = [0u8; 30];
    r.read_exact(&mut head)?;
    if head[..4] != *b"PK\x03\x04" {
        return Err(changed(
            "no local file header where the central directory points",
        ));
    }
    let name_len = u64::from(u16::from_le_bytes([head[26], head[27]]));
    let extra_len = u64::from(u16::from_le_bytes([head[28], head[29]]));
    let mut name = Vec::with_capacity(usize::try_from(name_len).unwrap_or(0));
    Read::by_ref(r).take(name_len).read_to_end(&mut name)?;
    let named = std::str::from_utf8(&name)
        .ok()
        .and_then(|n| validate_path(n).ok());
    if named.as_deref() != Some(path) {
        return Err(changed("another entry where the central directory points"));
    }
    let skipped = std::io::copy(&mut Read::by_ref(r).take(extra_len), &mut std::io::sink())?;
    if skipped != extra_len {
        return Err(ErrorKind::UnexpectedEof.into());
    }
    let raw = Read::by_ref(r).take(loc.compressed);
    let body = if loc.deflated {
        ZipBody::Deflated(flate2::bufread::DeflateDecoder::new(raw))
    } else {
        ZipBody::Stored(raw)
    };
    Ok(ZipEntry {
        body: Capped::new(body, size),
        crc: flate2::Crc::new(),
        seen: 0,
        size,
        crc32: loc.crc32,
    })
}

/// The bytes of one zip entry ([`zip_entry`]).
pub(crate) struct ZipEntry<'r, R> {
    body: Capped<ZipBody<'r, R>>,
    crc: flate2::Crc,
    seen: u64,
    /// The listed size and CRC-32 the bytes must match.
    size: u64,
    crc32: u32,
}

enum ZipBody<'r, R> {
    Stored(std::io::Take<&'r mut R>),
    Deflated(flate2::bufread::DeflateDecoder<std::io::Take<&'r mut R>>),
}

impl<R: BufRead> Read for ZipBody<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            ZipBody::Stored(r) => r.read(buf),
            ZipBody::Deflated(r) => r.read(buf),
        }
    }
}

impl<R: BufRead> Read for ZipEntry<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.body.read(buf)?;
        self.crc.update(&buf[..n]);
        self.seen += n as u64;
        if n == 0 && !buf.is_empty() && (self.seen != self.size || self.crc.sum() != self.crc32) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "the entry's bytes do not match its listed size and CRC-32",
            ));
        }
        Ok(n)
    }
}

/// Whether the scan needs an entry's contents.
pub fn wants_data(path: &str) -> bool {
    let lower = path.to_lowercase();
    lower.ends_with(".json") || lower.ends_with(".html") || lower.ends_with(".htm")
}

/// Detects the format of a part by its first bytes, then its name.
pub fn detect(part: &Path) -> std::io::Result<PartFormat> {
    if part.is_dir() {
        return Ok(PartFormat::Folder);
    }
    let mut head = Vec::with_capacity(512);
    File::open(part)?.take(512).read_to_end(&mut head)?;
    if head.starts_with(b"PK\x03\x04")
        || head.starts_with(b"PK\x05\x06")
        || head.starts_with(b"PK\x07\x08")
    {
        return Ok(PartFormat::Zip);
    }
    if head.starts_with(&[0x1f, 0x8b]) {
        return Ok(PartFormat::Tgz);
    }
    if head.len() >= 262 && &head[257..262] == b"ustar" {
        return Ok(PartFormat::Tar);
    }
    let name = part
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    Ok(if name.ends_with(".zip") {
        PartFormat::Zip
    } else if name.ends_with(".tgz") || name.ends_with(".tar.gz") {
        PartFormat::Tgz
    } else if name.ends_with(".tar") {
        PartFormat::Tar
    } else {
        PartFormat::Unknown
    })
}

/// Validates an entry name: relative, no `..`, no drive letter, no backslash or NUL. Returns the
/// normalised `/`-separated path (`.` and empty components removed).
pub fn validate_path(raw: &str) -> Result<String, String> {
    if raw.contains('\0') {
        return Err("entry name contains a NUL byte".into());
    }
    if raw.contains('\\') {
        return Err("entry name contains a backslash (Windows path separator)".into());
    }
    if raw.starts_with('/') {
        return Err("absolute entry path".into());
    }
    let b = raw.as_bytes();
    if b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':' {
        return Err("entry path starts with a drive letter".into());
    }
    let mut out: Vec<&str> = Vec::new();
    for c in raw.split('/') {
        match c {
            "" | "." => {}
            ".." => return Err("entry path escapes the archive (`..`)".into()),
            c => out.push(c),
        }
    }
    if out.is_empty() {
        return Err("empty entry path".into());
    }
    Ok(out.join("/"))
}

struct Lister<'a> {
    part: &'a Path,
    limits: &'a Limits,
    budget: &'a mut usize,
    listing: Listing,
    /// [`Listing::dirs`] by name, while listing.
    dir_ids: HashMap<Box<str>, u32>,
}

impl Lister<'_> {
    /// Adds an entry of `path` to the listing, its folder kept once ([`Listing::dirs`]).
    fn push(&mut self, ordinal: usize, path: &str, size: u64, held: Held) {
        // The catalog keeps positions as `u32`; the entry budget keeps the entries far below,
        // but a part's records that are no entries (folders) count in the position too.
        let Ok(ordinal) = u32::try_from(ordinal) else {
            self.problem(
                Some(path),
                ProblemKind::TooLarge,
                "past the 4,294,967,295th record of its part; skipped",
            );
            return;
        };
        let (dir, name) = match path.rfind('/') {
            Some(i) => path.split_at(i + 1),
            None => ("", path),
        };
        let dir = match self.dir_ids.get(dir) {
            Some(&d) => d,
            None => {
                // At most one per entry, and the entries stay below `u32::MAX` (the scan's
                // budget).
                let d = u32::try_from(self.listing.dirs.len()).expect("fewer folders than entries");
                self.listing.dirs.push(dir.into());
                self.dir_ids.insert(dir.into(), d);
                d
            }
        };
        self.listing.entries.push(RawEntry {
            ordinal,
            dir,
            name: name.into(),
            size,
            held,
        });
    }

    fn problem(&mut self, entry: Option<&str>, kind: ProblemKind, msg: impl Into<String>) {
        self.listing
            .problems
            .push(Problem::new(self.part, entry, kind, msg));
    }

    /// Reports an entry larger than the per-entry cap; true when it must be skipped.
    fn over_entry_limit(&mut self, path: &str, size: u64) -> bool {
        if size <= self.limits.max_entry_bytes {
            return false;
        }
        let msg = format!(
            "{size} bytes is over the {} byte entry limit; skipped",
            self.limits.max_entry_bytes
        );
        self.problem(Some(path), ProblemKind::TooLarge, msg);
        true
    }

    /// Counts one entry against the export-wide budget; false when exhausted.
    fn take_budget(&mut self) -> bool {
        if *self.budget == 0 {
            let msg = format!(
                "more than {} entries in the export: the rest of this part is not listed",
                self.limits.max_entries
            );
            self.problem(None, ProblemKind::TooLarge, msg);
            return false;
        }
        *self.budget -= 1;
        true
    }

    /// Common checks of a file entry's name; `None` when it is skipped.
    fn checked_name(&mut self, raw: &[u8]) -> Option<String> {
        let Ok(name) = std::str::from_utf8(raw) else {
            let shown = String::from_utf8_lossy(raw).into_owned();
            self.problem(
                Some(&shown),
                ProblemKind::InvalidName,
                "entry name is not valid UTF-8; skipped",
            );
            return None;
        };
        match validate_path(name) {
            Ok(p) => Some(p),
            Err(msg) => {
                self.problem(
                    Some(name),
                    ProblemKind::UnsafePath,
                    format!("{msg}; skipped"),
                );
                None
            }
        }
    }

    /// Reads an entry the scan needs, within the JSON size limit.
    /// Whether a JSON/HTML file of this size may be read; else a problem.
    fn json_fits(&mut self, path: &str, size: u64) -> bool {
        if size > self.limits.max_json_bytes {
            let msg = format!(
                "{size} bytes is over the {} byte limit for JSON/HTML; not read",
                self.limits.max_json_bytes
            );
            self.problem(Some(path), ProblemKind::TooLarge, msg);
            return false;
        }
        true
    }

    fn read_small(&mut self, path: &str, size: u64, r: &mut dyn Read) -> Option<Box<[u8]>> {
        if !self.json_fits(path, size) {
            return None;
        }
        let mut buf = Vec::with_capacity(usize::try_from(size).unwrap_or(0).min(1 << 20));
        match Capped::new(r, self.limits.max_json_bytes).read_to_end(&mut buf) {
            Ok(_) => Some(buf.into_boxed_slice()),
            Err(e) => {
                let kind = if is_bomb(&e) {
                    ProblemKind::TooLarge
                } else {
                    ProblemKind::Corrupt
                };
                self.problem(Some(path), kind, format!("cannot read: {e}"));
                None
            }
        }
    }
}

/// Lists one part. Never fails: what goes wrong is in the listing's problems.
pub fn list(part: &Path, limits: &Limits, budget: &mut usize) -> Listing {
    let never = |_: &mut Listing| -> Result<(), std::convert::Infallible> { Ok(()) };
    match list_in_chunks(part, limits, budget, usize::MAX, never) {
        Ok(listing) => listing,
        Err(never) => match never {},
    }
}

/// Lists one part as [`list`] does, giving its entries to `each` as they come, `chunk` at a
/// time (a folder's, walked; every other format's at once): `each` gets the listing with a
/// chunk of entries, and the folders (`dirs`) of this chunk and the ones before, which it must
/// leave as they are; the entries are dropped after. The last chunk (all the entries, when
/// there are no more than `chunk`) is left in the listing returned. A folder part is not cut
/// by Google's part size: an extracted export given as one folder is one part, and its
/// listing held whole grew with the export (some 95 bytes per entry).
///
/// # Errors
/// `each`'s first error, which ends the listing.
pub fn list_in_chunks<E>(
    part: &Path,
    limits: &Limits,
    budget: &mut usize,
    chunk: usize,
    mut each: impl FnMut(&mut Listing) -> Result<(), E>,
) -> Result<Listing, E> {
    let mut l = Lister {
        part,
        limits,
        budget,
        listing: Listing {
            format: PartFormat::Unknown,
            entries: Vec::new(),
            dirs: Vec::new(),
            problems: Vec::new(),
            readable: false,
        },
        dir_ids: HashMap::new(),
    };
    match detect(part) {
        Ok(f) => l.listing.format = f,
        Err(e) => {
            l.problem(None, ProblemKind::Unreadable, format!("cannot open: {e}"));
            return Ok(l.listing);
        }
    }
    match l.listing.format {
        PartFormat::Zip => list_zip(&mut l),
        PartFormat::Tgz | PartFormat::Tar => list_tar(&mut l),
        PartFormat::Folder => list_folder(&mut l, chunk, &mut each)?,
        PartFormat::Unknown => l.problem(
            None,
            ProblemKind::Unreadable,
            "not a zip, tgz, tar or folder (.tbz parts are not supported: choose zip or tgz)",
        ),
    }
    Ok(l.listing)
}

fn list_zip(l: &mut Lister<'_>) {
    let part = l.part;
    let opened = File::open(part).and_then(|f| Ok((f.metadata()?.len(), f)));
    let (file_len, mut file) = match opened {
        Ok(x) => x,
        Err(e) => return l.problem(None, ProblemKind::Unreadable, format!("cannot open: {e}")),
    };
    let unreadable = |l: &mut Lister<'_>, e: std::io::Error| {
        l.problem(
            None,
            ProblemKind::Corrupt,
            format!("cannot read the zip central directory (truncated or corrupt part?): {e}"),
        );
    };
    let dir = match zipdir::locate(&mut file, file_len) {
        Ok(d) => d,
        Err(e) => return unreadable(l, e),
    };
    let listed_before = l.listing.problems.len();
    let budget_before = *l.budget;
    match list_zip_records(l, file, dir, file_len) {
        Ok(()) => l.listing.readable = true,
        // A directory damaged part-way reads as none at all, as a whole: a listing cut short
        // would look like an export without the rest of its entries.
        Err(e) => {
            l.listing.entries = Vec::new();
            l.listing.problems.truncate(listed_before);
            *l.budget = budget_before;
            unreadable(l, e);
        }
    }
}

/// The records of a zip part's directory as listed entries; an error when the directory is
/// damaged.
fn list_zip_records(
    l: &mut Lister<'_>,
    file: File,
    dir: zipdir::Directory,
    file_len: u64,
) -> std::io::Result<()> {
    // Room for every entry at once: grown by doubling, the listing of a part with 133,000
    // entries had room for 262,144 (some 17 MB unused) at the scan's peak. What the end
    // record claims is capped by what the directory's size can hold.
    let claimed = dir
        .entries
        .min(dir.size / zipdir::RECORD_LEN as u64)
        .min(l.limits.max_entries as u64);
    l.listing
        .entries
        .reserve_exact(usize::try_from(claimed).unwrap_or(0));
    let mut records = zipdir::Records::new(file, dir, 1 << 20)?;
    let mut declared_total: u64 = 0;
    let total_cap = file_len
        .saturating_mul(l.limits.max_ratio)
        .saturating_add(RATIO_SLACK);
    // The archive browser page is read once the directory is (its bytes are elsewhere in the
    // file).
    let mut pages = Vec::new();
    let mut i = 0usize;
    let mut rest_skipped = false;
    while let Some(entry) = records.next_record()? {
        let ordinal = i;
        i += 1;
        if entry.is_dir() || rest_skipped {
            continue;
        }
        if !l.take_budget() {
            // The rest is not listed, but the directory is still read to its end: a damaged
            // directory is damaged whatever the budget.
            rest_skipped = true;
            continue;
        }
        let Some(path) = l.checked_name(entry.name) else {
            continue;
        };
        if entry.is_symlink() {
            l.problem(
                Some(&path),
                ProblemKind::Link,
                "symbolic link entry; skipped",
            );
            continue;
        }
        if entry.encrypted() {
            l.problem(
                Some(&path),
                ProblemKind::Unsupported,
                "encrypted entry; skipped",
            );
            continue;
        }
        if entry.method != zipdir::STORED && entry.method != zipdir::DEFLATED {
            l.problem(
                Some(&path),
                ProblemKind::Unsupported,
                format!(
                    "compression method {} not supported; skipped",
                    zip_method_name(entry.method)
                ),
            );
            continue;
        }
        let (size, compressed) = (entry.size, entry.compressed);
        if l.over_entry_limit(&path, size) {
            continue;
        }
        if size >= RATIO_MIN_SIZE && size > compressed.saturating_mul(l.limits.max_ratio) {
            let msg = format!(
                "{size} bytes from {compressed} compressed is over the {}:1 ratio limit (zip bomb?); skipped",
                l.limits.max_ratio
            );
            l.problem(Some(&path), ProblemKind::Bomb, msg);
            continue;
        }
        declared_total = declared_total.saturating_add(size);
        if declared_total > total_cap {
            let msg = format!(
                "declared sizes add up to more than {}:1 of the part's size (overlapping-entry zip bomb?); the rest is not listed",
                l.limits.max_ratio
            );
            l.problem(Some(&path), ProblemKind::Bomb, msg);
            rest_skipped = true;
            continue;
        }
        let is_json = path.to_ascii_lowercase().ends_with(".json");
        // Every entry's place: a JSON file is read there by the scan, a media file by the
        // bytes pass. A JSON file over the limit is never read.
        let at = if !is_json || l.json_fits(&path, size) {
            Some(EntryAt::Zip(ZipLoc {
                header_start: entry.header_start,
                compressed,
                crc32: entry.crc32,
                deflated: entry.method == zipdir::DEFLATED,
            }))
        } else {
            None
        };
        if wants_data(&path) && !is_json {
            pages.push(l.listing.entries.len());
        }
        l.push(ordinal, &path, size, at.map_or(Held::Nothing, Held::At));
    }
    drop(records);
    let mut file = None;
    for at in pages {
        let e = &l.listing.entries[at];
        let (path, size, loc) = (l.listing.path(e), e.size, e.at());
        let Some(loc) = loc else { continue };
        if !l.json_fits(&path, size) {
            continue;
        }
        // A page is no media and no JSON: its place is not needed once it is read.
        match read_json_at(l.part, &mut file, &path, &loc, size) {
            Ok(d) => l.listing.entries[at].held = Held::Data(d.into_boxed_slice()),
            Err(e) => l.problem(
                Some(&path),
                ProblemKind::Corrupt,
                format!("cannot read: {e}"),
            ),
        }
    }
    Ok(())
}

/// The name of a compression method the listing does not read (APPNOTE 4.4.5).
fn zip_method_name(method: u16) -> String {
    let name = match method {
        1 => "Shrink",
        6 => "Implode",
        9 => "Deflate64",
        12 => "Bzip2",
        14 => "LZMA",
        93 => "Zstd",
        95 => "XZ",
        98 => "PPMd",
        99 => "AES (encrypted)",
        _ => return method.to_string(),
    };
    format!("{method} ({name})")
}

/// Opens a tar or tgz part as a guarded stream.
pub fn open_tar(
    part: &Path,
    format: PartFormat,
    limits: &Limits,
) -> std::io::Result<tar::Archive<Box<dyn Read>>> {
    let file = File::open(part)?;
    let reader: Box<dyn Read> = if format == PartFormat::Tgz {
        let count = Rc::new(Cell::new(0));
        let counted = Counting::new(BufReader::new(file), count.clone());
        Box::new(RatioGuard::new(
            MultiGzDecoder::new(counted),
            count,
            limits.max_ratio,
            RATIO_SLACK,
        ))
    } else {
        Box::new(BufReader::new(file))
    };
    Ok(tar::Archive::new(reader))
}

fn list_tar(l: &mut Lister<'_>) {
    let mut ar = match open_tar(l.part, l.listing.format, l.limits) {
        Ok(a) => a,
        Err(e) => return l.problem(None, ProblemKind::Unreadable, format!("cannot open: {e}")),
    };
    let entries = match ar.entries() {
        Ok(e) => e,
        Err(e) => {
            return l.problem(
                None,
                ProblemKind::Corrupt,
                format!("not a readable tar stream: {e}"),
            );
        }
    };
    for (this, res) in entries.enumerate() {
        let mut entry = match res {
            Ok(e) => e,
            Err(e) => {
                let kind = if is_bomb(&e) {
                    ProblemKind::Bomb
                } else {
                    ProblemKind::Corrupt
                };
                let msg = if this == 0 {
                    format!("not a readable tar stream: {e}")
                } else {
                    format!("archive broken after {this} entries (truncated or corrupt part?): {e}")
                };
                l.problem(None, kind, msg);
                break;
            }
        };
        l.listing.readable = true;
        use tar::EntryType as T;
        let kind = entry.header().entry_type();
        if matches!(
            kind,
            T::Directory | T::XGlobalHeader | T::XHeader | T::GNULongName | T::GNULongLink
        ) {
            continue;
        }
        if !l.take_budget() {
            break;
        }
        let raw = entry.path_bytes().into_owned();
        let Some(path) = l.checked_name(&raw) else {
            continue;
        };
        match kind {
            T::Regular | T::Continuous => {}
            T::Symlink | T::Link => {
                let what = if kind == T::Symlink {
                    "symbolic"
                } else {
                    "hard"
                };
                l.problem(
                    Some(&path),
                    ProblemKind::Link,
                    format!("{what} link entry; skipped"),
                );
                continue;
            }
            other => {
                l.problem(
                    Some(&path),
                    ProblemKind::Unsupported,
                    format!("{other:?} entry; skipped"),
                );
                continue;
            }
        }
        let size = entry.size();
        if l.over_entry_limit(&path, size) {
            continue;
        }
        let data = if wants_data(&path) {
            l.read_small(&path, size, &mut entry)
        } else {
            None
        };
        l.push(this, &path, size, data.map_or(Held::Nothing, Held::Data));
    }
    if !l.listing.readable && l.listing.problems.is_empty() {
        l.listing.readable = true; // an empty archive
    }
}

fn list_folder<E>(
    l: &mut Lister<'_>,
    chunk: usize,
    each: &mut impl FnMut(&mut Listing) -> Result<(), E>,
) -> Result<(), E> {
    let root = l.part.to_path_buf();
    l.listing.readable = true;
    let mut stack: Vec<(std::path::PathBuf, String)> = vec![(root, String::new())];
    let mut ordinal = 0usize;
    while let Some((dir, rel)) = stack.pop() {
        let rd = match std::fs::read_dir(&dir) {
            Ok(rd) => rd,
            Err(e) => {
                let shown = if rel.is_empty() {
                    None
                } else {
                    Some(rel.as_str())
                };
                l.problem(
                    shown,
                    ProblemKind::Unreadable,
                    format!("cannot list folder: {e}"),
                );
                continue;
            }
        };
        let mut items: Vec<_> = rd.filter_map(Result::ok).collect();
        items.sort_by_key(|e| e.file_name());
        let mut subdirs = Vec::new();
        for item in items {
            let os = item.file_name();
            let Some(name) = os.to_str() else {
                let shown = format!("{rel}{}", os.to_string_lossy());
                l.problem(
                    Some(&shown),
                    ProblemKind::InvalidName,
                    "file name is not valid UTF-8; skipped",
                );
                continue;
            };
            let path = format!("{rel}{name}");
            let meta = match std::fs::symlink_metadata(item.path()) {
                Ok(m) => m,
                Err(e) => {
                    l.problem(
                        Some(&path),
                        ProblemKind::Unreadable,
                        format!("cannot stat: {e}"),
                    );
                    continue;
                }
            };
            if meta.file_type().is_symlink() {
                l.problem(Some(&path), ProblemKind::Link, "symbolic link; skipped");
            } else if meta.is_dir() {
                subdirs.push((item.path(), format!("{path}/")));
            } else if meta.is_file() {
                if l.listing.entries.len() >= chunk {
                    each(&mut l.listing)?;
                    l.listing.entries.clear();
                }
                if !l.take_budget() {
                    return Ok(());
                }
                let this = ordinal;
                ordinal += 1;
                let size = meta.len();
                if let Err(msg) = validate_path(&path) {
                    l.problem(
                        Some(&path),
                        ProblemKind::UnsafePath,
                        format!("{msg}; skipped"),
                    );
                    continue;
                }
                let is_json = path.to_ascii_lowercase().ends_with(".json");
                let at = (is_json && l.json_fits(&path, size)).then_some(EntryAt::File);
                let data = if wants_data(&path) && !is_json {
                    match File::open(item.path()) {
                        Ok(mut f) => l.read_small(&path, size, &mut f),
                        Err(e) => {
                            l.problem(
                                Some(&path),
                                ProblemKind::Unreadable,
                                format!("cannot open: {e}"),
                            );
                            None
                        }
                    }
                } else {
                    None
                };
                // A JSON file has its place, a page its contents (see `Held`).
                let held = match (at, data) {
                    (Some(at), _) => Held::At(at),
                    (None, Some(d)) => Held::Data(d),
                    (None, None) => Held::Nothing,
                };
                l.push(this, &path, size, held);
            } else {
                l.problem(
                    Some(&path),
                    ProblemKind::Unsupported,
                    "not a regular file; skipped",
                );
            }
        }
        // Depth-first in name order: push in reverse so the first subfolder is walked first.
        stack.extend(subdirs.into_iter().rev());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_validation() {
        assert_eq!(
            validate_path("Takeout/Google Photos/a.jpg").unwrap(),
            "Takeout/Google Photos/a.jpg"
        );
        assert_eq!(validate_path("./Takeout//a.jpg").unwrap(), "Takeout/a.jpg");
        assert!(validate_path("../etc/passwd").unwrap_err().contains(".."));
        assert!(validate_path("Takeout/../../x").is_err());
        assert!(
            validate_path("/etc/passwd")
                .unwrap_err()
                .contains("absolute")
        );
        assert!(validate_path("C:/Windows/x").unwrap_err().contains("drive"));
        assert!(validate_path("c:x").is_err());
        assert!(validate_path("a\\..\\b").unwrap_err().contains("backslash"));
        assert!(validate_path("a\0b").is_err());
        assert!(validate_path("./").is_err());
    }

    #[test]
    fn data_wanted_for_json_and_html() {
        assert!(wants_data("Takeout/x/IMG.jpg.JSON"));
        assert!(wants_data("Takeout/archive_browser.html"));
        assert!(!wants_data("Takeout/x/IMG.jpg"));
    }
}
