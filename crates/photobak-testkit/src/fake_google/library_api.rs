//! The Photos Library API v1 read surface (`/photoslibrary/v1/…`).
//!
//! Only what a backup client reads is implemented: albums list/get, mediaItems list/search/get/
//! batchGet. Every call goes through one gate (bearer token → scope → daily quota → injected
//! faults) so clients meet errors in the same order Google's front end produces them. Listings
//! page with opaque, MAC-protected tokens that carry a cursor (the last item key) rather than an
//! offset, so items added or deleted between pages never make a client skip or repeat items
//! that were there all along; new items appear at the end of the order.

// Handlers and their helpers return ready-made error responses as `Err`; they are built at
// most once per request, so boxing them to appease `result_large_err` would only add noise.
#![allow(clippy::result_large_err)]

use std::collections::BTreeSet;
use std::ops::Bound;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State as AxState};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::faults::{FaultKind, PagedListing};
use super::model::{Item, Meta};
pub(super) use super::respond::bearer;
use super::respond::{
    DAILY_QUOTA_MESSAGE, INSUFFICIENT_SCOPES_MESSAGE, MINUTE_QUOTA_MESSAGE,
    UNAUTHENTICATED_MESSAGE, google_error, invalid_argument, json_body_response, json_response,
    not_found_entity, resource_exhausted, server_error,
};
use super::{READONLY_SCOPE, Shared, State, media, seal, unseal};

const ALBUMS_DEFAULT: usize = 20;
const ALBUMS_MAX: usize = 50;
const ITEMS_DEFAULT: usize = 25;
const ITEMS_MAX: usize = 100;
const BATCH_MAX: usize = 50;

const CONTENT_CATEGORIES: &[&str] = &[
    "NONE",
    "LANDSCAPES",
    "RECEIPTS",
    "CITYSCAPES",
    "LANDMARKS",
    "SELFIES",
    "PEOPLE",
    "PETS",
    "WEDDINGS",
    "BIRTHDAYS",
    "DOCUMENTS",
    "TRAVEL",
    "ANIMALS",
    "FOOD",
    "SPORT",
    "NIGHT",
    "PERFORMANCES",
    "WHITEBOARDS",
    "SCREENSHOTS",
    "UTILITY",
    "ARTS",
    "CRAFTS",
    "FASHION",
    "HOUSES",
    "GARDENS",
    "FLOWERS",
    "HOLIDAYS",
];

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/photoslibrary/v1/albums", get(list_albums))
        .route(
            "/photoslibrary/v1/albums/{id}",
            get(get_album).post(album_action),
        )
        .route("/photoslibrary/v1/sharedAlbums", get(shared_albums))
        .route("/photoslibrary/v1/sharedAlbums/{token}", get(shared_albums))
        .route("/photoslibrary/v1/sharedAlbums:join", post(shared_albums))
        .route("/photoslibrary/v1/sharedAlbums:leave", post(shared_albums))
        .route("/photoslibrary/v1/mediaItems", get(list_items))
        .route("/photoslibrary/v1/mediaItems:search", post(search))
        .route("/photoslibrary/v1/mediaItems:batchGet", get(batch_get))
        .route("/photoslibrary/v1/mediaItems/{id}", get(get_item))
}

pub(super) type Handled = Result<Response, Response>;

pub(super) fn finish(r: Handled) -> Response {
    r.unwrap_or_else(|e| e)
}

/// The caller after the gate.
struct Ctx {
    account: usize,
    now_ms: i64,
}

pub(super) fn query_pairs(raw: Option<String>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

pub(super) fn last<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

pub(super) fn unauthenticated() -> Response {
    let mut r = google_error(
        StatusCode::UNAUTHORIZED,
        "UNAUTHENTICATED",
        UNAUTHENTICATED_MESSAGE,
    );
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"https://accounts.google.com/\""),
    );
    r
}

pub(super) fn permission_denied() -> Response {
    google_error(
        StatusCode::FORBIDDEN,
        "PERMISSION_DENIED",
        INSUFFICIENT_SCOPES_MESSAGE,
    )
}

/// Token → scope → daily quota → injected faults, counting the request first.
fn gate(
    shared: &Shared,
    st: &mut State,
    headers: &HeaderMap,
    pairs: &[(String, String)],
) -> Result<Ctx, Response> {
    st.stats.api_requests += 1;
    let now_ms = shared.now_ms(st);
    let account = check_token(st, headers, pairs, READONLY_SCOPE, now_ms)?;
    let retry_after = st.faults.faults.retry_after_secs;
    if !st.faults.take_api_quota() {
        st.stats.quota_rejections += 1;
        return Err(resource_exhausted(DAILY_QUOTA_MESSAGE, retry_after));
    }
    api_fault(st)?;
    Ok(Ctx { account, now_ms })
}

