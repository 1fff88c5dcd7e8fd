//! `photobak backup`: the Library API backup, once or on a schedule.

use std::path::Path;
use std::sync::Arc;

use photobak_core::backup::{AccountSummary, BackupOptions, backup};
use photobak_core::repo::Repo;
use tokio_util::sync::CancellationToken;

use crate::cli::BackupArgs;

/// Runs the backup (repeatedly with `--every`). Returns true when every account succeeded.
pub async fn run(
    repo_path: &Path,
    args: &BackupArgs,
    cancel: CancellationToken,
) -> anyhow::Result<bool> {
    let google = super::google_access()?;
    let Some(interval) = args.every else {
        return once(repo_path, args, &google, cancel).await;
    };
    let all_ok = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    photobak_core::schedule::every(interval, cancel.clone(), |n| {
        let google = google.clone();
        let cancel = cancel.clone();
        let all_ok = all_ok.clone();
        async move {
            tracing::info!("scheduled run {n} starting");
            match once(repo_path, args, &google, cancel).await {
                Ok(ok) => {
                    all_ok.fetch_and(ok, std::sync::atomic::Ordering::Relaxed);
                }
                Err(e) => {
                    // In scheduled mode an error is logged and the loop goes on.
                    tracing::error!("scheduled run {n}: {e:#}");
                    all_ok.store(false, std::sync::atomic::Ordering::Relaxed);
                }
            }
            tracing::info!("next run in {}", humantime::format_duration(interval));
        }
    })
    .await;
    Ok(all_ok.load(std::sync::atomic::Ordering::Relaxed))
}

async fn once(
    repo_path: &Path,
    args: &BackupArgs,
    google: &photobak_core::backup::GoogleAccess,
    cancel: CancellationToken,
) -> anyhow::Result<bool> {
    // Opened per run so the lock is released between scheduled runs.
    let repo = Arc::new(Repo::open(repo_path)?);
    let accounts = if args.accounts.is_empty() {
        repo.index
            .accounts()?
            .into_iter()
            .map(|a| a.name)
            .collect::<Vec<_>>()
    } else {
        args.accounts.clone()
    };
    if accounts.is_empty() {
        anyhow::bail!(
            "no account to back up: name one with --googlephotos ADDRESS (and authorise it first \
             with `photobak auth --googlephotos ADDRESS`)"
        );
    }
    let opts = BackupOptions {
        accounts,
        concurrency: args.concurrency as usize,
        max_albums: args.max_albums,
        max_photos: args.max_photos,
        integrity: args.integrity,
        everything: args.everything,
    };
    let progress = crate::progress::for_terminal();
    let summaries = backup(repo.clone(), google.clone(), opts, progress, cancel).await?;
    // The b3sum-compatible manifest follows every run, so the archive can be checked without
    // photobak.
    let manifest_repo = repo.clone();
    tokio::task::spawn_blocking(move || photobak_core::manifest::write_manifest(&manifest_repo))
        .await??;
    for s in &summaries {
        println!("{}", render(s));
    }
    Ok(summaries.iter().all(AccountSummary::ok))
}

/// One summary line (plus detail lines for failures) per account.
pub fn render(s: &AccountSummary) -> String {
    let mut out = format!(
        "{}: {} albums, {} items seen: {} new, {} deduplicated, {} updated, {} unchanged",
        s.account, s.albums, s.items_seen, s.new, s.deduplicated, s.updated, s.unchanged
    );
    if s.repaired > 0 {
        out.push_str(&format!(", {} repaired", s.repaired));
    }
    let skipped: u64 = s.skipped.values().sum();
    if skipped > 0 {
        let why: Vec<String> = s.skipped.iter().map(|(k, v)| format!("{v} {k}")).collect();
        out.push_str(&format!(", {skipped} skipped ({})", why.join(", ")));
    }
    out.push_str(&format!(
        ", {} failed; {} downloaded in {:.1}s",
        s.failed.len(),
        indicatif::HumanBytes(s.bytes_downloaded),
        s.elapsed_secs
    ));
    if s.new + s.deduplicated + s.updated + s.repaired == 0
        && s.failed.is_empty()
        && s.stopped.is_none()
    {
        out.push_str(" (nothing changed)");
    }
    for (name, why) in &s.failed {
        out.push_str(&format!("\n  failed: {name}: {why}"));
    }
    if let Some(why) = &s.stopped {
        out.push_str(&format!("\n  stopped: {why}"));
    }
    out
}
