//! The media hosts behind `baseUrl`s (`lh3.googleusercontent.com` and
//! `video-downloads.googleusercontent.com` in real life; `/lh3/` and `/video-downloads/` here).
//!
//! A `baseUrl` is `E/lh3/<token>` where the token (~100 base64url chars) carries the item key
//! and issue time under a MAC, so the fake resolves it without storing every URL it ever handed
//! out, and a URL outlives neither its TTL on the fake's clock (403 afterwards) nor its item.
//! Bodies are streamed in 64 KiB chunks straight from the item's content recipe: a 1 GB video
//! costs no memory, `Range` requests start anywhere, and body faults (reset, truncation,
//! slowness) act on the real stream.

use std::io;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State as AxState};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::faults::FaultKind;
use super::model::{Content, Sample, VideoStatus, mix};
use super::oauth::duration_ms;
use super::respond::{bearer, html_error, resource_exhausted, server_error};
use super::{PICKER_SCOPE, Shared, State, seal, unseal};

const CHUNK: usize = 64 * 1024;
const MAC_LEN: usize = 54;

const MEDIA_QUOTA_MESSAGE: &str = "Quota exceeded for quota metric 'Media bytes requests' and limit 'Media bytes requests per day' of service 'photoslibrary.googleapis.com' for consumer 'project_number:123456789012'.";

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/lh3/{token}", get(lh3))
        .route("/video-downloads/{token}", get(video_download))
}

/// A fresh `baseUrl` for an item, issued now.
pub(crate) fn issue_base_url(
    shared: &Shared,
    st: &mut State,
    item_key: u64,
    now_ms: i64,
) -> String {
    format!(
        "{}/lh3/{}",
        shared.base,
        make_token(shared, st, b'L', item_key, now_ms)
    )
}

/// A fresh Picker API `baseUrl` for an item: same host and shape, but fetching it needs a
/// bearer token with the picker scope for the item's account.
pub(crate) fn issue_picker_base_url(
    shared: &Shared,
    st: &mut State,
    item_key: u64,
    now_ms: i64,
) -> String {
    format!(
        "{}/lh3/{}",
        shared.base,
        make_token(shared, st, b'P', item_key, now_ms)
    )
}

/// key (8) + issue time (8) + nonce (4), sealed with a 54-byte MAC: 74 bytes, 99 base64url
/// characters, about the length of Google's.
fn make_token(shared: &Shared, st: &mut State, tag: u8, key: u64, issued_ms: i64) -> String {
    st.nonce = st.nonce.wrapping_add(1);
    let mut raw = Vec::with_capacity(20);
    raw.extend_from_slice(&key.to_le_bytes());
    raw.extend_from_slice(&issued_ms.to_le_bytes());
    raw.extend_from_slice(&st.nonce.to_le_bytes());
    seal(&shared.mac_key, &[b'm', tag], &raw, MAC_LEN)
}

fn parse_token(shared: &Shared, tag: u8, token: &str) -> Option<(u64, i64)> {
    let raw = unseal(&shared.mac_key, &[b'm', tag], token, MAC_LEN)?;
    if raw.len() != 20 {
        return None;
    }
    let key = u64::from_le_bytes(raw[..8].try_into().ok()?);
    let issued = i64::from_le_bytes(raw[8..16].try_into().ok()?);
    Some((key, issued))
}

/// What the `=…` suffix asks for.
#[derive(Debug, PartialEq, Eq)]
enum Want {
    /// `=d`: original bytes (a still image for videos).
    Download,
    /// `=dv`: video bytes.
    Video,
    /// `=wN-hN[-c]`, `=sN` or nothing: a small re-encoded rendition.
    Rendition { w: u64, h: u64, crop: bool },
}

/// Parses the options after `=`, leniently like lh3: unknown options are ignored.
fn parse_options(opts: Option<&str>) -> Want {
    let (mut w, mut h, mut crop) = (0u64, 0u64, false);
    let mut download = false;
    for opt in opts.unwrap_or("").split('-') {
        match opt {
            "dv" => return Want::Video,
            "d" => download = true,
            "c" => crop = true,
            _ => {
                let num = |p: &str| opt.strip_prefix(p).and_then(|n| n.parse::<u64>().ok());
                if let Some(n) = num("w") {
                    w = n;
                } else if let Some(n) = num("h") {
                    h = n;
                } else if let Some(n) = num("s") {
                    w = n;
                    h = n;
                }
            }
        }
    }
    if download {
        return Want::Download;
    }
    // A bare baseUrl gives a reduced rendition (about 512 px).
    if w == 0 && h == 0 {
        w = 512;
        h = 512;
    }
    Want::Rendition { w, h, crop }
}