/// The bearer token (or `access_token` query parameter) must be live and carry `scope`;
/// returns the caller's account. 401 UNAUTHENTICATED / 403 PERMISSION_DENIED otherwise.
pub(super) fn check_token(
    st: &mut State,
    headers: &HeaderMap,
    pairs: &[(String, String)],
    scope: &str,
    now_ms: i64,
) -> Result<usize, Response> {
    let token = bearer(headers).or_else(|| last(pairs, "access_token").map(str::to_owned));
    let Some(principal) = token.and_then(|t| st.oauth.principal(&t, now_ms)) else {
        return Err(unauthenticated());
    };
    if !principal.scope.split_whitespace().any(|s| s == scope) {
        return Err(permission_denied());
    }
    Ok(principal.account)
}

/// Injected 5xx / 429 for an API call.
pub(super) fn api_fault(st: &mut State) -> Result<(), Response> {
    let retry_after = st.faults.faults.retry_after_secs;
    let (rate_5xx, rate_429) = (st.faults.faults.api_5xx_rate, st.faults.faults.api_429_rate);
    if st.faults.roll(rate_5xx, FaultKind::Api5xx) {
        let unavailable = st.faults.pick_5xx();
        return Err(server_error(unavailable));
    }
    if st.faults.roll(rate_429, FaultKind::Api429) {
        return Err(resource_exhausted(MINUTE_QUOTA_MESSAGE, retry_after));
    }
    Ok(())
}

/// Parses `pageSize`: absent/0 → default, larger than max → max, negative or junk → 400.
fn page_size(raw: Option<&Value>, default: usize, max: usize) -> Result<usize, Response> {
    let n = match raw {
        None | Some(Value::Null) => 0,
        Some(Value::Number(n)) => n.as_i64().ok_or_else(|| bad_int(&n.to_string()))?,
        Some(Value::String(s)) => s.trim().parse::<i64>().map_err(|_| bad_int(s))?,
        Some(other) => return Err(bad_int(&other.to_string())),
    };
    if n < 0 {
        return Err(invalid_argument("Request contains an invalid argument."));
    }
    Ok(match n {
        0 => default,
        n => (n as usize).min(max),
    })
}

fn bad_int(raw: &str) -> Response {
    invalid_argument(&format!(
        "Invalid value at 'page_size' (TYPE_INT32), \"{raw}\""
    ))
}

pub(super) fn query_page_size(
    pairs: &[(String, String)],
    default: usize,
    max: usize,
) -> Result<usize, Response> {
    page_size(
        last(pairs, "pageSize")
            .map(|s| Value::String(s.to_owned()))
            .as_ref(),
        default,
        max,
    )
}

/// Which listing a page token belongs to; a token is only valid for the listing, account and
/// (for album/filter listings) the album or filter it came from.
#[derive(Clone, Copy)]
enum Listing {
    Albums = 1,
    Items = 2,
    AlbumItems = 3,
    Filtered = 4,
    SearchAll = 5,
}

impl Listing {
    /// The name the `repeat_page_token` fault knows this listing by.
    fn paged(self) -> Option<PagedListing> {
        match self {
            Listing::Albums => Some(PagedListing::Albums),
            Listing::Items => Some(PagedListing::MediaItems),
            Listing::AlbumItems => Some(PagedListing::AlbumItems),
            Listing::Filtered | Listing::SearchAll => None,
        }
    }
}

fn page_domain(account: usize, listing: Listing, context: u64) -> Vec<u8> {
    let mut d = b"page".to_vec();
    d.extend_from_slice(&(account as u64).to_le_bytes());
    d.push(listing as u8);
    d.extend_from_slice(&context.to_le_bytes());
    d
}

/// Position (8 bytes) and a nonce (so repeated positions still give distinct tokens), sealed.
fn encode_page_token(
    shared: &Shared,
    st: &mut State,
    account: usize,
    listing: Listing,
    context: u64,
    pos: u64,
) -> String {
    st.nonce = st.nonce.wrapping_add(1);
    let mut payload = Vec::with_capacity(12);
    payload.extend_from_slice(&pos.to_le_bytes());
    payload.extend_from_slice(&st.nonce.to_le_bytes());
    seal(
        &shared.mac_key,
        &page_domain(account, listing, context),
        &payload,
        24,
    )
}

fn decode_page_token(
    shared: &Shared,
    account: usize,
    listing: Listing,
    context: u64,
    token: &str,
) -> Result<u64, Response> {
    let payload = unseal(
        &shared.mac_key,
        &page_domain(account, listing, context),
        token,
        24,
    )
    .filter(|p| p.len() == 12)
    .ok_or_else(|| invalid_argument("Invalid page token."))?;
    Ok(u64::from_le_bytes(
        payload[..8].try_into().expect("8 bytes"),
    ))
}

/// One page of `candidates` (everything after the cursor, in order), possibly shortened by the
/// `short_pages` fault. Returns the page and whether more remain.
pub(super) fn take_page(
    st: &mut State,
    candidates: impl Iterator<Item = u64>,
    size: usize,
) -> (Vec<u64>, bool) {
    let mut batch: Vec<u64> = candidates.take(size + 1).collect();
    let avail = batch.len().min(size);
    let n = st.faults.short_page(avail).unwrap_or(avail);
    let more = batch.len() > n;
    batch.truncate(n);
    (batch, more)
}

