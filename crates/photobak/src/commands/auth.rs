//! `photobak auth` (= `-authonly`): obtain and store credentials, then exit.

use std::sync::Arc;

use photobak_core::google::oauth::{AuthorizeRequest, authorize};
use photobak_core::google::{SCOPE_DRIVE_READ, SCOPE_LIBRARY_READ, SCOPE_PICKER};
use photobak_core::repo::{Repo, is_repository};
use tokio_util::sync::CancellationToken;

use crate::cli::AuthArgs;

/// Runs the browser flow for each account and stores the tokens in the repository's index.
///
/// With `--drive` the flow asks for read-only Google Drive access only, a consent of its own
/// stored in `accounts.drive_credentials`: an account that never imports from Drive never
/// grants photobak its Drive, and the Photos consent stays as it was.
///
/// An existing repository is opened (and locked) first, so that "in use by another photobak"
/// is said before the person goes through the browser. A new one is created only once a token
/// is in hand, and an account is recorded only with its credentials: a denied or abandoned
/// sign-in leaves nothing behind.
pub async fn run(
    repo_path: &std::path::Path,
    args: &AuthArgs,
    cancel: CancellationToken,
) -> anyhow::Result<()> {
    let google = super::google_access()?;
    let mut repo = if is_repository(repo_path) {
        Some(Arc::new(Repo::open(repo_path)?))
    } else {
        None
    };
    for address in &args.accounts {
        let show = |url: &str| {
            println!(
                "To authorise {address}, open this address in a browser signed in to that account:\n\n  {url}\n"
            );
        };
        let token = authorize(
            &google.http,
            &google.endpoints,
            &google.client,
            AuthorizeRequest {
                address,
                scopes: if args.drive {
                    &[SCOPE_DRIVE_READ]
                } else {
                    &[SCOPE_LIBRARY_READ, SCOPE_PICKER]
                },
                show_url: &show,
                open_browser: !args.no_browser,
                timeout: args.timeout,
                cancel: &cancel,
            },
        )
        .await?;
        let repo = match &repo {
            Some(r) => r.clone(),
            None => repo.insert(Arc::new(Repo::open(repo_path)?)).clone(),
        };
        let account = repo.ensure_account(address)?;
        let json = serde_json::to_string(&token)?;
        let what = if args.drive {
            repo.index.set_drive_credentials(account.id, Some(&json))?;
            "read-only Google Drive access authorised"
        } else {
            repo.index.set_credentials(account.id, Some(&json))?;
            "authorised"
        };
        println!(
            "{address}: {what}; credentials stored in {}",
            repo.root().join(photobak_core::index::INDEX_FILE).display()
        );
    }
    Ok(())
}
