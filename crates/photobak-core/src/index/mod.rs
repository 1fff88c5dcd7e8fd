//! The index: one SQLite database inside the repository.
//!
//! It is the repository's memory: which remote item is which file, which albums hold it, what
//! its metadata says, and the OAuth credentials of each account (so a repository authorised on
//! a laptop can be copied to a server). SQLite because the questions we ask ("items by content
//! hash", "members of this album stored elsewhere", "what did the newest export not contain")
//! are joins, and because it survives crashes: WAL journaling, one transaction per batch.
//!
//! One connection behind a mutex. SQLite serialises writers anyway, and every statement here is
//! short, so a dedicated thread would buy nothing but a channel protocol.
//!
//! This module is the only place with SQL. Every question and every change is a typed method on
//! [`Index`], grouped by the tables it touches: `queries.rs` (accounts, albums, the item upsert,
//! memberships, runs, failures), `content.rs` (stored files: ingest's placement, file facts,
//! the manifest), `items.rs` (what only a sidecar records, the users of a file), `exports.rs`
//! (Takeout exports and sightings), `parts.rs` and `drive.rs` (Takeout parts of inbox folders
//! and of Google Drive, the Drive consent), `prune.rs` (prune's snapshot and its one forgetting
//! transaction), `report.rs` (what status, list and verify read), `picker.rs` (Picker
//! sessions, a picked item's Takeout twin). The connection never leaves the module:
//! `Index::with` and `Index::tx` are private to it, so a multi-statement change a caller needs
//! is one method here, and its transaction is visible in one place.

mod content;
mod drive;
mod exports;
mod items;
mod migrate;
mod parts;
mod picker;
mod prune;
mod queries;
mod report;
mod sightings;
#[cfg(test)]
mod testing;

pub use content::{FileFacts, FinishFacts, NewContent, StoredFileFacts};
pub use drive::{DriveAccount, DrivePartRecord};
pub use exports::Sighting;
pub use items::{ContentUser, Provenance, TakeoutExtras};
pub use parts::{DeliveredFile, PartRecord, PartSeen};
pub use picker::{PickerSessionRecord, SessionState};
pub use prune::{AlbumMember, ForgottenItem, PruneAlbum, PruneContent, PruneForget, PruneItem};
pub use queries::*;
pub use report::{ContentCheck, Counts, FailureRecord, ItemFolder, ListRow, RunRecord};
pub use sightings::{KnownItems, Unchanged};

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::Connection;

use crate::error::{Error, Result};

/// The pages the WAL holds before SQLite copies them back into the database (its default),
/// and the size it is cut back to after a checkpoint, in bytes (a long-running `--every`
/// keeps the connection, and the file, open).
const WAL_PAGES: i64 = 1_000;
const WAL_LIMIT_BYTES: i64 = 4 << 20;
/// The same inside an [`Index::batch`] (see there): 64 MiB of 4 KiB pages.
const BATCH_WAL_PAGES: i64 = 16_384;

/// Prepared statements kept per connection (see [`Index::open`]); a statement is a few KB.
const STATEMENT_CACHE: usize = 128;

pub use crate::layout::INDEX_FILE;

/// An open [`Index::batch`].
pub struct Batch<'a>(&'a Index);

impl Batch<'_> {
    /// Commits what the batch did so far and goes on in a new transaction.
    ///
    /// # Errors
    /// The index's.
    pub fn checkpoint(&self) -> Result<()> {
        self.0
            .with(|c| Ok(c.execute_batch("COMMIT; BEGIN IMMEDIATE")?))
    }
}

/// The open index.
pub struct Index {
    conn: Mutex<Connection>,
    /// Held for the whole of an [`Index::batch`]: the connection has one transaction at a
    /// time, so two batches (two accounts' group commits, a page of listed items) take turns
    /// instead of one failing with "cannot start a transaction within a transaction".
    batch_gate: Mutex<()>,
    /// The last count of same-named items asked per album ([`Index::same_name_before`]).
    same_names: Mutex<content::SameNames>,
}

/// The page cache while a query reads much of a table once to answer one question (the
/// sweep for unused stored files, whether an account uses a source, the items a full Takeout
/// export no longer has): its pages are no use to what follows, and SQLite's allocator (the C
/// library's) keeps what it freed, so a full cache of them stayed with the process (12.5 MB
/// for the sweep at 100,000 items; 10.7 MB for `account_uses`, which `status`, `prune` and the
/// sources ask; the Takeout sightings took `prune --dry-run` from 15 to 42 MB at 200,000;
/// BENCHMARKS.md, sessions 10, 11 and 13).
pub(crate) const SCAN_PAGE_CACHE_KIB: i64 = 512;

