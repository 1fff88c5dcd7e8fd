//! The `/_fake/` control interface: the Rust API of [`super::FakeGoogle`] as JSON over HTTP,
//! so the stand-alone program can be driven from shell scripts, other languages or a photobak
//! test that only knows the URL.
//!
//! Errors are `{"error":"…"}` with 400 (bad JSON or inconsistent request) or 404 (unknown
//! account, album or item).

// Handlers and their helpers return ready-made error responses as `Err`; they are built at
// most once per request, so boxing them to appease `result_large_err` would only add noise.
#![allow(clippy::result_large_err)]

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::model::ModelError;
use super::respond::json_response;
use super::{
    AuthBehavior, DriveFileSpec, Faults, GenerateSpec, ItemEdit, NewItem, READONLY_SCOPE, Shared,
};

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/_fake/library", get(library))
        .route("/_fake/stats", get(stats))
        .route("/_fake/faults", get(get_faults).post(set_faults))
        .route("/_fake/accounts", post(add_account))
        .route("/_fake/generate", post(generate))
        .route("/_fake/albums", post(add_album))
        .route(
            "/_fake/albums/{id}",
            axum::routing::patch(rename_album).delete(delete_album),
        )
        .route("/_fake/albums/{id}/items", post(album_items))
        .route("/_fake/items", post(add_item))
        .route(
            "/_fake/items/{id}",
            axum::routing::patch(edit_item).delete(delete_item),
        )
        .route("/_fake/items/{id}/bytes", get(item_bytes))
        .route("/_fake/clock", post(clock))
        .route("/_fake/expire-tokens", post(expire_tokens))
        .route("/_fake/revoke", post(revoke))
        .route("/_fake/quota/reset", post(reset_quota))
        .route("/_fake/media-mirror", post(media_mirror))
        .route("/_fake/auth", post(auth_behavior))
        .route("/_fake/tokens", post(mint_tokens))
        .route("/_fake/picker", get(picker_sessions))
        .route("/_fake/picker/{session}/pick", post(pick))
        .route("/_fake/drive", get(drive_files).post(drive_add))
        .route("/_fake/drive/log", get(drive_log))
        .route("/_fake/drive/{id}/trash", post(drive_trash))
        .route("/_fake/picker/user", post(picker_user))
}

fn error(status: StatusCode, message: &str) -> Response {
    json_response(status, &json!({"error": message}))
}

fn model_error(e: ModelError) -> Response {
    let status = match e {
        ModelError::Invalid(_) => StatusCode::BAD_REQUEST,
        _ => StatusCode::NOT_FOUND,
    };
    error(status, &e.to_string())
}

/// Parses a JSON body; an empty body means `{}`.
fn parse<T: DeserializeOwned>(body: &Bytes) -> Result<T, Response> {
    let text: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        body
    };
    serde_json::from_slice(text)
        .map_err(|e| error(StatusCode::BAD_REQUEST, &format!("invalid JSON body: {e}")))
}

/// Rejects fields a flattened request would silently ignore (`#[serde(flatten)]` cannot be
/// combined with `deny_unknown_fields`): the allowed names are those `template` serialises to.
fn check_fields(body: &Bytes, template: &impl serde::Serialize) -> Result<(), Response> {
    let Ok(Value::Object(given)) = serde_json::from_slice::<Value>(body) else {
        return Ok(()); // parse() reports malformed bodies
    };
    let Ok(Value::Object(known)) = serde_json::to_value(template) else {
        return Ok(());
    };
    match given
        .keys()
        .find(|k| *k != "account" && !known.contains_key(*k))
    {
        Some(k) => Err(error(
            StatusCode::BAD_REQUEST,
            &format!("invalid JSON body: unknown field `{k}`"),
        )),
        None => Ok(()),
    }
}

fn ok(v: Value) -> Response {
    json_response(StatusCode::OK, &v)
}

fn run(f: impl FnOnce() -> Result<Response, Response>) -> Response {
    f().unwrap_or_else(|e| e)
}

