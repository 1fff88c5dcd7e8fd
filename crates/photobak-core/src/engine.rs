//! The engine: one owner of runs for every source.
//!
//! A command builds one [`Engine`] (the repository, one download pool bounded by
//! `--concurrency`, one [`Pacer`] so a 429 slows the whole project down, the progress hooks, the
//! cancellation) and calls [`Engine::run`] once per account and source. The source lists; the
//! engine does everything else, the same way for every source:
//!
//! - the run itself: its row in `runs`, its [`RunSummary`] (one type, whatever the source), why
//!   it stopped (quota, credentials, Ctrl-C) and what is left;
//! - every listed item: recorded in the index with its source's provenance and its album
//!   membership (a listed page in one transaction: [`Intake::items`]), then compared with what
//!   is stored to decide whether it needs bytes (none yet, a changed version, or a damaged file
//!   with `--integrity`);
//! - the download pool: a semaphore shared by every account (so several accounts cannot starve
//!   or deadlock each other, the original's multi-account bug); the lister waits for a slot, so
//!   no listing is held whole in memory; fetches run as tasks;
//! - the group commit of fetched files ([`commit_groups`], one committer per run): a file per
//!   item paid an fsync, a folder fsync and a dozen index transactions (with their WAL writes
//!   and locks), the larger part of a thumbnail backup's cost per item in a profile; a group
//!   pays one `syncfs`, one fsync per folder and one transaction;
//! - the one ingest path ([`crate::ingest`]): de-duplication by content across accounts and
//!   sources, copy-on-write, homes, trash;
//! - the finishing steps: capture time from the file, `.xmp`, modification times, every album's
//!   `others.txt`, and ([`Engine::finish`]) the manifest.
//!
//! A source that reads its bytes in its own order (Takeout streams its archives) hands them to
//! [`Intake::store`] instead of giving a fetch; everything else is the same.

use std::sync::{Arc, Mutex, Weak};
use std::time::Instant;

use futures::future::BoxFuture;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::error::{Error, Result};
use crate::finish::{finish_file, resolve_from_file};
use crate::google::http::Pacer;
use crate::id_set::IdSet;
use crate::index::{Account, AlbumSpec, Batch, ItemState, KnownItems};
use crate::ingest::{IngestRequest, Stored, album_folder, ingest};
use crate::kinds::Source as SourceKind;
use crate::progress::Progress;
use crate::repo::Repo;
use crate::repo::store::{GROUP_BYTES, GROUP_ENTRIES, GROUP_EVERY, Staged, hash_file};
use crate::source::{
    Bytes, Delivery, FetchBytes, FetchContext, Flow, Intake, ListedItem, NewAlbum, Source,
};
use crate::summary::RunSummary;
use crate::task::blocking;

/// What the engine does beyond storing.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Fetches in flight across all accounts.
    pub concurrency: usize,
    /// Re-hash stored files of listed items and fetch again what is damaged or missing.
    pub integrity: bool,
    /// Stop listing an account after this many items.
    pub max_items: Option<usize>,
    /// The finishing steps of each stored or changed item.
    pub finishing: Finishing,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            concurrency: 5,
            integrity: false,
            max_items: None,
            finishing: Finishing::default(),
        }
    }
}

/// The finishing steps run for the items a run stored or changed.
#[derive(Debug, Clone, Copy, Default)]
pub struct Finishing {
    /// Take the capture time from the file's EXIF when it is sane, and its position when no
    /// source gave one (a Takeout sidecar's time is UTC without an offset; the file knows both).
    pub time_from_file: bool,
    /// Write a `FILE.xmp` sidecar next to each stored file.
    pub xmp: bool,
    /// Set each file's modification time to its capture time.
    pub mtime: bool,
}

impl Finishing {
    fn any(self) -> bool {
        self.time_from_file || self.xmp || self.mtime
    }
}

/// One command's engine: shared by every account and source the command runs.
pub struct Engine {
    repo: Arc<Repo>,
    opts: EngineOptions,
    pool: Arc<Semaphore>,
    pacer: Arc<Pacer>,
    progress: Arc<dyn Progress>,
    cancel: CancellationToken,
}

