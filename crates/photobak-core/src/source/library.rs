//! The Library API as a [`Source`]: its listing for a backup (albums, user albums before
//! automatic ones so files land in curated folders; each album's items; then every item, so
//! items in no album are kept too), its complete listing of an account (for prune), and single
//! items fetched (for the engine's pool and for `verify --repair`).
//!
//! A listing is only worth acting on when it is complete, so everything that could make it
//! partial is recorded as a problem instead of being papered over: a page that failed after its
//! retries, an album that yielded fewer items than its `mediaItemsCount`, an item seen in an
//! album but missing from the full listing, an account that cannot be listed at all. The caller
//! decides what a problem means; prune refuses to remove anything.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Instant;

use futures::future::BoxFuture;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::{
    Bytes, Completeness, FetchContext, Fetched, Flow, Holdings, Intake, ItemRef, Listed,
    ListedItem, NewAlbum, Source, Sources,
};
use crate::error::{Error, Result};
use crate::google::GoogleAccess;
use crate::google::http::Pacer;
use crate::google::library::{ApiMediaItem, LibraryClient, Page, PageRequest, PageWalk};
use crate::google::media::{Fetch, download_item};
use crate::google::oauth::{Token, TokenSource, TokenStore};
use crate::index::{Account, ItemMeta};
use crate::kinds::{AlbumKind, Source as SourceKind, TimeSource};
use crate::progress::{NoProgress, Progress};
use crate::repo::Repo;

/// The Library API of one authorised account.
pub struct LibrarySource {
    repo: Arc<Repo>,
    google: GoogleAccess,
    pacer: Arc<Pacer>,
    account: Account,
    client: Arc<LibraryClient>,
    opts: LibraryOptions,
}

/// How a backup lists the Library API.
#[derive(Debug, Clone, Copy, Default)]
pub struct LibraryOptions {
    /// Stop after this many albums.
    pub max_albums: Option<usize>,
    /// Keep the raw API JSON of items and albums.
    pub everything: bool,
}

impl LibrarySource {
    /// The Library API of an authorised account.
    ///
    /// # Errors
    /// [`Error::Credentials`] when the account is not authorised or its token is unreadable.
    pub fn new(
        repo: &Arc<Repo>,
        google: &GoogleAccess,
        account: &Account,
        pacer: &Arc<Pacer>,
        opts: LibraryOptions,
    ) -> Result<LibrarySource> {
        Ok(LibrarySource {
            client: Arc::new(library_client(repo, google, account, pacer.clone())?),
            repo: repo.clone(),
            google: google.clone(),
            pacer: pacer.clone(),
            account: account.clone(),
            opts,
        })
    }

    /// What turning the API's items into listed ones needs, for the task that fetches a page.
    fn maker(&self) -> ItemMaker {
        ItemMaker {
            repo: self.repo.clone(),
            google: self.google.clone(),
            pacer: self.pacer.clone(),
            client: self.client.clone(),
            everything: self.opts.everything,
        }
    }
}

/// Turns the API's items into listed ones (their metadata, version fingerprint and fetch). A
/// page's items are converted by the task that fetched and parsed the page, on whichever core
/// is free, while the lister records the page before: at 100,000 items that work (about
/// 0.2 s) was on the lister's path, which every page waits for.
#[derive(Clone)]
struct ItemMaker {
    repo: Arc<Repo>,
    google: GoogleAccess,
    pacer: Arc<Pacer>,
    client: Arc<LibraryClient>,
    everything: bool,
}

impl ItemMaker {
    /// A page's items as listed ones (all in `album`, if given), and the page's token for the
    /// next one.
    fn page(
        &self,
        page: Page<ApiMediaItem>,
        album: Option<i64>,
    ) -> (Vec<ListedItem>, Option<String>) {
        let listed = page
            .items
            .into_iter()
            .map(|item| self.listed(item, album))
            .collect();
        (listed, page.next)
    }

