//! List: one record per stored item, for people (`photobak list`) and scripts (`--json`, one
//! JSON object per line).

use std::collections::HashMap;

use rusqlite::params;
use serde::Serialize;

use crate::error::Result;
use crate::index::Index;
use crate::kinds::AlbumKind;
use crate::repo::store::hex;
use crate::time::rfc3339;

/// Which items to list.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Only this account (address).
    pub account: Option<String>,
    /// Only items in an album with this title (case-insensitive).
    pub album: Option<String>,
}

/// One stored item.
#[derive(Debug, Clone, Serialize)]
pub struct ListedItem {
    /// Account address.
    pub account: String,
    /// Repository-relative path of its file.
    pub path: String,
    /// Titles of the albums holding it: user albums, then automatic ones (`Auto Backup`,
    /// Hangouts …); never year folders (see `year_folder`).
    pub albums: Vec<String>,
    /// The `Photos from YYYY` folder holding it (`Undated` without a capture time), when it
    /// is in one.
    pub year_folder: Option<String>,
    /// Every folder holding it, albums and year folder, with its kind.
    pub folders: Vec<ListedFolder>,
    /// File name as the source gave it.
    pub filename: String,
    /// Capture time, RFC 3339 UTC.
    pub taken_at: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Latitude, degrees (the source's, else the file's own).
    pub latitude: Option<f64>,
    /// Longitude, degrees.
    pub longitude: Option<f64>,
    /// Favourite.
    pub favorite: bool,
    /// BLAKE3 of the file, hex.
    pub blake3: String,
    /// Size in bytes.
    pub size: i64,
    /// Sources that delivered it (`library`, `takeout`, `picker`).
    pub sources: Vec<String>,
    /// MIME type.
    pub mime_type: Option<String>,
    /// The source's id of the item.
    pub remote_id: String,
}

/// A folder holding an item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListedFolder {
    pub title: String,
    /// `user` (an album the user made), `auto` (an automatic album, or a Takeout folder that
    /// looks like one) or `year` (a `Photos from YYYY` folder).
    pub kind: AlbumKind,
}

/// The stored items matching `filter`, by account and path. Takes an [`Index`] so it can run
/// without the repository lock.
///
/// # Errors
/// Index failures.
pub fn list(index: &Index, filter: &ListFilter) -> Result<Vec<ListedItem>> {
    index.with(|c| {
        // Year folders are the ones photobak derives itself (`year:YYYY`, `year:undated`),
        // whatever the source of the item; a user album titled `Photos from 2019` stays an
        // album.
        let mut folders: HashMap<i64, Vec<ListedFolder>> = HashMap::new();
        let mut st = c.prepare(
            "SELECT m.item_id, a.title, a.kind
             FROM memberships m JOIN albums a ON a.id = m.album_id
             ORDER BY (a.kind <> 'user'), (a.kind = 'year'), a.title",
        )?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            let kind: AlbumKind = r.get(2)?;
            folders.entry(r.get(0)?).or_default().push(ListedFolder {
                title: r.get(1)?,
                kind,
            });
        }
        let mut sources: HashMap<i64, Vec<String>> = HashMap::new();
        let mut st = c.prepare("SELECT item_id, source FROM provenance ORDER BY source")?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            sources.entry(r.get(0)?).or_default().push(r.get(1)?);
        }
        let mut st = c.prepare(
            "SELECT i.id, a.name, ct.path, i.filename, coalesce(i.taken_at, ct.file_taken_at),
                    nullif(i.description, ''), coalesce(i.latitude, ct.file_lat),
                    coalesce(i.longitude, ct.file_lon), i.favorite, ct.blake3, ct.size,
                    i.mime_type, i.remote_id
             FROM items i JOIN accounts a ON a.id = i.account_id
             JOIN content ct ON ct.id = i.content_id
             WHERE (?1 IS NULL OR a.name = ?1)
               AND (?2 IS NULL OR EXISTS(SELECT 1 FROM memberships m JOIN albums al ON al.id = m.album_id
                                         WHERE m.item_id = i.id AND al.title = ?2 COLLATE NOCASE))
             ORDER BY a.id, ct.path, i.id",
        )?;
        let mut rows = st.query(params![filter.account, filter.album])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let id: i64 = r.get(0)?;
            let raw: Vec<u8> = r.get(9)?;
            let folders = folders.remove(&id).unwrap_or_default();
            out.push(ListedItem {
                account: r.get(1)?,
                path: r.get(2)?,
                albums: folders
                    .iter()
                    .filter(|f| f.kind != AlbumKind::Year)
                    .map(|f| f.title.clone())
                    .collect(),
                year_folder: folders
                    .iter()
                    .find(|f| f.kind == AlbumKind::Year)
                    .map(|f| f.title.clone()),
                folders,
                filename: r.get(3)?,
                taken_at: r.get::<_, Option<i64>>(4)?.map(rfc3339),
                description: r.get(5)?,
                latitude: r.get(6)?,
                longitude: r.get(7)?,
                favorite: r.get::<_, i64>(8)? != 0,
                blake3: hex(&raw),
                size: r.get(10)?,
                sources: sources.remove(&id).unwrap_or_default(),
                mime_type: r.get(11)?,
                remote_id: r.get(12)?,
            });
        }
        Ok(out)
    })
}
