//! List: one record per stored item, for people (`photobak list`) and scripts (`--json`, one
//! JSON object per line).

use std::ops::ControlFlow;

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

/// Calls `each` with the stored items matching `filter`, by path (so by account folder
/// first), one at a time (so `list --json` streams, in memory that does not grow with the
/// library), until it breaks. Takes an [`Index`] so it can run without the repository lock; the index stays locked while `each` runs, so give it one of its own.
///
/// # Errors
/// Index failures.
pub fn list(
    index: &Index,
    filter: &ListFilter,
    mut each: impl FnMut(ListedItem) -> ControlFlow<()>,
) -> Result<()> {
    // Year folders are the ones photobak derives itself (`year:YYYY`, `year:undated`),
    // whatever the source of the item; a user album titled `Photos from 2019` stays an album.
    index.each_stored_item(filter.account.as_deref(), filter.album.as_deref(), |r| {
        let folders: Vec<ListedFolder> = r
            .folders
            .into_iter()
            .map(|f| ListedFolder {
                title: f.title,
                kind: f.kind,
            })
            .collect();
        each(ListedItem {
            account: r.account,
            path: r.path,
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
            filename: r.filename,
            taken_at: r.taken_at.map(rfc3339),
            description: r.description,
            latitude: r.latitude,
            longitude: r.longitude,
            favorite: r.favorite,
            blake3: hex(&r.blake3),
            size: r.size,
            sources: r.sources.into_iter().map(|s| s.to_string()).collect(),
            mime_type: r.mime_type,
            remote_id: r.remote_id,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::{AlbumSpec, ItemMeta};
    use crate::kinds::Source;
    use crate::repo::Repo;

    /// Items come one at a time, in path order, with their folders and sources; a callback
    /// that breaks ends the walk (`photobak list | head` reads no further).
    #[test]
    fn items_stream_in_path_order_until_the_callback_breaks() {
        let t = tempfile::tempdir().unwrap();
        let repo = Repo::open(t.path()).unwrap();
        let acc = repo.ensure_account("l@example.com").unwrap();
        let album = repo
            .index
            .upsert_album(
                &acc,
                &AlbumSpec {
                    remote_id: "A",
                    source: Source::Library,
                    title: "Trip",
                    description: None,
                    kind: AlbumKind::User,
                    raw_json: None,
                },
                None,
                |_| format!("{}/Trip", acc.folder),
            )
            .unwrap();
        let run = repo.index.begin_run("backup", Some(acc.id)).unwrap();
        for name in ["c", "a", "b"] {
            let id = repo
                .index
                .upsert_item(
                    acc.id,
                    name,
                    &ItemMeta {
                        filename: format!("{name}.jpg"),
                        ..Default::default()
                    },
                    run,
                    Source::Library,
                    None,
                )
                .unwrap()
                .id;
            repo.index.add_membership(album.id, id).unwrap();
            let path = format!("{}/{name}.jpg", album.folder);
            repo.index
                .test_content(&path, name.as_bytes(), Some(album.id), Some(id));
        }
        let mut seen = Vec::new();
        list(&repo.index, &ListFilter::default(), |i| {
            seen.push(i);
            ControlFlow::Continue(())
        })
        .unwrap();
        let names: Vec<&str> = seen.iter().map(|i| i.filename.as_str()).collect();
        assert_eq!(names, ["a.jpg", "b.jpg", "c.jpg"]);
        assert_eq!(seen[0].albums, ["Trip"]);
        assert_eq!(seen[0].sources, ["library"]);
        assert_eq!(seen[0].blake3, blake3::hash(b"a").to_hex().as_str());

        let mut calls = 0;
        list(&repo.index, &ListFilter::default(), |_| {
            calls += 1;
            ControlFlow::Break(())
        })
        .unwrap();
        assert_eq!(calls, 1);
        // Filters: an album nobody made lists nothing.
        let mut none = 0;
        list(
            &repo.index,
            &ListFilter {
                album: Some("nowhere".into()),
                ..Default::default()
            },
            |_| {
                none += 1;
                ControlFlow::Continue(())
            },
        )
        .unwrap();
        assert_eq!(none, 0);
    }
}