impl Engine {
    /// An engine over `repo`. Releases content a crashed run left unused first, so nothing is
    /// linked to bytes that were never committed.
    ///
    /// # Errors
    /// Index and file failures of that cleanup.
    pub fn new(
        repo: Arc<Repo>,
        opts: EngineOptions,
        progress: Arc<dyn Progress>,
        cancel: CancellationToken,
    ) -> Result<Engine> {
        crate::ingest::release_unused_content(&repo)?;
        Ok(Engine {
            pool: Arc::new(Semaphore::new(opts.concurrency.max(1))),
            pacer: Arc::new(Pacer::new(cancel.clone())),
            repo,
            opts,
            progress,
            cancel,
        })
    }

    /// The repository.
    pub fn repo(&self) -> &Arc<Repo> {
        &self.repo
    }

    /// The pacer every Google client of this command shares.
    pub fn pacer(&self) -> &Arc<Pacer> {
        &self.pacer
    }

    /// The command's cancellation.
    pub fn cancel(&self) -> &CancellationToken {
        &self.cancel
    }

    /// Runs `source` for `account` as `command` (`backup`, `import`, `pick`): lists, records,
    /// fetches, stores, finishes, and records the run. Returns the report, and the error that
    /// ended the listing early if one did (also in the report's `stopped`): callers that
    /// exit on it (an import) return it, callers that report per account (a backup) need not.
    pub async fn run(
        &self,
        account: &Account,
        command: &str,
        source: &dyn Source,
    ) -> (RunSummary, Option<Error>) {
        let started = Instant::now();
        let mut summary = RunSummary::new(&account.name, source.kind());
        let run_id = {
            let repo = self.repo.clone();
            let (command, id) = (command.to_string(), account.id);
            match blocking(move || repo.index.begin_run(&command, Some(id))).await {
                Ok(id) => id,
                Err(e) => {
                    summary.record_stop(&e);
                    return (summary, Some(e));
                }
            }
        };
        let (commits, queue) = mpsc::channel(GROUP_ENTRIES);
        let intake = Arc::new_cyclic(|me| RunIntake {
            me: me.clone(),
            grouped: self.repo.group_commit_supported(),
            commits: Mutex::new(Some(commits)),
            repo: self.repo.clone(),
            account: account.clone(),
            run_id,
            source: source.kind(),
            opts: self.opts.clone(),
            pool: self.pool.clone(),
            progress: self.progress.clone(),
            cancel: self.cancel.child_token(),
            summary: Mutex::new(summary),
            touched: Mutex::new(IdSet::new()),
            tasks: Mutex::new(JoinSet::new()),
            known: Mutex::new(if source.kind() == SourceKind::Library {
                Known::Unloaded
            } else {
                Known::Off
            }),
        });
        let committer = tokio::spawn(commit_groups(intake.clone(), queue));
        let result = source.list(intake.clone()).await;
        // Every fetch the listing started ends before the run does, and so does the committer,
        // once the last fetched file is committed (it ends when its queue closes).
        let mut tasks = std::mem::take(&mut *lock(&intake.tasks));
        while tasks.join_next().await.is_some() {}
        drop(lock(&intake.commits).take());
        if let Err(e) = committer.await {
            let e = Error::from_join("committing fetched files", &e);
            tracing::error!("{}: {e}", account.name);
            lock(&intake.summary)
                .failed
                .push(("committing fetched files".into(), e.to_string()));
        }
        let error = result.err().map(|e| {
            let mut s = lock(&intake.summary);
            // The first reason wins: a download that hit the quota cancelled the lister, whose
            // own error then only says "interrupted".
            if s.stopped.is_some() {
                s.stop_error().unwrap_or(e)
            } else {
                s.record_stop(&e);
                e
            }
        });
        let finished = self.finish_run(&intake, started).await;
        (finished, error)
    }

