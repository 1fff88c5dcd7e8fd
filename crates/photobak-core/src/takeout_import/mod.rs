//! Google Takeout import: each export is the next snapshot of the library, merged into the
//! repository through the same store-and-dedup path as the API backups.
//!
//! Two passes, because a `.tgz` can only be streamed: the first ([`photobak_takeout::scan`])
//! reads every part's directory and JSON and pairs media with sidecars; here every media entry
//! then becomes an item (metadata, albums, provenance) without touching its bytes. The second
//! pass streams only the entries whose item has no stored file yet, so importing the same export
//! again reads and writes nothing.
//!
//! Identity: a sidecar's `url` (`https://photos.google.com/photo/AF1Qip…`) is the item's stable
//! id across exports, and the copies of one item in its year folder and its album folders share
//! it, so they become one item with several album memberships. Older exports carry no `url`:
//! then the sidecar's `title`, its `photoTakenTime` and the file's size name the item
//! (`takeout-meta:…`), the same for every copy, as long as nothing in the export says two
//! copies differ (two of them in one folder, or different zip CRC-32s); otherwise, and without
//! a capture time, each copy keeps a folder-scoped id. Edited variants and live-photo companions
//! are items of their own, linked to their original, with ids derived from it. Media without a
//! sidecar are identified by folder and name (merging them by name could store one photo's
//! bytes as another's); identical bytes still meet in the content store. Google's special
//! folders (Archive, Trash, Failed Videos, Locked Folder) are no albums: their items go to the
//! year folder of their capture time.
//!
//! Times and places: the capture time is the file's EXIF `DateTimeOriginal` with its offset when
//! present and sane, else the sidecar's `photoTakenTime` (UTC); both are kept, with the winner's
//! name. The position is `geoData` (user-edited) over `geoDataExif` over the file's EXIF; 0/0
//! means none.

mod identity;
mod mapping;
mod time;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use photobak_takeout::{Catalog, Flow, Folder, Limits, MediaEntry, ProblemKind, Variant};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::error::{Error, Result};
use crate::exports::{Coverage, ExportId, ExportKind, FULL_SHARE, KindBy, KindDecision};
use crate::finish::{finish_file, resolve_from_file};
use crate::index::Account;
use crate::ingest::{IngestRequest, Stored, ingest};
use crate::progress::{Progress, Watched, is_cancelled_read};
use crate::repo::Repo;
use identity::{inferred_edits, remote_ids_of};
use mapping::plan_entry;

/// What `import takeout` should do.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// The parts of one export (`.zip`, `.tgz`/`.tar.gz`, or extracted folders).
    pub parts: Vec<PathBuf>,
    /// The account to merge into; default: the address found in the export, else a name
    /// derived from the export.
    pub account: Option<String>,
    /// Import items from the export's Trash too.
    pub include_trash: bool,
    /// Write a `FILE.xmp` sidecar next to each stored file.
    pub xmp: bool,
    /// Leave file modification times alone (default: set them to the capture time).
    pub no_mtime: bool,
    /// What the user says the export is (`--full`, `--incremental`); None lets photobak decide
    /// (see [`crate::exports`]): incremental unless it holds nearly everything seen before.
    pub kind: Option<ExportKind>,
}

