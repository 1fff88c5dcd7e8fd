//! The Google Photos Picker API v1 (`/photospicker/v1/…`, google.md §2).
//!
//! A client creates a session, sends the user to `pickerUri`, polls the session until
//! `mediaItemsSet` is true and then lists the picked items. The fake has no browser UI: tests
//! "pick" through [`super::FakeGoogle::complete_picking`] or `POST /_fake/picker/{id}/pick`.
//! Every call needs a token with [`PICKER_SCOPE`]; the same 401/403 bodies as the Library API
//! answer bad tokens and missing scopes. Sessions live until `expireTime`
//! ([`super::FakeConfig::picker_session_ttl`]) or deletion, after which they are 404
//! `NOT_FOUND`. Picked items carry the Library item's id and a `baseUrl` that, unlike a Library
//! one, only answers with the picker scope's bearer token (see `media`).

// Handlers and their helpers return ready-made error responses as `Err`; they are built at
// most once per request, so boxing them to appease `result_large_err` would only add noise.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use jiff::Timestamp;
use serde_json::{Map, Value, json};

use super::library_api::{
    Handled, api_fault, camera_fields, check_token, finish, last, photo_fields, query_page_size,
    query_pairs, take_page,
};
use super::model::Item;
use super::oauth::duration_ms;
use super::respond::{google_error, invalid_argument, json_response, not_found_entity};
use super::{PICKER_SCOPE, PagedListing, Shared, State, media, seal, unseal};

const ITEMS_DEFAULT: usize = 50;
const ITEMS_MAX: usize = 100;
/// Believed upper bound of `maxItemCount` (google.md §2.2), also the default limit.
pub(crate) const MAX_ITEM_COUNT: u64 = 2000;
/// `pollingConfig.pollInterval`.
const POLL_INTERVAL: &str = "1s";

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/photospicker/v1/sessions", post(create_session))
        .route(
            "/photospicker/v1/sessions/{id}",
            get(get_session).delete(delete_session),
        )
        .route("/photospicker/v1/mediaItems", get(list_items))
}

/// One picking session.
#[derive(Clone, Debug)]
pub(crate) struct Session {
    pub account: usize,
    pub created_ms: i64,
    pub expire_ms: i64,
    /// When polling stops (`timeoutIn` reaches `0s`) and picking is no longer possible.
    pub poll_deadline_ms: i64,
    pub max_items: u64,
    /// Item keys in picking order, once the user finished.
    pub picked: Option<Vec<u64>>,
}

/// The scripted user of an account: in every session of the account that is still open, the
/// user finishes picking `items` (the first `maxItemCount` of them) `after_ms` after the
/// session was created, as a person on a phone would while the client polls.
#[derive(Clone, Debug)]
pub(crate) struct PickerUser {
    pub items: Vec<u64>,
    pub after_ms: i64,
}

/// All sessions by id; deleted ones are removed, expired ones are dropped lazily.
#[derive(Default)]
pub(crate) struct PickerState {
    pub sessions: BTreeMap<String, Session>,
    created: u64,
    /// Scripted users by account.
    pub users: BTreeMap<usize, PickerUser>,
}

impl PickerState {
    /// A live session by id (expired ones count as gone).
    fn live(&self, id: &str, now_ms: i64) -> Option<&Session> {
        self.sessions.get(id).filter(|s| now_ms < s.expire_ms)
    }

    /// Lets the account's scripted user pick in session `id` when its time has come (and
    /// picking is still possible). Items deleted from the library meanwhile are not picked.
    fn play_user(&mut self, id: &str, now_ms: i64, lib: &super::model::Library) {
        let Some(s) = self.sessions.get_mut(id) else {
            return;
        };
        let Some(user) = self.users.get(&s.account) else {
            return;
        };
        if s.picked.is_some()
            || now_ms < s.created_ms + user.after_ms
            || now_ms >= s.poll_deadline_ms
        {
            return;
        }
        s.picked = Some(
            user.items
                .iter()
                .copied()
                .filter(|k| lib.items.contains_key(k))
                .take(usize::try_from(s.max_items).unwrap_or(usize::MAX))
                .collect(),
        );
    }

    /// Session ids of `account` that have not expired, in creation order.
    pub fn ids_of(&self, account: usize, now_ms: i64) -> Vec<String> {
        let mut v: Vec<(&String, &Session)> = self
            .sessions
            .iter()
            .filter(|(_, s)| s.account == account && now_ms < s.expire_ms)
            .collect();
        v.sort_by_key(|(_, s)| s.created_ms);
        v.into_iter().map(|(id, _)| id.clone()).collect()
    }
}

