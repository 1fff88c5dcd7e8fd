//! The backup engine: the Library API listed and downloaded into the repository.
//!
//! Shape of a run: every account works concurrently, all sharing one download pool bounded by
//! `--concurrency` (a semaphore, so several accounts cannot starve or deadlock each other, the
//! original's multi-account bug) and one [`Pacer`] (a 429 slows the whole project down). Per
//! account: list albums, user albums before automatic ones so files land in curated folders;
//! list each album's items; then list every item, so items in no album are kept too. Listing is
//! paged and streamed into the pool: a download starts as soon as its item is listed, the lister
//! waits for a free slot, and no listing is ever held whole in memory. Whether an item was
//! already handled in this run is a column of the index (`seen_run`), not an in-memory set.
//!
//! Each download streams into a temporary file while hashing, resumes with `Range` after a
//! dropped connection, refreshes its base URL when it is old or refused (403), and is handed to
//! [`ingest`], the store-and-dedup path shared with every other source.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::Serialize;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::error::{Error, Result};
use crate::google::PROVIDER;
use crate::google::http::Pacer;
use crate::google::library::{ApiMediaItem, LibraryClient, PageWalk};
use crate::google::media::{Fetch, download_item};
use crate::index::{Account, AlbumSpec, ItemMeta};
use crate::ingest::{IngestRequest, Stored, album_folder, ingest};
use crate::kinds::{AlbumKind, Source, TimeSource};
use crate::progress::Progress;
use crate::repo::Repo;
use crate::repo::store::hash_file;

/// What `backup` should do.
#[derive(Debug, Clone)]
pub struct BackupOptions {
    /// Account addresses.
    pub accounts: Vec<String>,
    /// Downloads in flight across all accounts.
    pub concurrency: usize,
    /// Stop after this many albums per account.
    pub max_albums: Option<usize>,
    /// Stop after this many items per account.
    pub max_photos: Option<usize>,
    /// Re-hash known files and re-download missing or damaged ones.
    pub integrity: bool,
    /// Keep the raw API JSON of items and albums.
    pub everything: bool,
}

impl Default for BackupOptions {
    fn default() -> Self {
        BackupOptions {
            accounts: vec![],
            concurrency: 5,
            max_albums: None,
            max_photos: None,
            integrity: false,
            everything: false,
        }
    }
}

pub use crate::google::GoogleAccess;

/// The end-of-run report of one account.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AccountSummary {
    /// Account address.
    pub account: String,
    /// Albums listed.
    pub albums: u64,
    /// Distinct items listed.
    pub items_seen: u64,
    /// Items stored as a new file.
    pub new: u64,
    /// Items whose bytes were already stored (another album, account or source).
    pub deduplicated: u64,
    /// Items whose metadata or bytes changed.
    pub updated: u64,
    /// Items with nothing to do.
    pub unchanged: u64,
    /// Files found damaged or missing and restored.
    pub repaired: u64,
    /// Items not fetched, by reason.
    pub skipped: BTreeMap<String, u64>,
    /// Items that failed: name and reason.
    pub failed: Vec<(String, String)>,
    /// Bytes downloaded.
    pub bytes_downloaded: u64,
    /// Wall time.
    pub elapsed_secs: f64,
    /// Why the account stopped early, if it did.
    pub stopped: Option<String>,
    /// The stop was Google's daily quota (the next day's run finishes the work).
    pub quota_exhausted: bool,
    /// What kind of error stopped the account, for the lister to stop with the same kind.
    #[serde(skip)]
    stop_kind: Option<StopKind>,
}

/// The errors that stop an account ([`Error::stops_account`]), kept typed so the lister,
/// stopped by a download's failure, ends with the same kind of error rather than a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StopKind {
    Quota,
    Credentials,
    Cancelled,
}

impl AccountSummary {
    /// True when nothing failed and the account was not stopped.
    pub fn ok(&self) -> bool {
        self.failed.is_empty() && self.stopped.is_none()
    }
}

