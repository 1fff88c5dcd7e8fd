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

mod bytes;
mod identity;
mod mapping;
mod plan;
mod rerun;
mod sync_ahead;
mod time;

use std::path::PathBuf;
use std::sync::Arc;

use futures::future::BoxFuture;
use photobak_takeout::{Catalog, Folder, Limits, MediaEntry, ProblemKind, Variant};
use tokio_util::sync::CancellationToken;

use crate::engine::{Engine, EngineOptions, Finishing};
use crate::error::{Error, Result};
use crate::exports::{Coverage, ExportId, ExportKind, FULL_SHARE, KindBy, KindDecision};
use crate::id_set::IdSet;
use crate::index::Account;
use crate::kinds::Source as SourceKind;
use crate::progress::Progress;
use crate::repo::Repo;
use crate::source::{Intake, Source};
use crate::summary::{RunSummary, TakeoutReport};
use bytes::store_bytes;
use identity::{Identities, inferred_edits};
use mapping::{AlbumCache, plan_entry};
use plan::{Plan, PlanWriter, Recorded};
pub use rerun::import_parts;

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
    /// Read the parts even when the index records them as imported, unchanged, with options
    /// that stored at least as much (`--reread`). Changes how the parts are read, not what is
    /// stored, so it is no part of [`StoreOptions`].
    pub reread: bool,
}

impl ImportOptions {
    /// The options that change what this import stores.
    pub fn store_options(&self) -> StoreOptions {
        StoreOptions {
            account: self.account.clone(),
            include_trash: self.include_trash,
            xmp: self.xmp,
            mtime: !self.no_mtime,
            kind: self.kind,
        }
    }
}

/// The options that change WHAT an import stores, recorded with every part it imported
/// (`takeout_parts.import_options`). A rerun over recorded parts skips them only when the
/// earlier import stored at least what this one would: the same account (as given; without
/// `--account` the export names it, the same for the same parts), its Trash when asked now,
/// XMP sidecars when asked now, file times when asked now, and the kind when said now.
/// Asking for less than before (no `--include-trash` after an import with it) reads nothing:
/// a re-read would store nothing more and remove nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreOptions {
    /// `--account` as given; None: the account the export names.
    pub account: Option<String>,
    /// `--include-trash`.
    pub include_trash: bool,
    /// `--xmp`.
    pub xmp: bool,
    /// File modification times set to the capture time (no `--no-mtime`).
    pub mtime: bool,
    /// `--full` / `--incremental` as said.
    pub kind: Option<ExportKind>,
}

impl StoreOptions {
    /// The recorded form: `trash=0;xmp=0;mtime=1;kind=-` then `;account=NAME` when one was
    /// given (last, as a name may hold any character).
    pub fn to_record(&self) -> String {
        let flag = |b: bool| if b { "1" } else { "0" };
        let mut s = format!(
            "trash={};xmp={};mtime={};kind={}",
            flag(self.include_trash),
            flag(self.xmp),
            flag(self.mtime),
            self.kind.map_or("-", ExportKind::as_str)
        );
        if let Some(a) = &self.account {
            s.push_str(";account=");
            s.push_str(a);
        }
        s
    }

    /// Reads [`StoreOptions::to_record`]'s form; None for anything else (an unknown record
    /// counts as not covering anything, so the export is read again).
    pub fn from_record(s: &str) -> Option<StoreOptions> {
        let (flags, account) = match s.split_once(";account=") {
            Some((f, a)) => (f, Some(a.to_owned())),
            None => (s, None),
        };
        let mut fields = flags.split(';');
        let mut next = |key: &str| fields.next()?.strip_prefix(key)?.strip_prefix('=');
        let bit = |v: Option<&str>| match v? {
            "1" => Some(true),
            "0" => Some(false),
            _ => None,
        };
        let include_trash = bit(next("trash"))?;
        let xmp = bit(next("xmp"))?;
        let mtime = bit(next("mtime"))?;
        let kind = match next("kind")? {
            "-" => None,
            "full" => Some(ExportKind::Full),
            "incremental" => Some(ExportKind::Incremental),
            _ => return None,
        };
        if fields.next().is_some() {
            return None;
        }
        Some(StoreOptions {
            account,
            include_trash,
            xmp,
            mtime,
            kind,
        })
    }

