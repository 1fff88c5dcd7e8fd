//! Reads and writes of the Drive side of the Takeout feed: an account's Drive consent
//! (`accounts.drive_credentials`, kept apart from its Photos tokens) and the parts seen in its
//! Drive (`takeout_parts` rows of origin `drive`, keyed by the Drive folder and the part's name,
//! remembered with Drive's file id and MD5 so a rerun knows what it imported without
//! downloading anything).

use rusqlite::{OptionalExtension, params};

use super::{Index, now};
use crate::error::Result;

const ORIGIN: &str = "drive";

/// A part as a Drive listing shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrivePartRecord {
    /// The Drive folder it is in.
    pub folder_id: String,
    /// Its file name.
    pub name: String,
    /// Drive file id.
    pub remote_id: String,
    /// The export it belongs to.
    pub export_id: String,
    /// Size in bytes.
    pub size: u64,
    /// Drive's hex MD5.
    pub md5: String,
}

/// An account that has a Drive consent.
#[derive(Debug, Clone)]
pub struct DriveAccount {
    /// Account row id.
    pub id: i64,
    /// The address.
    pub name: String,
    /// The Drive token JSON.
    pub credentials: String,
}

impl Index {
    /// The Drive token JSON of an account, when it gave the Drive consent.
    pub fn drive_credentials(&self, account_id: i64) -> Result<Option<String>> {
        self.with(|c| {
            Ok(
                c.prepare_cached("SELECT drive_credentials FROM accounts WHERE id = ?1")?
                    .query_row([account_id], |r| r.get::<_, Option<String>>(0))
                    .optional()?
                    .flatten(),
            )
        })
    }

    /// Stores (or, with None, forgets) an account's Drive token.
    pub fn set_drive_credentials(&self, account_id: i64, json: Option<&str>) -> Result<()> {
        self.with(|c| {
            c.prepare_cached("UPDATE accounts SET drive_credentials = ?2 WHERE id = ?1")?
                .execute(params![account_id, json])?;
            Ok(())
        })
    }