/// What every connection to the index is set to: a wait for the other connection's writes, the
/// durability of WAL with `synchronous = NORMAL`, foreign keys, a page cache of `cache_kib`,
/// and the statement cache.
fn configure(conn: &Connection, cache_kib: i64) -> Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "cache_size", -cache_kib)?;
    conn.pragma_update(None, "wal_autocheckpoint", WAL_PAGES)?;
    conn.pragma_update(None, "journal_size_limit", WAL_LIMIT_BYTES)?;
    // Every query of the index goes through `prepare_cached`: compiling the SQL again for each
    // of the dozen statements an imported entry takes was a third of the CPU of a no-op
    // re-import (perf: sqlite3RunParser, yy_reduce, resolveExprStep …). The cache must hold the
    // hot path's statements at once, or they evict each other.
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    Ok(())
}

impl Index {
    /// Opens (creating if needed) the index at `path` and migrates it to the current schema.
    ///
    /// # Errors
    /// When the file cannot be opened, is not a photobak index, or comes from a newer photobak.
    pub fn open(path: &Path) -> Result<Index> {
        let existed = path.exists();
        let conn = Connection::open(path)?;
        if !existed {
            restrict_permissions(path)?;
        }
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // SQLite's default page cache (2 MiB) is smaller than the index of a large library, so
        // every item of an import read its pages again from the file (a dozen reads per
        // statement, measured with strace). 16 MiB keeps the hot pages of 100,000 items.
        configure(&conn, 16_384)?;
        let mut conn = conn;
        migrate::migrate(&mut conn)?;
        fill_path_keys(&mut conn)?;
        Ok(Index {
            conn: Mutex::new(conn),
            batch_gate: Mutex::new(()),
            same_names: Mutex::default(),
        })
    }

    /// A second connection to the same index (already migrated), with a page cache of
    /// `cache_kib`, for work that must not wait while this one is busy with a long read:
    /// `verify` records what it found while SQLite's integrity check holds the first.
    ///
    /// # Errors
    /// When the index cannot be opened again (an index in memory has no file to open).
    pub fn second_connection(&self, cache_kib: i64) -> Result<Index> {
        let path = self
            .with(|c| Ok(c.path().map(str::to_string)))?
            .filter(|p| !p.is_empty())
            .ok_or_else(|| Error::Invalid("the index has no file to open again".into()))?;
        let conn = Connection::open(&path)?;
        configure(&conn, cache_kib)?;
        if conn.pragma_query_value(None, "journal_mode", |r| r.get::<_, String>(0))? != "wal" {
            return Err(Error::Invalid(format!(
                "{path}: not in WAL mode; a second connection would wait for the first"
            )));
        }
        Ok(Index {
            conn: Mutex::new(conn),
            batch_gate: Mutex::new(()),
            same_names: Mutex::default(),
        })
    }

