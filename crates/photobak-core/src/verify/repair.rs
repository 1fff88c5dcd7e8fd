//! `verify --repair`: fetch again what the check found missing or damaged, from whichever of
//! the item's sources can deliver it ([`crate::source::Source::fetch`]), through the one ingest
//! path, which restores
//! the file in place; name the export to import again for items only Takeout delivered;
//! regenerate `others.txt`; remove temporary leftovers; rewrite the manifest.

use std::collections::HashMap;
use std::sync::Arc;

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::VerifyReport;
use crate::error::{Error, Result};
use crate::google::GoogleAccess;
use crate::google::http::Pacer;
use crate::index::{Account, Provenance};
use crate::ingest::{IngestRequest, Stored, ingest};
use crate::manifest::write_manifest;
use crate::repo::Repo;
use crate::source::{Fetched, ItemRef, Sources, source_name};

/// What [`repair`] did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RepairReport {
    /// Files restored with their recorded bytes.
    pub restored: Vec<String>,
    /// Files whose item has different bytes at the source now: stored as the current version.
    pub updated: Vec<String>,
    /// Files whose sources cannot deliver them again themselves: what the user can do.
    pub elsewhere: Vec<Elsewhere>,
    /// Files that could not be repaired, and why.
    pub failed: Vec<(String, String)>,
    /// `others.txt` files rewritten.
    pub others_rewritten: u64,
    /// Temporary leftovers removed.
    pub temp_removed: u64,
}

impl RepairReport {
    /// True when every damaged file was restored or updated.
    pub fn ok(&self) -> bool {
        self.elsewhere.is_empty() && self.failed.is_empty()
    }
}

/// A damaged file only a source that cannot fetch single items has (Takeout), and what to do.
#[derive(Debug, Clone, Serialize)]
pub struct Elsewhere {
    /// The file.
    pub path: String,
    /// The source, as people call it.
    pub source: String,
    /// What to do (`import takeout-… again`).
    pub what_to_do: String,
}

/// Repairs what [`verify`] found: fetches missing and corrupted files again, regenerates
/// `others.txt`, removes temporary leftovers, and rewrites the manifest. `google` may be None
/// when the Google client is not configured (only Library API repairs need it).
///
/// # Errors
/// Index or file-system failures; a file that cannot be fetched is reported, not an error.
pub async fn repair(
    repo: &Arc<Repo>,
    google: Option<&GoogleAccess>,
    report: &VerifyReport,
    cancel: &CancellationToken,
) -> Result<RepairReport> {
    let mut out = RepairReport::default();
    let pacer = Arc::new(Pacer::new(cancel.clone()));
    let accounts: HashMap<i64, Account> = repo
        .index
        .accounts()?
        .into_iter()
        .map(|a| (a.id, a))
        .collect();
    let mut sources: HashMap<i64, Sources> = HashMap::new();
    for damaged in report.missing.iter().chain(&report.corrupted) {
        if cancel.is_cancelled() {
            return Err(Error::Cancelled);
        }
        let users = repo.index.content_users_of(damaged.content_id)?;
        let mut why: Vec<String> = Vec::new();
        let mut elsewhere: Option<Elsewhere> = None;
        let mut done = false;
        'users: for u in &users {
            let Some(account) = accounts.get(&u.account_id) else {
                continue;
            };
            let account_sources = match sources.entry(u.account_id) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(Sources::for_account(repo, google, account, &pacer)?)
                }
            };
            // A source the item came from that the account cannot reach says why.
            if u.sources
                .iter()
                .any(|p| account_sources.get(p.source).is_none())
            {
                why.extend(account_sources.problems.iter().cloned());
            }
            for Provenance {
                source: kind,
                source_ref,
            } in &u.sources
            {
                let Some(source) = account_sources.get(*kind) else {
                    continue;
                };
                let item = ItemRef {
                    remote_id: u.remote_id.clone(),
                    filename: u.filename.clone(),
                    source_ref: source_ref.clone(),
                };
                let staged = match source.fetch(&item, cancel).await {
                    Ok(Fetched::Bytes(s)) => s,
                    Ok(Fetched::Unavailable(what)) => {
                        elsewhere.get_or_insert(Elsewhere {
                            path: damaged.path.clone(),
                            source: source_name(*kind).to_string(),
                            what_to_do: what,
                        });
                        continue;
                    }
                    Err(e) if matches!(e, Error::Cancelled) => return Err(e),
                    Err(e) => {
                        why.push(format!("{} ({}): {e}", u.filename, account.name));
                        continue;
                    }
                };
                let repo2 = repo.clone();
                let account2 = account.clone();
                let (item_id, filename, taken_at) = (u.item_id, u.filename.clone(), u.taken_at);
                let stored = tokio::task::spawn_blocking(move || {
                    ingest(
                        &repo2,
                        &IngestRequest {
                            account: &account2,
                            item_id,
                            filename: &filename,
                            taken_at,
                        },
                        staged,
                    )
                })
                .await
                .map_err(|e| Error::from_join("storing", &e))?;
                match stored {
                    Ok(Stored::Repaired(p)) | Ok(Stored::Unchanged(p)) => {
                        out.restored.push(p);
                        done = true;
                        break 'users;
                    }
                    Ok(other) => {
                        out.updated.push(other.path().to_string());
                        done = true;
                        break 'users;
                    }
                    Err(e) => why.push(format!("{}: {e}", u.filename)),
                }
            }
        }
        if done {
            continue;
        }
        match elsewhere {
            Some(e) => out.elsewhere.push(e),
            None if why.is_empty() => out.failed.push((
                damaged.path.clone(),
                "no source that photobak can fetch it from again".into(),
            )),
            None => out.failed.push((damaged.path.clone(), why.join("; "))),
        }
    }
    for account in accounts.values() {
        out.others_rewritten += repo.refresh_all_others(account.id)?;
    }
    for t in &report.temp_leftovers {
        let abs = repo.abs(t);
        if std::fs::remove_file(&abs).is_ok() {
            out.temp_removed += 1;
        }
    }
    write_manifest(repo)?;
    Ok(out)
}
