//! Verify: is the archive what the index says it is?
//!
//! - every stored file is re-hashed with BLAKE3, streaming, on several threads, and compared
//!   with the index: missing or corrupted files are reported, good ones get `verified_at`;
//! - the tree is walked for files the index does not know (orphans) and for leftovers of
//!   interrupted writes (temporary files);
//! - every album's `others.txt` is compared with what the index says it must hold: dangling
//!   lines (pointing at no stored file), missing lines, lines that do not belong;
//! - SQLite checks the index itself.
//!
//! `--sample` and `--since` make periodic scrubs of large archives cheap: re-hash a random
//! share of the files, or only those not verified recently. The structural checks always run.
//!
//! [`repair`] (in `repair.rs`: it fetches from sources, the check never does) fixes what can be
//! fixed: missing or corrupted files are fetched again from the
//! Library API (`mediaItems.get` for a fresh base URL, then the one ingest path, which restores
//! the file in place), `others.txt` files are regenerated, temporary leftovers removed. For
//! items only Takeout delivered it names the export to import again.

mod hashing;
mod repair;
mod tree;

pub use repair::{RepairReport, repair};

use std::collections::BTreeSet;
use std::time::Duration;

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::error::{Error, Result};
use crate::index::{ContentCheck, Index};
use crate::manifest::write_manifest;
use crate::progress::Progress;
use crate::repo::Repo;
use hashing::{Due, Hashed, each_stored_file, hash_due, hash_fed};
use tree::{Walked, check_others, walk_tree};

/// What `verify` should check.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// Re-hash only this percentage of the files (chosen at random).
    pub sample_percent: Option<f64>,
    /// Re-hash only files not verified within this long.
    pub since: Option<Duration>,
    /// Hashing threads (at least 2).
    pub threads: usize,
    /// Re-hash only these files (content row ids), e.g. to confirm a repair.
    pub only: Option<BTreeSet<i64>>,
    /// Stops the re-hashing between files (Ctrl-C): what was hashed so far keeps its
    /// `verified_at`, and the run is recorded as interrupted.
    pub cancel: CancellationToken,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            sample_percent: None,
            since: None,
            threads: default_threads(),
            only: None,
            cancel: CancellationToken::new(),
        }
    }
}

/// Two threads, or more on machines with more cores (hashing is I/O-bound on disks).
pub fn default_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .clamp(2, 8)
}

/// A stored file that is not as recorded.
#[derive(Debug, Clone, Serialize)]
pub struct DamagedFile {
    /// Content row id.
    pub content_id: i64,
    /// Repository-relative path.
    pub path: String,
    /// Recorded BLAKE3, hex.
    pub expected: String,
    /// BLAKE3 found on disk, hex (None when unreadable or missing).
    pub actual: Option<String>,
    /// Recorded size.
    pub size: i64,
    /// Why it could not be read, if so.
    pub error: Option<String>,
}

/// A problem with one line of an `others.txt`.
#[derive(Debug, Clone, Serialize)]
pub struct OthersProblem {
    /// The `others.txt` (repository-relative).
    pub file: String,
    /// The line (a repository-relative path).
    pub line: String,
    /// `dangling` (names no stored file), `missing` (the index says it must be there) or
    /// `unexpected` (a stored file that is not a member of the album).
    pub kind: String,
}

/// Everything verify found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct VerifyReport {
    /// Files the index records.
    pub files_total: u64,
    /// Files re-hashed this time (read to the end; a missing or unreadable file is not
    /// counted here but in [`VerifyReport::missing`] or [`VerifyReport::corrupted`]).
    pub files_checked: u64,
    /// Bytes re-hashed.
    pub bytes_checked: u64,
    /// Files recorded but absent.
    pub missing: Vec<DamagedFile>,
    /// Files whose bytes differ from the record.
    pub corrupted: Vec<DamagedFile>,
    /// Files in the tree the index does not know.
    pub orphans: Vec<String>,
    /// Leftovers of interrupted writes.
    pub temp_leftovers: Vec<String>,
    /// `others.txt` problems.
    pub others: Vec<OthersProblem>,
    /// SQLite's integrity check messages (empty when healthy).
    pub index_problems: Vec<String>,
    /// Lines written to `photobak.b3`.
    pub manifest_entries: u64,
    /// Wall time.
    pub elapsed_secs: f64,
}

impl VerifyReport {
    /// True when nothing is wrong.
    pub fn ok(&self) -> bool {
        self.problem_count() == 0
    }

    /// Number of problems of every kind.
    pub fn problem_count(&self) -> usize {
        self.missing.len()
            + self.corrupted.len()
            + self.orphans.len()
            + self.temp_leftovers.len()
            + self.others.len()
            + self.index_problems.len()
    }
}

