//! Reads and writes of `content` (the stored files) for the one ingest path, the finishing
//! steps and the manifest: placing a file and naming it in one transaction, replacing its bytes,
//! releasing it, and what the file itself says (EXIF time, position, camera).
//!
//! The decisions (which rule of ingest applies, whether an EXIF time is sane) stay with their
//! modules; these are the statements they run.

use rusqlite::{OptionalExtension, params};

use super::{Content, Index, SCAN_PAGE_CACHE_KIB, content_from_row, hash_from, now};
use crate::error::Result;
use crate::kinds::TimeSource;
use crate::meta::FileMeta;
use crate::repo::naming::portable_key;

/// A new stored file, about to be named by the index.
#[derive(Debug, Clone)]
pub struct NewContent<'a> {
    /// BLAKE3 of its bytes.
    pub hash: [u8; 32],
    /// Size in bytes.
    pub size: i64,
    /// Repository-relative path it was renamed to.
    pub path: &'a str,
    /// The album whose folder holds it.
    pub home_album_id: i64,
    /// Why that album, in words.
    pub home_reason: &'a str,
}

/// What an item's stored file says about its capture time and position, beside what the item
/// records, for the finishing step that may adopt the file's facts.
#[derive(Debug, Clone)]
pub struct FileFacts {
    /// The file's EXIF time, UTC seconds.
    pub file_taken_at: Option<i64>,
    /// The offset the file recorded, like `+02:00`.
    pub file_offset: Option<String>,
    /// Where the item's current capture time came from.
    pub taken_source: Option<TimeSource>,
    /// The file's latitude.
    pub file_lat: Option<f64>,
    /// The file's longitude.
    pub file_lon: Option<f64>,
    /// The file's altitude.
    pub file_alt: Option<f64>,
    /// Where the item's current position came from; None when no source gave one.
    pub gps_source: Option<String>,
}

/// What the sidecar and file-time finishing of an item need: its file and what it records.
#[derive(Debug, Clone)]
pub struct FinishFacts {
    /// Repository-relative path of its file.
    pub path: String,
    /// Capture time, UTC seconds.
    pub taken_at: Option<i64>,
    /// Where the capture time came from.
    pub taken_source: Option<TimeSource>,
    /// The offset the file recorded.
    pub file_offset: Option<String>,
    /// Latitude.
    pub latitude: Option<f64>,
    /// Longitude.
    pub longitude: Option<f64>,
    /// Altitude.
    pub altitude: Option<f64>,
    /// Description.
    pub description: Option<String>,
    /// Favourite flag.
    pub favorite: bool,
    /// People named in Takeout's sidecar, as a JSON array.
    pub people: Option<String>,
}

/// What the stored file of an item (found by its source id) says about itself.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredFileFacts {
    /// The file's EXIF time, UTC seconds.
    pub taken_at: Option<i64>,
    /// The offset the file recorded.
    pub offset: Option<String>,
    /// Latitude.
    pub lat: Option<f64>,
    /// Longitude.
    pub lon: Option<f64>,
    /// Altitude.
    pub alt: Option<f64>,
}

impl Index {
    /// The file an item's bytes are stored in now, if any.
    pub fn item_content(&self, item_id: i64) -> Result<Option<Content>> {
        self.with(|c| {
            let id: Option<i64> = c
                .prepare_cached("SELECT content_id FROM items WHERE id = ?1")?
                .query_row([item_id], |r| r.get::<_, Option<i64>>(0))?;
            let Some(id) = id else {
                return Ok(None);
            };
            Ok(
                c.prepare_cached("SELECT id, blake3, size, path FROM content WHERE id = ?1")?
                    .query_row([id], content_from_row)
                    .optional()?,
            )
        })
    }

    /// Records a new stored file and makes it the item's, in one transaction: the index never
    /// names a file without an item, nor an item with a file it does not know. Returns the
    /// file's row id.
    pub fn add_item_content(&self, item_id: i64, new: &NewContent<'_>) -> Result<i64> {
        self.tx(|tx| {
            tx.prepare_cached(
                "INSERT INTO content (blake3, size, path, path_key, home_album_id, home_reason,
                                      stored_at, verified_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
            )?
            .execute(params![
                &new.hash[..],
                new.size,
                new.path,
                portable_key(new.path),
                new.home_album_id,
                new.home_reason,
                now()
            ])?;
            let id = tx.last_insert_rowid();
            tx.prepare_cached("UPDATE items SET content_id = ?2 WHERE id = ?1")?
                .execute(params![item_id, id])?;
            Ok(id)
        })
    }

