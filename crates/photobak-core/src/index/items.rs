//! Reads and writes of `items` and their `provenance` beyond the shared upsert: what only a
//! Takeout sidecar records, and who uses a stored file (for `verify --repair`).

use rusqlite::params;

use super::Index;
use crate::error::Result;
use crate::kinds::Source;

/// One source that delivered an item, and what it said about it (for Takeout: the newest
/// export that held it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provenance {
    /// The source.
    pub source: Source,
    /// Its reference (`provenance.source_ref`).
    pub source_ref: Option<String>,
}

/// What only a Takeout sidecar records about an item.
#[derive(Debug, Clone, Default)]
pub struct TakeoutExtras<'a> {
    /// People named, as a JSON array; None clears them.
    pub people: Option<&'a str>,
    /// Where the item came from (`mobile:…`, `web`, …); None keeps what is recorded.
    pub origin: Option<&'a str>,
    /// Which sidecar rule matched, in words.
    pub sidecar_rule: &'a str,
    /// The sidecar's `photoTakenTime`; None keeps what is recorded.
    pub sidecar_taken_at: Option<i64>,
}

/// An item whose bytes are a given stored file.
#[derive(Debug, Clone)]
pub struct ContentUser {
    /// Item row id.
    pub item_id: i64,
    /// Its account.
    pub account_id: i64,
    /// The source's id of the item.
    pub remote_id: String,
    /// File name as the source gave it.
    pub filename: String,
    /// Capture time.
    pub taken_at: Option<i64>,
    /// The sources that delivered it.
    pub sources: Vec<Provenance>,
}

impl Index {
    /// Records what only the sidecar says (people, origin, the rule that matched it, its time).
    /// True when any of people, origin or the sidecar's time changed.
    pub fn set_takeout_extras(&self, item_id: i64, extras: &TakeoutExtras<'_>) -> Result<bool> {
        self.tx(|c| {
            let before: String = c
                .prepare_cached(
                    "SELECT json_array(people, origin, sidecar_taken_at) FROM items WHERE id = ?1",
                )?
                .query_row([item_id], |r| r.get(0))?;
            c.prepare_cached(
                "UPDATE items SET people = ?2, origin = COALESCE(?3, origin), sidecar_rule = ?4,
                 sidecar_taken_at = COALESCE(?5, sidecar_taken_at) WHERE id = ?1",
            )?
            .execute(params![
                item_id,
                extras.people,
                extras.origin,
                extras.sidecar_rule,
                extras.sidecar_taken_at
            ])?;
            let after: String = c
                .prepare_cached(
                    "SELECT json_array(people, origin, sidecar_taken_at) FROM items WHERE id = ?1",
                )?
                .query_row([item_id], |r| r.get(0))?;
            Ok(before != after)
        })
    }

    /// The items whose bytes are the stored file `content_id`, oldest first, with their
    /// sources.
    pub fn content_users_of(&self, content_id: i64) -> Result<Vec<ContentUser>> {
        self.with(|c| {
            let mut st = c.prepare_cached(
                "SELECT id, account_id, remote_id, filename, taken_at FROM items
                 WHERE content_id = ?1 ORDER BY id",
            )?;
            let mut users = st
                .query_map([content_id], |r| {
                    Ok(ContentUser {
                        item_id: r.get(0)?,
                        account_id: r.get(1)?,
                        remote_id: r.get(2)?,
                        filename: r.get(3)?,
                        taken_at: r.get(4)?,
                        sources: vec![],
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            let mut st =
                c.prepare_cached("SELECT source, source_ref FROM provenance WHERE item_id = ?1")?;
            for u in &mut users {
                u.sources = st
                    .query_map([u.item_id], |r| {
                        Ok(Provenance {
                            source: r.get(0)?,
                            source_ref: r.get(1)?,
                        })
                    })?
                    .collect::<Result<Vec<_>, _>>()?;
            }
            Ok(users)
        })
    }
}
