//! What `prune` reads and writes: the rows its plan compares with the sources, read one at a
//! time or for the few items the plan touches (never the whole library at once: with every
//! item, stored file and membership held, `prune --dry-run`'s peak grew with the library,
//! 135 MB at 200,000 items), and the statements its execution runs. What the index forgets of
//! a plan goes in one transaction ([`Index::forget_pruned`]), so a prune killed half-way leaves
//! either all of it or none.

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::{OptionalExtension, params};

use super::Index;
use crate::error::{Error, Result};
use crate::kinds::{AlbumKind, Source};
use crate::repo::naming::portable_key;

/// An item as prune's plan reads it, one at a time ([`Index::prune_item`]).
#[derive(Debug, Clone)]
pub struct PruneItem {
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
}

/// An album as prune sees it. Every album is held while a plan is made: a library has
/// thousands of albums at most, against a hundred thousand items and more.
#[derive(Debug, Clone)]
pub struct PruneAlbum {
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
pub struct PruneContent {
    /// Row id.
    pub id: i64,
    /// Repository-relative path.
    pub path: String,
    /// Size in bytes.
    pub size: i64,
    /// The album whose folder holds it.
    pub home: Option<i64>,
}

/// A member of an album, as prune compares it with the album's listing.
#[derive(Debug, Clone)]
pub struct AlbumMember {
    /// Item row id.
    pub item_id: i64,
    /// The item's source id.
    pub remote_id: String,
    /// Whether the Library API delivered the item.
    pub from_library: bool,
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
    /// Every album, by row id.
    pub fn prune_albums(&self) -> Result<BTreeMap<i64, PruneAlbum>> {
        self.with(|c| {
            let mut albums = BTreeMap::new();
            let mut st = c.prepare(
                "SELECT id, account_id, remote_id, source, title, folder, kind FROM albums",
            )?;
            let mut rows = st.query([])?;
            while let Some(r) = rows.next()? {
                let id: i64 = r.get(0)?;
                albums.insert(
                    id,
                    PruneAlbum {
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
            Ok(albums)
        })
    }

    /// Calls `f` with each item of an account that some source delivered: its row id, its
    /// source id and the sources that delivered it. One row at a time, in no set order; `f`
    /// must not use the index.
    pub fn for_each_sourced_item(
        &self,
        account_id: i64,
        mut f: impl FnMut(i64, &str, &[Source]) -> Result<()>,
    ) -> Result<()> {
        self.with(|c| {
            let mut st = c.prepare_cached(SOURCED_ITEMS)?;
            let mut rows = st.query([account_id])?;
            let mut sources = Vec::new();
            while let Some(r) = rows.next()? {
                let Some(list) = r.get::<_, Option<String>>(2)? else {
                    continue;
                };
                sources.clear();
                for s in list.split(',') {
                    let s = Source::parse(s).ok_or_else(|| {
                        Error::Index(rusqlite::Error::FromSqlConversionFailure(
                            2,
                            rusqlite::types::Type::Text,
                            format!("unknown source {s:?} in the provenance table").into(),
                        ))
                    })?;
                    if !sources.contains(&s) {
                        sources.push(s);
                    }
                }
                // By name, as the provenance's key gives them (its order, which `group_concat`
                // does not promise): the order of the reasons an item is gone.
                sources.sort_unstable_by_key(|s| s.as_str());
                let remote_id: String = r.get(1)?;
                f(r.get(0)?, &remote_id, &sources)?;
            }
            Ok(())
        })
    }

    /// Calls `f` with each member of an album until it returns false, with what the comparison
    /// with a listing needs (a membership naming a missing item is not given); `f` must not use
    /// the index.
    pub fn for_each_album_member(
        &self,
        album_id: i64,
        mut f: impl FnMut(AlbumMember) -> bool,
    ) -> Result<()> {
        self.with(|c| {
            let mut st = c.prepare_cached(ALBUM_MEMBERS)?;
            let mut rows = st.query([album_id])?;
            while let Some(r) = rows.next()? {
                let member = AlbumMember {
                    item_id: r.get(0)?,
                    remote_id: r.get(1)?,
                    from_library: r.get(2)?,
                };
                if !f(member) {
                    break;
                }
            }
            Ok(())
        })
    }

    /// Calls `f` with the item id of each membership of an album until it returns false; `f`
    /// must not use the index.
    pub fn for_each_member_id(&self, album_id: i64, mut f: impl FnMut(i64) -> bool) -> Result<()> {
        self.with(|c| {
            let mut st = c.prepare_cached(ALBUM_MEMBER_IDS)?;
            let mut rows = st.query([album_id])?;
            while let Some(r) = rows.next()? {
                if !f(r.get(0)?) {
                    break;
                }
            }
            Ok(())
        })
    }

    /// An item as prune's plan reads it.
    pub fn prune_item(&self, id: i64) -> Result<Option<PruneItem>> {
        self.with(|c| {
            Ok(c.prepare_cached(
                "SELECT account_id, remote_id, content_id, filename, taken_at
                 FROM items WHERE id = ?1",
            )?
            .query_row([id], |r| {
                Ok(PruneItem {
                    id,
                    account_id: r.get(0)?,
                    remote_id: r.get(1)?,
                    content_id: r.get(2)?,
                    filename: r.get(3)?,
                    taken_at: r.get(4)?,
                })
            })
            .optional()?)
        })
    }

    /// A stored file as prune's plan reads it.
    pub fn prune_content(&self, id: i64) -> Result<Option<PruneContent>> {
        self.with(|c| {
            Ok(
                c.prepare_cached("SELECT path, size, home_album_id FROM content WHERE id = ?1")?
                    .query_row([id], |r| {
                        Ok(PruneContent {
                            id,
                            path: r.get(0)?,
                            size: r.get(1)?,
                            home: r.get(2)?,
                        })
                    })
                    .optional()?,
            )
        })
    }

    /// The albums an item is in.
    pub fn item_album_ids(&self, item_id: i64) -> Result<Vec<i64>> {
        self.with(|c| {
            let mut st = c.prepare_cached(ITEM_ALBUM_IDS)?;
            let ids = st.query_map([item_id], |r| r.get(0))?;
            Ok(ids.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// The items that use a stored file, by row id.
    pub fn content_user_ids(&self, content_id: i64) -> Result<Vec<i64>> {
        self.with(|c| {
            let mut st = c.prepare_cached(CONTENT_USER_IDS)?;
            let ids = st.query_map([content_id], |r| r.get(0))?;
            let mut ids: Vec<i64> = ids.collect::<rusqlite::Result<_>>()?;
            ids.sort_unstable();
            Ok(ids)
        })
    }

    /// The stored files whose home is one of `albums`: one pass over the stored files (their
    /// home has no index of its own).
    pub fn contents_homed_in(&self, albums: &BTreeSet<i64>) -> Result<Vec<i64>> {
        if albums.is_empty() {
            return Ok(Vec::new());
        }
        self.with(|c| {
            let mut st =
                c.prepare("SELECT id, home_album_id FROM content WHERE home_album_id IS NOT NULL")?;
            let mut rows = st.query([])?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                if albums.contains(&r.get(1)?) {
                    out.push(r.get(0)?);
                }
            }
            Ok(out)
        })
    }

    /// How many items an account has.
    pub fn account_item_count(&self, account_id: i64) -> Result<u64> {
        self.with(|c| {
            let n: i64 = c
                .prepare_cached("SELECT count(*) FROM items WHERE account_id = ?1")?
                .query_row([account_id], |r| r.get(0))?;
            Ok(u64::try_from(n).unwrap_or(0))
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
        self.forget_same_names();
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

/// Every item of an account with the sources that delivered it ([`Index::for_each_sourced_item`]).
pub(super) const SOURCED_ITEMS: &str = "SELECT i.id, i.remote_id,
        (SELECT group_concat(p.source, ',') FROM provenance p WHERE p.item_id = i.id)
     FROM items i WHERE i.account_id = ?1";

/// The members of an album ([`Index::for_each_album_member`]).
pub(super) const ALBUM_MEMBERS: &str = "SELECT m.item_id, i.remote_id,
        EXISTS (SELECT 1 FROM provenance p WHERE p.item_id = m.item_id AND p.source = 'library')
     FROM memberships m JOIN items i ON i.id = m.item_id
     WHERE m.album_id = ?1";

/// The item ids of an album's memberships ([`Index::for_each_member_id`]).
pub(super) const ALBUM_MEMBER_IDS: &str = "SELECT item_id FROM memberships WHERE album_id = ?1";

/// The albums of an item ([`Index::item_album_ids`]).
pub(super) const ITEM_ALBUM_IDS: &str = "SELECT album_id FROM memberships WHERE item_id = ?1";

/// The users of a stored file ([`Index::content_user_ids`]).
pub(super) const CONTENT_USER_IDS: &str = "SELECT id FROM items WHERE content_id = ?1";
