//! The Photos Library API: albums, album contents, all items, and fresh base URLs.
//!
//! Since 2025-03-31 it only shows items this app created; it is still the one source that can be
//! polled unattended. Its quirks handled here: int64 fields arrive as JSON strings, an empty page
//! may be `{}`, only the presence of `nextPageToken` means "more", base URLs expire after about
//! an hour.

use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize};

use super::Endpoints;
use super::http::{Pacer, RetryPolicy};
use super::oauth::TokenSource;
use crate::error::{Error, Result};

/// An album as the API returns it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiAlbum {
    /// Album id.
    pub id: String,
    /// Title (may be absent for untitled albums).
    #[serde(default)]
    pub title: Option<String>,
    /// Item count.
    #[serde(default, deserialize_with = "int64_opt")]
    pub media_items_count: Option<i64>,
    /// Everything else, kept for `--everything`.
    #[serde(flatten)]
    pub rest: serde_json::Map<String, serde_json::Value>,
}

/// A media item as the API returns it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiMediaItem {
    /// Persistent id.
    pub id: String,
    /// Caption, absent when empty.
    #[serde(default)]
    pub description: Option<String>,
    /// Expiring download base.
    #[serde(default)]
    pub base_url: Option<String>,
    /// MIME type.
    #[serde(default)]
    pub mime_type: Option<String>,
    /// File name.
    #[serde(default)]
    pub filename: Option<String>,
    /// Capture metadata.
    #[serde(default)]
    pub media_metadata: MediaMetadata,
    /// Link to the item in Google Photos.
    #[serde(default)]
    pub product_url: Option<String>,
}

/// `mediaMetadata`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaMetadata {
    /// RFC 3339 capture time.
    #[serde(default)]
    pub creation_time: Option<String>,
    /// Width (a string in JSON).
    #[serde(default, deserialize_with = "int64_opt")]
    pub width: Option<i64>,
    /// Height (a string in JSON).
    #[serde(default, deserialize_with = "int64_opt")]
    pub height: Option<i64>,
    /// Photo fields.
    #[serde(default)]
    pub photo: Option<serde_json::Map<String, serde_json::Value>>,
    /// Video fields.
    #[serde(default)]
    pub video: Option<serde_json::Map<String, serde_json::Value>>,
}

impl ApiMediaItem {
    /// True for videos.
    pub fn is_video(&self) -> bool {
        self.media_metadata.video.is_some()
            || self
                .mime_type
                .as_deref()
                .is_some_and(|m| m.starts_with("video/"))
    }

    /// Video processing status (`READY`, `PROCESSING`, `FAILED`), when a video.
    pub fn video_status(&self) -> Option<&str> {
        self.media_metadata
            .video
            .as_ref()
            .and_then(|v| v.get("status"))
            .and_then(|s| s.as_str())
    }

    /// Camera make and model, from whichever of photo/video is present.
    pub fn camera(&self) -> (Option<String>, Option<String>) {
        let m = self
            .media_metadata
            .photo
            .as_ref()
            .or(self.media_metadata.video.as_ref());
        let get = |k: &str| {
            m.and_then(|m| m.get(k))
                .and_then(|v| v.as_str())
                .map(str::to_string)
        };
        (get("cameraMake"), get("cameraModel"))
    }

    /// Fingerprint of the fields that change when the item's bytes are edited (a crop changes
    /// the dimensions, a conversion the MIME type). The API has no ETag, content hash or
    /// modification time, so this is what "the bytes changed remotely" means. The description
    /// is left out (editing it changes metadata only, no download needed), and so is `baseUrl`,
    /// which changes on every listing.
    ///
    /// The BLAKE3 of the fields as compact JSON with the keys of every object sorted, written
    /// straight from the item: the structs below name their fields in sorted order, and
    /// `serde_json`'s maps (`photo`, `video`) iterate sorted (its `preserve_order` feature is
    /// off). Building a `serde_json::Value` of the fields, sorting it and printing it was a
    /// tenth of a no-op backup's CPU (perf, 100,000 items); the test
    /// `version_is_the_fingerprint_of_the_sorted_fields` holds the two to the same bytes,
    /// since every stored item's recorded version must stay equal.
    pub fn version(&self) -> String {
        #[derive(Serialize)]
        struct Fields<'a> {
            filename: &'a Option<String>,
            #[serde(rename = "mediaMetadata")]
            media_metadata: SortedMetadata<'a>,
            #[serde(rename = "mimeType")]
            mime_type: &'a Option<String>,
        }
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct SortedMetadata<'a> {
            creation_time: &'a Option<String>,
            height: &'a Option<i64>,
            photo: &'a Option<serde_json::Map<String, serde_json::Value>>,
            video: &'a Option<serde_json::Map<String, serde_json::Value>>,
            width: &'a Option<i64>,
        }
        let m = &self.media_metadata;
        let fields = Fields {
            filename: &self.filename,
            media_metadata: SortedMetadata {
                creation_time: &m.creation_time,
                height: &m.height,
                photo: &m.photo,
                video: &m.video,
                width: &m.width,
            },
            mime_type: &self.mime_type,
        };
        // Into a buffer, then hashed once: the serialiser's many small writes straight into
        // the hasher cost more than the copy.
        let mut text = Vec::with_capacity(512);
        serde_json::to_writer(&mut text, &fields)
            .expect("serialising into memory cannot fail: string keys, no I/O");
        super::super::repo::store::hex(&blake3::hash(&text).as_bytes()[..12])
    }
}