struct Shared {
    repo: Arc<Repo>,
    google: GoogleAccess,
    opts: BackupOptions,
    pool: Arc<Semaphore>,
    pacer: Arc<Pacer>,
    progress: Arc<dyn Progress>,
}

/// Backs up every account in `opts`, concurrently, and returns one summary per account.
///
/// # Errors
/// Only errors that concern the whole run; per-account problems are in the summaries.
pub async fn backup(
    repo: Arc<Repo>,
    google: GoogleAccess,
    opts: BackupOptions,
    progress: Arc<dyn Progress>,
    cancel: CancellationToken,
) -> Result<Vec<AccountSummary>> {
    crate::ingest::release_unused_content(&repo)?;
    let shared = Arc::new(Shared {
        repo,
        google,
        pool: Arc::new(Semaphore::new(opts.concurrency.max(1))),
        pacer: Arc::new(Pacer::new(cancel.clone())),
        opts,
        progress,
    });
    let mut tasks = JoinSet::new();
    for (i, address) in shared.opts.accounts.iter().enumerate() {
        let shared = shared.clone();
        let address = address.clone();
        let cancel = cancel.child_token();
        tasks.spawn(async move { (i, backup_account(shared, &address, cancel).await) });
    }
    let mut out: Vec<(usize, AccountSummary)> = Vec::new();
    while let Some(r) = tasks.join_next().await {
        let (i, summary) = r.map_err(|e| Error::from_join("account task", &e))?;
        out.push((i, summary));
    }
    out.sort_by_key(|(i, _)| *i);
    Ok(out.into_iter().map(|(_, s)| s).collect())
}

struct AccountRun {
    shared: Arc<Shared>,
    account: Account,
    client: Arc<LibraryClient>,
    run_id: i64,
    summary: Arc<Mutex<AccountSummary>>,
    cancel: CancellationToken,
    tasks: JoinSet<()>,
}

async fn backup_account(
    shared: Arc<Shared>,
    address: &str,
    cancel: CancellationToken,
) -> AccountSummary {
    let started = Instant::now();
    let mut summary = AccountSummary {
        account: address.to_string(),
        ..Default::default()
    };
    let run = match prepare_account(&shared, address, cancel) {
        Ok(r) => r,
        Err(e) => {
            tracing::error!("{address}: {e}");
            summary.stopped = Some(e.to_string());
            return summary;
        }
    };
    let mut run = run;
    let result = run.list_everything().await;
    while run.tasks.join_next().await.is_some() {}
    if let Err(e) = &result {
        record_stop(&mut run.summary(), e);
    }
    {
        let mut s = run.summary();
        if s.quota_exhausted {
            let left = run
                .shared
                .repo
                .index
                .items_without_content(run.account.id)
                .unwrap_or(0);
            let detail = s.stopped.take().unwrap_or_default();
            s.stopped = Some(format!(
                "quota exhausted; run again tomorrow; {left} items left ({detail})"
            ));
        }
        if let Some(why) = &s.stopped {
            tracing::error!("{address}: {why}");
        }
    }
    if let Err(e) = run.shared.repo.refresh_all_others(run.account.id) {
        tracing::error!("{address}: rewriting others.txt: {e}");
        run.summary
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .failed
            .push(("others.txt".into(), e.to_string()));
    }
    let mut s = run
        .summary
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    s.elapsed_secs = started.elapsed().as_secs_f64();
    let json = serde_json::to_string(&s).unwrap_or_default();
    if let Err(e) = run.shared.repo.index.finish_run(run.run_id, s.ok(), &json) {
        tracing::error!("{address}: recording the run: {e}");
    }
    s
}