    /// A listed API item, with the fetch of its bytes for the engine's pool.
    fn listed(&self, item: ApiMediaItem, album: Option<i64>) -> ListedItem {
        let meta = item_meta(&item, self.everything);
        let remote_id = item.id.clone();
        let bytes = match item.video_status() {
            Some(status) if item.is_video() && status != "READY" => {
                Bytes::NotReady(format!("video {status}"))
            }
            _ => {
                let (repo, google, pacer, client) = (
                    self.repo.clone(),
                    self.google.clone(),
                    self.pacer.clone(),
                    self.client.clone(),
                );
                // The listing time goes with the item: its base URL expires an hour after it.
                let listed_at = Instant::now();
                Bytes::Fetch(Box::new(move |cx: FetchContext| {
                    Box::pin(async move {
                        let (mut item, mut listed_at) = (item, listed_at);
                        let fetch = Fetch {
                            http: &google.http,
                            policy: &google.policy,
                            pacer: &pacer,
                            progress: cx.progress.as_ref(),
                            cancel: &cx.cancel,
                            sync: cx.sync,
                        };
                        download_item(&fetch, &repo, &client, &mut item, &mut listed_at).await
                    })
                }))
            }
        };
        ListedItem {
            remote_id,
            meta,
            album,
            source_ref: None,
            bytes,
        }
    }
}

/// A page asked for ahead of need; dropped unanswered (the listing stopped or failed), the
/// request is abandoned.
struct Prefetch<T>(tokio::task::JoinHandle<Result<T>>);

impl<T> Prefetch<T> {
    async fn answer(mut self) -> Result<T> {
        (&mut self.0)
            .await
            .map_err(|e| Error::from_join("listing a page", &e))?
    }
}

impl<T> Drop for Prefetch<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
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

/// Adds the Library API to an account's sources when the account uses it (it has Library API
/// items or albums) or is authorised; an account that uses it but cannot reach it gets a
/// problem instead, so prune refuses rather than taking its items for gone.
pub(super) fn register(
    repo: &Arc<Repo>,
    google: Option<&GoogleAccess>,
    account: &Account,
    pacer: &Arc<Pacer>,
    out: &mut Sources,
) -> Result<()> {
    let uses = repo.index.account_uses(account.id, SourceKind::Library)?;
    if !uses && account.credentials.is_none() {
        return Ok(());
    }
    match google {
        None => out.problems.push(format!(
            "{}: cannot list the Library API: the Google client is not configured",
            account.name
        )),
        Some(g) => match library_client(repo, g, account, pacer.clone()) {
            Err(e) if uses => out.problems.push(format!("{}: {e}", account.name)),
            Err(_) => {}
            Ok(client) => out.sources.push(Box::new(LibrarySource {
                repo: repo.clone(),
                google: g.clone(),
                pacer: pacer.clone(),
                account: account.clone(),
                client: Arc::new(client),
                opts: LibraryOptions::default(),
            })),
        },
    }
    Ok(())
}

impl Source for LibrarySource {
    fn kind(&self) -> SourceKind {
        SourceKind::Library
    }