    /// The end of one account's run: what is left after a quota stop, the finishing steps,
    /// `others.txt`, the run's row.
    async fn finish_run(&self, intake: &Arc<RunIntake>, started: Instant) -> RunSummary {
        let account = intake.account.clone();
        let repo = self.repo.clone();
        let touched = std::mem::take(&mut *lock(&intake.touched));
        let finishing = self.opts.finishing;
        let cancelled = intake.cancel.is_cancelled();
        let mut s = lock(&intake.summary).clone();
        let run_id = intake.run_id;
        let out = blocking(move || {
            if s.quota_exhausted {
                let left = repo.index.items_without_content(account.id).unwrap_or(0);
                let detail = s.stopped.take().unwrap_or_default();
                s.stopped = Some(format!(
                    "quota exhausted; run again tomorrow; {left} items left ({detail})"
                ));
            }
            if let Some(why) = &s.stopped {
                tracing::error!("{}: {why}", account.name);
            }
            // After Ctrl-C the finishing steps wait for the next run (a Takeout import finishes
            // every item of its export again; they write only what differs), so the command
            // ends at once.
            if finishing.any() && !cancelled {
                // One transaction for the run's finishing updates (a commit per item cost more
                // than the updates); what they write to disk does not wait for it.
                let failed = &mut s.failed;
                let written = repo
                    .index
                    .batch(|_| Ok(finish_items(&repo, touched, finishing, failed)));
                match written {
                    Ok(n) => s.xmp_written += n,
                    Err(e) => s.failed.push(("finishing steps".into(), e.to_string())),
                }
            }
            if let Err(e) = repo.refresh_all_others(account.id) {
                tracing::error!("{}: rewriting others.txt: {e}", account.name);
                s.failed.push(("others.txt".into(), e.to_string()));
            }
            s.elapsed_secs = started.elapsed().as_secs_f64();
            let json = serde_json::to_string(&s).unwrap_or_default();
            if let Err(e) = repo.index.finish_run(run_id, s.ok(), &json) {
                tracing::error!("{}: recording the run: {e}", account.name);
            }
            Ok(s)
        })
        .await;
        out.unwrap_or_else(|e| {
            let mut s = lock(&intake.summary).clone();
            s.record_stop(&e);
            s
        })
    }

    /// The end of the command: the b3sum-compatible manifest, so the archive can be checked
    /// without photobak.
    ///
    /// # Errors
    /// When the manifest cannot be written.
    pub async fn finish(&self) -> Result<()> {
        let repo = self.repo.clone();
        blocking(move || crate::manifest::write_manifest(&repo))
            .await
            .map(|_| ())
    }
}

