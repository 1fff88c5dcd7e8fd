//! The Picker as a [`Source`]: the items a user picked in one session, handed to the engine.
//!
//! The Picker cannot list a library, only what was picked, so its statement of holdings is
//! always [`super::Completeness::Unknown`]: prune never removes an item because the Picker no longer
//! shows it. Single items can be fetched again only while a session that holds them lives;
//! otherwise the user is told to pick them again.
//!
//! A picked photo that is also in an imported Takeout export of the same account is one photo
//! with two sources: its Picker download has no location (Google strips it), so its bytes
//! differ from the Takeout original's and de-duplication by content cannot see it. It is found
//! by file name, capture time and, where both are known, dimensions
//! ([`crate::index::Index::takeout_twin`]), recorded as a `picker` provenance of the Takeout
//! item, and not downloaded: the Takeout bytes stay the file.

use std::sync::Arc;
use std::time::Instant;

use futures::future::BoxFuture;
use tokio_util::sync::CancellationToken;

use super::{
    Bytes, FetchContext, Fetched, Flow, Holdings, Intake, ItemRef, ListedItem, Source, Sources,
};
use crate::error::{Error, Result};
use crate::google::GoogleAccess;
use crate::google::http::Pacer;
use crate::google::library::PageWalk;
use crate::google::picker::{PickedDownload, PickedMediaItem, PickerClient};
use crate::index::{Account, ItemMeta};
use crate::kinds::{Source as SourceKind, TimeSource};
use crate::progress::{NoProgress, Progress};
use crate::repo::Repo;

/// The Picker of one account, with the session being stored when there is one.
pub struct PickerSource {
    repo: Arc<Repo>,
    account: Account,
    client: Option<Arc<PickerClient>>,
    session: Option<String>,
}

/// Adds the Picker to an account's sources when the account has picked items: prune must know
/// they came from a source that cannot list.
pub(super) fn register(
    repo: &Arc<Repo>,
    google: Option<&GoogleAccess>,
    account: &Account,
    pacer: &Arc<Pacer>,
    out: &mut Sources,
) -> Result<()> {
    if !repo.index.account_uses(account.id, SourceKind::Picker)? {
        return Ok(());
    }
    let client = google.and_then(|g| picker_client(repo, g, account, pacer.clone()).ok());
    out.sources.push(Box::new(PickerSource {
        repo: repo.clone(),
        account: account.clone(),
        client: client.map(Arc::new),
        session: None,
    }));
    Ok(())
}

/// Builds an authorised Picker API client for an account from its stored credentials.
///
/// # Errors
/// [`Error::Credentials`] when the account is not authorised or its token is unreadable.
pub fn picker_client(
    repo: &Arc<Repo>,
    google: &GoogleAccess,
    account: &Account,
    pacer: Arc<Pacer>,
) -> Result<PickerClient> {
    Ok(PickerClient::new(
        google.http.clone(),
        google.endpoints.clone(),
        super::library::account_tokens(repo, google, account)?,
        google.policy.clone(),
        pacer,
    ))
}

impl PickerSource {
    /// The items picked in `session`, for the engine.
    pub fn new(
        repo: &Arc<Repo>,
        account: &Account,
        client: Arc<PickerClient>,
        session: &str,
    ) -> PickerSource {
        PickerSource {
            repo: repo.clone(),
            account: account.clone(),
            client: Some(client),
            session: Some(session.to_string()),
        }
    }

    /// Links a picked item to its Takeout twin when it has one: the twin's id, or None.
    async fn link_to_takeout(
        &self,
        item: &PickedMediaItem,
        meta: &ItemMeta,
    ) -> Result<Option<String>> {
        let Some(taken_at) = meta.taken_at else {
            return Ok(None);
        };
        let (repo, account_id) = (self.repo.clone(), self.account.id);
        let (filename, width, height, picked_id) = (
            meta.filename.clone(),
            meta.width,
            meta.height,
            item.id.clone(),
        );
        tokio::task::spawn_blocking(move || {
            // An item the Picker delivers under its own id (a Library API item too) is the same
            // row whatever its twins: only an item photobak does not know yet is linked.
            if repo.index.item_id(account_id, &picked_id)?.is_some() {
                return Ok(None);
            }
            let Some(twin) = repo
                .index
                .takeout_twin(account_id, &filename, taken_at, width, height)?
            else {
                return Ok(None);
            };
            repo.index
                .add_source(twin, SourceKind::Picker, &picked_id)?;
            Ok(Some(format!(
                "{filename} (picked {picked_id}) is Takeout item {twin}"
            )))
        })
        .await
        .map_err(|e| Error::from_join("linking a picked item", &e))?
    }

