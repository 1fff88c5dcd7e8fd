//! The Google Drive API v3 read surface (`/drive/v3/files…`), enough for a client that fetches
//! Takeout archives Google delivered into a user's Drive.
//!
//! What is served: `files.list` with a real parser for the `q` grammar a client needs (`name
//! contains`, `name =`, `mimeType =`/`!=`, `trashed =`, `'ID' in parents`, joined by `and`/`or`/
//! `not` with parentheses; anything else is a 400 like Google's), `fields` selections (only the
//! requested fields come back; `size` is a string, as Google sends int64s), `pageSize`
//! (default 100, at most 1000), opaque MAC-protected page tokens bound to their query, and
//! `orderBy`; `files.get` for metadata and `alt=media` content with `Range`. Google Docs files
//! (`application/vnd.google-apps.*`, folders included) have no bytes and refuse `alt=media` with
//! 403 `fileNotDownloadable`.
//!
//! Drive answers errors in its own shape: the `google.rpc.Status` fields plus an `errors` array
//! whose `reason` clients branch on (`notFound`, `insufficientPermissions`,
//! `userRateLimitExceeded`, `rateLimitExceeded`, `backendError`, `invalid`). Rate limits come as
//! 403 (with those reasons) or 429; both must be retried. Faults use the shared switches: the
//! API ones for metadata calls, the media ones (and the body cuts) for `alt=media`, plus
//! `drive_rate_limit_403_rate` for Drive's 403 flavour.
//!
//! Where it knowingly differs from Drive: one corpus (the caller's own files), no shared
//! drives, no `files.export`, and `name contains` matches a prefix of the name or of any word in
//! it (Drive documents prefix matching for names but not its word splitting).

// Handlers and their helpers return ready-made error responses as `Err`.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, RawQuery, State as AxState};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::faults::{FaultKind, PagedListing};
use super::library_api::{bearer, last, query_pairs};
use super::model::{Content, mix};
use super::respond::{UNAUTHENTICATED_MESSAGE, json_response};
use super::{Shared, State, media, seal, unseal};

/// The read-only Drive scope: reads files the app did not create.
pub const DRIVE_READONLY_SCOPE: &str = "https://www.googleapis.com/auth/drive.readonly";
/// The full Drive scope also reads everything.
const DRIVE_FULL_SCOPE: &str = "https://www.googleapis.com/auth/drive";

/// MIME type of a Drive folder.
pub const FOLDER_MIME: &str = "application/vnd.google-apps.folder";

const PAGE_DEFAULT: usize = 100;
const PAGE_MAX: usize = 1000;
const TOKEN_MAC_LEN: usize = 16;

/// A file to put into a user's Drive (the control interface's JSON has the same fields; the
/// bytes as `content_base64` or `text`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DriveFileSpec {
    /// File name (Drive allows duplicates).
    pub name: String,
    /// Content; ignored for Google Docs files and folders.
    pub bytes: Vec<u8>,
    /// Parent folder ids; empty = the root of My Drive.
    pub parents: Vec<String>,
    /// In the Drive trash.
    pub trashed: bool,
    /// MIME type; default from the extension (`.zip` → `application/zip`, `.tgz` →
    /// `application/x-gzip`, otherwise `application/octet-stream`).
    pub mime_type: Option<String>,
    /// `createdTime` (and `modifiedTime`); default the fake's clock.
    pub created_time: Option<Timestamp>,
}

impl DriveFileSpec {
    /// A binary file with these bytes at the root of My Drive.
    pub fn file(name: &str, bytes: impl Into<Vec<u8>>) -> DriveFileSpec {
        DriveFileSpec {
            name: name.to_owned(),
            bytes: bytes.into(),
            ..DriveFileSpec::default()
        }
    }

    /// A folder at the root of My Drive.
    pub fn folder(name: &str) -> DriveFileSpec {
        DriveFileSpec {
            name: name.to_owned(),
            mime_type: Some(FOLDER_MIME.to_owned()),
            ..DriveFileSpec::default()
        }
    }

    /// A Google Docs file (no bytes, not downloadable).
    pub fn google_doc(name: &str) -> DriveFileSpec {
        DriveFileSpec {
            name: name.to_owned(),
            mime_type: Some("application/vnd.google-apps.document".to_owned()),
            ..DriveFileSpec::default()
        }
    }

    /// Inside this folder.
    pub fn in_folder(mut self, folder_id: &str) -> Self {
        self.parents = vec![folder_id.to_owned()];
        self
    }

    /// In the trash.
    pub fn trashed(mut self) -> Self {
        self.trashed = true;
        self
    }

    /// With this MIME type.
    pub fn mime(mut self, mime: &str) -> Self {
        self.mime_type = Some(mime.to_owned());
        self
    }

    /// Created (and last modified) at this time.
    pub fn created(mut self, t: Timestamp) -> Self {
        self.created_time = Some(t);
        self
    }
}

