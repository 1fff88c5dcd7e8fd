//! The Google Photos Picker API (google.md §2): sessions, their polling, the picked items and
//! their downloads.
//!
//! Since 2025-03-31 the Library API only lists what photobak uploaded; the Picker is Google's
//! supported way to read anything else from a library: the user picks items on a Google page
//! (`pickerUri`, shown as a QR code on a headless machine) and the app downloads them. Its
//! quirks handled here: durations arrive as strings (`"5s"`, `"3.5s"`), `maxItemCount` is an
//! int64 sent as a string, `pollingConfig` is present only until the items are set, listing
//! before the user finished is `FAILED_PRECONDITION`, a session that expired or was deleted is a
//! 404, and — unlike the Library API's — a picked item's base URL answers only with the
//! account's `Authorization: Bearer` token. Requests go through the same retry rules, pacer and
//! token handling as the Library API ([`TokenSource::call`]).

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::Endpoints;
use super::http::{Pacer, RetryPolicy};
use super::library::{Page, int64_opt};
use super::media::{BASE_URL_MAX_AGE, UrlSource};
use super::oauth::TokenSource;
use crate::error::{Error, PickerEnd, Result};

/// The poll interval when a session gives none (Google's own examples poll every 5 s).
const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(5);
/// The shortest poll interval honoured: a server saying "0s" must not make us spin.
const MIN_POLL_INTERVAL: Duration = Duration::from_millis(200);
/// Items per `mediaItems.list` page (the maximum; google.md §2.3).
const PAGE_SIZE: &str = "100";

/// A `PickingSession` (google.md §2.2).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PickingSession {
    /// Google's id of the session.
    pub id: String,
    /// The page where the user picks (open it signed in to the same account).
    #[serde(default)]
    pub picker_uri: Option<String>,
    /// How to poll; present only while the items are not set.
    #[serde(default)]
    pub polling_config: Option<PollingConfig>,
    /// RFC 3339 time after which the session and its items are gone.
    #[serde(default)]
    pub expire_time: Option<String>,
    /// True once the user finished picking.
    #[serde(default)]
    pub media_items_set: bool,
    /// What was asked at creation.
    #[serde(default)]
    pub picking_config: Option<PickingConfig>,
}

/// `pollingConfig`: Duration strings.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PollingConfig {
    /// How often to ask.
    #[serde(default, with = "duration_str")]
    pub poll_interval: Option<Duration>,
    /// How much longer picking is possible; `0s` means stop polling.
    #[serde(default, with = "duration_str")]
    pub timeout_in: Option<Duration>,
}

/// `pickingConfig`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PickingConfig {
    /// The most items the user may pick (an int64 as a JSON string).
    #[serde(default, deserialize_with = "int64_opt")]
    pub max_item_count: Option<i64>,
}

/// What to do after reading a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Poll {
    /// The user finished: list the items.
    Picked,
    /// Ask again after this long.
    Wait(Duration),
    /// Picking is over and nothing was set: stop.
    TimedOut,
}

impl PickingSession {
    /// What the session says to do next: list, wait (as `pollInterval` says, never past
    /// `timeoutIn`), or stop.
    pub fn poll(&self) -> Poll {
        if self.media_items_set {
            return Poll::Picked;
        }
        let cfg = self.polling_config.clone().unwrap_or_default();
        if cfg.timeout_in.is_some_and(|t| t.is_zero()) {
            return Poll::TimedOut;
        }
        let interval = cfg
            .poll_interval
            .unwrap_or(DEFAULT_POLL_INTERVAL)
            .max(MIN_POLL_INTERVAL);
        // One last look just after the timeout, so a pick in the final second is not missed.
        Poll::Wait(match cfg.timeout_in {
            Some(t) => interval.min(t + MIN_POLL_INTERVAL),
            None => interval,
        })
    }

    /// `expireTime` as Unix seconds.
    pub fn expires_at(&self) -> Option<i64> {
        self.expire_time
            .as_deref()
            .and_then(|t| t.parse::<jiff::Timestamp>().ok())
            .map(jiff::Timestamp::as_second)
    }
}