/// Pages a key-ordered set: the token's position is the last key returned. `keys` picks the
/// set from the state; only the page's keys are copied out of it (a copy of the whole set per
/// page made listing a 100,000-item library quadratic).
#[allow(clippy::too_many_arguments)]
fn keyed_page(
    shared: &Shared,
    st: &mut State,
    ctx: &Ctx,
    keys: impl FnOnce(&State) -> &BTreeSet<u64>,
    listing: Listing,
    context: u64,
    token: Option<&str>,
    size: usize,
) -> Result<(Vec<u64>, Option<String>), Response> {
    let cursor = match token {
        Some(t) => decode_page_token(shared, ctx.account, listing, context, t)?,
        None => 0,
    };
    let candidates: Vec<u64> = keys(st)
        .range((Bound::Excluded(cursor), Bound::Unbounded))
        .take(size + 1)
        .copied()
        .collect();
    let (page, more) = take_page(st, candidates.into_iter(), size);
    // The `repeat_page_token` fault: the token the request carried comes back as the next one.
    if let Some(t) = token
        && let Some(faulty) = listing.paged()
        && st.faults.repeat_page_token(faulty)
    {
        return Ok((page, Some(t.to_owned())));
    }
    let next = more.then(|| {
        let pos = page.last().copied().unwrap_or(cursor);
        encode_page_token(shared, st, ctx.account, listing, context, pos)
    });
    Ok((page, next))
}

/// `cameraMake` / `cameraModel`, shared by the Library and Picker item shapes.
pub(super) fn camera_fields(meta: &Meta, m: &mut Map<String, Value>) {
    if let Some(v) = &meta.camera_make {
        m.insert("cameraMake".into(), json!(v));
    }
    if let Some(v) = &meta.camera_model {
        m.insert("cameraModel".into(), json!(v));
    }
}

/// The photo fields (`focalLength`, `apertureFNumber`, `isoEquivalent`, `exposureTime`) that
/// both APIs report, each only when known.
pub(super) fn photo_fields(meta: &Meta, m: &mut Map<String, Value>) {
    if let Some(v) = meta.focal_length {
        m.insert("focalLength".into(), json!(v));
    }
    if let Some(v) = meta.aperture {
        m.insert("apertureFNumber".into(), json!(v));
    }
    if let Some(v) = meta.iso {
        m.insert("isoEquivalent".into(), json!(v));
    }
    if let Some(v) = &meta.exposure {
        m.insert("exposureTime".into(), json!(v));
    }
}

/// A media item as the Library API shows it, serialised straight into the response body. The
/// fields are named in sorted order, the order `serde_json`'s maps print (its `preserve_order`
/// feature is off), so the text is byte for byte what building a `serde_json::Value` of the
/// same fields printed; building and dropping that tree for every item of a page was most of
/// the fake's CPU while it served a 100,000-item listing (malloc and `BTreeMap` inserts, about
/// 12 µs an item, on the cores photobak is measured on).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ApiItem<'a> {
    base_url: String,
    #[serde(skip_serializing_if = "str::is_empty")]
    description: &'a str,
    filename: &'a str,
    id: &'a str,
    media_metadata: ApiMetadata<'a>,
    mime_type: &'a str,
    product_url: String,
}

/// `mediaMetadata`: integers as strings (proto3 JSON's int64), and `photo` or `video`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ApiMetadata<'a> {
    creation_time: String,
    height: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    photo: Option<ApiPhoto<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    video: Option<ApiVideo<'a>>,
    width: String,
}

/// The photo fields, each only when known (see [`camera_fields`], [`photo_fields`]).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ApiPhoto<'a> {
    #[serde(rename = "apertureFNumber", skip_serializing_if = "Option::is_none")]
    aperture: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    camera_make: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    camera_model: Option<&'a str>,
    #[serde(rename = "exposureTime", skip_serializing_if = "Option::is_none")]
    exposure: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    focal_length: Option<f64>,
    #[serde(rename = "isoEquivalent", skip_serializing_if = "Option::is_none")]
    iso: Option<u32>,
}

/// The video fields: camera when known, frame rate and processing status.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ApiVideo<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    camera_make: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    camera_model: Option<&'a str>,
    fps: f64,
    status: &'static str,
}