    /// Records that a stored file now holds other bytes (replaced in place), verified now.
    pub fn replace_content_bytes(&self, content_id: i64, hash: &[u8; 32], size: i64) -> Result<()> {
        self.with(|c| {
            c.prepare_cached(
                "UPDATE content SET blake3 = ?2, size = ?3, stored_at = ?4, verified_at = ?4
                 WHERE id = ?1",
            )?
            .execute(params![content_id, &hash[..], size, now()])?;
            Ok(())
        })
    }

    /// Points an item at a stored file.
    pub fn set_item_content(&self, item_id: i64, content_id: i64) -> Result<()> {
        self.with(|c| {
            c.prepare_cached("UPDATE items SET content_id = ?2 WHERE id = ?1")?
                .execute(params![item_id, content_id])?;
            Ok(())
        })
    }

    /// Records that a stored file's bytes were found (or written) whole just now.
    pub fn mark_verified(&self, content_id: i64) -> Result<()> {
        self.with(|c| {
            c.prepare_cached("UPDATE content SET verified_at = ?2 WHERE id = ?1")?
                .execute(params![content_id, now()])?;
            Ok(())
        })
    }

    /// How many items of an album, recorded before `item_id`, have the same file name (case
    /// folded): the item's place among them is this plus one.
    ///
    /// Counted from the album's last answer when it was for the same name and an item before
    /// this one (files are stored about in the order their items were recorded): only the
    /// items between the two are counted then. Counted from the start each time, 20,000
    /// attachments named `unnamed.jpg` in one year folder (Google's `unnamed(N).jpg`) took
    /// 41 s of a 43 s import, quadratic in the name's files (BENCHMARKS.md, session 20).
    /// The answer is forgotten when what it counted may change: a membership of an earlier
    /// item of the album added, an item's fields rewritten, a prune's removals, a rolled-back
    /// transaction.
    pub fn same_name_before(&self, album_id: i64, item_id: i64, filename: &str) -> Result<i64> {
        self.with(|c| {
            let name = filename.to_ascii_lowercase();
            let mut memo = self.same_names.lock().unwrap_or_else(|p| p.into_inner());
            let (from, counted) = match memo.0.get(&album_id) {
                Some(m) if m.name == name && m.item <= item_id => (m.item, m.before),
                _ => (i64::MIN, 0),
            };
            let between: i64 = c
                .prepare_cached(SAME_NAME_BEFORE)?
                .query_row(params![album_id, item_id, filename, from], |r| r.get(0))?;
            let before = counted + between;
            memo.0.insert(
                album_id,
                SameName {
                    name,
                    item: item_id,
                    before,
                },
            );
            Ok(before)
        })
    }

    /// Forgets the counts [`Index::same_name_before`] keeps (what they counted may change).
    pub(super) fn forget_same_names(&self) {
        self.same_names
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .0
            .clear();
    }

    /// A membership of `item_id` in `album_id` was added: a count of the album's items
    /// before a later item is no longer known.
    pub(super) fn member_added(&self, album_id: i64, item_id: i64) {
        let mut memo = self.same_names.lock().unwrap_or_else(|p| p.into_inner());
        if memo.0.get(&album_id).is_some_and(|m| m.item > item_id) {
            memo.0.remove(&album_id);
        }
    }

    /// Stored files no item uses, by id.
    ///
    /// Every run starts with this. Two scans compared in memory: the stored files' ids (from the
    /// smallest index that holds them) and the ids the items use, in order from
    /// `items_content`. The `NOT IN` subquery it replaces built a temporary index of the used
    /// ids first, about 0.1 s of every no-op backup at 100,000 items.
    ///
    /// Both scans read through a page cache of [`SCAN_PAGE_CACHE_KIB`]: their pages are no
    /// use to what follows, and the whole of them (12.5 MB at 100,000 items) stayed with the
    /// process, as SQLite's allocator keeps what it freed.
    pub fn unused_contents(&self) -> Result<Vec<i64>> {
        self.with_page_cache(SCAN_PAGE_CACHE_KIB, || self.unused_contents_scan())
    }

