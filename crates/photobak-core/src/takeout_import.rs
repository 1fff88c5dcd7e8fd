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

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use photobak_takeout::{Catalog, Flow, Folder, Limits, MatchRule, MediaEntry, Origin, Variant};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::backup::ensure_account;
use crate::error::{Error, Result};
use crate::exports::{Coverage, ExportId, ExportKind, FULL_SHARE, KindBy, KindDecision};
use crate::index::{Account, Album, AlbumSpec, ItemMeta, now};
use crate::ingest::{
    IngestRequest, Stored, album_folder, ensure_year_album, ensure_year_folder, ingest,
};
use crate::progress::Progress;
use crate::repo::Repo;
use crate::repo::store::write_atomic_if_changed;
use crate::xmp::{XmpFields, render};

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
    let account = ensure_account(repo, &address)?;
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
    for p in &catalog.problems {
        tracing::error!("{p}");
    }

    // Recorded before anything else, unfinished until the end: prune refuses to compare with
    // an export whose import died half-way (some items stamped with it, others not).
    let export = ExportId::new(&catalog.export_id);
    let record = repo
        .index
        .begin_export(account.id, &export, catalog.media.len() as u64)?;

    // Pass 1: items, albums and memberships, no bytes.
    let remote_ids = remote_ids_of(&catalog);
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
        let p = plan_entry(repo, &account, &catalog, entry, &remote_id, run_id)?;
        planned[entry.id] = Some(p);
    }
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
            let (me, orig) = (me.item_id, orig.item_id);
            repo.index.with(|c| {
                c.execute(
                    "UPDATE items SET linked_to = ?2, link_kind = ?3 WHERE id = ?1",
                    params![me, orig, kind],
                )?;
                Ok(())
            })?;
        }
    }

    // Pass 2: bytes of the entries whose item has no whole file: none yet, or one that is
    // missing, has the wrong size, or that `verify` found damaged (it clears `verified_at`).
    // Re-importing the export is then how a Takeout-only file is repaired.
    let needs_bytes = |item_id: i64| -> bool {
        let stored: Option<(Option<String>, Option<i64>, Option<i64>)> = repo
            .index
            .with(|c| {
                Ok(c.query_row(
                    "SELECT ct.path, ct.size, ct.verified_at FROM items i
                     LEFT JOIN content ct ON ct.id = i.content_id WHERE i.id = ?1",
                    [item_id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?)
            })
            .unwrap_or(None);
        match stored {
            Some((Some(path), Some(size), Some(_verified))) => std::fs::metadata(repo.abs(&path))
                .map(|m| m.len() as i64 != size)
                .unwrap_or(true),
            _ => true,
        }
    };
    let mut stored_items = std::collections::HashSet::new();
    let mut failed: Vec<(String, String)> = Vec::new();
    let mut counts = (0u64, 0u64, 0u64); // new, deduplicated, bytes
    let mut repaired = 0u64;
    let pass_problems = photobak_takeout::for_each_selected_media(
        &catalog,
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
                return Ok(Flow::Continue);
            }
            progress.queued(Some(entry.size));
            let mut w = repo.stage()?;
            let n = w.copy_from(reader)?;
            progress.bytes(n);
            counts.2 += n;
            let staged = w.finish()?;
            let stored = ingest(
                repo,
                &IngestRequest {
                    account: &account,
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

    let (kind, absent, warnings) = decide_kind(repo, &account, &export, &record, held_known, opts)?;
    s.absent = absent;
    s.warnings = warnings;
    repo.index
        .finish_export(account.id, &export, &kind, s.items, s.absent)?;
    s.kind = Some(kind);
    crate::backup::refresh_all_others(repo, account.id)?;
    s.elapsed_secs = started.elapsed().as_secs_f64();
    let json = serde_json::to_string(&s).unwrap_or_default();
    repo.index.finish_run(run_id, s.ok(), &json)?;
    Ok(s)
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

/// `path (suffix)` of every edited variant the reader recognised by structure.
fn inferred_edits(catalog: &Catalog) -> Vec<String> {
    catalog
        .media
        .iter()
        .filter(|m| m.duplicate_of.is_none())
        .filter_map(|m| {
            m.matched_by
                .inferred_suffix()
                .map(|s| format!("{} ({s})", m.path))
        })
        .collect()
}

/// What names an item whose sidecar has no `url`: its title, capture time and size.
type MetaKey = (String, i64, u64);

/// The sidecar identity of an original (not of a variant, whose sidecar is its original's).
fn meta_key(e: &MediaEntry) -> Option<MetaKey> {
    if matches!(
        e.variant,
        Variant::Edited { .. } | Variant::LiveCompanion { .. }
    ) {
        return None;
    }
    let sc = e.sidecar.as_ref()?;
    if sc.url.is_some() {
        return None;
    }
    // Without a capture time the title and size alone are too weak (every `IMG_0001.JPG` of
    // the same camera model and quality could share them): no merge.
    Some((sc.title.clone(), sc.photo_taken_time?, e.size))
}

/// The item ids of every media entry, by [`MediaEntry::id`] (see the module docs).
///
/// Without a `url`, the copies of a photo in its year folder and its album folders share
/// title, capture time and size; a key shared by entries the export itself tells apart is not
/// used: two entries in one folder are two items (Google writes an item once per folder, with
/// `(N)` counters for different items of the same name), and different CRC-32s (zip parts
/// list them) are different bytes. Parts without CRCs (tar, folders) rely on the three fields.
fn remote_ids_of(catalog: &Catalog) -> Vec<String> {
    use std::collections::{HashMap, HashSet};
    let mut groups: HashMap<MetaKey, Vec<&MediaEntry>> = HashMap::new();
    for e in catalog.media.iter().filter(|e| e.duplicate_of.is_none()) {
        if let Some(k) = meta_key(e) {
            groups.entry(k).or_default().push(e);
        }
    }
    let trusted: HashSet<&MetaKey> = groups
        .iter()
        .filter(|(_, copies)| {
            let mut folders = HashSet::new();
            let one_per_folder = copies.iter().all(|e| folders.insert(&e.folder_path));
            let mut crcs: Vec<u32> = copies.iter().filter_map(|e| e.crc32).collect();
            crcs.sort_unstable();
            crcs.dedup();
            one_per_folder && crcs.len() <= 1
        })
        .map(|(k, _)| k)
        .collect();
    // (title, time) → the trusted ids of originals with that sidecar, for an edited variant
    // whose original is not beside it.
    let mut by_title_time: HashMap<(&str, i64), HashSet<String>> = HashMap::new();
    for k in &trusted {
        by_title_time
            .entry((k.0.as_str(), k.1))
            .or_default()
            .insert(meta_id(k));
    }

    let mut ids: Vec<Option<String>> = vec![None; catalog.media.len()];
    fn id_of(
        catalog: &Catalog,
        i: usize,
        ids: &mut Vec<Option<String>>,
        trusted: &HashSet<&MetaKey>,
        by_title_time: &HashMap<(&str, i64), HashSet<String>>,
        depth: usize,
    ) -> String {
        if let Some(id) = &ids[i] {
            return id.clone();
        }
        let e = &catalog.media[i];
        let folder_scoped = || {
            // No sidecar (or no trustworthy identity): the folder, the name and the size. The
            // size keeps two different photos that happen to share a name across exports
            // (IMG.jpg deleted, IMG(1).jpg renamed IMG.jpg) from collapsing into one item.
            format!(
                "takeout-file:{}/{}#{}",
                folder_key(&e.folder),
                e.file_name,
                e.size
            )
        };
        let url_key = e
            .sidecar
            .as_ref()
            .and_then(|s| s.url.as_deref())
            .and_then(|url| {
                let key = url.trim_end_matches('/').rsplit('/').next().unwrap_or(url);
                (!key.is_empty()).then(|| format!("takeout:{key}"))
            });
        let id = match e.variant {
            // A duplicate path, or a variant whose parent is known: derived from the parent
            // (a depth cap guards against a malformed catalog linking in circles).
            _ if e.duplicate_of.is_some() && depth < 8 => {
                let first = e.duplicate_of.expect("checked");
                id_of(catalog, first, ids, trusted, by_title_time, depth + 1)
            }
            Variant::Edited { original: Some(o) } if depth < 8 => format!(
                "{}#edited",
                id_of(catalog, o, ids, trusted, by_title_time, depth + 1)
            ),
            Variant::LiveCompanion { still: Some(o) } if depth < 8 => format!(
                "{}#live",
                id_of(catalog, o, ids, trusted, by_title_time, depth + 1)
            ),
            // An edited variant whose original is not in its folder: the original's id from
            // the shared sidecar, never the original's own id (that would make the edit and
            // the original one item).
            Variant::Edited { original: None } => {
                let sc = e.sidecar.as_ref();
                let via_meta = sc.and_then(|sc| {
                    let set = by_title_time.get(&(sc.title.as_str(), sc.photo_taken_time?))?;
                    (set.len() == 1)
                        .then(|| set.iter().next().cloned())
                        .flatten()
                });
                match url_key.or(via_meta) {
                    Some(base) => format!("{base}#edited"),
                    None => folder_scoped(),
                }
            }
            Variant::LiveCompanion { .. } => folder_scoped(),
            Variant::Original | Variant::Creation | Variant::Edited { .. } => {
                match (url_key, meta_key(e)) {
                    (Some(id), _) => id,
                    (None, Some(k)) if trusted.contains(&k) => meta_id(&k),
                    _ => folder_scoped(),
                }
            }
        };
        ids[i] = Some(id.clone());
        id
    }
    for i in 0..catalog.media.len() {
        id_of(catalog, i, &mut ids, &trusted, &by_title_time, 0);
    }
    ids.into_iter().map(Option::unwrap_or_default).collect()
}

/// `takeout-meta:<title>|<photoTakenTime>|<size>`.
fn meta_id(k: &MetaKey) -> String {
    format!("takeout-meta:{}|{}|{}", k.0, k.1, k.2)
}

fn folder_key(f: &Folder) -> String {
    match f {
        Folder::Year(y) => format!("year:{y}"),
        Folder::Album { folder_name, .. } => format!("album:{folder_name}"),
        Folder::Archive => "archive".into(),
        Folder::Trash => "trash".into(),
        Folder::FailedVideos => "failed-videos".into(),
        Folder::LockedFolder => "locked-folder".into(),
        Folder::Other(p) => format!("other:{p}"),
    }
}

fn mime_of(name: &str) -> Option<&'static str> {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase())?;
    Some(match ext.as_str() {
        "jpg" | "jpeg" => "image/jpeg",
        "heic" => "image/heic",
        "heif" => "image/heif",
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "dng" => "image/x-adobe-dng",
        "mp4" | "m4v" => "video/mp4",
        "mov" => "video/quicktime",
        "avi" => "video/x-msvideo",
        "3gp" => "video/3gpp",
        "mkv" => "video/x-matroska",
        "mp" => "video/mp4",
        _ => return None,
    })
}

fn origin_text(o: &Origin) -> String {
    match o {
        Origin::MobileUpload {
            device_type,
            device_folder,
        } => format!(
            "mobile:{}:{}",
            device_type.as_deref().unwrap_or(""),
            device_folder.as_deref().unwrap_or("")
        ),
        Origin::WebUpload => "web".into(),
        Origin::PartnerSharing => "partner".into(),
        Origin::SharedAlbum => "shared-album".into(),
        Origin::Composition { kind } => format!("creation:{}", kind.as_deref().unwrap_or("")),
        Origin::Other(k) => format!("other:{k}"),
    }
}

/// The rule as `items.sidecar_rule` records it: its code with the counter it used
/// (`legacy(1)`) or the suffix it inferred (`edited-variant-inferred(-redigeret)`).
fn rule_text(r: &MatchRule) -> String {
    match (r.counter(), r.inferred_suffix()) {
        (Some(n), _) => format!("{}({n})", r.code()),
        (None, Some(suffix)) => format!("{}({suffix})", r.code()),
        (None, None) => r.code().to_string(),
    }
}

/// Records an entry's item, album and flags.
fn plan_entry(
    repo: &Repo,
    account: &Account,
    catalog: &Catalog,
    entry: &MediaEntry,
    remote_id: &str,
    run_id: i64,
) -> Result<Planned> {
    let sidecar = entry.sidecar.as_ref();
    let is_variant = matches!(
        entry.variant,
        Variant::Edited { .. } | Variant::LiveCompanion { .. }
    );
    let filename = match sidecar {
        Some(sc) if !is_variant && sc.title.contains('.') && !sc.title.contains('/') => {
            sc.title.clone()
        }
        _ => entry.file_name.clone(),
    };
    let mime = mime_of(&entry.file_name).or_else(|| mime_of(&filename));
    let is_video = mime.is_some_and(|m| m.starts_with("video/"))
        || matches!(entry.variant, Variant::LiveCompanion { .. });
    let file = existing_file_meta(repo, account.id, remote_id)?;
    let sidecar_time = sidecar.and_then(|sc| sc.photo_taken_time);
    let (taken_at, taken_source) = resolve_time(sidecar_time, file.as_ref());
    let (lat, lon, alt, gps_source) = match sidecar {
        Some(sc) if sc.geo_data.is_some() => {
            let g = sc.geo_data.as_ref().expect("checked");
            (
                Some(g.latitude),
                Some(g.longitude),
                Some(g.altitude),
                Some("takeout-geoData"),
            )
        }
        Some(sc) if sc.geo_data_exif.is_some() => {
            let g = sc.geo_data_exif.as_ref().expect("checked");
            (
                Some(g.latitude),
                Some(g.longitude),
                Some(g.altitude),
                Some("takeout-geoDataExif"),
            )
        }
        _ => match file.as_ref().and_then(|f| f.lat.zip(f.lon)) {
            Some((la, lo)) => (
                Some(la),
                Some(lo),
                file.as_ref().and_then(|f| f.alt),
                Some("exif"),
            ),
            None => (None, None, None, None),
        },
    };
    let meta = ItemMeta {
        filename: filename.clone(),
        mime_type: mime.map(str::to_string),
        description: sidecar.map(|sc| sc.description.clone()),
        taken_at,
        taken_source: taken_source.map(str::to_string),
        latitude: lat,
        longitude: lon,
        altitude: alt,
        gps_source: gps_source.map(str::to_string),
        is_video,
        favorite: sidecar.map(|sc| sc.favorited),
        archived: Some(
            sidecar.is_some_and(|sc| sc.archived) || matches!(entry.folder, Folder::Archive),
        ),
        trashed: Some(
            sidecar.is_some_and(|sc| sc.trashed) || matches!(entry.folder, Folder::Trash),
        ),
        raw_json: sidecar.map(|sc| sc.raw.to_string()),
        ..Default::default()
    };
    let state = repo.index.upsert_item(
        account.id,
        remote_id,
        &meta,
        run_id,
        "takeout",
        Some(&catalog.export_id),
    )?;
    let people = sidecar
        .filter(|sc| !sc.people.is_empty())
        .map(|sc| serde_json::to_string(&sc.people).unwrap_or_default());
    let origin = sidecar.and_then(|sc| sc.origin.as_ref()).map(origin_text);
    let rule = match (&entry.matched_by, sidecar) {
        (r, Some(sc)) => format!("{}: {}", rule_text(r), sc.json_path),
        (MatchRule::None { reason }, None) => format!("none: {reason}"),
        (r, None) => format!("none: {}", rule_text(r)),
    };
    let extra_changed = repo.index.with(|c| {
        let before: String = c.query_row(
            "SELECT json_array(people, origin, sidecar_taken_at) FROM items WHERE id = ?1",
            [state.id],
            |r| r.get(0),
        )?;
        c.execute(
            "UPDATE items SET people = ?2, origin = COALESCE(?3, origin), sidecar_rule = ?4,
             sidecar_taken_at = COALESCE(?5, sidecar_taken_at) WHERE id = ?1",
            params![state.id, people, origin, rule, sidecar_time],
        )?;
        let after: String = c.query_row(
            "SELECT json_array(people, origin, sidecar_taken_at) FROM items WHERE id = ?1",
            [state.id],
            |r| r.get(0),
        )?;
        Ok(before != after)
    })?;
    // Album membership from the folder the entry sits in.
    let album: Option<Album> = match &entry.folder {
        Folder::Album {
            folder_name,
            title,
            description,
        } => Some(takeout_album(
            repo,
            account,
            folder_name,
            title,
            description.as_deref(),
            run_id,
        )?),
        Folder::Other(path) => {
            let name = path.rsplit('/').next().unwrap_or(path);
            Some(takeout_album(repo, account, path, name, None, run_id)?)
        }
        // The export's year folder is Google's own placement; keep it even without a time.
        Folder::Year(y) => Some(ensure_year_folder(repo, account, Some(*y))?),
        // Google's special folders are no albums: their items go to the year folder of their
        // capture time. Archived and trashed items keep their flags; a failed video and a
        // Locked Folder item are reported by the reader (problems of the import).
        Folder::Archive | Folder::Trash | Folder::FailedVideos | Folder::LockedFolder => {
            Some(ensure_year_album(repo, account, taken_at)?)
        }
    };
    let mut new_membership = false;
    if let Some(a) = &album {
        new_membership = repo.index.add_membership(a.id, state.id)?;
    }
    Ok(Planned {
        item_id: state.id,
        filename,
        taken_at,
        // The first copy seen in this run tells whether the item was stored before; later copies
        // see the run's own upsert.
        was_stored: !state.is_new && state.content_id.is_some(),
        changed: state.meta_changed || extra_changed || new_membership,
        known_before: state
            .prev_source_ref
            .as_deref()
            .is_some_and(|r| r != catalog.export_id),
    })
}

/// The album row of a Takeout album folder, keyed by the folder's name in the export (two
/// albums may share a title; Takeout gives them different folders). Takeout albums are the
/// Takeout source's own: merging them with a Library API album of the same title would let
/// `prune` remove Takeout memberships when the API album goes.
fn takeout_album(
    repo: &Repo,
    account: &Account,
    folder_name: &str,
    title: &str,
    description: Option<&str>,
    run_id: i64,
) -> Result<Album> {
    let remote = format!("takeout:{folder_name}");
    let kind = if crate::backup::is_automatic_album(title) {
        "auto"
    } else {
        "user"
    };
    repo.index.upsert_album(
        account,
        &AlbumSpec {
            remote_id: &remote,
            source: "takeout",
            title,
            description,
            kind,
            raw_json: None,
        },
        Some(run_id),
        |n| album_folder(account, title, n),
    )
}

/// What the stored file of an item says about itself.
struct FileFacts {
    taken_at: Option<i64>,
    offset: Option<String>,
    lat: Option<f64>,
    lon: Option<f64>,
    alt: Option<f64>,
}

fn existing_file_meta(repo: &Repo, account_id: i64, remote_id: &str) -> Result<Option<FileFacts>> {
    repo.index.with(|c| {
        Ok(c.query_row(
            "SELECT ct.file_taken_at, ct.file_offset, ct.file_lat, ct.file_lon, ct.file_alt
             FROM items i JOIN content ct ON ct.id = i.content_id
             WHERE i.account_id = ?1 AND i.remote_id = ?2",
            params![account_id, remote_id],
            |r| {
                Ok(FileFacts {
                    taken_at: r.get(0)?,
                    offset: r.get(1)?,
                    lat: r.get(2)?,
                    lon: r.get(3)?,
                    alt: r.get(4)?,
                })
            },
        )
        .optional()?)
    })
}

/// EXIF time with offset when sane, else the sidecar's; and which one won.
fn resolve_time(
    sidecar: Option<i64>,
    file: Option<&FileFacts>,
) -> (Option<i64>, Option<&'static str>) {
    if let Some(f) = file
        && let Some(t) = f.taken_at
        && exif_time_is_sane(t, f.offset.as_deref())
    {
        return (Some(t), Some("exif"));
    }
    match sidecar {
        Some(t) => (Some(t), Some("takeout")),
        None => (None, None),
    }
}

/// Timelinize's heuristics, which match what users report: an EXIF time is suspect when it lies
/// in the future, is exactly midnight on 1 January (a camera's reset clock), or carries an offset
/// beyond ±14 h.
pub fn exif_time_is_sane(t: i64, offset: Option<&str>) -> bool {
    if t <= 0 || t > now() + 86_400 {
        return false;
    }
    let offset_secs = offset.and_then(parse_offset).unwrap_or(0);
    if offset_secs.abs() > 14 * 3600 {
        return false;
    }
    let local = t + offset_secs;
    let Ok(ts) = jiff::Timestamp::from_second(local) else {
        return false;
    };
    let dt = ts.to_zoned_datetime(jiff::tz::TimeZone::UTC);
    !(dt.month() == 1 && dt.day() == 1 && dt.hour() == 0 && dt.minute() == 0 && dt.second() == 0)
}

fn parse_offset(s: &str) -> Option<i64> {
    let sign = match s.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (h, m) = s[1..].split_once(':')?;
    Some(sign * (h.parse::<i64>().ok()? * 3600 + m.parse::<i64>().ok()? * 60))
}

/// After the bytes are stored: upgrade the time to the file's EXIF time when sane, and take the
/// file's GPS when the sidecar had none.
fn resolve_from_file(repo: &Repo, item_id: i64) -> Result<()> {
    repo.index.with(|c| {
        type Row = (
            Option<i64>,
            Option<String>,
            Option<i64>,
            Option<String>,
            Option<f64>,
            Option<f64>,
            Option<f64>,
            Option<String>,
        );
        let row: Option<Row> = c
            .query_row(
                "SELECT ct.file_taken_at, ct.file_offset, i.sidecar_taken_at, i.taken_source,
                        ct.file_lat, ct.file_lon, ct.file_alt, i.gps_source
                 FROM items i JOIN content ct ON ct.id = i.content_id WHERE i.id = ?1",
                [item_id],
                |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                        r.get(7)?,
                    ))
                },
            )
            .optional()?;
        let Some((ft, off, _st, src, lat, lon, alt, gps_src)) = row else {
            return Ok(());
        };
        if let Some(t) = ft
            && exif_time_is_sane(t, off.as_deref())
            && src.as_deref() != Some("exif")
        {
            c.execute(
                "UPDATE items SET taken_at = ?2, taken_source = 'exif' WHERE id = ?1",
                params![item_id, t],
            )?;
        }
        if gps_src.is_none()
            && let (Some(la), Some(lo)) = (lat, lon)
        {
            c.execute(
                "UPDATE items SET latitude = ?2, longitude = ?3, altitude = ?4, gps_source = 'exif'
                 WHERE id = ?1",
                params![item_id, la, lo, alt],
            )?;
        }
        Ok(())
    })
}