    /// Why an import with these options could store what the `earlier` one (as recorded) did
    /// not; None when the earlier import stored at least as much.
    pub fn not_covered_by(&self, earlier: Option<&str>) -> Option<String> {
        let Some(earlier) = earlier.and_then(StoreOptions::from_record) else {
            return Some("its earlier import did not record its options".into());
        };
        if self.account != earlier.account {
            let named = |a: &Option<String>| match a {
                Some(a) => format!("--account {a}"),
                None => "the account the export names".into(),
            };
            return Some(format!(
                "imported before into {}, now into {}",
                named(&earlier.account),
                named(&self.account)
            ));
        }
        if self.include_trash && !earlier.include_trash {
            return Some("imported before without --include-trash".into());
        }
        if self.xmp && !earlier.xmp {
            return Some("imported before without --xmp".into());
        }
        if self.mtime && !earlier.mtime {
            return Some("imported before with --no-mtime".into());
        }
        if let Some(k) = self.kind
            && earlier.kind != Some(k)
        {
            return Some(format!("imported before without --{}", k.as_str()));
        }
        None
    }
}

/// Imports one export on the engine, then writes the manifest.
///
/// # Errors
/// When no part can be read at all or a part changed while it was read, the index fails, or
/// the run is interrupted; problems with single entries are in the summary.
pub async fn import_takeout(
    repo: Arc<Repo>,
    opts: &ImportOptions,
    progress: Arc<dyn Progress>,
    cancel: CancellationToken,
) -> Result<RunSummary> {
    let catalog = scan_export(&repo, opts.parts.clone()).await?;
    let address = opts
        .account
        .clone()
        .or_else(|| catalog.account_hint.clone())
        .unwrap_or_else(|| catalog.export_id.clone());
    let engine = Engine::new(
        repo,
        EngineOptions {
            // The export's readers are the bytes pass's own threads; the download pool is not
            // used.
            concurrency: 1,
            integrity: false,
            max_items: None,
            finishing: Finishing {
                time_from_file: true,
                xmp: opts.xmp,
                mtime: !opts.no_mtime,
            },
        },
        progress,
        cancel,
    )?;
    let account = {
        let repo = engine.repo().clone();
        tokio::task::spawn_blocking(move || repo.ensure_account(&address))
            .await
            .map_err(|e| Error::from_join("recording the account", &e))??
    };
    let export = TakeoutExport {
        repo: engine.repo().clone(),
        catalog: std::sync::Mutex::new(Some(catalog)),
        opts: opts.clone(),
    };
    let (summary, error) = engine.run(&account, "import", &export).await;
    if let Some(e) = error {
        return Err(e);
    }
    engine.finish().await?;
    Ok(summary)
}

/// Pass 1 on a blocking thread ([`scan_with_scratch`]).
///
/// # Errors
/// [`Error::Invalid`] when no part can be read or a part changed while it was read
/// ([`photobak_takeout::Error::Changed`]); [`Error::Io`] when the scratch file cannot be
/// made or written (a full disk is not a broken export).
pub(crate) async fn scan_export(repo: &Arc<Repo>, parts: Vec<PathBuf>) -> Result<Catalog> {
    let repo = repo.clone();
    tokio::task::spawn_blocking(move || scan_with_scratch(&repo, &parts))
        .await
        .map_err(|e| Error::from_join("reading the Takeout export", &e))??
        .map_err(|e| Error::Invalid(format!("reading the Takeout export: {e}")))
}

/// Pass 1, the catalog's sidecars and media entries in scratch files of the repository (see
/// [`photobak_takeout::Sidecars`] and [`photobak_takeout::Media`]; the others hold where each
/// media entry starts, and, while the scan runs, the media and JSON entries as placed, the
/// survey's hashes, a large folder's sidecars and slices while it is matched, and the tar
/// parts' listings from their survey to their placement:
/// [`photobak_takeout::Spill::Files`]). The outer error is the
/// repository's (a scratch file cannot be made, written or read back: [`Error::Io`]); the
/// inner one the export's (no part can be read, or one changed while it was read), which a
/// caller reports its own way.
///
/// # Errors
/// As said.
pub(crate) fn scan_with_scratch(
    repo: &Repo,
    parts: &[PathBuf],
) -> Result<std::result::Result<Catalog, photobak_takeout::Error>> {
    let spill = photobak_takeout::Spill::files(|| repo.scratch_file())?;
    match photobak_takeout::scan_into(parts, &Limits::default(), spill) {
        Err(photobak_takeout::Error::Spill(source)) => Err(Error::Io {
            context: format!(
                "writing the Takeout scan's scratch files in {}",
                repo.tmp_dir().display()
            ),
            source,
        }),
        Err(photobak_takeout::Error::SpillRead(source)) => Err(scratch_unreadable(repo, source)),
        scanned => Ok(scanned),
    }
}

