//! Reads and writes of `takeout_exports`, and the sightings the full/incremental rule of
//! [`crate::exports`] is decided on.

use rusqlite::params;

use super::{Index, now};
use crate::error::Result;
use crate::exports::{ExportId, ExportRecord, KindDecision};

/// When an item was last seen, and by what.
#[derive(Debug, Clone, PartialEq)]
pub struct Sighting {
    /// Item row id.
    pub item_id: i64,
    /// The newest export that held it (`provenance.source_ref`).
    pub last_export: Option<String>,
    /// Its last sighting by any source, Unix seconds: for Takeout, when Google made the newest
    /// export that held it; for the Library API and the Picker, when photobak last listed it.
    pub last_seen: i64,
    /// Which source gave `last_seen`.
    pub last_seen_by: String,
    /// The Library API delivered it too (prune asks the API about it).
    pub also_library: bool,
    /// A source that cannot list (the Picker) delivered it too: never gone.
    pub also_unlisted: bool,
}

/// Every item of account ?1 that Takeout delivered, with its newest sighting by any source:
/// for Takeout, when Google made the newest export that held it; for the other sources, when
/// photobak last listed it. One row per item: SQLite takes the other columns of an aggregate
/// query with one `max()` from the row that holds the maximum.
const NEWEST_SIGHTINGS: &str = "SELECT i.id AS id, pt.source_ref AS last_export,
        max(s.seen) AS seen, s.source AS seen_by,
        EXISTS(SELECT 1 FROM provenance p WHERE p.item_id = i.id AND p.source = 'library')
            AS also_library,
        EXISTS(SELECT 1 FROM provenance p WHERE p.item_id = i.id
               AND p.source NOT IN ('takeout', 'library')) AS also_unlisted
     FROM items i
     JOIN provenance pt ON pt.item_id = i.id AND pt.source = 'takeout'
     JOIN (SELECT p.item_id,
                  CASE WHEN p.source = 'takeout'
                       THEN coalesce(e.exported_at, p.last_seen)
                       ELSE p.last_seen END AS seen,
                  p.source
           FROM provenance p
           LEFT JOIN takeout_exports e
                  ON p.source = 'takeout' AND e.export_id = p.source_ref
                 AND e.account_id = ?1) s ON s.item_id = i.id
     WHERE i.account_id = ?1
     GROUP BY i.id";

const EXPORT_COLUMNS: &str = "export_id, kind, kind_by, coalesce(kind_reason, ''),
     coalesce(exported_at, imported_at), imported_at, item_count, media_count, absent_count,
     complete";

fn export_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ExportRecord> {
    Ok(ExportRecord {
        export_id: ExportId::new(r.get::<_, String>(0)?),
        kind: KindDecision {
            kind: r.get(1)?,
            by: r.get(2)?,
            reason: r.get(3)?,
        },
        exported_at: r.get(4)?,
        imported_at: r.get(5)?,
        items: r.get::<_, Option<i64>>(6)?.map(|n| n as u64),
        media_entries: r.get::<_, i64>(7)? as u64,
        absent: r.get::<_, i64>(8)? as u64,
        complete: r.get(9)?,
    })
}

