//! The parts in an inbox folder: which files are Takeout parts (and which are still being
//! downloaded), what they are made of (size, time, fingerprint), and which part numbers an
//! export still lacks.

use super::*;

/// A part file found at a folder's top level.
#[derive(Debug, Clone)]
pub(super) struct Found {
    pub(super) location: String,
    pub(super) path: PathBuf,
    pub(super) name: String,
    pub(super) export_id: String,
    pub(super) slot: Slot,
    pub(super) size: u64,
    pub(super) mtime_ns: i64,
    /// A browser's partial download.
    pub(super) partial: bool,
}

impl Found {
    pub(super) fn seen<'a>(&'a self, fingerprint: [u8; 32]) -> PartSeen<'a> {
        PartSeen {
            location: &self.location,
            name: &self.name,
            export_id: &self.export_id,
            size: self.size,
            mtime_ns: self.mtime_ns,
            fingerprint,
        }
    }

    /// True while the file has the size and time it was found with.
    pub(super) fn unchanged_on_disk(&self) -> bool {
        std::fs::metadata(&self.path)
            .is_ok_and(|m| m.len() == self.size && mtime_ns(&m) == self.mtime_ns)
    }
}

/// A part chosen for its export, with its fingerprint once known.
pub(super) struct Chosen {
    pub(super) found: Found,
    pub(super) fingerprint: Option<[u8; 32]>,
    /// Other files with the same content for the same part number (a second download).
    pub(super) copies: Vec<Found>,
}

impl Chosen {
    /// The part and its copies.
    pub(super) fn files(&self) -> impl Iterator<Item = &Found> {
        std::iter::once(&self.found).chain(&self.copies)
    }
}

/// Reads a Takeout part's name: the part, and whether it is a partial download. Only archive
/// names count (`.zip`, `.tgz`, `.tar.gz`), with a browser's counter (` (1)`) tolerated.
pub fn part_name(file_name: &str) -> Option<(PartName, bool)> {
    let lower = file_name.to_ascii_lowercase();
    let (base_len, partial) = PARTIAL_SUFFIXES
        .iter()
        .find(|s| lower.ends_with(*s))
        .map_or((file_name.len(), false), |s| {
            (file_name.len() - s.len(), true)
        });
    let base = &lower[..base_len];
    let archive = [".zip", ".tgz", ".tar.gz"]
        .iter()
        .any(|e| base.ends_with(e));
    if !archive {
        return None;
    }
    parse_part_name(&file_name[..base_len]).map(|p| (p, partial))
}

/// The rule that tells an inbox from an extracted export: a folder is an inbox when its top
/// level holds a file named like a Takeout part (`takeout-…Z-001.zip`, `.tgz`, `.tar.gz`), or
/// such a download in progress. An extracted export holds `Takeout/` (or the product folder)
/// and no part file, and keeps being read as one export, as before.
pub fn is_inbox(dir: &Path) -> bool {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return false;
    };
    rd.filter_map(std::result::Result::ok).any(|e| {
        e.file_name().to_str().and_then(part_name).is_some()
            && e.file_type()
                .is_ok_and(|t| !t.is_dir() || has_partial_suffix(e.file_name()))
    })
}

pub(super) fn has_partial_suffix(name: std::ffi::OsString) -> bool {
    let lower = name.to_string_lossy().to_ascii_lowercase();
    PARTIAL_SUFFIXES.iter().any(|s| lower.ends_with(s))
}

pub(crate) fn mtime_ns(m: &std::fs::Metadata) -> i64 {
    m.modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

pub(super) fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// BLAKE3 of a file's first and last MiB (the whole file when smaller) and its size.
pub fn fingerprint(path: &Path, size: u64) -> std::io::Result<[u8; 32]> {
    let mut f = std::fs::File::open(path)?;
    let span = size.min(FINGERPRINT_SPAN);
    let mut h = blake3::Hasher::new();
    let mut buf = Vec::with_capacity(usize::try_from(span).unwrap_or(0));
    (&mut f).take(span).read_to_end(&mut buf)?;
    h.update(&buf);
    buf.clear();
    f.seek(SeekFrom::Start(size - span))?;
    (&mut f).take(span).read_to_end(&mut buf)?;
    h.update(&buf);
    h.update(&size.to_le_bytes());
    Ok(*h.finalize().as_bytes())
}

/// The part files at a folder's top level, and downloads in progress that name no part.
pub(super) fn scan_folder(dir: &Path) -> Result<(String, Vec<Found>, Vec<String>)> {
    let abs = std::fs::canonicalize(dir).ctx(|| format!("reading the inbox {}", dir.display()))?;
    let location = abs.to_string_lossy().into_owned();
    let rd = std::fs::read_dir(&abs).ctx(|| format!("reading the inbox {}", abs.display()))?;
    let mut found = Vec::new();
    let mut unnamed = Vec::new();
    for entry in rd {
        let entry = entry.ctx(|| format!("reading the inbox {}", abs.display()))?;
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        let path = entry.path();
        let Some((part, partial)) = part_name(&name) else {
            let lower = name.to_ascii_lowercase();
            // Not `.tmp`: many programs leave those, and they say nothing about a download.
            if PARTIAL_SUFFIXES
                .iter()
                .any(|s| *s != ".tmp" && lower.ends_with(s))
            {
                unnamed.push(name);
            }
            continue;
        };
        // Followed: a sync client may place links. A part that vanished meanwhile is skipped.
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        // Safari downloads into a `NAME.download` folder; other folders named like parts are
        // extracted parts, read only when given as an export.
        if meta.is_dir() && !partial {
            continue;
        }
        found.push(Found {
            location: location.clone(),
            path,
            name,
            export_id: part.export_id,
            slot: (part.segment, part.number),
            size: if meta.is_dir() { 0 } else { meta.len() },
            mtime_ns: mtime_ns(&meta),
            partial,
        });
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    unnamed.sort();
    Ok((location, found, unnamed))
}

/// A part's place in its export: (middle segment, number).
pub(crate) type Slot = (Option<u32>, u32);

/// The part numbers missing for an export to be read whole, per middle segment from 001 to
/// the highest number present or imported before (the 2026 layout's index archive `…Z-001`
/// and media parts `…Z-1-001` are counted apart); and which of those were imported before
/// and are no longer here.
pub(super) fn missing_parts(
    present: &BTreeSet<Slot>,
    imported: &BTreeSet<Slot>,
) -> (Vec<String>, Vec<String>) {
    let mut missing = Vec::new();
    let mut gone = Vec::new();
    for slot in gaps(present, imported) {
        missing.push(slot_text(slot));
        if imported.contains(&slot) {
            gone.push(slot_text(slot));
        }
    }
    (missing, gone)
}

/// The part slots absent from `present`, per middle segment from 001 to the highest number
/// present or imported before: the one rule of "is this export whole", for the inbox and for
/// the exports found in Google Drive.
pub(crate) fn gaps(present: &BTreeSet<Slot>, imported: &BTreeSet<Slot>) -> Vec<Slot> {
    let mut highest: BTreeMap<Option<u32>, u32> = BTreeMap::new();
    for &(seg, n) in present.iter().chain(imported) {
        let h = highest.entry(seg).or_default();
        *h = (*h).max(n);
    }
    highest
        .into_iter()
        .flat_map(|(seg, max)| (1..=max).map(move |n| (seg, n)))
        .filter(|slot| !present.contains(slot))
        .collect()
}

pub(super) fn slot_text((segment, number): Slot) -> String {
    match segment {
        Some(s) => format!("{s}-{number:03}"),
        None => format!("{number:03}"),
    }
}