/// The report of one import.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportSummary {
    /// Account merged into.
    pub account: String,
    /// Export id (`takeout-20250921T101010Z`).
    pub export_id: String,
    /// Media entries in the export.
    pub media_entries: u64,
    /// Distinct items in the export.
    pub items: u64,
    /// Items stored as a new file.
    pub new: u64,
    /// Items whose bytes were already stored (API backup, another album, another account).
    pub deduplicated: u64,
    /// Items whose metadata changed since the last import.
    pub updated: u64,
    /// Stored files that were missing or damaged and were restored from the export.
    pub repaired: u64,
    /// Items with nothing to do.
    pub unchanged: u64,
    /// Entries not imported, by reason.
    pub skipped: BTreeMap<String, u64>,
    /// Entries that failed: `part: entry` and why.
    pub failed: Vec<(String, String)>,
    /// Full or incremental, by whom and why.
    pub kind: Option<KindDecision>,
    /// Items seen before this export and absent from it, counted for a full export only (an
    /// incremental export lacks most items and says nothing about them).
    pub absent: u64,
    /// Things the user should know about the kind of the export.
    pub warnings: Vec<String>,
    /// Bytes read from the archives.
    pub bytes_read: u64,
    /// Problems found reading the export (bad entries, hostile paths, broken JSON …).
    pub problems: Vec<String>,
    /// Media with no sidecar (archive paths).
    pub without_sidecar: Vec<String>,
    /// Sidecars that matched no media.
    pub unmatched_sidecars: Vec<String>,
    /// Media left without a sidecar because several candidates fit.
    pub ambiguous: Vec<String>,
    /// Edited variants recognised by their structure, their suffix being in no table:
    /// `path (suffix)`.
    pub inferred_edits: Vec<String>,
    /// `.xmp` sidecars written or changed.
    pub xmp_written: u64,
    /// Wall time.
    pub elapsed_secs: f64,
}

impl ImportSummary {
    /// True when no entry failed.
    pub fn ok(&self) -> bool {
        self.failed.is_empty()
    }
}

/// Per media entry: the item it became (None when skipped).
struct Planned {
    item_id: i64,
    filename: String,
    taken_at: Option<i64>,
    /// The item had a stored file before this import.
    was_stored: bool,
    /// This entry changed the item's metadata or added an album membership.
    changed: bool,
    /// An earlier export had delivered the item (its newest export was another one). An
    /// earlier, interrupted import of this same export does not count.
    known_before: bool,
}

/// Imports one export. Blocking: call it from a blocking thread.
///
/// # Errors
/// When no part can be read at all, or the index fails; problems with single entries are in the
/// summary.
pub fn import_takeout(
    repo: &Repo,
    opts: &ImportOptions,
    progress: &dyn Progress,
    cancel: &CancellationToken,
) -> Result<ImportSummary> {
    let started = Instant::now();
    crate::ingest::release_unused_content(repo)?;
    let catalog = photobak_takeout::scan(&opts.parts, &Limits::default())
        .map_err(|e| Error::Invalid(format!("reading the Takeout export: {e}")))?;
    let address = opts
        .account
        .clone()
        .or_else(|| catalog.account_hint.clone())
        .unwrap_or_else(|| catalog.export_id.clone());
    let account = repo.ensure_account(&address)?;
    let run_id = repo.index.begin_run("import", Some(account.id))?;
    let mut s = ImportSummary {
        account: address.clone(),
        export_id: catalog.export_id.clone(),
        media_entries: catalog.media.len() as u64,
        problems: catalog.problems.iter().map(ToString::to_string).collect(),
        unmatched_sidecars: catalog.unmatched_sidecars.clone(),
        inferred_edits: inferred_edits(&catalog),
        ambiguous: catalog
            .ambiguous
            .iter()
            .map(|(m, c)| format!("{m} (candidates: {})", c.join(", ")))
            .collect(),
        ..Default::default()
    };
    // Only what may cost data is logged as an error (the log keeps errors alone, and a person
    // reads `error:`); what was skipped on purpose or merely noted is a warning, and every
    // problem is in the summary's "problems in the export" anyway.
    for p in &catalog.problems {
        match p.kind {
            ProblemKind::Ignored
            | ProblemKind::MissingTime
            | ProblemKind::FailedVideo
            | ProblemKind::LockedFolder => tracing::warn!("{p}"),
            _ => tracing::error!("{p}"),
        }
    }

    // Recorded before anything else, unfinished until the end: prune refuses to compare with
    // an export whose import died half-way (some items stamped with it, others not).
    let export = ExportId::new(&catalog.export_id);
    let record = repo
        .index
        .begin_export(account.id, &export, catalog.media.len() as u64)?;

    let planned = record_entries(repo, &account, &catalog, opts, run_id, cancel, &mut s)?;
    let held_known = tally_items(&planned, &mut s);
    link_variants(repo, &catalog, &planned)?;
    store_bytes(repo, &account, &catalog, &planned, progress, cancel, &mut s)?;
    finish_items(repo, &planned, opts, &mut s)?;

    let (kind, absent, warnings) = decide_kind(repo, &account, &export, &record, held_known, opts)?;
    s.absent = absent;
    s.warnings = warnings;
    repo.index
        .finish_export(account.id, &export, &kind, s.items, s.absent)?;
    s.kind = Some(kind);
    repo.refresh_all_others(account.id)?;
    s.elapsed_secs = started.elapsed().as_secs_f64();
    let json = serde_json::to_string(&s).unwrap_or_default();
    repo.index.finish_run(run_id, s.ok(), &json)?;
    Ok(s)
}

