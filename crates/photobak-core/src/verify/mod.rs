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

mod repair;

pub use repair::{RepairReport, repair};

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::error::{Error, Result};
use crate::index::{ContentCheck, INDEX_FILE, Index, now};
use crate::manifest::{MANIFEST_FILE, write_manifest_of};
use crate::progress::Progress;
use crate::repo::others::{OTHERS_FILE, others_lines_with};
use crate::repo::store::{hash_file_sized, hex};
use crate::repo::{Repo, WORK_DIR};

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
    let all = stored_files(repo)?;
    let due = files_due(&all, opts, progress);
    let known = Known(all.iter().map(|row| (row.path.as_str(), row.id)).collect());
    let mut report = VerifyReport {
        files_total: all.len() as u64,
        ..Default::default()
    };
    // SQLite's check of the index (a second of one core at 100,000 files) runs on the index's
    // own connection from the start, and everything else alongside it: the files are hashed
    // and the tree is walked (they need no index), then what was found is recorded and the
    // `others.txt` files compared on a second connection, while the manifest is written from
    // the rows read at the start (nothing else changes stored files while the repository is
    // locked). Before, each waited for the one before it.
    let (index_problems, found) = std::thread::scope(|s| {
        let check = s.spawn(|| repo.index.integrity_check());
        let hashing = s.spawn(|| hash_all(repo, &due, opts.threads.max(2), progress, &opts.cancel));
        let walked = walk_tree(repo, &known);
        let hashed = hashing
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        let found = if opts.cancel.is_cancelled() {
            Ok(Some(hashed))
        } else {
            let manifest = s.spawn(|| {
                let mut by_path: Vec<&ContentCheck> = all.iter().collect();
                by_path.sort_unstable_by(|a, b| a.path.cmp(&b.path));
                write_manifest_of(repo, by_path.iter().map(|r| (&r.hash, r.path.as_str())))
            });
            let recorded = record_found(repo, &known, hashed, walked, &mut report);
            let manifest = manifest
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p));
            recorded.and_then(|()| {
                report.manifest_entries = manifest?;
                Ok(None)
            })
        };
        let problems = check
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        (problems, found)
    });
    if let Some(hashed) = found? {
        // Interrupted: what was hashed is true information; keep it, and say the run did not
        // finish.
        report.files_checked = hashed.files;
        repo.index.record_verification(&hashed.good, &[], now())?;
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

/// What the hashing and the walk found, into `report` and the index: damaged files sorted,
/// `verified_at` recorded, orphans and leftovers, the `others.txt` problems. On a second
/// connection to the index, since the first is busy with SQLite's check (on the first, should
/// the index not open twice).
fn record_found(
    repo: &Repo,
    known: &Known<'_>,
    hashed: Hashed,
    walked: Result<Walked>,
    report: &mut VerifyReport,
) -> Result<()> {
    let second = repo.index.second_connection(SECOND_CACHE_KIB);
    if let Err(e) = &second {
        tracing::debug!("verify: no second connection to the index ({e}); waiting for the first");
    }
    let index = second.as_ref().unwrap_or(&repo.index);
    report.files_checked = hashed.files;
    report.bytes_checked = hashed.bytes;
    let mut good = hashed.good;
    // Sorted, for `check_others` to look up which files were just read whole.
    good.sort_unstable();
    for d in hashed.damaged {
        if d.actual.is_none() && d.error.as_deref() == Some("missing") {
            report.missing.push(d);
        } else {
            report.corrupted.push(d);
        }
    }
    report.missing.sort_by(|a, b| a.path.cmp(&b.path));
    report.corrupted.sort_by(|a, b| a.path.cmp(&b.path));
    // Damaged files lose their verification (see `Index::record_verification`).
    let damaged_ids: Vec<i64> = report
        .missing
        .iter()
        .chain(&report.corrupted)
        .map(|d| d.content_id)
        .collect();
    index.record_verification(&good, &damaged_ids, now())?;
    let (orphans, temps, others_files) = walked?;
    report.orphans = orphans;
    report.temp_leftovers = temps;
    report.others = check_others(repo, index, known, &good, &others_files)?;
    Ok(())
}

/// The page cache of the second connection (KiB): it writes every stored file's row once and
/// reads the memberships, so a small one will do, and `verify` stays in bounded memory.
const SECOND_CACHE_KIB: i64 = 4096;

/// Every stored file as recorded (the set the tree walk compares with).
fn stored_files(repo: &Repo) -> Result<Vec<ContentCheck>> {
    let mut all: Vec<ContentCheck> = Vec::new();
    repo.index.each_content_check(|row| all.push(row))?;
    Ok(all)
}

/// The files to re-hash this time: all, or those `--only`, `--since` and `--sample` leave.
fn files_due<'a>(
    all: &'a [ContentCheck],
    opts: &VerifyOptions,
    progress: &dyn Progress,
) -> Vec<&'a ContentCheck> {
    // Files verified within `--since` are not re-hashed.
    let cutoff = opts
        .since
        .map(|d| now() - i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let mut due: Vec<&ContentCheck> = all
        .iter()
        .filter(|row| {
            opts.only.as_ref().is_none_or(|o| o.contains(&row.id))
                && cutoff.is_none_or(|cut| row.verified_at.is_none_or(|v| v < cut))
        })
        .collect();
    if let Some(p) = opts.sample_percent {
        let mut rng = fastrand::Rng::new();
        rng.shuffle(&mut due);
        let keep = ((due.len() as f64) * p.clamp(0.0, 100.0) / 100.0).ceil() as usize;
        due.truncate(keep);
    }
    for row in &due {
        progress.queued(Some(row.size.max(0) as u64));
    }
    due
}