/// A small JPEG standing in for a resized/cropped rendition: a real sample plus a little
/// padding that depends on the item and the requested geometry, so it differs from the original
/// and between geometries.
fn rendition(fingerprint: u64, w: u64, h: u64, crop: bool) -> Content {
    let sample = Sample::SonyHdrHc3;
    let extra = 256 + (w.wrapping_mul(7).wrapping_add(h.wrapping_mul(3)) + u64::from(crop)) % 1024;
    let seed = mix(fingerprint, mix(w, h.wrapping_mul(2) + u64::from(crop)));
    Content::jpeg(sample, seed, sample.bytes().len() as u64 + extra)
}

fn count_request(st: &mut State) {
    st.stats.media_requests += 1;
}

/// Counts a media request against the item it names (once the URL is known to be genuine).
fn count_item_request(st: &mut State, key: u64) {
    if let Some(id) = st.lib.items.get(&key).map(|i| i.id.clone()) {
        *st.stats.media_requests_by_item.entry(id).or_default() += 1;
    }
}

/// Injected 5xx/429 for a media fetch.
fn request_fault(st: &mut State) -> Option<Response> {
    let f = &st.faults.faults;
    let (r5, r429, retry_after) = (f.media_5xx_rate, f.media_429_rate, f.retry_after_secs);
    if st.faults.roll(r5, FaultKind::Media5xx) {
        let unavailable = st.faults.pick_5xx();
        return Some(server_error(unavailable));
    }
    if st.faults.roll(r429, FaultKind::Media429) {
        return Some(resource_exhausted(
            "Quota exceeded: too many media requests per minute.",
            retry_after,
        ));
    }
    None
}

async fn lh3(
    AxState(shared): AxState<Arc<Shared>>,
    Path(tail): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let (token, opts) = match tail.split_once('=') {
        Some((t, o)) => (t, Some(o)),
        None => (tail.as_str(), None),
    };
    let mut st = shared.lock();
    count_request(&mut st);
    let (parsed, picker) = match parse_token(&shared, b'L', token) {
        Some(p) => (Some(p), false),
        None => (parse_token(&shared, b'P', token), true),
    };
    let Some((key, issued)) = parsed else {
        return html_error(StatusCode::NOT_FOUND, uri.path());
    };
    if matches!(parse_options(opts), Want::Download | Want::Video) {
        count_item_request(&mut st, key);
    }
    let now = shared.now_ms(&st);
    if picker {
        // Picker URLs need `Authorization: Bearer` with the picker scope (google.md §2.4).
        let Some(principal) = bearer(&headers).and_then(|t| st.oauth.principal(&t, now)) else {
            return html_error(StatusCode::UNAUTHORIZED, uri.path());
        };
        let owner = st.lib.items.get(&key).map(|i| i.account);
        if !principal
            .scope
            .split_whitespace()
            .any(|s| s == PICKER_SCOPE)
            || owner.is_some_and(|a| a != principal.account)
        {
            return html_error(StatusCode::FORBIDDEN, uri.path());
        }
    }
    if now - issued > duration_ms(shared.cfg.base_url_ttl) {
        return html_error(StatusCode::FORBIDDEN, uri.path());
    }
    let Some(item) = st.lib.items.get(&key) else {
        return html_error(StatusCode::NOT_FOUND, uri.path());
    };
    let (content, size, hash, mime, video) = (
        item.content.clone(),
        item.size,
        item.hash,
        item.mime_type.clone(),
        item.video_status,
    );
    let retry_after = st.faults.faults.retry_after_secs;
    if !st.faults.take_media_quota() {
        st.stats.quota_rejections += 1;
        return resource_exhausted(MEDIA_QUOTA_MESSAGE, retry_after);
    }
    if let Some(r) = request_fault(&mut st) {
        return r;
    }
    let fingerprint = content.fingerprint();
    match (parse_options(opts), video) {
        (Want::Video, None) => html_error(StatusCode::NOT_FOUND, uri.path()),
        (Want::Video, Some(VideoStatus::Ready)) | (Want::Download, None)
            if st.media_mirror.is_some() =>
        {
            mirror_redirect(&st, key)
        }
        (Want::Video, Some(VideoStatus::Ready)) => {
            // Google serves video bytes from a second host; clients must follow the redirect.
            let target = format!(
                "{}/video-downloads/{}",
                shared.base,
                make_token(&shared, &mut st, b'V', key, now)
            );
            let mut r = StatusCode::FOUND.into_response();
            r.headers_mut().insert(
                header::LOCATION,
                HeaderValue::from_str(&target).expect("URL is a valid header"),
            );
            r
        }
        (Want::Video, Some(VideoStatus::Failed)) => html_error(StatusCode::FORBIDDEN, uri.path()),
        (Want::Video, Some(_)) => html_error(StatusCode::NOT_FOUND, uri.path()),
        (Want::Download, None) => serve(&shared, &mut st, &headers, content, size, hash, &mime),
        (Want::Download, Some(_)) => {
            // `=d` on a video gives a still frame, not the video.
            let still = rendition(fingerprint, 0, 0, false);
            serve_small(&shared, &mut st, &headers, still)
        }
        (Want::Rendition { w, h, crop }, _) => serve_small(
            &shared,
            &mut st,
            &headers,
            rendition(fingerprint, w, h, crop),
        ),
    }
}