/// The import's plan cannot be written to its scratch files or read back (`plan.rs`).
fn plan_io(repo: &Repo, source: std::io::Error) -> Error {
    scratch_error(repo, "the Takeout import's plan in", source)
}

/// A media entry or a sidecar that cannot be read back from the scan's scratch files.
fn scratch_unreadable(repo: &Repo, source: std::io::Error) -> Error {
    scratch_error(repo, "reading the Takeout scan's catalog back from", source)
}

/// A failure of the repository's scratch files (`what` them), not of the export.
fn scratch_error(repo: &Repo, what: &str, source: std::io::Error) -> Error {
    Error::Io {
        context: format!("{what} its scratch files in {}", repo.tmp_dir().display()),
        source,
    }
}

/// One scanned export as a [`Source`]: it records its entries itself (the export's identity
/// rules live in this module) and delivers their bytes through [`Intake::store`], from its
/// readers by one committing thread (`bytes.rs`).
struct TakeoutExport {
    repo: Arc<Repo>,
    /// Taken by the one listing: the import owns the catalog, to release it before the
    /// export's kind is decided.
    catalog: std::sync::Mutex<Option<Catalog>>,
    opts: ImportOptions,
}

impl Source for TakeoutExport {
    fn kind(&self) -> SourceKind {
        SourceKind::Takeout
    }

    fn list(&self, intake: Arc<dyn Intake>) -> BoxFuture<'_, Result<()>> {
        let (repo, opts) = (self.repo.clone(), self.opts.clone());
        let catalog = self
            .catalog
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        Box::pin(async move {
            let Some(catalog) = catalog else {
                return Err(Error::Internal("a Takeout export was listed twice".into()));
            };
            tokio::task::spawn_blocking(move || {
                let mut s = RunSummary::new(&intake.account().name, SourceKind::Takeout);
                let result = import_export(&repo, catalog, &opts, intake.as_ref(), &mut s);
                intake.report(&mut |run| merge(run, &mut s));
                result
            })
            .await
            .map_err(|e| Error::from_join("importing the export", &e))?
        })
    }

    fn holdings<'a>(
        &'a self,
        _cancel: &'a CancellationToken,
        _progress: &'a dyn Progress,
    ) -> BoxFuture<'a, Result<crate::source::Holdings>> {
        Box::pin(async move { Ok(crate::source::Holdings::unknown(SourceKind::Takeout)) })
    }

    fn fetch<'a>(
        &'a self,
        _item: &'a crate::source::ItemRef,
        _cancel: &'a CancellationToken,
    ) -> BoxFuture<'a, Result<crate::source::Fetched>> {
        Box::pin(async move {
            Ok(crate::source::Fetched::Unavailable(
                "a Takeout export is read whole by `photobak import takeout`".into(),
            ))
        })
    }
}

/// Moves what the Takeout passes counted into the run's report (the engine counted the bytes
/// it stored).
fn merge(run: &mut RunSummary, s: &mut RunSummary) {
    run.items += s.items;
    run.updated += s.updated;
    run.unchanged += s.unchanged;
    for (k, v) in std::mem::take(&mut s.skipped) {
        *run.skipped.entry(k).or_default() += v;
    }
    run.failed.append(&mut s.failed);
    run.problems.append(&mut s.problems);
    run.linked.append(&mut s.linked);
    run.takeout = s.takeout.take();
}