    fn list(&self, intake: Arc<dyn Intake>) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            let cancel = intake.cancel().clone();
            let mut albums = Vec::new();
            let mut walk = PageWalk::default();
            while let Some(req) = walk.next(&cancel)? {
                let page = self.client.albums_page(req.token()).await?;
                albums.extend(page.items);
                walk.advance(page.next)?;
            }
            // Stable sort: user albums first, otherwise the API's order.
            albums.sort_by_key(|a| AlbumKind::of_title(a.title.as_deref().unwrap_or("")));
            if let Some(max) = self.opts.max_albums {
                albums.truncate(max);
            }
            for api_album in albums {
                let title = api_album.title.clone().unwrap_or_else(|| "Untitled".into());
                let album = intake
                    .album(NewAlbum {
                        remote_id: api_album.id.clone(),
                        kind: AlbumKind::of_title(&title),
                        raw_json: self
                            .opts
                            .everything
                            .then(|| serde_json::to_string(&api_album).unwrap_or_default()),
                        title,
                        description: None,
                    })
                    .await?;
                let mut walk = PageWalk::default();
                let album_pages = |req: PageRequest| {
                    let (client, id) = (self.client.clone(), api_album.id.clone());
                    let token = req.token().map(str::to_string);
                    let maker = self.maker();
                    Prefetch(tokio::spawn(async move {
                        let page = client.album_items_page(&id, token.as_deref()).await?;
                        Ok(maker.page(page, Some(album)))
                    }))
                };
                let mut next = walk.next(&cancel)?.map(album_pages);
                while let Some(asked) = next.take() {
                    let (listed, more) = asked.answer().await?;
                    walk.advance(more)?;
                    // The next page is asked for while this one is recorded.
                    next = walk.next(&cancel)?.map(album_pages);
                    if intake.items(listed).await? == Flow::Stop {
                        return Ok(());
                    }
                }
            }
            let mut walk = PageWalk::default();
            let pages = |req: PageRequest| {
                let client = self.client.clone();
                let token = req.token().map(str::to_string);
                let maker = self.maker();
                Prefetch(tokio::spawn(async move {
                    let page = client.items_page(token.as_deref()).await?;
                    Ok(maker.page(page, None))
                }))
            };
            let mut next = walk.next(&cancel)?.map(pages);
            while let Some(asked) = next.take() {
                let (listed, more) = asked.answer().await?;
                walk.advance(more)?;
                // The next page is asked for while this one is recorded: a listing is a chain
                // of round trips, and on a busy machine each one waits for the scheduler.
                next = walk.next(&cancel)?.map(pages);
                if intake.items(listed).await? == Flow::Stop {
                    return Ok(());
                }
            }
            Ok(())
        })
    }

    fn holdings<'a>(
        &'a self,
        cancel: &'a CancellationToken,
        progress: &'a dyn Progress,
    ) -> BoxFuture<'a, Result<Holdings>> {
        Box::pin(async move {
            // The items photobak knows from the API are what the listing will walk through.
            for _ in 0..self
                .repo
                .index
                .items_from(self.account.id, SourceKind::Library)?
            {
                progress.queued(None);
            }
            let l = list_library(&self.client, cancel, progress).await;
            if cancel.is_cancelled() {
                return Err(Error::Cancelled);
            }
            let ids: BTreeSet<String> = l
                .items
                .iter()
                .chain(l.albums.values().flat_map(|a| a.items.iter()))
                .cloned()
                .collect();
            Ok(Holdings {
                source: SourceKind::Library,
                completeness: Completeness::Full,
                listed: Listed::RemoteIds(ids),
                problems: l
                    .problems
                    .iter()
                    .map(|p| format!("{}: {p}", self.account.name))
                    .collect(),
                albums: Some(l.albums),
                evidence: Some(format!(
                    "the complete Library API listing of {}",
                    self.account.name
                )),
            })
        })
    }

    fn fetch<'a>(
        &'a self,
        item: &'a ItemRef,
        cancel: &'a CancellationToken,
    ) -> BoxFuture<'a, Result<Fetched>> {
        Box::pin(async move {
            let mut api_item = self.client.item(&item.remote_id).await?;
            let fetch = Fetch {
                http: &self.google.http,
                policy: &self.google.policy,
                pacer: &self.pacer,
                progress: &NoProgress,
                cancel,
                // Repair places the file itself, one at a time.
                sync: true,
            };
            let staged = download_item(
                &fetch,
                &self.repo,
                &self.client,
                &mut api_item,
                &mut Instant::now(),
            )
            .await?;
            Ok(Fetched::Bytes(staged))
        })
    }
}

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
    Ok(LibraryClient::new(
        google.http.clone(),
        google.endpoints.clone(),
        account_tokens(repo, google, account)?,
        google.policy.clone(),
        pacer,
    ))
}

/// The live token of an account from its stored credentials, saved back to the index after
/// each refresh. Every Google client of the account (Library, Picker) is built on it.
///
/// # Errors
/// [`Error::Credentials`] when the account is not authorised or its token is unreadable.
pub fn account_tokens(
    repo: &Arc<Repo>,
    google: &GoogleAccess,
    account: &Account,
) -> Result<Arc<TokenSource>> {
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
    Ok(Arc::new(TokenSource::new(
        address,
        account.id,
        token,
        google.http.clone(),
        google.endpoints.clone(),
        google.client.clone(),
        Arc::new(RepoTokens(repo.clone())),
    )))
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