impl Index {
    /// Records that an import of `export` begins: unfinished until [`Index::finish_export`].
    /// An export imported before keeps its time and its kind. Returns the
    /// record as it is now.
    pub fn begin_export(
        &self,
        account_id: i64,
        export: &ExportId,
        media_entries: u64,
    ) -> Result<ExportRecord> {
        let t = now();
        self.with(|c| {
            c.prepare_cached(
                "INSERT INTO takeout_exports (account_id, export_id, imported_at, media_count,
                     absent_count, complete, kind, kind_by, kind_reason, exported_at)
                 VALUES (?1, ?2, ?3, ?4, 0, 0, 'incremental', 'photobak', 'import not finished',
                         coalesce(?5, ?3))
                 ON CONFLICT (account_id, export_id) DO UPDATE SET complete = 0, media_count = ?4",
            )?
            .execute(params![
                account_id,
                export.as_str(),
                t,
                media_entries as i64,
                export.made_at()
            ])?;
            Ok(c.query_row(
                &format!(
                    "SELECT {EXPORT_COLUMNS} FROM takeout_exports
                     WHERE account_id = ?1 AND export_id = ?2"
                ),
                params![account_id, export.as_str()],
                export_row,
            )?)
        })
    }

    /// Marks an import finished with its kind and counts.
    pub fn finish_export(
        &self,
        account_id: i64,
        export: &ExportId,
        kind: &KindDecision,
        items: u64,
        absent: u64,
    ) -> Result<()> {
        self.with(|c| {
            c.prepare_cached(
                "UPDATE takeout_exports SET imported_at = ?3, kind = ?4, kind_by = ?5,
                     kind_reason = ?6, item_count = ?7, absent_count = ?8, complete = 1
                 WHERE account_id = ?1 AND export_id = ?2",
            )?
            .execute(params![
                account_id,
                export.as_str(),
                now(),
                kind.kind,
                kind.by,
                kind.reason,
                items as i64,
                absent as i64
            ])?;
            Ok(())
        })
    }

    /// Sets the kind of a recorded export. False when the account has no such export.
    pub fn set_export_kind(
        &self,
        account_id: i64,
        export: &ExportId,
        kind: &KindDecision,
    ) -> Result<bool> {
        self.with(|c| {
            let n = c
                .prepare_cached(
                    "UPDATE takeout_exports SET kind = ?3, kind_by = ?4, kind_reason = ?5
                 WHERE account_id = ?1 AND export_id = ?2",
                )?
                .execute(params![
                    account_id,
                    export.as_str(),
                    kind.kind,
                    kind.by,
                    kind.reason
                ])?;
            Ok(n > 0)
        })
    }

    /// The exports recorded for an account, oldest first (by when Google made them).
    pub fn exports(&self, account_id: i64) -> Result<Vec<ExportRecord>> {
        self.with(|c| {
            let mut st = c.prepare(&format!(
                "SELECT {EXPORT_COLUMNS} FROM takeout_exports WHERE account_id = ?1
                 ORDER BY coalesce(exported_at, imported_at), export_id"
            ))?;
            let rows = st
                .query_map([account_id], export_row)?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
    }

    /// The items of an account that Takeout delivered whose last sighting by any source falls
    /// in `since..before` (Unix seconds), with that sighting. Filtered by SQLite, so what is
    /// held is what the caller asked for, not the whole library: an incremental export of a
    /// few items leaves almost every other item "last seen before it".
    pub fn takeout_sightings_between(
        &self,
        account_id: i64,
        since: i64,
        before: i64,
    ) -> Result<Vec<Sighting>> {
        // Every item of the account is read to find the few asked for: through the small
        // cache, as `account_uses` (under the index's own, these pages and the grouping's
        // sort took `prune --dry-run` from 15 to 42 MB at 200,000 items; BENCHMARKS.md,
        // session 13).
        self.with_page_cache(super::SCAN_PAGE_CACHE_KIB, || {
            self.with(|c| {
                let mut st = c.prepare_cached(&format!(
                    "SELECT id, last_export, seen, seen_by, also_library, also_unlisted
                     FROM ({NEWEST_SIGHTINGS}) WHERE seen >= ?2 AND seen < ?3 ORDER BY id"
                ))?;
                let rows = st.query_map(params![account_id, since, before], |r| {
                    Ok(Sighting {
                        item_id: r.get(0)?,
                        last_export: r.get(1)?,
                        last_seen: r.get(2)?,
                        last_seen_by: r.get(3)?,
                        also_library: r.get(4)?,
                        also_unlisted: r.get(5)?,
                    })
                })?;
                Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
            })
        })
    }

    /// How many items [`Index::takeout_sightings_between`] would return.
    pub fn count_takeout_sightings_between(
        &self,
        account_id: i64,
        since: i64,
        before: i64,
    ) -> Result<u64> {
        // As `takeout_sightings_between`: every item of the account is read.
        self.with_page_cache(super::SCAN_PAGE_CACHE_KIB, || {
            self.with(|c| {
                let n: i64 = c
                    .prepare_cached(&format!(
                        "SELECT count(*) FROM ({NEWEST_SIGHTINGS}) WHERE seen >= ?2 AND seen < ?3"
                    ))?
                    .query_row(params![account_id, since, before], |r| r.get(0))?;
                Ok(u64::try_from(n).unwrap_or(0))
            })
        })
    }
}
