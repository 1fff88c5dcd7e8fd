//! Complete listings of what a source holds now, for the commands that compare it with the
//! repository (prune) or fetch single items again (verify `--repair`).
//!
//! A listing is only worth acting on when it is complete, so everything that could make it
//! partial is recorded as a problem instead of being papered over: a page that failed after its
//! retries, an album that yielded fewer items than its `mediaItemsCount`, an item seen in an
//! album but missing from the full listing, an account that cannot be listed at all. The caller
//! decides what a problem means; prune refuses to remove anything.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::backup::GoogleAccess;
use crate::error::{Error, Result};
use crate::google::http::Pacer;
use crate::google::library::{LibraryClient, PageWalk};
use crate::google::oauth::{Token, TokenSource, TokenStore};
use crate::index::Account;
use crate::progress::Progress;
use crate::repo::Repo;

/// An album as a complete listing saw it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ListedAlbum {
    /// Title.
    pub title: String,
    /// `mediaItemsCount` as the API announced it (absent means zero).
    pub announced: i64,
    /// Ids of the items listed in it.
    pub items: BTreeSet<String>,
}

/// Everything the Library API listed for one account.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LibraryListing {
    /// Albums by remote id.
    pub albums: BTreeMap<String, ListedAlbum>,
    /// Every item id of the account (`mediaItems.list`).
    pub items: BTreeSet<String>,
    /// Why the listing cannot be trusted; empty when complete.
    pub problems: Vec<String>,
}

impl LibraryListing {
    /// True when nothing suggests the listing is partial.
    pub fn complete(&self) -> bool {
        self.problems.is_empty()
    }

    /// Records the problems a set of complete-looking pages can still reveal: albums that
    /// listed fewer items than they announced, and album members missing from the full listing.
    pub fn check_consistency(&mut self) {
        for (id, album) in &self.albums {
            if (album.items.len() as i64) < album.announced {
                self.problems.push(format!(
                    "album {:?} ({id}) listed {} items but announces {}: the listing looks truncated",
                    album.title,
                    album.items.len(),
                    album.announced
                ));
            }
        }
        let missing: BTreeSet<&String> = self
            .albums
            .values()
            .flat_map(|a| a.items.iter())
            .filter(|i| !self.items.contains(*i))
            .collect();
        if !missing.is_empty() {
            self.problems.push(format!(
                "{} items listed in albums are missing from the full item listing: the listing looks truncated",
                missing.len()
            ));
        }
    }
}

/// Builds an authorised Library API client for an account from its stored credentials.
///
/// # Errors
/// [`Error::Credentials`] when the account is not authorised or its token is unreadable.
pub fn library_client(
    repo: &Arc<Repo>,
    google: &GoogleAccess,
    account: &Account,
    pacer: Arc<Pacer>,
) -> Result<LibraryClient> {
    let address = &account.name;
    let token: Token = match account.credentials.as_deref() {
        Some(json) => serde_json::from_str(json).map_err(|e| Error::Credentials {
            account: address.clone(),
            message: format!(
                "stored credentials are unreadable ({e}); run `photobak auth --googlephotos {address}`"
            ),
        })?,
        None => {
            return Err(Error::Credentials {
                account: address.clone(),
                message: format!(
                    "not authorised yet; run `photobak auth --googlephotos {address}`"
                ),
            });
        }
    };
    struct RepoTokens(Arc<Repo>);
    impl TokenStore for RepoTokens {
        fn save(&self, account_id: i64, json: &str) -> Result<()> {
            self.0.index.set_credentials(account_id, Some(json))
        }
    }
    let tokens = Arc::new(TokenSource::new(
        address,
        account.id,
        token,
        google.http.clone(),
        google.endpoints.clone(),
        google.client.clone(),
        Arc::new(RepoTokens(repo.clone())),
    ));
    Ok(LibraryClient::new(
        google.http.clone(),
        google.endpoints.clone(),
        tokens,
        google.policy.clone(),
        pacer,
    ))
}

/// Lists an account completely: every album with its items, then every item. Failures end up
/// in [`LibraryListing::problems`], never as a partial listing that looks whole. Each item of
/// the full listing is reported to `progress` as finished (the caller queues what it expects).
pub async fn list_library(
    client: &LibraryClient,
    cancel: &CancellationToken,
    progress: &dyn Progress,
) -> LibraryListing {
    let mut out = LibraryListing::default();
    if let Err(e) = list_into(client, cancel, progress, &mut out).await {
        out.problems.push(format!("listing failed: {e}"));
        return out;
    }
    out.check_consistency();
    out
}

async fn list_into(
    client: &LibraryClient,
    cancel: &CancellationToken,
    progress: &dyn Progress,
    out: &mut LibraryListing,
) -> Result<()> {
    let mut walk = PageWalk::default();
    let mut albums = Vec::new();
    while let Some(req) = walk.next(cancel)? {
        let page = client.albums_page(req.token()).await?;
        albums.extend(page.items);
        walk.advance(page.next)?;
    }
    for album in albums {
        let mut listed = ListedAlbum {
            title: album.title.clone().unwrap_or_default(),
            announced: album.media_items_count.unwrap_or(0),
            items: BTreeSet::new(),
        };
        let mut walk = PageWalk::default();
        while let Some(req) = walk.next(cancel)? {
            let page = client.album_items_page(&album.id, req.token()).await?;
            listed.items.extend(page.items.into_iter().map(|i| i.id));
            walk.advance(page.next)?;
        }
        out.albums.insert(album.id, listed);
    }
    let mut walk = PageWalk::default();
    while let Some(req) = walk.next(cancel)? {
        let page = client.items_page(req.token()).await?;
        for _ in &page.items {
            progress.finished();
        }
        out.items.extend(page.items.into_iter().map(|i| i.id));
        walk.advance(page.next)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &[&str]) -> BTreeSet<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn short_album_and_missing_members_make_the_listing_incomplete() {
        let mut l = LibraryListing {
            items: ids(&["a", "b", "c"]),
            ..Default::default()
        };
        l.albums.insert(
            "A1".into(),
            ListedAlbum {
                title: "Trip".into(),
                announced: 2,
                items: ids(&["a", "b"]),
            },
        );
        l.check_consistency();
        assert!(l.complete(), "{:?}", l.problems);

        l.albums.get_mut("A1").unwrap().announced = 3;
        l.albums.insert(
            "A2".into(),
            ListedAlbum {
                title: "Other".into(),
                announced: 1,
                items: ids(&["z"]),
            },
        );
        l.check_consistency();
        assert_eq!(l.problems.len(), 2, "{:?}", l.problems);
        assert!(l.problems[0].contains("announces 3"));
        assert!(l.problems[1].contains("1 items listed in albums are missing"));
    }
}
