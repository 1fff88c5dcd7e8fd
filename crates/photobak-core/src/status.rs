//! Status: what the archive holds and how healthy it is, per account and source, from the
//! index alone (no network, fast on large archives).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use crate::error::Result;
use crate::google::oauth::Token;
use crate::index::{Index, now};
use crate::kinds::Source;
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

pub use crate::index::Counts;

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
    index: &Index,
    command: &str,
    account_id: Option<i64>,
    ok: Option<bool>,
) -> Result<Option<RunInfo>> {
    Ok(index.last_run(command, account_id, ok)?.map(|r| RunInfo {
        command: command.to_string(),
        started_at: rfc3339(r.started_at),
        finished_at: r.finished_at.map(rfc3339),
        ok: r.ok,
        summary: r
            .summary
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or(serde_json::Value::Null),
    }))
}

/// Reads the status of the repository at `root` from its index. Takes an [`Index`] rather than
/// a [`crate::repo::Repo`] so it can run without the repository lock, while a backup runs.
///
/// # Errors
/// Index failures.
pub fn status(index: &Index, root: &Path) -> Result<Status> {
    let accounts = index.accounts()?;
    let mut out = Status {
        repository: root.display().to_string(),
        totals: index.totals()?,
        manifest: root.join(MANIFEST_FILE).is_file(),
        last_verify: last_run(index, "verify", None, None)?,
        files_not_verified_30d: index.files_not_verified_since(now() - 30 * 86_400)?,
        accounts: vec![],
    };
    for a in &accounts {
        let mut sources = BTreeMap::new();
        for s in index.account_sources(a.id)? {
            sources.insert(s.to_string(), index.counts(a.id, Some(s))?);
        }
        let last_backup = last_run(index, "backup", Some(a.id), Some(true))?;
        let last_any = last_run(index, "backup", Some(a.id), None)?;
        let last_failed_backup = last_any.filter(|r| r.ok != Some(true));
        let failures = index
            .failures(a.id)?
            .into_iter()
            .map(|f| FailureInfo {
                remote_id: f.remote_id,
                filename: f.filename,
                error: f.error,
                count: f.count,
                first_at: rfc3339(f.first_at),
                last_at: rfc3339(f.last_at),
            })
            .collect();
        let uses_library = index.account_uses(a.id, Source::Library)?;
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
            totals: index.counts(a.id, None)?,
            sources,
            last_backup,
            last_failed_backup,
            last_import: last_run(index, "import", Some(a.id), None)?,
            last_prune: last_run(index, "prune", Some(a.id), None)?,
            newest_export: crate::prune::newest_export_in(index, a.id)?,
            takeout: crate::exports::takeout_feed(index, a.id)?,
            failures,
            credentials,
            renewal,
        });
    }
    Ok(out)
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
