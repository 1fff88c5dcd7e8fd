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

use photobak_takeout::ProblemKind;
use photobak_takeout::names::{PartName, parse_part_name};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::error::{Error, IoContext, Result};
use crate::index::{PartRecord, PartSeen};
use crate::progress::Progress;
use crate::repo::Repo;
use crate::summary::RunSummary;
use crate::takeout_import::{ImportOptions, import_takeout};

mod decide;
mod found;
mod import;

use decide::{decide, harmless};
use found::{Chosen, Found, Slot, missing_parts, now_ns, scan_folder, slot_text};
pub use found::{fingerprint, is_inbox, part_name};
pub(crate) use found::{gaps, mtime_ns};
use import::import_export;

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