/// The passes over one export, on a blocking thread: record, count, link, store, decide the
/// export's kind.
fn import_export(
    repo: &Repo,
    catalog: Catalog,
    opts: &ImportOptions,
    intake: &dyn Intake,
    s: &mut RunSummary,
) -> Result<()> {
    let account = intake.account().clone();
    s.problems = catalog.problems.iter().map(ToString::to_string).collect();
    s.takeout = Some(TakeoutReport {
        export_id: catalog.export_id.clone(),
        media_entries: catalog.media.len() as u64,
        unmatched_sidecars: catalog.unmatched_sidecars.clone(),
        inferred_edits: inferred_edits(&catalog).map_err(|e| scratch_unreadable(repo, e))?,
        ambiguous: catalog
            .ambiguous
            .iter()
            .map(|(m, c)| format!("{m} (candidates: {})", c.join(", ")))
            .collect(),
        ..Default::default()
    });
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

    let cancel = intake.cancel().clone();
    // The passes hold the export's catalog, so the index keeps fewer pages meanwhile: at
    // 100,000 items its 16 MiB cache was a sixth of the import's peak, and 4 MiB made no
    // difference to the import's CPU beyond the noise of alternating runs (the pages come
    // again from the operating system's cache).
    let held_known = repo.index.with_page_cache(IMPORT_PAGE_CACHE_KIB, || {
        let plan = record_entries(repo, &account, &catalog, opts, intake.run_id(), &cancel, s)?;
        let held_known = tally_items(repo, &plan, s)?;
        link_variants(repo, &catalog, &plan)?;
        store_bytes(repo, &catalog, &plan, intake, s)?;
        // Every item of the export is finished again (each step writes only what differs), so
        // an import cut short before its finishing steps is completed by the next one.
        for p in plan.iter() {
            intake.touched(p.map_err(|e| plan_io(repo, e))?.item_id);
        }
        Ok(held_known)
    })?;
    // Released before the export's kind is decided: its query (every item's newest sighting,
    // grouped) sorts as much as the page cache allows in memory, and with the catalog still
    // held and the index's own cache, that was the first import's peak at 100,114 items
    // (19 MB on top of the catalog's 48 for a tenth of a second; BENCHMARKS.md, session 11).
    // The sightings' queries now run under the smaller scan cache themselves (session 13);
    // the rest of the decision under the import's.
    drop(catalog);
    let (kind, absent, warnings) = repo.index.with_page_cache(IMPORT_PAGE_CACHE_KIB, || {
        decide_kind(repo, &account, &export, &record, held_known, opts)
    })?;
    repo.index
        .finish_export(account.id, &export, &kind, s.items, absent)?;
    if let Some(t) = s.takeout.as_mut() {
        t.absent = absent;
        t.warnings = warnings;
        t.kind = Some(kind);
    }
    Ok(())
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
    s: &mut RunSummary,
) -> Result<Plan> {
    let unreadable = |e| scratch_unreadable(repo, e);
    let identities = Identities::of(catalog).map_err(unreadable)?;
    let mut plan = PlanWriter::new(
        repo.scratch_file()?,
        repo.scratch_file()?,
        catalog.media.len(),
    )
    .map_err(|e| plan_io(repo, e))?;
    let mut albums = AlbumCache::default();
    let mut texts = catalog.sidecar_texts();
    // Items are recorded in a canonical order (folder, then name), not in archive order, so the
    // same export gives the same item ids, and therefore the same file names, whether it comes
    // as zip, tgz or folders: the order the catalog's store gives them in (same-path
    // duplicates of another folder's entry last, and they are skipped).
    let mut entries = catalog.media.in_record_order();
    loop {
        let batch = entries
            .by_ref()
            .take(RECORD_BATCH)
            .collect::<std::io::Result<Vec<MediaEntry>>>()
            .map_err(unreadable)?;
        if batch.is_empty() {
            break;
        }
        // A transaction per batch of entries: committing each of the dozen statements an
        // entry takes cost more than the statements. Nothing here names a file, so a crash
        // loses at most one batch of records, which the next run records again.
        repo.index.batch(|_| {
            for entry in &batch {
                if cancel.is_cancelled() {
                    return Err(Error::Cancelled);
                }
                if let Some(p) = record_entry(
                    repo,
                    account,
                    catalog,
                    opts,
                    &identities,
                    entry,
                    run_id,
                    s,
                    &mut albums,
                    &mut texts,
                )? {
                    plan.record(entry.index(), p)
                        .map_err(|e| plan_io(repo, e))?;
                }
            }
            Ok(())
        })?;
    }
    plan.finish().map_err(|e| plan_io(repo, e))
}