/// One walk through a paged listing. Every page loop over the Library API is this: ask with
/// the token the last page gave, stop when asked to, and refuse a token that repeats the page
/// just read (a listing that would never end: prune's listing once looped until cancelled
/// because its copy of the loop lacked the guard).
#[derive(Debug, Default)]
pub(crate) struct PageWalk {
    token: Option<String>,
    done: bool,
}

/// The page to ask for next: its token (None for the first page).
pub(crate) struct PageRequest(Option<String>);

impl PageRequest {
    /// The `pageToken` to send.
    pub(crate) fn token(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

impl PageWalk {
    /// The next page to ask for, or None once the last page was read.
    ///
    /// # Errors
    /// [`Error::Cancelled`] when the run is asked to stop.
    pub(crate) fn next(
        &self,
        cancel: &tokio_util::sync::CancellationToken,
    ) -> Result<Option<PageRequest>> {
        if cancel.is_cancelled() {
            return Err(Error::Cancelled);
        }
        Ok((!self.done).then(|| PageRequest(self.token.clone())))
    }

    /// Records the `nextPageToken` of the page just read.
    ///
    /// # Errors
    /// When the token is the one the page was asked with.
    pub(crate) fn advance(&mut self, next: Option<String>) -> Result<()> {
        match next {
            Some(t) if self.token.as_deref() == Some(t.as_str()) => Err(Error::Invalid(
                "the API returned the same page token twice; listing stopped".into(),
            )),
            Some(t) => {
                self.token = Some(t);
                Ok(())
            }
            None => {
                self.done = true;
                Ok(())
            }
        }
    }
}

pub(crate) fn int64_opt<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum N {
        S(String),
        I(i64),
        F(f64),
    }
    Ok(match Option::<N>::deserialize(d)? {
        None => None,
        Some(N::S(s)) => s.trim().parse().ok(),
        Some(N::I(i)) => Some(i),
        Some(N::F(f)) => Some(f as i64),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AlbumPage {
    #[serde(default)]
    albums: Vec<ApiAlbum>,
    #[serde(default)]
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ItemPage {
    #[serde(default)]
    media_items: Vec<ApiMediaItem>,
    #[serde(default)]
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BatchGet {
    #[serde(default)]
    media_item_results: Vec<BatchResult>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BatchResult {
    #[serde(default)]
    media_item: Option<ApiMediaItem>,
    #[serde(default)]
    status: Option<serde_json::Value>,
}

/// One page of a listing.
pub struct Page<T> {
    /// Items of the page (possibly none, even when more follow).
    pub items: Vec<T>,
    /// Token for the next page; None on the last.
    pub next: Option<String>,
}

/// An authorised Library API client for one account.
pub struct LibraryClient {
    http: reqwest::Client,
    endpoints: Endpoints,
    tokens: Arc<TokenSource>,
    policy: RetryPolicy,
    pacer: Arc<Pacer>,
}

impl LibraryClient {
    /// Builds a client.
    pub fn new(
        http: reqwest::Client,
        endpoints: Endpoints,
        tokens: Arc<TokenSource>,
        policy: RetryPolicy,
        pacer: Arc<Pacer>,
    ) -> LibraryClient {
        LibraryClient {
            http,
            endpoints,
            tokens,
            policy,
            pacer,
        }
    }

    /// One page of `albums.list` (50 per page, the maximum).
    pub async fn albums_page(&self, token: Option<&str>) -> Result<Page<ApiAlbum>> {
        let mut q = vec![("pageSize", "50".to_string())];
        if let Some(t) = token {
            q.push(("pageToken", t.to_string()));
        }
        let url = format!("{}/albums", self.endpoints.library);
        let page: AlbumPage = self
            .call("listing albums", |b| {
                self.http.get(&url).query(&q).bearer_auth(b)
            })
            .await?;
        Ok(Page {
            items: page.albums,
            next: page.next_page_token.filter(|t| !t.is_empty()),
        })
    }

    /// One page of an album's items (`mediaItems:search` with `albumId`, 100 per page).
    pub async fn album_items_page(
        &self,
        album_id: &str,
        token: Option<&str>,
    ) -> Result<Page<ApiMediaItem>> {
        let mut body = serde_json::json!({"albumId": album_id, "pageSize": 100});
        if let Some(t) = token {
            body["pageToken"] = t.into();
        }
        let url = format!("{}/mediaItems:search", self.endpoints.library);
        let page: ItemPage = self
            .call("listing an album", |b| {
                self.http.post(&url).json(&body).bearer_auth(b)
            })
            .await?;
        Ok(Page {
            items: page.media_items,
            next: page.next_page_token.filter(|t| !t.is_empty()),
        })
    }

    /// One page of `mediaItems.list` (every item, 100 per page).
    pub async fn items_page(&self, token: Option<&str>) -> Result<Page<ApiMediaItem>> {
        let mut q = vec![("pageSize", "100".to_string())];
        if let Some(t) = token {
            q.push(("pageToken", t.to_string()));
        }
        let url = format!("{}/mediaItems", self.endpoints.library);
        let page: ItemPage = self
            .call("listing items", |b| {
                self.http.get(&url).query(&q).bearer_auth(b)
            })
            .await?;
        Ok(Page {
            items: page.media_items,
            next: page.next_page_token.filter(|t| !t.is_empty()),
        })
    }

    /// `mediaItems.get`: a fresh base URL for one item.
    pub async fn item(&self, id: &str) -> Result<ApiMediaItem> {
        let url = format!("{}/mediaItems/{}", self.endpoints.library, urlencode(id));
        self.call("refreshing an item", |b| self.http.get(&url).bearer_auth(b))
            .await
    }

    /// `mediaItems:batchGet` for up to 50 ids; missing items come back as None.
    pub async fn items(&self, ids: &[&str]) -> Result<Vec<Option<ApiMediaItem>>> {
        let url = format!("{}/mediaItems:batchGet", self.endpoints.library);
        let q: Vec<(&str, &str)> = ids.iter().map(|i| ("mediaItemIds", *i)).collect();
        let r: BatchGet = self
            .call("refreshing items", |b| {
                self.http.get(&url).query(&q).bearer_auth(b)
            })
            .await?;
        Ok(r.media_item_results
            .into_iter()
            .map(|x| {
                if x.status.is_some() && x.media_item.is_none() {
                    None
                } else {
                    x.media_item
                }
            })
            .collect())
    }

    /// Sends a request with the bearer token, retrying per Google's rules and refreshing the
    /// token once on 401.
    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        what: &str,
        build: impl Fn(&str) -> reqwest::RequestBuilder,
    ) -> Result<T> {
        self.tokens
            .call(&self.pacer, &self.policy, what, build)
            .await
    }
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_string_encoded_int64_and_empty_pages() {
        let item: ApiMediaItem = serde_json::from_str(
            r#"{"id":"AB1","filename":"a.jpg","mimeType":"image/jpeg","baseUrl":"http://x/lh3/y",
                "mediaMetadata":{"creationTime":"2022-06-26T10:58:06Z","width":"4624","height":"3468",
                "photo":{"cameraMake":"Google","cameraModel":"Pixel 7","focalLength":6.81,"isoEquivalent":52,"exposureTime":"0.000816993s"}}}"#,
        )
        .unwrap();
        assert_eq!(item.media_metadata.width, Some(4624));
        assert_eq!(
            item.camera(),
            (Some("Google".into()), Some("Pixel 7".into()))
        );
        let page: ItemPage = serde_json::from_str("{}").unwrap();
        assert!(page.media_items.is_empty() && page.next_page_token.is_none());
    }

    /// The fingerprint as photobak computed it before: the fields as a `serde_json::Value`,
    /// every object's keys sorted, printed compactly.
    fn version_by_value(item: &ApiMediaItem) -> String {
        let mut v = serde_json::json!({
            "filename": item.filename,
            "mimeType": item.mime_type,
            "mediaMetadata": item.media_metadata,
        });
        canonicalize(&mut v);
        let hash = blake3::hash(v.to_string().as_bytes());
        crate::repo::store::hex(&hash.as_bytes()[..12])
    }

    /// Sorts object keys so the fingerprint does not depend on field order.
    fn canonicalize(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                let mut entries: Vec<(String, serde_json::Value)> =
                    std::mem::take(m).into_iter().collect();
                entries.sort_by(|a, b| a.0.cmp(&b.0));
                for (k, mut val) in entries {
                    canonicalize(&mut val);
                    m.insert(k, val);
                }
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(canonicalize),
            _ => {}
        }
    }

    /// Every stored item's recorded version must stay what it was, or the next backup would
    /// fetch the whole library again: the direct serialisation gives the old bytes, whatever
    /// the order of the keys in the API's JSON, nested objects, escapes and numbers included.
    #[test]
    fn version_is_the_fingerprint_of_the_sorted_fields() {
        let items = [
            r#"{"id":"AB1","filename":"a.jpg","mimeType":"image/jpeg","baseUrl":"http://x/lh3/y",
                "mediaMetadata":{"creationTime":"2022-06-26T10:58:06Z","width":"4624","height":"3468",
                "photo":{"cameraMake":"Google","cameraModel":"Pixel 7","focalLength":6.81,"isoEquivalent":52,"exposureTime":"0.000816993s","apertureFNumber":1.85}}}"#,
            r#"{"mediaMetadata":{"video":{"status":"READY","fps":29.97,"cameraMake":"Ap\"ple","z":{"b":[2,{"y":1,"x":0}],"a":null}},
                "width":1920,"height":"1080","creationTime":"2019-01-01T00:00:00Z"},
                "mimeType":"video/mp4","id":"V","filename":"Ünïcode \u00e9 \n tab\t.mp4"}"#,
            r#"{"id":"bare"}"#,
            r#"{"id":"e","filename":"","mediaMetadata":{"photo":{},"width":"-1"}}"#,
        ];
        for text in items {
            let item: ApiMediaItem = serde_json::from_str(text).unwrap();
            assert_eq!(item.version(), version_by_value(&item), "{text}");
        }
    }

    #[test]
    fn version_ignores_base_url_and_key_order_but_sees_edits() {
        let a: ApiMediaItem = serde_json::from_str(
            r#"{"id":"1","filename":"a.jpg","baseUrl":"u1","mediaMetadata":{"width":"1","height":"2"}}"#,
        )
        .unwrap();
        let b: ApiMediaItem = serde_json::from_str(
            r#"{"mediaMetadata":{"height":"2","width":"1"},"baseUrl":"u2","filename":"a.jpg","id":"1"}"#,
        )
        .unwrap();
        assert_eq!(a.version(), b.version());
        let c: ApiMediaItem = serde_json::from_str(
            r#"{"id":"1","filename":"a.jpg","mediaMetadata":{"width":"1","height":"3"}}"#,
        )
        .unwrap();
        assert_ne!(a.version(), c.version());
        let d: ApiMediaItem = serde_json::from_str(
            r#"{"id":"1","filename":"a.jpg","description":"caption","mediaMetadata":{"width":"1","height":"2"}}"#,
        )
        .unwrap();
        assert_eq!(a.version(), d.version(), "a caption edit needs no download");
    }

    #[test]
    fn a_page_walk_ends_on_the_last_page_and_refuses_a_repeated_token() {
        let cancel = tokio_util::sync::CancellationToken::new();
        let mut w = PageWalk::default();
        assert_eq!(w.next(&cancel).unwrap().unwrap().token(), None);
        w.advance(Some("p2".into())).unwrap();
        assert_eq!(w.next(&cancel).unwrap().unwrap().token(), Some("p2"));
        assert!(w.advance(Some("p2".into())).is_err(), "same token twice");
        w.advance(Some("p3".into())).unwrap();
        w.advance(None).unwrap();
        assert!(w.next(&cancel).unwrap().is_none());
        cancel.cancel();
        assert!(matches!(
            PageWalk::default().next(&cancel),
            Err(Error::Cancelled)
        ));
    }
}
