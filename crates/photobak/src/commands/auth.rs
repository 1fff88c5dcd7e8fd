//! `photobak auth` (= `-authonly`): obtain and store credentials, then exit.

use std::sync::Arc;

use photobak_core::backup::ensure_account;
use photobak_core::google::oauth::{AuthorizeRequest, authorize};
use photobak_core::google::{SCOPE_LIBRARY_READ, SCOPE_PICKER};
use photobak_core::repo::Repo;

use crate::cli::AuthArgs;

/// Runs the browser flow for each account and stores the tokens in the repository's index.
pub async fn run(repo_path: &std::path::Path, args: &AuthArgs) -> anyhow::Result<()> {
    let google = super::google_access()?;
    let repo = Arc::new(Repo::open(repo_path)?);
    for address in &args.accounts {
        let account = ensure_account(&repo, address)?;
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
            },
        )
        .await?;
        repo.index
            .set_credentials(account.id, Some(&serde_json::to_string(&token)?))?;
        println!(
            "{address}: authorised; credentials stored in {}",
            repo.root().join(photobak_core::index::INDEX_FILE).display()
        );
    }
    Ok(())
}