/// The index's page cache while an export's passes run (see `import_export`).
const IMPORT_PAGE_CACHE_KIB: i64 = 4096;

/// Entries recorded per index transaction.
const RECORD_BATCH: usize = 2000;

/// One entry of pass 1: skipped (a duplicate, in Trash), or recorded as an item.
#[allow(clippy::too_many_arguments)]
fn record_entry(
    repo: &Repo,
    account: &Account,
    catalog: &Catalog,
    opts: &ImportOptions,
    identities: &Identities,
    entry: &MediaEntry,
    run_id: i64,
    s: &mut RunSummary,
    albums: &mut AlbumCache,
    texts: &mut photobak_takeout::SidecarTexts<'_>,
) -> Result<Option<Recorded>> {
    if entry.duplicate_of.is_some() {
        *s.skipped
            .entry("duplicate archive entry".into())
            .or_default() += 1;
        return Ok(None);
    }
    if matches!(entry.folder, Folder::Trash) && !opts.include_trash {
        *s.skipped
            .entry("in Trash (use --include-trash)".into())
            .or_default() += 1;
        return Ok(None);
    }
    // Read back only for an entry that is recorded: a skipped one needs none.
    let sidecar = catalog
        .sidecar(entry)
        .map_err(|e| scratch_unreadable(repo, e))?;
    if sidecar.is_none()
        && !matches!(
            entry.variant,
            Variant::Edited { .. } | Variant::LiveCompanion { .. }
        )
        && let Some(t) = s.takeout.as_mut()
    {
        t.without_sidecar.push(entry.path.to_string());
    }
    // Decided here, as the entry is recorded (see `Identities`), from the sidecar just read.
    let remote_id = identities
        .id_with(catalog, entry, sidecar.as_ref())
        .map_err(|e| scratch_unreadable(repo, e))?;
    plan_entry(
        repo,
        account,
        &catalog.export_id,
        entry,
        sidecar.as_ref(),
        &remote_id,
        run_id,
        albums,
        texts,
    )
    .map(Some)
}

/// Counts the export's items as updated or unchanged (an item may come as several copies: it
/// changed when any copy changed it). Returns how many of them an earlier export had delivered.
///
/// # Errors
/// When the plan cannot be read back.
fn tally_items(repo: &Repo, plan: &Plan, s: &mut RunSummary) -> Result<u64> {
    // Per item, as sets of item ids (a bit per item, not a map's node): seen, stored before
    // this import (as its first copy says), changed by any copy, delivered by an earlier export.
    let (mut seen, mut stored, mut changed, mut known) =
        (IdSet::new(), IdSet::new(), IdSet::new(), IdSet::new());
    for p in plan.iter() {
        let p = p.map_err(|e| plan_io(repo, e))?;
        if seen.insert(p.item_id) && p.was_stored() {
            stored.insert(p.item_id);
        }
        if p.changed() {
            changed.insert(p.item_id);
        }
        if p.known_before() {
            known.insert(p.item_id);
        }
    }
    s.items = seen.len() as u64;
    let updated = stored.iter().filter(|&id| changed.contains(id)).count() as u64;
    s.updated += updated;
    s.unchanged += stored.len() as u64 - updated;
    Ok(known.len() as u64)
}

/// Links edited variants and live companions to their originals.
fn link_variants(repo: &Repo, catalog: &Catalog, plan: &Plan) -> Result<()> {
    for entry in catalog.media.in_record_order() {
        let entry = entry.map_err(|e| scratch_unreadable(repo, e))?;
        let (Some(me), kind, other) = (
            plan.get(entry.index()).map_err(|e| plan_io(repo, e))?,
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
        let Some(other) = other else {
            continue;
        };
        if let Some(orig) = plan.get(other as usize).map_err(|e| plan_io(repo, e))? {
            repo.index.link_item(me.item_id, orig.item_id, kind)?;
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
        .count_takeout_sightings_between(account.id, prev_full_at, this_at)?;
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
