//! Downloading an item's bytes from its base URL.
//!
//! One function for every caller (the backup engine, `verify --repair`, the Picker): the bytes
//! stream into a temporary file inside the repository while BLAKE3 hashes them, so memory does
//! not grow with the file. A dropped connection resumes with `Range` from the bytes already
//! written (a server that ignores the range makes us start over); a base URL that is old
//! (Google's live about an hour) or answered 403 is refreshed and tried again, through whatever
//! the source has for it ([`UrlSource`]: `mediaItems.get` for the Library API, the page listed
//! again for the Picker); a Picker URL also wants the account's bearer token, renewed once on
//! 401; everything else follows Google's retry rules ([`super::http`]).

use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::http::{Pacer, RetryPolicy, error_from_response, network_error, retry_delay};
use super::library::{ApiMediaItem, LibraryClient};
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::repo::Repo;
use crate::repo::store::{StageWriter, Staged};

/// Base URLs live about 60 minutes; refresh well before.
pub const BASE_URL_MAX_AGE: Duration = Duration::from_secs(50 * 60);

/// How downloads are paced, reported and stopped.
pub struct Fetch<'a> {
    /// The shared HTTP client.
    pub http: &'a reqwest::Client,
    /// Retry timing.
    pub policy: &'a RetryPolicy,
    /// The run's shared 429 brake.
    pub pacer: &'a Pacer,
    /// Byte counts go here.
    pub progress: &'a dyn Progress,
    /// Ends the download at once (between chunks, or while waiting for an answer or a pause).
    pub cancel: &'a CancellationToken,
    /// Fsync the staged file (true), or leave it to a caller that syncs a group of them at once
    /// ([`Repo::sync_staged`]) before placing any.
    pub sync: bool,
}

/// Where a download's URL comes from, and how it is refreshed. The Library API refreshes one
/// item through `mediaItems.get`; the Picker has no such call and lists the item's page again.
pub trait UrlSource: Send {
    /// The item's file name (or id), for messages.
    fn name(&self) -> String;

    /// The full download URL (base URL with `=d` or `=dv`). With `fresh`, or when the URL is
    /// older than [`BASE_URL_MAX_AGE`] or missing, a new one is fetched first.
    fn url(&mut self, fresh: bool) -> impl std::future::Future<Output = Result<String>> + Send;

    /// The `Authorization: Bearer` token the media host wants (the Picker's do), or None. With
    /// `refused`, the token just answered 401 and must be renewed.
    fn bearer(
        &mut self,
        refused: Option<&str>,
    ) -> impl std::future::Future<Output = Result<Option<String>>> + Send;
}

/// A Library API item: its base URL needs no header and is refreshed by `mediaItems.get`.
struct LibraryUrl<'a> {
    client: &'a LibraryClient,
    item: &'a mut ApiMediaItem,
    listed_at: &'a mut Instant,
}

impl UrlSource for LibraryUrl<'_> {
    fn name(&self) -> String {
        self.item
            .filename
            .clone()
            .unwrap_or_else(|| self.item.id.clone())
    }

    async fn url(&mut self, fresh: bool) -> Result<String> {
        if fresh || self.item.base_url.is_none() || self.listed_at.elapsed() > BASE_URL_MAX_AGE {
            *self.item = self.client.item(&self.item.id).await?;
            *self.listed_at = Instant::now();
        }
        let base = self.item.base_url.clone().ok_or_else(|| {
            Error::Invalid(format!(
                "downloading {}: the API gave no baseUrl",
                self.name()
            ))
        })?;
        Ok(format!(
            "{base}={}",
            if self.item.is_video() { "dv" } else { "d" }
        ))
    }

    async fn bearer(&mut self, _refused: Option<&str>) -> Result<Option<String>> {
        Ok(None)
    }
}

/// Downloads the full bytes of `item` (`=d` for photos, `=dv` for videos) into a staged,
/// fsynced temporary file. `item` and `listed_at` are updated when the base URL is refreshed.
///
/// # Errors
/// Permanent HTTP errors, transient ones that outlived the retries, local I/O failures, or
/// [`Error::Cancelled`].
pub async fn download_item(
    f: &Fetch<'_>,
    repo: &Repo,
    client: &LibraryClient,
    item: &mut ApiMediaItem,
    listed_at: &mut Instant,
) -> Result<Staged> {
    download(
        f,
        repo,
        &mut LibraryUrl {
            client,
            item,
            listed_at,
        },
    )
    .await
}

