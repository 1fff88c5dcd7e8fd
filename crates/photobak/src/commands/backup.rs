//! `photobak backup`: the Library API backup, once or on a schedule.

use std::path::Path;
use std::sync::Arc;

use photobak_core::backup::{AccountSummary, BackupOptions, backup};
use photobak_core::google::PROVIDER;
use photobak_core::repo::{Repo, is_repository};
use tokio_util::sync::CancellationToken;

use crate::cli::BackupArgs;
use crate::exit::{CliError, Exit, command_prefix};

/// Runs the backup (repeatedly with `--every`). Returns true when every account succeeded.
pub async fn run(
    repo_path: &Path,
    args: &BackupArgs,
    cancel: CancellationToken,
) -> anyhow::Result<bool> {
    let google = super::google_access()?;
    if !is_repository(repo_path) {
        // Nothing can be backed up into a repository that does not exist yet (credentials live
        // in its index), so say what to do instead of creating an empty one.
        return Err(no_work(repo_path, &args.accounts, &[]).into());
    }
    let Some(interval) = args.every else {
        return once(repo_path, args, &google, cancel).await;
    };
    // A schedule with nothing to do would log the same error every interval: refuse it now.
    accounts_to_back_up(&Repo::open(repo_path)?, repo_path, args)?;
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
    let accounts = accounts_to_back_up(&repo, repo_path, args)?;
    let opts = BackupOptions {
        accounts,
        concurrency: args.concurrency as usize,
        max_albums: args.max_albums,
        max_photos: args.max_photos,
        integrity: args.integrity,
        everything: args.everything,
    };
    let progress = crate::progress::for_terminal(false, "listing the library");
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

/// The named accounts, or every authorised one. When none of them can work there is nothing to
/// run: an error, not an empty run. When some can, the others fail in the summary (exit 1) and
/// the rest is backed up.
fn accounts_to_back_up(
    repo: &Repo,
    repo_path: &Path,
    args: &BackupArgs,
) -> anyhow::Result<Vec<String>> {
    let authorised: Vec<String> = repo
        .index
        .accounts()?
        .into_iter()
        .filter(|a| a.provider == PROVIDER && a.credentials.is_some())
        .map(|a| a.name)
        .collect();
    let accounts = if args.accounts.is_empty() {
        authorised.clone()
    } else {
        args.accounts.clone()
    };
    if !accounts.iter().any(|a| authorised.contains(a)) {
        return Err(no_work(repo_path, &args.accounts, &authorised).into());
    }
    Ok(accounts)
}

/// Why a backup has nothing to do, and what to do about it.
fn no_work(repo_path: &Path, named: &[String], authorised: &[String]) -> CliError {
    let cmd = command_prefix(repo_path);
    if named.is_empty() {
        return CliError::new(
            Exit::Usage,
            format!(
                "no account to back up: {} holds no authorised account",
                repo_path.display()
            ),
        )
        .hint(format!(
            "authorise one with `{cmd} auth --googlephotos ADDRESS`, then run `{cmd} backup`; \
             for the whole library import a Takeout export: `{cmd} import takeout PARTS…`"
        ));
    }
    let list = named.join(", ");
    let also = if authorised.is_empty() {
        String::new()
    } else {
        format!(" (authorised here: {})", authorised.join(", "))
    };
    CliError::new(
        Exit::Config,
        format!("{list}: not authorised in {}{also}", repo_path.display()),
    )
    .hint(format!(
        "run `{cmd} auth --googlephotos {}` first",
        named[0]
    ))
}

/// A skip reason in words that cannot be read as a failure of photobak: Google's video status
/// `FAILED` next to "0 failed" read as a contradiction.
fn skip_reason(key: &str) -> String {
    match key.strip_prefix("video ") {
        Some("FAILED") => "video Google could not process".into(),
        Some("PROCESSING") => "video still processing at Google".into(),
        Some(other) => format!("video not ready at Google ({})", other.to_lowercase()),
        None => key.to_string(),
    }
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
        let why: Vec<String> = s
            .skipped
            .iter()
            .map(|(k, v)| format!("{v} {}", skip_reason(k)))
            .collect();
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