    fn unused_contents_scan(&self) -> Result<Vec<i64>> {
        self.with(|c| {
            let mut ids: Vec<i64> = c
                .prepare_cached("SELECT id FROM content")?
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            ids.sort_unstable();
            let mut st = c.prepare_cached(
                "SELECT DISTINCT content_id FROM items WHERE content_id IS NOT NULL
                 ORDER BY content_id",
            )?;
            let mut used = st.query([])?;
            let mut unused = Vec::new();
            let mut next_used: Option<i64> = used.next()?.map(|r| r.get(0)).transpose()?;
            for id in ids {
                while next_used.is_some_and(|u| u < id) {
                    next_used = used.next()?.map(|r| r.get(0)).transpose()?;
                }
                if next_used != Some(id) {
                    unused.push(id);
                }
            }
            Ok(unused)
        })
    }

    /// Forgets a stored file (after it went to the trash).
    pub fn delete_content(&self, content_id: i64) -> Result<()> {
        self.with(|c| {
            c.prepare_cached("DELETE FROM content WHERE id = ?1")?
                .execute([content_id])?;
            Ok(())
        })
    }

    /// Records what a stored file says about itself (`Ok`), or why it could not be read.
    pub fn set_file_meta(
        &self,
        content_id: i64,
        meta: &std::result::Result<FileMeta, String>,
    ) -> Result<()> {
        self.with(|c| {
            match meta {
                Ok(m) => c
                    .prepare_cached(
                        "UPDATE content SET file_taken_at = ?2, file_offset = ?3, file_local = ?4,
                     file_lat = ?5, file_lon = ?6, file_alt = ?7, file_make = ?8, file_model = ?9,
                     meta_error = NULL WHERE id = ?1",
                    )?
                    .execute(params![
                        content_id,
                        m.taken_at,
                        m.offset,
                        m.local,
                        m.latitude,
                        m.longitude,
                        m.altitude,
                        m.make,
                        m.model
                    ])?,
                Err(e) => c
                    .prepare_cached("UPDATE content SET meta_error = ?2 WHERE id = ?1")?
                    .execute(params![content_id, e])?,
            };
            Ok(())
        })
    }

    /// What an item's stored file says beside what the item records; None when it has no file.
    pub fn file_facts(&self, item_id: i64) -> Result<Option<FileFacts>> {
        self.with(|c| {
            Ok(c.prepare_cached(
                "SELECT ct.file_taken_at, ct.file_offset, i.sidecar_taken_at, i.taken_source,
                        ct.file_lat, ct.file_lon, ct.file_alt, i.gps_source
                 FROM items i JOIN content ct ON ct.id = i.content_id WHERE i.id = ?1",
            )?
            .query_row([item_id], |r| {
                Ok(FileFacts {
                    file_taken_at: r.get(0)?,
                    file_offset: r.get(1)?,
                    taken_source: r.get(3)?,
                    file_lat: r.get(4)?,
                    file_lon: r.get(5)?,
                    file_alt: r.get(6)?,
                    gps_source: r.get(7)?,
                })
            })
            .optional()?)
        })
    }

    /// Sets an item's capture time and where it came from.
    pub fn set_taken(&self, item_id: i64, taken_at: i64, source: TimeSource) -> Result<()> {
        self.with(|c| {
            c.prepare_cached("UPDATE items SET taken_at = ?2, taken_source = ?3 WHERE id = ?1")?
                .execute(params![item_id, taken_at, source])?;
            Ok(())
        })
    }

    /// Gives an item the position its file recorded (`gps_source = 'exif'`).
    pub fn set_position_from_file(
        &self,
        item_id: i64,
        lat: f64,
        lon: f64,
        alt: Option<f64>,
    ) -> Result<()> {
        self.with(|c| {
            c.prepare_cached(
                "UPDATE items SET latitude = ?2, longitude = ?3, altitude = ?4, gps_source = 'exif'
                 WHERE id = ?1",
            )?
            .execute(params![item_id, lat, lon, alt])?;
            Ok(())
        })
    }