/// Capture time from the file, `.xmp`, modification time, once per item, in id order;
/// returns the number of `.xmp` files written.
fn finish_items(
    repo: &Repo,
    items: IdSet,
    finishing: Finishing,
    failed: &mut Vec<(String, String)>,
) -> u64 {
    let mut xmp = 0;
    for id in items.iter() {
        let step = || -> Result<bool> {
            if finishing.time_from_file {
                resolve_from_file(repo, id)?;
            }
            if finishing.xmp || finishing.mtime {
                return finish_file(repo, id, finishing.xmp, finishing.mtime);
            }
            Ok(false)
        };
        match step() {
            Ok(true) => xmp += 1,
            Ok(false) => {}
            Err(e) => {
                tracing::error!("finishing item {id}: {e}");
                failed.push((format!("item {id}"), e.to_string()));
            }
        }
    }
    xmp
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Counters and queues stay usable after a panicked task; the panic itself is reported.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// One account's run, as the source sees it.
struct RunIntake {
    me: Weak<RunIntake>,
    repo: Arc<Repo>,
    account: Account,
    run_id: i64,
    source: SourceKind,
    opts: EngineOptions,
    pool: Arc<Semaphore>,
    progress: Arc<dyn Progress>,
    cancel: CancellationToken,
    summary: Mutex<RunSummary>,
    /// The items to finish, a bit each: a list of ids (a Takeout import touches each item at
    /// least twice) was among what a first import of a large library still held per item.
    touched: Mutex<IdSet>,
    tasks: Mutex<JoinSet<()>>,
    /// The account's stored items, for recognising unchanged ones without a lookup each
    /// ([`KnownItems`]): read when the first page is recorded, Library runs only.
    known: Mutex<Known>,
    /// Fetched files on their way to the committer ([`commit_groups`]); None once the run's
    /// fetches are all done.
    commits: Mutex<Option<mpsc::Sender<Fetched>>>,
    /// Fetches leave their files unsynced and the committer syncs a group with one `syncfs`
    /// (where the file system allows it: [`Repo::group_commit_supported`]).
    grouped: bool,
}

/// The most stored items of an account whose [`KnownItems`] a run reads (41 bytes each: 41 MB
/// here). A larger account's run looks every listed item up (`upsert_item`), slower per item
/// but in memory that does not grow with the library: peak RSS under 100 MB whatever its size
/// (issue 12). A no-op backup of 100,000 items with them took 1.54 s (session 19's full run);
/// without them the lookups were a quarter of its CPU (`index/sightings.rs`).
const KNOWN_ITEMS_AT_MOST: usize = 1_000_000;

/// A run's [`KnownItems`], once read.
enum Known {
    /// Read when the first page is recorded.
    Unloaded,
    Loaded(KnownItems),
    /// Not used: not a Library run, an account of more than [`KNOWN_ITEMS_AT_MOST`] items, or
    /// it could not be read.
    Off,
}

/// Records one listed item: its sighting only when it is known unchanged ([`KnownItems`]: the
/// writes `upsert_item` would make for it, without its lookup), otherwise `upsert_item`.
/// Inside the page's transaction.
fn record_item(
    repo: &Repo,
    known: &mut Known,
    item: &ListedItem,
    account_id: i64,
    run_id: i64,
    source: SourceKind,
) -> Result<ItemState> {
    if let Known::Loaded(k) = known
        && item.source_ref.is_none()
    {
        if let Some(u) = k.unchanged(&item.remote_id, &item.meta)
            && repo
                .index
                .record_sighting(&u, &item.remote_id, run_id, source)?
        {
            k.seen(&u);
            return Ok(ItemState {
                id: u.id,
                content_id: Some(u.content_id),
                is_new: false,
                version_changed: false,
                meta_changed: false,
                seen_this_run: u.seen_this_run,
                prev_source_ref: None,
            });
        }
        // Recorded by `upsert_item`, perhaps changed: its next listing in the run is too.
        k.forget(&item.remote_id);
    }
    repo.index.upsert_item(
        account_id,
        &item.remote_id,
        &item.meta,
        run_id,
        source,
        item.source_ref.as_deref(),
    )
}

/// What recording a listed item found.
struct Recorded {
    id: i64,
    content_id: Option<i64>,
    version_changed: bool,
    meta_changed: bool,
    new_membership: bool,
}

impl RunIntake {
    fn check_cancel(&self) -> Result<()> {
        // Finished fetches leave the set as the listing goes, so it never holds the run.
        {
            let mut tasks = lock(&self.tasks);
            while tasks.try_join_next().is_some() {}
        }
        if self.cancel.is_cancelled() {
            return Err(lock(&self.summary).stop_error().unwrap_or(Error::Cancelled));
        }
        Ok(())
    }

    /// Records a page of listed items in one index transaction. Returns, for each item in
    /// order, what recording found, or None for an item listed earlier in this run (an album's
    /// member listed again); stops early, with `Flow::Stop`, at `--max-photos` (the item that
    /// hit the limit is recorded, not counted, as the item-at-a-time path always did).
    ///
    /// The items go to the blocking thread and come back with what was found (a copy of every
    /// item's metadata for the thread was a few per cent of a no-op backup's CPU).
    async fn record_page(
        &self,
        items: Vec<ListedItem>,
    ) -> Result<(Vec<ListedItem>, Vec<Option<Recorded>>, Flow)> {
        let repo = self.repo.clone();
        let (account_id, run_id, source) = (self.account.id, self.run_id, self.source);
        let counted = lock(&self.summary).items as usize;
        let max = self.opts.max_items;
        // Taken for the page and put back after it (pages are recorded one at a time).
        let mut known = std::mem::replace(&mut *lock(&self.known), Known::Off);
        let (items, recorded, flow, new, known) = blocking(move || {
            if matches!(known, Known::Unloaded) {
                // Without it every item takes `upsert_item`'s lookup, as before.
                known = match repo
                    .index
                    .known_items(account_id, run_id, KNOWN_ITEMS_AT_MOST)
                {
                    Ok(Some(k)) => Known::Loaded(k),
                    Ok(None) => Known::Off,
                    Err(e) => {
                        tracing::warn!("reading the known items: {e}");
                        Known::Off
                    }
                };
            }
            let (recorded, flow, new) = repo.index.batch(|_| {
                let mut out = Vec::with_capacity(items.len());
                let mut new = 0usize;
                for item in &items {
                    let st = record_item(&repo, &mut known, item, account_id, run_id, source)?;
                    let new_membership = match item.album {
                        Some(a) => repo.index.add_membership(a, st.id)? && !st.is_new,
                        None => false,
                    };
                    if st.seen_this_run {
                        out.push(None);
                        continue;
                    }
                    if max.is_some_and(|m| counted + new >= m) {
                        return Ok((out, Flow::Stop, new));
                    }
                    new += 1;
                    out.push(Some(Recorded {
                        id: st.id,
                        content_id: st.content_id,
                        version_changed: st.version_changed,
                        meta_changed: st.meta_changed,
                        new_membership,
                    }));
                }
                Ok((out, Flow::Continue, new))
            })?;
            Ok((items, recorded, flow, new, known))
        })
        .await?;
        *lock(&self.known) = known;
        lock(&self.summary).items += new as u64;
        Ok((items, recorded, flow))
    }

    /// What follows recording for one item: skipped when its bytes are not ready, counted when
    /// it needs none, otherwise its fetch is started on the pool (waiting for a free slot).
    async fn fetch_if_needed(&self, item: ListedItem, r: Recorded) -> Result<()> {
        let fetch = match item.bytes {
            Bytes::Fetch(f) => f,
            Bytes::NotReady(reason) => {
                tracing::info!(
                    "{}: {} is not ready at Google ({reason}); it will be fetched on a later run",
                    self.account.name,
                    item.meta.filename
                );
                lock(&self.summary).skip(reason);
                self.progress.finished();
                return Ok(());
            }
        };
        if !self.needs_bytes(&r).await? {
            let mut s = lock(&self.summary);
            if r.meta_changed || r.new_membership {
                s.updated += 1;
            } else {
                s.unchanged += 1;
            }
            return Ok(());
        }
        let permit = tokio::select! {
            p = self.pool.clone().acquire_owned() => p.map_err(|_| Error::Cancelled)?,
            _ = self.cancel.cancelled() => {
                return Err(lock(&self.summary).stop_error().unwrap_or(Error::Cancelled));
            }
        };
        self.progress.queued(None);
        let Some(me) = self.me.upgrade() else {
            return Err(Error::Cancelled);
        };
        let job = FetchJob {
            run: me,
            item_id: r.id,
            had_content: r.content_id.is_some(),
            meta_changed: r.meta_changed,
            remote_id: item.remote_id,
            filename: item.meta.filename,
            taken_at: item.meta.taken_at,
            version: item.meta.version,
        };
        lock(&self.tasks).spawn(async move {
            // The slot is held until the file is fetched and queued for its group commit: the
            // queue is bounded, so downloads wait for a slow disk instead of filling `tmp/`.
            job.run(fetch).await;
            drop(permit);
        });
        Ok(())
    }

    async fn needs_bytes(&self, r: &Recorded) -> Result<bool> {
        match r.content_id {
            None => Ok(true),
            Some(_) if r.version_changed => Ok(true),
            Some(cid) if self.opts.integrity => Ok(!file_is_healthy(&self.repo, cid).await?),
            Some(_) => Ok(false),
        }
    }

    /// Counts what storing an item did, once per item.
    fn tally(s: &mut RunSummary, stored: &Stored, had_content: bool, meta_changed: bool) {
        match stored {
            Stored::New(_) | Stored::Forked(_) if !had_content => s.new += 1,
            Stored::Linked(_) if !had_content => s.deduplicated += 1,
            Stored::Repaired(_) => s.repaired += 1,
            Stored::Unchanged(_) if meta_changed => s.updated += 1,
            Stored::Unchanged(_) => s.unchanged += 1,
            _ => s.updated += 1,
        }
    }
}

impl Intake for RunIntake {
    fn account(&self) -> &Account {
        &self.account
    }

    fn run_id(&self) -> i64 {
        self.run_id
    }

    fn cancel(&self) -> &CancellationToken {
        &self.cancel
    }

    fn progress(&self) -> Arc<dyn Progress> {
        self.progress.clone()
    }

    fn album(&self, album: NewAlbum) -> BoxFuture<'_, Result<i64>> {
        Box::pin(async move {
            self.check_cancel()?;
            let repo = self.repo.clone();
            let (account, run_id, source) = (self.account.clone(), self.run_id, self.source);
            let id = blocking(move || {
                let a = repo.index.upsert_album(
                    &account,
                    &AlbumSpec {
                        remote_id: &album.remote_id,
                        source,
                        title: &album.title,
                        description: album.description.as_deref(),
                        kind: album.kind,
                        raw_json: album.raw_json.as_deref(),
                    },
                    Some(run_id),
                    |n| album_folder(&account, &album.title, n),
                )?;
                Ok(a.id)
            })
            .await?;
            lock(&self.summary).albums += 1;
            Ok(id)
        })
    }

    fn item(&self, item: ListedItem) -> BoxFuture<'_, Result<Flow>> {
        self.items(vec![item])
    }

    fn items(&self, items: Vec<ListedItem>) -> BoxFuture<'_, Result<Flow>> {
        Box::pin(async move {
            self.check_cancel()?;
            let (items, recorded, flow) = self.record_page(items).await?;
            for (item, r) in items.into_iter().zip(recorded) {
                if let Some(r) = r {
                    self.check_cancel()?;
                    self.fetch_if_needed(item, r).await?;
                }
            }
            Ok(flow)
        })
    }

    fn store(&self, delivery: &Delivery<'_>, staged: Staged) -> Result<Stored> {
        let size = staged.size;
        let stored = ingest(
            &self.repo,
            &IngestRequest {
                account: &self.account,
                item_id: delivery.item_id,
                filename: delivery.filename,
                taken_at: delivery.taken_at,
            },
            staged,
        )?;
        let mut s = lock(&self.summary);
        s.bytes += size;
        if delivery.counted {
            // Counted as updated or unchanged already; new bytes for it are a repair.
            if !delivery.replaces_copy
                && matches!(stored, Stored::Repaired(_) | Stored::Replaced(_))
            {
                s.repaired += 1;
            }
        } else {
            RunIntake::tally(&mut s, &stored, false, false);
        }
        drop(s);
        self.touched(delivery.item_id);
        Ok(stored)
    }

    fn touched(&self, item_id: i64) {
        lock(&self.touched).insert(item_id);
    }

    fn report(&self, f: &mut dyn FnMut(&mut RunSummary)) {
        f(&mut lock(&self.summary));
    }
}