/// A `PickedMediaItem` (google.md §2.3).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PickedMediaItem {
    /// The item's persistent id (the same as the Library API's, stable across sessions).
    pub id: String,
    /// RFC 3339 capture time.
    #[serde(default)]
    pub create_time: Option<String>,
    /// `PHOTO`, `VIDEO` or `TYPE_UNSPECIFIED`.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// The file.
    #[serde(default)]
    pub media_file: MediaFile,
}

/// `mediaFile`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaFile {
    /// Expiring download base; wants the bearer token.
    #[serde(default)]
    pub base_url: Option<String>,
    /// MIME type.
    #[serde(default)]
    pub mime_type: Option<String>,
    /// File name.
    #[serde(default)]
    pub filename: Option<String>,
    /// What Google knows of the file.
    #[serde(default)]
    pub media_file_metadata: MediaFileMetadata,
}

/// `mediaFileMetadata`: width and height are JSON numbers here (strings are accepted too).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaFileMetadata {
    /// Width in pixels.
    #[serde(default, deserialize_with = "int64_opt")]
    pub width: Option<i64>,
    /// Height in pixels.
    #[serde(default, deserialize_with = "int64_opt")]
    pub height: Option<i64>,
    /// Camera make.
    #[serde(default)]
    pub camera_make: Option<String>,
    /// Camera model.
    #[serde(default)]
    pub camera_model: Option<String>,
    /// Photo fields (focal length, aperture, ISO, exposure).
    #[serde(default)]
    pub photo_metadata: Option<serde_json::Map<String, serde_json::Value>>,
    /// Video fields.
    #[serde(default)]
    pub video_metadata: Option<VideoMetadata>,
}

/// `videoMetadata`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VideoMetadata {
    /// Frames per second.
    #[serde(default)]
    pub fps: Option<f64>,
    /// `PROCESSING`, `READY`, `FAILED` or `UNSPECIFIED`.
    #[serde(default)]
    pub processing_status: Option<String>,
}

impl PickedMediaItem {
    /// True for videos.
    pub fn is_video(&self) -> bool {
        self.kind.as_deref() == Some("VIDEO")
            || self.media_file.media_file_metadata.video_metadata.is_some()
            || self
                .media_file
                .mime_type
                .as_deref()
                .is_some_and(|m| m.starts_with("video/"))
    }

    /// Why the item's bytes cannot be downloaded now (a video Google is still processing or
    /// could not process), or None when they can.
    pub fn not_ready(&self) -> Option<String> {
        if !self.is_video() {
            return None;
        }
        let status = self
            .media_file
            .media_file_metadata
            .video_metadata
            .as_ref()
            .and_then(|v| v.processing_status.as_deref())
            .unwrap_or("READY");
        (status != "READY").then(|| format!("video {status}"))
    }