/// A Drive file as the fake holds it (ground truth for tests).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriveFileSnapshot {
    /// File id.
    pub id: String,
    /// Owner's address.
    pub account: String,
    /// Name.
    pub name: String,
    /// MIME type.
    pub mime_type: String,
    /// Parent folder ids (the root folder's real id for files at the root).
    pub parents: Vec<String>,
    /// In the trash.
    pub trashed: bool,
    /// Byte length (0 for Google Docs files and folders).
    pub size: u64,
    /// Lower-case hex MD5 of the bytes; None for Google Docs files and folders.
    pub md5: Option<String>,
}

/// One request to `/drive/v3/`, as [`super::FakeGoogle::drive_log`] returns it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriveRequest {
    /// `GET`.
    pub method: String,
    /// `/drive/v3/files` or `/drive/v3/files/ID`.
    pub path: String,
    /// The raw query string.
    pub query: String,
    /// The file id of a `files.get`.
    pub file_id: Option<String>,
    /// It asked for the content (`alt=media`).
    pub media: bool,
}

struct DriveFile {
    id: String,
    account: usize,
    name: String,
    mime_type: String,
    parents: Vec<String>,
    trashed: bool,
    created_ms: i64,
    seq: u64,
    content: Option<(Arc<Vec<u8>>, String, blake3::Hash)>,
}

impl DriveFile {
    fn is_google_type(&self) -> bool {
        self.mime_type.starts_with("application/vnd.google-apps.")
    }

    fn size(&self) -> u64 {
        self.content.as_ref().map_or(0, |c| c.0.len() as u64)
    }

    /// Every field the fake knows, as Drive spells them.
    fn resource(&self) -> Map<String, Value> {
        let time = |ms: i64| {
            Timestamp::from_millisecond(ms)
                .map(|t| t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
                .unwrap_or_default()
        };
        let mut m = Map::new();
        m.insert("kind".into(), json!("drive#file"));
        m.insert("id".into(), json!(self.id));
        m.insert("name".into(), json!(self.name));
        m.insert("mimeType".into(), json!(self.mime_type));
        m.insert("parents".into(), json!(self.parents));
        m.insert("trashed".into(), json!(self.trashed));
        m.insert("createdTime".into(), json!(time(self.created_ms)));
        m.insert("modifiedTime".into(), json!(time(self.created_ms)));
        if let Some((bytes, md5, _)) = &self.content {
            // int64 as a JSON string, like every Google API.
            m.insert("size".into(), json!(bytes.len().to_string()));
            m.insert("md5Checksum".into(), json!(md5));
        }
        m
    }
}

/// The Drive of every account.
#[derive(Default)]
pub(crate) struct DriveState {
    files: BTreeMap<String, DriveFile>,
    roots: BTreeMap<usize, String>,
    next_seq: u64,
    pub log: Vec<DriveRequest>,
    pub requests: u64,
    pub media_requests: u64,
    pub media_requests_by_file: BTreeMap<String, u64>,
}

impl DriveState {
    fn root_of(&mut self, account: usize, seed: u64) -> String {
        self.roots
            .entry(account)
            .or_insert_with(|| format!("0A{}Uk9PVA", short_id(mix(seed, account as u64 + 77))))
            .clone()
    }

    fn new_id(&mut self, seed: u64) -> String {
        self.next_seq += 1;
        let a = mix(seed ^ 0xD21E, self.next_seq);
        let b = mix(a, 0x5EED);
        // Drive ids: 33 characters of base64url, starting with 1.
        let mut id = format!("1{}{}", short_id(a), short_id(b));
        id.truncate(33);
        id
    }
}

fn short_id(v: u64) -> String {
    use base64::Engine as _;
    let h = blake3::hash(&v.to_le_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&h.as_bytes()[..15])
}

fn default_mime(name: &str) -> &'static str {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".zip") {
        "application/zip"
    } else if lower.ends_with(".tgz") || lower.ends_with(".tar.gz") {
        "application/x-gzip"
    } else {
        "application/octet-stream"
    }
}

