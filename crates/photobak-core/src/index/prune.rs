//! What `prune` reads and writes: the snapshot its plan compares with the sources, and the
//! statements its execution runs. What the index forgets of a plan goes in one transaction
//! ([`Index::forget_pruned`]), so a prune killed half-way leaves either all of it or none.

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::params;

use super::Index;
use crate::error::Result;
use crate::kinds::{AlbumKind, Source};
use crate::repo::naming::portable_key;

/// An item as prune sees it.
#[derive(Debug, Clone)]
pub struct SnapshotItem {
    /// Row id.
    pub id: i64,
    /// Its account.
    pub account_id: i64,
    /// The source's id.
    pub remote_id: String,
    /// Its stored file, if any.
    pub content_id: Option<i64>,
    /// File name as the source gave it.
    pub filename: String,
    /// Capture time.
    pub taken_at: Option<i64>,
    /// The sources that delivered it (prune decides by the source alone, not its reference).
    pub sources: Vec<Source>,
}

/// An album as prune sees it.
#[derive(Debug, Clone)]
pub struct SnapshotAlbum {
    /// Row id.
    pub id: i64,
    /// Its account.
    pub account_id: i64,
    /// The source's id (`year:2019` for year folders).
    pub remote_id: String,
    /// Where it comes from.
    pub source: Source,
    /// Title.
    pub title: String,
    /// Repository-relative folder.
    pub folder: String,
    /// User album, automatic album or year folder.
    pub kind: AlbumKind,
}

/// A stored file as prune sees it.
#[derive(Debug, Clone)]
pub struct SnapshotContent {
    /// Row id.
    pub id: i64,
    /// Repository-relative path.
    pub path: String,
    /// Size in bytes.
    pub size: i64,
    /// The album whose folder holds it.
    pub home: Option<i64>,
}

/// The whole index as prune's plan compares it with the sources.
#[derive(Debug, Clone, Default)]
pub struct PruneSnapshot {
    /// Items by row id.
    pub items: ById<SnapshotItem>,
    /// Albums by row id.
    pub albums: BTreeMap<i64, SnapshotAlbum>,
    /// Stored files by row id.
    pub contents: ById<SnapshotContent>,
    /// (album, item) memberships.
    pub memberships: BTreeSet<(i64, i64)>,
}

/// Rows by their id, held in one vector sorted by id. A `BTreeMap` of a 100,000-item library
/// took twice the memory of its rows (half-full nodes), which put `prune`'s peak over 100 MB.
#[derive(Debug, Clone)]
pub struct ById<T>(Vec<T>);

impl<T> Default for ById<T> {
    fn default() -> Self {
        ById(Vec::new())
    }
}

/// A row with an id, for [`ById`].
pub trait RowId {
    /// The row id.
    fn row_id(&self) -> i64;
}

impl RowId for SnapshotItem {
    fn row_id(&self) -> i64 {
        self.id
    }
}

impl RowId for SnapshotContent {
    fn row_id(&self) -> i64 {
        self.id
    }
}

impl<T: RowId> ById<T> {
    /// From rows in any order.
    fn new(mut rows: Vec<T>) -> ById<T> {
        rows.sort_unstable_by_key(RowId::row_id);
        rows.dedup_by_key(|r| r.row_id());
        ById(rows)
    }

    fn position(&self, id: i64) -> Option<usize> {
        self.0.binary_search_by_key(&id, RowId::row_id).ok()
    }

    /// The row with this id.
    pub fn get(&self, id: &i64) -> Option<&T> {
        self.position(*id).map(|i| &self.0[i])
    }

    fn get_mut(&mut self, id: i64) -> Option<&mut T> {
        self.position(id).map(|i| &mut self.0[i])
    }

    /// The rows, by id.
    pub fn values(&self) -> std::slice::Iter<'_, T> {
        self.0.iter()
    }

    /// How many rows.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<T: RowId> std::ops::Index<&i64> for ById<T> {
    type Output = T;

    fn index(&self, id: &i64) -> &T {
        self.get(id).expect("no row with this id")
    }
}

/// An item prune removes.
#[derive(Debug, Clone)]
pub struct ForgottenItem {
    /// Row id.
    pub id: i64,
    /// Its account.
    pub account_id: i64,
    /// The source's id (its failure record goes too).
    pub remote_id: String,
}

/// What the index forgets of an allowed prune plan, as plain ids.
#[derive(Debug, Clone, Default)]
pub struct PruneForget {
    /// (album, item) memberships gone from items that stay.
    pub memberships: Vec<(i64, i64)>,
    /// Stored files no item that stays uses.
    pub contents: Vec<i64>,
    /// Items gone everywhere.
    pub items: Vec<ForgottenItem>,
    /// Albums gone.
    pub albums: Vec<i64>,
}