async fn library(AxState(shared): AxState<Arc<Shared>>) -> Response {
    let snap = shared.lock().lib.snapshot();
    ok(serde_json::to_value(snap).expect("snapshot serialises"))
}

async fn stats(AxState(shared): AxState<Arc<Shared>>) -> Response {
    ok(serde_json::to_value(shared.stats()).expect("stats serialise"))
}

async fn get_faults(AxState(shared): AxState<Arc<Shared>>) -> Response {
    let f = shared.lock().faults.faults.clone();
    ok(serde_json::to_value(f).expect("faults serialise"))
}

async fn set_faults(AxState(shared): AxState<Arc<Shared>>, body: Bytes) -> Response {
    run(|| {
        let f: Faults = parse(&body)?;
        shared.lock().faults.set(f.clone());
        Ok(ok(serde_json::to_value(f).expect("faults serialise")))
    })
}

#[derive(Deserialize)]
struct AccountReq {
    address: String,
}

async fn add_account(AxState(shared): AxState<Arc<Shared>>, body: Bytes) -> Response {
    run(|| {
        let req: AccountReq = parse(&body)?;
        shared.lock().lib.ensure_account(&req.address);
        Ok(ok(json!({"address": req.address})))
    })
}

#[derive(Deserialize)]
struct GenerateReq {
    account: String,
    #[serde(flatten)]
    spec: GenerateSpec,
}