fn md5_hex(bytes: &[u8]) -> String {
    use md5::Digest as _;
    md5::Md5::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Shared {
    pub(crate) fn drive_add(&self, account: &str, spec: DriveFileSpec) -> Result<String, String> {
        let mime = spec
            .mime_type
            .clone()
            .unwrap_or_else(|| default_mime(&spec.name).to_owned());
        let google_type = mime.starts_with("application/vnd.google-apps.");
        // Hash outside the lock: a part can be megabytes.
        let content = (!google_type).then(|| {
            let md5 = md5_hex(&spec.bytes);
            let hash = blake3::hash(&spec.bytes);
            (Arc::new(spec.bytes), md5, hash)
        });
        let mut st = self.lock();
        let acc = st.lib.ensure_account(account);
        let seed = self.cfg.seed;
        let root = st.drive.root_of(acc, seed);
        let mut parents = spec.parents;
        for p in &mut parents {
            if p == "root" {
                p.clone_from(&root);
            } else if *p != root {
                let ok = st
                    .drive
                    .files
                    .get(p.as_str())
                    .is_some_and(|f| f.account == acc && f.mime_type == FOLDER_MIME);
                if !ok {
                    return Err(format!("parent {p} is no folder of {account}"));
                }
            }
        }
        if parents.is_empty() {
            parents.push(root);
        }
        let created_ms = spec
            .created_time
            .map(|t| t.as_millisecond())
            .unwrap_or_else(|| self.now_ms(&st));
        let id = st.drive.new_id(seed);
        let seq = st.drive.next_seq;
        st.drive.files.insert(
            id.clone(),
            DriveFile {
                id: id.clone(),
                account: acc,
                name: spec.name,
                mime_type: mime,
                parents,
                trashed: spec.trashed,
                created_ms,
                seq,
                content,
            },
        );
        Ok(id)
    }

    pub(crate) fn drive_set_trashed(&self, id: &str, trashed: bool) -> Result<(), String> {
        let mut st = self.lock();
        let f = st
            .drive
            .files
            .get_mut(id)
            .ok_or_else(|| format!("no Drive file {id}"))?;
        f.trashed = trashed;
        Ok(())
    }

    pub(crate) fn drive_files(&self, account: &str) -> Vec<DriveFileSnapshot> {
        let st = self.lock();
        let Some(acc) = st.lib.account_index(account) else {
            return Vec::new();
        };
        let mut files: Vec<&DriveFile> = st
            .drive
            .files
            .values()
            .filter(|f| f.account == acc)
            .collect();
        files.sort_by_key(|f| f.seq);
        files
            .into_iter()
            .map(|f| DriveFileSnapshot {
                id: f.id.clone(),
                account: account.to_owned(),
                name: f.name.clone(),
                mime_type: f.mime_type.clone(),
                parents: f.parents.clone(),
                trashed: f.trashed,
                size: f.size(),
                md5: f.content.as_ref().map(|c| c.1.clone()),
            })
            .collect()
    }
}

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/drive/v3/files", get(list))
        .route("/drive/v3/files/{id}", get(get_file))
}

// --- Drive's error bodies --------------------------------------------------------------------

/// A Drive error: `google.rpc.Status` fields and the `errors` array of the v3 API.
fn drive_error(
    status: StatusCode,
    reason: &str,
    domain: &str,
    message: &str,
    location: Option<(&str, &str)>,
) -> Response {
    let mut e = json!({"domain": domain, "reason": reason, "message": message});
    if let Some((kind, name)) = location {
        e["locationType"] = json!(kind);
        e["location"] = json!(name);
    }
    json_response(
        status,
        &json!({"error": {"code": status.as_u16(), "message": message, "errors": [e]}}),
    )
}

fn invalid_value(param: &str, message: &str) -> Response {
    drive_error(
        StatusCode::BAD_REQUEST,
        "invalid",
        "global",
        message,
        Some(("parameter", param)),
    )
}

fn not_found(id: &str) -> Response {
    drive_error(
        StatusCode::NOT_FOUND,
        "notFound",
        "global",
        &format!("File not found: {id}."),
        Some(("parameter", "fileId")),
    )
}

fn unauthenticated() -> Response {
    let body = json!({"error": {
        "code": 401,
        "message": UNAUTHENTICATED_MESSAGE,
        "errors": [{"message": "Invalid Credentials", "domain": "global", "reason": "authError",
                    "location": "Authorization", "locationType": "header"}],
        "status": "UNAUTHENTICATED"}});
    let mut r = json_response(StatusCode::UNAUTHORIZED, &body);
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"https://accounts.google.com/\""),
    );
    r
}

fn insufficient_scope(method: &str) -> Response {
    let body = json!({"error": {
        "code": 403,
        "message": "Request had insufficient authentication scopes.",
        "errors": [{"message": "Insufficient Permission", "domain": "global",
                    "reason": "insufficientPermissions"}],
        "status": "PERMISSION_DENIED",
        "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                     "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT", "domain": "googleapis.com",
                     "metadata": {"service": "drive.googleapis.com",
                                  "method": format!("com.google.apps.drive.v3.DriveFiles.{method}")}}]}});
    json_response(StatusCode::FORBIDDEN, &body)
}

fn rate_limited_403(user: bool) -> Response {
    if user {
        drive_error(
            StatusCode::FORBIDDEN,
            "userRateLimitExceeded",
            "usageLimits",
            "User Rate Limit Exceeded. Rate of requests for user exceed configured project quota. You may consider re-evaluating expected per-user traffic to the API and adjust project quota limits accordingly. You may monitor aggregate quota usage and adjust limits in the API Console: https://console.developers.google.com/apis/api/drive.googleapis.com/quotas?project=123456789012",
            None,
        )
    } else {
        drive_error(
            StatusCode::FORBIDDEN,
            "rateLimitExceeded",
            "usageLimits",
            "Rate Limit Exceeded",
            None,
        )
    }
}

fn too_many_requests(retry_after: Option<u64>) -> Response {
    let mut r = drive_error(
        StatusCode::TOO_MANY_REQUESTS,
        "rateLimitExceeded",
        "usageLimits",
        "Rate Limit Exceeded",
        None,
    );
    if let Some(secs) = retry_after {
        r.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from_str(&secs.to_string()).expect("digits are a valid header"),
        );
    }
    r
}

fn backend_error(unavailable: bool) -> Response {
    if unavailable {
        drive_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "backendError",
            "global",
            "The service is currently unavailable.",
            None,
        )
    } else {
        drive_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "backendError",
            "global",
            "Backend Error",
            None,
        )
    }
}