    /// The file name, or the id when Google gave none.
    pub fn name(&self) -> String {
        self.media_file
            .filename
            .clone()
            .unwrap_or_else(|| self.id.clone())
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ItemPage {
    #[serde(default)]
    media_items: Vec<PickedMediaItem>,
    #[serde(default)]
    next_page_token: Option<String>,
}

/// An authorised Picker API client for one account.
pub struct PickerClient {
    http: reqwest::Client,
    endpoints: Endpoints,
    tokens: Arc<TokenSource>,
    policy: RetryPolicy,
    pacer: Arc<Pacer>,
}

impl PickerClient {
    /// Builds a client.
    pub fn new(
        http: reqwest::Client,
        endpoints: Endpoints,
        tokens: Arc<TokenSource>,
        policy: RetryPolicy,
        pacer: Arc<Pacer>,
    ) -> PickerClient {
        PickerClient {
            http,
            endpoints,
            tokens,
            policy,
            pacer,
        }
    }

    /// The account's address.
    pub fn account(&self) -> &str {
        self.tokens.address()
    }

    /// The run's pacer (its cancellation ends every wait).
    pub fn pacer(&self) -> &Arc<Pacer> {
        &self.pacer
    }

    /// `sessions.create`, with `maxItemCount` when given.
    ///
    /// # Errors
    /// Typed API errors ([`Self::call`]).
    pub async fn create_session(&self, max_items: Option<u64>) -> Result<PickingSession> {
        let body = match max_items {
            // int64 in proto3 JSON is a string.
            Some(n) => serde_json::json!({"pickingConfig": {"maxItemCount": n.to_string()}}),
            None => serde_json::json!({}),
        };
        let url = format!("{}/sessions", self.endpoints.picker);
        self.call("creating a Picker session", None, |b| {
            self.http.post(&url).json(&body).bearer_auth(b)
        })
        .await
    }

    /// `sessions.get`.
    ///
    /// # Errors
    /// [`Error::PickerSession`] with [`PickerEnd::Gone`] when it expired or was deleted.
    pub async fn session(&self, id: &str) -> Result<PickingSession> {
        let url = format!("{}/sessions/{}", self.endpoints.picker, urlencode(id));
        self.call("reading the Picker session", Some(id), |b| {
            self.http.get(&url).bearer_auth(b)
        })
        .await
    }

    /// `sessions.delete`.
    ///
    /// # Errors
    /// [`Error::PickerSession`] with [`PickerEnd::Gone`] when it is already gone.
    pub async fn delete_session(&self, id: &str) -> Result<()> {
        let url = format!("{}/sessions/{}", self.endpoints.picker, urlencode(id));
        let _: serde_json::Value = self
            .call("deleting the Picker session", Some(id), |b| {
                self.http.delete(&url).bearer_auth(b)
            })
            .await?;
        Ok(())
    }

    /// One page of `mediaItems.list` of a session (100 per page).
    ///
    /// # Errors
    /// [`Error::PickerSession`]: [`PickerEnd::NotPicked`] before the user finished,
    /// [`PickerEnd::Gone`] once the session expired or was deleted.
    pub async fn items_page(
        &self,
        session: &str,
        token: Option<&str>,
    ) -> Result<Page<PickedMediaItem>> {
        let mut q = vec![
            ("sessionId", session.to_string()),
            ("pageSize", PAGE_SIZE.to_string()),
        ];
        if let Some(t) = token {
            q.push(("pageToken", t.to_string()));
        }
        let url = format!("{}/mediaItems", self.endpoints.picker);
        let page: ItemPage = self
            .call("listing picked items", Some(session), |b| {
                self.http.get(&url).query(&q).bearer_auth(b)
            })
            .await?;
        Ok(Page {
            items: page.media_items,
            next: page.next_page_token.filter(|t| !t.is_empty()),
        })
    }

    /// Sends a request through the account's token with Google's retry rules, then names what
    /// the Picker's errors mean.
    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        what: &str,
        session: Option<&str>,
        build: impl Fn(&str) -> reqwest::RequestBuilder,
    ) -> Result<T> {
        self.tokens
            .call(&self.pacer, &self.policy, what, build)
            .await
            .map_err(|e| picker_error(self.tokens.address(), session, e))
    }
}

/// What a Picker API error means: a 404 of a session is a session that expired or was
/// deleted, `FAILED_PRECONDITION` is a listing before the user finished (Google's canonical
/// mapping makes it 400; one public fake uses 424, so the status text decides), and a 403 for
/// missing scopes means the account was authorised before photobak asked for the Picker.
fn picker_error(account: &str, session: Option<&str>, e: Error) -> Error {
    let Error::Remote {
        status, message, ..
    } = &e
    else {
        return e;
    };
    let ended = |end| Error::PickerSession {
        session: session.unwrap_or_default().to_string(),
        end,
    };
    match status {
        404 if session.is_some() => ended(PickerEnd::Gone),
        400 | 412 | 424 if message.starts_with("FAILED_PRECONDITION") => {
            ended(PickerEnd::NotPicked)
        }
        403 if message.to_ascii_lowercase().contains("scope") => Error::Credentials {
            account: account.to_string(),
            message: format!(
                "the stored authorisation does not include the Google Photos Picker ({message}); \
                 run `photobak auth --googlephotos {account}` again"
            ),
        },
        _ => e,
    }
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A picked item as listed, ready to download: where it was listed (to list its page again
/// for a fresh base URL) and when.
#[derive(Clone)]
pub struct PickedDownload {
    /// The account's client.
    pub client: Arc<PickerClient>,
    /// The session the item was picked in.
    pub session: String,
    /// The token of the page that listed it (None for the first page).
    pub page_token: Option<String>,
    /// The item as listed.
    pub item: PickedMediaItem,
    /// When it was listed.
    pub listed_at: Instant,
}

impl PickedDownload {
    /// Downloads the item's full bytes into the repository's staging area, with the run's
    /// pacing and retry rules ([`super::media::download`]).
    ///
    /// # Errors
    /// As [`super::media::download`]; [`Error::PickerSession`] when the session is gone before
    /// a fresh base URL could be listed.
    pub async fn fetch(
        mut self,
        repo: &crate::repo::Repo,
        progress: &dyn crate::progress::Progress,
        cancel: &tokio_util::sync::CancellationToken,
        sync: bool,
    ) -> Result<crate::repo::store::Staged> {
        let client = self.client.clone();
        let f = super::media::Fetch {
            http: &client.http,
            policy: &client.policy,
            pacer: &client.pacer,
            progress,
            cancel,
            sync,
        };
        super::media::download(&f, repo, &mut self).await
    }
}

impl UrlSource for PickedDownload {
    fn name(&self) -> String {
        self.item.name()
    }

    /// The Picker has no `mediaItems.get`: a fresh base URL comes from listing the item's page
    /// again, which works while the session lives.
    async fn url(&mut self, fresh: bool) -> Result<String> {
        if fresh
            || self.item.media_file.base_url.is_none()
            || self.listed_at.elapsed() > BASE_URL_MAX_AGE
        {
            let page = self
                .client
                .items_page(&self.session, self.page_token.as_deref())
                .await?;
            self.listed_at = Instant::now();
            self.item = page
                .items
                .into_iter()
                .find(|i| i.id == self.item.id)
                .ok_or_else(|| {
                    Error::Invalid(format!(
                        "downloading {}: no longer among the items of Picker session {} \
                         (deleted from the library?)",
                        self.item.name(),
                        self.session
                    ))
                })?;
        }
        let base = self.item.media_file.base_url.clone().ok_or_else(|| {
            Error::Invalid(format!(
                "downloading {}: the Picker gave no baseUrl",
                self.item.name()
            ))
        })?;
        Ok(format!(
            "{base}={}",
            if self.item.is_video() { "dv" } else { "d" }
        ))
    }

    async fn bearer(&mut self, refused: Option<&str>) -> Result<Option<String>> {
        if let Some(r) = refused {
            self.client.tokens.invalidate(r).await?;
        }
        Ok(Some(self.client.tokens.bearer().await?))
    }
}

/// Duration strings of proto3 JSON: seconds with up to nine decimals and an `s` suffix.
mod duration_str {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn parse(s: &str) -> Option<Duration> {
        let secs = s.trim().strip_suffix('s')?;
        let (whole, frac) = secs.split_once('.').unwrap_or((secs, ""));
        if whole.is_empty() && frac.is_empty()
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || frac.len() > 9
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let whole: u64 = if whole.is_empty() {
            0
        } else {
            whole.parse().ok()?
        };
        let nanos: u32 = if frac.is_empty() {
            0
        } else {
            format!("{frac:0<9}").parse().ok()?
        };
        Some(Duration::new(whole, nanos))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<String>::deserialize(d)?.and_then(|s| parse(&s)))
    }

    pub(super) fn serialize<S: Serializer>(v: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(d) => s.serialize_str(&format!("{}s", d.as_secs_f64())),
            None => s.serialize_none(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_proto_strings() {
        let p = duration_str::parse;
        assert_eq!(p("5s"), Some(Duration::from_secs(5)));
        assert_eq!(p("3.5s"), Some(Duration::from_millis(3500)));
        assert_eq!(p("0.033333335s"), Some(Duration::new(0, 33_333_335)));
        assert_eq!(p("0s"), Some(Duration::ZERO));
        assert_eq!(p("5"), None, "the suffix is required");
        assert_eq!(p("-1s"), None);
        assert_eq!(p("1.0000000001s"), None, "at most nine decimals");
        assert_eq!(p("s"), None);
    }

    #[test]
    fn a_session_says_when_to_poll_list_or_stop() {
        let s: PickingSession = serde_json::from_str(
            r#"{"id":"a","pickerUri":"https://photos.google.com/picker/a",
                "pollingConfig":{"pollInterval":"3.5s","timeoutIn":"1799s"},
                "expireTime":"2026-12-02T10:00:00.123Z","pickingConfig":{"maxItemCount":"12"},
                "mediaItemsSet":false}"#,
        )
        .unwrap();
        assert_eq!(s.poll(), Poll::Wait(Duration::from_millis(3500)));
        assert_eq!(
            s.picking_config.as_ref().unwrap().max_item_count,
            Some(12),
            "int64 as a string"
        );
        assert_eq!(s.expires_at(), Some(1_796_205_600));
        let near_end: PickingSession = serde_json::from_str(
            r#"{"id":"a","pollingConfig":{"pollInterval":"5s","timeoutIn":"1s"}}"#,
        )
        .unwrap();
        assert_eq!(near_end.poll(), Poll::Wait(Duration::from_millis(1200)));
        let over: PickingSession = serde_json::from_str(
            r#"{"id":"a","pollingConfig":{"pollInterval":"5s","timeoutIn":"0s"},"mediaItemsSet":false}"#,
        )
        .unwrap();
        assert_eq!(over.poll(), Poll::TimedOut);
        let set: PickingSession =
            serde_json::from_str(r#"{"id":"a","mediaItemsSet":true}"#).unwrap();
        assert_eq!(set.poll(), Poll::Picked);
        let spin: PickingSession =
            serde_json::from_str(r#"{"id":"a","pollingConfig":{"pollInterval":"0s"}}"#).unwrap();
        assert_eq!(spin.poll(), Poll::Wait(MIN_POLL_INTERVAL));
    }

    #[test]
    fn picked_items_parse_and_say_when_they_cannot_be_downloaded() {
        let page: ItemPage = serde_json::from_str(
            r#"{"mediaItems":[
                {"id":"p1","createTime":"2025-02-27T23:34:05.466Z","type":"PHOTO",
                 "mediaFile":{"baseUrl":"https://lh3/x","mimeType":"image/jpeg","filename":"a.jpg",
                   "mediaFileMetadata":{"width":4032,"height":"3024","cameraMake":"Google",
                     "photoMetadata":{"focalLength":6.8,"exposureTime":"0.033333335s"}}}},
                {"id":"v1","type":"VIDEO","mediaFile":{"mimeType":"video/mp4","filename":"v.mp4",
                   "mediaFileMetadata":{"videoMetadata":{"fps":30,"processingStatus":"PROCESSING"}}}},
                {"id":"v2","type":"VIDEO","mediaFile":{"filename":"w.mp4",
                   "mediaFileMetadata":{"videoMetadata":{"processingStatus":"READY"}}}}],
                "nextPageToken":"t2"}"#,
        )
        .unwrap();
        let [p, v, w] = &page.media_items[..] else {
            panic!("three items")
        };
        assert_eq!(p.media_file.media_file_metadata.width, Some(4032));
        assert_eq!(p.media_file.media_file_metadata.height, Some(3024));
        assert!(!p.is_video() && p.not_ready().is_none());
        assert_eq!(v.not_ready().as_deref(), Some("video PROCESSING"));
        assert!(w.is_video() && w.not_ready().is_none());
        let empty: ItemPage = serde_json::from_str("{}").unwrap();
        assert!(empty.media_items.is_empty() && empty.next_page_token.is_none());
    }

    #[test]
    fn picker_errors_are_typed() {
        let remote = |status, message: &str| Error::Remote {
            what: "x".into(),
            status,
            message: message.into(),
            retry_after: None,
        };
        assert!(matches!(
            picker_error("a@x", Some("s1"), remote(404, "NOT_FOUND: Requested entity was not found.")),
            Error::PickerSession { end: PickerEnd::Gone, ref session } if session == "s1"
        ));
        assert!(matches!(
            picker_error(
                "a@x",
                Some("s1"),
                remote(400, "FAILED_PRECONDITION: Precondition check failed.")
            ),
            Error::PickerSession {
                end: PickerEnd::NotPicked,
                ..
            }
        ));
        assert!(matches!(
            picker_error("a@x", Some("s1"), remote(400, "INVALID_ARGUMENT: bad")),
            Error::Remote { status: 400, .. }
        ));
        match picker_error(
            "a@x",
            None,
            remote(
                403,
                "PERMISSION_DENIED: Request had insufficient authentication scopes.",
            ),
        ) {
            Error::Credentials { account, message } => {
                assert_eq!(account, "a@x");
                assert!(
                    message.contains("photobak auth --googlephotos a@x"),
                    "{message}"
                );
            }
            other => panic!("{other:?}"),
        }
    }
}
