//! The Takeout inbox: a folder that export parts arrive in (a browser's download folder, a
//! folder Drive, Dropbox or OneDrive sync into), imported by one command that can run forever.
//!
//! Each run finds the parts (`takeout-…Z-001.zip`, `takeout-…Z-3-001.tgz`, …) at the folder's
//! top level, groups them by export id (the name up to the timestamp's `Z`), and decides per
//! export, from `stat` and the index alone:
//!
//! - **waiting**: a part is still being written (a browser's partial name such as
//!   `.crdownload`, or modified less than the settle time ago, or changed during the run);
//! - **incomplete**: part numbers are not contiguous from 001, or a part cannot be read as an
//!   archive (a truncated download). Google does not say how many parts an export has (the
//!   `archive_browser.html` of real exports states sizes and counts, but in markup photobak
//!   has no sample of, so nothing is read from it): photobak relies on contiguous numbers and
//!   on every part opening. A missing *last* part is indistinguishable from a complete export
//!   once the others settled; its later arrival makes the export "changed", and the re-import
//!   reads only the entries whose item has no file yet;
//! - **new**, or **changed** (a part was added, replaced or grew since the import): imported,
//!   oldest export first, through [`crate::takeout_import::import_takeout`];
//! - **already imported**: every part is as recorded (size and modification time; when only
//!   the time changed, a fingerprint of the first and last MiB and the size decides between a
//!   touched file and a replaced one). Nothing is opened, so a rerun over many large parts
//!   costs one `stat` per part.
//!
//! A part is recorded as imported only when its export's import finished with no failed entry,
//! with the size, time and fingerprint it had when read; an import with a failed entry is tried
//! again on the next run (which reads only the entries still missing).
//!
//! `--remove-imported` deletes a local part only when its export was imported (in this run)
//! with no failed entry, no problem that could have cost an item and nothing left in its Trash,
//! and every stored file its items name re-hashes clean. No partial input causes a deletion:
//! a part is never removed before the export it belongs to was read whole.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use photobak_takeout::names::{PartName, parse_part_name};
use photobak_takeout::{Limits, ProblemKind};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::error::{Error, IoContext, Result};
use crate::index::{PartRecord, PartSeen};
use crate::progress::Progress;
use crate::repo::Repo;
use crate::summary::RunSummary;
use crate::takeout_import::{ImportOptions, import_takeout};

/// How long a part must stay unmodified before it is read: a browser or a sync client may be
/// writing it without a partial name (sync clients often write in place).
pub const DEFAULT_SETTLE: Duration = Duration::from_secs(60);

/// Names browsers and download tools give a file while they write it (Chrome, Firefox, Edge,
/// Safari's folder, Opera, others).
const PARTIAL_SUFFIXES: &[&str] = &[
    ".crdownload",
    ".part",
    ".partial",
    ".download",
    ".opdownload",
    ".tmp",
];

/// Bytes hashed at each end of a part for its fingerprint. The end of a zip is its central
/// directory, which lists every entry's CRC-32, so another export of the same size almost
/// surely differs there.
const FINGERPRINT_SPAN: u64 = 1 << 20;

/// What an inbox run should do.
#[derive(Debug, Clone)]
pub struct InboxOptions {
    /// The inbox folders.
    pub folders: Vec<PathBuf>,
    /// How every export is imported (its `parts` are filled in per export).
    pub import: ImportOptions,
    /// Delete local parts of exports that imported clean and verify clean.
    pub remove_imported: bool,
    /// How long a part must be unmodified before it is read.
    pub settle: Duration,
}

/// What the run decided about an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// No part of it was imported before.
    New,
    /// A part was added, replaced or grew since its import.
    Changed,
    /// Every part is as it was imported: nothing to do.
    AlreadyImported,
    /// Parts are missing or cannot be read; imported once complete.
    Incomplete,
    /// A part is still being written; left alone.
    Waiting,
}

