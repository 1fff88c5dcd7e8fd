//! Typed reads and writes of the index, shared by every command.

use rusqlite::{Connection, OptionalExtension, ToSql, params, params_from_iter};

use super::{Index, now};
use crate::error::{Error, Result};
use crate::exports::ExportId;
use crate::kinds::{AlbumKind, Source, TimeSource};
use crate::repo::naming::portable_key;

/// A configured account.
#[derive(Debug, Clone)]
pub struct Account {
    /// Row id.
    pub id: i64,
    /// `googlephotos`.
    pub provider: String,
    /// The address as given.
    pub name: String,
    /// Repository-relative folder of the account.
    pub folder: String,
    /// OAuth token JSON, when authorised.
    pub credentials: Option<String>,
}

/// An album (or a derived year folder) of an account.
#[derive(Debug, Clone)]
pub struct Album {
    /// Row id.
    pub id: i64,
    /// Owning account.
    pub account_id: i64,
    /// Source's id (`year:2019` for year folders).
    pub remote_id: String,
    /// Title as the source gave it.
    pub title: String,
    /// Repository-relative folder.
    pub folder: String,
    /// User album, automatic album or year folder.
    pub kind: AlbumKind,
}

/// Where an album comes from and what it is called, before it has a folder.
#[derive(Debug, Clone)]
pub struct AlbumSpec<'a> {
    /// Source's album id.
    pub remote_id: &'a str,
    /// Where it comes from (`Derived` for year folders).
    pub source: Source,
    /// Title.
    pub title: &'a str,
    /// Album description, when the source has one.
    pub description: Option<&'a str>,
    /// User album, automatic album or year folder.
    pub kind: AlbumKind,
    /// Raw source JSON (with `--everything`).
    pub raw_json: Option<&'a str>,
}

/// Source-neutral metadata of an item. `None` fields leave what is stored untouched, so a
/// source that does not know a field (the Library API has no GPS) never erases what another
/// source (Takeout) recorded.
#[derive(Debug, Clone, Default)]
pub struct ItemMeta {
    /// File name as the source gave it.
    pub filename: String,
    /// MIME type.
    pub mime_type: Option<String>,
    /// Description; `Some("")` means "known to be empty".
    pub description: Option<String>,
    /// Capture time, UTC seconds.
    pub taken_at: Option<i64>,
    /// Where `taken_at` came from.
    pub taken_source: Option<TimeSource>,
    /// Pixel width.
    pub width: Option<i64>,
    /// Pixel height.
    pub height: Option<i64>,
    /// Camera make.
    pub camera_make: Option<String>,
    /// Camera model.
    pub camera_model: Option<String>,
    /// Latitude, degrees.
    pub latitude: Option<f64>,
    /// Longitude, degrees.
    pub longitude: Option<f64>,
    /// Altitude, metres.
    pub altitude: Option<f64>,
    /// Where the position came from.
    pub gps_source: Option<String>,
    /// Video rather than photo.
    pub is_video: bool,
    /// Favourite flag, when the source knows it.
    pub favorite: Option<bool>,
    /// Archived flag, when the source knows it.
    pub archived: Option<bool>,
    /// Trashed flag, when the source knows it.
    pub trashed: Option<bool>,
    /// Raw source JSON (with `--everything`).
    pub raw_json: Option<String>,
    /// Version fingerprint.
    pub version: Option<String>,
}

/// State of an item after it was recorded.
#[derive(Debug, Clone)]
pub struct ItemState {
    /// Row id.
    pub id: i64,
    /// Stored content, if any.
    pub content_id: Option<i64>,
    /// First time this item was ever seen.
    pub is_new: bool,
    /// The version fingerprint differs from the stored one.
    pub version_changed: bool,
    /// Any stored metadata field changed.
    pub meta_changed: bool,
    /// This run had already recorded it (it is in several albums).
    pub seen_this_run: bool,
    /// What this source's provenance said before this call (for Takeout: the newest export
    /// that held it), None when the source had not delivered it. Read only by a call that
    /// names a `source_ref` (Takeout, the Picker): None for the others.
    pub prev_source_ref: Option<String>,
}