/// Checks the repository. Changes nothing but `verified_at`, the run record and the manifest.
///
/// # Errors
/// Index or file-system failures that stop the check itself (damage is reported, not an
/// error); [`Error::Cancelled`] when `opts.cancel` fired.
pub fn verify(repo: &Repo, opts: &VerifyOptions, progress: &dyn Progress) -> Result<VerifyReport> {
    let started = std::time::Instant::now();
    let run = repo.index.begin_run("verify", None)?;
    // SQLite's check of the index (a second of one core at 100,000 files) runs on the index's
    // own connection from the start, and the rest alongside it on a second one: the files are
    // hashed while the tree is walked, then the `others.txt` files are compared while the
    // manifest is written (on the first connection, once the check is done with it). Before,
    // each waited for the one before it.
    let second = repo.index.second_connection(SECOND_CACHE_KIB);
    if let Err(e) = &second {
        tracing::debug!("verify: no second connection to the index ({e}); waiting for the first");
    }
    let index = second.as_ref().unwrap_or(&repo.index);
    let (files_total, due) = announce(index, opts, progress)?;
    let mut report = VerifyReport {
        files_total,
        ..Default::default()
    };
    let threads = opts.threads.max(2);
    let (index_problems, found) = std::thread::scope(|s| {
        let check = s.spawn(|| repo.index.integrity_check());
        let hashing = s.spawn(|| hash_due(repo, index, due, threads, progress, &opts.cancel));
        let walked = walk_tree(repo, index);
        let hashed = hashing
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        let found = match hashed {
            Err(e) => Err(e),
            Ok(hashed) if opts.cancel.is_cancelled() => Ok(Some(hashed)),
            Ok(hashed) => {
                // From the index, by path, on the first connection once SQLite's check is done
                // with it: nothing else changes stored files while the repository is locked.
                let manifest = s.spawn(|| write_manifest(repo));
                let recorded = record_found(repo, index, hashed, walked, &mut report);
                let manifest = manifest
                    .join()
                    .unwrap_or_else(|p| std::panic::resume_unwind(p));
                recorded.and_then(|()| {
                    report.manifest_entries = manifest?;
                    Ok(None)
                })
            }
        };
        let problems = check
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        (problems, found)
    });
    if let Some(hashed) = found? {
        // Interrupted: what was hashed is recorded already (true information); say the run did
        // not finish.
        report.files_checked = hashed.files;
        let summary = serde_json::json!({
            "files_checked": report.files_checked,
            "stopped": "interrupted",
        });
        repo.index.finish_run(run, false, &summary.to_string())?;
        return Err(Error::Cancelled);
    }
    report.index_problems = index_problems?;
    report.elapsed_secs = started.elapsed().as_secs_f64();
    let summary = serde_json::json!({
        "files_total": report.files_total,
        "files_checked": report.files_checked,
        "bytes_checked": report.bytes_checked,
        "missing": report.missing.len(),
        "corrupted": report.corrupted.len(),
        "orphans": report.orphans.len(),
        "temp_leftovers": report.temp_leftovers.len(),
        "others": report.others.len(),
        "index_problems": report.index_problems.len(),
    });
    repo.index
        .finish_run(run, report.ok(), &summary.to_string())?;
    Ok(report)
}

/// Counts the stored files, chooses which are re-hashed this time (`--only`, `--since`,
/// `--sample`) and announces them to `progress`, each with its size, before any is read. Two
/// passes over the stored files when sampling (the share is of those the filters leave).
fn announce<'a>(
    index: &Index,
    opts: &'a VerifyOptions,
    progress: &dyn Progress,
) -> Result<(u64, Due<'a>)> {
    let filters = Due::filters(opts);
    let (mut total, mut eligible) = (0u64, 0u64);
    each_stored_file(index, |row| {
        total += 1;
        if filters.eligible(row) {
            eligible += 1;
            if opts.sample_percent.is_none() {
                progress.queued(Some(row.size.max(0) as u64));
            }
        }
        Ok(true)
    })?;
    let due = filters.sampled(opts.sample_percent, eligible);
    if opts.sample_percent.is_some() {
        // The same choice as the hashing's, from a copy of the same seed.
        let mut same = due.clone();
        each_stored_file(index, |row| {
            if same.take(row) {
                progress.queued(Some(row.size.max(0) as u64));
            }
            Ok(true)
        })?;
    }
    Ok((total, due))
}

