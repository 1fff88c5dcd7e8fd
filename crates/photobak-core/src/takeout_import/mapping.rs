//! One archive entry mapped onto the index: the item's metadata from its sidecar and the
//! file's own facts, its album or year folder, its flags, people, origin and the sidecar rule.

use std::collections::HashMap;
use std::sync::Arc;

use photobak_takeout::{Folder, MatchRule, MediaEntry, Origin, SidecarRef, SidecarTexts, Variant};

use super::Recorded;
use super::time::{existing_file_meta, resolve_time};
use crate::error::{Error, Result};
use crate::index::{Account, Album, AlbumSpec, ItemMeta, TakeoutExtras};
use crate::ingest::{album_folder, ensure_year_album, ensure_year_folder};
use crate::kinds::{AlbumKind, Source, YearFolder};
use crate::repo::Repo;

pub(super) fn mime_of(name: &str) -> Option<&'static str> {
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

pub(super) fn origin_text(o: &Origin) -> String {
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
pub(super) fn rule_text(r: &MatchRule) -> String {
    match (r.counter(), r.inferred_suffix()) {
        (Some(n), _) => format!("{}({n})", r.code()),
        (None, Some(suffix)) => format!("{}({suffix})", r.code()),
        (None, None) => r.code().to_string(),
    }
}

/// The albums (and year folders) one import has already recorded, by what names them: the
/// entries of a folder all name the same album with the same title, so recording it once per
/// folder instead of once per entry writes the same rows (the album's last sighting keeps the
/// time of its first entry in this run, not of its last).
#[derive(Default)]
pub(super) struct AlbumCache(HashMap<AlbumKey, Album>);

#[derive(Hash, PartialEq, Eq)]
enum AlbumKey {
    /// A Takeout album folder: its folder name, title and description (shared with the
    /// catalog's entries).
    Takeout(Arc<str>, Arc<str>, Option<Arc<str>>),
    /// A year folder (`None`: Undated).
    Year(Option<i32>),
}

impl AlbumCache {
    fn get(&mut self, key: AlbumKey, make: impl FnOnce() -> Result<Album>) -> Result<Album> {
        if let Some(a) = self.0.get(&key) {
            return Ok(a.clone());
        }
        let a = make()?;
        self.0.insert(key, a.clone());
        Ok(a)
    }
}

/// Records an entry's item, album and flags.
#[allow(clippy::too_many_arguments)]
pub(super) fn plan_entry(
    repo: &Repo,
    account: &Account,
    export_id: &str,
    entry: &MediaEntry,
    sidecar: Option<&SidecarRef>,
    remote_id: &str,
    run_id: i64,
    albums: &mut AlbumCache,
    texts: &mut SidecarTexts<'_>,
) -> Result<Recorded> {
    // Read again from the part: the catalog keeps where each sidecar is and what names the
    // item, not the rest of it.
    let read = sidecar
        .map(|at| texts.read(at))
        .transpose()
        .map_err(|e| Error::Io {
            context: format!("reading the sidecar of {}", entry.path),
            source: e,
        })?;
    let (sidecar, raw_json) = match read {
        Some((sc, text)) => (Some(sc), Some(text)),
        None => (None, None),
    };
    let sidecar = sidecar.as_ref();
    let is_variant = matches!(
        entry.variant,
        Variant::Edited { .. } | Variant::LiveCompanion { .. }
    );
    let filename = match sidecar {
        Some(sc) if !is_variant && sc.title.contains('.') && !sc.title.contains('/') => {
            sc.title.clone()
        }
        _ => entry.file_name().to_owned(),
    };
    let mime = mime_of(entry.file_name()).or_else(|| mime_of(&filename));
    let is_video = mime.is_some_and(|m| m.starts_with("video/"))
        || matches!(entry.variant, Variant::LiveCompanion { .. });
    let file = existing_file_meta(repo, account.id, remote_id)?;
    let sidecar_time = sidecar.and_then(|sc| sc.photo_taken_time);
    let (taken_at, taken_source) = resolve_time(sidecar_time, file.as_ref());
    let sidecar_geo = sidecar.and_then(|sc| {
        sc.geo_data
            .as_ref()
            .map(|g| (g, "takeout-geoData"))
            .or_else(|| {
                sc.geo_data_exif
                    .as_ref()
                    .map(|g| (g, "takeout-geoDataExif"))
            })
    });
    let (lat, lon, alt, gps_source) = match sidecar_geo {
        Some((g, from)) => (
            Some(g.latitude),
            Some(g.longitude),
            Some(g.altitude),
            Some(from),
        ),
        None => match file.as_ref().and_then(|f| f.lat.zip(f.lon)) {
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
        taken_source,
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
        raw_json,
        ..Default::default()
    };
    let adopted = adopt_picked_twin(repo, account, entry, remote_id, &meta)?;
    let state = repo.index.upsert_item(
        account.id,
        remote_id,
        &meta,
        run_id,
        Source::Takeout,
        Some(export_id),
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
    let extra_changed = repo.index.set_takeout_extras(
        state.id,
        &TakeoutExtras {
            people: people.as_deref(),
            origin: origin.as_deref(),
            sidecar_rule: &rule,
            sidecar_taken_at: sidecar_time,
        },
    )?;
    // Album membership from the folder the entry sits in.
    let album: Option<Album> = match &entry.folder {
        Folder::Album(a) => Some(albums.get(
            AlbumKey::Takeout(
                a.folder_name.clone(),
                a.title.clone(),
                a.description.clone(),
            ),
            || {
                takeout_album(
                    repo,
                    account,
                    &a.folder_name,
                    &a.title,
                    a.description.as_deref(),
                    run_id,
                )
            },
        )?),
        Folder::Other(path) => {
            let name = path.rsplit('/').next().unwrap_or(path);
            Some(albums.get(
                AlbumKey::Takeout(Arc::from(&**path), Arc::from(name), None),
                || takeout_album(repo, account, path, name, None, run_id),
            )?)
        }
        // The export's year folder is Google's own placement; keep it even without a time.
        Folder::Year(y) => Some(albums.get(AlbumKey::Year(Some(*y)), || {
            ensure_year_folder(repo, account, Some(*y))
        })?),
        // Google's special folders are no albums: their items go to the year folder of their
        // capture time. Archived and trashed items keep their flags; a failed video and a
        // Locked Folder item are reported by the reader (problems of the import).
        Folder::Archive | Folder::Trash | Folder::FailedVideos | Folder::LockedFolder => {
            let year = YearFolder::of_time(taken_at).0;
            Some(albums.get(AlbumKey::Year(year), || {
                ensure_year_album(repo, account, taken_at)
            })?)
        }
    };
    let mut new_membership = false;
    if let Some(a) = &album {
        new_membership = repo.index.add_membership(a.id, state.id)?;
    }
    Ok(Recorded {
        adopted,
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
            .is_some_and(|r| r != export_id),
    })
}

/// The album row of a Takeout album folder, keyed by the folder's name in the export (two
/// albums may share a title; Takeout gives them different folders). Takeout albums are the
/// Takeout source's own: merging them with a Library API album of the same title would let
/// `prune` remove Takeout memberships when the API album goes.
pub(super) fn takeout_album(
    repo: &Repo,
    account: &Account,
    folder_name: &str,
    title: &str,
    description: Option<&str>,
    run_id: i64,
) -> Result<Album> {
    let remote = format!("takeout:{folder_name}");
    let kind = AlbumKind::of_title(title);
    repo.index.upsert_album(
        account,
        &AlbumSpec {
            remote_id: &remote,
            source: Source::Takeout,
            title,
            description,
            kind,
            raw_json: None,
        },
        Some(run_id),
        |n| album_folder(account, title, n),
    )
}

/// A photo picked before its export was imported becomes one item with two sources: the picked
/// item takes the export's id (so later exports find it) and, in the bytes pass, the Takeout
/// original replaces the picked copy, which the Picker served without its location. The
/// message for the report when it happened.
fn adopt_picked_twin(
    repo: &Repo,
    account: &Account,
    entry: &MediaEntry,
    remote_id: &str,
    meta: &ItemMeta,
) -> Result<Option<String>> {
    let Some(taken_at) = meta.taken_at else {
        return Ok(None);
    };
    if !matches!(entry.variant, Variant::Original)
        || repo.index.item_id(account.id, remote_id)?.is_some()
    {
        return Ok(None);
    }
    let Some(twin) = repo.index.picked_twin(
        account.id,
        &meta.filename,
        taken_at,
        meta.width,
        meta.height,
    )?
    else {
        return Ok(None);
    };
    repo.index.rekey_item(twin, remote_id)?;
    Ok(Some(format!(
        "{} (picked item {twin}) is in this export: its Takeout original replaces the picked copy",
        meta.filename
    )))
}
