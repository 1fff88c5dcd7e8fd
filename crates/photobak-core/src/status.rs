//! Status: what the archive holds and how healthy it is, per account and source, from the
//! index alone (no network, fast on large archives).

use std::collections::BTreeMap;
use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use crate::error::Result;
use crate::google::oauth::Token;
use crate::index::{Index, now};
use crate::manifest::MANIFEST_FILE;

/// One recorded run of a command.
#[derive(Debug, Clone, Serialize)]
pub struct RunInfo {
    /// `backup`, `import`, `prune` or `verify`.
    pub command: String,
    /// Start, RFC 3339 UTC.
    pub started_at: String,
    /// End, RFC 3339 UTC (None while running or after a crash).
    pub finished_at: Option<String>,
    /// Whether it succeeded.
    pub ok: Option<bool>,
    /// Its summary as recorded (JSON).
    pub summary: serde_json::Value,
}

/// An item that failed, possibly repeatedly.
#[derive(Debug, Clone, Serialize)]
pub struct FailureInfo {
    /// Source id.
    pub remote_id: String,
    /// File name.
    pub filename: Option<String>,
    /// Last error.
    pub error: String,
    /// How many runs it failed in.
    pub count: i64,
    /// First failure, RFC 3339 UTC.
    pub first_at: String,
    /// Last failure, RFC 3339 UTC.
    pub last_at: String,
}

/// Counts of one source (or of everything).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Counts {
    /// Items known.
    pub items: u64,
    /// Items with a stored file.
    pub stored: u64,
    /// Distinct files.
    pub files: u64,
    /// Bytes of the distinct files.
    pub bytes: u64,
    /// Albums of the source (user and automatic albums; not year folders).
    pub albums: u64,
    /// `Photos from YYYY` and `Undated` folders photobak keeps for items in no album. They
    /// belong to no source, so they are counted apart: an account's albums are then the sum of
    /// its sources' albums.
    pub year_folders: u64,
}

/// Status of one account.
#[derive(Debug, Clone, Serialize)]
pub struct AccountStatus {
    /// Address.
    pub account: String,
    /// Folder in the repository.
    pub folder: String,
    /// Totals.
    pub totals: Counts,
    /// Per source (`library`, `takeout`, `picker`).
    pub sources: BTreeMap<String, Counts>,
    /// Last successful backup.
    pub last_backup: Option<RunInfo>,
    /// Last backup, when it failed after the last successful one.
    pub last_failed_backup: Option<RunInfo>,
    /// Last import.
    pub last_import: Option<RunInfo>,
    /// Last prune.
    pub last_prune: Option<RunInfo>,
    /// Newest Takeout export imported, if any, of any kind.
    pub newest_export: Option<String>,
    /// The Takeout feed: the last full export, the incrementals since, and what prune would
    /// take for gone on its word. None when no export was imported.
    pub takeout: Option<crate::exports::TakeoutFeed>,
    /// Items that failed and have not succeeded since, most frequent first.
    pub failures: Vec<FailureInfo>,
    /// `ok`, `missing`, `unreadable` or `no-refresh-token`.
    pub credentials: String,
    /// What to do about the credentials, when something must be done.
    pub renewal: Option<String>,
}

/// Status of the repository.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// Repository folder.
    pub repository: String,
    /// Distinct files and their bytes, all accounts.
    pub totals: Counts,
    /// Whether `photobak.b3` exists.
    pub manifest: bool,
    /// Last verify.
    pub last_verify: Option<RunInfo>,
    /// Files never verified or not within 30 days.
    pub files_not_verified_30d: u64,
    /// Per account.
    pub accounts: Vec<AccountStatus>,
}

pub use crate::time::rfc3339;