/// Pass 1: every entry becomes an item (metadata, album or year folder, provenance) without
/// touching its bytes. By entry id; None for entries skipped (duplicates, Trash).
fn record_entries(
    repo: &Repo,
    account: &Account,
    catalog: &Catalog,
    opts: &ImportOptions,
    run_id: i64,
    cancel: &CancellationToken,
    s: &mut ImportSummary,
) -> Result<Vec<Option<Planned>>> {
    // Pass 1: items, albums and memberships, no bytes.
    let remote_ids = remote_ids_of(catalog);
    // Items are recorded in a canonical order (folder, then name), not in archive order, so the
    // same export gives the same item ids, and therefore the same file names, whether it comes
    // as zip, tgz or folders.
    let mut order: Vec<&MediaEntry> = catalog.media.iter().collect();
    order.sort_by(|a, b| {
        (&a.folder_path, &a.file_name, &a.path).cmp(&(&b.folder_path, &b.file_name, &b.path))
    });
    let mut planned: Vec<Option<Planned>> = (0..catalog.media.len()).map(|_| None).collect();
    for entry in order {
        if cancel.is_cancelled() {
            return Err(Error::Cancelled);
        }
        if entry.duplicate_of.is_some() {
            *s.skipped
                .entry("duplicate archive entry".into())
                .or_default() += 1;
            continue;
        }
        if matches!(entry.folder, Folder::Trash) && !opts.include_trash {
            *s.skipped
                .entry("in Trash (use --include-trash)".into())
                .or_default() += 1;
            continue;
        }
        if entry.sidecar.is_none()
            && !matches!(
                entry.variant,
                Variant::Edited { .. } | Variant::LiveCompanion { .. }
            )
        {
            s.without_sidecar.push(entry.path.clone());
        }
        let remote_id = remote_ids[entry.id].clone();
        let p = plan_entry(repo, account, catalog, entry, &remote_id, run_id)?;
        planned[entry.id] = Some(p);
    }
    Ok(planned)
}

/// Counts the export's items as updated or unchanged (an item may come as several copies: it
/// changed when any copy changed it). Returns how many of them an earlier export had delivered.
fn tally_items(planned: &[Option<Planned>], s: &mut ImportSummary) -> u64 {
    // Per item (an item may come from several copies): updated when any copy changed it.
    let mut per_item: BTreeMap<i64, (bool, bool, bool)> = BTreeMap::new();
    for p in planned.iter().flatten() {
        let e = per_item
            .entry(p.item_id)
            .or_insert((p.was_stored, false, false));
        e.1 |= p.changed;
        e.2 |= p.known_before;
    }
    s.items = per_item.len() as u64;
    let held_known = per_item.values().filter(|v| v.2).count() as u64;
    for (was_stored, changed, _) in per_item.values() {
        match (was_stored, changed) {
            (true, true) => s.updated += 1,
            (true, false) => s.unchanged += 1,
            _ => {}
        }
    }
    held_known
}