impl<'a> ApiItem<'a> {
    /// The item's API shape, with `base_url` freshly issued for it.
    fn of(item: &'a Item, base_url: String) -> ApiItem<'a> {
        let meta = &item.meta;
        let (photo, video) = match item.video_status {
            Some(status) => (
                None,
                Some(ApiVideo {
                    camera_make: meta.camera_make.as_deref(),
                    camera_model: meta.camera_model.as_deref(),
                    fps: meta.fps,
                    status: status.as_api_str(),
                }),
            ),
            None => (
                Some(ApiPhoto {
                    aperture: meta.aperture,
                    camera_make: meta.camera_make.as_deref(),
                    camera_model: meta.camera_model.as_deref(),
                    exposure: meta.exposure.as_deref(),
                    focal_length: meta.focal_length,
                    iso: meta.iso,
                }),
                None,
            ),
        };
        ApiItem {
            base_url,
            description: &item.description,
            filename: &item.filename,
            id: &item.id,
            media_metadata: ApiMetadata {
                creation_time: item.creation_time.to_string(),
                height: item.height.to_string(),
                photo,
                video,
                width: item.width.to_string(),
            },
            mime_type: &item.mime_type,
            product_url: format!("https://photos.google.com/lr/photo/{}", item.id),
        }
    }
}

/// An item's API JSON as a value (single-item answers: `mediaItems.get`, `batchGet`).
fn item_json(shared: &Shared, st: &mut State, key: u64, now_ms: i64) -> Value {
    let base_url = media::issue_base_url(shared, st, key, now_ms);
    serde_json::to_value(ApiItem::of(&st.lib.items[&key], base_url))
        .expect("an item serialises: string keys, no I/O")
}

/// `{"mediaItems":[…],"nextPageToken":"…"}`, or `{}` when empty and last: the page's items
/// serialised straight into the body ([`ApiItem`]).
fn items_page(
    shared: &Shared,
    st: &mut State,
    keys: &[u64],
    now_ms: i64,
    next: Option<String>,
) -> Response {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct ItemsPage<'a> {
        #[serde(skip_serializing_if = "Vec::is_empty")]
        media_items: Vec<ApiItem<'a>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        next_page_token: Option<String>,
    }
    // Every base URL first: issuing one moves the state's nonce, the items are then borrowed.
    let urls: Vec<String> = keys
        .iter()
        .map(|k| media::issue_base_url(shared, st, *k, now_ms))
        .collect();
    let page = ItemsPage {
        media_items: keys
            .iter()
            .zip(urls)
            .map(|(k, url)| ApiItem::of(&st.lib.items[k], url))
            .collect(),
        next_page_token: next,
    };
    let mut body = Vec::with_capacity(1024 * (keys.len() + 1));
    serde_json::to_writer(&mut body, &page).expect("a page serialises: string keys, no I/O");
    json_body_response(StatusCode::OK, body)
}

fn album_json(shared: &Shared, st: &mut State, album_key: u64, now_ms: i64) -> Value {
    let album = st.lib.albums[&album_key].clone();
    let mut m = Map::new();
    m.insert("id".into(), json!(album.id));
    // proto3 JSON leaves out empty strings and zero counts, and Google does the same.
    if !album.title.is_empty() {
        m.insert("title".into(), json!(album.title));
    }
    m.insert(
        "productUrl".into(),
        json!(format!("https://photos.google.com/lr/album/{}", album.id)),
    );
    if !album.items.is_empty() {
        m.insert(
            "mediaItemsCount".into(),
            json!(album.items.len().to_string()),
        );
    }
    if let Some(first) = album.items.iter().next().copied() {
        m.insert(
            "coverPhotoBaseUrl".into(),
            json!(media::issue_base_url(shared, st, first, now_ms)),
        );
        m.insert(
            "coverPhotoMediaItemId".into(),
            json!(st.lib.items[&first].id),
        );
    }
    Value::Object(m)
}

/// Looks up an album or item id within the caller's account.
fn own_album(st: &State, ctx: &Ctx, id: &str) -> Option<u64> {
    st.lib
        .album_key(id)
        .filter(|k| st.lib.albums[k].account == ctx.account)
}

fn own_item(st: &State, ctx: &Ctx, id: &str) -> Option<u64> {
    st.lib
        .item_key(id)
        .filter(|k| st.lib.items[k].account == ctx.account)
}

async fn list_albums(
    AxState(shared): AxState<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let pairs = query_pairs(q);
    let mut st = shared.lock();
    finish((|| {
        let ctx = gate(&shared, &mut st, &headers, &pairs)?;
        let size = query_page_size(&pairs, ALBUMS_DEFAULT, ALBUMS_MAX)?;
        let token = last(&pairs, "pageToken").filter(|t| !t.is_empty());
        let (page, next) = keyed_page(
            &shared,
            &mut st,
            &ctx,
            |st| &st.lib.accounts[ctx.account].albums,
            Listing::Albums,
            0,
            token,
            size,
        )?;
        let albums: Vec<Value> = page
            .iter()
            .map(|k| album_json(&shared, &mut st, *k, ctx.now_ms))
            .collect();
        let mut m = Map::new();
        if !albums.is_empty() {
            m.insert("albums".into(), Value::Array(albums));
        }
        if let Some(t) = next {
            m.insert("nextPageToken".into(), json!(t));
        }
        Ok(json_response(StatusCode::OK, &Value::Object(m)))
    })())
}

async fn get_album(
    AxState(shared): AxState<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let pairs = query_pairs(q);
    let mut st = shared.lock();
    finish((|| {
        let ctx = gate(&shared, &mut st, &headers, &pairs)?;
        let key = own_album(&st, &ctx, &id).ok_or_else(not_found_entity)?;
        let body = album_json(&shared, &mut st, key, ctx.now_ms);
        Ok(json_response(StatusCode::OK, &body))
    })())
}