async fn file_is_healthy(repo: &Arc<Repo>, content_id: i64) -> Result<bool> {
    let repo = repo.clone();
    blocking(move || {
        let Some(c) = repo.index.content(content_id)? else {
            return Ok(false);
        };
        Ok(hash_file(&repo.abs(&c.path))
            .map(|(h, _)| h == c.blake3)
            .unwrap_or(false))
    })
    .await
}

// A group's bounds are the group commit's (`repo::store::GROUP_ENTRIES` and the others), and
// the committer's queue holds a group, so the fetches go on while one is committed. A group
// used to be whatever was queued when the committer was free (up to 256): at thumbnail sizes
// the committer kept up, so groups were of 7 files, and a backup of 20,000 paid 2,710
// `syncfs`, as many folder fsyncs and commits (strace: 12.4 s in the syncs), and 239,393
// `pwrite`s of index pages. Filled for up to `GROUP_EVERY`, the same backup pays 38 `syncfs`,
// 59 `fsync`s and 143,178 `pwrite`s (BENCHMARKS.md, session 19).

/// One item's fetch on the pool; its storing is the committer's ([`commit_groups`]).
struct FetchJob {
    run: Arc<RunIntake>,
    item_id: i64,
    had_content: bool,
    meta_changed: bool,
    remote_id: String,
    filename: String,
    taken_at: Option<i64>,
    version: Option<String>,
}