async fn video_download(
    AxState(shared): AxState<Arc<Shared>>,
    Path(token): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let mut st = shared.lock();
    count_request(&mut st);
    let Some((key, issued)) = parse_token(&shared, b'V', &token) else {
        return html_error(StatusCode::NOT_FOUND, uri.path());
    };
    count_item_request(&mut st, key);
    let now = shared.now_ms(&st);
    if now - issued > duration_ms(shared.cfg.base_url_ttl) {
        return html_error(StatusCode::FORBIDDEN, uri.path());
    }
    let Some(item) = st
        .lib
        .items
        .get(&key)
        .filter(|i| i.video_status == Some(VideoStatus::Ready))
    else {
        return html_error(StatusCode::NOT_FOUND, uri.path());
    };
    let (content, size, hash, mime) = (
        item.content.clone(),
        item.size,
        item.hash,
        item.mime_type.clone(),
    );
    if let Some(r) = request_fault(&mut st) {
        return r;
    }
    if st.media_mirror.is_some() {
        return mirror_redirect(&st, key);
    }
    serve(&shared, &mut st, &headers, content, size, hash, &mime)
}

/// `302 Found` to the item's file in the media mirror (`FakeGoogle::set_media_mirror`).
fn mirror_redirect(st: &State, key: u64) -> Response {
    let (Some(mirror), Some(item)) = (st.media_mirror.as_deref(), st.lib.items.get(&key)) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    // Item ids are base64url, safe in a path as they are.
    let target = format!("{mirror}/{}", item.id);
    let mut r = StatusCode::FOUND.into_response();
    match HeaderValue::from_str(&target) {
        Ok(v) => {
            r.headers_mut().insert(header::LOCATION, v);
            r
        }
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

fn serve_small(shared: &Arc<Shared>, st: &mut State, headers: &HeaderMap, c: Content) -> Response {
    let (size, hash) = c.measure();
    serve(shared, st, headers, c, size, hash, "image/jpeg")
}

/// Which counters a body feeds: the Photos media hosts' or Drive's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Meter {
    Photos,
    Drive,
}

impl Meter {
    fn bytes(self, shared: &Shared) -> &std::sync::atomic::AtomicU64 {
        match self {
            Meter::Photos => &shared.media_bytes_sent,
            Meter::Drive => &shared.drive_bytes_sent,
        }
    }

    fn completed(self, shared: &Shared) -> &std::sync::atomic::AtomicU64 {
        match self {
            Meter::Photos => &shared.media_bodies_completed,
            Meter::Drive => &shared.drive_bodies_completed,
        }
    }
}

/// A Drive file's content (`files.get?alt=media`): the same `Range` handling and body faults
/// as the media hosts, counted as Drive bytes.
pub(crate) fn serve_drive(
    shared: &Arc<Shared>,
    st: &mut State,
    headers: &HeaderMap,
    content: Content,
    size: u64,
    hash: blake3::Hash,
    mime: &str,
) -> Response {
    serve_metered(shared, st, headers, content, size, hash, mime, Meter::Drive)
}

/// Result of parsing a `Range` header against a length.
#[derive(Debug, PartialEq, Eq)]
enum RangeReq {
    Full,
    Part(u64, u64),
    Unsatisfiable,
}

/// Single `bytes=` ranges only; anything else is ignored (served in full), as HTTP allows.
fn parse_range(value: Option<&str>, len: u64) -> RangeReq {
    let Some(spec) = value.and_then(|v| v.trim().strip_prefix("bytes=")) else {
        return RangeReq::Full;
    };
    if spec.contains(',') {
        return RangeReq::Full;
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return RangeReq::Full;
    };
    let (a, b) = (a.trim(), b.trim());
    if a.is_empty() {
        // Suffix range: the last N bytes.
        let Ok(n) = b.parse::<u64>() else {
            return RangeReq::Full;
        };
        if n == 0 || len == 0 {
            return RangeReq::Unsatisfiable;
        }
        return RangeReq::Part(len.saturating_sub(n), len - 1);
    }
    let Ok(start) = a.parse::<u64>() else {
        return RangeReq::Full;
    };
    let end = if b.is_empty() {
        len.saturating_sub(1)
    } else {
        match b.parse::<u64>() {
            Ok(e) if e >= start => e.min(len.saturating_sub(1)),
            _ => return RangeReq::Full,
        }
    };
    if start >= len {
        return RangeReq::Unsatisfiable;
    }
    RangeReq::Part(start, end)
}

/// How a body stream ends early, if it does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cut {
    /// The stream fails: hyper drops the connection mid-body.
    Reset,
    /// The stream just ends: fewer bytes than `Content-Length` promised.
    Truncate,
    /// The stream goes silent for this long, then fails.
    Stall(Duration),
}