/// A UUID-shaped id (version-4 layout), derived from the fake's key and a counter so the same
/// operations on a fake with the same seed give the same ids.
fn new_session_id(shared: &Shared, st: &mut State) -> String {
    st.picker.created += 1;
    let mut h = blake3::Hasher::new_keyed(&shared.mac_key);
    h.update(b"picker session");
    h.update(&st.picker.created.to_le_bytes());
    let mut b = [0u8; 16];
    h.finalize_xof().fill(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

fn rfc3339(ms: i64) -> String {
    Timestamp::from_millisecond(ms)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

fn session_json(shared: &Shared, id: &str, s: &Session, now_ms: i64) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(id));
    m.insert(
        "pickerUri".into(),
        json!(format!("{}/picker/{id}", shared.base)),
    );
    if s.picked.is_none() {
        let left_secs = (s.poll_deadline_ms - now_ms).max(0) / 1000;
        m.insert(
            "pollingConfig".into(),
            json!({"pollInterval": POLL_INTERVAL, "timeoutIn": format!("{left_secs}s")}),
        );
    }
    m.insert("expireTime".into(), json!(rfc3339(s.expire_ms)));
    if s.max_items != MAX_ITEM_COUNT {
        m.insert(
            "pickingConfig".into(),
            json!({"maxItemCount": s.max_items.to_string()}),
        );
    }
    m.insert("mediaItemsSet".into(), json!(s.picked.is_some()));
    Value::Object(m)
}

/// Counts the request, then token → picker scope → injected faults. The Picker API's quota is
/// per minute and large (google.md §1.6), so the daily quota switch does not apply to it.
fn gate(
    shared: &Shared,
    st: &mut State,
    headers: &HeaderMap,
    pairs: &[(String, String)],
) -> Result<(usize, i64), Response> {
    st.stats.picker_requests += 1;
    let now_ms = shared.now_ms(st);
    let account = check_token(st, headers, pairs, PICKER_SCOPE, now_ms)?;
    api_fault(st)?;
    Ok((account, now_ms))
}

/// `maxItemCount`: an int64, which proto3 JSON writes as a string (numbers are accepted too).
fn parse_max_items(v: Option<&Value>) -> Result<u64, Response> {
    let bad = |raw: &str| {
        invalid_argument(&format!(
            "Invalid value at 'session.picking_config.max_item_count' (TYPE_INT64), {raw}"
        ))
    };
    let n = match v {
        None | Some(Value::Null) => return Ok(MAX_ITEM_COUNT),
        Some(Value::String(s)) => s
            .trim()
            .parse::<i64>()
            .map_err(|_| bad(&format!("\"{s}\"")))?,
        Some(Value::Number(n)) => n.as_i64().ok_or_else(|| bad(&n.to_string()))?,
        Some(other) => return Err(bad(&other.to_string())),
    };
    match n {
        0 => Ok(MAX_ITEM_COUNT),
        n if n < 0 || n as u64 > MAX_ITEM_COUNT => {
            Err(invalid_argument("Request contains an invalid argument."))
        }
        n => Ok(n as u64),
    }
}

/// Parses a `PickingSession` create body: empty, `{}` or with `pickingConfig`. Output-only
/// fields are ignored, as Google does; unknown names are rejected.
fn parse_create(body: &Bytes) -> Result<u64, Response> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(MAX_ITEM_COUNT);
    }
    let Ok(Value::Object(m)) = serde_json::from_slice::<Value>(body) else {
        return Err(invalid_argument(
            "Invalid JSON payload received. Expected an object.",
        ));
    };
    const KNOWN: &[&str] = &[
        "id",
        "pickerUri",
        "pollingConfig",
        "expireTime",
        "pickingConfig",
        "mediaItemsSet",
    ];
    if let Some(k) = m.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(invalid_argument(&format!(
            "Invalid JSON payload received. Unknown name \"{k}\": Cannot find field."
        )));
    }
    match m.get("pickingConfig") {
        None | Some(Value::Null) => Ok(MAX_ITEM_COUNT),
        Some(Value::Object(pc)) => {
            if let Some(k) = pc.keys().find(|k| *k != "maxItemCount") {
                return Err(invalid_argument(&format!(
                    "Invalid JSON payload received. Unknown name \"{k}\" at 'session.picking_config': Cannot find field."
                )));
            }
            parse_max_items(pc.get("maxItemCount"))
        }
        Some(_) => Err(invalid_argument(
            "Invalid JSON payload received. Unknown name \"pickingConfig\": Proto field is not repeating, cannot start list.",
        )),
    }
}