// --- the gate --------------------------------------------------------------------------------

/// Token → scope → injected faults. `media` selects the media fault rates.
fn gate(
    shared: &Shared,
    st: &mut State,
    headers: &HeaderMap,
    pairs: &[(String, String)],
    method: &str,
    media: bool,
) -> Result<usize, Response> {
    let now = shared.now_ms(st);
    let token = bearer(headers).or_else(|| last(pairs, "access_token").map(str::to_owned));
    let Some(principal) = token.and_then(|t| st.oauth.principal(&t, now)) else {
        return Err(unauthenticated());
    };
    if !principal
        .scope
        .split_whitespace()
        .any(|s| s == DRIVE_READONLY_SCOPE || s == DRIVE_FULL_SCOPE)
    {
        return Err(insufficient_scope(method));
    }
    let f = &st.faults.faults;
    let (r5, r429) = if media {
        (f.media_5xx_rate, f.media_429_rate)
    } else {
        (f.api_5xx_rate, f.api_429_rate)
    };
    let (r403, retry_after) = (f.drive_rate_limit_403_rate, f.retry_after_secs);
    let (k5, k429) = if media {
        (FaultKind::Media5xx, FaultKind::Media429)
    } else {
        (FaultKind::Api5xx, FaultKind::Api429)
    };
    if st.faults.roll(r5, k5) {
        let unavailable = st.faults.pick_5xx();
        return Err(backend_error(unavailable));
    }
    if st.faults.roll(r429, k429) {
        return Err(too_many_requests(retry_after));
    }
    if st.faults.roll(r403, FaultKind::Drive403) {
        let user = st.faults.pick_5xx();
        return Err(rate_limited_403(user));
    }
    Ok(principal.account)
}

fn log_request(st: &mut State, path: &str, query: &str, file_id: Option<&str>, media: bool) {
    st.drive.requests += 1;
    if media {
        st.drive.media_requests += 1;
        if let Some(id) = file_id {
            *st.drive
                .media_requests_by_file
                .entry(id.to_owned())
                .or_default() += 1;
        }
    }
    st.drive.log.push(DriveRequest {
        method: Method::GET.to_string(),
        path: path.to_owned(),
        query: query.to_owned(),
        file_id: file_id.map(str::to_owned),
        media,
    });
}

// --- files.list ------------------------------------------------------------------------------

async fn list(
    AxState(shared): AxState<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let raw_query = raw.clone().unwrap_or_default();
    let pairs = query_pairs(raw);
    let mut st = shared.lock();
    log_request(&mut st, "/drive/v3/files", &raw_query, None, false);
    list_inner(&shared, &mut st, &headers, &pairs).unwrap_or_else(|e| e)
}