/// Where an item's bytes are, as the index knows it.
#[derive(Debug, Clone)]
pub struct StoredFile {
    /// Repository-relative path.
    pub path: String,
    /// Size in bytes.
    pub size: i64,
    /// False once `verify` found the file damaged (it clears `verified_at`), or before any
    /// check.
    pub verified: bool,
}

/// A physical file.
#[derive(Debug, Clone)]
pub struct Content {
    /// Row id.
    pub id: i64,
    /// BLAKE3 digest.
    pub blake3: [u8; 32],
    /// Size in bytes.
    pub size: i64,
    /// Repository-relative path.
    pub path: String,
}

pub(super) fn hash_from(v: Vec<u8>) -> [u8; 32] {
    let mut h = [0u8; 32];
    if v.len() == 32 {
        h.copy_from_slice(&v);
    }
    h
}

pub(super) fn content_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Content> {
    Ok(Content {
        id: r.get(0)?,
        blake3: hash_from(r.get(1)?),
        size: r.get(2)?,
        path: r.get(3)?,
    })
}

fn album_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Album> {
    Ok(Album {
        id: r.get(0)?,
        account_id: r.get(1)?,
        remote_id: r.get(2)?,
        title: r.get(3)?,
        folder: r.get(4)?,
        kind: r.get(5)?,
    })
}

const ALBUM_COLS: &str = "id, account_id, remote_id, title, folder, kind";

/// The stored file's path of each member of an account's albums that lives outside its
/// album's folder, by album, then path ([`Index::each_album_member_path`]). Driven by the
/// items' small index of their stored files (`items_content`), never by the items' large rows
/// (a Takeout item keeps its sidecar: looking each member up in `items` took three times as
/// long); the rule of `others.txt` (not directly in the album's folder: elsewhere or deeper)
/// is applied before the sort, which then orders only the lines (a fifth of the members of a
/// generated export, most members being in their year's folder). `substr` and `length` count
/// characters on both sides, so the prefix test is the byte-wise one.
pub(super) const ALBUM_MEMBER_PATHS: &str = "
    SELECT m.album_id, ct.path FROM items i INDEXED BY items_content
    JOIN content ct ON ct.id = i.content_id
    JOIN memberships m ON m.item_id = i.id
    JOIN albums a ON a.id = m.album_id
    WHERE i.content_id IS NOT NULL AND a.account_id = ?1
      AND NOT (substr(ct.path, 1, length(a.folder) + 1) = a.folder || '/'
               AND instr(substr(ct.path, length(a.folder) + 2), '/') = 0)
    ORDER BY m.album_id, ct.path";

impl Index {
    /// Returns the account, creating it with `folder` when new.
    pub fn ensure_account(&self, provider: &str, name: &str, folder: &str) -> Result<Account> {
        self.with(|c| {
            c.prepare_cached(
                "INSERT INTO accounts (provider, name, folder, created_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (provider, name) DO NOTHING",
            )?
            .execute(params![provider, name, folder, now()])?;
            Ok(account_query(c, provider, name)?.expect("just inserted"))
        })
    }

    /// The account, if configured before.
    pub fn account(&self, provider: &str, name: &str) -> Result<Option<Account>> {
        self.with(|c| account_query(c, provider, name))
    }

    /// The accounts named, or every account when none is: what a command that works on
    /// accounts (prune, exports) concerns.
    ///
    /// # Errors
    /// [`Error::BadArgument`] for an account the repository does not know.
    pub fn select_accounts(&self, names: &[String]) -> Result<Vec<Account>> {
        let all = self.accounts()?;
        if names.is_empty() {
            return Ok(all);
        }
        names
            .iter()
            .map(|n| {
                all.iter().find(|a| &a.name == n).cloned().ok_or_else(|| {
                    Error::BadArgument(format!("{n}: no such account in the repository"))
                })
            })
            .collect()
    }