/// Records why an account stopped, keeping the first reason (a download that hit the quota
/// cancels the lister, whose own error then only says "interrupted").
fn record_stop(summary: &mut AccountSummary, e: &Error) {
    if summary.stopped.is_none() {
        summary.stopped = Some(e.to_string());
        summary.quota_exhausted = matches!(e, Error::QuotaExhausted(_));
        summary.stop_kind = match e {
            Error::QuotaExhausted(_) => Some(StopKind::Quota),
            Error::Credentials { .. } => Some(StopKind::Credentials),
            Error::Cancelled => Some(StopKind::Cancelled),
            _ => None,
        };
    }
}

fn prepare_account(
    shared: &Arc<Shared>,
    address: &str,
    cancel: CancellationToken,
) -> Result<AccountRun> {
    let repo = &shared.repo;
    // Looked up, never created: an address that was never authorised is a mistake to report,
    // not an account to remember (it would then be backed up, failing, on every later run).
    let account = repo
        .index
        .account(PROVIDER, address)?
        .ok_or_else(|| Error::Credentials {
            account: address.to_string(),
            message: format!("not authorised yet; run `photobak auth --googlephotos {address}`"),
        })?;
    let client = Arc::new(crate::source::library::library_client(
        repo,
        &shared.google,
        &account,
        shared.pacer.clone(),
    )?);
    let run_id = repo.index.begin_run("backup", Some(account.id))?;
    Ok(AccountRun {
        shared: shared.clone(),
        summary: Arc::new(Mutex::new(AccountSummary {
            account: address.to_string(),
            ..Default::default()
        })),
        account,
        client,
        run_id,
        cancel,
        tasks: JoinSet::new(),
    })
}

enum Flow {
    Continue,
    Stop,
}

impl AccountRun {
    fn summary(&self) -> std::sync::MutexGuard<'_, AccountSummary> {
        self.summary.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn list_everything(&mut self) -> Result<()> {
        let mut albums = Vec::new();
        let mut walk = PageWalk::default();
        loop {
            self.check_cancel()?;
            let Some(req) = walk.next(&self.cancel)? else {
                break;
            };
            let page = self.client.albums_page(req.token()).await?;
            albums.extend(page.items);
            walk.advance(page.next)?;
        }
        // Stable sort: user albums first, otherwise the API's order.
        albums.sort_by_key(|a| AlbumKind::of_title(a.title.as_deref().unwrap_or("")));
        if let Some(max) = self.shared.opts.max_albums {
            albums.truncate(max);
        }
        for api_album in albums {
            self.check_cancel()?;
            let title = api_album.title.clone().unwrap_or_else(|| "Untitled".into());
            let raw = self
                .shared
                .opts
                .everything
                .then(|| serde_json::to_string(&api_album).unwrap_or_default());
            let kind = AlbumKind::of_title(&title);
            let account = self.account.clone();
            let album = self.shared.repo.index.upsert_album(
                &self.account,
                &AlbumSpec {
                    remote_id: &api_album.id,
                    source: Source::Library,
                    title: &title,
                    description: None,
                    kind,
                    raw_json: raw.as_deref(),
                },
                Some(self.run_id),
                |n| album_folder(&account, &title, n),
            )?;
            self.summary().albums += 1;
            let mut walk = PageWalk::default();
            loop {
                self.check_cancel()?;
                let Some(req) = walk.next(&self.cancel)? else {
                    break;
                };
                let page = self
                    .client
                    .album_items_page(&api_album.id, req.token())
                    .await?;
                for item in page.items {
                    if let Flow::Stop = self.handle_listed(item, Some(album.id)).await? {
                        return Ok(());
                    }
                }
                walk.advance(page.next)?;
            }
        }
        let mut walk = PageWalk::default();
        loop {
            self.check_cancel()?;
            let Some(req) = walk.next(&self.cancel)? else {
                break;
            };
            let page = self.client.items_page(req.token()).await?;
            for item in page.items {
                if let Flow::Stop = self.handle_listed(item, None).await? {
                    return Ok(());
                }
            }
            walk.advance(page.next)?;
        }
        Ok(())
    }