fn last_run(
    c: &Connection,
    command: &str,
    account_id: Option<i64>,
    ok: Option<bool>,
) -> Result<Option<RunInfo>> {
    type Row = (i64, Option<i64>, Option<bool>, Option<String>);
    let row: Option<Row> = c
        .query_row(
            "SELECT started_at, finished_at, ok, summary FROM runs
             WHERE command = ?1 AND account_id IS ?2 AND (?3 IS NULL OR ok = ?3)
               AND finished_at IS NOT NULL
             ORDER BY started_at DESC, id DESC LIMIT 1",
            params![command, account_id, ok],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    Ok(row.map(|(s, f, ok, summary)| RunInfo {
        command: command.to_string(),
        started_at: rfc3339(s),
        finished_at: f.map(rfc3339),
        ok,
        summary: summary
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or(serde_json::Value::Null),
    }))
}

fn counts(c: &Connection, account_id: i64, source: Option<&str>) -> Result<Counts> {
    let filter = "(?2 IS NULL OR EXISTS(SELECT 1 FROM provenance p WHERE p.item_id = i.id AND p.source = ?2))";
    let (items, stored): (i64, i64) = c.query_row(
        &format!(
            "SELECT count(*), count(i.content_id) FROM items i WHERE i.account_id = ?1 AND {filter}"
        ),
        params![account_id, source],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let (files, bytes): (i64, i64) = c.query_row(
        &format!(
            "SELECT count(*), coalesce(sum(size), 0) FROM content WHERE id IN
             (SELECT i.content_id FROM items i WHERE i.account_id = ?1 AND {filter})"
        ),
        params![account_id, source],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let (albums, year_folders): (i64, i64) = c.query_row(
        "SELECT count(*) FILTER (WHERE source != 'derived'),
                count(*) FILTER (WHERE source = 'derived')
         FROM albums WHERE account_id = ?1 AND (?2 IS NULL OR source = ?2)",
        params![account_id, source],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(Counts {
        items: items as u64,
        stored: stored as u64,
        files: files as u64,
        bytes: bytes as u64,
        albums: albums as u64,
        year_folders: year_folders as u64,
    })
}

/// Reads the status of the repository at `root` from its index. Takes an [`Index`] rather than
/// a [`crate::repo::Repo`] so it can run without the repository lock, while a backup runs.
///
/// # Errors
/// Index failures.
pub fn status(index: &Index, root: &Path) -> Result<Status> {
    let accounts = index.accounts()?;
    let mut newest = std::collections::HashMap::new();
    let mut feeds = std::collections::HashMap::new();
    for a in &accounts {
        newest.insert(a.id, crate::prune::newest_export_in(index, a.id)?);
        feeds.insert(a.id, crate::exports::takeout_feed(index, a.id)?);
    }
    index.with(|c| {
        let (files, bytes): (i64, i64) = c.query_row(
            "SELECT count(*), coalesce(sum(size), 0) FROM content",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let items: i64 = c.query_row("SELECT count(*) FROM items", [], |r| r.get(0))?;
        let stored: i64 = c.query_row(
            "SELECT count(*) FROM items WHERE content_id IS NOT NULL",
            [],
            |r| r.get(0),
        )?;
        let (albums, year_folders): (i64, i64) = c.query_row(
            "SELECT count(*) FILTER (WHERE source != 'derived'),
                    count(*) FILTER (WHERE source = 'derived')
             FROM albums",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let stale: i64 = c.query_row(
            "SELECT count(*) FROM content WHERE verified_at IS NULL OR verified_at < ?1",
            [now() - 30 * 86_400],
            |r| r.get(0),
        )?;
        let mut out = Status {
            repository: root.display().to_string(),
            totals: Counts {
                items: items as u64,
                stored: stored as u64,
                files: files as u64,
                bytes: bytes as u64,
                albums: albums as u64,
                year_folders: year_folders as u64,
            },
            manifest: root.join(MANIFEST_FILE).is_file(),
            last_verify: last_run(c, "verify", None, None)?,
            files_not_verified_30d: stale as u64,
            accounts: vec![],
        };
        for a in &accounts {
            let mut sources = BTreeMap::new();
            let mut st = c.prepare(
                "SELECT DISTINCT p.source FROM provenance p JOIN items i ON i.id = p.item_id
                 WHERE i.account_id = ?1 ORDER BY p.source",
            )?;
            let names = st
                .query_map([a.id], |r| r.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()?;
            for s in names {
                let n = counts(c, a.id, Some(&s))?;
                sources.insert(s, n);
            }
            let last_backup = last_run(c, "backup", Some(a.id), Some(true))?;
            let last_any = last_run(c, "backup", Some(a.id), None)?;
            let last_failed_backup = last_any.filter(|r| r.ok != Some(true));
            let mut st = c.prepare(
                "SELECT remote_id, filename, error, count, first_at, last_at FROM failures
                 WHERE account_id = ?1 ORDER BY count DESC, last_at DESC",
            )?;
            let failures = st
                .query_map([a.id], |r| {
                    Ok(FailureInfo {
                        remote_id: r.get(0)?,
                        filename: r.get(1)?,
                        error: r.get(2)?,
                        count: r.get(3)?,
                        first_at: rfc3339(r.get(4)?),
                        last_at: rfc3339(r.get(5)?),
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            let uses_library: bool = c.query_row(
                "SELECT EXISTS(SELECT 1 FROM albums WHERE account_id = ?1 AND source = 'library')
                 OR EXISTS(SELECT 1 FROM provenance p JOIN items i ON i.id = p.item_id
                           WHERE i.account_id = ?1 AND p.source = 'library')",
                [a.id],
                |r| r.get(0),
            )?;
            let reauth = format!("run `photobak auth --googlephotos {}`", a.name);
            let (credentials, mut renewal) = match a.credentials.as_deref() {
                None if uses_library => (
                    "missing".to_string(),
                    Some(format!("not authorised; {reauth}")),
                ),
                None => ("missing".to_string(), None),
                Some(json) => match serde_json::from_str::<Token>(json) {
                    Err(_) => (
                        "unreadable".to_string(),
                        Some(format!("stored credentials are unreadable; {reauth}")),
                    ),
                    Ok(t) if t.refresh_token.trim().is_empty() => (
                        "no-refresh-token".to_string(),
                        Some(format!(
                            "no refresh token: the access token cannot be renewed; {reauth}"
                        )),
                    ),
                    Ok(_) => ("ok".to_string(), None),
                },
            };
            // A backup stopped by refused credentials after the last success.
            if renewal.is_none()
                && let Some(f) = &last_failed_backup
                && let Some(stopped) = f.summary.get("stopped").and_then(|s| s.as_str())
                && (stopped.contains("credentials") || stopped.contains("invalid_grant"))
            {
                renewal = Some(format!("the last backup was refused ({stopped}); {reauth}"));
            }
            out.accounts.push(AccountStatus {
                account: a.name.clone(),
                folder: a.folder.clone(),
                totals: counts(c, a.id, None)?,
                sources,
                last_backup,
                last_failed_backup,
                last_import: last_run(c, "import", Some(a.id), None)?,
                last_prune: last_run(c, "prune", Some(a.id), None)?,
                newest_export: newest.get(&a.id).cloned().flatten(),
                takeout: feeds.remove(&a.id).flatten(),
                failures,
                credentials,
                renewal,
            });
        }
        Ok(out)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::Account;
    use crate::repo::Repo;

    /// A repository with one account and one Library API item, and the backup run that saw it.
    fn one_library_item(address: &str) -> (tempfile::TempDir, Repo, Account, i64) {
        let t = tempfile::tempdir().unwrap();
        let repo = Repo::open(t.path()).unwrap();
        let acc = repo.ensure_account(address).unwrap();
        let run = repo.index.begin_run("backup", Some(acc.id)).unwrap();
        repo.index
            .upsert_item(
                acc.id,
                "r1",
                &crate::index::ItemMeta {
                    filename: "a.jpg".into(),
                    ..Default::default()
                },
                run,
                crate::kinds::Source::Library,
                None,
            )
            .unwrap();
        (t, repo, acc, run)
    }

    #[test]
    fn status_of_an_account_with_a_failure_and_no_credentials() {
        let (_t, repo, acc, run) = one_library_item("s@example.com");
        repo.index
            .record_failure(acc.id, "r1", "a.jpg", Some("HTTP 500"))
            .unwrap();
        repo.index
            .record_failure(acc.id, "r1", "a.jpg", Some("HTTP 500"))
            .unwrap();
        repo.index
            .finish_run(run, false, r#"{"stopped":null}"#)
            .unwrap();
        let s = status(&repo.index, repo.root()).unwrap();
        let a = &s.accounts[0];
        assert_eq!(a.totals.items, 1);
        assert_eq!(a.sources["library"].items, 1);
        assert_eq!(a.failures[0].count, 2);
        assert_eq!(a.credentials, "missing");
        assert!(a.renewal.as_deref().unwrap().contains("photobak auth"));
        assert!(a.last_backup.is_none());
        assert!(a.last_failed_backup.is_some());
    }

    #[test]
    fn year_folders_are_counted_apart_so_account_and_source_albums_agree() {
        let (_t, repo, acc, run) = one_library_item("y@example.com");
        repo.index
            .upsert_album(
                &acc,
                &crate::index::AlbumSpec {
                    remote_id: "AA1",
                    source: crate::kinds::Source::Library,
                    title: "Trip",
                    description: None,
                    kind: crate::kinds::AlbumKind::User,
                    raw_json: None,
                },
                Some(run),
                |n| crate::ingest::album_folder(&acc, "Trip", n),
            )
            .unwrap();
        crate::ingest::ensure_year_folder(&repo, &acc, Some(2019)).unwrap();
        crate::ingest::ensure_year_folder(&repo, &acc, None).unwrap();
        let s = status(&repo.index, repo.root()).unwrap();
        let a = &s.accounts[0];
        assert_eq!((a.totals.albums, a.totals.year_folders), (1, 2));
        assert_eq!(a.sources["library"].albums, 1);
        assert_eq!(a.sources["library"].year_folders, 0);
        assert_eq!((s.totals.albums, s.totals.year_folders), (1, 2));
    }
}