/// Runs on a blocking thread: hashing a realistic library takes a while.
async fn generate(AxState(shared): AxState<Arc<Shared>>, body: Bytes) -> Response {
    if let Err(e) = check_fields(&body, &GenerateSpec::default()) {
        return e;
    }
    let req: GenerateReq = match parse(&body) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let result =
        tokio::task::spawn_blocking(move || shared.generate(&req.account, &req.spec)).await;
    match result {
        Ok((albums, items)) => ok(json!({"album_ids": albums, "item_ids": items})),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

#[derive(Deserialize)]
struct AlbumReq {
    account: String,
    #[serde(default)]
    title: String,
}

async fn add_album(AxState(shared): AxState<Arc<Shared>>, body: Bytes) -> Response {
    run(|| {
        let req: AlbumReq = parse(&body)?;
        let id = shared
            .lock()
            .lib
            .add_album(&req.account, &req.title)
            .map_err(model_error)?;
        Ok(ok(json!({"id": id})))
    })
}

#[derive(Deserialize)]
struct RenameReq {
    title: String,
}

async fn rename_album(
    AxState(shared): AxState<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    run(|| {
        let req: RenameReq = parse(&body)?;
        shared
            .lock()
            .lib
            .rename_album(&id, &req.title)
            .map_err(model_error)?;
        Ok(ok(json!({})))
    })
}

async fn delete_album(AxState(shared): AxState<Arc<Shared>>, Path(id): Path<String>) -> Response {
    run(|| {
        shared.lock().lib.delete_album(&id).map_err(model_error)?;
        Ok(ok(json!({})))
    })
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct MembershipReq {
    add: Vec<String>,
    remove: Vec<String>,
}

async fn album_items(
    AxState(shared): AxState<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    run(|| {
        let req: MembershipReq = parse(&body)?;
        let add: Vec<&str> = req.add.iter().map(String::as_str).collect();
        let remove: Vec<&str> = req.remove.iter().map(String::as_str).collect();
        shared
            .lock()
            .lib
            .change_membership(&id, &add, &remove)
            .map_err(model_error)?;
        Ok(ok(json!({})))
    })
}

#[derive(Deserialize)]
struct ItemReq {
    account: String,
    #[serde(flatten)]
    item: NewItem,
}

async fn add_item(AxState(shared): AxState<Arc<Shared>>, body: Bytes) -> Response {
    if let Err(e) = check_fields(&body, &NewItem::default()) {
        return e;
    }
    let req: ItemReq = match parse(&body) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let result = tokio::task::spawn_blocking(move || shared.add_item(&req.account, req.item)).await;
    match result {
        Ok(Ok(id)) => ok(json!({"id": id})),
        Ok(Err(e)) => model_error(e),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

async fn edit_item(
    AxState(shared): AxState<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let edit: ItemEdit = match parse(&body) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let result = tokio::task::spawn_blocking(move || shared.edit_item(&id, edit)).await;
    match result {
        Ok(Ok(())) => ok(json!({})),
        Ok(Err(e)) => model_error(e),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

async fn delete_item(AxState(shared): AxState<Arc<Shared>>, Path(id): Path<String>) -> Response {
    run(|| {
        shared.lock().lib.delete_item(&id).map_err(model_error)?;
        Ok(ok(json!({})))
    })
}

/// The full bytes of an item, without going through a `baseUrl` (and without faults).
async fn item_bytes(AxState(shared): AxState<Arc<Shared>>, Path(id): Path<String>) -> Response {
    let content = match shared.lock().lib.item_by_id(&id) {
        Ok(item) => item.content.clone(),
        Err(e) => return model_error(e),
    };
    if content.len() > 256 << 20 {
        return error(
            StatusCode::BAD_REQUEST,
            "item larger than 256 MiB; download it through its baseUrl",
        );
    }
    match tokio::task::spawn_blocking(move || content.to_vec()).await {
        Ok(bytes) => bytes.into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

#[derive(Deserialize)]
struct ClockReq {
    advance_secs: u64,
}

async fn clock(AxState(shared): AxState<Arc<Shared>>, body: Bytes) -> Response {
    run(|| {
        let req: ClockReq = parse(&body)?;
        shared.advance_clock(Duration::from_secs(req.advance_secs));
        let st = shared.lock();
        Ok(ok(json!({"offset_secs": st.clock_offset_ms / 1000})))
    })
}

async fn expire_tokens(AxState(shared): AxState<Arc<Shared>>) -> Response {
    shared.expire_access_tokens();
    ok(json!({}))
}

#[derive(Deserialize)]
struct RevokeReq {
    #[serde(alias = "address")]
    account: String,
}

async fn revoke(AxState(shared): AxState<Arc<Shared>>, body: Bytes) -> Response {
    run(|| {
        let req: RevokeReq = parse(&body)?;
        shared.revoke_account(&req.account).map_err(model_error)?;
        Ok(ok(json!({})))
    })
}

async fn reset_quota(AxState(shared): AxState<Arc<Shared>>) -> Response {
    shared.lock().faults.reset_quota();
    ok(json!({}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MirrorReq {
    url: Option<String>,
}

async fn media_mirror(AxState(shared): AxState<Arc<Shared>>, body: Bytes) -> Response {
    run(|| {
        let req: MirrorReq = parse(&body)?;
        if let Some(u) = &req.url
            && !(u.starts_with("http://") || u.starts_with("https://"))
        {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "url must start with http:// or https://",
            ));
        }
        let mut st = shared.lock();
        st.media_mirror = req.url.map(|u| u.trim_end_matches('/').to_owned());
        Ok(ok(json!({"url": st.media_mirror})))
    })
}

#[derive(Deserialize)]
struct AuthReq {
    behavior: AuthBehavior,
}

async fn auth_behavior(AxState(shared): AxState<Arc<Shared>>, body: Bytes) -> Response {
    run(|| {
        let req: AuthReq = parse(&body)?;
        shared.lock().oauth.behavior = req.behavior;
        Ok(ok(json!({"behavior": req.behavior})))
    })
}

#[derive(Deserialize)]
struct TokensReq {
    account: String,
    scope: Option<String>,
}

async fn mint_tokens(AxState(shared): AxState<Arc<Shared>>, body: Bytes) -> Response {
    run(|| {
        let req: TokensReq = parse(&body)?;
        let scope = req.scope.as_deref().unwrap_or(READONLY_SCOPE);
        let pair = shared.mint_tokens(&req.account, scope);
        Ok(ok(serde_json::to_value(pair).expect("tokens serialise")))
    })
}

#[derive(Deserialize)]
struct PickerQuery {
    account: String,
}

async fn picker_sessions(
    AxState(shared): AxState<Arc<Shared>>,
    Query(q): Query<PickerQuery>,
) -> Response {
    match shared.picker_sessions(&q.account) {
        Ok(ids) => ok(json!({"session_ids": ids})),
        Err(e) => model_error(e),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PickReq {
    item_ids: Vec<String>,
}

async fn pick(
    AxState(shared): AxState<Arc<Shared>>,
    Path(session): Path<String>,
    body: Bytes,
) -> Response {
    run(|| {
        let req: PickReq = parse(&body)?;
        let ids: Vec<&str> = req.item_ids.iter().map(String::as_str).collect();
        shared
            .complete_picking(&session, &ids)
            .map_err(|(status, e)| error(status, &e))?;
        Ok(ok(json!({})))
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DriveAddReq {
    account: String,
    name: String,
    #[serde(default)]
    content_base64: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    parents: Vec<String>,
    #[serde(default)]
    trashed: bool,
    #[serde(default)]
    mime_type: Option<String>,
    #[serde(default)]
    created_time: Option<jiff::Timestamp>,
}

/// Adds a file or folder to an account's Drive: `{"account", "name", "content_base64" or
/// "text", "parents", "trashed", "mime_type", "created_time"}` → `{"id"}`.
async fn drive_add(AxState(shared): AxState<Arc<Shared>>, body: Bytes) -> Response {
    run(|| {
        use base64::Engine as _;
        let req: DriveAddReq = parse(&body)?;
        let bytes = match (&req.content_base64, &req.text) {
            (Some(_), Some(_)) => {
                return Err(error(
                    StatusCode::BAD_REQUEST,
                    "give content_base64 or text, not both",
                ));
            }
            (Some(b), None) => base64::engine::general_purpose::STANDARD
                .decode(b.as_bytes())
                .map_err(|e| error(StatusCode::BAD_REQUEST, &format!("content_base64: {e}")))?,
            (None, Some(t)) => t.clone().into_bytes(),
            (None, None) => Vec::new(),
        };
        let spec = DriveFileSpec {
            name: req.name,
            bytes,
            parents: req.parents,
            trashed: req.trashed,
            mime_type: req.mime_type,
            created_time: req.created_time,
        };
        let id = shared
            .drive_add(&req.account, spec)
            .map_err(|e| error(StatusCode::BAD_REQUEST, &e))?;
        Ok(ok(json!({"id": id})))
    })
}

/// `GET /_fake/drive?account=A`: the account's Drive files.
async fn drive_files(
    AxState(shared): AxState<Arc<Shared>>,
    Query(q): Query<PickerQuery>,
) -> Response {
    ok(json!({"files": shared.drive_files(&q.account)}))
}

async fn drive_log(AxState(shared): AxState<Arc<Shared>>) -> Response {
    let log = shared.lock().drive.log.clone();
    ok(json!({"requests": log}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TrashReq {
    #[serde(default = "yes")]
    trashed: bool,
}

fn yes() -> bool {
    true
}

async fn drive_trash(
    AxState(shared): AxState<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    run(|| {
        let req: TrashReq = parse(&body)?;
        shared
            .drive_set_trashed(&id, req.trashed)
            .map_err(|e| error(StatusCode::NOT_FOUND, &e))?;
        Ok(ok(json!({})))
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PickerUserReq {
    account: String,
    /// None removes the scripted user.
    item_ids: Option<Vec<String>>,
    #[serde(default)]
    after_ms: u64,
}

async fn picker_user(AxState(shared): AxState<Arc<Shared>>, body: Bytes) -> Response {
    run(|| {
        let req: PickerUserReq = parse(&body)?;
        let ids: Option<Vec<&str>> = req
            .item_ids
            .as_ref()
            .map(|v| v.iter().map(String::as_str).collect());
        shared
            .script_picker_user(
                &req.account,
                ids.as_deref()
                    .map(|ids| (ids, std::time::Duration::from_millis(req.after_ms))),
            )
            .map_err(|(status, e)| error(status, &e))?;
        Ok(ok(json!({})))
    })
}
