//! Schema migrations on `PRAGMA user_version`.
//!
//! Each step is plain SQL applied in one transaction together with the version bump, so an
//! interrupted upgrade leaves the old schema intact. An index written by a newer photobak is
//! refused rather than guessed at.

use rusqlite::Connection;

use crate::error::{Error, Result};

/// The steps, in order; step `i` takes the schema from version `i` to `i + 1`.
const STEPS: &[&str] = &[
    include_str!("schema_v1.sql"),
    include_str!("schema_v2.sql"),
    include_str!("schema_v3.sql"),
    include_str!("schema_v4.sql"),
    include_str!("schema_v5.sql"),
    include_str!("schema_v6.sql"),
    include_str!("schema_v7.sql"),
];

/// The version a fully migrated index has.
pub const CURRENT_VERSION: i64 = STEPS.len() as i64;

pub(super) fn migrate(conn: &mut Connection) -> Result<()> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version > CURRENT_VERSION {
        return Err(Error::Config(format!(
            "the index has schema version {version}, newer than this photobak understands \
             ({CURRENT_VERSION}); upgrade photobak"
        )));
    }
    for (i, step) in STEPS.iter().enumerate().skip(version as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(step)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_empty_database_and_is_idempotent() {
        let mut c = Connection::open_in_memory().unwrap();
        migrate(&mut c).unwrap();
        migrate(&mut c).unwrap();
        let v: i64 = c
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(v, CURRENT_VERSION);
        let tables: i64 = c
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type='table' AND name IN \
                 ('accounts','albums','content','items','memberships','provenance','runs','failures')",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(tables, 8);
    }

    #[test]
    fn a_version_1_index_keeps_its_data_through_the_upgrade() {
        let mut c = Connection::open_in_memory().unwrap();
        let tx = c.transaction().unwrap();
        tx.execute_batch(STEPS[0]).unwrap();
        tx.pragma_update(None, "user_version", 1).unwrap();
        tx.execute_batch(
            "INSERT INTO accounts (provider, name, folder, created_at) VALUES ('googlephotos', 'a@x', 'googlephotos/a_at_x', 1);
             INSERT INTO items (account_id, remote_id, filename, first_seen, last_seen, updated_at)
             VALUES (1, 'r1', 'IMG_1.JPG', 1, 1, 1);",
        )
        .unwrap();
        tx.commit().unwrap();
        migrate(&mut c).unwrap();
        let (name, people): (String, Option<String>) = c
            .query_row(
                "SELECT filename, people FROM items WHERE remote_id = 'r1'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(name, "IMG_1.JPG");
        assert_eq!(people, None);
        let n: i64 = c
            .query_row("SELECT count(*) FROM takeout_exports", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0);
    }

    #[test]
    fn exports_recorded_before_kinds_get_a_time_and_a_safe_kind() {
        let mut c = Connection::open_in_memory().unwrap();
        let tx = c.transaction().unwrap();
        tx.execute_batch(STEPS[0]).unwrap();
        tx.execute_batch(STEPS[1]).unwrap();
        tx.pragma_update(None, "user_version", 2).unwrap();
        tx.execute_batch(
            "INSERT INTO accounts (provider, name, folder, created_at) VALUES ('googlephotos', 'a@x', 'googlephotos/a_at_x', 1);
             INSERT INTO takeout_exports VALUES (1, 'takeout-20250921T101010Z', 1800000000, 10, 0, 1);
             INSERT INTO takeout_exports VALUES (1, 'takeout-20260802T000000Z', 1800000500, 3, 9, 1);
             INSERT INTO takeout_exports VALUES (1, 'takeout-derived-00ff', 1800000900, 3, 0, 1);
             INSERT INTO takeout_exports VALUES (1, 'takeout-20250101T000000Z', 1800001000, 3, 0, 0);",
        )
        .unwrap();
        tx.commit().unwrap();
        migrate(&mut c).unwrap();
        let rows: Vec<(String, String, String, i64)> = c
            .prepare("SELECT export_id, kind, kind_by, exported_at FROM takeout_exports ORDER BY export_id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let by = |id: &str| rows.iter().find(|r| r.0 == id).unwrap().clone();
        // Made before incremental exports existed, and complete: full.
        let a = by("takeout-20250921T101010Z");
        assert_eq!((a.1.as_str(), a.2.as_str()), ("full", "migration"));
        assert_eq!(
            Some(a.3),
            crate::exports::ExportId::new("takeout-20250921T101010Z").made_at()
        );
        // Made after: unknown, never evidence until marked.
        assert_eq!(by("takeout-20260802T000000Z").1, "unknown");
        // No date in the id: the import time, unknown.
        let d = by("takeout-derived-00ff");
        assert_eq!((d.1.as_str(), d.3), ("unknown", 1_800_000_900));
        // An import that never finished proves nothing.
        assert_eq!(by("takeout-20250101T000000Z").1, "unknown");
    }

    #[test]
    fn a_version_3_index_gains_the_feed_and_picker_tables_and_keeps_its_accounts() {
        let mut c = Connection::open_in_memory().unwrap();
        let tx = c.transaction().unwrap();
        for step in &STEPS[..3] {
            tx.execute_batch(step).unwrap();
        }
        tx.pragma_update(None, "user_version", 3).unwrap();
        tx.execute_batch(
            "INSERT INTO accounts (provider, name, folder, created_at, credentials) VALUES ('googlephotos', 'a@x', 'googlephotos/a_at_x', 1, '{}');",
        )
        .unwrap();
        tx.commit().unwrap();
        migrate(&mut c).unwrap();
        let (creds, drive): (Option<String>, Option<String>) = c
            .query_row(
                "SELECT credentials, drive_credentials FROM accounts WHERE name = 'a@x'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((creds.as_deref(), drive), (Some("{}"), None));
        c.execute(
            "INSERT INTO takeout_parts (origin, location, name, export_id, size, seen_at) \
             VALUES ('folder', '/in', 'takeout-20260921T101010Z-001.zip', 'takeout-20260921T101010Z', 5, 1)",
            [],
        )
        .unwrap();
        // One row per part of one place: the same name in the same folder is the same part.
        assert!(
            c.execute(
                "INSERT INTO takeout_parts (origin, location, name, export_id, size, seen_at) \
                 VALUES ('folder', '/in', 'takeout-20260921T101010Z-001.zip', 'takeout-20260921T101010Z', 6, 2)",
                [],
            )
            .is_err()
        );
        c.execute(
            "INSERT INTO picker_sessions (session_id, account_id, created_at) VALUES ('s1', 1, 1)",
            [],
        )
        .unwrap();
        let state: String = c
            .query_row("SELECT state FROM picker_sessions", [], |r| r.get(0))
            .unwrap();
        assert_eq!(state, "open");
    }

    #[test]
    fn a_version_4_index_gains_the_twin_search_and_keeps_its_items() {
        let mut c = Connection::open_in_memory().unwrap();
        let tx = c.transaction().unwrap();
        for step in &STEPS[..4] {
            tx.execute_batch(step).unwrap();
        }
        tx.pragma_update(None, "user_version", 4).unwrap();
        tx.execute_batch(
            "INSERT INTO accounts (provider, name, folder, created_at) VALUES ('googlephotos', 'a@x', 'googlephotos/a_at_x', 1);
             INSERT INTO items (account_id, remote_id, filename, taken_at, first_seen, last_seen, updated_at)
             VALUES (1, 'takeout:x', 'IMG_1.JPG', 100, 1, 1, 1);",
        )
        .unwrap();
        tx.commit().unwrap();
        migrate(&mut c).unwrap();
        let (id, indexed): (String, i64) = c
            .query_row(
                "SELECT remote_id, (SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'items_name_time')
                 FROM items WHERE account_id = 1 AND filename = 'IMG_1.JPG' AND taken_at = 100",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((id.as_str(), indexed), ("takeout:x", 1));
    }

    #[test]
    fn a_version_6_index_keeps_its_parts_with_unknown_options() {
        let mut c = Connection::open_in_memory().unwrap();
        let tx = c.transaction().unwrap();
        for step in &STEPS[..6] {
            tx.execute_batch(step).unwrap();
        }
        tx.pragma_update(None, "user_version", 6).unwrap();
        tx.execute_batch(
            "INSERT INTO takeout_parts (origin, location, name, export_id, size, mtime_ns, seen_at, imported_at)
             VALUES ('folder', '/in', 'takeout-20260921T101010Z-001.zip', 'takeout-20260921T101010Z', 5, 7, 1, 2);",
        )
        .unwrap();
        tx.commit().unwrap();
        migrate(&mut c).unwrap();
        // The record survives; what its import stored is unknown (so its export is read once
        // more before a rerun can skip it).
        let (size, imported, options, set): (i64, Option<i64>, Option<String>, Option<Vec<u8>>) = c
            .query_row(
                "SELECT size, imported_at, import_options, part_set FROM takeout_parts",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap();
        assert_eq!((size, imported, options, set), (5, Some(2), None, None));
        c.execute(
            "INSERT INTO takeout_parts (origin, location, name, export_id, size, seen_at, import_options, part_set) \
             VALUES ('explicit', '/parts', 'a.zip', 'takeout-20260921T101010Z', 6, 2, 'trash=0', x'00')",
            [],
        )
        .unwrap();
    }

    #[test]
    fn refuses_newer_schema() {
        let mut c = Connection::open_in_memory().unwrap();
        c.pragma_update(None, "user_version", CURRENT_VERSION + 1)
            .unwrap();
        let err = migrate(&mut c).unwrap_err().to_string();
        assert!(err.contains("newer"), "{err}");
    }
}
