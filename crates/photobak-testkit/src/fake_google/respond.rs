//! Response shapes shared by the Library API, the media host and the OAuth endpoints.
//!
//! Google answers API errors with a `google.rpc.Status` JSON body and unknown paths with a small
//! HTML page; clients branch on both, so the fake reproduces them byte for byte where google.md
//! records the real text.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// The 401 message Google sends for a missing, invalid or expired access token.
pub(crate) const UNAUTHENTICATED_MESSAGE: &str = "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.";

/// The 403 message for a token without the needed scope.
pub(crate) const INSUFFICIENT_SCOPES_MESSAGE: &str =
    "Request had insufficient authentication scopes.";

/// The daily quota message (google.md §1.6/§1.7); `N` is the fake's project number.
pub(crate) const DAILY_QUOTA_MESSAGE: &str = "Quota exceeded for quota metric 'All requests' and limit 'All requests per day' of service 'photoslibrary.googleapis.com' for consumer 'project_number:123456789012'.";

/// The per-minute variant used for injected 429s.
pub(crate) const MINUTE_QUOTA_MESSAGE: &str = "Quota exceeded for quota metric 'All requests' and limit 'All requests per minute per user' of service 'photoslibrary.googleapis.com' for consumer 'project_number:123456789012'.";

/// A `google.rpc.Status` error response.
pub(crate) fn google_error(status: StatusCode, canonical: &str, message: &str) -> Response {
    let body = json!({"error": {"code": status.as_u16(), "message": message, "status": canonical}});
    json_response(status, &body)
}

/// 429 RESOURCE_EXHAUSTED, with `Retry-After` when configured.
pub(crate) fn resource_exhausted(message: &str, retry_after: Option<u64>) -> Response {
    let mut r = google_error(StatusCode::TOO_MANY_REQUESTS, "RESOURCE_EXHAUSTED", message);
    if let Some(secs) = retry_after {
        r.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from_str(&secs.to_string()).expect("digits are a valid header"),
        );
    }
    r
}

/// 503 UNAVAILABLE or 500 INTERNAL as Google words them.
pub(crate) fn server_error(unavailable: bool) -> Response {
    if unavailable {
        google_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "UNAVAILABLE",
            "The service is currently unavailable.",
        )
    } else {
        google_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL",
            "Internal error encountered.",
        )
    }
}

pub(crate) fn not_found_entity() -> Response {
    google_error(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "Requested entity was not found.",
    )
}

pub(crate) fn invalid_argument(message: &str) -> Response {
    google_error(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", message)
}

pub(crate) fn json_response(status: StatusCode, body: &serde_json::Value) -> Response {
    json_body_response(status, body.to_string().into_bytes())
}

/// A JSON body already serialised (a listing page written straight from its items).
pub(crate) fn json_body_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=UTF-8"),
    );
    r
}

/// Google's HTML error page (`Error 404 (Not Found)!!1`), as served for unknown paths and by
/// the media hosts.
pub(crate) fn html_error(status: StatusCode, path: &str) -> Response {
    let reason = status.canonical_reason().unwrap_or("Error");
    let detail = match status {
        StatusCode::NOT_FOUND => format!(
            "The requested URL <code>{}</code> was not found on this server.",
            escape(path)
        ),
        StatusCode::FORBIDDEN | StatusCode::UNAUTHORIZED => {
            "Your client does not have permission to get this URL from this server.".to_owned()
        }
        _ => "Your client has issued a malformed or illegal request.".to_owned(),
    };
    let body = format!(
        "<!DOCTYPE html>\n<html lang=en>\n  <meta charset=utf-8>\n  <title>Error {code} ({reason})!!1</title>\n  <p><b>{code}.</b> <ins>That\u{2019}s an error.</ins>\n  <p>{detail}  <ins>That\u{2019}s all we know.</ins>\n",
        code = status.as_u16()
    );
    let mut r = (status, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=UTF-8"),
    );
    r
}

pub(crate) fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The token of an `Authorization: Bearer …` header, shared by every API and media host.
pub(super) fn bearer(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}