/// A fetched file waiting for its group commit.
struct Fetched {
    job: FetchJob,
    staged: Staged,
}

impl FetchJob {
    /// Fetches the bytes and queues them for the committer; a failed fetch is recorded now.
    async fn run(self, fetch: FetchBytes) {
        let cx = FetchContext {
            cancel: self.run.cancel.clone(),
            progress: self.run.progress.clone(),
            sync: !self.run.grouped,
        };
        match fetch(cx).await {
            Ok(staged) => {
                lock(&self.run.summary).bytes += staged.size;
                let queue = lock(&self.run.commits).clone();
                match queue {
                    // The committer ends only after every fetch has ended, so a send fails only
                    // when the committer died (a panic, reported by the run).
                    Some(q) => {
                        if let Err(mpsc::error::SendError(f)) =
                            q.send(Fetched { job: self, staged }).await
                        {
                            f.job
                                .concluded(Err(Error::Invalid("the committer ended early".into())));
                        }
                    }
                    None => self.concluded(Err(Error::Cancelled)),
                }
            }
            Err(e) => {
                if !e.stops_account() {
                    let (repo, account_id) = (self.run.repo.clone(), self.run.account.id);
                    let (remote_id, filename, message) =
                        (self.remote_id.clone(), self.filename.clone(), e.to_string());
                    let _ = blocking(move || {
                        repo.index
                            .record_failure(account_id, &remote_id, &filename, Some(&message))
                    })
                    .await;
                }
                self.concluded(Err(e));
            }
        }
    }