    /// Accounts of `provider` with a Drive consent, by name.
    pub fn drive_accounts(&self, provider: &str) -> Result<Vec<DriveAccount>> {
        self.with(|c| {
            let mut st = c.prepare(
                "SELECT id, name, drive_credentials FROM accounts
                 WHERE provider = ?1 AND drive_credentials IS NOT NULL ORDER BY name",
            )?;
            let rows = st
                .query_map([provider], |r| {
                    Ok(DriveAccount {
                        id: r.get(0)?,
                        name: r.get(1)?,
                        credentials: r.get(2)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
    }

    /// Records the parts a Drive listing found and says, for each, whether it was imported
    /// already: the same folder, name, Drive file id and MD5 as a part whose export finished
    /// importing. A part that was replaced in Drive (another id or MD5 under the same name)
    /// counts as new again.
    pub fn drive_parts_seen(
        &self,
        account_id: i64,
        parts: &[DrivePartRecord],
    ) -> Result<Vec<bool>> {
        let t = now();
        self.tx(|tx| {
            let mut out = Vec::with_capacity(parts.len());
            for p in parts {
                let known: Option<(Option<String>, Option<String>, Option<i64>)> = tx
                    .prepare_cached(
                        "SELECT remote_id, md5, imported_at FROM takeout_parts
                         WHERE origin = ?1 AND location = ?2 AND name = ?3",
                    )?
                    .query_row(params![ORIGIN, p.folder_id, p.name], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                    })
                    .optional()?;
                match known {
                    Some((id, md5, imported))
                        if id.as_deref() == Some(p.remote_id.as_str())
                            && md5.as_deref() == Some(p.md5.as_str()) =>
                    {
                        out.push(imported.is_some());
                    }
                    Some(_) => {
                        // Replaced in Drive: a new file under an old name.
                        tx.prepare_cached(
                            "UPDATE takeout_parts SET remote_id = ?4, md5 = ?5, size = ?6,
                                 export_id = ?7, account_id = ?8, seen_at = ?9,
                                 imported_at = NULL, removed_at = NULL
                             WHERE origin = ?1 AND location = ?2 AND name = ?3",
                        )?
                        .execute(params![
                            ORIGIN,
                            p.folder_id,
                            p.name,
                            p.remote_id,
                            p.md5,
                            p.size as i64,
                            p.export_id,
                            account_id,
                            t
                        ])?;
                        out.push(false);
                    }
                    None => {
                        tx.prepare_cached(
                            "INSERT INTO takeout_parts (origin, location, name, remote_id,
                                 export_id, account_id, size, md5, seen_at)
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                        )?
                        .execute(params![
                            ORIGIN,
                            p.folder_id,
                            p.name,
                            p.remote_id,
                            p.export_id,
                            account_id,
                            p.size as i64,
                            p.md5,
                            t
                        ])?;
                        out.push(false);
                    }
                }
            }
            Ok(out)
        })
    }

    /// Marks parts imported (their export's import finished with no failure) and their local
    /// copies removed.
    pub fn drive_parts_imported(&self, parts: &[DrivePartRecord]) -> Result<()> {
        let t = now();
        self.tx(|tx| {
            for p in parts {
                tx.prepare_cached(
                    "UPDATE takeout_parts SET imported_at = ?4, removed_at = ?4
                     WHERE origin = ?1 AND location = ?2 AND name = ?3 AND remote_id = ?5
                       AND md5 = ?6",
                )?
                .execute(params![
                    ORIGIN,
                    p.folder_id,
                    p.name,
                    t,
                    p.remote_id,
                    p.md5
                ])?;
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(name: &str, id: &str, md5: &str) -> DrivePartRecord {
        DrivePartRecord {
            remote_id: id.into(),
            name: name.into(),
            folder_id: "F".into(),
            export_id: "takeout-20260801T101010Z".into(),
            size: 10,
            md5: md5.into(),
        }
    }

    #[test]
    fn parts_are_remembered_by_id_and_md5() {
        let t = tempfile::tempdir().unwrap();
        let index = Index::open(&t.path().join(super::super::INDEX_FILE)).unwrap();
        let acc = index
            .ensure_account("googlephotos", "a@example.com", "a")
            .unwrap();
        assert!(index.drive_accounts("googlephotos").unwrap().is_empty());
        index.set_drive_credentials(acc.id, Some("{}")).unwrap();
        assert_eq!(
            index.drive_credentials(acc.id).unwrap().as_deref(),
            Some("{}")
        );
        assert_eq!(
            index.drive_accounts("googlephotos").unwrap()[0].name,
            "a@example.com"
        );
        // The Photos credentials are another column.
        assert!(index.accounts().unwrap()[0].credentials.is_none());

        let a = part("takeout-20260801T101010Z-001.zip", "1a", "aa");
        let b = part("takeout-20260801T101010Z-002.zip", "1b", "bb");
        assert_eq!(
            index
                .drive_parts_seen(acc.id, &[a.clone(), b.clone()])
                .unwrap(),
            [false, false]
        );
        assert_eq!(
            index
                .drive_parts_seen(acc.id, &[a.clone(), b.clone()])
                .unwrap(),
            [false, false]
        );
        index.drive_parts_imported(&[a.clone(), b.clone()]).unwrap();
        assert_eq!(
            index
                .drive_parts_seen(acc.id, &[a.clone(), b.clone()])
                .unwrap(),
            [true, true]
        );
        // Replaced in Drive: new again.
        let b2 = part("takeout-20260801T101010Z-002.zip", "1c", "cc");
        assert_eq!(
            index
                .drive_parts_seen(acc.id, &[a.clone(), b2.clone()])
                .unwrap(),
            [true, false]
        );
        // An import marked for the old file does not mark the new one.
        index
            .drive_parts_imported(std::slice::from_ref(&b))
            .unwrap();
        assert_eq!(index.drive_parts_seen(acc.id, &[b2]).unwrap(), [false]);
        index.set_drive_credentials(acc.id, None).unwrap();
        assert!(index.drive_credentials(acc.id).unwrap().is_none());
    }
}