fn list_inner(
    shared: &Shared,
    st: &mut State,
    headers: &HeaderMap,
    pairs: &[(String, String)],
) -> Result<Response, Response> {
    let account = gate(shared, st, headers, pairs, "List", false)?;
    for (k, v) in pairs {
        let bool_param = matches!(
            k.as_str(),
            "supportsAllDrives" | "includeItemsFromAllDrives" | "supportsTeamDrives"
        );
        if bool_param && v != "true" && v != "false" {
            return Err(invalid_value(
                k,
                &format!("Invalid value '{v}'. Expected a boolean."),
            ));
        }
    }
    if let Some(spaces) = last(pairs, "spaces")
        && spaces.split(',').any(|s| s.trim() != "drive")
    {
        return Err(invalid_value(
            "spaces",
            &format!("Invalid Value: the fake serves the drive space only ({spaces})"),
        ));
    }
    if let Some(c) = last(pairs, "corpora")
        && !matches!(c, "user" | "drive" | "domain" | "allDrives")
    {
        return Err(invalid_value("corpora", "Invalid Value"));
    }
    let q = last(pairs, "q").unwrap_or("");
    let expr = if q.trim().is_empty() {
        None
    } else {
        Some(parse_query(q).map_err(|e| invalid_value("q", &format!("Invalid Value ({e})")))?)
    };
    let page_size = match last(pairs, "pageSize") {
        None => PAGE_DEFAULT,
        Some(s) => match s.trim().parse::<i64>() {
            Ok(n) if (1..=PAGE_MAX as i64).contains(&n) => n as usize,
            _ => {
                return Err(invalid_value(
                    "pageSize",
                    &format!("Invalid value '{s}'. Values must be within the range: [1, 1000]"),
                ));
            }
        },
    };
    let order = parse_order(last(pairs, "orderBy").unwrap_or(""))
        .map_err(|e| invalid_value("orderBy", &format!("Invalid Value ({e})")))?;
    let fields = match last(pairs, "fields") {
        Some(f) => Some(parse_fields(f).map_err(invalid_fields)?),
        None => None,
    };
    if let Some(sel) = &fields {
        check_selection(sel, LIST_FIELDS, "").map_err(invalid_fields)?;
        if let Some(Some(files)) = sel.get("files") {
            check_selection(files, FILE_FIELDS, "files/").map_err(invalid_fields)?;
        }
    }

    // The query binds the page token: a token of another listing is refused.
    let binding = {
        let mut h = blake3::Hasher::new();
        h.update(&(account as u64).to_le_bytes());
        h.update(q.as_bytes());
        h.update(&[0]);
        h.update(last(pairs, "orderBy").unwrap_or("").as_bytes());
        let mut b = [0u8; 8];
        b.copy_from_slice(&h.finalize().as_bytes()[..8]);
        b
    };
    let offset = match last(pairs, "pageToken").filter(|t| !t.is_empty()) {
        None => 0,
        Some(t) => {
            let raw = unseal(&shared.mac_key, b"drive-page", t, TOKEN_MAC_LEN)
                .filter(|r| r.len() == 20 && r[..8] == binding)
                .ok_or_else(|| invalid_value("pageToken", "Invalid Value"))?;
            u64::from_le_bytes(raw[8..16].try_into().expect("8 bytes")) as usize
        }
    };

    let root = st.drive.root_of(account, shared.cfg.seed);
    let mut matched: Vec<&DriveFile> = st
        .drive
        .files
        .values()
        .filter(|f| f.account == account)
        .filter(|f| expr.as_ref().is_none_or(|e| e.eval(f, &root)))
        .collect();
    matched.sort_by(|a, b| compare(a, b, &order));
    let available = matched.len().saturating_sub(offset);
    let mut take = available.min(page_size);
    let mut next = offset + take < matched.len();
    let mut page: Vec<Map<String, Value>> = matched
        .iter()
        .skip(offset)
        .take(take)
        .map(|f| f.resource())
        .collect();
    // Short (even empty) pages that still carry a token, as Google sends them.
    if let Some(len) = st.faults.short_page(take) {
        take = len;
        page.truncate(len);
        next = true;
    }
    let repeat = last(pairs, "pageToken").is_some_and(|t| !t.is_empty())
        && st.faults.repeat_page_token(PagedListing::DriveFiles);
    let next_token = if repeat {
        last(pairs, "pageToken").map(str::to_owned)
    } else if next {
        // A nonce makes every token distinct, even for an empty page that ends where it began.
        st.nonce = st.nonce.wrapping_add(1);
        let mut raw = binding.to_vec();
        raw.extend_from_slice(&((offset + take) as u64).to_le_bytes());
        raw.extend_from_slice(&st.nonce.to_le_bytes());
        Some(seal(&shared.mac_key, b"drive-page", &raw, TOKEN_MAC_LEN))
    } else {
        None
    };

    let mut body = Map::new();
    body.insert("kind".into(), json!("drive#fileList"));
    if let Some(t) = next_token {
        body.insert("nextPageToken".into(), json!(t));
    }
    body.insert("incompleteSearch".into(), json!(false));
    let file_sel: Option<Selection> = match &fields {
        None => Some(fields_default_file()),
        Some(sel) => match sel.get("files") {
            None => None,
            Some(None) => Some(all_fields()),
            Some(Some(s)) => Some(s.clone()),
        },
    };
    let files: Vec<Value> = page
        .into_iter()
        .map(|m| Value::Object(select(m, file_sel.as_ref())))
        .collect();
    body.insert("files".into(), Value::Array(files));
    let body = match &fields {
        None => body,
        Some(sel) => body
            .into_iter()
            .filter(|(k, _)| sel.contains_key(k) || sel.contains_key("*"))
            .collect(),
    };
    Ok(json_response(StatusCode::OK, &Value::Object(body)))
}

// --- files.get -------------------------------------------------------------------------------

async fn get_file(
    AxState(shared): AxState<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let raw_query = raw.clone().unwrap_or_default();
    let pairs = query_pairs(raw);
    let media = last(&pairs, "alt") == Some("media");
    let mut st = shared.lock();
    log_request(
        &mut st,
        &format!("/drive/v3/files/{id}"),
        &raw_query,
        Some(&id),
        media,
    );
    let account = match gate(&shared, &mut st, &headers, &pairs, "Get", media) {
        Ok(a) => a,
        Err(r) => return r,
    };
    if let Some(alt) = last(&pairs, "alt")
        && alt != "media"
        && alt != "json"
    {
        return invalid_value("alt", &format!("Invalid value '{alt}'."));
    }
    let Some(file) = st.drive.files.get(&id).filter(|f| f.account == account) else {
        return not_found(&id);
    };
    if media {
        if file.is_google_type() {
            return drive_error(
                StatusCode::FORBIDDEN,
                "fileNotDownloadable",
                "global",
                "Only files with binary content can be downloaded. Use Export with Docs Editors files.",
                Some(("parameter", "alt")),
            );
        }
        let (bytes, _, hash) = file.content.clone().expect("binary files have content");
        let size = bytes.len() as u64;
        let mime = file.mime_type.clone();
        return media::serve_drive(
            &shared,
            &mut st,
            &headers,
            Content::Bytes(bytes),
            size,
            hash,
            &mime,
        );
    }
    let resource = file.resource();
    let sel = match last(&pairs, "fields") {
        None => fields_default_file(),
        Some(f) => match parse_fields(f).and_then(|s| {
            check_selection(&s, FILE_FIELDS, "")?;
            Ok(s)
        }) {
            Ok(s) => s,
            Err(e) => return invalid_fields(e),
        },
    };
    json_response(StatusCode::OK, &Value::Object(select(resource, Some(&sel))))
}