async fn create_session(
    AxState(shared): AxState<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    let pairs = query_pairs(q);
    let mut st = shared.lock();
    finish((|| {
        let (account, now_ms) = gate(&shared, &mut st, &headers, &pairs)?;
        let max_items = parse_create(&body)?;
        let id = new_session_id(&shared, &mut st);
        let s = Session {
            account,
            created_ms: now_ms,
            expire_ms: now_ms + duration_ms(shared.cfg.picker_session_ttl),
            poll_deadline_ms: now_ms + duration_ms(shared.cfg.picker_poll_timeout),
            max_items,
            picked: None,
        };
        let body = session_json(&shared, &id, &s, now_ms);
        st.picker.sessions.insert(id, s);
        Ok(json_response(StatusCode::OK, &body))
    })())
}

/// The caller's live session, or 404 NOT_FOUND (unknown, expired, deleted or someone else's).
fn own_session<'a>(
    st: &'a State,
    account: usize,
    id: &str,
    now_ms: i64,
) -> Result<&'a Session, Response> {
    st.picker
        .live(id, now_ms)
        .filter(|s| s.account == account)
        .ok_or_else(not_found_entity)
}

async fn get_session(
    AxState(shared): AxState<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let pairs = query_pairs(q);
    let mut st = shared.lock();
    finish((|| {
        let (account, now_ms) = gate(&shared, &mut st, &headers, &pairs)?;
        own_session(&st, account, &id, now_ms)?;
        let State { picker, lib, .. } = &mut *st;
        picker.play_user(&id, now_ms, lib);
        let s = own_session(&st, account, &id, now_ms)?;
        Ok(json_response(
            StatusCode::OK,
            &session_json(&shared, &id, s, now_ms),
        ))
    })())
}

async fn delete_session(
    AxState(shared): AxState<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let pairs = query_pairs(q);
    let mut st = shared.lock();
    finish((|| {
        let (account, now_ms) = gate(&shared, &mut st, &headers, &pairs)?;
        own_session(&st, account, &id, now_ms)?;
        st.picker.sessions.remove(&id);
        Ok(json_response(StatusCode::OK, &json!({})))
    })())
}

fn page_domain(session: &str) -> Vec<u8> {
    let mut d = b"picker page".to_vec();
    d.extend_from_slice(session.as_bytes());
    d
}

/// `PickedMediaItem` (google.md §2.3): width/height are numbers here, metadata is a union.
fn picked_item_json(shared: &Shared, st: &mut State, item: &Item, now_ms: i64) -> Value {
    let meta = &item.meta;
    let mut fm = Map::new();
    fm.insert("width".into(), json!(item.width));
    fm.insert("height".into(), json!(item.height));
    camera_fields(meta, &mut fm);
    match item.video_status {
        Some(status) => {
            fm.insert(
                "videoMetadata".into(),
                json!({"fps": meta.fps, "processingStatus": status.as_api_str()}),
            );
        }
        None => {
            let mut pm = Map::new();
            photo_fields(meta, &mut pm);
            fm.insert("photoMetadata".into(), Value::Object(pm));
        }
    }
    json!({
        "id": item.id,
        "createTime": item.creation_time.to_string(),
        "type": if item.video_status.is_some() { "VIDEO" } else { "PHOTO" },
        "mediaFile": {
            "baseUrl": media::issue_picker_base_url(shared, st, item.key, now_ms),
            "mimeType": item.mime_type,
            "filename": item.filename,
            "mediaFileMetadata": Value::Object(fm),
        },
    })
}

async fn list_items(
    AxState(shared): AxState<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let pairs = query_pairs(q);
    let mut st = shared.lock();
    finish(list_items_inner(&shared, &mut st, &headers, &pairs))
}