/// The stored files the index names: the rows hashed are the same rows the tree walk looks up,
/// so each path is held once (a set of copied paths was a third of `verify`'s memory at 100,000
/// files).
struct Known<'a>(HashMap<&'a str, i64>);

impl Known<'_> {
    fn contains(&self, rel: &str) -> bool {
        self.0.contains_key(rel)
    }

    /// The content row id of a stored file's path.
    fn id(&self, rel: &str) -> Option<i64> {
        self.0.get(rel).copied()
    }
}

/// Re-hashes only `files` (the stored files of one Takeout export's items, before the inbox
/// removes its parts) with the check's own hashing, and records the outcome as `verify` does:
/// `verified_at` for the good ones, cleared for the damaged ones. Returns how many were read
/// and the damaged ones (missing, unreadable or with other bytes).
///
/// # Errors
/// Index failures; [`Error::Cancelled`] when `cancel` fired.
pub fn rehash_files(
    repo: &Repo,
    files: &[crate::index::DeliveredFile],
    cancel: &CancellationToken,
) -> Result<(u64, Vec<DamagedFile>)> {
    let rows: Vec<crate::index::ContentCheck> = files
        .iter()
        .map(|f| crate::index::ContentCheck {
            id: f.content_id,
            path: f.path.clone(),
            hash: f.blake3,
            size: f.size,
            verified_at: None,
        })
        .collect();
    let rows: Vec<&crate::index::ContentCheck> = rows.iter().collect();
    let hashed = hash_all(
        repo,
        &rows,
        default_threads(),
        &crate::progress::NoProgress,
        cancel,
    );
    if cancel.is_cancelled() {
        return Err(Error::Cancelled);
    }
    let damaged: Vec<i64> = hashed.damaged.iter().map(|d| d.content_id).collect();
    repo.index
        .record_verification(&hashed.good, &damaged, crate::index::now())?;
    Ok((hashed.files, hashed.damaged))
}

/// What [`hash_all`] found.
struct Hashed {
    damaged: Vec<DamagedFile>,
    /// Content ids whose bytes match the record.
    good: Vec<i64>,
    /// Files read to the end (good or corrupted).
    files: u64,
    /// Bytes read.
    bytes: u64,
}