/// What the finishing touches of an imported item need from the index.
struct FileFinish {
    path: String,
    taken_at: Option<i64>,
    taken_source: Option<String>,
    file_offset: Option<String>,
    fields: XmpFields,
}

fn file_finish(repo: &Repo, item_id: i64) -> Result<Option<FileFinish>> {
    repo.index.with(|c| {
        Ok(c.query_row(
            "SELECT ct.path, i.taken_at, i.taken_source, ct.file_offset, i.latitude, i.longitude,
                    i.altitude, i.description, i.favorite, i.people
             FROM items i JOIN content ct ON ct.id = i.content_id WHERE i.id = ?1",
            [item_id],
            |r| {
                let people: Option<String> = r.get(9)?;
                Ok(FileFinish {
                    path: r.get(0)?,
                    taken_at: r.get(1)?,
                    taken_source: r.get(2)?,
                    file_offset: r.get(3)?,
                    fields: XmpFields {
                        taken: None,
                        latitude: r.get(4)?,
                        longitude: r.get(5)?,
                        altitude: r.get(6)?,
                        description: r.get(7)?,
                        favorite: r.get(8)?,
                        people: people
                            .and_then(|p| serde_json::from_str(&p).ok())
                            .unwrap_or_default(),
                    },
                })
            },
        )
        .optional()?)
    })
}

