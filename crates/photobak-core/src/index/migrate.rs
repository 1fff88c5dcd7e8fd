//! Schema migrations on `PRAGMA user_version`.
//!
//! Each step is plain SQL applied in one transaction together with the version bump, so an
//! interrupted upgrade leaves the old schema intact. An index written by a newer photobak is
//! refused rather than guessed at.

use rusqlite::Connection;

use crate::error::{Error, Result};

/// The steps, in order; step `i` takes the schema from version `i` to `i + 1`.
const STEPS: &[&str] = &[include_str!("schema_v1.sql"), include_str!("schema_v2.sql")];

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
    fn refuses_newer_schema() {
        let mut c = Connection::open_in_memory().unwrap();
        c.pragma_update(None, "user_version", CURRENT_VERSION + 1)
            .unwrap();
        let err = migrate(&mut c).unwrap_err().to_string();
        assert!(err.contains("newer"), "{err}");
    }
}