    fn check_cancel(&mut self) -> Result<()> {
        while let Some(r) = self.tasks.try_join_next() {
            let _ = r;
        }
        if self.cancel.is_cancelled() {
            return Err(self.stop_reason().unwrap_or(Error::Cancelled));
        }
        Ok(())
    }

    fn stop_reason(&self) -> Option<Error> {
        let s = self.summary();
        let why = s.stopped.clone()?;
        Some(match s.stop_kind {
            Some(StopKind::Quota) => Error::QuotaExhausted(why),
            Some(StopKind::Credentials) => Error::Credentials {
                account: s.account.clone(),
                message: why,
            },
            Some(StopKind::Cancelled) | None => Error::Cancelled,
        })
    }

    async fn handle_listed(&mut self, item: ApiMediaItem, album_id: Option<i64>) -> Result<Flow> {
        let listed_at = Instant::now();
        let meta = item_meta(&item, self.shared.opts.everything);
        let repo = self.shared.repo.clone();
        let state = repo.index.upsert_item(
            self.account.id,
            &item.id,
            &meta,
            self.run_id,
            Source::Library,
            None,
        )?;
        let mut new_membership = false;
        if let Some(a) = album_id {
            new_membership = repo.index.add_membership(a, state.id)? && !state.is_new;
        }
        if state.seen_this_run {
            return Ok(Flow::Continue);
        }
        {
            let mut s = self.summary();
            if let Some(max) = self.shared.opts.max_photos
                && s.items_seen as usize >= max
            {
                return Ok(Flow::Stop);
            }
            s.items_seen += 1;
        }
        if item.is_video() && item.video_status().is_some_and(|s| s != "READY") {
            let status = item.video_status().unwrap_or("").to_string();
            tracing::info!(
                "{}: {} is a video still {status} at Google; it will be fetched on a later run",
                self.account.name,
                meta.filename
            );
            *self
                .summary()
                .skipped
                .entry(format!("video {status}"))
                .or_default() += 1;
            self.shared.progress.finished();
            return Ok(Flow::Continue);
        }
        let mut needs = state.content_id.is_none() || state.version_changed;
        if !needs
            && self.shared.opts.integrity
            && let Some(cid) = state.content_id
        {
            needs = !file_is_healthy(&repo, cid).await?;
        }
        if !needs {
            let mut s = self.summary();
            if state.meta_changed || new_membership {
                s.updated += 1;
            } else {
                s.unchanged += 1;
            }
            return Ok(Flow::Continue);
        }
        let permit = tokio::select! {
            p = self.shared.pool.clone().acquire_owned() => p.expect("pool never closes"),
            _ = self.cancel.cancelled() => return Err(self.stop_reason().unwrap_or(Error::Cancelled)),
        };
        self.shared.progress.queued(None);
        let job = DownloadJob {
            shared: self.shared.clone(),
            account: self.account.clone(),
            client: self.client.clone(),
            summary: self.summary.clone(),
            cancel: self.cancel.clone(),
            item_id: state.id,
            had_content: state.content_id.is_some(),
            meta_changed: state.meta_changed,
            filename: meta.filename.clone(),
            taken_at: meta.taken_at,
            item,
            listed_at,
        };
        self.tasks.spawn(async move {
            job.run().await;
            drop(permit);
        });
        Ok(Flow::Continue)
    }
}