/// `POST albums/{id}:share|:unshare` are gone since 2025-03-31 (403); other album writes are
/// not part of the fake.
async fn album_action(
    AxState(shared): AxState<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let pairs = query_pairs(q);
    let mut st = shared.lock();
    finish((|| {
        gate(&shared, &mut st, &headers, &pairs)?;
        if id.ends_with(":share") || id.ends_with(":unshare") {
            return Err(permission_denied());
        }
        Err(super::respond::html_error(
            StatusCode::NOT_FOUND,
            &format!("/photoslibrary/v1/albums/{id}"),
        ))
    })())
}

/// The sharing surface answers 403 PERMISSION_DENIED since 2025-03-31.
async fn shared_albums(
    AxState(shared): AxState<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let pairs = query_pairs(q);
    let mut st = shared.lock();
    finish((|| {
        gate(&shared, &mut st, &headers, &pairs)?;
        Err(permission_denied())
    })())
}

async fn list_items(
    AxState(shared): AxState<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let pairs = query_pairs(q);
    let mut st = shared.lock();
    finish((|| {
        let ctx = gate(&shared, &mut st, &headers, &pairs)?;
        let size = query_page_size(&pairs, ITEMS_DEFAULT, ITEMS_MAX)?;
        let token = last(&pairs, "pageToken").filter(|t| !t.is_empty());
        let (page, next) = keyed_page(
            &shared,
            &mut st,
            &ctx,
            |st| &st.lib.accounts[ctx.account].items,
            Listing::Items,
            0,
            token,
            size,
        )?;
        Ok(items_page(&shared, &mut st, &page, ctx.now_ms, next))
    })())
}

async fn get_item(
    AxState(shared): AxState<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let pairs = query_pairs(q);
    let mut st = shared.lock();
    finish((|| {
        let ctx = gate(&shared, &mut st, &headers, &pairs)?;
        let key = own_item(&st, &ctx, &id).ok_or_else(not_found_entity)?;
        let body = item_json(&shared, &mut st, key, ctx.now_ms);
        Ok(json_response(StatusCode::OK, &body))
    })())
}

async fn batch_get(
    AxState(shared): AxState<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let pairs = query_pairs(q);
    let mut st = shared.lock();
    finish((|| {
        let ctx = gate(&shared, &mut st, &headers, &pairs)?;
        let ids: Vec<&str> = pairs
            .iter()
            .filter(|(k, _)| k == "mediaItemIds")
            .map(|(_, v)| v.as_str())
            .collect();
        if ids.is_empty() {
            return Err(invalid_argument(
                "Request must contain at least one media item id.",
            ));
        }
        if ids.len() > BATCH_MAX {
            return Err(invalid_argument(
                "Request must not contain more than 50 media item ids.",
            ));
        }
        let unique: BTreeSet<&str> = ids.iter().copied().collect();
        if unique.len() != ids.len() {
            return Err(invalid_argument(
                "Request must not contain duplicate media item ids.",
            ));
        }
        let results: Vec<Value> = ids
            .iter()
            .map(|id| match own_item(&st, &ctx, id) {
                Some(k) => json!({"mediaItem": item_json(&shared, &mut st, k, ctx.now_ms)}),
                None => {
                    json!({"status": {"code": 5, "message": "Requested entity was not found."}})
                }
            })
            .collect();
        Ok(json_response(
            StatusCode::OK,
            &json!({"mediaItemResults": results}),
        ))
    })())
}

/// A `{year, month, day}` with 0 meaning "any".
#[derive(Clone, Copy, Debug)]
struct DatePat {
    year: i64,
    month: i64,
    day: i64,
}

impl DatePat {
    fn matches(&self, (y, m, d): (i64, i64, i64)) -> bool {
        (self.year == 0 || self.year == y)
            && (self.month == 0 || self.month == m)
            && (self.day == 0 || self.day == d)
    }
    fn lower(&self) -> (i64, i64, i64) {
        (self.year, self.month.max(1), self.day.max(1))
    }
    fn upper(&self) -> (i64, i64, i64) {
        (
            self.year,
            if self.month == 0 { 12 } else { self.month },
            if self.day == 0 { 31 } else { self.day },
        )
    }
}

/// A parsed `filters` object.
#[derive(Default)]
struct Filter {
    dates: Vec<DatePat>,
    ranges: Vec<(DatePat, DatePat)>,
    has_date_filter: bool,
    /// `Some(true)` videos only, `Some(false)` photos only.
    videos: Option<bool>,
    /// Items of the fake have no content categories or favourites, so some filters match
    /// nothing at all.
    matches_nothing: bool,
    /// Filter groups other than date/archived/app-created (forbidden with orderBy).
    has_other_groups: bool,
}

fn unknown_name(name: &str) -> Response {
    invalid_argument(&format!(
        "Invalid JSON payload received. Unknown name \"{name}\": Cannot find field."
    ))
}

fn check_keys(obj: &Map<String, Value>, allowed: &[&str]) -> Result<(), Response> {
    match obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(unknown_name(k)),
        None => Ok(()),
    }
}

