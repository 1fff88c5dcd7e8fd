//! `backup`: the Library API of every account, run on the engine.
//!
//! Every account runs concurrently on one [`Engine`]: one download pool bounded by
//! `--concurrency`, one pacer, one manifest at the end. The listing is the Library source's
//! ([`LibrarySource`]); recording, fetching, storing, counting and finishing are the engine's.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::engine::{Engine, EngineOptions, Finishing};
use crate::error::{Error, Result};
use crate::google::PROVIDER;
use crate::kinds::Source;
use crate::progress::Progress;
use crate::repo::Repo;
use crate::source::library::{LibraryOptions, LibrarySource};
use crate::summary::RunSummary;

pub use crate::google::GoogleAccess;

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

/// Backs up every account in `opts`, concurrently, and returns one summary per account, then
/// writes the manifest.
///
/// # Errors
/// Only errors that concern the whole run; per-account problems are in the summaries.
pub async fn backup(
    repo: Arc<Repo>,
    google: GoogleAccess,
    opts: BackupOptions,
    progress: Arc<dyn Progress>,
    cancel: CancellationToken,
) -> Result<Vec<RunSummary>> {
    let engine = Engine::new(
        repo,
        EngineOptions {
            concurrency: opts.concurrency,
            integrity: opts.integrity,
            max_items: opts.max_photos,
            // The API's creation time is the photo's; its downloads carry no location.
            finishing: Finishing::default(),
        },
        progress,
        cancel,
    )?;
    let listing = LibraryOptions {
        max_albums: opts.max_albums,
        everything: opts.everything,
    };
    let runs = opts
        .accounts
        .iter()
        .map(|address| backup_account(&engine, &google, address, listing));
    let summaries = futures::future::join_all(runs).await;
    engine.finish().await?;
    Ok(summaries)
}

async fn backup_account(
    engine: &Engine,
    google: &GoogleAccess,
    address: &str,
    listing: LibraryOptions,
) -> RunSummary {
    let source = engine
        .repo()
        .index
        .account(PROVIDER, address)
        .and_then(|account| {
            // Looked up, never created: an address that was never authorised is a mistake to
            // report, not an account to remember (it would then be backed up, failing, on
            // every later run).
            let account = account.ok_or_else(|| Error::Credentials {
                account: address.to_string(),
                message: format!(
                    "not authorised yet; run `photobak auth --googlephotos {address}`"
                ),
            })?;
            let source =
                LibrarySource::new(engine.repo(), google, &account, engine.pacer(), listing)?;
            Ok((account, source))
        });
    match source {
        Ok((account, source)) => engine.run(&account, "backup", &source).await.0,
        Err(e) => {
            tracing::error!("{address}: {e}");
            let mut s = RunSummary::new(address, Source::Library);
            s.record_stop(&e);
            s
        }
    }
}