    fn listed(
        &self,
        client: &Arc<PickerClient>,
        session: &str,
        page_token: Option<&str>,
        item: PickedMediaItem,
        meta: ItemMeta,
    ) -> ListedItem {
        let remote_id = item.id.clone();
        let bytes = match item.not_ready() {
            Some(reason) => Bytes::NotReady(reason),
            None => {
                let download = PickedDownload {
                    client: client.clone(),
                    session: session.to_string(),
                    page_token: page_token.map(str::to_string),
                    item,
                    // The listing time goes with the item: its base URL expires an hour after.
                    listed_at: Instant::now(),
                };
                let repo = self.repo.clone();
                Bytes::Fetch(Box::new(move |cx: FetchContext| {
                    Box::pin(async move {
                        download
                            .fetch(&repo, cx.progress.as_ref(), &cx.cancel, cx.sync)
                            .await
                    })
                }))
            }
        };
        ListedItem {
            remote_id,
            meta,
            album: None,
            source_ref: Some(session.to_string()),
            bytes,
        }
    }
}

/// The index's view of a picked item. No description, location, album or flags: the Picker
/// has none of them, and `None` leaves what another source recorded untouched. No version
/// either: the same item backed up through the Library API must not look edited.
pub fn item_meta(item: &PickedMediaItem) -> ItemMeta {
    let m = &item.media_file.media_file_metadata;
    let filename = item
        .media_file
        .filename
        .clone()
        .filter(|f| !f.is_empty())
        .unwrap_or_else(|| item.id.chars().take(16).collect());
    ItemMeta {
        filename,
        mime_type: item.media_file.mime_type.clone(),
        taken_at: item
            .create_time
            .as_deref()
            .and_then(|t| t.parse::<jiff::Timestamp>().ok())
            .map(|t| t.as_second()),
        taken_source: Some(TimeSource::Api),
        width: m.width,
        height: m.height,
        camera_make: m.camera_make.clone(),
        camera_model: m.camera_model.clone(),
        is_video: item.is_video(),
        ..Default::default()
    }
}

impl Source for PickerSource {
    fn kind(&self) -> SourceKind {
        SourceKind::Picker
    }

    /// Pages through the session's picked items and hands each to the engine as it is listed,
    /// so downloads run while paging and no base URL waits long; one whose URL grew old is
    /// refreshed by listing its page again ([`PickedDownload`]).
    fn list(&self, intake: Arc<dyn Intake>) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            let (Some(client), Some(session)) = (&self.client, &self.session) else {
                return Err(Error::Invalid(
                    "the Picker lists only the items of a session (photobak pick)".into(),
                ));
            };
            let mut walk = PageWalk::default();
            while let Some(req) = walk.next(intake.cancel())? {
                let page = client.items_page(session, req.token()).await?;
                let mut listed = Vec::with_capacity(page.items.len());
                for item in page.items {
                    let meta = item_meta(&item);
                    if let Some(link) = self.link_to_takeout(&item, &meta).await? {
                        intake.report(&mut |s| s.linked.push(link.clone()));
                        continue;
                    }
                    listed.push(self.listed(client, session, req.token(), item, meta));
                }
                if intake.items(listed).await? == Flow::Stop {
                    return Ok(());
                }
                walk.advance(page.next)?;
            }
            Ok(())
        })
    }

    fn holdings<'a>(
        &'a self,
        cancel: &'a CancellationToken,
        _progress: &'a dyn Progress,
    ) -> BoxFuture<'a, Result<Holdings>> {
        Box::pin(async move {
            if cancel.is_cancelled() {
                return Err(Error::Cancelled);
            }
            let mut h = Holdings::unknown(SourceKind::Picker);
            h.evidence = Some(format!(
                "the Picker cannot list the library of {}: its items are never taken for gone",
                self.account.name
            ));
            Ok(h)
        })
    }

    fn fetch<'a>(
        &'a self,
        item: &'a ItemRef,
        cancel: &'a CancellationToken,
    ) -> BoxFuture<'a, Result<Fetched>> {
        Box::pin(async move {
            if cancel.is_cancelled() {
                return Err(Error::Cancelled);
            }
            let again = format!(
                "pick {} again with `photobak pick --googlephotos {}`",
                item.filename, self.account.name
            );
            let (Some(client), Some(session)) = (&self.client, &self.session) else {
                return Ok(Fetched::Unavailable(format!(
                    "the Picker gives items only within a picking session: {again}"
                )));
            };
            // Only a live session can give the item again: find it among the session's items.
            let mut walk = PageWalk::default();
            while let Some(req) = walk.next(cancel)? {
                let page = client.items_page(session, req.token()).await?;
                if let Some(found) = page.items.into_iter().find(|i| i.id == item.remote_id) {
                    if let Some(reason) = found.not_ready() {
                        return Ok(Fetched::Unavailable(format!("{reason}: {again} later")));
                    }
                    let download = PickedDownload {
                        client: client.clone(),
                        session: session.clone(),
                        page_token: req.token().map(str::to_string),
                        item: found,
                        listed_at: Instant::now(),
                    };
                    let staged = download
                        .fetch(&self.repo, &NoProgress, cancel, true)
                        .await?;
                    return Ok(Fetched::Bytes(staged));
                }
                walk.advance(page.next)?;
            }
            Ok(Fetched::Unavailable(format!(
                "not among the items of Picker session {session}: {again}"
            )))
        })
    }
}
