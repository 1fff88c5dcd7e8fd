//! `verify --repair`: fetch again what the check found missing or damaged, from a source that
//! can deliver the item (the Library API today), through the one ingest path, which restores
//! the file in place; name the export to import again for items only Takeout delivered;
//! regenerate `others.txt`; remove temporary leftovers; rewrite the manifest.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::VerifyReport;
use crate::backup::GoogleAccess;
use crate::error::{Error, Result};
use crate::google::http::Pacer;
use crate::google::library::LibraryClient;
use crate::google::media::{Fetch, download_item};
use crate::ingest::{IngestRequest, Stored, ingest};
use crate::kinds::Source;
use crate::manifest::write_manifest;
use crate::progress::NoProgress;
use crate::remote::library_client;
use crate::repo::Repo;

/// What [`repair`] did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RepairReport {
    /// Files restored with their recorded bytes.
    pub restored: Vec<String>,
    /// Files whose item has different bytes at the source now: stored as the current version.
    pub updated: Vec<String>,
    /// Files only Takeout delivered: (path, export id to import again).
    pub reimport: Vec<(String, String)>,
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
        self.reimport.is_empty() && self.failed.is_empty()
    }
}

struct User {
    account_id: i64,
    item_id: i64,
    remote_id: String,
    filename: String,
    taken_at: Option<i64>,
    sources: Vec<(Source, Option<String>)>,
}

fn users_of(repo: &Repo, content_id: i64) -> Result<Vec<User>> {
    repo.index.with(|c| {
        let mut st = c.prepare(
            "SELECT id, account_id, remote_id, filename, taken_at FROM items
             WHERE content_id = ?1 ORDER BY id",
        )?;
        let mut users = st
            .query_map([content_id], |r| {
                Ok(User {
                    item_id: r.get(0)?,
                    account_id: r.get(1)?,
                    remote_id: r.get(2)?,
                    filename: r.get(3)?,
                    taken_at: r.get(4)?,
                    sources: vec![],
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let mut st = c.prepare("SELECT source, source_ref FROM provenance WHERE item_id = ?1")?;
        for u in &mut users {
            u.sources = st
                .query_map([u.item_id], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<Vec<_>, _>>()?;
        }
        Ok(users)
    })
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
    let mut clients: HashMap<i64, std::result::Result<Arc<LibraryClient>, String>> = HashMap::new();
    let accounts: HashMap<i64, crate::index::Account> = repo
        .index
        .accounts()?
        .into_iter()
        .map(|a| (a.id, a))
        .collect();
    for damaged in report.missing.iter().chain(&report.corrupted) {
        if cancel.is_cancelled() {
            return Err(Error::Cancelled);
        }
        let users = users_of(repo, damaged.content_id)?;
        let mut why: Vec<String> = Vec::new();
        let mut done = false;
        for u in users
            .iter()
            .filter(|u| u.sources.iter().any(|(s, _)| *s == Source::Library))
        {
            let Some(account) = accounts.get(&u.account_id) else {
                continue;
            };
            let client = clients
                .entry(u.account_id)
                .or_insert_with(|| match google {
                    None => Err("the Google client is not configured".to_string()),
                    Some(g) => library_client(repo, g, account, pacer.clone())
                        .map(Arc::new)
                        .map_err(|e| e.to_string()),
                })
                .clone();
            let client = match client {
                Ok(c) => c,
                Err(e) => {
                    why.push(format!("{}: {e}", account.name));
                    continue;
                }
            };
            let g = google.expect("a client implies google access");
            let fetched = async {
                let mut item = client.item(&u.remote_id).await?;
                let fetch = Fetch {
                    http: &g.http,
                    policy: &g.policy,
                    pacer: &pacer,
                    progress: &NoProgress,
                    cancel: &CancellationToken::new(),
                };
                download_item(&fetch, repo, &client, &mut item, &mut Instant::now()).await
            }
            .await;
            let staged = match fetched {
                Ok(s) => s,
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
                    break;
                }
                Ok(other) => {
                    out.updated.push(other.path().to_string());
                    done = true;
                    break;
                }
                Err(e) => why.push(format!("{}: {e}", u.filename)),
            }
        }
        if done {
            continue;
        }
        let export = users.iter().find_map(|u| {
            u.sources
                .iter()
                .find(|(s, _)| *s == Source::Takeout)
                .map(|(_, r)| r.clone().unwrap_or_else(|| "the Takeout export".into()))
        });
        match export {
            Some(e) => out.reimport.push((damaged.path.clone(), e)),
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
