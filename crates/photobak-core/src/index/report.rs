//! What `status`, `list` and `verify` read (and the one thing `verify` writes: when each file
//! was last found whole). Reads that walk the whole library hand their rows to a callback, so
//! `list --json` and the manifest stream instead of holding every row twice.

use std::ops::ControlFlow;

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::{Index, hash_from};
use crate::error::Result;
use crate::kinds::{AlbumKind, Source};

/// Every stored item with what `list` prints, in path order. `content` is walked by its path
/// index (the `CROSS JOIN` keeps it the outer loop), so rows come without sorting the whole
/// library first.
pub(super) const STORED_ITEMS: &str = "
    SELECT i.id, a.name, ct.path, i.filename, coalesce(i.taken_at, ct.file_taken_at),
           nullif(i.description, ''), coalesce(i.latitude, ct.file_lat),
           coalesce(i.longitude, ct.file_lon), i.favorite, ct.blake3, ct.size,
           i.mime_type, i.remote_id
    FROM content ct CROSS JOIN items i ON i.content_id = ct.id
    JOIN accounts a ON a.id = i.account_id
    WHERE (?1 IS NULL OR a.name = ?1)
      AND (?2 IS NULL OR EXISTS(SELECT 1 FROM memberships m JOIN albums al ON al.id = m.album_id
                                WHERE m.item_id = i.id AND al.title = ?2 COLLATE NOCASE))
    ORDER BY ct.path, i.id";

/// The folders holding one item: user albums first, then automatic albums, then year folders,
/// each by title.
pub(super) const ITEM_FOLDERS: &str = "
    SELECT a.title, a.kind FROM memberships m JOIN albums a ON a.id = m.album_id
    WHERE m.item_id = ?1
    ORDER BY (a.kind <> 'user'), (a.kind = 'year'), a.title";

/// The sources that delivered one item, by name.
pub(super) const ITEM_SOURCES: &str =
    "SELECT source FROM provenance WHERE item_id = ?1 ORDER BY source";

/// Counts of one source (or of everything).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Counts {
    /// Items known.
    pub items: u64,
    /// Items with a stored file.
    pub stored: u64,
    /// Distinct files.
    pub files: u64,
    /// Bytes of the distinct files.
    pub bytes: u64,
    /// Albums of the source (user and automatic albums; not year folders).
    pub albums: u64,
    /// `Photos from YYYY` and `Undated` folders photobak keeps for items in no album. They
    /// belong to no source, so they are counted apart: an account's albums are then the sum of
    /// its sources' albums.
    pub year_folders: u64,
}

impl Counts {
    /// From SQLite's counts, in the order of the fields.
    fn of([items, stored, files, bytes, albums, year_folders]: [i64; 6]) -> Counts {
        let n = |v: i64| u64::try_from(v).unwrap_or(0);
        Counts {
            items: n(items),
            stored: n(stored),
            files: n(files),
            bytes: n(bytes),
            albums: n(albums),
            year_folders: n(year_folders),
        }
    }
}

/// One finished run of a command, as recorded.
#[derive(Debug, Clone)]
pub struct RunRecord {
    /// Start, Unix seconds.
    pub started_at: i64,
    /// End, Unix seconds.
    pub finished_at: Option<i64>,
    /// Whether it succeeded.
    pub ok: Option<bool>,
    /// Its summary (JSON text).
    pub summary: Option<String>,
}

/// An item that failed and has not succeeded since.
#[derive(Debug, Clone)]
pub struct FailureRecord {
    /// Source id.
    pub remote_id: String,
    /// File name.
    pub filename: Option<String>,
    /// Last error.
    pub error: String,
    /// How many runs it failed in.
    pub count: i64,
    /// First failure, Unix seconds.
    pub first_at: i64,
    /// Last failure, Unix seconds.
    pub last_at: i64,
}

/// A folder (album or year folder) holding an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemFolder {
    /// Its title.
    pub title: String,
    /// Its kind.
    pub kind: AlbumKind,
}

