//! `photobak backup`: the Library API backup, once or on a schedule.

use std::path::Path;
use std::sync::Arc;

use photobak_core::backup::{BackupOptions, backup};
use photobak_core::google::PROVIDER;
use photobak_core::repo::{Repo, is_repository};
use photobak_core::summary::RunSummary;
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
    Ok(super::scheduled(interval, cancel.clone(), || {
        once(repo_path, args, &google, cancel.clone())
    })
    .await)
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
    // The engine writes the b3sum-compatible manifest after every run, so the archive can be
    // checked without photobak.
    let summaries = backup(repo.clone(), google.clone(), opts, progress, cancel).await?;
    for s in &summaries {
        println!("{}", super::summary::render(s));
    }
    Ok(summaries.iter().all(RunSummary::ok))
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