// --- fields ----------------------------------------------------------------------------------

/// A field selection: name → sub-selection (None = the whole value).
#[derive(Clone, Debug, Default, PartialEq)]
struct Selection(BTreeMap<String, Option<Selection>>);

impl std::ops::Deref for Selection {
    type Target = BTreeMap<String, Option<Selection>>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for Selection {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl FromIterator<(String, Option<Selection>)> for Selection {
    fn from_iter<I: IntoIterator<Item = (String, Option<Selection>)>>(iter: I) -> Self {
        Selection(iter.into_iter().collect())
    }
}

const LIST_FIELDS: &[&str] = &["kind", "nextPageToken", "incompleteSearch", "files", "*"];
const FILE_FIELDS: &[&str] = &[
    "kind",
    "id",
    "name",
    "mimeType",
    "size",
    "md5Checksum",
    "createdTime",
    "modifiedTime",
    "parents",
    "trashed",
    "*",
];

fn fields_default_file() -> Selection {
    ["kind", "id", "name", "mimeType"]
        .iter()
        .map(|k| ((*k).to_owned(), None))
        .collect()
}

fn all_fields() -> Selection {
    [("*".to_owned(), None)].into_iter().collect()
}

fn invalid_fields(e: String) -> Response {
    drive_error(
        StatusCode::BAD_REQUEST,
        "invalidParameter",
        "global",
        &format!("Invalid field selection {e}"),
        Some(("parameter", "fields")),
    )
}

/// Parses `nextPageToken,files(id,name)` and `files/id` forms.
fn parse_fields(s: &str) -> Result<Selection, String> {
    fn parse_list(chars: &[char], pos: &mut usize, nested: bool) -> Result<Selection, String> {
        let mut sel = Selection::default();
        loop {
            while *pos < chars.len() && chars[*pos].is_whitespace() {
                *pos += 1;
            }
            let start = *pos;
            while *pos < chars.len() && !",()".contains(chars[*pos]) {
                *pos += 1;
            }
            let path: String = chars[start..*pos]
                .iter()
                .collect::<String>()
                .trim()
                .to_owned();
            if path.is_empty() {
                return Err(if start < chars.len() {
                    chars[start..].iter().collect()
                } else {
                    "(empty)".to_owned()
                });
            }
            let mut sub = None;
            if *pos < chars.len() && chars[*pos] == '(' {
                *pos += 1;
                sub = Some(parse_list(chars, pos, true)?);
                if *pos >= chars.len() || chars[*pos] != ')' {
                    return Err(path);
                }
                *pos += 1;
            }
            // `a/b` is `a(b)`.
            let mut segs: Vec<&str> = path.split('/').collect();
            let leaf = segs.pop().expect("split gives one");
            let mut node: Option<Selection> = if segs.is_empty() {
                sub.clone()
            } else {
                Some([(leaf.to_owned(), sub.clone())].into_iter().collect())
            };
            let head = if segs.is_empty() {
                leaf.to_owned()
            } else {
                for s in segs.iter().skip(1).rev() {
                    node = Some([((*s).to_owned(), node)].into_iter().collect());
                }
                segs[0].to_owned()
            };
            merge(&mut sel, head, node);
            while *pos < chars.len() && chars[*pos].is_whitespace() {
                *pos += 1;
            }
            match chars.get(*pos) {
                Some(',') => *pos += 1,
                Some(')') if nested => return Ok(sel),
                None if !nested => return Ok(sel),
                _ => return Err(chars[start..].iter().collect()),
            }
        }
    }
    fn merge(sel: &mut Selection, key: String, node: Option<Selection>) {
        match (sel.get_mut(&key), node) {
            (Some(Some(existing)), Some(new)) => {
                for (k, v) in new.0 {
                    merge(existing, k, v);
                }
            }
            (Some(existing), None) => *existing = None,
            (Some(None), Some(_)) => {}
            (None, node) => {
                sel.insert(key, node);
            }
        }
    }
    let chars: Vec<char> = s.chars().collect();
    let mut pos = 0;
    parse_list(&chars, &mut pos, false)
}

fn check_selection(sel: &Selection, allowed: &[&str], prefix: &str) -> Result<(), String> {
    for (k, sub) in sel.iter() {
        if !allowed.contains(&k.as_str()) {
            return Err(format!("{prefix}{k}"));
        }
        if sub.is_some() && k != "files" {
            return Err(format!("{prefix}{k}"));
        }
    }
    Ok(())
}

fn select(m: Map<String, Value>, sel: Option<&Selection>) -> Map<String, Value> {
    match sel {
        None => m,
        Some(s) if s.contains_key("*") => m,
        Some(s) => m.into_iter().filter(|(k, _)| s.contains_key(k)).collect(),
    }
}

// --- orderBy ---------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OrderKey {
    Created,
    Modified,
    Name,
    Folder,
}

fn parse_order(s: &str) -> Result<Vec<(OrderKey, bool)>, String> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let mut words = part.split_whitespace();
        let key = match words.next() {
            Some("createdTime") => OrderKey::Created,
            Some("modifiedTime") => OrderKey::Modified,
            Some("name") | Some("name_natural") => OrderKey::Name,
            Some("folder") => OrderKey::Folder,
            _ => return Err(format!("unsupported sort key in '{part}'")),
        };
        let desc = match words.next() {
            None | Some("asc") => false,
            Some("desc") => true,
            Some(w) => return Err(format!("'{w}'")),
        };
        if words.next().is_some() {
            return Err(format!("'{part}'"));
        }
        out.push((key, desc));
    }
    Ok(out)
}