/// A stored item as `list` shows it.
#[derive(Debug, Clone)]
pub struct ListRow {
    /// Item row id.
    pub item_id: i64,
    /// Account address.
    pub account: String,
    /// Repository-relative path of its file.
    pub path: String,
    /// File name as the source gave it.
    pub filename: String,
    /// Capture time (the item's, else the file's), Unix seconds.
    pub taken_at: Option<i64>,
    /// Description, None when empty.
    pub description: Option<String>,
    /// Latitude (the item's, else the file's).
    pub latitude: Option<f64>,
    /// Longitude.
    pub longitude: Option<f64>,
    /// Favourite.
    pub favorite: bool,
    /// BLAKE3 of the file.
    pub blake3: [u8; 32],
    /// Size in bytes.
    pub size: i64,
    /// MIME type.
    pub mime_type: Option<String>,
    /// The source's id.
    pub remote_id: String,
    /// The folders holding it: user albums first, then automatic albums, then year folders,
    /// each by title.
    pub folders: Vec<ItemFolder>,
    /// The sources that delivered it, by name.
    pub sources: Vec<Source>,
}

/// A stored file as `verify` checks it.
#[derive(Debug, Clone)]
pub struct ContentCheck {
    /// Row id.
    pub id: i64,
    /// Repository-relative path.
    pub path: String,
    /// Recorded BLAKE3.
    pub hash: [u8; 32],
    /// Recorded size.
    pub size: i64,
    /// When it was last found whole, Unix seconds.
    pub verified_at: Option<i64>,
}

const COUNT_FILTER: &str =
    "(?2 IS NULL OR EXISTS(SELECT 1 FROM provenance p WHERE p.item_id = i.id AND p.source = ?2))";

impl Index {
    /// Counts over every account.
    pub fn totals(&self) -> Result<Counts> {
        self.with(|c| {
            let (files, bytes): (i64, i64) = c
                .prepare_cached("SELECT count(*), coalesce(sum(size), 0) FROM content")?
                .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            let items: i64 = c
                .prepare_cached("SELECT count(*) FROM items")?
                .query_row([], |r| r.get(0))?;
            let stored: i64 = c
                .prepare_cached("SELECT count(*) FROM items WHERE content_id IS NOT NULL")?
                .query_row([], |r| r.get(0))?;
            let (albums, year_folders): (i64, i64) = c
                .prepare_cached(
                    "SELECT count(*) FILTER (WHERE source != 'derived'),
                        count(*) FILTER (WHERE source = 'derived')
                 FROM albums",
                )?
                .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(Counts::of([
                items,
                stored,
                files,
                bytes,
                albums,
                year_folders,
            ]))
        })
    }