/// What the hashing and the walk found, into `report` and the index: damaged files sorted,
/// orphans and leftovers, the `others.txt` problems. On the second connection to the index,
/// since the first is busy with SQLite's check (on the first, should the index not open
/// twice).
fn record_found(
    repo: &Repo,
    index: &Index,
    hashed: Hashed,
    walked: Result<Walked>,
    report: &mut VerifyReport,
) -> Result<()> {
    report.files_checked = hashed.files;
    report.bytes_checked = hashed.bytes;
    for d in hashed.damaged {
        if d.actual.is_none() && d.error.as_deref() == Some("missing") {
            report.missing.push(d);
        } else {
            report.corrupted.push(d);
        }
    }
    report.missing.sort_by(|a, b| a.path.cmp(&b.path));
    report.corrupted.sort_by(|a, b| a.path.cmp(&b.path));
    let (orphans, temps, others_files) = walked?;
    report.orphans = orphans;
    report.temp_leftovers = temps;
    report.others = check_others(repo, index, &others_files)?;
    Ok(())
}

/// The page cache of the second connection (KiB): it reads every stored file's row a page at a
/// time, writes each once and looks up every file of the tree, so a small one will do, and
/// `verify` stays in bounded memory.
const SECOND_CACHE_KIB: i64 = 4096;