impl Decision {
    /// The decision in words.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::New => "new",
            Decision::Changed => "changed",
            Decision::AlreadyImported => "already imported",
            Decision::Incomplete => "incomplete",
            Decision::Waiting => "waiting",
        }
    }
}

/// One export found in the inbox.
#[derive(Debug, Clone, Serialize)]
pub struct ExportReport {
    /// `takeout-20260921T101010Z`.
    pub export_id: String,
    /// What was decided.
    pub decision: Decision,
    /// Why, in words.
    pub why: String,
    /// The part files found (names).
    pub parts: Vec<String>,
    /// Part numbers missing (`002`, or `3-002` with a middle segment).
    pub missing: Vec<String>,
    /// The import, when one ran.
    pub import: Option<RunSummary>,
    /// Why the import stopped, when it did not finish.
    pub error: Option<String>,
    /// The import finished with no failed entry and its parts are recorded as imported.
    pub imported: bool,
    /// Parts removed (`--remove-imported`).
    pub removed: Vec<String>,
    /// Bytes removed.
    pub removed_bytes: u64,
    /// Why removing was safe, or why the parts were kept.
    pub removal: Option<String>,
}

impl ExportReport {
    fn new(export_id: &str, decision: Decision, why: impl Into<String>) -> ExportReport {
        ExportReport {
            export_id: export_id.to_owned(),
            decision,
            why: why.into(),
            parts: Vec::new(),
            missing: Vec::new(),
            import: None,
            error: None,
            imported: false,
            removed: Vec::new(),
            removed_bytes: 0,
            removal: None,
        }
    }

    /// True unless its import failed (as a whole, or an entry).
    pub fn ok(&self) -> bool {
        self.error.is_none() && self.import.as_ref().is_none_or(RunSummary::ok)
    }
}

/// The report of one inbox run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct InboxSummary {
    /// The folders read (absolute).
    pub folders: Vec<String>,
    /// Every export with at least one part in the folders, oldest first.
    pub exports: Vec<ExportReport>,
    /// Downloads in progress whose name says no export (`Unconfirmed 1234.crdownload`).
    pub unnamed_downloads: Vec<String>,
    /// Wall time.
    pub elapsed_secs: f64,
}

impl InboxSummary {
    /// True when no import failed.
    pub fn ok(&self) -> bool {
        self.exports.iter().all(ExportReport::ok)
    }

    /// True when the run imported nothing and removed nothing.
    pub fn nothing_done(&self) -> bool {
        self.exports
            .iter()
            .all(|e| e.import.is_none() && e.error.is_none() && e.removed.is_empty())
    }
}

/// A part file found at a folder's top level.
#[derive(Debug, Clone)]
struct Found {
    location: String,
    path: PathBuf,
    name: String,
    export_id: String,
    slot: Slot,
    size: u64,
    mtime_ns: i64,
    /// A browser's partial download.
    partial: bool,
}

impl Found {
    fn seen<'a>(&'a self, fingerprint: [u8; 32]) -> PartSeen<'a> {
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
    fn unchanged_on_disk(&self) -> bool {
        std::fs::metadata(&self.path)
            .is_ok_and(|m| m.len() == self.size && mtime_ns(&m) == self.mtime_ns)
    }
}

/// A part chosen for its export, with its fingerprint once known.
struct Chosen {
    found: Found,
    fingerprint: Option<[u8; 32]>,
    /// Other files with the same content for the same part number (a second download).
    copies: Vec<Found>,
}

