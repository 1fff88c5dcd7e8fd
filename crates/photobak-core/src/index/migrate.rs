//! Schema migrations on `PRAGMA user_version`.
//!
//! Each step is plain SQL applied in one transaction together with the version bump, so an
//! interrupted upgrade leaves the old schema intact. An index written by a newer photobak is
//! refused rather than guessed at.

use rusqlite::Connection;

use crate::error::{Error, Result};

/// The steps, in order; step `i` takes the schema from version `i` to `i + 1`.
const STEPS: &[&str] = &[include_str!("schema_v1.sql")];

/// The version a fully migrated index has.
pub const CURRENT_VERSION: i64 = STEPS.len() as i64;

pub(super) fn migrate(conn: &mut Connection) -> Result<()> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version > CURRENT_VERSION {
        return Err(Error::Invalid(format!(
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
    fn refuses_newer_schema() {
        let mut c = Connection::open_in_memory().unwrap();
        c.pragma_update(None, "user_version", CURRENT_VERSION + 1)
            .unwrap();
        let err = migrate(&mut c).unwrap_err().to_string();
        assert!(err.contains("newer"), "{err}");
    }
}