async fn file_is_healthy(repo: &Arc<Repo>, content_id: i64) -> Result<bool> {
    let Some(c) = repo.index.content(content_id)? else {
        return Ok(false);
    };
    let path = repo.abs(&c.path);
    let expected = c.blake3;
    let ok = tokio::task::spawn_blocking(move || {
        hash_file(&path)
            .map(|(h, _)| h == expected)
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false);
    Ok(ok)
}

/// The index's view of an API item.
pub fn item_meta(item: &ApiMediaItem, everything: bool) -> ItemMeta {
    let (make, model) = item.camera();
    let filename = item
        .filename
        .clone()
        .filter(|f| !f.is_empty())
        .unwrap_or_else(|| item.id.chars().take(16).collect());
    ItemMeta {
        filename,
        mime_type: item.mime_type.clone(),
        description: Some(item.description.clone().unwrap_or_default()),
        taken_at: item
            .media_metadata
            .creation_time
            .as_deref()
            .and_then(|t| t.parse::<jiff::Timestamp>().ok())
            .map(|t| t.as_second()),
        taken_source: Some(TimeSource::Api),
        width: item.media_metadata.width,
        height: item.media_metadata.height,
        camera_make: make,
        camera_model: model,
        is_video: item.is_video(),
        raw_json: everything.then(|| serde_json::to_string(item).unwrap_or_default()),
        version: Some(item.version()),
        ..Default::default()
    }
}

struct DownloadJob {
    shared: Arc<Shared>,
    account: Account,
    client: Arc<LibraryClient>,
    summary: Arc<Mutex<AccountSummary>>,
    cancel: CancellationToken,
    item_id: i64,
    had_content: bool,
    meta_changed: bool,
    filename: String,
    taken_at: Option<i64>,
    item: ApiMediaItem,
    listed_at: Instant,
}

impl DownloadJob {
    async fn run(mut self) {
        let result = self.fetch_and_store().await;
        let repo = &self.shared.repo;
        let mut s = self.summary.lock().unwrap_or_else(|p| p.into_inner());
        match result {
            Ok(stored) => {
                let _ =
                    repo.index
                        .record_failure(self.account.id, &self.item.id, &self.filename, None);
                if let Err(e) = repo
                    .index
                    .set_item_version(self.item_id, &self.item.version())
                {
                    tracing::error!(
                        "{}: recording the version of {}: {e}",
                        self.account.name,
                        self.filename
                    );
                }
                match stored {
                    Stored::New(_) | Stored::Forked(_) if !self.had_content => s.new += 1,
                    Stored::Linked(_) if !self.had_content => s.deduplicated += 1,
                    Stored::Repaired(_) => s.repaired += 1,
                    Stored::Unchanged(_) if self.meta_changed => s.updated += 1,
                    Stored::Unchanged(_) => s.unchanged += 1,
                    _ => s.updated += 1,
                }
            }
            Err(e) if e.stops_account() => {
                record_stop(&mut s, &e);
                self.cancel.cancel();
            }
            Err(e) => {
                tracing::error!(
                    "{}: {} ({}): {e}",
                    self.account.name,
                    self.filename,
                    self.item.id
                );
                let _ = repo.index.record_failure(
                    self.account.id,
                    &self.item.id,
                    &self.filename,
                    Some(&e.to_string()),
                );
                s.failed.push((self.filename.clone(), e.to_string()));
            }
        }
        drop(s);
        self.shared.progress.finished();
    }

    async fn fetch_and_store(&mut self) -> Result<Stored> {
        let staged = self.download().await?;
        {
            let mut s = self.summary.lock().unwrap_or_else(|p| p.into_inner());
            s.bytes_downloaded += staged.size;
        }
        let repo = self.shared.repo.clone();
        let account = self.account.clone();
        let item_id = self.item_id;
        let filename = self.filename.clone();
        let taken_at = self.taken_at;
        tokio::task::spawn_blocking(move || {
            ingest(
                &repo,
                &IngestRequest {
                    account: &account,
                    item_id,
                    filename: &filename,
                    taken_at,
                },
                staged,
            )
        })
        .await
        .map_err(|e| Error::from_join("storing", &e))?
    }

    async fn download(&mut self) -> Result<crate::repo::store::Staged> {
        let fetch = Fetch {
            http: &self.shared.google.http,
            policy: &self.shared.google.policy,
            pacer: &self.shared.pacer,
            progress: self.shared.progress.as_ref(),
            cancel: &self.cancel,
        };
        download_item(
            &fetch,
            &self.shared.repo,
            &self.client,
            &mut self.item,
            &mut self.listed_at,
        )
        .await
    }
}