/// Hashes the rows on `threads` threads, stopping between files when `cancel` fires.
fn hash_all(
    repo: &Repo,
    rows: &[&ContentCheck],
    threads: usize,
    progress: &dyn Progress,
    cancel: &CancellationToken,
) -> Hashed {
    let next = AtomicUsize::new(0);
    let damaged = Mutex::new(Vec::new());
    let good = Mutex::new(Vec::new());
    let files = AtomicU64::new(0);
    let bytes = AtomicU64::new(0);
    std::thread::scope(|s| {
        for _ in 0..threads.min(rows.len().max(1)) {
            s.spawn(|| {
                // One buffer per thread, grown to the largest file up to 1 MiB: a buffer per
                // file was allocated and zeroed 100,000 times.
                let mut buf = Vec::new();
                loop {
                    if cancel.is_cancelled() {
                        break;
                    }
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(row) = rows.get(i) else {
                        break;
                    };
                    let result = hash_file_sized(
                        &repo.abs(&row.path),
                        u64::try_from(row.size).unwrap_or(0),
                        &mut buf,
                    );
                    let damaged_as = |actual: Option<String>, error: Option<String>| DamagedFile {
                        content_id: row.id,
                        path: row.path.clone(),
                        expected: hex(&row.hash),
                        actual,
                        size: row.size,
                        error,
                    };
                    match result {
                        Ok((h, n)) => {
                            progress.bytes(n);
                            files.fetch_add(1, Ordering::Relaxed);
                            bytes.fetch_add(n, Ordering::Relaxed);
                            if h == row.hash {
                                good.lock().unwrap_or_else(|p| p.into_inner()).push(row.id);
                            } else {
                                damaged
                                    .lock()
                                    .unwrap_or_else(|p| p.into_inner())
                                    .push(damaged_as(Some(hex(&h)), None));
                            }
                        }
                        Err(e) => {
                            let error = if e.kind() == std::io::ErrorKind::NotFound {
                                "missing".to_string()
                            } else {
                                e.to_string()
                            };
                            damaged
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .push(damaged_as(None, Some(error)));
                        }
                    }
                    progress.finished();
                }
            });
        }
    });
    Hashed {
        damaged: damaged.into_inner().unwrap_or_else(|p| p.into_inner()),
        good: good.into_inner().unwrap_or_else(|p| p.into_inner()),
        files: files.into_inner(),
        bytes: bytes.into_inner(),
    }
}

/// Files that belong to the tree without being stored content.
fn ignored(rel: &str) -> bool {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    let top_level = !rel.contains('/');
    (top_level && (name.starts_with(INDEX_FILE) || name == MANIFEST_FILE || is_log(name)))
        || name == OTHERS_FILE
        || name.to_ascii_lowercase().ends_with(".xmp")
        || name.eq_ignore_ascii_case("Thumbs.db")
        || name == ".DS_Store"
        || name.eq_ignore_ascii_case("desktop.ini")
}

/// A log kept at the repository root (`--log REPO/photobak.log`, rotated to `photobak.log.1`…).
fn is_log(name: &str) -> bool {
    match name.rsplit_once(".log") {
        Some((stem, rest)) => {
            !stem.is_empty()
                && (rest.is_empty()
                    || rest
                        .strip_prefix('.')
                        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())))
        }
        None => false,
    }
}

/// Temporary files of photobak's atomic writes (`.<name>.tmp-<pid>`) and staged downloads.
fn is_temp(name: &str) -> bool {
    (name.starts_with('.') && name.contains(".tmp-")) || name.ends_with(".part")
}

type Walked = (Vec<String>, Vec<String>, Vec<String>);

