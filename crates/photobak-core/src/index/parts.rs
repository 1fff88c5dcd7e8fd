//! Reads and writes of `takeout_parts` for inbox folders (`origin = 'folder'`) and for parts
//! named on the command line (`origin = 'explicit'`, keyed by the part's folder and name), and
//! the two questions the inbox asks before it removes a part: which run imported an export,
//! and which stored files that run's items name.
//!
//! A part is keyed by its folder and file name. Its size, modification time and fingerprint are
//! what a rerun compares with `stat` (and, only when the time changed but not the size, with a
//! fresh fingerprint), so deciding "nothing to do" never opens an archive.

use rusqlite::{OptionalExtension, params};

use super::{Index, now};
use crate::error::Result;

/// The origin of parts found in a local folder.
const FOLDER: &str = "folder";

/// The origin of parts named on the command line (`import takeout PART…`). Their own origin,
/// not the inbox's: an inbox reads every part of its folder and counts a recorded part that
/// is gone as missing, while a command line names one set, maybe from several folders; the
/// two must not read each other's records.
const EXPLICIT: &str = "explicit";

/// What the index remembers of one part in a folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartRecord {
    /// The folder's absolute path.
    pub location: String,
    /// The part's file name.
    pub name: String,
    /// The export it belongs to.
    pub export_id: String,
    /// Size in bytes when last recorded.
    pub size: u64,
    /// Modification time (nanoseconds since the epoch) when last recorded.
    pub mtime_ns: Option<i64>,
    /// BLAKE3 of its first and last MiB and its size.
    pub fingerprint: Option<[u8; 32]>,
    /// When its export's import finished with this part in it.
    pub imported_at: Option<i64>,
    /// When `--remove-imported` removed the local copy.
    pub removed_at: Option<i64>,
    /// The account its export was imported into.
    pub account_id: Option<i64>,
    /// What that import stored ([`crate::takeout_import::StoreOptions::to_record`]); None
    /// before schema 7.
    pub import_options: Option<String>,
    /// Parts named on the command line: BLAKE3 of the set of parts imported together.
    pub part_set: Option<[u8; 32]>,
}

/// A part as found on disk, to be recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartSeen<'a> {
    /// The folder's absolute path.
    pub location: &'a str,
    /// The part's file name.
    pub name: &'a str,
    /// The export it belongs to.
    pub export_id: &'a str,
    /// Size in bytes.
    pub size: u64,
    /// Modification time, nanoseconds since the epoch.
    pub mtime_ns: i64,
    /// BLAKE3 of its first and last MiB and its size.
    pub fingerprint: [u8; 32],
}

/// A stored file named by an item, to be re-hashed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveredFile {
    /// Content row id.
    pub content_id: i64,
    /// Repository-relative path.
    pub path: String,
    /// Recorded BLAKE3.
    pub blake3: [u8; 32],
    /// Recorded size.
    pub size: i64,
}

fn part_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PartRecord> {
    let fp: Option<Vec<u8>> = r.get(5)?;
    let set: Option<Vec<u8>> = r.get(10)?;
    Ok(PartRecord {
        location: r.get(0)?,
        name: r.get(1)?,
        export_id: r.get(2)?,
        size: r.get::<_, i64>(3)? as u64,
        mtime_ns: r.get(4)?,
        fingerprint: fp.and_then(|v| <[u8; 32]>::try_from(v.as_slice()).ok()),
        imported_at: r.get(6)?,
        removed_at: r.get(7)?,
        account_id: r.get(8)?,
        import_options: r.get(9)?,
        part_set: set.and_then(|v| <[u8; 32]>::try_from(v.as_slice()).ok()),
    })
}

const PART_COLUMNS: &str = "location, name, export_id, size, mtime_ns, fingerprint, imported_at,
     removed_at, account_id, import_options, part_set";

