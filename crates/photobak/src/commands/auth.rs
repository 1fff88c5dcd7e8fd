//! `photobak auth` (= `-authonly`): obtain and store credentials, then exit.

use std::sync::Arc;

use photobak_core::google::oauth::{AuthorizeRequest, authorize};
use photobak_core::google::{SCOPE_LIBRARY_READ, SCOPE_PICKER};
use photobak_core::repo::{Repo, is_repository};
use tokio_util::sync::CancellationToken;

use crate::cli::AuthArgs;

/// Runs the browser flow for each account and stores the tokens in the repository's index.
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
                scopes: &[SCOPE_LIBRARY_READ, SCOPE_PICKER],
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
        repo.index
            .set_credentials(account.id, Some(&serde_json::to_string(&token)?))?;
        println!(
            "{address}: authorised; credentials stored in {}",
            repo.root().join(photobak_core::index::INDEX_FILE).display()
        );
    }
    Ok(())
}