    /// Stores the fetched bytes (the one ingest path) and records what follows in the index:
    /// the version now that its bytes are stored (a failed fetch is retried by the next run),
    /// the item's failure cleared, or recorded when storing failed. Blocking; inside the
    /// group's transaction.
    fn store(&self, staged: Staged) -> Result<Stored> {
        let run = &self.run;
        let repo = &run.repo;
        let stored = ingest(
            repo,
            &IngestRequest {
                account: &run.account,
                item_id: self.item_id,
                filename: &self.filename,
                taken_at: self.taken_at,
            },
            staged,
        );
        let (account_id, remote_id, filename) = (run.account.id, &self.remote_id, &self.filename);
        match &stored {
            Ok(_) => {
                let _ = repo
                    .index
                    .record_failure(account_id, remote_id, filename, None);
                if let Some(v) = &self.version
                    && let Err(e) = repo.index.set_item_version(self.item_id, v)
                {
                    tracing::error!(
                        "{}: recording the version of {}: {e}",
                        run.account.name,
                        self.filename
                    );
                }
            }
            Err(e) => {
                let _ = repo.index.record_failure(
                    account_id,
                    remote_id,
                    filename,
                    Some(&e.to_string()),
                );
            }
        }
        stored
    }

    /// Counts the item's outcome once it is committed (or failed) and reports it finished.
    fn concluded(self, result: Result<Stored>) {
        let run = &self.run;
        match result {
            Ok(stored) => {
                RunIntake::tally(
                    &mut lock(&run.summary),
                    &stored,
                    self.had_content,
                    self.meta_changed,
                );
                run.touched(self.item_id);
            }
            Err(e) if e.stops_account() => {
                lock(&run.summary).record_stop(&e);
                run.cancel.cancel();
            }
            Err(e) => {
                tracing::error!(
                    "{}: {} ({}): {e}",
                    run.account.name,
                    self.filename,
                    self.remote_id
                );
                lock(&run.summary)
                    .failed
                    .push((self.filename.clone(), e.to_string()));
            }
        }
        run.progress.finished();
    }
}