fn compare(a: &DriveFile, b: &DriveFile, order: &[(OrderKey, bool)]) -> std::cmp::Ordering {
    for (key, desc) in order {
        let o = match key {
            OrderKey::Created | OrderKey::Modified => a.created_ms.cmp(&b.created_ms),
            OrderKey::Name => a.name.cmp(&b.name),
            // Folders first.
            OrderKey::Folder => (b.mime_type == FOLDER_MIME).cmp(&(a.mime_type == FOLDER_MIME)),
        };
        let o = if *desc { o.reverse() } else { o };
        if o.is_ne() {
            return o;
        }
    }
    a.seq.cmp(&b.seq)
}

// --- the q grammar ---------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Op(&'static str),
    Open,
    Close,
}

fn tokenize(q: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = q.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                out.push(Tok::Open);
                i += 1;
            }
            ')' => {
                out.push(Tok::Close);
                i += 1;
            }
            '\'' => {
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err("unterminated string".into()),
                        Some('\\') => {
                            match chars.get(i + 1) {
                                Some(&e @ ('\'' | '\\')) => s.push(e),
                                _ => return Err("bad escape in a string".into()),
                            }
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(&ch) => {
                            s.push(ch);
                            i += 1;
                        }
                    }
                }
                out.push(Tok::Str(s));
            }
            '=' => {
                out.push(Tok::Op("="));
                i += 1;
            }
            '!' if chars.get(i + 1) == Some(&'=') => {
                out.push(Tok::Op("!="));
                i += 2;
            }
            '<' | '>' => {
                let eq = chars.get(i + 1) == Some(&'=');
                out.push(Tok::Op(match (c, eq) {
                    ('<', true) => "<=",
                    ('<', false) => "<",
                    ('>', true) => ">=",
                    _ => ">",
                }));
                i += if eq { 2 } else { 1 };
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                out.push(Tok::Word(chars[start..i].iter().collect()));
            }
            other => return Err(format!("unexpected '{other}'")),
        }
    }
    Ok(out)
}

#[derive(Debug, Clone, PartialEq)]
enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    NameEq(String, bool),
    NameContains(String),
    MimeEq(String, bool),
    MimeContains(String),
    Trashed(bool),
    InParents(String),
}

impl Expr {
    fn eval(&self, f: &DriveFile, root: &str) -> bool {
        match self {
            Expr::And(a, b) => a.eval(f, root) && b.eval(f, root),
            Expr::Or(a, b) => a.eval(f, root) || b.eval(f, root),
            Expr::Not(a) => !a.eval(f, root),
            Expr::NameEq(s, neg) => (f.name == *s) != *neg,
            Expr::NameContains(s) => name_contains(&f.name, s),
            Expr::MimeEq(s, neg) => (f.mime_type == *s) != *neg,
            Expr::MimeContains(s) => f.mime_type.contains(s.as_str()),
            Expr::Trashed(t) => f.trashed == *t,
            Expr::InParents(p) => {
                let p = if p == "root" { root } else { p.as_str() };
                f.parents.iter().any(|x| x == p)
            }
        }
    }
}