/// Links edited variants and live companions to their originals.
fn link_variants(repo: &Repo, catalog: &Catalog, planned: &[Option<Planned>]) -> Result<()> {
    // Link edited variants and live companions to their originals.
    for entry in &catalog.media {
        let (Some(Some(me)), kind, other) = (
            planned.get(entry.id),
            match entry.variant {
                Variant::Edited { .. } => "edited",
                Variant::LiveCompanion { .. } => "live",
                _ => "",
            },
            match entry.variant {
                Variant::Edited { original } => original,
                Variant::LiveCompanion { still } => still,
                _ => None,
            },
        ) else {
            continue;
        };
        if let Some(Some(orig)) = other.and_then(|o| planned.get(o)) {
            repo.index.link_item(me.item_id, orig.item_id, kind)?;
        }
    }
    Ok(())
}

/// Pass 2: the bytes of the entries whose item has no whole file: none yet, or one that is
/// missing, has the wrong size, or that `verify` found damaged (it clears `verified_at`).
/// Re-importing the export is then how a Takeout-only file is repaired.
fn store_bytes(
    repo: &Repo,
    account: &Account,
    catalog: &Catalog,
    planned: &[Option<Planned>],
    progress: &dyn Progress,
    cancel: &CancellationToken,
    s: &mut ImportSummary,
) -> Result<()> {
    // Pass 2: bytes of the entries whose item has no whole file: none yet, or one that is
    // missing, has the wrong size, or that `verify` found damaged (it clears `verified_at`).
    // Re-importing the export is then how a Takeout-only file is repaired.
    let needs_bytes = |item_id: i64| -> bool {
        match repo.index.stored_file(item_id).unwrap_or(None) {
            Some(f) if f.verified => std::fs::metadata(repo.abs(&f.path))
                .map(|m| m.len() as i64 != f.size)
                .unwrap_or(true),
            _ => true,
        }
    };
    let mut stored_items = std::collections::HashSet::new();
    let mut failed: Vec<(String, String)> = Vec::new();
    let mut counts = (0u64, 0u64, 0u64); // new, deduplicated, bytes
    let mut repaired = 0u64;
    // Everything to read is queued before reading starts, with its size, so a progress bar can
    // show the bytes left and an honest time left.
    for entry in &catalog.media {
        if let Some(Some(p)) = planned.get(entry.id)
            && needs_bytes(p.item_id)
        {
            progress.queued(Some(entry.size));
        }
    }
    let pass_problems = photobak_takeout::for_each_selected_media(
        catalog,
        |entry| {
            planned
                .get(entry.id)
                .and_then(Option::as_ref)
                .is_some_and(|p| needs_bytes(p.item_id))
        },
        |entry, reader| -> std::result::Result<Flow, Error> {
            if cancel.is_cancelled() {
                return Ok(Flow::Stop);
            }
            let Some(Some(p)) = planned.get(entry.id) else {
                return Ok(Flow::Continue);
            };
            // A copy of the same item in another folder may have been stored meanwhile.
            if !needs_bytes(p.item_id) {
                progress.dequeued(Some(entry.size));
                return Ok(Flow::Continue);
            }
            let mut w = repo.stage()?;
            let n = w
                .copy_from(&mut Watched::new(reader, progress, cancel))
                .map_err(|e| {
                    if is_cancelled_read(&e) {
                        Error::Cancelled
                    } else {
                        e
                    }
                })?;
            counts.2 += n;
            let staged = w.finish()?;
            let stored = ingest(
                repo,
                &IngestRequest {
                    account,
                    item_id: p.item_id,
                    filename: &p.filename,
                    taken_at: p.taken_at,
                },
                staged,
            )?;
            stored_items.insert(p.item_id);
            match stored {
                Stored::New(_) | Stored::Forked(_) => counts.0 += 1,
                Stored::Linked(_) => counts.1 += 1,
                Stored::Repaired(_) | Stored::Replaced(_) => repaired += 1,
                Stored::Unchanged(_) => {}
            }
            progress.finished();
            Ok(Flow::Continue)
        },
    )
    .map_err(|e| Error::Invalid(format!("reading the Takeout export: {e}")))?;
    // Interrupted: the entry cut short is not a problem of the export.
    if cancel.is_cancelled() {
        return Err(Error::Cancelled);
    }
    for p in pass_problems {
        tracing::error!("{p}");
        failed.push((
            format!(
                "{}: {}",
                p.part.display(),
                p.entry.clone().unwrap_or_default()
            ),
            p.message.clone(),
        ));
    }
    if cancel.is_cancelled() {
        return Err(Error::Cancelled);
    }
    s.new = counts.0;
    s.deduplicated = counts.1;
    s.bytes_read = counts.2;
    s.repaired = repaired;
    s.failed = failed;
    Ok(())
}