    /// Counts of an account, of everything or of what one source delivered.
    pub fn counts(&self, account_id: i64, source: Option<Source>) -> Result<Counts> {
        self.with(|c| {
            let (items, stored): (i64, i64) = c.query_row(
                &format!(
                    "SELECT count(*), count(i.content_id) FROM items i WHERE i.account_id = ?1 AND {COUNT_FILTER}"
                ),
                params![account_id, source],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            let (files, bytes): (i64, i64) = c.query_row(
                &format!(
                    "SELECT count(*), coalesce(sum(size), 0) FROM content WHERE id IN
                     (SELECT i.content_id FROM items i WHERE i.account_id = ?1 AND {COUNT_FILTER})"
                ),
                params![account_id, source],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            let (albums, year_folders): (i64, i64) = c.prepare_cached("SELECT count(*) FILTER (WHERE source != 'derived'),
                        count(*) FILTER (WHERE source = 'derived')
                 FROM albums WHERE account_id = ?1 AND (?2 IS NULL OR source = ?2)")?.query_row(params![account_id, source],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            Ok(Counts::of([items, stored, files, bytes, albums, year_folders]))
        })
    }

    /// Stored files never found whole, or not since `cutoff` (Unix seconds).
    pub fn files_not_verified_since(&self, cutoff: i64) -> Result<u64> {
        self.with(|c| {
            let n: i64 = c
                .prepare_cached(
                    "SELECT count(*) FROM content WHERE verified_at IS NULL OR verified_at < ?1",
                )?
                .query_row([cutoff], |r| r.get(0))?;
            Ok(n as u64)
        })
    }

    /// The last finished run of `command` for an account (None: runs of no account), only
    /// successful or failed ones when `ok` says so.
    pub fn last_run(
        &self,
        command: &str,
        account_id: Option<i64>,
        ok: Option<bool>,
    ) -> Result<Option<RunRecord>> {
        self.with(|c| {
            Ok(c.prepare_cached(
                "SELECT started_at, finished_at, ok, summary FROM runs
                 WHERE command = ?1 AND account_id IS ?2 AND (?3 IS NULL OR ok = ?3)
                   AND finished_at IS NOT NULL
                 ORDER BY started_at DESC, id DESC LIMIT 1",
            )?
            .query_row(params![command, account_id, ok], |r| {
                Ok(RunRecord {
                    started_at: r.get(0)?,
                    finished_at: r.get(1)?,
                    ok: r.get(2)?,
                    summary: r.get(3)?,
                })
            })
            .optional()?)
        })
    }

    /// The sources that delivered items of an account, by name.
    pub fn account_sources(&self, account_id: i64) -> Result<Vec<Source>> {
        self.with(|c| {
            let mut st = c.prepare(
                "SELECT DISTINCT p.source FROM provenance p JOIN items i ON i.id = p.item_id
                 WHERE i.account_id = ?1 ORDER BY p.source",
            )?;
            let rows = st
                .query_map([account_id], |r| r.get::<_, Source>(0))?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
    }

    /// The failures of an account, most frequent first, then the most recent.
    pub fn failures(&self, account_id: i64) -> Result<Vec<FailureRecord>> {
        self.with(|c| {
            let mut st = c.prepare(
                "SELECT remote_id, filename, error, count, first_at, last_at FROM failures
                 WHERE account_id = ?1 ORDER BY count DESC, last_at DESC",
            )?;
            let rows = st
                .query_map([account_id], |r| {
                    Ok(FailureRecord {
                        remote_id: r.get(0)?,
                        filename: r.get(1)?,
                        error: r.get(2)?,
                        count: r.get(3)?,
                        first_at: r.get(4)?,
                        last_at: r.get(5)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
    }

    /// True when the index has no account and no stored file: a repository nothing used.
    pub fn holds_nothing(&self) -> Result<bool> {
        self.with(|c| {
            let n: i64 = c
                .prepare_cached(
                    "SELECT (SELECT count(*) FROM accounts) + (SELECT count(*) FROM content)",
                )?
                .query_row([], |r| r.get(0))?;
            Ok(n == 0)
        })
    }

    /// Calls `each` with every stored item, by path (so by account folder first) and row id,
    /// of one account (`account`,
    /// an address) and in one album (`album`, a title, case-insensitive) when given, until it
    /// breaks. The index stays locked meanwhile, so `each` should not wait long: `list` opens
    /// an index of its own.
    pub fn each_stored_item(
        &self,
        account: Option<&str>,
        album: Option<&str>,
        mut each: impl FnMut(ListRow) -> ControlFlow<()>,
    ) -> Result<()> {
        self.with(|c| {
            let mut st = c.prepare(STORED_ITEMS)?;
            // Folders and sources are looked up item by item (both by index) rather than
            // loaded for the whole library first: the first line comes at once and memory
            // does not grow with the library.
            let mut folders = c.prepare(ITEM_FOLDERS)?;
            let mut sources = c.prepare(ITEM_SOURCES)?;
            let mut rows = st.query(params![account, album])?;
            while let Some(r) = rows.next()? {
                let item_id: i64 = r.get(0)?;
                let row = ListRow {
                    folders: folders
                        .query_map([item_id], |f| {
                            Ok(ItemFolder {
                                title: f.get(0)?,
                                kind: f.get(1)?,
                            })
                        })?
                        .collect::<rusqlite::Result<_>>()?,
                    sources: sources
                        .query_map([item_id], |f| f.get(0))?
                        .collect::<rusqlite::Result<_>>()?,
                    item_id,
                    account: r.get(1)?,
                    path: r.get(2)?,
                    filename: r.get(3)?,
                    taken_at: r.get(4)?,
                    description: r.get(5)?,
                    latitude: r.get(6)?,
                    longitude: r.get(7)?,
                    favorite: r.get::<_, i64>(8)? != 0,
                    blake3: hash_from(r.get(9)?),
                    size: r.get(10)?,
                    mime_type: r.get(11)?,
                    remote_id: r.get(12)?,
                };
                if each(row).is_break() {
                    break;
                }
            }
            Ok(())
        })
    }

    /// Up to `limit` stored files with a row id above `after` (0 for the first), by row id:
    /// `verify` reads the table a page at a time, in the table's own order (the path index's
    /// order looked each row up: a page read again and again through a small cache), so that
    /// no page is held past its turn and each pass over the table sees the rows in the same
    /// order.
    pub fn content_checks_after(&self, after: i64, limit: usize) -> Result<Vec<ContentCheck>> {
        self.with(|c| {
            let mut st = c.prepare_cached(CONTENT_CHECKS_AFTER)?;
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let rows = st.query_map(params![after, limit], |r| {
                Ok(ContentCheck {
                    id: r.get(0)?,
                    path: r.get(1)?,
                    hash: hash_from(r.get(2)?),
                    size: r.get(3)?,
                    verified_at: r.get(4)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// Calls `each` with the path of every stored file under the folder `dir` (at any depth),
    /// by path: one range of the path index.
    pub fn each_content_path_under(&self, dir: &str, mut each: impl FnMut(&str)) -> Result<()> {
        // Paths under `dir/` sort from `dir/` up to `dir0` ('0' follows '/').
        let (from, to) = (format!("{dir}/"), format!("{dir}0"));
        self.with(|c| {
            let mut st = c.prepare_cached(CONTENT_PATHS_UNDER)?;
            let mut rows = st.query(params![from, to])?;
            while let Some(r) = rows.next()? {
                each(r.get_ref(0)?.as_str().map_err(rusqlite::Error::from)?);
            }
            Ok(())
        })
    }

    /// Whether a stored file has this repository-relative path (exactly, as recorded).
    pub fn content_at(&self, path: &str) -> Result<bool> {
        self.with(|c| {
            Ok(c.prepare_cached(CONTENT_AT)?
                .query_row([path], |r| r.get(0))?)
        })
    }

    /// Records what a verification found, in one transaction: the `whole` files were found
    /// whole `at` (Unix seconds); the `damaged` ones lose their verification, which is how a
    /// later Takeout import knows to read their bytes again (it skips items whose file is
    /// verified and whole).
    pub fn record_verification(&self, whole: &[i64], damaged: &[i64], at: i64) -> Result<()> {
        self.tx(|tx| {
            let mut st = tx.prepare("UPDATE content SET verified_at = ?2 WHERE id = ?1")?;
            for id in whole {
                st.execute(params![id, at])?;
            }
            let mut st = tx.prepare("UPDATE content SET verified_at = NULL WHERE id = ?1")?;
            for id in damaged {
                st.execute([id])?;
            }
            Ok(())
        })
    }
}

/// A page of [`Index::content_checks_after`].
pub(super) const CONTENT_CHECKS_AFTER: &str = "SELECT id, path, blake3, size, verified_at
     FROM content WHERE id > ?1 ORDER BY id LIMIT ?2";

/// The stored files under a folder ([`Index::each_content_path_under`]).
pub(super) const CONTENT_PATHS_UNDER: &str =
    "SELECT path FROM content WHERE path >= ?1 AND path < ?2 ORDER BY path";

/// Whether a path is a stored file's ([`Index::content_at`]).
pub(super) const CONTENT_AT: &str = "SELECT EXISTS(SELECT 1 FROM content WHERE path = ?1)";