/// Prefix match of the name or of a word in it, ignoring case.
fn name_contains(name: &str, term: &str) -> bool {
    let name = name.to_lowercase();
    let term = term.to_lowercase();
    if term.is_empty() {
        return true;
    }
    let mut prev_alnum = false;
    for (i, c) in name.char_indices() {
        if !prev_alnum && name[i..].starts_with(&term) {
            return true;
        }
        prev_alnum = c.is_alphanumeric();
    }
    false
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

fn parse_query(q: &str) -> Result<Expr, String> {
    let mut p = Parser {
        toks: tokenize(q)?,
        pos: 0,
    };
    let e = p.or()?;
    if p.pos != p.toks.len() {
        return Err(format!("unexpected {:?}", p.toks[p.pos]));
    }
    Ok(e)
}

impl Parser {
    fn peek_word(&self, w: &str) -> bool {
        matches!(self.toks.get(self.pos), Some(Tok::Word(x)) if x == w)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut e = self.and()?;
        while self.peek_word("or") {
            self.pos += 1;
            e = Expr::Or(Box::new(e), Box::new(self.and()?));
        }
        Ok(e)
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut e = self.unary()?;
        while self.peek_word("and") {
            self.pos += 1;
            e = Expr::And(Box::new(e), Box::new(self.unary()?));
        }
        Ok(e)
    }

    fn unary(&mut self) -> Result<Expr, String> {
        if self.peek_word("not") {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        match self.next() {
            Some(Tok::Open) => {
                let e = self.or()?;
                match self.next() {
                    Some(Tok::Close) => Ok(e),
                    _ => Err("missing ')'".into()),
                }
            }
            Some(Tok::Str(s)) => {
                // 'ID' in parents
                match (self.next(), self.next()) {
                    (Some(Tok::Word(w)), Some(Tok::Word(f))) if w == "in" && f == "parents" => {
                        Ok(Expr::InParents(s))
                    }
                    _ => Err(format!("unsupported term after '{s}'")),
                }
            }
            Some(Tok::Word(field)) => {
                let op = self.next().ok_or("missing operator")?;
                let value = self.next().ok_or("missing value")?;
                let op = match op {
                    Tok::Op(o) => o,
                    Tok::Word(w) if w == "contains" => "contains",
                    other => return Err(format!("unsupported operator {other:?}")),
                };
                match (field.as_str(), op, value) {
                    ("name", "=", Tok::Str(s)) => Ok(Expr::NameEq(s, false)),
                    ("name", "!=", Tok::Str(s)) => Ok(Expr::NameEq(s, true)),
                    ("name", "contains", Tok::Str(s)) => Ok(Expr::NameContains(s)),
                    ("mimeType", "=", Tok::Str(s)) => Ok(Expr::MimeEq(s, false)),
                    ("mimeType", "!=", Tok::Str(s)) => Ok(Expr::MimeEq(s, true)),
                    ("mimeType", "contains", Tok::Str(s)) => Ok(Expr::MimeContains(s)),
                    ("trashed", o @ ("=" | "!="), Tok::Word(b)) if b == "true" || b == "false" => {
                        Ok(Expr::Trashed((b == "true") == (o == "=")))
                    }
                    (f, o, v) => Err(format!("unsupported term {f} {o} {v:?}")),
                }
            }
            other => Err(format!("unexpected {other:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, mime: &str, parents: &[&str], trashed: bool) -> DriveFile {
        DriveFile {
            id: "x".into(),
            account: 0,
            name: name.into(),
            mime_type: mime.into(),
            parents: parents.iter().map(|s| s.to_string()).collect(),
            trashed,
            created_ms: 0,
            seq: 0,
            content: None,
        }
    }

    #[test]
    fn the_query_grammar_parses_and_evaluates() {
        let q = "name contains 'takeout-' and trashed = false and ('F1' in parents or 'root' in parents) and mimeType != 'application/vnd.google-apps.folder'";
        let e = parse_query(q).unwrap();
        let zip = file(
            "takeout-20260101T000000Z-001.zip",
            "application/zip",
            &["F1"],
            false,
        );
        assert!(e.eval(&zip, "R"));
        assert!(!e.eval(
            &file("takeout-x.zip", "application/zip", &["F1"], true),
            "R"
        ));
        assert!(!e.eval(&file("holiday.zip", "application/zip", &["F1"], false), "R"));
        assert!(e.eval(
            &file("takeout-x.zip", "application/zip", &["R"], false),
            "R"
        ));
        assert!(!e.eval(
            &file("takeout-x.zip", "application/zip", &["F2"], false),
            "R"
        ));
        assert!(!e.eval(&file("takeout-x", FOLDER_MIME, &["F1"], false), "R"));
        let e = parse_query("name = 'it\\'s' or not trashed = true").unwrap();
        assert!(e.eval(&file("it's", "a", &[], true), "R"));
        assert!(e.eval(&file("other", "a", &[], false), "R"));
        assert!(!e.eval(&file("other", "a", &[], true), "R"));
        // Prefix of a word, case-insensitive; not the middle of a word.
        assert!(name_contains("My Takeout-1.zip", "takeout"));
        assert!(!name_contains("mytakeout.zip", "takeout"));
        for bad in [
            "starred = true",
            "name contains",
            "name ~ 'x'",
            "(name = 'x'",
            "'x' in owners",
            "name = 'x' and",
            "modifiedTime > '2026-01-01T00:00:00'",
            "name = 'unterminated",
        ] {
            assert!(parse_query(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn field_selections_parse() {
        let s = parse_fields("nextPageToken, files(id,name,size)").unwrap();
        assert_eq!(s.get("nextPageToken"), Some(&None));
        let files = s.get("files").unwrap().as_ref().unwrap();
        assert_eq!(files.keys().collect::<Vec<_>>(), ["id", "name", "size"]);
        let s = parse_fields("files/id,files/md5Checksum").unwrap();
        let files = s.get("files").unwrap().as_ref().unwrap();
        assert_eq!(files.keys().collect::<Vec<_>>(), ["id", "md5Checksum"]);
        assert!(parse_fields("files(id").is_err());
        assert!(parse_fields("a,,b").is_err());
        assert!(check_selection(&parse_fields("owners").unwrap(), FILE_FIELDS, "").is_err());
    }

    #[test]
    fn order_keys() {
        assert_eq!(
            parse_order("createdTime desc, name").unwrap(),
            vec![(OrderKey::Created, true), (OrderKey::Name, false)]
        );
        assert!(parse_order("viewedByMeTime").is_err());
    }
}