/// The capture time as XMP wants it: local time with the offset the file recorded when EXIF
/// won, else UTC.
fn xmp_time(f: &FileFinish) -> Option<String> {
    let ts = jiff::Timestamp::from_second(f.taken_at?).ok()?;
    let offset = f.file_offset.as_deref();
    match (f.taken_source.as_deref(), offset.and_then(parse_offset)) {
        (Some("exif"), Some(secs)) => {
            let tz = jiff::tz::TimeZone::fixed(jiff::tz::Offset::from_seconds(secs as i32).ok()?);
            let dt = ts.to_zoned_datetime(tz);
            Some(format!(
                "{}{}",
                dt.datetime().strftime("%Y-%m-%dT%H:%M:%S"),
                offset.unwrap_or_default()
            ))
        }
        _ => Some(ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()),
    }
}

/// Writes the `.xmp` sidecar (`xmp`) and sets the modification time to the capture time
/// (`mtime`), each only when it differs from what is on disk. Returns true when an XMP file was
/// written.
fn finish_file(repo: &Repo, item_id: i64, xmp: bool, mtime: bool) -> Result<bool> {
    let Some(mut f) = file_finish(repo, item_id)? else {
        return Ok(false);
    };
    let abs = repo.abs(&f.path);
    if mtime && let Some(secs) = f.taken_at.and_then(|t| u64::try_from(t).ok()) {
        let when = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs);
        let current = std::fs::metadata(&abs).and_then(|m| m.modified()).ok();
        if current != Some(when)
            && let Err(e) = std::fs::File::options()
                .write(true)
                .open(&abs)
                .and_then(|file| file.set_modified(when))
        {
            tracing::error!("setting the modification time of {}: {e}", abs.display());
        }
    }
    if !xmp {
        return Ok(false);
    }
    f.fields.taken = xmp_time(&f);
    let xmp_path = repo.abs(&format!("{}.xmp", f.path));
    write_atomic_if_changed(&repo.tmp_dir(), &xmp_path, render(&f.fields).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suspicious_exif_times_lose_to_the_sidecar() {
        // 2019-05-04T12:30:00+02:00
        let good = 1_556_965_800;
        assert!(exif_time_is_sane(good, Some("+02:00")));
        assert!(!exif_time_is_sane(now() + 10 * 86_400, Some("+00:00")));
        // 2010-01-01T00:00:00 local (+01:00) is a reset camera clock.
        assert!(!exif_time_is_sane(1_262_300_400, Some("+01:00")));
        assert!(!exif_time_is_sane(good, Some("+15:00")));
        let f = FileFacts {
            taken_at: Some(good),
            offset: Some("+02:00".into()),
            lat: None,
            lon: None,
            alt: None,
        };
        assert_eq!(resolve_time(Some(1), Some(&f)), (Some(good), Some("exif")));
        assert_eq!(resolve_time(Some(7), None), (Some(7), Some("takeout")));
        assert_eq!(resolve_time(None, None), (None, None));
    }
}