impl Chosen {
    /// The part and its copies.
    fn files(&self) -> impl Iterator<Item = &Found> {
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

fn has_partial_suffix(name: std::ffi::OsString) -> bool {
    let lower = name.to_string_lossy().to_ascii_lowercase();
    PARTIAL_SUFFIXES.iter().any(|s| lower.ends_with(s))
}

fn mtime_ns(m: &std::fs::Metadata) -> i64 {
    m.modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

fn now_ns() -> i64 {
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
fn scan_folder(dir: &Path) -> Result<(String, Vec<Found>, Vec<String>)> {
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
type Slot = (Option<u32>, u32);

/// The part numbers missing for an export to be read whole, per middle segment from 001 to
/// the highest number present or imported before (the 2026 layout's index archive `…Z-001`
/// and media parts `…Z-1-001` are counted apart); and which of those were imported before
/// and are no longer here.
fn missing_parts(
    present: &BTreeSet<Slot>,
    imported: &BTreeSet<Slot>,
) -> (Vec<String>, Vec<String>) {
    let mut highest: BTreeMap<Option<u32>, u32> = BTreeMap::new();
    for &(seg, n) in present.iter().chain(imported) {
        let h = highest.entry(seg).or_default();
        *h = (*h).max(n);
    }
    let mut missing = Vec::new();
    let mut gone = Vec::new();
    for (&seg, &max) in &highest {
        for n in 1..=max {
            if !present.contains(&(seg, n)) {
                missing.push(slot_text((seg, n)));
                if imported.contains(&(seg, n)) {
                    gone.push(slot_text((seg, n)));
                }
            }
        }
    }
    (missing, gone)
}

fn slot_text((segment, number): Slot) -> String {
    match segment {
        Some(s) => format!("{s}-{number:03}"),
        None => format!("{number:03}"),
    }
}

/// Runs the inbox once: finds, decides, imports oldest first, removes when asked. Blocking:
/// call it from a blocking thread, with the repository open (and locked) for this run only.
///
/// # Errors
/// When a folder cannot be read, the index fails, or the run was cancelled; an export that
/// cannot be imported is reported in the summary and the others go on.
pub fn run_inbox(
    repo: &Arc<Repo>,
    opts: &InboxOptions,
    progress: &Arc<dyn Progress>,
    cancel: &CancellationToken,
) -> Result<InboxSummary> {
    let started = Instant::now();
    let mut summary = InboxSummary::default();
    let mut records: BTreeMap<(String, String), PartRecord> = BTreeMap::new();
    let mut groups: BTreeMap<String, Vec<Found>> = BTreeMap::new();
    for dir in &opts.folders {
        let (location, found, unnamed) = scan_folder(dir)?;
        for r in repo.index.folder_parts(&location)? {
            records.insert((r.location.clone(), r.name.clone()), r);
        }
        for f in found {
            groups.entry(f.export_id.clone()).or_default().push(f);
        }
        summary.unnamed_downloads.extend(unnamed);
        summary.folders.push(location);
    }
    // Export ids carry their timestamp (`takeout-YYYYMMDDTHHMMSSZ`), so their order is the
    // order Google made them: oldest first.
    for (export_id, parts) in groups {
        if cancel.is_cancelled() {
            return Err(Error::Cancelled);
        }
        let (mut report, chosen) = decide(repo, &export_id, parts, &records, opts)?;
        if let Some(chosen) = chosen {
            import_export(repo, opts, &mut report, &chosen, progress, cancel)?;
        }
        summary.exports.push(report);
    }
    summary.elapsed_secs = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// What a part is compared with its record.
enum PartState {
    New,
    Unchanged,
    /// Same content, another modification time.
    Touched,
    Changed(&'static str),
}

/// Decides what to do with one export; the parts to import when it is to be imported.
fn decide(
    repo: &Repo,
    export_id: &str,
    parts: Vec<Found>,
    records: &BTreeMap<(String, String), PartRecord>,
    opts: &InboxOptions,
) -> Result<(ExportReport, Option<Vec<Chosen>>)> {
    let names: Vec<String> = parts.iter().map(|p| p.name.clone()).collect();
    let with_parts = |mut r: ExportReport| {
        r.parts.clone_from(&names);
        r
    };
    if let Some(p) = parts.iter().find(|p| p.partial) {
        let why = format!("still being written: {}", p.name);
        return Ok((
            with_parts(ExportReport::new(export_id, Decision::Waiting, why)),
            None,
        ));
    }
    let settle_ns = i64::try_from(opts.settle.as_nanos()).unwrap_or(i64::MAX);
    let now = now_ns();
    // A file being written has a time of about now. A time in the future beyond the settle
    // window comes from a sync client keeping the remote time, or a skewed clock, not from a
    // write in progress: waiting for it would wait forever.
    let fresh = |p: &&Found| {
        let age = now.saturating_sub(p.mtime_ns);
        age < settle_ns && age > -settle_ns
    };
    if let Some(p) = parts.iter().find(fresh) {
        let why = format!(
            "still being written: {} was modified less than {} s ago",
            p.name,
            opts.settle.as_secs()
        );
        return Ok((
            with_parts(ExportReport::new(export_id, Decision::Waiting, why)),
            None,
        ));
    }

    // One file per part number. A browser's second download of a part (`… (1).zip`) with the
    // same content is the same part; two different files for one number need a person.
    let mut by_slot: BTreeMap<Slot, Vec<Found>> = BTreeMap::new();
    for p in parts {
        by_slot.entry(p.slot).or_default().push(p);
    }
    let mut chosen: Vec<Chosen> = Vec::new();
    for (slot, mut files) in by_slot {
        files.sort_by(|a, b| (a.name.len(), &a.name).cmp(&(b.name.len(), &b.name)));
        let mut fps = Vec::new();
        // Copies recorded as imported and unchanged were compared when they were imported:
        // a rerun reads neither again.
        let all_recorded = files.iter().all(|f| {
            records
                .get(&(f.location.clone(), f.name.clone()))
                .is_some_and(|r| {
                    r.imported_at.is_some()
                        && r.export_id == export_id
                        && r.size == f.size
                        && r.mtime_ns == Some(f.mtime_ns)
                })
        });
        if files.len() > 1 && !all_recorded {
            for f in &files {
                match fingerprint(&f.path, f.size) {
                    Ok(fp) => fps.push((f.size, fp)),
                    Err(e) => {
                        let why = format!("cannot read {}: {e}", f.name);
                        let r = ExportReport::new(export_id, Decision::Incomplete, why);
                        return Ok((with_parts(r), None));
                    }
                }
            }
            if fps.iter().any(|x| *x != fps[0]) {
                let list: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
                let why = format!(
                    "two different files for part {}: {}; remove the wrong one",
                    slot_text(slot),
                    list.join(", ")
                );
                let r = ExportReport::new(export_id, Decision::Incomplete, why);
                return Ok((with_parts(r), None));
            }
        }
        let first = files.remove(0);
        chosen.push(Chosen {
            found: first,
            fingerprint: fps.first().map(|x| x.1),
            copies: files,
        });
    }

    // Each part against what the index remembers of it.
    let mut states = Vec::with_capacity(chosen.len());
    for c in &mut chosen {
        let key = (c.found.location.clone(), c.found.name.clone());
        let state = match records.get(&key) {
            Some(r) if r.imported_at.is_some() && r.export_id == export_id => {
                if r.size != c.found.size {
                    PartState::Changed(if c.found.size > r.size {
                        "grew"
                    } else {
                        "was replaced"
                    })
                } else if r.mtime_ns == Some(c.found.mtime_ns) {
                    PartState::Unchanged
                } else {
                    let fp = match fingerprint(&c.found.path, c.found.size) {
                        Ok(fp) => fp,
                        Err(e) => {
                            let why = format!("cannot read {}: {e}", c.found.name);
                            let r = ExportReport::new(export_id, Decision::Incomplete, why);
                            return Ok((with_parts(r), None));
                        }
                    };
                    c.fingerprint = Some(fp);
                    if r.fingerprint == Some(fp) {
                        PartState::Touched
                    } else {
                        PartState::Changed("was replaced")
                    }
                }
            }
            _ => PartState::New,
        };
        states.push(state);
    }
    let imported_slots: BTreeSet<Slot> = records
        .values()
        .filter(|r| r.export_id == export_id && r.imported_at.is_some())
        .filter_map(|r| part_name(&r.name).map(|(p, _)| (p.segment, p.number)))
        .collect();
    let pending = states
        .iter()
        .any(|s| matches!(s, PartState::New | PartState::Changed(_)));
    if !pending {
        for (c, s) in chosen.iter().zip(&states) {
            if matches!(s, PartState::Touched) {
                repo.index
                    .touch_part(&c.found.location, &c.found.name, c.found.mtime_ns)?;
            }
        }
        let why = if opts.remove_imported {
            format!(
                "{} parts as imported; read again to check it before its parts are removed",
                chosen.len()
            )
        } else {
            format!("{} parts as imported: nothing to do", chosen.len())
        };
        let r = with_parts(ExportReport::new(export_id, Decision::AlreadyImported, why));
        // Removing its parts needs the list of items it delivered: the export is read again
        // (directories and JSON; no entry's bytes, as every item has its file).
        let again = opts.remove_imported;
        return Ok((r, again.then_some(chosen)));
    }

    // An export is read whole: every number from 001 to the highest one seen must be here.
    let present: BTreeSet<Slot> = chosen.iter().map(|c| c.found.slot).collect();
    let (missing, gone) = missing_parts(&present, &imported_slots);
    if !missing.is_empty() {
        let mut why = format!(
            "part{} {} missing (found {}); imported once every part is here",
            if missing.len() == 1 { "" } else { "s" },
            missing.join(", "),
            present
                .iter()
                .map(|s| slot_text(*s))
                .collect::<Vec<_>>()
                .join(", ")
        );
        if !gone.is_empty() {
            why.push_str(&format!(
                "; {} imported before and no longer here: a changed export is read whole, so \
                 put {} back",
                gone.join(", "),
                if gone.len() == 1 { "it" } else { "them" }
            ));
        }
        let mut r = with_parts(ExportReport::new(export_id, Decision::Incomplete, why));
        r.missing = missing;
        return Ok((r, None));
    }
    let changes: Vec<String> = chosen
        .iter()
        .zip(&states)
        .filter_map(|(c, s)| match s {
            PartState::New if !imported_slots.is_empty() => Some(format!("{} added", c.found.name)),
            PartState::Changed(how) => Some(format!("{} {how}", c.found.name)),
            _ => None,
        })
        .collect();
    let r = if imported_slots.is_empty() {
        let why = format!("{} parts, not imported before", chosen.len());
        ExportReport::new(export_id, Decision::New, why)
    } else {
        let why = format!("{} since its import", changes.join(", "));
        ExportReport::new(export_id, Decision::Changed, why)
    };
    Ok((with_parts(r), Some(chosen)))
}

/// Problems of a Takeout scan that never cost an item (the importer logs them as warnings):
/// other products skipped, a sidecar without a time, Google's failed videos and the Locked
/// Folder, both imported and reported.
fn harmless(kind: ProblemKind) -> bool {
    matches!(
        kind,
        ProblemKind::Ignored
            | ProblemKind::MissingTime
            | ProblemKind::FailedVideo
            | ProblemKind::LockedFolder
    )
}

/// Checks that every part opens, imports the export, records its parts, and removes them when
/// asked and safe.
fn import_export(
    repo: &Arc<Repo>,
    opts: &InboxOptions,
    report: &mut ExportReport,
    chosen: &[Chosen],
    progress: &Arc<dyn Progress>,
    cancel: &CancellationToken,
) -> Result<()> {
    let waiting = |report: &mut ExportReport, name: &str| {
        report.decision = Decision::Waiting;
        report.why = format!("still being written: {name} changed during this run");
    };
    // Fingerprints of parts seen for the first time (two MiB each): what the record keeps.
    let mut fps = Vec::with_capacity(chosen.len());
    for c in chosen {
        let fp = match c.fingerprint {
            Some(fp) => fp,
            None => match fingerprint(&c.found.path, c.found.size) {
                Ok(fp) => fp,
                Err(e) => {
                    report.decision = Decision::Incomplete;
                    report.why = format!("cannot read {}: {e}", c.found.name);
                    return Ok(());
                }
            },
        };
        fps.push(fp);
    }
    if let Some(f) = chosen
        .iter()
        .flat_map(Chosen::files)
        .find(|f| !f.unchanged_on_disk())
    {
        waiting(report, &f.name);
        return Ok(());
    }
    let seen: Vec<PartSeen<'_>> = chosen
        .iter()
        .zip(&fps)
        .flat_map(|(c, fp)| c.files().map(|f| f.seen(*fp)))
        .collect();
    if report.decision != Decision::AlreadyImported {
        repo.index.note_parts_seen(&seen)?;
    }
    // Every part must open as an archive before anything is recorded of the export: a
    // truncated download would otherwise be imported as an export lacking items. (For a zip
    // this reads its directory and JSON; a tgz is streamed once more.)
    let paths: Vec<PathBuf> = chosen.iter().map(|c| c.found.path.clone()).collect();
    let catalog = match photobak_takeout::scan(&paths, &Limits::default()) {
        Ok(c) => c,
        Err(e) => {
            report.decision = Decision::Incomplete;
            report.why = format!("no part can be read as an archive: {e}");
            return Ok(());
        }
    };
    let broken: Vec<String> = catalog
        .parts
        .iter()
        .filter(|p| !p.readable)
        .map(|p| p.path.display().to_string())
        .chain(
            catalog
                .problems
                .iter()
                .filter(|p| {
                    p.entry.is_none()
                        && matches!(p.kind, ProblemKind::Corrupt | ProblemKind::Unreadable)
                })
                .map(ToString::to_string),
        )
        .collect();
    if !broken.is_empty() {
        report.decision = Decision::Incomplete;
        report.why = format!(
            "a part cannot be read as an archive (a truncated download?): {}; imported once \
             it can",
            broken.join("; ")
        );
        return Ok(());
    }
    let costly = catalog
        .problems
        .iter()
        .filter(|p| !harmless(p.kind))
        .count();
    drop(catalog);

    let import_opts = ImportOptions {
        parts: paths,
        ..opts.import.clone()
    };
    let s = match import(repo, &import_opts, progress, cancel) {
        Ok(s) => s,
        Err(Error::Cancelled) => return Err(Error::Cancelled),
        Err(e) => {
            report.error = Some(e.to_string());
            return Ok(());
        }
    };
    let ok = s.ok();
    let account = repo.ensure_account(&s.account)?;
    report.import = Some(s);
    if let Some(f) = chosen
        .iter()
        .flat_map(Chosen::files)
        .find(|f| !f.unchanged_on_disk())
    {
        // Read while it changed: not recorded, so the next run reads it again.
        report.why = format!(
            "{}; {} changed while it was read, so it is read again on the next run",
            report.why, f.name
        );
        return Ok(());
    }
    if !ok {
        // Not recorded as imported: the next run tries again (reading only what is missing).
        if opts.remove_imported {
            let failed = report.import.as_ref().map_or(0, |s| s.failed.len());
            report.removal = Some(format!(
                "parts kept: {failed} entries failed; the next run reads them again"
            ));
        }
        return Ok(());
    }
    repo.index.mark_parts_imported(&seen, account.id)?;
    report.imported = true;
    if opts.remove_imported {
        remove_parts(repo, report, chosen, account.id, costly, cancel)?;
    }
    Ok(())
}

/// The one call into the Takeout importer.
fn import(
    repo: &Arc<Repo>,
    opts: &ImportOptions,
    progress: &Arc<dyn Progress>,
    cancel: &CancellationToken,
) -> Result<RunSummary> {
    // The inbox runs on a blocking thread of the runtime; the import is the engine's, async.
    tokio::runtime::Handle::current().block_on(import_takeout(
        repo.clone(),
        opts,
        progress.clone(),
        cancel.clone(),
    ))
}

/// Removes the parts of an export just imported with no failed entry, when nothing in the
/// import may have cost an item and every stored file its items name re-hashes clean.
fn remove_parts(
    repo: &Repo,
    report: &mut ExportReport,
    chosen: &[Chosen],
    account_id: i64,
    costly_problems: usize,
    cancel: &CancellationToken,
) -> Result<()> {
    let Some(s) = report.import.as_ref() else {
        return Ok(());
    };
    let mut blockers = Vec::new();
    if !s.failed.is_empty() {
        blockers.push(format!("{} entries failed", s.failed.len()));
    }
    if costly_problems > 0 {
        blockers.push(format!(
            "{costly_problems} problems in the export may have cost an item"
        ));
    }
    let trash: u64 = s
        .skipped
        .iter()
        .filter(|(k, _)| k.starts_with("in Trash"))
        .map(|(_, n)| n)
        .sum();
    if trash > 0 {
        blockers.push(format!(
            "{trash} items in its Trash were not imported (--include-trash)"
        ));
    }
    let items = s.items;
    let mut files_checked = 0;
    if let Some(run) = repo.index.last_import_run(account_id)? {
        let (without_file, files) = repo.index.files_seen_by_run(run)?;
        if without_file > 0 {
            blockers.push(format!("{without_file} of its items have no stored file"));
        }
        let (read, damaged) = crate::verify::rehash_files(repo, &files, cancel)?;
        files_checked = read;
        if !damaged.is_empty() {
            let paths: Vec<&str> = damaged.iter().take(5).map(|d| d.path.as_str()).collect();
            blockers.push(format!(
                "{} stored files did not verify ({})",
                damaged.len(),
                paths.join(", ")
            ));
        }
    } else {
        blockers.push("its import run is not recorded".into());
    }
    if !blockers.is_empty() {
        report.removal = Some(format!("parts kept: {}", blockers.join("; ")));
        return Ok(());
    }
    let mut kept = Vec::new();
    for f in chosen.iter().flat_map(Chosen::files) {
        if !f.unchanged_on_disk() {
            kept.push(format!("{} changed since it was read", f.name));
            continue;
        }
        match std::fs::remove_file(&f.path) {
            Ok(()) => {
                repo.index.mark_part_removed(&f.location, &f.name)?;
                report.removed.push(f.name.clone());
                report.removed_bytes += f.size;
            }
            Err(e) => kept.push(format!("{}: {e}", f.name)),
        }
    }
    let mut why = format!(
        "removed {} parts: imported with no failed entry and no problem that could cost an \
         item, and the {files_checked} stored files of its {items} items re-hashed clean",
        report.removed.len()
    );
    if !kept.is_empty() {
        why.push_str(&format!("; kept {}", kept.join("; ")));
    }
    report.removal = Some(why);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_names_and_partial_downloads() {
        let (p, partial) = part_name("takeout-20260921T101010Z-001.zip").unwrap();
        assert_eq!(
            (p.export_id.as_str(), p.number, partial),
            ("takeout-20260921T101010Z", 1, false)
        );
        let (p, partial) = part_name("takeout-20260921T101010Z-3-002.tgz.crdownload").unwrap();
        assert_eq!((p.segment, p.number, partial), (Some(3), 2, true));
        assert!(
            part_name("takeout-20260921T101010Z-004.tar.gz.part")
                .unwrap()
                .1
        );
        assert!(!part_name("takeout-20260921T101010Z-002 (1).zip").unwrap().1);
        assert!(part_name("takeout-20260921T101010Z-001.txt").is_none());
        assert!(part_name("takeout-20260921T101010Z-001").is_none());
        assert!(part_name("Unconfirmed 1234.crdownload").is_none());
        assert!(part_name("holiday.zip").is_none());
    }

    #[test]
    fn missing_parts_are_counted_per_segment_from_001() {
        let set = |v: &[Slot]| v.iter().copied().collect::<BTreeSet<Slot>>();
        // The 2026 layout: an index archive `…Z-001` beside media parts `…Z-1-001…`.
        let all = set(&[(None, 1), (Some(1), 1), (Some(1), 2)]);
        assert_eq!(missing_parts(&all, &set(&[])), (vec![], vec![]));
        let (m, g) = missing_parts(&set(&[(None, 1), (Some(1), 2)]), &set(&[]));
        assert_eq!((m, g), (vec!["1-001".to_string()], vec![]));
        // 002 was imported before and is gone; 004 arrived: both needed to read it whole.
        let (m, g) = missing_parts(
            &set(&[(None, 1), (None, 3), (None, 4)]),
            &set(&[(None, 1), (None, 2), (None, 3)]),
        );
        assert_eq!((m, g), (vec!["002".to_string()], vec!["002".to_string()]));
        // A part only imported before raises the highest number.
        let (m, _) = missing_parts(&set(&[(None, 1)]), &set(&[(None, 3)]));
        assert_eq!(m, vec!["002".to_string(), "003".to_string()]);
    }

    #[test]
    fn a_fresh_part_waits_a_part_from_the_future_does_not() {
        let t = tempfile::tempdir().unwrap();
        let repo = Arc::new(Repo::open(&t.path().join("repo")).unwrap());
        let inbox = t.path().join("inbox");
        std::fs::create_dir_all(&inbox).unwrap();
        let part = inbox.join("takeout-20260101T000000Z-001.zip");
        std::fs::write(&part, b"not a zip").unwrap();
        let opts = InboxOptions {
            folders: vec![inbox],
            import: ImportOptions::default(),
            remove_imported: false,
            settle: Duration::from_secs(60),
        };
        let progress: Arc<dyn Progress> = Arc::new(crate::progress::NoProgress);
        let run = || {
            let s = run_inbox(&repo, &opts, &progress, &CancellationToken::new()).unwrap();
            (s.exports[0].decision, s.exports[0].why.clone())
        };
        let (d, why) = run();
        assert_eq!(d, Decision::Waiting, "{why}");
        // A day ahead (a sync client's remote time): not a write in progress, so it is read,
        // and found not to be an archive.
        let f = std::fs::File::options().write(true).open(&part).unwrap();
        f.set_modified(SystemTime::now() + Duration::from_secs(86_400))
            .unwrap();
        let (d, why) = run();
        assert_eq!(d, Decision::Incomplete, "{why}");
        assert!(why.contains("be read as an archive"), "{why}");
    }

    #[test]
    fn fingerprint_sees_both_ends_and_the_size() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("a");
        let mut bytes = vec![1u8; 3 << 20];
        std::fs::write(&p, &bytes).unwrap();
        let a = fingerprint(&p, bytes.len() as u64).unwrap();
        // The middle is not read.
        bytes[(3 << 20) / 2] = 9;
        std::fs::write(&p, &bytes).unwrap();
        assert_eq!(fingerprint(&p, bytes.len() as u64).unwrap(), a);
        // The last byte is.
        let n = bytes.len();
        bytes[n - 1] = 9;
        std::fs::write(&p, &bytes).unwrap();
        assert_ne!(fingerprint(&p, n as u64).unwrap(), a);
        // A small file is hashed whole.
        std::fs::write(&p, b"abc").unwrap();
        let small = fingerprint(&p, 3).unwrap();
        std::fs::write(&p, b"abd").unwrap();
        assert_ne!(fingerprint(&p, 3).unwrap(), small);
    }

    #[test]
    fn an_inbox_holds_part_files_an_extracted_export_does_not() {
        let t = tempfile::tempdir().unwrap();
        let inbox = t.path().join("inbox");
        std::fs::create_dir_all(&inbox).unwrap();
        assert!(!is_inbox(&inbox));
        std::fs::write(
            inbox.join("takeout-20260921T101010Z-001.zip.crdownload"),
            b"",
        )
        .unwrap();
        assert!(is_inbox(&inbox));
        let extracted = t.path().join("takeout-20260921T101010Z-001");
        std::fs::create_dir_all(extracted.join("Takeout/Google Photos")).unwrap();
        assert!(!is_inbox(&extracted));
        // A folder of extracted parts is an export, not an inbox.
        assert!(!is_inbox(t.path()));
    }
}