fn serve(
    shared: &Arc<Shared>,
    st: &mut State,
    headers: &HeaderMap,
    content: Content,
    size: u64,
    hash: blake3::Hash,
    mime: &str,
) -> Response {
    serve_metered(
        shared,
        st,
        headers,
        content,
        size,
        hash,
        mime,
        Meter::Photos,
    )
}

#[allow(clippy::too_many_arguments)]
fn serve_metered(
    shared: &Arc<Shared>,
    st: &mut State,
    headers: &HeaderMap,
    content: Content,
    size: u64,
    hash: blake3::Hash,
    mime: &str,
    meter: Meter,
) -> Response {
    let etag = format!("\"{}\"", &hash.to_hex()[..32]);
    let if_range_ok = headers
        .get(header::IF_RANGE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v.trim() == etag);
    let range = if if_range_ok {
        parse_range(
            headers.get(header::RANGE).and_then(|v| v.to_str().ok()),
            size,
        )
    } else {
        RangeReq::Full
    };
    let wrong_range_rate = st.faults.faults.wrong_range_rate;
    let (start, end_incl, status) = match range {
        RangeReq::Full => (0, size.saturating_sub(1), StatusCode::OK),
        // The `wrong_range_rate` fault: a 206 from byte 0, whatever the request asked for.
        RangeReq::Part(a, _)
            if a > 0 && st.faults.roll(wrong_range_rate, FaultKind::WrongRange) =>
        {
            (0, size.saturating_sub(1), StatusCode::PARTIAL_CONTENT)
        }
        RangeReq::Part(a, b) => (a, b, StatusCode::PARTIAL_CONTENT),
        RangeReq::Unsatisfiable => {
            let mut r = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
            r.headers_mut().insert(
                header::CONTENT_RANGE,
                HeaderValue::from_str(&format!("bytes */{size}")).expect("valid header"),
            );
            return r;
        }
    };
    let end = if size == 0 { 0 } else { end_incl + 1 };
    let body_len = end - start;
    let (reset_rate, truncate_rate, slow_ms) = (
        st.faults.faults.reset_rate,
        st.faults.faults.truncate_rate,
        st.faults.faults.slow_body_ms_per_chunk,
    );
    let (wrong_length_rate, stall_rate, stall) = (
        st.faults.faults.wrong_length_rate,
        st.faults.faults.stall_rate,
        Duration::from_secs(st.faults.faults.stall_secs.unwrap_or(3600)),
    );
    let cut = if body_len < 2 {
        None
    } else if st.faults.roll(reset_rate, FaultKind::Reset) {
        Some(Cut::Reset)
    } else if st.faults.roll(truncate_rate, FaultKind::Truncate) {
        Some(Cut::Truncate)
    } else if st.faults.roll(stall_rate, FaultKind::Stall) {
        Some(Cut::Stall(stall))
    } else {
        None
    };
    // A lying length: the whole body is sent, the header promises more (hyper then closes the
    // connection short of it). Drawn only for bodies that are not cut otherwise.
    let excess = if cut.is_none()
        && body_len > 0
        && st.faults.roll(wrong_length_rate, FaultKind::WrongLength)
    {
        1 + (body_len % 1000)
    } else {
        0
    };
    let stop = match cut {
        Some(_) => start + body_len / 2,
        None => end,
    };
    if body_len == 0 {
        meter.completed(shared).fetch_add(1, Ordering::Relaxed);
    }
    let body = body_stream(BodyState {
        shared: shared.clone(),
        meter,
        content,
        pos: start,
        end,
        stop,
        cut,
        slow_ms,
        done: body_len == 0,
    });
    let mut r = Response::new(body);
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(mime).unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(body_len + excess));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(
        header::ETAG,
        HeaderValue::from_str(&etag).expect("hex is valid"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=86400, no-transform"),
    );
    if status == StatusCode::PARTIAL_CONTENT {
        h.insert(
            header::CONTENT_RANGE,
            HeaderValue::from_str(&format!("bytes {start}-{end_incl}/{size}")).expect("valid"),
        );
    }
    r
}