    /// Every account, in creation order.
    pub fn accounts(&self) -> Result<Vec<Account>> {
        self.with(|c| {
            let mut st = c.prepare(
                "SELECT id, provider, name, folder, credentials FROM accounts ORDER BY id",
            )?;
            let rows = st
                .query_map([], account_from_row)?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
    }

    /// Stores (or clears) the OAuth credentials of an account.
    pub fn set_credentials(&self, account_id: i64, credentials: Option<&str>) -> Result<()> {
        self.with(|c| {
            c.prepare_cached("UPDATE accounts SET credentials = ?2 WHERE id = ?1")?
                .execute(params![account_id, credentials])?;
            Ok(())
        })
    }

    /// Records an album, reserving a folder for it when it is new. `folder_for` proposes the
    /// folder (without a collision suffix); the index decides the suffix, so two albums with the
    /// same title get `Title` and `Title (2)` in a stable order.
    pub fn upsert_album(
        &self,
        account: &Account,
        spec: &AlbumSpec<'_>,
        run_id: Option<i64>,
        folder_for: impl Fn(u32) -> String,
    ) -> Result<Album> {
        self.tx(|tx| {
            let t = now();
            let existing: Option<i64> = tx.prepare_cached("SELECT id FROM albums WHERE account_id = ?1 AND remote_id = ?2")?.query_row(params![account.id, spec.remote_id],
                    |r| r.get(0),
                )
                .optional()?;
            let id = match existing {
                Some(id) => {
                    tx.prepare_cached("UPDATE albums SET title = ?2, description = COALESCE(?3, description),
                         raw_json = COALESCE(?4, raw_json), last_seen = ?5,
                         seen_run = COALESCE(?6, seen_run) WHERE id = ?1")?.execute(params![id, spec.title, spec.description, spec.raw_json, t, run_id],
                    )?;
                    id
                }
                None => {
                    let mut n = 1;
                    let folder = loop {
                        let candidate = folder_for(n);
                        let taken: bool = tx.prepare_cached("SELECT EXISTS(SELECT 1 FROM albums WHERE account_id = ?1 AND folder = ?2 COLLATE NOCASE)")?.query_row(params![account.id, candidate],
                            |r| r.get(0),
                        )?;
                        if !taken {
                            break candidate;
                        }
                        n += 1;
                    };
                    tx.prepare_cached("INSERT INTO albums (account_id, remote_id, source, title, description, folder,
                         kind, raw_json, first_seen, last_seen, seen_run)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?10)")?.execute(params![
                            account.id,
                            spec.remote_id,
                            spec.source,
                            spec.title,
                            spec.description,
                            folder,
                            spec.kind,
                            spec.raw_json,
                            t,
                            run_id
                        ],
                    )?;
                    tx.last_insert_rowid()
                }
            };
            Ok(tx.prepare_cached(&format!("SELECT {ALBUM_COLS} FROM albums WHERE id = ?1"))?.query_row(
                [id],
                album_from_row,
            )?)
        })
    }

    /// Every album of an account.
    pub fn albums(&self, account_id: i64) -> Result<Vec<Album>> {
        self.with(|c| {
            let mut st = c.prepare(&format!(
                "SELECT {ALBUM_COLS} FROM albums WHERE account_id = ?1 ORDER BY id"
            ))?;
            let rows = st
                .query_map([account_id], album_from_row)?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
    }

    /// Records an item's metadata as seen in this run and tells what changed.
    pub fn upsert_item(
        &self,
        account_id: i64,
        remote_id: &str,
        meta: &ItemMeta,
        run_id: i64,
        source: Source,
        source_ref: Option<&str>,
    ) -> Result<ItemState> {
        self.tx(|tx| {
            let t = now();
            type Prev = (
                i64,
                Option<i64>,
                Option<String>,
                Option<i64>,
                bool,
                Option<String>,
            );
            let flags = [meta.favorite, meta.archived, meta.trashed].map(|f| f.map(i64::from));
            // Whether the metadata UPDATE below would change anything: its SET clause compared
            // null-safely (`IS`) with what is stored. Relisting an unchanged item (every item of
            // a no-op backup) then writes only its sighting: an UPDATE that names `filename`
            // rewrites the item's entries in both name indexes even when the name is the same,
            // which made a no-op backup write hundreds of WAL pages for each listed page.
            let prev: Option<Prev> = tx.prepare_cached("SELECT id, content_id, version, seen_run,
                            NOT (version IS (CASE WHEN content_id IS NULL
                                                  THEN COALESCE(?4, version) ELSE version END)
                                 AND filename IS ?5
                                 AND mime_type IS COALESCE(?6, mime_type)
                                 AND description IS COALESCE(?7, description)
                                 AND taken_at IS COALESCE(?8, taken_at)
                                 AND taken_source IS COALESCE(?9, taken_source)
                                 AND width IS COALESCE(?10, width)
                                 AND height IS COALESCE(?11, height)
                                 AND camera_make IS COALESCE(?12, camera_make)
                                 AND camera_model IS COALESCE(?13, camera_model)
                                 AND latitude IS COALESCE(?14, latitude)
                                 AND longitude IS COALESCE(?15, longitude)
                                 AND altitude IS COALESCE(?16, altitude)
                                 AND gps_source IS COALESCE(?17, gps_source)
                                 AND favorite IS COALESCE(?18, favorite)
                                 AND archived IS COALESCE(?19, archived)
                                 AND trashed IS COALESCE(?20, trashed)
                                 AND raw_json IS COALESCE(?21, raw_json)),
                            -- Only a call that names a reference reads the one before (a
                            -- Library listing names none: a lookup per item saved).
                            CASE WHEN ?22 THEN (SELECT source_ref FROM provenance p
                                                WHERE p.item_id = items.id AND p.source = ?3) END
                     FROM items WHERE account_id = ?1 AND remote_id = ?2")?.query_row(
                    params_from_iter(
                        [&account_id as &dyn ToSql, &remote_id, &source]
                            .into_iter()
                            .chain(meta_params(meta, &flags))
                            .chain([&source_ref.is_some() as &dyn ToSql]),
                    ),
                    |r| {
                        Ok((
                            r.get(0)?,
                            r.get(1)?,
                            r.get(2)?,
                            r.get(3)?,
                            r.get(4)?,
                            r.get(5)?,
                        ))
                    },
                )
                .optional()?;
            let state = match prev {
                None => {
                    tx.prepare_cached("INSERT INTO items (account_id, remote_id, version, filename, mime_type,
                         description, taken_at, taken_source, width, height, camera_make, camera_model,
                         latitude, longitude, altitude, gps_source, favorite, archived, trashed,
                         raw_json, is_video, first_seen, last_seen, updated_at, seen_run)
                         VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,
                                 COALESCE(?17,0),COALESCE(?18,0),COALESCE(?19,0),?20,?21,?22,?22,?22,?23)")?.execute(
                        params_from_iter(
                            [&account_id as &dyn ToSql, &remote_id]
                                .into_iter()
                                .chain(meta_params(meta, &flags))
                                .chain([&meta.is_video as &dyn ToSql, &t, &run_id]),
                        ),
                    )?;
                    ItemState {
                        id: tx.last_insert_rowid(),
                        content_id: None,
                        is_new: true,
                        version_changed: false,
                        meta_changed: false,
                        seen_this_run: false,
                        prev_source_ref: None,
                    }
                }
                Some((id, content_id, version, seen_run, changes, prev_source_ref)) => {
                    tx.prepare_cached("UPDATE items SET last_seen = ?2, seen_run = ?3 WHERE id = ?1")?.execute(
                        params![id, t, run_id],
                    )?;
                    let meta_changed = changes && {
                        let fields = |tx: &Connection| -> Result<String> {
                            Ok(tx.prepare_cached("SELECT json_array(filename, mime_type, description, taken_at,
                                        width, height, camera_make, camera_model, latitude,
                                        longitude, altitude, favorite, archived, trashed)
                                 FROM items WHERE id = ?1")?.query_row(
                                [id],
                                |r| r.get(0),
                            )?)
                        };
                        let before = fields(tx)?;
                        tx.prepare_cached("UPDATE items SET
                             -- A stored item keeps its old version until the new bytes are
                             -- stored (set_item_version), so a failed or interrupted download
                             -- is retried.
                             version = CASE WHEN content_id IS NULL THEN COALESCE(?2, version)
                                            ELSE version END,
                             filename = ?3,
                             mime_type = COALESCE(?4, mime_type), description = COALESCE(?5, description),
                             taken_at = COALESCE(?6, taken_at), taken_source = COALESCE(?7, taken_source),
                             width = COALESCE(?8, width), height = COALESCE(?9, height),
                             camera_make = COALESCE(?10, camera_make), camera_model = COALESCE(?11, camera_model),
                             latitude = COALESCE(?12, latitude), longitude = COALESCE(?13, longitude),
                             altitude = COALESCE(?14, altitude), gps_source = COALESCE(?15, gps_source),
                             favorite = COALESCE(?16, favorite), archived = COALESCE(?17, archived),
                             trashed = COALESCE(?18, trashed), raw_json = COALESCE(?19, raw_json)
                             WHERE id = ?1")?.execute(
                            params_from_iter(
                                [&id as &dyn ToSql].into_iter().chain(meta_params(meta, &flags)),
                            ),
                        )?;
                        // A version or raw JSON of its own changes no listed field.
                        fields(tx)? != before
                    };
                    if meta_changed {
                        // Its file name may be another now.
                        self.forget_same_names();
                        tx.prepare_cached("UPDATE items SET updated_at = ?2 WHERE id = ?1")?.execute( params![id, t])?;
                    }
                    ItemState {
                        id,
                        content_id,
                        is_new: false,
                        version_changed: meta.version.is_some() && version != meta.version,
                        meta_changed,
                        seen_this_run: seen_run == Some(run_id),
                        prev_source_ref,
                    }
                }
            };
            // Takeout: keep the newest export that held the item (by `ExportId`'s rule), so
            // importing an older export after a newer one does not move its last sighting back.
            let prev = state.prev_source_ref.as_deref();
            let keeps_prev = source == Source::Takeout
                && match (prev, source_ref) {
                    (Some(p), Some(n)) => {
                        ExportId::new(p).is_newer_than(&ExportId::new(n)) == Some(true)
                    }
                    _ => false,
                };
            let new_ref = if keeps_prev {
                prev
            } else {
                source_ref.or(prev)
            };
            // Without a reference of its own, the call keeps the recorded one (`COALESCE`: it
            // was not read).
            tx.prepare_cached("INSERT INTO provenance (item_id, source, source_ref, first_seen, last_seen)
                 VALUES (?1, ?2, ?3, ?4, ?4)
                 ON CONFLICT (item_id, source) DO UPDATE SET last_seen = ?4,
                                                             source_ref = COALESCE(?3, source_ref)")?.execute(
                params![state.id, source, new_ref, t],
            )?;
            Ok(state)
        })
    }

    /// True when an account has items or albums from `source`. An account without any reads
    /// every item's provenance to say so, through a small page cache
    /// ([`super::SCAN_PAGE_CACHE_KIB`]).
    pub fn account_uses(&self, account_id: i64, source: Source) -> Result<bool> {
        self.with_page_cache(super::SCAN_PAGE_CACHE_KIB, || {
            self.with(|c| {
                Ok(c.prepare_cached(
                    "SELECT EXISTS(SELECT 1 FROM albums WHERE account_id = ?1 AND source = ?2)
                     OR EXISTS(SELECT 1 FROM provenance p JOIN items i ON i.id = p.item_id
                               WHERE i.account_id = ?1 AND p.source = ?2)",
                )?
                .query_row(params![account_id, source], |r| r.get(0))?)
            })
        })
    }

    /// How many items of an account `source` delivered.
    pub fn items_from(&self, account_id: i64, source: Source) -> Result<u64> {
        self.with(|c| {
            let n: i64 = c
                .prepare_cached(
                    "SELECT count(DISTINCT p.item_id) FROM provenance p
                 JOIN items i ON i.id = p.item_id
                 WHERE i.account_id = ?1 AND p.source = ?2",
                )?
                .query_row(params![account_id, source], |r| r.get(0))?;
            Ok(n as u64)
        })
    }

    /// Links an item to the one it derives from (`edited`: an edited variant's original;
    /// `live`: a live photo's still).
    pub fn link_item(&self, item_id: i64, to: i64, kind: &str) -> Result<()> {
        self.with(|c| {
            c.prepare_cached("UPDATE items SET linked_to = ?2, link_kind = ?3 WHERE id = ?1")?
                .execute(params![item_id, to, kind])?;
            Ok(())
        })
    }

    /// The file an item's bytes are stored in, if any.
    pub fn stored_file(&self, item_id: i64) -> Result<Option<StoredFile>> {
        self.with(|c| {
            Ok(c.prepare_cached(
                "SELECT ct.path, ct.size, ct.verified_at IS NOT NULL FROM items i
                 JOIN content ct ON ct.id = i.content_id WHERE i.id = ?1",
            )?
            .query_row([item_id], |r| {
                Ok(StoredFile {
                    path: r.get(0)?,
                    size: r.get(1)?,
                    verified: r.get(2)?,
                })
            })
            .optional()?)
        })
    }

    /// Records the version whose bytes are now stored.
    pub fn set_item_version(&self, item_id: i64, version: &str) -> Result<()> {
        self.with(|c| {
            c.prepare_cached("UPDATE items SET version = ?2 WHERE id = ?1")?
                .execute(params![item_id, version])?;
            Ok(())
        })
    }

    /// Adds an item to an album; true when the membership is new.
    pub fn add_membership(&self, album_id: i64, item_id: i64) -> Result<bool> {
        self.with(|c| {
            let n = c
                .prepare_cached(
                    "INSERT INTO memberships (album_id, item_id, added_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT DO NOTHING",
                )?
                .execute(params![album_id, item_id, now()])?;
            if n == 1 {
                self.member_added(album_id, item_id);
            }
            Ok(n == 1)
        })
    }

    /// The albums holding an item, best home first: user albums before automatic ones, then the
    /// album recorded first.
    pub fn item_albums(&self, item_id: i64) -> Result<Vec<Album>> {
        self.with(|c| {
            let mut st = c.prepare_cached(
                "SELECT a.id, a.account_id, a.remote_id, a.title, a.folder, a.kind
                 FROM memberships m JOIN albums a ON a.id = m.album_id
                 WHERE m.item_id = ?1 ORDER BY (a.kind <> 'user'), a.id",
            )?;
            let rows = st
                .query_map([item_id], album_from_row)?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
    }

    /// The stored file with this hash, if any.
    pub fn content_by_hash(&self, hash: &[u8; 32]) -> Result<Option<Content>> {
        self.with(|c| {
            Ok(
                c.prepare_cached("SELECT id, blake3, size, path FROM content WHERE blake3 = ?1")?
                    .query_row([&hash[..]], content_from_row)
                    .optional()?,
            )
        })
    }

    /// A stored file by row id.
    pub fn content(&self, id: i64) -> Result<Option<Content>> {
        self.with(|c| {
            Ok(
                c.prepare_cached("SELECT id, blake3, size, path FROM content WHERE id = ?1")?
                    .query_row([id], content_from_row)
                    .optional()?,
            )
        })
    }

    /// How many items use a stored file.
    pub fn content_users(&self, content_id: i64) -> Result<i64> {
        self.with(|c| {
            Ok(
                c.prepare_cached("SELECT count(*) FROM items WHERE content_id = ?1")?
                    .query_row([content_id], |r| r.get(0))?,
            )
        })
    }

    /// True when some stored file already has this path as macOS and Windows see names
    /// ([`portable_key`]: Unicode NFC, case folded), so a repository copied there stays valid.
    /// One lookup in `content_path_key`, whatever the size of the library.
    pub fn path_in_use(&self, path: &str) -> Result<bool> {
        self.with(|c| {
            Ok(
                c.prepare_cached("SELECT EXISTS(SELECT 1 FROM content WHERE path_key = ?1)")?
                    .query_row([portable_key(path)], |r| r.get(0))?,
            )
        })
    }

    /// Items of an account that are known but have no stored file yet.
    pub fn items_without_content(&self, account_id: i64) -> Result<i64> {
        self.with(|c| {
            Ok(c.prepare_cached("SELECT count(*) FROM items WHERE account_id = ?1 AND content_id IS NULL AND trashed = 0")?.query_row([account_id],
                |r| r.get(0),
            )?)
        })
    }

    /// Calls `f` with the stored file's path of each member of the account's albums that lives
    /// outside its album's folder, by album id, then path (a file two members of an album
    /// share comes twice in a row): [`ALBUM_MEMBER_PATHS`]. The lines are sorted by SQLite's
    /// sorter, which spills to a temporary file past the page cache's size: nothing grows
    /// with the library ([`Repo::refresh_all_others`]).
    ///
    /// [`Repo::refresh_all_others`]: crate::repo::Repo::refresh_all_others
    pub fn each_album_member_path(
        &self,
        account_id: i64,
        mut f: impl FnMut(i64, &str) -> Result<()>,
    ) -> Result<()> {
        self.with_held_page_cache(super::content::SORT_PAGE_CACHE_KIB, |c| {
            let mut st = c.prepare_cached(ALBUM_MEMBER_PATHS)?;
            let mut rows = st.query([account_id])?;
            while let Some(r) = rows.next()? {
                f(
                    r.get(0)?,
                    r.get_ref(1)?.as_str().map_err(rusqlite::Error::from)?,
                )?;
            }
            Ok(())
        })
    }

    /// Paths of the stored files of an album's members, sorted.
    pub fn album_member_paths(&self, album_id: i64) -> Result<Vec<String>> {
        self.with(|c| {
            let mut st = c.prepare_cached(
                "SELECT DISTINCT ct.path FROM memberships m JOIN items i ON i.id = m.item_id
                 JOIN content ct ON ct.id = i.content_id WHERE m.album_id = ?1 ORDER BY ct.path",
            )?;
            let rows = st
                .query_map([album_id], |r| r.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
    }

    /// Starts a run record.
    pub fn begin_run(&self, command: &str, account_id: Option<i64>) -> Result<i64> {
        self.with(|c| {
            c.prepare_cached(
                "INSERT INTO runs (command, account_id, started_at) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![command, account_id, now()])?;
            Ok(c.last_insert_rowid())
        })
    }

    /// Finishes a run record with its summary.
    pub fn finish_run(&self, run_id: i64, ok: bool, summary: &str) -> Result<()> {
        self.with(|c| {
            c.prepare_cached(
                "UPDATE runs SET finished_at = ?2, ok = ?3, summary = ?4 WHERE id = ?1",
            )?
            .execute(params![run_id, now(), ok, summary])?;
            Ok(())
        })
    }

    /// Records that an item failed (or clears the record when `error` is None).
    pub fn record_failure(
        &self,
        account_id: i64,
        remote_id: &str,
        filename: &str,
        error: Option<&str>,
    ) -> Result<()> {
        self.with(|c| {
            match error {
                Some(e) => c.prepare_cached("INSERT INTO failures (account_id, remote_id, filename, error, count, first_at, last_at)
                     VALUES (?1, ?2, ?3, ?4, 1, ?5, ?5)
                     ON CONFLICT (account_id, remote_id) DO UPDATE SET error = ?4, count = count + 1,
                     last_at = ?5, filename = ?3")?.execute(params![account_id, remote_id, filename, e, now()],
                )?,
                None => c.prepare_cached("DELETE FROM failures WHERE account_id = ?1 AND remote_id = ?2")?.execute(params![account_id, remote_id],
                )?,
            };
            Ok(())
        })
    }
}

fn account_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Account> {
    Ok(Account {
        id: r.get(0)?,
        provider: r.get(1)?,
        name: r.get(2)?,
        folder: r.get(3)?,
        credentials: r.get(4)?,
    })
}

fn account_query(c: &Connection, provider: &str, name: &str) -> Result<Option<Account>> {
    Ok(c.prepare_cached("SELECT id, provider, name, folder, credentials FROM accounts WHERE provider = ?1 AND name = ?2")?.query_row(params![provider, name],
        account_from_row,
    )
    .optional()?)
}

/// An item's metadata as `upsert_item` binds it, in the order both its comparison and its
/// UPDATE number their parameters (version … raw_json); `flags` are favourite, archived and
/// trashed as integers.
fn meta_params<'a>(meta: &'a ItemMeta, flags: &'a [Option<i64>; 3]) -> [&'a dyn ToSql; 18] {
    [
        &meta.version,
        &meta.filename,
        &meta.mime_type,
        &meta.description,
        &meta.taken_at,
        &meta.taken_source,
        &meta.width,
        &meta.height,
        &meta.camera_make,
        &meta.camera_model,
        &meta.latitude,
        &meta.longitude,
        &meta.altitude,
        &meta.gps_source,
        &flags[0],
        &flags[1],
        &flags[2],
        &meta.raw_json,
    ]
}