/// Times and positions from the files themselves, XMP sidecars, modification times.
fn finish_items(
    repo: &Repo,
    planned: &[Option<Planned>],
    opts: &ImportOptions,
    s: &mut ImportSummary,
) -> Result<()> {
    // Times and positions from the files themselves, XMP sidecars, modification times.
    let mut done = std::collections::HashSet::new();
    for p in planned.iter().flatten() {
        if !done.insert(p.item_id) {
            continue;
        }
        resolve_from_file(repo, p.item_id)?;
        if finish_file(repo, p.item_id, opts.xmp, !opts.no_mtime)? {
            s.xmp_written += 1;
        }
    }
    Ok(())
}

/// The kind of the export just imported (see [`crate::exports`]), the items seen before it
/// that it lacks (counted only when it is full: an incremental export lacks most items and says
/// nothing about them), and warnings for the user.
fn decide_kind(
    repo: &Repo,
    account: &Account,
    export: &ExportId,
    record: &crate::exports::ExportRecord,
    held_known: u64,
    opts: &ImportOptions,
) -> Result<(KindDecision, u64, Vec<String>)> {
    let this_at = record.exported_at;
    // Items already gone on the word of an older full export are not counted again.
    let prev_full_at = repo
        .index
        .exports(account.id)?
        .into_iter()
        .filter(|e| e.is_evidence() && &e.export_id != export && e.exported_at < this_at)
        .map(|e| e.exported_at)
        .max()
        .unwrap_or(i64::MIN);
    // This export's items were just stamped with it, so every item still last seen before it
    // was made is one it lacks.
    let absent = repo
        .index
        .takeout_sightings(account.id)?
        .iter()
        .filter(|s| s.last_seen >= prev_full_at && s.last_seen < this_at)
        .count() as u64;
    let coverage = Coverage { held_known, absent };
    let kind = match opts.kind {
        Some(k) => crate::exports::stated_kind(k, "given at import"),
        // The user's word stands until the user says otherwise.
        None if record.kind.by == KindBy::User
            || (record.kind.by == KindBy::Migration && record.kind.kind == ExportKind::Full) =>
        {
            record.kind.clone()
        }
        None => crate::exports::infer_kind(export, coverage),
    };
    let mut warnings = Vec::new();
    if kind.kind == ExportKind::Full
        && kind.by == KindBy::User
        && let Some(share) = coverage.share()
        && share < FULL_SHARE
    {
        warnings.push(format!(
            "you said {export} is a full export, but it lacks {absent} of the {} items seen \
             before it ({:.1}%); prune would take them for deleted. If it is not a full \
             export, run `photobak exports mark {export} --incremental`",
            coverage.held_known + absent,
            (1.0 - share) * 100.0
        ));
    }
    let absent = if kind.kind.is_evidence() { absent } else { 0 };
    Ok((kind, absent, warnings))
}