impl Index {
    /// Every part recorded for the folder at `location`.
    pub fn folder_parts(&self, location: &str) -> Result<Vec<PartRecord>> {
        self.with(|c| {
            let mut st = c.prepare(&format!(
                "SELECT {PART_COLUMNS} FROM takeout_parts
                 WHERE origin = ?1 AND location = ?2 ORDER BY name"
            ))?;
            let rows = st
                .query_map(params![FOLDER, location], part_row)?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
    }

    /// Records parts seen in a folder, not (yet) imported: a new row, or the current size, time
    /// and fingerprint of a row whose export has not been imported with it. A part recorded as
    /// imported keeps its record until it is imported again.
    pub fn note_parts_seen(&self, parts: &[PartSeen<'_>]) -> Result<()> {
        let t = now();
        self.tx(|tx| {
            let mut st = tx.prepare(
                "INSERT INTO takeout_parts (origin, location, name, export_id, size, mtime_ns,
                     fingerprint, seen_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (origin, location, name) DO UPDATE SET
                     export_id = ?4, size = ?5, mtime_ns = ?6, fingerprint = ?7
                 WHERE imported_at IS NULL",
            )?;
            for p in parts {
                st.execute(params![
                    FOLDER,
                    p.location,
                    p.name,
                    p.export_id,
                    p.size as i64,
                    p.mtime_ns,
                    p.fingerprint.as_slice(),
                    t
                ])?;
            }
            Ok(())
        })
    }

    /// A part whose modification time changed while its content (by fingerprint and size) did
    /// not: the new time is remembered, so the next run decides from `stat` alone again.
    pub fn touch_part(&self, location: &str, name: &str, mtime_ns: i64) -> Result<()> {
        self.touch(FOLDER, location, name, mtime_ns)
    }

    fn touch(&self, origin: &str, location: &str, name: &str, mtime_ns: i64) -> Result<()> {
        self.with(|c| {
            c.prepare_cached(
                "UPDATE takeout_parts SET mtime_ns = ?4
                 WHERE origin = ?1 AND location = ?2 AND name = ?3",
            )?
            .execute(params![origin, location, name, mtime_ns])?;
            Ok(())
        })
    }

    /// Records that an import of the parts' export finished with no failed entry, with these
    /// parts exactly as they were read and the options it stored with. One transaction: all
    /// parts or none.
    pub fn mark_parts_imported(
        &self,
        parts: &[PartSeen<'_>],
        account_id: i64,
        import_options: &str,
    ) -> Result<()> {
        self.record_imported(FOLDER, parts, account_id, import_options, None)
    }

    /// Parts named on the command line, recorded as imported: `set` names the parts imported
    /// together, so a rerun skips them only when it names the same set.
    pub fn mark_explicit_parts_imported(
        &self,
        parts: &[PartSeen<'_>],
        account_id: i64,
        import_options: &str,
        set: [u8; 32],
    ) -> Result<()> {
        self.record_imported(EXPLICIT, parts, account_id, import_options, Some(set))
    }

    fn record_imported(
        &self,
        origin: &str,
        parts: &[PartSeen<'_>],
        account_id: i64,
        import_options: &str,
        set: Option<[u8; 32]>,
    ) -> Result<()> {
        let t = now();
        let set = set.as_ref().map(<[u8; 32]>::as_slice);
        self.tx(|tx| {
            let mut st = tx.prepare(
                "INSERT INTO takeout_parts (origin, location, name, export_id, account_id, size,
                     mtime_ns, fingerprint, seen_at, imported_at, import_options, part_set)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?10, ?11)
                 ON CONFLICT (origin, location, name) DO UPDATE SET
                     export_id = ?4, account_id = ?5, size = ?6, mtime_ns = ?7,
                     fingerprint = ?8, imported_at = ?9, removed_at = NULL,
                     import_options = ?10, part_set = ?11",
            )?;
            for p in parts {
                st.execute(params![
                    origin,
                    p.location,
                    p.name,
                    p.export_id,
                    account_id,
                    p.size as i64,
                    p.mtime_ns,
                    p.fingerprint.as_slice(),
                    t,
                    import_options,
                    set
                ])?;
            }
            Ok(())
        })
    }

    /// The records of parts named on the command line, for the (folder, name) pairs given;
    /// parts never recorded are absent.
    pub fn explicit_parts(&self, parts: &[(String, String)]) -> Result<Vec<PartRecord>> {
        self.with(|c| {
            let mut st = c.prepare_cached(&format!(
                "SELECT {PART_COLUMNS} FROM takeout_parts
                 WHERE origin = ?1 AND location = ?2 AND name = ?3"
            ))?;
            let mut out = Vec::with_capacity(parts.len());
            for (location, name) in parts {
                if let Some(r) = st
                    .query_row(params![EXPLICIT, location, name], part_row)
                    .optional()?
                {
                    out.push(r);
                }
            }
            Ok(out)
        })
    }

    /// A part named on the command line whose time changed while its content (fingerprint and
    /// size) did not: the new time is remembered.
    pub fn touch_explicit_part(&self, location: &str, name: &str, mtime_ns: i64) -> Result<()> {
        self.touch(EXPLICIT, location, name, mtime_ns)
    }

    /// True when an item of an account that Takeout delivered has no whole stored file as the
    /// index knows it: none, or one `verify` found damaged (it clears `verified_at`). A
    /// re-import is how such a file is restored, so while any is left a rerun reads its
    /// export again.
    ///
    /// Two existence checks, each shaped for its index: items without a file through
    /// `items_content` (`+account_id` keeps the planner off the account index, which walks
    /// every item: 0.47 s of a 0.5 s no-op at 100,000 items), and unverified files by a scan
    /// of `content` (one row per file, 15 ms there) that stops at the first of the account.
    pub fn takeout_items_lack_whole_files(&self, account_id: i64) -> Result<bool> {
        self.with(|c| {
            let without: bool = c
                .prepare_cached(
                    "SELECT EXISTS (SELECT 1 FROM items i
                         JOIN provenance p ON p.item_id = i.id AND p.source = 'takeout'
                         WHERE i.content_id IS NULL AND +i.account_id = ?1)",
                )?
                .query_row([account_id], |r| r.get(0))?;
            if without {
                return Ok(true);
            }
            let unverified: bool = c
                .prepare_cached(
                    "SELECT EXISTS (SELECT 1 FROM content ct CROSS JOIN items i
                         ON i.content_id = ct.id
                         JOIN provenance p ON p.item_id = i.id AND p.source = 'takeout'
                         WHERE ct.verified_at IS NULL AND +i.account_id = ?1)",
                )?
                .query_row([account_id], |r| r.get(0))?;
            Ok(unverified)
        })
    }

    /// Records that the local copy of an imported part was removed.
    pub fn mark_part_removed(&self, location: &str, name: &str) -> Result<()> {
        self.with(|c| {
            c.prepare_cached(
                "UPDATE takeout_parts SET removed_at = ?4
                 WHERE origin = ?1 AND location = ?2 AND name = ?3",
            )?
            .execute(params![FOLDER, location, name, now()])?;
            Ok(())
        })
    }

    /// The newest `import` run of an account: the one that just finished, when the caller
    /// holds the repository lock and has just imported.
    pub fn last_import_run(&self, account_id: i64) -> Result<Option<i64>> {
        self.with(|c| {
            Ok(c.prepare_cached(
                "SELECT max(id) FROM runs WHERE command = 'import' AND account_id = ?1",
            )?
            .query_row([account_id], |r| r.get::<_, Option<i64>>(0))
            .optional()?
            .flatten())
        })
    }

    /// What the items a run saw name on disk: the number of those items with no stored file,
    /// and their stored files (each once).
    pub fn files_seen_by_run(&self, run_id: i64) -> Result<(u64, Vec<DeliveredFile>)> {
        self.with(|c| {
            let without: i64 = c
                .prepare_cached(
                    "SELECT count(*) FROM items WHERE seen_run = ?1 AND content_id IS NULL",
                )?
                .query_row([run_id], |r| r.get(0))?;
            let mut st = c.prepare(
                "SELECT DISTINCT c.id, c.path, c.blake3, c.size
                 FROM items i JOIN content c ON c.id = i.content_id
                 WHERE i.seen_run = ?1 ORDER BY c.id",
            )?;
            let files = st
                .query_map([run_id], |r| {
                    let raw: Vec<u8> = r.get(2)?;
                    let mut blake3 = [0u8; 32];
                    if raw.len() == 32 {
                        blake3.copy_from_slice(&raw);
                    }
                    Ok(DeliveredFile {
                        content_id: r.get(0)?,
                        path: r.get(1)?,
                        blake3,
                        size: r.get(3)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok((without as u64, files))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen<'a>(name: &'a str, size: u64, mtime_ns: i64) -> PartSeen<'a> {
        PartSeen {
            location: "/inbox",
            name,
            export_id: "takeout-20260921T101010Z",
            size,
            mtime_ns,
            fingerprint: [7; 32],
        }
    }

    #[test]
    fn seen_then_imported_then_removed() {
        let t = tempfile::tempdir().unwrap();
        let index = Index::open(&t.path().join("photobak.db")).unwrap();
        let a = "takeout-20260921T101010Z-001.zip";
        index.note_parts_seen(&[seen(a, 10, 1)]).unwrap();
        let r = &index.folder_parts("/inbox").unwrap()[0];
        assert_eq!((r.size, r.imported_at), (10, None));
        // Seen again, grown: the record follows while not imported.
        index.note_parts_seen(&[seen(a, 20, 2)]).unwrap();
        assert_eq!(index.folder_parts("/inbox").unwrap()[0].size, 20);
        let acc = index
            .ensure_account("googlephotos", "x@example.com", "x")
            .unwrap();
        index
            .mark_parts_imported(&[seen(a, 20, 2)], acc.id, "trash=0;xmp=0;mtime=1;kind=-")
            .unwrap();
        // Once imported, a sighting does not overwrite what was imported.
        index.note_parts_seen(&[seen(a, 30, 3)]).unwrap();
        let r = &index.folder_parts("/inbox").unwrap()[0];
        assert_eq!((r.size, r.mtime_ns), (20, Some(2)));
        assert!(r.imported_at.is_some());
        assert_eq!(r.fingerprint, Some([7; 32]));
        assert_eq!(
            r.import_options.as_deref(),
            Some("trash=0;xmp=0;mtime=1;kind=-")
        );
        assert_eq!((r.account_id, r.part_set), (Some(acc.id), None));
        index.touch_part("/inbox", a, 9).unwrap();
        index.mark_part_removed("/inbox", a).unwrap();
        let r = &index.folder_parts("/inbox").unwrap()[0];
        assert_eq!(r.mtime_ns, Some(9));
        assert!(r.removed_at.is_some());
        assert!(index.folder_parts("/elsewhere").unwrap().is_empty());
    }

    #[test]
    fn explicit_parts_are_their_own_records() {
        let t = tempfile::tempdir().unwrap();
        let index = Index::open(&t.path().join("photobak.db")).unwrap();
        let acc = index
            .ensure_account("googlephotos", "x@example.com", "x")
            .unwrap();
        let a = "takeout-20260921T101010Z-001.zip";
        let key = vec![("/inbox".to_string(), a.to_string())];
        assert!(index.explicit_parts(&key).unwrap().is_empty());
        index
            .mark_explicit_parts_imported(
                &[seen(a, 10, 1)],
                acc.id,
                "trash=1;xmp=0;mtime=1;kind=-",
                [3; 32],
            )
            .unwrap();
        let r = &index.explicit_parts(&key).unwrap()[0];
        assert_eq!(
            (r.size, r.mtime_ns, r.part_set),
            (10, Some(1), Some([3; 32]))
        );
        assert!(r.imported_at.is_some());
        // The inbox of the same folder does not see it.
        assert!(index.folder_parts("/inbox").unwrap().is_empty());
        index.touch_explicit_part("/inbox", a, 5).unwrap();
        assert_eq!(index.explicit_parts(&key).unwrap()[0].mtime_ns, Some(5));
        assert!(!index.takeout_items_lack_whole_files(acc.id).unwrap());
    }
}