/// The run's committer: stores fetched files by groups, the same group commit as a Takeout
/// import's bytes pass. A group is what the fetches queue within [`GROUP_EVERY`] of its first
/// file (up to [`GROUP_ENTRIES`] files or [`GROUP_BYTES`], or until the last fetch has
/// ended); the next one is queued while it is committed. Its files, fetched without an
/// fsync, are made durable with one `syncfs`, placed (renamed into their folders), the folders
/// fsynced once, and only then are the group's index rows committed, in one transaction. So the
/// index never names a file a power cut could take back; a crash before the commit leaves whole
/// files under their final names, which the next run adopts when it fetches them again
/// (`Repo::place_new`), and nothing partial under a final name.
async fn commit_groups(run: Arc<RunIntake>, mut queue: mpsc::Receiver<Fetched>) {
    while let Some(first) = queue.recv().await {
        let deadline = tokio::time::Instant::now() + GROUP_EVERY;
        let mut bytes = first.staged.size;
        let mut group = vec![first];
        while group.len() < GROUP_ENTRIES && bytes < GROUP_BYTES {
            match tokio::time::timeout_at(deadline, queue.recv()).await {
                Ok(Some(f)) => {
                    bytes += f.staged.size;
                    group.push(f);
                }
                Ok(None) | Err(_) => break,
            }
        }
        let repo = run.repo.clone();
        let grouped = run.grouped;
        let done = tokio::task::spawn_blocking(move || commit_group(&repo, grouped, group)).await;
        match done {
            Ok(done) => {
                for (job, result) in done {
                    job.concluded(result);
                }
            }
            Err(e) => {
                // A panic in a group: its jobs are gone with it; the run reports it.
                let e = Error::from_join("committing fetched files", &e);
                tracing::error!("{}: {e}", run.account.name);
                lock(&run.summary)
                    .failed
                    .push(("committing fetched files".into(), e.to_string()));
            }
        }
    }
}

/// One group: synced, placed, folders synced, index rows committed. Blocking.
fn commit_group(
    repo: &Repo,
    grouped: bool,
    group: Vec<Fetched>,
) -> Vec<(FetchJob, Result<Stored>)> {
    if grouped && let Err(e) = repo.sync_staged() {
        // Nothing is placed: every file of the group is fetched again by the next run.
        return group
            .into_iter()
            .map(|f| (f.job, Err(retold(&e))))
            .collect();
    }
    let mut jobs = Vec::with_capacity(group.len());
    let committed = repo.index.batch(|_: &Batch<'_>| {
        repo.begin_group();
        for Fetched { job, staged } in group {
            let result = job.store(staged);
            jobs.push((job, result));
        }
        // The folders are synced even when a placement failed, so what was placed is durable;
        // when they cannot be, the group's rows are rolled back: the index must not name files
        // whose names a power cut could take back (the next run adopts them).
        repo.end_group()
    });
    if let Err(e) = committed {
        for (_, result) in &mut jobs {
            if result.is_ok() {
                *result = Err(retold(&e));
            }
        }
    }
    jobs
}

/// The same error for each item of a failed group: a file error stays one (with its kind, so
/// a full disk still reads as one), anything else keeps its message.
fn retold(e: &Error) -> Error {
    match e {
        Error::Io { context, source } => Error::Io {
            context: context.clone(),
            source: std::io::Error::new(source.kind(), source.to_string()),
        },
        other => Error::Invalid(other.to_string()),
    }
}