fn str_list<'a>(v: Option<&'a Value>, what: &str) -> Result<Vec<&'a str>, Response> {
    match v {
        None => Ok(Vec::new()),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .ok_or_else(|| invalid_argument(&format!("Invalid value in {what}.")))
            })
            .collect(),
        Some(_) => Err(invalid_argument(&format!("Invalid value for {what}."))),
    }
}

fn date_pat(v: &Value) -> Result<DatePat, Response> {
    let obj = v
        .as_object()
        .ok_or_else(|| invalid_argument("Invalid date."))?;
    check_keys(obj, &["year", "month", "day"])?;
    let get = |k: &str| obj.get(k).and_then(Value::as_i64).unwrap_or(0);
    let p = DatePat {
        year: get("year"),
        month: get("month"),
        day: get("day"),
    };
    if (p.year, p.month, p.day) == (0, 0, 0)
        || !(0..=9999).contains(&p.year)
        || !(0..=12).contains(&p.month)
        || !(0..=31).contains(&p.day)
    {
        return Err(invalid_argument(
            "The date filter contains an invalid date.",
        ));
    }
    Ok(p)
}

fn parse_filter(v: &Value) -> Result<Filter, Response> {
    let obj = v
        .as_object()
        .ok_or_else(|| invalid_argument("Invalid value for filters."))?;
    check_keys(
        obj,
        &[
            "dateFilter",
            "contentFilter",
            "mediaTypeFilter",
            "featureFilter",
            "includeArchivedMedia",
            "excludeNonAppCreatedData",
        ],
    )?;
    let mut f = Filter::default();
    if let Some(df) = obj.get("dateFilter") {
        let df = df
            .as_object()
            .ok_or_else(|| invalid_argument("Invalid dateFilter."))?;
        check_keys(df, &["dates", "ranges"])?;
        f.has_date_filter = true;
        if let Some(dates) = df.get("dates").and_then(Value::as_array) {
            if dates.len() > 5 {
                return Err(invalid_argument(
                    "A date filter may contain at most 5 dates.",
                ));
            }
            f.dates = dates.iter().map(date_pat).collect::<Result<_, _>>()?;
        }
        if let Some(ranges) = df.get("ranges").and_then(Value::as_array) {
            if ranges.len() > 5 {
                return Err(invalid_argument(
                    "A date filter may contain at most 5 ranges.",
                ));
            }
            for r in ranges {
                let start = r
                    .get("startDate")
                    .ok_or_else(|| invalid_argument("A date range needs a startDate."))?;
                let end = r
                    .get("endDate")
                    .ok_or_else(|| invalid_argument("A date range needs an endDate."))?;
                let (s, e) = (date_pat(start)?, date_pat(end)?);
                if s.year == 0 || e.year == 0 {
                    return Err(invalid_argument("A date range needs years."));
                }
                f.ranges.push((s, e));
            }
        }
    }
    if let Some(mt) = obj.get("mediaTypeFilter") {
        f.has_other_groups = true;
        let types = str_list(mt.get("mediaTypes"), "mediaTypes")?;
        if types.len() > 1 {
            return Err(invalid_argument(
                "A media type filter may contain only one media type.",
            ));
        }
        f.videos = match types.first().copied() {
            None | Some("ALL_MEDIA") => None,
            Some("PHOTO") => Some(false),
            Some("VIDEO") => Some(true),
            Some(other) => {
                return Err(invalid_argument(&format!(
                    "Invalid value at 'filters.media_type_filter.media_types[0]', \"{other}\""
                )));
            }
        };
    }
    if let Some(cf) = obj.get("contentFilter") {
        f.has_other_groups = true;
        let inc = str_list(
            cf.get("includedContentCategories"),
            "includedContentCategories",
        )?;
        let exc = str_list(
            cf.get("excludedContentCategories"),
            "excludedContentCategories",
        )?;
        if inc.len() > 10 || exc.len() > 10 {
            return Err(invalid_argument(
                "A content filter may contain at most 10 categories of each kind.",
            ));
        }
        if let Some(bad) = inc
            .iter()
            .chain(exc.iter())
            .find(|c| !CONTENT_CATEGORIES.contains(c))
        {
            return Err(invalid_argument(&format!(
                "Invalid content category \"{bad}\"."
            )));
        }
        if inc.iter().any(|c| exc.contains(c)) {
            return Err(invalid_argument(
                "A content category cannot be both included and excluded.",
            ));
        }
        if (!inc.is_empty() && !inc.contains(&"NONE")) || exc.contains(&"NONE") {
            f.matches_nothing = true;
        }
    }
    if let Some(ff) = obj.get("featureFilter") {
        f.has_other_groups = true;
        let feats = str_list(ff.get("includedFeatures"), "includedFeatures")?;
        for feat in &feats {
            match *feat {
                "NONE" => {}
                "FAVORITES" => f.matches_nothing = true,
                other => {
                    return Err(invalid_argument(&format!("Invalid feature \"{other}\".")));
                }
            }
        }
    }
    Ok(f)
}