/// Downloads one item's full bytes from the URL `src` gives into a staged, fsynced temporary
/// file: resumes with `Range`, refreshes the URL when it is old or refused (403) and, for hosts
/// that want one, sends and renews the bearer token (401).
///
/// # Errors
/// Permanent HTTP errors, transient ones that outlived the retries, local I/O failures, or
/// [`Error::Cancelled`].
pub async fn download(f: &Fetch<'_>, repo: &Repo, src: &mut impl UrlSource) -> Result<Staged> {
    let what = format!("downloading {}", src.name());
    let mut writer: Option<StageWriter> = None;
    let mut attempt = 0u32;
    let mut refreshed_after_403 = false;
    let mut renewed_after_401 = false;
    let mut fresh = false;
    let mut last_url: Option<String> = None;
    let mut refused_bearer: Option<String> = None;
    loop {
        if f.cancel.is_cancelled() {
            return Err(Error::Cancelled);
        }
        attempt += 1;
        let url = src.url(std::mem::take(&mut fresh)).await?;
        if last_url.as_deref().is_some_and(|u| u != url) {
            // A new URL may serve another rendition: never stitch bytes from two of them.
            writer = None;
        }
        last_url = Some(url.clone());
        let bearer = src.bearer(refused_bearer.take().as_deref()).await?;
        f.pacer.wait().await?;
        if writer.is_none() {
            writer = Some(repo.stage()?);
        }
        let offset = writer.as_ref().map(StageWriter::size).unwrap_or(0);
        let mut req = f.http.get(&url);
        if let Some(b) = &bearer {
            req = req.bearer_auth(b);
        }
        if offset > 0 {
            req = req.header(reqwest::header::RANGE, format!("bytes={offset}-"));
        }
        // The request and every chunk race the run's cancellation: a 4 GB video must not keep
        // a Ctrl-C waiting. The staged file is removed when its writer is dropped.
        let sent = tokio::select! {
            r = req.send() => r,
            () = f.cancel.cancelled() => return Err(Error::Cancelled),
        };
        let err = match sent {
            Err(e) => network_error(&what, &e),
            Ok(resp)
                if resp.status() == reqwest::StatusCode::UNAUTHORIZED
                    && bearer.is_some()
                    && !renewed_after_401 =>
            {
                // The access token expired mid-run: renew it once and try again.
                renewed_after_401 = true;
                refused_bearer = bearer;
                attempt -= 1;
                continue;
            }
            Ok(resp) if resp.status() == reqwest::StatusCode::FORBIDDEN && !refreshed_after_403 => {
                // An expired base URL answers 403: get a fresh one and try again once.
                refreshed_after_403 = true;
                fresh = true;
                attempt -= 1;
                continue;
            }
            Ok(resp) if !resp.status().is_success() => error_from_response(&what, resp).await,
            Ok(resp)
                if resp.status() == reqwest::StatusCode::PARTIAL_CONTENT
                    && range_start(&resp) != Some(offset) =>
            {
                // Not the range we asked for: start over rather than splice the wrong bytes.
                writer = None;
                Error::Network(format!(
                    "{what}: the server answered another range than requested"
                ))
            }
            Ok(mut resp) => {
                let partial = resp.status() == reqwest::StatusCode::PARTIAL_CONTENT;
                if offset > 0 && !partial {
                    // The server ignored the range: start over.
                    writer = Some(repo.stage()?);
                }
                let w = writer.as_mut().expect("writer exists");
                let expected = resp.content_length().map(|l| l + w.size());
                let mut failure = None;
                loop {
                    let chunk = tokio::select! {
                        c = resp.chunk() => c,
                        () = f.cancel.cancelled() => return Err(Error::Cancelled),
                    };
                    match chunk {
                        Ok(Some(chunk)) => {
                            w.write(&chunk)?;
                            f.progress.bytes(chunk.len() as u64);
                        }
                        Ok(None) => break,
                        Err(e) => {
                            failure = Some(network_error(&what, &e));
                            break;
                        }
                    }
                }
                match failure {
                    Some(e) => e,
                    None if expected.is_some_and(|x| x != w.size()) => Error::Network(format!(
                        "{what}: body ended after {} of {} bytes",
                        w.size(),
                        expected.unwrap_or(0)
                    )),
                    None => {
                        let w = writer.take().expect("writer exists");
                        let sync = f.sync;
                        return tokio::task::spawn_blocking(move || {
                            let mut staged = if sync {
                                w.finish()?
                            } else {
                                w.finish_unsynced()?
                            };
                            staged.read_meta();
                            Ok(staged)
                        })
                        .await
                        .map_err(|e| Error::from_join(&what, &e))?;
                    }
                }
            }
        };
        match retry_delay(f.policy, &err, attempt, f.pacer) {
            Some(d) => {
                tracing::debug!("{err}; retrying in {d:?}");
                f.pacer.sleep(d).await?;
            }
            None => return Err(err),
        }
    }
}

/// Start of a 206 answer's `Content-Range: bytes START-END/TOTAL`.
pub(crate) fn range_start(resp: &reqwest::Response) -> Option<u64> {
    let v = resp
        .headers()
        .get(reqwest::header::CONTENT_RANGE)?
        .to_str()
        .ok()?;
    v.trim()
        .strip_prefix("bytes ")?
        .split('-')
        .next()?
        .trim()
        .parse()
        .ok()
}