/// Re-hashes only `files` (the stored files of one Takeout export's items, before the inbox
/// removes its parts) with the check's own hashing, and records the outcome as `verify` does:
/// `verified_at` for the good ones, cleared for the damaged ones (on a cancel, for those read
/// before it). Returns how many were read and the damaged ones (missing, unreadable or with
/// other bytes).
///
/// # Errors
/// Index failures; [`Error::Cancelled`] when `cancel` fired.
pub fn rehash_files(
    repo: &Repo,
    files: &[crate::index::DeliveredFile],
    cancel: &CancellationToken,
) -> Result<(u64, Vec<DamagedFile>)> {
    let progress = crate::progress::NoProgress;
    let hashed = hash_fed(
        repo,
        &repo.index,
        default_threads(),
        &progress,
        cancel,
        |send| {
            for f in files {
                let row = ContentCheck {
                    id: f.content_id,
                    path: f.path.clone(),
                    hash: f.blake3,
                    size: f.size,
                    verified_at: None,
                };
                if cancel.is_cancelled() || !send(row) {
                    break;
                }
            }
            Ok(())
        },
    )?;
    if cancel.is_cancelled() {
        return Err(Error::Cancelled);
    }
    Ok((hashed.files, hashed.damaged))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::NoProgress;

    fn fixture() -> (tempfile::TempDir, Repo) {
        let t = tempfile::tempdir().unwrap();
        let repo = Repo::open(t.path()).unwrap();
        let acc = repo.ensure_account("v@example.com").unwrap();
        let album = repo
            .index
            .upsert_album(
                &acc,
                &crate::index::AlbumSpec {
                    remote_id: "A",
                    source: crate::kinds::Source::Library,
                    title: "A",
                    description: None,
                    kind: crate::kinds::AlbumKind::User,
                    raw_json: None,
                },
                None,
                |_| format!("{}/A", acc.folder),
            )
            .unwrap();
        let other = repo
            .index
            .upsert_album(
                &acc,
                &crate::index::AlbumSpec {
                    remote_id: "B",
                    source: crate::kinds::Source::Library,
                    title: "B",
                    description: None,
                    kind: crate::kinds::AlbumKind::User,
                    raw_json: None,
                },
                None,
                |_| format!("{}/B", acc.folder),
            )
            .unwrap();
        let run = repo.index.begin_run("backup", Some(acc.id)).unwrap();
        for (i, bytes) in [b"one".as_slice(), b"two", b"three"].iter().enumerate() {
            let id = repo
                .index
                .upsert_item(
                    acc.id,
                    &format!("r{i}"),
                    &crate::index::ItemMeta {
                        filename: format!("f{i}.jpg"),
                        ..Default::default()
                    },
                    run,
                    crate::kinds::Source::Library,
                    None,
                )
                .unwrap()
                .id;
            repo.index.add_membership(album.id, id).unwrap();
            let rel = format!("{}/f{i}.jpg", album.folder);
            std::fs::create_dir_all(repo.abs(&album.folder)).unwrap();
            std::fs::write(repo.abs(&rel), bytes).unwrap();
            repo.index
                .test_content(&rel, bytes, Some(album.id), Some(id));
            if i == 0 {
                repo.index.add_membership(other.id, id).unwrap();
            }
        }
        repo.refresh_others(other.id, &other.folder).unwrap();
        (t, repo)
    }

    #[test]
    fn healthy_repository_verifies_and_records_verified_at() {
        let (_t, repo) = fixture();
        let r = verify(&repo, &VerifyOptions::default(), &NoProgress).unwrap();
        assert!(r.ok(), "{r:?}");
        assert_eq!(r.files_checked, 3);
        assert_eq!(r.manifest_entries, 3);
        let unverified = repo.index.test_unverified_count();
        assert_eq!(unverified, 0);
        // --since skips what was just verified; --sample 34% checks one file of three... or so.
        let r = verify(
            &repo,
            &VerifyOptions {
                since: Some(Duration::from_secs(3600)),
                ..Default::default()
            },
            &NoProgress,
        )
        .unwrap();
        assert_eq!(r.files_checked, 0);
        let r = verify(
            &repo,
            &VerifyOptions {
                sample_percent: Some(34.0),
                ..Default::default()
            },
            &NoProgress,
        )
        .unwrap();
        assert_eq!(r.files_checked, 2);
    }

    #[test]
    fn every_kind_of_damage_is_found() {
        let (_t, repo) = fixture();
        let folder = "googlephotos/v_at_example.com";
        std::fs::write(repo.abs(&format!("{folder}/A/f1.jpg")), b"tw0").unwrap();
        std::fs::remove_file(repo.abs(&format!("{folder}/A/f2.jpg"))).unwrap();
        std::fs::write(repo.abs(&format!("{folder}/A/stray.jpg")), b"?").unwrap();
        std::fs::write(repo.abs(&format!("{folder}/A/.x.tmp-1")), b"?").unwrap();
        std::fs::write(repo.abs(&format!("{folder}/A/f1.jpg.xmp")), b"<x/>").unwrap();
        std::fs::write(repo.abs("photobak.log"), b"log").unwrap();
        std::fs::write(repo.abs("photobak.log.3"), b"log").unwrap();
        std::fs::write(
            repo.abs(&format!("{folder}/B/others.txt")),
            format!("{folder}/A/gone.jpg\n"),
        )
        .unwrap();
        // A's own members, listed in its others.txt: the whole one and the corrupted one are
        // files that do not belong there, the missing one names no file.
        std::fs::write(
            repo.abs(&format!("{folder}/A/others.txt")),
            format!("{folder}/A/f2.jpg\n{folder}/A/f1.jpg\n{folder}/A/f0.jpg\n"),
        )
        .unwrap();
        let r = verify(&repo, &VerifyOptions::default(), &NoProgress).unwrap();
        assert_eq!(r.corrupted.len(), 1, "{r:?}");
        assert_eq!(r.missing.len(), 1);
        // The missing file was not re-hashed; the corrupted one was.
        assert_eq!((r.files_total, r.files_checked, r.bytes_checked), (3, 2, 6));
        assert_eq!(r.orphans, vec![format!("{folder}/A/stray.jpg")]);
        assert_eq!(r.temp_leftovers, vec![format!("{folder}/A/.x.tmp-1")]);
        let kinds: Vec<&str> = r.others.iter().map(|o| o.kind.as_str()).collect();
        assert_eq!(
            kinds,
            vec![
                "unexpected",
                "unexpected",
                "dangling",
                "dangling",
                "missing"
            ],
            "{:?}",
            r.others
        );
        assert!(!r.ok());
    }

    /// A folder of more files than are looked up one by one: its stored files are read in one
    /// range of the path index, which also holds the files of its subfolders and stops before
    /// a sibling whose name continues it (`Big0`, `Big 2`); only the stray file is an orphan.
    #[test]
    fn a_folder_of_many_files_is_checked_in_one_range() {
        let (_t, repo) = fixture();
        let folder = "googlephotos/v_at_example.com";
        let put = |rel: String, stored: bool| {
            std::fs::create_dir_all(repo.abs(&rel).parent().unwrap()).unwrap();
            std::fs::write(repo.abs(&rel), rel.as_bytes()).unwrap();
            if stored {
                repo.index.test_content(&rel, rel.as_bytes(), None, None);
            }
        };
        for i in 0..40 {
            put(format!("{folder}/Big/p{i:02}.jpg"), true);
        }
        put(format!("{folder}/Big/sub/deep.jpg"), true);
        put(format!("{folder}/Big0/n.jpg"), true);
        put(format!("{folder}/Big 2/n.jpg"), true);
        put(format!("{folder}/Big/stray.jpg"), false);
        // A stored file's name in another folder does not make a file of this one stored.
        put(format!("{folder}/Big/n.jpg"), false);
        let r = verify(&repo, &VerifyOptions::default(), &NoProgress).unwrap();
        assert_eq!(
            r.orphans,
            vec![
                format!("{folder}/Big/n.jpg"),
                format!("{folder}/Big/stray.jpg")
            ]
        );
        assert_eq!((r.files_total, r.files_checked), (46, 46));
        assert!(r.missing.is_empty() && r.corrupted.is_empty(), "{r:?}");
    }
}