/// Walks the repository: orphans, temporary leftovers, and every `others.txt`.
fn walk_tree(repo: &Repo, known: &Known<'_>) -> Result<Walked> {
    let mut orphans = Vec::new();
    let mut temps = Vec::new();
    let mut others = Vec::new();
    let mut stack = vec![String::new()];
    while let Some(rel_dir) = stack.pop() {
        let dir = repo.abs(&rel_dir);
        let rd = match std::fs::read_dir(&dir) {
            Ok(rd) => rd,
            Err(e) => return Err(Error::io(format!("reading {}", dir.display()), e)),
        };
        for e in rd {
            let e = e.map_err(|e| Error::io(format!("reading {}", dir.display()), e))?;
            let name = e.file_name().to_string_lossy().to_string();
            let rel = if rel_dir.is_empty() {
                name.clone()
            } else {
                format!("{rel_dir}/{name}")
            };
            let ft = e
                .file_type()
                .map_err(|err| Error::io(format!("reading {}", e.path().display()), err))?;
            if ft.is_dir() {
                if rel == WORK_DIR {
                    // Only the staging area of downloads matters here; the lock and the trash
                    // are photobak's own.
                    if let Ok(rd) = std::fs::read_dir(repo.tmp_dir()) {
                        for t in rd.flatten() {
                            temps.push(format!(
                                "{WORK_DIR}/tmp/{}",
                                t.file_name().to_string_lossy()
                            ));
                        }
                    }
                    continue;
                }
                stack.push(rel);
                continue;
            }
            if known.contains(&rel) {
                // A stored file, whatever its name looks like (a photo named `x.part`).
                continue;
            } else if is_temp(&name) {
                temps.push(rel);
            } else if name == OTHERS_FILE {
                others.push(rel);
            } else if !known.contains(&rel) && !ignored(&rel) {
                orphans.push(rel);
            }
        }
    }
    orphans.sort();
    temps.sort();
    others.sort();
    Ok((orphans, temps, others))
}

/// What each album's `others.txt` must hold, by file (the rule of `Repo::refresh_all_others`),
/// from the stored files `known` holds.
fn expected_others(index: &Index, known: &Known<'_>) -> Result<BTreeMap<String, BTreeSet<String>>> {
    let mut out = BTreeMap::new();
    for account in index.accounts()? {
        let albums = index.albums(account.id)?;
        let mut lines = others_lines_with(index, account.id, &albums, |each| {
            for (path, id) in &known.0 {
                each(*id, path);
            }
            Ok(())
        })?;
        for album in albums {
            let lines = lines.remove(&album.id).unwrap_or_default();
            out.insert(
                format!("{}/{OTHERS_FILE}", album.folder),
                lines.into_iter().collect(),
            );
        }
    }
    Ok(out)
}

/// Compares every `others.txt` (those on disk, and those the index says must exist) with what
/// it must hold. `whole` (sorted) are the content ids this run read whole: a line naming one
/// names a file, without asking the file system again.
fn check_others(
    repo: &Repo,
    index: &Index,
    known: &Known<'_>,
    whole: &[i64],
    on_disk: &[String],
) -> Result<Vec<OthersProblem>> {
    let expected = expected_others(index, known)?;
    let mut problems = Vec::new();
    let mut files: BTreeSet<&String> = on_disk.iter().collect();
    files.extend(
        expected
            .iter()
            .filter(|(_, l)| !l.is_empty())
            .map(|(f, _)| f),
    );
    for file in files {
        let text = std::fs::read_to_string(repo.abs(file)).unwrap_or_default();
        let actual: BTreeSet<String> = text
            .lines()
            .map(|l| l.trim_end_matches('\r').to_string())
            .filter(|l| !l.is_empty())
            .collect();
        let want = expected.get(file);
        for line in &actual {
            let is_file = match known.id(line) {
                None => false,
                Some(id) => whole.binary_search(&id).is_ok() || repo.abs(line).is_file(),
            };
            let kind = if !is_file {
                "dangling"
            } else if want.is_some_and(|w| w.contains(line)) {
                continue;
            } else {
                "unexpected"
            };
            problems.push(OthersProblem {
                file: file.clone(),
                line: line.clone(),
                kind: kind.into(),
            });
        }
        for line in want.into_iter().flatten() {
            if !actual.contains(line) {
                problems.push(OthersProblem {
                    file: file.clone(),
                    line: line.clone(),
                    kind: "missing".into(),
                });
            }
        }
    }
    Ok(problems)
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
}