impl Index {
    /// Reads items (with their provenance), albums, stored files and memberships at once.
    pub fn prune_snapshot(&self) -> Result<PruneSnapshot> {
        self.with(|c| {
            let count = |table: &str| -> Result<usize> {
                let n: i64 =
                    c.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?;
                Ok(usize::try_from(n).unwrap_or(0))
            };
            // Sized up front: a vector that doubles holds up to twice its rows at its peak.
            let mut rows = Vec::with_capacity(count("items")?);
            let mut st = c.prepare(
                "SELECT id, account_id, remote_id, content_id, filename, taken_at FROM items",
            )?;
            let mut q = st.query([])?;
            while let Some(r) = q.next()? {
                rows.push(SnapshotItem {
                    id: r.get(0)?,
                    account_id: r.get(1)?,
                    remote_id: r.get(2)?,
                    content_id: r.get(3)?,
                    filename: r.get(4)?,
                    taken_at: r.get(5)?,
                    sources: vec![],
                });
            }
            let mut items = ById::new(rows);
            let mut st = c.prepare("SELECT item_id, source FROM provenance")?;
            let mut q = st.query([])?;
            while let Some(r) = q.next()? {
                if let Some(i) = items.get_mut(r.get(0)?) {
                    let source: Source = r.get(1)?;
                    if !i.sources.contains(&source) {
                        i.sources.push(source);
                    }
                }
            }
            let mut albums = BTreeMap::new();
            let mut st = c.prepare(
                "SELECT id, account_id, remote_id, source, title, folder, kind FROM albums",
            )?;
            let mut rows = st.query([])?;
            while let Some(r) = rows.next()? {
                let id: i64 = r.get(0)?;
                albums.insert(
                    id,
                    SnapshotAlbum {
                        id,
                        account_id: r.get(1)?,
                        remote_id: r.get(2)?,
                        source: r.get(3)?,
                        title: r.get(4)?,
                        folder: r.get(5)?,
                        kind: r.get(6)?,
                    },
                );
            }
            let mut rows = Vec::with_capacity(count("content")?);
            let mut st = c.prepare("SELECT id, path, size, home_album_id FROM content")?;
            let mut q = st.query([])?;
            while let Some(r) = q.next()? {
                rows.push(SnapshotContent {
                    id: r.get(0)?,
                    path: r.get(1)?,
                    size: r.get(2)?,
                    home: r.get(3)?,
                });
            }
            let contents = ById::new(rows);
            let mut memberships = BTreeSet::new();
            let mut st = c.prepare("SELECT album_id, item_id FROM memberships")?;
            let mut rows = st.query([])?;
            while let Some(r) = rows.next()? {
                memberships.insert((r.get(0)?, r.get(1)?));
            }
            Ok(PruneSnapshot {
                items,
                albums,
                contents,
                memberships,
            })
        })
    }

    /// An item's account and capture time (which year folder it joins).
    pub fn item_account_and_time(&self, item_id: i64) -> Result<(i64, Option<i64>)> {
        self.with(|c| {
            Ok(
                c.prepare_cached("SELECT account_id, taken_at FROM items WHERE id = ?1")?
                    .query_row([item_id], |r| Ok((r.get(0)?, r.get(1)?)))?,
            )
        })
    }

    /// Forgets stored files (and detaches the items still naming them), in one transaction:
    /// the step between journalling their removal and carrying it out.
    pub fn forget_contents(&self, content_ids: &[i64]) -> Result<()> {
        self.tx(|tx| {
            for id in content_ids {
                tx.prepare_cached("UPDATE items SET content_id = NULL WHERE content_id = ?1")?
                    .execute([id])?;
                tx.prepare_cached("DELETE FROM content WHERE id = ?1")?
                    .execute([id])?;
            }
            Ok(())
        })
    }

    /// Records that a stored file moved to `path`, now at home in `album_id`.
    pub fn record_move(
        &self,
        content_id: i64,
        path: &str,
        album_id: i64,
        reason: &str,
    ) -> Result<()> {
        self.with(|c| {
            c.prepare_cached(
                "UPDATE content SET path = ?2, path_key = ?5, home_album_id = ?3, home_reason = ?4
                 WHERE id = ?1",
            )?
            .execute(params![
                content_id,
                path,
                album_id,
                reason,
                portable_key(path)
            ])?;
            Ok(())
        })
    }

    /// Forgets what an allowed prune plan removes, in one transaction: memberships, stored
    /// files, items (with their provenance, the links of their variants and their failure
    /// records) and albums.
    pub fn forget_pruned(&self, f: &PruneForget) -> Result<()> {
        self.tx(|tx| {
            for (album_id, item_id) in &f.memberships {
                tx.prepare_cached("DELETE FROM memberships WHERE album_id = ?1 AND item_id = ?2")?
                    .execute(params![album_id, item_id])?;
            }
            for id in &f.contents {
                tx.prepare_cached("UPDATE items SET content_id = NULL WHERE content_id = ?1")?
                    .execute([id])?;
                tx.prepare_cached("DELETE FROM content WHERE id = ?1")?
                    .execute([id])?;
            }
            for i in &f.items {
                tx.prepare_cached("DELETE FROM memberships WHERE item_id = ?1")?
                    .execute([i.id])?;
                tx.prepare_cached("DELETE FROM provenance WHERE item_id = ?1")?
                    .execute([i.id])?;
                // Edited variants and live companions point at their original; the link goes
                // with the original (otherwise the foreign key refuses the delete).
                tx.prepare_cached(
                    "UPDATE items SET linked_to = NULL, link_kind = NULL WHERE linked_to = ?1",
                )?
                .execute([i.id])?;
                tx.prepare_cached("DELETE FROM failures WHERE account_id = ?1 AND remote_id = ?2")?
                    .execute(params![i.account_id, i.remote_id])?;
                tx.prepare_cached("DELETE FROM items WHERE id = ?1")?
                    .execute([i.id])?;
            }
            for id in &f.albums {
                tx.prepare_cached("DELETE FROM memberships WHERE album_id = ?1")?
                    .execute([id])?;
                tx.prepare_cached(
                    "UPDATE content SET home_album_id = NULL WHERE home_album_id = ?1",
                )?
                .execute([id])?;
                tx.prepare_cached("DELETE FROM albums WHERE id = ?1")?
                    .execute([id])?;
            }
            Ok(())
        })
    }
}