    /// Runs `f` with the connection. Keep `f` short: every other task waits for it.
    fn with<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        let mut guard = self.lock();
        f(&mut guard)
    }

    /// Runs `f` inside one transaction, committed when `f` succeeds. A savepoint, so it nests
    /// inside a [`Index::batch`].
    ///
    /// The savepoint's statements are cached like every other (`rusqlite`'s own savepoint
    /// compiles `SAVEPOINT` and `RELEASE` again each time, a few per cent of an import that
    /// calls this per entry); a failure or a panic in `f` rolls its writes back.
    fn tx<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        struct Open<'c>(&'c Connection, bool);
        impl Drop for Open<'_> {
            fn drop(&mut self) {
                if !self.1 {
                    let undo = |sql| self.0.prepare_cached(sql).and_then(|mut st| st.execute([]));
                    let _ = undo("ROLLBACK TO photobak_tx");
                    let _ = undo("RELEASE photobak_tx");
                }
            }
        }
        let guard = self.lock();
        guard.prepare_cached("SAVEPOINT photobak_tx")?.execute([])?;
        let mut open = Open(&guard, false);
        let out = f(open.0).inspect_err(|_| self.forget_same_names())?;
        open.0.prepare_cached("RELEASE photobak_tx")?.execute([])?;
        open.1 = true;
        Ok(out)
    }

    /// Runs `f`, whose index calls all go into one transaction: committed when `f` succeeds,
    /// rolled back when it fails; [`Batch::checkpoint`] commits what is done so far and goes on
    /// in a new one. For a long series of small writes by one task (recording the entries of a
    /// Takeout export, storing them), where a commit per statement costs more than the work.
    /// Committing late never breaks the store's rule (the index names a file only once the file
    /// is durable): it only widens the window in which a crash leaves a durable file the index
    /// does not know, which the next run adopts (`Repo::place_new`).
    ///
    /// One batch at a time: a second one waits for the first to end. A single call from another
    /// thread while a batch is open joins its transaction (one connection); it is committed with
    /// the batch, or rolled back with it when `f` fails, so callers fail a batch only when its
    /// writes must not stand (a group whose folders could not be synced).
    ///
    /// # Errors
    /// `f`'s error, or the index's.
    pub fn batch<T>(&self, f: impl FnOnce(&Batch<'_>) -> Result<T>) -> Result<T> {
        // Not reentrant: a batch inside a batch on one thread would wait for itself.
        let _turn = self.batch_gate.lock().unwrap_or_else(|p| p.into_inner());
        // Each call inside the batch is a savepoint ([`Index::tx`]), and a savepoint keeps the
        // old copy of every page it changes in a sub-journal. On disk (SQLite's default temp
        // storage, a file in /var/tmp) that was a 4 KiB `pwrite` per page per call, half of the
        // 4.3 million writes of a 100,000-item Takeout import, and dirty pages for every
        // `syncfs` of its group commit to flush. In memory it is a copy that each released
        // savepoint drops again: a few pages at a time. SQLite decides where the sub-journal
        // goes when the transaction begins, and the setting can only change outside one.
        // Outside a batch, temporary storage stays in files: a big sort (a report over every
        // item) spills to disk instead of growing the process.
        //
        // A batch commits often (a Takeout group of 1,024 entries, a page of listed items), and
        // each commit of a large library's index writes a thousand pages or more to the WAL,
        // past SQLite's automatic checkpoint (1,000 pages): every commit was followed by a
        // checkpoint, two `fsync`s of the WAL and one of the database, 1,270 of them and 17.6 s
        // of a 63 s first import of 100,000 items on this machine's disk (strace). Inside a
        // batch the WAL may grow to `BATCH_WAL_PAGES` before it is copied back, so a page
        // changed by many commits is copied once, and the `fsync`s come a dozen times less
        // often. Commits stay as durable as before (WAL with `synchronous = NORMAL`: a commit
        // is durable at the next sync of the WAL, which a checkpoint or the group's `syncfs`
        // gives), and the first commit after the batch checkpoints as usual, which also cuts
        // the file back to `journal_size_limit`.
        let settings_again = |c: &Connection| {
            c.execute_batch(&format!(
                "PRAGMA temp_store = DEFAULT; PRAGMA wal_autocheckpoint = {WAL_PAGES}"
            ))
        };
        self.with(|c| {
            c.execute_batch(&format!(
                "PRAGMA temp_store = MEMORY; PRAGMA wal_autocheckpoint = {BATCH_WAL_PAGES}"
            ))?;
            c.execute_batch("BEGIN IMMEDIATE").inspect_err(|_| {
                let _ = settings_again(c);
            })?;
            Ok(())
        })?;
        let out = f(&Batch(self));
        let end = if out.is_ok() {
            "COMMIT"
        } else {
            // What was counted inside may be rolled back.
            self.forget_same_names();
            "ROLLBACK"
        };
        self.with(|c| {
            c.execute_batch(end)?;
            Ok(settings_again(c)?)
        })?;
        out
    }

    /// Runs `f` with the page cache at `kib` KiB, then sets it back to what it was (also when
    /// `f` fails). For work whose memory matters more than the pages it reads again from the
    /// operating system's cache: a Takeout import holds its export's catalog beside the index.
    ///
    /// # Errors
    /// `f`'s error, or the index's.
    pub fn with_page_cache<T>(&self, kib: i64, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let before: i64 = self.with(|c| {
            let before = c.pragma_query_value(None, "cache_size", |r| r.get(0))?;
            c.pragma_update(None, "cache_size", -kib)?;
            Ok(before)
        })?;
        let out = f();
        // SQLite shrinks the cache at once when it is made smaller, and lets it grow again when
        // it is made larger: setting it back costs nothing now.
        self.with(|c| Ok(c.pragma_update(None, "cache_size", before)?))?;
        out
    }

    /// [`Index::with_page_cache`] for one use of the connection: the cache set, `f` run and
    /// the cache set back under one hold of the lock, so that runs of several accounts at once
    /// cannot leave it at another's size (each sets it back to what it found).
    ///
    /// # Errors
    /// `f`'s error, or the index's.
    fn with_held_page_cache<T>(
        &self,
        kib: i64,
        f: impl FnOnce(&mut Connection) -> Result<T>,
    ) -> Result<T> {
        self.with(|c| {
            let before: i64 = c.pragma_query_value(None, "cache_size", |r| r.get(0))?;
            c.pragma_update(None, "cache_size", -kib)?;
            let out = f(c);
            c.pragma_update(None, "cache_size", before)?;
            out
        })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite inconsistent (the transaction rolls
        // back on drop), so a poisoned mutex is still safe to use.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The schema version the index is at.
    pub fn schema_version(&self) -> Result<i64> {
        self.with(|c| Ok(c.pragma_query_value(None, "user_version", |r| r.get(0))?))
    }

    /// SQLite's own consistency check; `Ok(vec![])` when healthy.
    pub fn integrity_check(&self) -> Result<Vec<String>> {
        self.with(|c| {
            let mut st = c.prepare("PRAGMA integrity_check")?;
            let rows = st
                .query_map([], |r| r.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows.into_iter().filter(|r| r != "ok").collect())
        })
    }
}

#[cfg(unix)]
fn restrict_permissions(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| Error::io(format!("setting permissions of {}", path.display()), e))
}

#[cfg(not(unix))]
fn restrict_permissions(_path: &Path) -> Result<()> {
    Ok(())
}

/// Gives every stored file its portable name key (`content.path_key`) where it has none: rows
/// of an index written before schema 3, or written by hand. A lookup of the NULL keys through
/// their index, so it costs nothing when every row has one.
fn fill_path_keys(conn: &mut Connection) -> Result<()> {
    let missing: Vec<(i64, String)> = conn
        .prepare("SELECT id, path FROM content WHERE path_key IS NULL")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    if missing.is_empty() {
        return Ok(());
    }
    let tx = conn.transaction()?;
    {
        let mut st = tx.prepare("UPDATE content SET path_key = ?2 WHERE id = ?1")?;
        for (id, path) in &missing {
            st.execute(rusqlite::params![
                id,
                crate::repo::naming::portable_key(path)
            ])?;
        }
    }
    tx.commit()?;
    Ok(())
}

/// Current Unix time in seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The detail column of SQLite's plan for `sql` with `args`.
    fn query_plan(index: &Index, sql: &str, args: &[&dyn rusqlite::ToSql]) -> Vec<String> {
        index
            .with(|c| {
                let mut st = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
                let rows = st
                    .query_map(args, |r| r.get::<_, String>(3))?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(rows)
            })
            .unwrap()
    }

    /// `tx` keeps what succeeded and undoes what failed, alone and inside a batch, and the
    /// cached savepoint statements keep working after a rollback.
    #[test]
    fn tx_commits_on_success_and_rolls_back_on_failure() {
        let t = tempfile::tempdir().unwrap();
        let index = Index::open(&t.path().join(INDEX_FILE)).unwrap();
        let insert = |command: &str, fail: bool| {
            index.tx(|c| {
                c.prepare_cached("INSERT INTO runs (command, started_at) VALUES (?1, 0)")?
                    .execute([command])?;
                if fail {
                    return Err(Error::Invalid("failed on purpose".into()));
                }
                Ok(())
            })
        };
        let commands = || -> Vec<String> {
            index
                .with(|c| {
                    let mut st = c.prepare("SELECT command FROM runs ORDER BY id")?;
                    let rows = st
                        .query_map([], |r| r.get(0))?
                        .collect::<std::result::Result<Vec<String>, _>>()?;
                    Ok(rows)
                })
                .unwrap()
        };
        insert("kept", false).unwrap();
        assert!(insert("undone", true).is_err());
        insert("kept again", false).unwrap();
        assert_eq!(commands(), ["kept", "kept again"]);
        // Inside a batch: the failed one is undone, the batch goes on and commits the rest.
        index
            .batch(|_| {
                insert("in batch", false)?;
                assert!(insert("undone in batch", true).is_err());
                insert("after the failure", false)
            })
            .unwrap();
        assert_eq!(
            commands(),
            ["kept", "kept again", "in batch", "after the failure"]
        );
        // A failed batch undoes everything in it.
        let failed = index.batch(|_| {
            insert("lost with the batch", false)?;
            Err::<(), _>(Error::Invalid("batch failed".into()))
        });
        assert!(failed.is_err());
        assert_eq!(commands().len(), 4);
    }

    /// A new index in a temporary folder (kept while the first value lives).
    fn temp_index() -> (tempfile::TempDir, Index) {
        let t = tempfile::tempdir().unwrap();
        let index = Index::open(&t.path().join(INDEX_FILE)).unwrap();
        (t, index)
    }

    /// [`temp_index`] with one account.
    pub(super) fn index_with_account() -> (tempfile::TempDir, Index, Account) {
        let (t, index) = temp_index();
        let acc = index.ensure_account("g", "a@example.com", "g/a").unwrap();
        (t, index, acc)
    }

    /// The connection's value of the pragma `name`.
    fn pragma(index: &Index, name: &str) -> i64 {
        index
            .with(|c| Ok(c.pragma_query_value(None, name, |r| r.get(0))?))
            .unwrap()
    }

    /// A batch's savepoints keep their sub-journal in memory (a file write per changed page
    /// per call was half the writes of a Takeout import); outside a batch temporary storage is
    /// a file again, also after a failed batch and across a checkpoint.
    #[test]
    fn a_batch_keeps_its_savepoints_in_memory() {
        let (_t, index) = temp_index();
        // 0: SQLite's default (files), 2: memory.
        let temp_store = |index: &Index| pragma(index, "temp_store");
        assert_eq!(temp_store(&index), 0);
        index
            .batch(|b| {
                assert_eq!(temp_store(&index), 2);
                b.checkpoint()?;
                assert_eq!(temp_store(&index), 2);
                Ok(())
            })
            .unwrap();
        assert_eq!(temp_store(&index), 0);
        let failed = index.batch(|_| Err::<(), _>(Error::Invalid("batch failed".into())));
        assert!(failed.is_err());
        assert_eq!(temp_store(&index), 0);
    }

    /// A smaller page cache holds for the work given, and the cache is as before afterwards,
    /// also when the work fails.
    #[test]
    fn a_smaller_page_cache_is_set_back() {
        let (_t, index) = temp_index();
        let cache = |index: &Index| pragma(index, "cache_size");
        assert_eq!(cache(&index), -16_384);
        let n = index
            .with_page_cache(4096, || {
                assert_eq!(cache(&index), -4096);
                Ok(7)
            })
            .unwrap();
        assert_eq!(n, 7);
        assert_eq!(cache(&index), -16_384);
        let failed = index.with_page_cache(1024, || {
            assert_eq!(cache(&index), -1024);
            Err::<(), _>(Error::Invalid("work failed".into()))
        });
        assert!(failed.is_err());
        assert_eq!(cache(&index), -16_384);
        // Held: set and set back within one hold of the connection, failed or not.
        for ok in [true, false] {
            let out = index.with_held_page_cache(2048, |c| {
                let now: i64 = c.pragma_query_value(None, "cache_size", |r| r.get(0))?;
                assert_eq!(now, -2048);
                if ok {
                    Ok(())
                } else {
                    Err(Error::Invalid("work failed".into()))
                }
            });
            assert_eq!(out.is_ok(), ok);
            assert_eq!(cache(&index), -16_384);
        }
    }

    /// The queries run once per stored file must be index lookups, not scans of a table that
    /// grows with the library (a scan per new file made a 100,000-item import quadratic).
    #[test]
    fn hot_queries_use_an_index() {
        let t = tempfile::tempdir().unwrap();
        let index = Index::open(&t.path().join(INDEX_FILE)).unwrap();
        let plans = [
            "SELECT EXISTS(SELECT 1 FROM content WHERE path_key = 'x')",
            "SELECT id FROM content WHERE blake3 = x'00'",
            "SELECT id FROM items WHERE account_id = 1 AND remote_id = 'r'",
            "SELECT source_ref FROM provenance WHERE item_id = 1 AND source = 'takeout'",
            // Per entry of a Takeout import (content.rs: stored_file_facts; queries.rs:
            // stored_file), per stored file (file_facts, finish_facts, item_albums) and per album
            // of a run (album_member_paths, upsert_album), found by perf on a no-op re-import of
            // 100,000 items.
            "SELECT ct.file_taken_at FROM items i JOIN content ct ON ct.id = i.content_id
             WHERE i.account_id = 1 AND i.remote_id = 'r'",
            "SELECT ct.path FROM items i JOIN content ct ON ct.id = i.content_id WHERE i.id = 1",
            "SELECT a.id FROM memberships m JOIN albums a ON a.id = m.album_id
             WHERE m.item_id = 1 ORDER BY (a.kind <> 'user'), a.id",
            "SELECT DISTINCT ct.path FROM memberships m JOIN items i ON i.id = m.item_id
             JOIN content ct ON ct.id = i.content_id WHERE m.album_id = 1 ORDER BY ct.path",
            "SELECT id FROM albums WHERE account_id = 1 AND remote_id = 'r'",
            "SELECT EXISTS(SELECT 1 FROM albums WHERE account_id = 1 AND folder = 'f' COLLATE NOCASE)",
            "SELECT 1 FROM memberships WHERE album_id = 1 AND item_id = 2",
            // Once a Library run, the size of its known items (sightings.rs): an index's count.
            "SELECT count(*) FROM items WHERE account_id = 1",
        ];
        let scans = |q: &str| -> Vec<String> {
            query_plan(&index, q, &[])
                .into_iter()
                .filter(|d| d.starts_with("SCAN") && d != "SCAN CONSTANT ROW")
                .collect()
        };
        for q in plans {
            assert!(scans(q).is_empty(), "{q}: {:?}", scans(q));
        }
        // A new file's number among same-named files starts from the name's index, not from a
        // walk of the folder's members.
        let plan = query_plan(
            &index,
            content::SAME_NAME_BEFORE,
            rusqlite::params![1, 2, "x", 1],
        );
        assert!(
            plan.iter()
                .any(|d| d.starts_with("SEARCH i") && d.contains("INDEX items_name_nocase")),
            "{plan:?}"
        );
        // Every album's others.txt at once (`each_album_member_path`): from the items' small
        // index of their stored files, never from the items' large rows, and no table scanned.
        let plan = query_plan(&index, queries::ALBUM_MEMBER_PATHS, rusqlite::params![1]);
        assert!(
            plan.iter()
                .any(|d| d.contains("COVERING INDEX items_content"))
                && plan
                    .iter()
                    .any(|d| d.contains("COVERING INDEX memberships_item"))
                && !plan.iter().any(|d| d.starts_with("SCAN")),
            "{plan:?}"
        );
        // The check sees a scan: the case-insensitive comparison photobak used before could not
        // use the path index.
        assert!(
            !scans("SELECT EXISTS(SELECT 1 FROM content WHERE path = 'x' COLLATE NOCASE)")
                .is_empty()
        );
    }

    /// The count of same-named items before an item, continued from the album's last answer,
    /// is the count from the start whatever happens between two questions: members added
    /// before and after the last item asked, files renamed, a batch rolled back, items asked
    /// out of order, other albums and names asked in between.
    #[test]
    fn same_names_counted_on_are_counted_afresh() {
        use crate::kinds::{AlbumKind, Source};
        let (_t, index, acc) = index_with_account();
        let album = |title: &str| {
            index
                .upsert_album(
                    &acc,
                    &AlbumSpec {
                        remote_id: title,
                        source: Source::Takeout,
                        title,
                        description: None,
                        kind: AlbumKind::User,
                        raw_json: None,
                    },
                    None,
                    |_| format!("g/a/{title}"),
                )
                .unwrap()
                .id
        };
        let albums = [album("A"), album("B")];
        let run = index.begin_run("import", Some(acc.id)).unwrap();
        let names = ["unnamed.jpg", "UNNAMED.JPG", "image.png"];
        let mut filenames = Vec::new();
        let mut items = Vec::new();
        for i in 0..60usize {
            let meta = ItemMeta {
                filename: names[i % 3].into(),
                ..Default::default()
            };
            let st = index
                .upsert_item(acc.id, &format!("r{i}"), &meta, run, Source::Takeout, None)
                .unwrap();
            items.push(st.id);
            filenames.push(meta.filename);
        }
        let afresh = |album: i64, item: i64, name: &str| -> i64 {
            index
                .with(|c| {
                    Ok(c.prepare_cached(content::SAME_NAME_BEFORE)?
                        .query_row(rusqlite::params![album, item, name, i64::MIN], |r| r.get(0))?)
                })
                .unwrap()
        };
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = |n: usize| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % n as u64) as usize
        };
        let mut asked = 0;
        for step in 0..3000 {
            let (a, i) = (albums[next(2)], next(60));
            match next(10) {
                // Mostly questions in the order of the items, as files are stored.
                0..=5 => {
                    let i = if next(4) == 0 { i } else { step / 50 };
                    let name = &filenames[i];
                    let got = index.same_name_before(a, items[i], name).unwrap();
                    assert_eq!(got, afresh(a, items[i], name), "step {step}");
                    asked += 1;
                }
                6..=7 => {
                    index.add_membership(a, items[i]).unwrap();
                }
                8 => {
                    filenames[i] = names[next(3)].into();
                    let meta = ItemMeta {
                        filename: filenames[i].clone(),
                        ..Default::default()
                    };
                    index
                        .upsert_item(acc.id, &format!("r{i}"), &meta, run, Source::Takeout, None)
                        .unwrap();
                }
                _ => {
                    // Counted and added inside a batch that rolls back.
                    let name = filenames[i].clone();
                    let failed = index.batch(|_| {
                        index.add_membership(a, items[i])?;
                        index.same_name_before(a, items[(i + 7) % 60], &name)?;
                        Err::<(), _>(Error::Invalid("rolled back".into()))
                    });
                    assert!(failed.is_err());
                }
            }
        }
        assert!(asked > 1500, "{asked}");
    }

    /// Listing an item again writes only its sighting when nothing about it changed (a no-op
    /// backup rewrote every item's name-index entries), and still sees every change.
    #[test]
    fn a_relisted_item_rewrites_its_metadata_only_when_it_changed() {
        use crate::kinds::Source;
        let (_t, index, acc) = index_with_account();
        let mut meta = ItemMeta {
            filename: "IMG_1.jpg".into(),
            mime_type: Some("image/jpeg".into()),
            taken_at: Some(1_600_000_000),
            width: Some(640),
            latitude: Some(48.25),
            ..Default::default()
        };
        let changes = || index.with(|c| Ok(c.total_changes())).unwrap();
        let upsert = |meta: &ItemMeta| {
            let run = index.begin_run("backup", Some(acc.id)).unwrap();
            let before = changes();
            let st = index
                .upsert_item(acc.id, "r1", meta, run, Source::Library, None)
                .unwrap();
            let seen: i64 = index
                .with(|c| Ok(c.query_row("SELECT seen_run FROM items", [], |r| r.get(0))?))
                .unwrap();
            assert_eq!(seen, run);
            (st.meta_changed, changes() - before)
        };
        assert!(upsert(&meta).1 > 0);
        // The same again: the sighting and the provenance, nothing else.
        assert_eq!(upsert(&meta), (false, 2));
        // A field the source does not give this time keeps its value: no change either.
        let partial = ItemMeta {
            width: None,
            ..meta.clone()
        };
        assert_eq!(upsert(&partial), (false, 2));
        meta.filename = "IMG_1 renamed.jpg".into();
        assert!(upsert(&meta).0);
        meta.latitude = Some(48.5);
        assert!(upsert(&meta).0);
        meta.camera_make = Some("Sony".into());
        assert!(upsert(&meta).0);
        assert_eq!(upsert(&meta), (false, 2));
    }

    /// The stored files no item uses: those never used, those whose items moved on, and not
    /// one a single item (or two) still uses; found by two ordered scans, no temporary index.
    #[test]
    fn unused_contents_are_the_files_no_item_uses() {
        use crate::kinds::Source;
        let (_t, index, acc) = index_with_account();
        let run = index.begin_run("backup", Some(acc.id)).unwrap();
        let item = |r: &str| {
            let meta = ItemMeta {
                filename: format!("{r}.jpg"),
                ..Default::default()
            };
            index
                .upsert_item(acc.id, r, &meta, run, Source::Library, None)
                .unwrap()
                .id
        };
        let (a, b, c) = (item("a"), item("b"), item("c"));
        let never = index.test_content("g/never.jpg", b"0", None, None);
        let shared = index.test_content("g/shared.jpg", b"1", None, Some(a));
        index.test_use_content(b, shared);
        let left = index.test_content("g/left.jpg", b"2", None, Some(c));
        let own = index.test_content("g/own.jpg", b"3", None, Some(c));
        let last = index.test_content("g/last.jpg", b"4", None, None);
        assert!(never < shared && shared < left && left < own && own < last);
        assert_eq!(index.unused_contents().unwrap(), vec![never, left, last]);
        index.test_detach_all_contents();
        assert_eq!(
            index.unused_contents().unwrap(),
            vec![never, shared, left, own, last]
        );
        let plan = query_plan(
            &index,
            "SELECT DISTINCT content_id FROM items WHERE content_id IS NOT NULL ORDER BY content_id",
            &[],
        );
        assert!(
            plan.iter().all(|d| !d.contains("TEMP B-TREE"))
                && plan
                    .iter()
                    .any(|d| d.contains("COVERING INDEX items_content")),
            "{plan:?}"
        );
    }

    /// `verify` records what it found on a second connection while SQLite's check reads on the
    /// first: the write neither waits for the read nor fails.
    #[test]
    fn a_second_connection_writes_while_the_first_reads() {
        let t = tempfile::tempdir().unwrap();
        let index = Index::open(&t.path().join(INDEX_FILE)).unwrap();
        let first = index.begin_run("verify", None).unwrap();
        let second = index.second_connection(1024).unwrap();
        index
            .with(|c| {
                let mut st = c.prepare("SELECT id FROM runs")?;
                let mut rows = st.query([])?;
                assert_eq!(
                    rows.next()?.map(|r| r.get::<_, i64>(0)).transpose()?,
                    Some(first)
                );
                // The first connection's read is open here.
                second.finish_run(first, true, "{}")?;
                Ok(())
            })
            .unwrap();
        let ok: Option<bool> = index
            .with(|c| Ok(c.query_row("SELECT ok FROM runs", [], |r| r.get(0))?))
            .unwrap();
        assert_eq!(
            ok,
            Some(true),
            "the first connection sees the second's write"
        );
    }

    /// A source's reference (a Takeout export, a Picker session) is read back only by a call
    /// that names one; a call without keeps the recorded reference.
    #[test]
    fn a_relisting_without_a_reference_keeps_the_recorded_one() {
        use crate::kinds::Source;
        let (_t, index, acc) = index_with_account();
        let meta = ItemMeta {
            filename: "IMG_1.jpg".into(),
            ..Default::default()
        };
        let recorded = || -> Option<String> {
            index
                .with(|c| Ok(c.query_row("SELECT source_ref FROM provenance", [], |r| r.get(0))?))
                .unwrap()
        };
        let upsert = |source_ref: Option<&str>| {
            let run = index.begin_run("pick", Some(acc.id)).unwrap();
            index
                .upsert_item(acc.id, "r1", &meta, run, Source::Picker, source_ref)
                .unwrap()
                .prev_source_ref
        };
        assert_eq!(upsert(Some("s1")), None);
        assert_eq!(upsert(None), None, "not read without a reference");
        assert_eq!(recorded().as_deref(), Some("s1"), "kept");
        assert_eq!(upsert(Some("s2")).as_deref(), Some("s1"));
        assert_eq!(recorded().as_deref(), Some("s2"));
    }

    /// `list` streams: its walk follows the path index instead of sorting every item before
    /// the first row, and each item's folders and sources are index lookups.
    #[test]
    fn the_list_walk_needs_no_sort_and_looks_up_by_index() {
        let t = tempfile::tempdir().unwrap();
        let index = Index::open(&t.path().join(INDEX_FILE)).unwrap();
        let plan = |q: &str, args: &[&dyn rusqlite::ToSql]| query_plan(&index, q, args);
        let walk = plan(report::STORED_ITEMS, &[&None::<String>, &None::<String>]);
        assert!(
            !walk.iter().any(|d| d.contains("TEMP B-TREE")),
            "the walk sorts: {walk:?}"
        );
        assert!(
            walk.iter().any(|d| d.starts_with("SCAN ct USING")),
            "the walk is not by the path index: {walk:?}"
        );
        for q in [report::ITEM_FOLDERS, report::ITEM_SOURCES] {
            let p = plan(q, &[&1i64]);
            assert!(!p.iter().any(|d| d.starts_with("SCAN")), "{q}: {p:?}");
        }
    }

    /// `verify` and `prune` read the library a page or a row at a time instead of holding it:
    /// each page of stored files is a range of the table (no sort of the whole table before
    /// the first row), a folder's files a range of the path index, and every lookup of one
    /// file, item or album is by an index.
    #[test]
    fn verify_and_prune_read_by_index() {
        let t = tempfile::tempdir().unwrap();
        let index = Index::open(&t.path().join(INDEX_FILE)).unwrap();
        let plan = |q: &str, args: &[&dyn rusqlite::ToSql]| query_plan(&index, q, args);
        let page = plan(report::CONTENT_CHECKS_AFTER, &[&0i64, &10i64]);
        assert!(
            !page.iter().any(|d| d.contains("TEMP B-TREE")),
            "a page sorts the table: {page:?}"
        );
        assert!(
            page.iter().any(|d| d.contains("INTEGER PRIMARY KEY")),
            "a page is not a range of the table: {page:?}"
        );
        let under = plan(report::CONTENT_PATHS_UNDER, &[&"a/", &"a0"]);
        assert!(
            !under.iter().any(|d| d.contains("TEMP B-TREE"))
                && under.iter().any(|d| d.contains("COVERING INDEX")),
            "a folder's files are not a range of the path index: {under:?}"
        );
        for q in [
            report::CONTENT_AT,
            prune::ALBUM_MEMBERS,
            prune::ALBUM_MEMBER_IDS,
            prune::ITEM_ALBUM_IDS,
            prune::CONTENT_USER_IDS,
            prune::SOURCED_ITEMS,
        ] {
            let p = plan(q, &[&1i64]);
            let scans = |d: &String| d.starts_with("SCAN") && d != "SCAN CONSTANT ROW";
            assert!(
                !p.iter().any(|d| scans(d) || d.contains("TEMP B-TREE")),
                "{q}: {p:?}"
            );
        }
    }

    /// The vocabularies of `kinds.rs` go in and out of SQLite as their names, and a name the
    /// code does not know is an error, not a default.
    #[test]
    fn vocabularies_round_trip_through_sqlite() {
        use crate::kinds::{AlbumKind, Source};
        let c = Connection::open_in_memory().unwrap();
        let k: AlbumKind = c
            .query_row("SELECT ?1", [AlbumKind::Year], |r| r.get(0))
            .unwrap();
        assert_eq!(k, AlbumKind::Year);
        let bad: rusqlite::Result<Source> = c.query_row("SELECT 'x'", [], |r| r.get(0));
        assert!(bad.is_err());
    }

    #[test]
    fn names_one_file_on_macos_or_windows_share_a_key() {
        use crate::repo::naming::portable_key;
        assert_eq!(
            portable_key("a/Caf\u{e9}.jpg"),
            portable_key("a/Cafe\u{301}.jpg")
        );
        assert_eq!(
            portable_key("a/\u{c9}t\u{e9}.JPG"),
            portable_key("a/\u{e9}te\u{301}.jpg")
        );
        assert_ne!(portable_key("a/IMG_1.jpg"), portable_key("a/IMG_2.jpg"));
    }
}