    /// What the `.xmp` sidecar and the file's time of an item need; None when it has no file.
    pub fn finish_facts(&self, item_id: i64) -> Result<Option<FinishFacts>> {
        self.with(|c| {
            Ok(c.prepare_cached("SELECT ct.path, i.taken_at, i.taken_source, ct.file_offset, i.latitude, i.longitude,
                        i.altitude, i.description, i.favorite, i.people
                 FROM items i JOIN content ct ON ct.id = i.content_id WHERE i.id = ?1")?.query_row([item_id],
                |r| {
                    Ok(FinishFacts {
                        path: r.get(0)?,
                        taken_at: r.get(1)?,
                        taken_source: r.get(2)?,
                        file_offset: r.get(3)?,
                        latitude: r.get(4)?,
                        longitude: r.get(5)?,
                        altitude: r.get(6)?,
                        description: r.get(7)?,
                        favorite: r.get(8)?,
                        people: r.get(9)?,
                    })
                },
            )
            .optional()?)
        })
    }

    /// What the stored file of an account's item (by source id) says about itself; None when
    /// the item is unknown or has no file.
    pub fn stored_file_facts(
        &self,
        account_id: i64,
        remote_id: &str,
    ) -> Result<Option<StoredFileFacts>> {
        self.with(|c| {
            Ok(c.prepare_cached(
                "SELECT ct.file_taken_at, ct.file_offset, ct.file_lat, ct.file_lon, ct.file_alt
                 FROM items i JOIN content ct ON ct.id = i.content_id
                 WHERE i.account_id = ?1 AND i.remote_id = ?2",
            )?
            .query_row(params![account_id, remote_id], |r| {
                Ok(StoredFileFacts {
                    taken_at: r.get(0)?,
                    offset: r.get(1)?,
                    lat: r.get(2)?,
                    lon: r.get(3)?,
                    alt: r.get(4)?,
                })
            })
            .optional()?)
        })
    }

    /// Calls `f` with the digest and path of every stored file, by path: the manifest's lines,
    /// without holding them all twice.
    ///
    /// One scan of the table, sorted by SQLite's sorter, instead of the path index's order,
    /// which looked each row up in the table: a quarter of a second at 100,000 files, half of
    /// that sorted. The sorter keeps in memory as much as the page cache holds and merges from
    /// a temporary file beyond, so it runs under a small cache: under the index's own it added
    /// 28 MB at 200,000 files, and was slower (0.53 s against 0.37 s; BENCHMARKS.md, session
    /// 13).
    pub fn each_content_by_path(&self, mut f: impl FnMut(&[u8; 32], &str)) -> Result<u64> {
        self.with_page_cache(SORT_PAGE_CACHE_KIB, || {
            self.with(|c| {
                let mut st =
                    c.prepare("SELECT blake3, path FROM content NOT INDEXED ORDER BY path")?;
                let mut rows = st.query([])?;
                let mut n = 0;
                while let Some(r) = rows.next()? {
                    let hash = hash_from(r.get(0)?);
                    f(
                        &hash,
                        r.get_ref(1)?.as_str().map_err(rusqlite::Error::from)?,
                    );
                    n += 1;
                }
                Ok(n)
            })
        })
    }
}

/// The page cache while the stored files are sorted by path (see
/// [`Index::each_content_by_path`]) and the lines of every `others.txt` by album and path
/// ([`Index::each_album_member_path`]): SQLite's sorter keeps in memory about what the cache
/// may hold before it spills to a temporary file.
pub(super) const SORT_PAGE_CACHE_KIB: i64 = 2048;

/// The same-named items of a folder before an item (`?2`) and from another (`?4`): from the
/// account's items of that name (`items_name_nocase`, schema 6, whose rows end with the
/// item's id), each checked for membership, instead of a walk of the folder's members for
/// every new file.
pub(super) const SAME_NAME_BEFORE: &str = "SELECT count(*) FROM items i
     WHERE i.account_id = (SELECT account_id FROM albums WHERE id = ?1)
       AND i.filename = ?3 COLLATE NOCASE AND i.id < ?2 AND i.id >= ?4
       AND EXISTS (SELECT 1 FROM memberships m WHERE m.album_id = ?1 AND m.item_id = i.id)";

/// The last answer of [`Index::same_name_before`] per album.
#[derive(Default)]
pub(super) struct SameNames(std::collections::HashMap<i64, SameName>);

/// Of an album's items named `name` (ASCII case folded, as `COLLATE NOCASE`), `before` were
/// recorded before `item`.
pub(super) struct SameName {
    name: String,
    item: i64,
    before: i64,
}