fn item_matches(f: &Filter, item: &Item) -> bool {
    if f.matches_nothing {
        return false;
    }
    if let Some(want_video) = f.videos
        && want_video != item.video_status.is_some()
    {
        return false;
    }
    if !f.dates.is_empty() || !f.ranges.is_empty() {
        let date = item
            .creation_time
            .to_zoned_datetime(jiff::tz::TimeZone::UTC)
            .date();
        let ymd = (
            i64::from(date.year()),
            i64::from(date.month()),
            i64::from(date.day()),
        );
        let in_dates = f.dates.iter().any(|p| p.matches(ymd));
        let in_ranges = f
            .ranges
            .iter()
            .any(|(s, e)| s.lower() <= ymd && ymd <= e.upper());
        if !in_dates && !in_ranges {
            return false;
        }
    }
    true
}

async fn search(
    AxState(shared): AxState<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    let pairs = query_pairs(q);
    let mut st = shared.lock();
    finish((|| {
        let ctx = gate(&shared, &mut st, &headers, &pairs)?;
        let body: Value = if body.iter().all(u8::is_ascii_whitespace) {
            json!({})
        } else {
            serde_json::from_slice(&body)
                .map_err(|e| invalid_argument(&format!("Invalid JSON payload received. {e}")))?
        };
        let obj = body
            .as_object()
            .ok_or_else(|| invalid_argument("Invalid JSON payload received."))?;
        check_keys(
            obj,
            &["albumId", "pageSize", "pageToken", "filters", "orderBy"],
        )?;
        let size = page_size(obj.get("pageSize"), ITEMS_DEFAULT, ITEMS_MAX)?;
        let token = obj
            .get("pageToken")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty());
        let album_id = obj
            .get("albumId")
            .and_then(Value::as_str)
            .filter(|a| !a.is_empty());
        let filters = obj.get("filters").filter(|f| !f.is_null());
        let order_by = obj
            .get("orderBy")
            .and_then(Value::as_str)
            .filter(|o| !o.is_empty());

        if album_id.is_some() && filters.is_some() {
            return Err(invalid_argument(
                "Request must not specify both albumId and filters.",
            ));
        }
        if let Some(album_id) = album_id {
            if order_by.is_some() {
                return Err(invalid_argument(
                    "orderBy can only be used together with a dateFilter.",
                ));
            }
            let akey = own_album(&st, &ctx, album_id)
                .ok_or_else(|| invalid_argument("Invalid album ID."))?;
            let (page, next) = keyed_page(
                &shared,
                &mut st,
                &ctx,
                |st| &st.lib.albums[&akey].items,
                Listing::AlbumItems,
                akey,
                token,
                size,
            )?;
            return Ok(items_page(&shared, &mut st, &page, ctx.now_ms, next));
        }
        if filters.is_none() && order_by.is_none() {
            let (page, next) = keyed_page(
                &shared,
                &mut st,
                &ctx,
                |st| &st.lib.accounts[ctx.account].items,
                Listing::SearchAll,
                0,
                token,
                size,
            )?;
            return Ok(items_page(&shared, &mut st, &page, ctx.now_ms, next));
        }
        let filter = match filters {
            Some(f) => parse_filter(f)?,
            None => Filter::default(),
        };
        let ascending = match order_by {
            None => false,
            Some(o) => {
                if !filter.has_date_filter || filter.has_other_groups {
                    return Err(invalid_argument(
                        "orderBy can only be used together with a dateFilter.",
                    ));
                }
                match o.trim() {
                    "MediaMetadata.creation_time" => true,
                    "MediaMetadata.creation_time desc" => false,
                    _ => return Err(invalid_argument("Invalid orderBy value.")),
                }
            }
        };
        let mut matching: Vec<&Item> = st.lib.accounts[ctx.account]
            .items
            .iter()
            .map(|k| &st.lib.items[k])
            .filter(|i| item_matches(&filter, i))
            .collect();
        if filter.has_date_filter {
            // Date-filtered results come newest first unless orderBy asks for oldest first.
            matching.sort_by_key(|i| (i.creation_time, i.key));
            if !ascending {
                matching.reverse();
            }
        }
        let ordered: Vec<u64> = matching.iter().map(|i| i.key).collect();
        // Filtered listings page by offset into the filtered order; the token is bound to the
        // exact filter so it cannot be replayed against another one.
        let context = {
            let text = format!(
                "{}|{}",
                filters.map(Value::to_string).unwrap_or_default(),
                order_by.unwrap_or("")
            );
            u64::from_le_bytes(
                blake3::hash(text.as_bytes()).as_bytes()[..8]
                    .try_into()
                    .expect("8 bytes"),
            )
        };
        let offset = match token {
            Some(t) => decode_page_token(&shared, ctx.account, Listing::Filtered, context, t)?,
            None => 0,
        };
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(ordered.len());
        let (page, more) = take_page(&mut st, ordered[start..].iter().copied(), size);
        let next = more.then(|| {
            let pos = (start + page.len()) as u64;
            encode_page_token(
                &shared,
                &mut st,
                ctx.account,
                Listing::Filtered,
                context,
                pos,
            )
        });
        Ok(items_page(&shared, &mut st, &page, ctx.now_ms, next))
    })())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake_google::model::{Content, VideoStatus};

    /// An item's JSON as the fake built it before [`ApiItem`]: a `serde_json::Value` of the
    /// same fields, printed with its keys sorted.
    fn item_value_as_before(item: &Item, base_url: &str) -> Value {
        let mut m = Map::new();
        m.insert("id".into(), json!(item.id));
        if !item.description.is_empty() {
            m.insert("description".into(), json!(item.description));
        }
        m.insert(
            "productUrl".into(),
            json!(format!("https://photos.google.com/lr/photo/{}", item.id)),
        );
        m.insert("baseUrl".into(), json!(base_url));
        m.insert("mimeType".into(), json!(item.mime_type));
        let mut md = Map::new();
        md.insert("creationTime".into(), json!(item.creation_time.to_string()));
        md.insert("width".into(), json!(item.width.to_string()));
        md.insert("height".into(), json!(item.height.to_string()));
        let meta = &item.meta;
        let mut kind = Map::new();
        camera_fields(meta, &mut kind);
        match item.video_status {
            Some(status) => {
                kind.insert("fps".into(), json!(meta.fps));
                kind.insert("status".into(), json!(status.as_api_str()));
                md.insert("video".into(), Value::Object(kind));
            }
            None => {
                photo_fields(meta, &mut kind);
                md.insert("photo".into(), Value::Object(kind));
            }
        }
        m.insert("mediaMetadata".into(), Value::Object(md));
        m.insert("filename".into(), json!(item.filename));
        Value::Object(m)
    }

    /// The items the fake serves are the same text as before it serialised them directly:
    /// photos with every field or none, videos, escapes, a description or none.
    #[test]
    fn an_items_json_is_the_text_the_value_tree_printed() {
        let meta = |full: bool| Meta {
            camera_make: full.then(|| "Go\"og\u{e9}le".to_string()),
            camera_model: full.then(|| "Pixel 7".to_string()),
            focal_length: full.then_some(6.81),
            aperture: full.then_some(1.0),
            iso: full.then_some(52),
            exposure: full.then(|| "0.000816993s".to_string()),
            fps: 29.97,
        };
        let item = |video: Option<VideoStatus>, full: bool| Item {
            key: 7,
            id: "AB1-x_y".into(),
            account: 0,
            filename: "IMG \"1\"\n\u{fc}.jpg".into(),
            mime_type: "image/jpeg".into(),
            description: if full {
                "a <caption> & more".into()
            } else {
                String::new()
            },
            creation_time: "2022-06-26T10:58:06Z".parse().unwrap(),
            width: 4624,
            height: 3468,
            content: Content::Bytes(Arc::new(vec![1, 2, 3])),
            size: 3,
            hash: blake3::hash(&[1, 2, 3]),
            video_status: video,
            meta: meta(full),
            edits: 0,
        };
        let url = "http://127.0.0.1:1/lh3/AbC";
        for video in [
            None,
            Some(VideoStatus::Ready),
            Some(VideoStatus::Processing),
        ] {
            for full in [true, false] {
                let it = item(video, full);
                assert_eq!(
                    serde_json::to_string(&ApiItem::of(&it, url.into())).unwrap(),
                    item_value_as_before(&it, url).to_string(),
                    "video {video:?}, all fields {full}"
                );
            }
        }
    }

    #[test]
    fn page_size_rules() {
        let p = |v: Option<Value>| page_size(v.as_ref(), 25, 100).map_err(|r| r.status());
        assert_eq!(p(None), Ok(25));
        assert_eq!(p(Some(json!(0))), Ok(25));
        assert_eq!(p(Some(json!(7))), Ok(7));
        assert_eq!(p(Some(json!("7"))), Ok(7));
        assert_eq!(p(Some(json!(1000))), Ok(100));
        assert_eq!(p(Some(json!(-1))), Err(StatusCode::BAD_REQUEST));
        assert_eq!(p(Some(json!("x"))), Err(StatusCode::BAD_REQUEST));
    }

    #[test]
    fn date_patterns() {
        let p = DatePat {
            year: 2020,
            month: 0,
            day: 0,
        };
        assert!(p.matches((2020, 5, 1)));
        assert!(!p.matches((2021, 5, 1)));
        assert_eq!(p.lower(), (2020, 1, 1));
        assert_eq!(p.upper(), (2020, 12, 31));
        assert!(date_pat(&json!({"year":0,"month":0,"day":0})).is_err());
        assert!(date_pat(&json!({"month":2,"day":29})).is_ok());
    }

    #[test]
    fn filters_validate() {
        assert!(
            parse_filter(&json!({"mediaTypeFilter":{"mediaTypes":["PHOTO","VIDEO"]}})).is_err()
        );
        assert!(parse_filter(&json!({"contentFilter":{"includedContentCategories":["PETS"],"excludedContentCategories":["PETS"]}})).is_err());
        assert!(parse_filter(&json!({"bogus":1})).is_err());
        let f = parse_filter(&json!({"mediaTypeFilter":{"mediaTypes":["VIDEO"]}})).unwrap();
        assert_eq!(f.videos, Some(true));
    }
}