struct BodyState {
    shared: Arc<Shared>,
    meter: Meter,
    content: Content,
    pos: u64,
    end: u64,
    stop: u64,
    cut: Option<Cut>,
    slow_ms: u64,
    done: bool,
}

fn body_stream(state: BodyState) -> Body {
    let stream = futures::stream::unfold(state, |mut s| async move {
        if s.done {
            return None;
        }
        if s.pos >= s.stop {
            s.done = true;
            if let Some(Cut::Stall(d)) = s.cut {
                tokio::time::sleep(d).await;
                return Some((
                    Err(io::Error::new(
                        io::ErrorKind::ConnectionReset,
                        "fake google: stalled body dropped",
                    )),
                    s,
                ));
            }
            if s.cut == Some(Cut::Reset) {
                // Let hyper flush what it buffered first (it does when the body is pending): a
                // real reset comes after bytes reached the client, and a small body would
                // otherwise vanish with its head, looking like a refused request.
                tokio::task::yield_now().await;
            }
            return match s.cut {
                Some(Cut::Reset) => Some((
                    Err(io::Error::new(
                        io::ErrorKind::ConnectionReset,
                        "fake google: injected connection reset",
                    )),
                    s,
                )),
                _ => None,
            };
        }
        if s.slow_ms > 0 {
            tokio::time::sleep(Duration::from_millis(s.slow_ms)).await;
        }
        let n = ((s.stop - s.pos) as usize).min(CHUNK);
        let mut buf = vec![0u8; n];
        s.content.read_at(s.pos, &mut buf);
        s.pos += n as u64;
        s.meter
            .bytes(&s.shared)
            .fetch_add(n as u64, Ordering::Relaxed);
        if s.pos == s.end && s.cut.is_none() {
            s.meter.completed(&s.shared).fetch_add(1, Ordering::Relaxed);
            s.done = true;
        }
        Some((Ok::<Bytes, io::Error>(Bytes::from(buf)), s))
    });
    Body::from_stream(stream)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_parsing() {
        assert_eq!(parse_options(Some("d")), Want::Download);
        assert_eq!(parse_options(Some("dv")), Want::Video);
        assert_eq!(
            parse_options(Some("w100-h200-c")),
            Want::Rendition {
                w: 100,
                h: 200,
                crop: true
            }
        );
        assert_eq!(
            parse_options(None),
            Want::Rendition {
                w: 512,
                h: 512,
                crop: false
            }
        );
        assert_eq!(
            parse_options(Some("s300")),
            Want::Rendition {
                w: 300,
                h: 300,
                crop: false
            }
        );
    }

    #[test]
    fn range_parsing() {
        assert_eq!(parse_range(None, 100), RangeReq::Full);
        assert_eq!(parse_range(Some("bytes=10-"), 100), RangeReq::Part(10, 99));
        assert_eq!(
            parse_range(Some("bytes=10-19"), 100),
            RangeReq::Part(10, 19)
        );
        assert_eq!(
            parse_range(Some("bytes=10-1000"), 100),
            RangeReq::Part(10, 99)
        );
        assert_eq!(parse_range(Some("bytes=-10"), 100), RangeReq::Part(90, 99));
        assert_eq!(parse_range(Some("bytes=-1000"), 100), RangeReq::Part(0, 99));
        assert_eq!(
            parse_range(Some("bytes=100-"), 100),
            RangeReq::Unsatisfiable
        );
        assert_eq!(parse_range(Some("bytes=-0"), 100), RangeReq::Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=5-1"), 100), RangeReq::Full);
        assert_eq!(parse_range(Some("bytes=0-1,5-6"), 100), RangeReq::Full);
        assert_eq!(parse_range(Some("items=0-1"), 100), RangeReq::Full);
    }

    #[test]
    fn renditions_differ() {
        let a = rendition(1, 100, 100, false).to_vec();
        let b = rendition(1, 100, 100, true).to_vec();
        let c = rendition(2, 100, 100, false).to_vec();
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert!(a.len() < 6000);
        assert_eq!(&a[..2], &[0xFF, 0xD8]);
    }
}