fn list_items_inner(
    shared: &Shared,
    st: &mut State,
    headers: &HeaderMap,
    pairs: &[(String, String)],
) -> Handled {
    let (account, now_ms) = gate(shared, st, headers, pairs)?;
    let Some(session_id) = last(pairs, "sessionId").filter(|s| !s.is_empty()) else {
        return Err(invalid_argument("Request contains an invalid argument."));
    };
    let size = query_page_size(pairs, ITEMS_DEFAULT, ITEMS_MAX)?;
    own_session(st, account, session_id, now_ms)?;
    let State { picker, lib, .. } = &mut *st;
    picker.play_user(session_id, now_ms, lib);
    let session = own_session(st, account, session_id, now_ms)?;
    let Some(picked) = session.picked.clone() else {
        return Err(google_error(
            StatusCode::BAD_REQUEST,
            "FAILED_PRECONDITION",
            "Precondition check failed.",
        ));
    };
    let domain = page_domain(session_id);
    let start = match last(pairs, "pageToken").filter(|t| !t.is_empty()) {
        Some(t) => {
            let p = unseal(&shared.mac_key, &domain, t, 24)
                .filter(|p| p.len() == 12)
                .ok_or_else(|| invalid_argument("Invalid page token."))?;
            u64::from_le_bytes(p[..8].try_into().expect("8 bytes")) as usize
        }
        None => 0,
    };
    // Items deleted from the library since picking are no longer listed.
    let candidates = (start..picked.len())
        .filter(|i| st.lib.items.contains_key(&picked[*i]))
        .map(|i| i as u64)
        .collect::<Vec<_>>();
    let (page, more) = take_page(st, candidates.into_iter(), size);
    let token = last(pairs, "pageToken").filter(|t| !t.is_empty());
    // The `repeat_page_token` fault: the token the request carried comes back as the next one.
    let repeated = match token {
        Some(t) if st.faults.repeat_page_token(PagedListing::PickedItems) => Some(t.to_owned()),
        _ => None,
    };
    let next = repeated.or_else(|| {
        more.then(|| {
            let pos = page.last().map(|i| i + 1).unwrap_or(start as u64);
            st.nonce = st.nonce.wrapping_add(1);
            let mut payload = Vec::with_capacity(12);
            payload.extend_from_slice(&pos.to_le_bytes());
            payload.extend_from_slice(&st.nonce.to_le_bytes());
            seal(&shared.mac_key, &domain, &payload, 24)
        })
    });
    let items: Vec<Value> = page
        .iter()
        .map(|i| {
            let item = st.lib.items[&picked[*i as usize]].clone();
            picked_item_json(shared, st, &item, now_ms)
        })
        .collect();
    let mut m = Map::new();
    if !items.is_empty() {
        m.insert("mediaItems".into(), Value::Array(items));
    }
    if let Some(t) = next {
        m.insert("nextPageToken".into(), json!(t));
    }
    Ok(json_response(StatusCode::OK, &Value::Object(m)))
}

/// Scripts (or, with None, removes) the user of `account`: see [`PickerUser`].
pub(crate) fn script_user(
    st: &mut State,
    account: usize,
    user: Option<(&[&str], i64)>,
) -> Result<(), (StatusCode, String)> {
    let Some((ids, after_ms)) = user else {
        st.picker.users.remove(&account);
        return Ok(());
    };
    let mut items = Vec::with_capacity(ids.len());
    for id in ids {
        let key = st
            .lib
            .item_key(id)
            .ok_or_else(|| (StatusCode::NOT_FOUND, format!("unknown item id {id:?}")))?;
        if st.lib.items[&key].account != account {
            return Err((
                StatusCode::BAD_REQUEST,
                format!("item {id} belongs to another account"),
            ));
        }
        if !items.contains(&key) {
            items.push(key);
        }
    }
    st.picker
        .users
        .insert(account, PickerUser { items, after_ms });
    Ok(())
}

/// The user finished picking `item_ids` in session `session_id` (the test hook behind
/// [`super::FakeGoogle::complete_picking`] and `POST /_fake/picker/{id}/pick`).
pub(crate) fn complete_picking(
    st: &mut State,
    session_id: &str,
    item_ids: &[&str],
    now_ms: i64,
) -> Result<(), (StatusCode, String)> {
    let Some(session) = st.picker.live(session_id, now_ms) else {
        return Err((
            StatusCode::NOT_FOUND,
            format!("unknown, expired or deleted picker session {session_id:?}"),
        ));
    };
    if session.picked.is_some() {
        return Err((
            StatusCode::BAD_REQUEST,
            format!("picking already completed in session {session_id}"),
        ));
    }
    if now_ms >= session.poll_deadline_ms {
        return Err((
            StatusCode::BAD_REQUEST,
            format!("picker session {session_id} timed out (timeoutIn reached 0s)"),
        ));
    }
    if item_ids.len() as u64 > session.max_items {
        return Err((
            StatusCode::BAD_REQUEST,
            format!(
                "{} items picked but maxItemCount is {}",
                item_ids.len(),
                session.max_items
            ),
        ));
    }
    let account = session.account;
    let mut keys = Vec::with_capacity(item_ids.len());
    for id in item_ids {
        let key = st
            .lib
            .item_key(id)
            .ok_or_else(|| (StatusCode::NOT_FOUND, format!("unknown item id {id:?}")))?;
        if st.lib.items[&key].account != account {
            return Err((
                StatusCode::BAD_REQUEST,
                format!("item {id} belongs to another account than session {session_id}"),
            ));
        }
        if keys.contains(&key) {
            return Err((StatusCode::BAD_REQUEST, format!("item {id} picked twice")));
        }
        keys.push(key);
    }
    st.picker
        .sessions
        .get_mut(session_id)
        .expect("checked above")
        .picked = Some(keys);
    Ok(())
}
