//! A fake of the Google services photobak talks to: OAuth for installed apps, the Photos
//! Library API, the Photos Picker API, the media hosts behind `baseUrl`s, and the Drive API v3
//! files a user's Takeout exports are delivered to.
//!
//! Why a real HTTP server: photobak's integration tests run the photobak binary as a subprocess,
//! so the fake must be reachable over the network exactly like Google, with Google's paths,
//! JSON shapes, error bodies and quirks (string-encoded int64s, `{}` for empty pages, expiring
//! opaque `baseUrl`s, redirects for videos), as the crate's README describes them; the README
//! lists where the fake knowingly differs from Google.
//!
//! [`FakeGoogle`] owns a dedicated thread with its own tokio runtime so plain synchronous
//! `#[test]` functions can start it, mutate the library between runs (`add_item`, `edit_item`,
//! `set_faults`, `advance_clock`…) and read ground truth back ([`FakeGoogle::library`],
//! [`FakeGoogle::stats`]). The same operations are available as JSON under `/_fake/` for the
//! stand-alone program `photobak-fake-google`.
//!
//! Layout: `model` (library and content), `generate` (deterministic libraries), `oauth`,
//! `library_api`, `picker_api`, `media` (the `baseUrl` hosts), `drive_api` (Drive v3 files),
//! `faults`, `control` (the `/_fake/` interface), `respond` (Google's error shapes).

mod control;
mod drive_api;
mod exif_strip;
mod faults;
mod generate;
mod library_api;
mod media;
mod model;
mod oauth;
mod picker_api;
mod respond;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use axum::Router;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

pub use drive_api::{
    DRIVE_READONLY_SCOPE, DriveFileSnapshot, DriveFileSpec, DriveRequest, FOLDER_MIME,
};
pub use exif_strip::strip_gps;
pub use faults::{Faults, PagedListing};
pub use generate::{GenerateSpec, Sizes};
pub use model::{
    AccountSnapshot, AlbumSnapshot, Content, ContentEdit, GenKind, ItemEdit, ItemSnapshot,
    LibrarySnapshot, ModelError, NewItem, Sample, VideoStatus,
};
pub use oauth::{AuthBehavior, TokenPair};

/// The Library API read scope, the only one that lists app-created media since 2025-03-31.
pub const READONLY_SCOPE: &str =
    "https://www.googleapis.com/auth/photoslibrary.readonly.appcreateddata";

/// The Picker API scope, needed by every Picker call and by Picker `baseUrl`s.
pub const PICKER_SCOPE: &str = "https://www.googleapis.com/auth/photospicker.mediaitems.readonly";

/// Configuration of a fake.
#[derive(Clone, Debug)]
pub struct FakeConfig {
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// Seed of ids, tokens and fault decisions.
    pub seed: u64,
    /// Lifetime of `baseUrl`s on the fake's clock (Google: about 60 minutes).
    pub base_url_ttl: Duration,
    /// `expires_in` of access tokens (Google: 3599 s).
    pub access_token_lifetime: Duration,
    /// Required OAuth client id; `None` accepts any.
    pub client_id: Option<String>,
    /// Required OAuth client secret; `None` accepts any (or none).
    pub client_secret: Option<String>,
    /// Refresh tokens older than this stop working, like the 7-day limit of apps in "Testing"
    /// publishing status; `None` = no age limit (unused tokens still die after six months).
    pub refresh_token_lifetime: Option<Duration>,
    /// Lifetime of Picker sessions (`expireTime` − creation); afterwards they are 404.
    pub picker_session_ttl: Duration,
    /// `pollingConfig.timeoutIn` of a new Picker session; picking is impossible afterwards.
    pub picker_poll_timeout: Duration,
}

impl Default for FakeConfig {
    fn default() -> Self {
        FakeConfig {
            port: 0,
            seed: 1,
            base_url_ttl: Duration::from_secs(60 * 60),
            access_token_lifetime: Duration::from_secs(3599),
            client_id: None,
            client_secret: None,
            refresh_token_lifetime: None,
            picker_session_ttl: Duration::from_secs(24 * 60 * 60),
            picker_poll_timeout: Duration::from_secs(30 * 60),
        }
    }
}

/// Counters of what clients did, as `GET /_fake/stats` returns them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// Requests under `/photoslibrary/v1/` (including rejected ones).
    pub api_requests: u64,
    /// Requests under `/photospicker/v1/` (including rejected ones).
    #[serde(default)]
    pub picker_requests: u64,
    /// Requests to `/lh3/` and `/video-downloads/`.
    pub media_requests: u64,
    /// Media bodies sent to the end (full or ranged, not cut by a fault).
    pub media_bodies_completed: u64,
    /// Media body bytes handed to the connection.
    pub media_bytes_sent: u64,
    /// Successful `authorization_code` exchanges.
    pub token_code_exchanges: u64,
    /// Successful `refresh_token` grants.
    pub token_refreshes: u64,
    /// Token endpoint answers that were errors.
    pub token_errors: u64,
    /// Calls of the authorization endpoint.
    pub authorize_requests: u64,
    /// Successful revocations.
    pub revocations: u64,
    /// Injected faults by kind: `api_5xx`, `api_429`, `media_5xx`, `media_429`, `reset`,
    /// `truncate`, `short_page`.
    pub faults_injected: BTreeMap<String, u64>,
    /// Requests refused because a daily quota was exhausted.
    pub quota_rejections: u64,
    /// API calls counted against `daily_quota` since the last reset.
    pub api_quota_used: u64,
    /// Media fetches counted against `media_daily_quota` since the last reset.
    pub media_quota_used: u64,
    /// Query parameters of the last authorization request.
    pub last_authorize_query: Option<BTreeMap<String, String>>,
    /// Media requests (`=d`, `=dv` and the video download they redirect to) per item id,
    /// whatever the answer: proves that a resumed run never fetches an item it already has.
    #[serde(default)]
    pub media_requests_by_item: BTreeMap<String, u64>,
    /// Requests under `/drive/v3/` (including rejected ones).
    #[serde(default)]
    pub drive_requests: u64,
    /// Drive content requests (`alt=media`), whatever the answer.
    #[serde(default)]
    pub drive_media_requests: u64,
    /// Drive content requests per file id, whatever the answer.
    #[serde(default)]
    pub drive_media_requests_by_file: BTreeMap<String, u64>,
    /// Drive content bytes handed to the connection.
    #[serde(default)]
    pub drive_bytes_sent: u64,
    /// Drive content bodies sent to the end (full or ranged, not cut by a fault).
    #[serde(default)]
    pub drive_bodies_completed: u64,
}

impl Stats {
    /// Injected faults of one kind.
    pub fn faults(&self, kind: &str) -> u64 {
        self.faults_injected.get(kind).copied().unwrap_or(0)
    }
}

/// Counters kept under the state lock.
#[derive(Default)]
pub(crate) struct Counters {
    pub api_requests: u64,
    pub picker_requests: u64,
    pub media_requests: u64,
    pub token_code_exchanges: u64,
    pub token_refreshes: u64,
    pub token_errors: u64,
    pub authorize_requests: u64,
    pub revocations: u64,
    pub quota_rejections: u64,
    pub last_authorize_query: Option<BTreeMap<String, String>>,
    pub media_requests_by_item: BTreeMap<String, u64>,
}

/// Mutable state of the fake, behind one mutex (held only briefly, never across `.await`).
pub(crate) struct State {
    pub lib: model::Library,
    pub oauth: oauth::OAuthState,
    pub picker: picker_api::PickerState,
    pub drive: drive_api::DriveState,
    pub faults: faults::FaultState,
    pub clock_offset_ms: i64,
    pub stats: Counters,
    /// Makes every issued `baseUrl` and page token distinct.
    pub nonce: u32,
    /// Base URL of a static copy of the media (see [`FakeGoogle::set_media_mirror`]).
    pub media_mirror: Option<String>,
}

/// Everything the handlers share.
pub(crate) struct Shared {
    pub cfg: FakeConfig,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// Key of the MACs that make `baseUrl`s and page tokens unforgeable.
    pub mac_key: [u8; 32],
    state: Mutex<State>,
    /// Media counters updated per chunk, outside the lock.
    pub media_bytes_sent: AtomicU64,
    pub media_bodies_completed: AtomicU64,
    /// The same for Drive content.
    pub drive_bytes_sent: AtomicU64,
    pub drive_bodies_completed: AtomicU64,
}

impl Shared {
    fn new(cfg: FakeConfig, base: String) -> Shared {
        let mut h = blake3::Hasher::new_derive_key("photobak-testkit fake mac v1");
        h.update(&cfg.seed.to_le_bytes());
        let seed = cfg.seed;
        Shared {
            base,
            mac_key: *h.finalize().as_bytes(),
            state: Mutex::new(State {
                lib: model::Library::new(seed),
                oauth: oauth::OAuthState::new(seed),
                picker: picker_api::PickerState::default(),
                drive: drive_api::DriveState::default(),
                faults: faults::FaultState::new(seed),
                clock_offset_ms: 0,
                stats: Counters::default(),
                nonce: 0,
                media_mirror: None,
            }),
            cfg,
            media_bytes_sent: AtomicU64::new(0),
            media_bodies_completed: AtomicU64::new(0),
            drive_bytes_sent: AtomicU64::new(0),
            drive_bodies_completed: AtomicU64::new(0),
        }
    }

    /// Locks the state. A panic in one handler must not wedge the fake for the rest of a test,
    /// so a poisoned lock is taken over.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The fake's clock: wall time plus whatever tests advanced it by, in Unix milliseconds.
    pub fn now_ms(&self, st: &State) -> i64 {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(oauth::duration_ms)
            .unwrap_or(0);
        wall + st.clock_offset_ms
    }

    fn stats(&self) -> Stats {
        let st = self.lock();
        Stats {
            api_requests: st.stats.api_requests,
            picker_requests: st.stats.picker_requests,
            media_requests: st.stats.media_requests,
            media_bodies_completed: self.media_bodies_completed.load(Ordering::Relaxed),
            media_bytes_sent: self.media_bytes_sent.load(Ordering::Relaxed),
            token_code_exchanges: st.stats.token_code_exchanges,
            token_refreshes: st.stats.token_refreshes,
            token_errors: st.stats.token_errors,
            authorize_requests: st.stats.authorize_requests,
            revocations: st.stats.revocations,
            faults_injected: st.faults.injected.clone(),
            quota_rejections: st.stats.quota_rejections,
            api_quota_used: st.faults.api_used,
            media_quota_used: st.faults.media_used,
            last_authorize_query: st.stats.last_authorize_query.clone(),
            media_requests_by_item: st.stats.media_requests_by_item.clone(),
            drive_requests: st.drive.requests,
            drive_media_requests: st.drive.media_requests,
            drive_media_requests_by_file: st.drive.media_requests_by_file.clone(),
            drive_bytes_sent: self.drive_bytes_sent.load(Ordering::Relaxed),
            drive_bodies_completed: self.drive_bodies_completed.load(Ordering::Relaxed),
        }
    }

    // Library operations shared by the Rust API and the control interface. Content is measured
    // (hashed) outside the lock so a large item does not stall requests in flight.

    fn add_item(&self, account: &str, item: NewItem) -> Result<String, ModelError> {
        self.lock().lib.check_new_item(account, &item)?;
        let prepared = model::PreparedItem::prepare(item);
        let mut st = self.lock();
        let acc = st.lib.check_new_item(account, &prepared.new)?;
        st.lib.insert_item(acc, prepared)
    }

    fn edit_item(&self, item_id: &str, edit: ItemEdit) -> Result<(), ModelError> {
        let planned = if edit.content.is_some() {
            let content = self.lock().lib.planned_content(item_id, &edit)?;
            let (size, hash) = content.measure();
            Some((content, size, hash))
        } else {
            self.lock().lib.planned_content(item_id, &edit)?;
            None
        };
        self.lock().lib.apply_edit(item_id, edit, planned)
    }

    fn generate(&self, account: &str, spec: &GenerateSpec) -> (Vec<String>, Vec<String>) {
        let plan = generate::plan(spec);
        let items = generate::prepare_all(plan.items);
        let mut st = self.lock();
        let acc = st.lib.ensure_account(account);
        st.lib.insert_generated(acc, &plan.album_titles, items)
    }

    fn mint_tokens(&self, account: &str, scope: &str) -> TokenPair {
        let mut st = self.lock();
        let acc = st.lib.ensure_account(account);
        let now = self.now_ms(&st);
        let lifetime = oauth::duration_ms(self.cfg.access_token_lifetime);
        st.oauth.mint(acc, scope, now, lifetime)
    }

    fn revoke_account(&self, account: &str) -> Result<(), ModelError> {
        let mut st = self.lock();
        let acc = st
            .lib
            .account_index(account)
            .ok_or_else(|| ModelError::UnknownAccount(account.to_owned()))?;
        st.oauth.revoke_account(acc);
        Ok(())
    }

    fn complete_picking(
        &self,
        session_id: &str,
        item_ids: &[&str],
    ) -> Result<(), (StatusCode, String)> {
        let mut st = self.lock();
        let now = self.now_ms(&st);
        picker_api::complete_picking(&mut st, session_id, item_ids, now)
    }

    fn script_picker_user(
        &self,
        account: &str,
        user: Option<(&[&str], Duration)>,
    ) -> Result<(), (StatusCode, String)> {
        let mut st = self.lock();
        let acc = st.lib.account_index(account).ok_or_else(|| {
            (
                StatusCode::NOT_FOUND,
                format!("unknown account {account:?}"),
            )
        })?;
        picker_api::script_user(
            &mut st,
            acc,
            user.map(|(ids, d)| (ids, oauth::duration_ms(d))),
        )
    }

    fn picker_sessions(&self, account: &str) -> Result<Vec<String>, ModelError> {
        let st = self.lock();
        let acc = st
            .lib
            .account_index(account)
            .ok_or_else(|| ModelError::UnknownAccount(account.to_owned()))?;
        Ok(st.picker.ids_of(acc, self.now_ms(&st)))
    }

    fn advance_clock(&self, d: Duration) {
        self.lock().clock_offset_ms += oauth::duration_ms(d);
    }

    fn expire_access_tokens(&self) {
        let mut st = self.lock();
        let now = self.now_ms(&st);
        st.oauth.expire_access_tokens(now);
    }
}

/// A running fake Google. Dropping it stops the server and its thread.
///
/// ```
/// use photobak_testkit::fake_google::{FakeConfig, FakeGoogle, GenerateSpec, NewItem};
///
/// let fake = FakeGoogle::start(FakeConfig::default()).unwrap();
/// fake.generate("me@example.com", &GenerateSpec { items: 10, albums: 2, ..GenerateSpec::default() });
/// let album = fake.add_album("me@example.com", "Extra");
/// let id = fake.add_item("me@example.com", NewItem::photo("IMG_0001.JPG").in_album(&album));
/// let snapshot = fake.library();
/// assert_eq!(snapshot.accounts[0].items.len(), 11);
/// assert_eq!(fake.item_bytes(&id).len() as u64, snapshot.accounts[0].item(&id).unwrap().size);
/// // Point photobak at fake.url() for every Google host.
/// assert!(fake.url().starts_with("http://127.0.0.1:"));
/// ```
pub struct FakeGoogle {
    shared: Arc<Shared>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl FakeGoogle {
    /// Binds 127.0.0.1:`cfg.port` and starts serving on a dedicated thread.
    pub fn start(cfg: FakeConfig) -> anyhow::Result<FakeGoogle> {
        let listener = std::net::TcpListener::bind(("127.0.0.1", cfg.port))
            .with_context(|| format!("binding 127.0.0.1:{}", cfg.port))?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let shared = Arc::new(Shared::new(cfg, format!("http://127.0.0.1:{port}")));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("fake-google-worker")
            .enable_all()
            .build()
            .context("building the fake's tokio runtime")?;
        let listener = {
            let _guard = runtime.enter();
            tokio::net::TcpListener::from_std(listener)?
        };
        let app = router(shared.clone());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("fake-google".to_owned())
            .spawn(move || {
                runtime.block_on(async move {
                    tokio::select! {
                        result = axum::serve(listener, app) => {
                            if let Err(e) = result {
                                eprintln!("fake google: server error: {e}");
                            }
                        }
                        _ = rx => {}
                    }
                });
                // Connections still streaming are simply dropped: a stopped fake is gone.
                runtime.shutdown_timeout(Duration::from_millis(200));
            })
            .context("spawning the fake's thread")?;
        Ok(FakeGoogle {
            shared,
            shutdown: Some(tx),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:PORT`, the stand-in for every Google host.
    pub fn url(&self) -> String {
        self.shared.base.clone()
    }

    /// Adds an empty account (no-op when it exists).
    pub fn add_account(&self, address: &str) {
        self.shared.lock().lib.ensure_account(address);
    }

    /// Adds a generated library to `account` (created when new).
    pub fn generate(&self, account: &str, spec: &GenerateSpec) {
        self.shared.generate(account, spec);
    }

    /// Creates an album; returns its id. Panics on an unknown account.
    pub fn add_album(&self, account: &str, title: &str) -> String {
        let mut st = self.shared.lock();
        st.lib
            .add_album(account, title)
            .unwrap_or_else(|e| panic!("add_album: {e}"))
    }

    /// Renames an album. Panics on an unknown id.
    pub fn rename_album(&self, album_id: &str, title: &str) {
        let mut st = self.shared.lock();
        st.lib
            .rename_album(album_id, title)
            .unwrap_or_else(|e| panic!("rename_album: {e}"));
    }

    /// Deletes an album (its items stay). Panics on an unknown id.
    pub fn delete_album(&self, album_id: &str) {
        let mut st = self.shared.lock();
        st.lib
            .delete_album(album_id)
            .unwrap_or_else(|e| panic!("delete_album: {e}"));
    }

    /// Adds an item; returns its id. Panics on an unknown account or album.
    pub fn add_item(&self, account: &str, item: NewItem) -> String {
        self.shared
            .add_item(account, item)
            .unwrap_or_else(|e| panic!("add_item: {e}"))
    }

    /// Edits an item. Panics on an unknown id.
    pub fn edit_item(&self, item_id: &str, edit: ItemEdit) {
        self.shared
            .edit_item(item_id, edit)
            .unwrap_or_else(|e| panic!("edit_item: {e}"));
    }

    /// Adds items to an album. Panics on unknown ids.
    pub fn add_to_album(&self, album_id: &str, item_ids: &[&str]) {
        let mut st = self.shared.lock();
        st.lib
            .change_membership(album_id, item_ids, &[])
            .unwrap_or_else(|e| panic!("add_to_album: {e}"));
    }

    /// Removes items from an album. Panics on unknown ids.
    pub fn remove_from_album(&self, album_id: &str, item_ids: &[&str]) {
        let mut st = self.shared.lock();
        st.lib
            .change_membership(album_id, &[], item_ids)
            .unwrap_or_else(|e| panic!("remove_from_album: {e}"));
    }

    /// Deletes an item (from the library and all albums). Panics on an unknown id.
    pub fn delete_item(&self, item_id: &str) {
        let mut st = self.shared.lock();
        st.lib
            .delete_item(item_id)
            .unwrap_or_else(|e| panic!("delete_item: {e}"));
    }

    /// Replaces the fault switches (and restarts the fault RNG and the `max_faults` budget).
    pub fn set_faults(&self, faults: Faults) {
        self.shared.lock().faults.set(faults);
    }

    /// Changes how the authorization endpoint answers.
    pub fn set_auth_behavior(&self, behavior: AuthBehavior) {
        self.shared.lock().oauth.behavior = behavior;
    }

    /// Makes every access token issued so far expired.
    pub fn expire_access_tokens(&self) {
        self.shared.expire_access_tokens();
    }

    /// From now on every access token, issued before or after, expires once it has been
    /// accepted `uses` times: expiry in the middle of a run that does not depend on how fast
    /// the machine is (a token refreshed after a 401 is accepted for its retry whatever the
    /// load, as an hour-long Google token is). `None` ends it.
    pub fn expire_access_tokens_after_uses(&self, uses: Option<u32>) {
        self.shared.lock().oauth.token_uses = uses;
    }

    /// Revokes all refresh tokens of `account` and their access tokens. Panics on an unknown
    /// account.
    pub fn revoke_refresh_tokens(&self, account: &str) {
        self.shared
            .revoke_account(account)
            .unwrap_or_else(|e| panic!("revoke_refresh_tokens: {e}"));
    }

    /// Moves the fake's clock forward (token, code and `baseUrl` expiry use it).
    pub fn advance_clock(&self, d: Duration) {
        self.shared.advance_clock(d);
    }

    /// Sends media downloads to a static copy of the library: while set, a genuine download
    /// (`=d` of a photo, `=dv` of a READY video, and the video host) answers `302 Found` to
    /// `{url}/{item id}` instead of sending the bytes, after every check and fault a download
    /// gets. The benchmark harness (`bench/run`) uses it to serve the bytes from nginx, which its
    /// peers (rclone, curl) read too; filling the copy (e.g. from `/_fake/items/{id}/bytes`) is
    /// the caller's job. `None` serves the bytes again.
    pub fn set_media_mirror(&self, url: Option<String>) {
        self.shared.lock().media_mirror = url.map(|u| u.trim_end_matches('/').to_owned());
    }

    /// Resets the daily API and media quotas.
    pub fn reset_quota(&self) {
        self.shared.lock().faults.reset_quota();
    }

    /// Issues a token pair for `account` (created when new) without the browser flow.
    pub fn mint_tokens(&self, account: &str, scope: &str) -> TokenPair {
        self.shared.mint_tokens(account, scope)
    }

    /// Plays the user finishing the picker in `session_id`: the session's `mediaItemsSet`
    /// becomes true and `mediaItems.list` returns `item_ids` in this order. Panics on an
    /// unknown, expired or deleted session, a session already completed or past its
    /// `timeoutIn`, more items than its `maxItemCount`, duplicate ids, or ids that are unknown
    /// or of another account.
    pub fn complete_picking(&self, session_id: &str, item_ids: &[&str]) {
        self.shared
            .complete_picking(session_id, item_ids)
            .unwrap_or_else(|(_, e)| panic!("complete_picking: {e}"));
    }

    /// Scripts the Picker user of `account`: in every open session of the account, `after`
    /// (on the fake's clock) from its creation, the user finishes picking `item_ids` — the first
    /// `maxItemCount` of them, those still in the library — as someone on a phone would while
    /// the client polls. Picking is seen by the next `sessions.get` or `mediaItems.list`; a
    /// session whose `timeoutIn` ran out first stays unpicked. Panics on an unknown account or
    /// item, or an item of another account.
    pub fn script_picker_user(&self, account: &str, item_ids: &[&str], after: Duration) {
        self.shared
            .script_picker_user(account, Some((item_ids, after)))
            .unwrap_or_else(|(_, e)| panic!("script_picker_user: {e}"));
    }

    /// Removes the scripted Picker user of `account`: nobody picks any more.
    pub fn clear_picker_user(&self, account: &str) {
        self.shared
            .script_picker_user(account, None)
            .unwrap_or_else(|(_, e)| panic!("clear_picker_user: {e}"));
    }

    /// Ids of the live (not deleted, not expired) Picker sessions of `account`, oldest first.
    /// Panics on an unknown account.
    pub fn picker_sessions(&self, account: &str) -> Vec<String> {
        self.shared
            .picker_sessions(account)
            .unwrap_or_else(|e| panic!("picker_sessions: {e}"))
    }

    /// Puts a file (or, with [`DriveFileSpec::folder`], a folder) into `account`'s Drive
    /// (the account is created when new); returns its id. Panics on a parent that is no folder
    /// of that account.
    pub fn drive_add(&self, account: &str, spec: DriveFileSpec) -> String {
        self.shared
            .drive_add(account, spec)
            .unwrap_or_else(|e| panic!("drive_add: {e}"))
    }

    /// Moves a Drive file to the trash (true) or out of it. Panics on an unknown id.
    pub fn drive_set_trashed(&self, id: &str, trashed: bool) {
        self.shared
            .drive_set_trashed(id, trashed)
            .unwrap_or_else(|e| panic!("drive_set_trashed: {e}"));
    }

    /// Ground truth of `account`'s Drive, in creation order (empty for an unknown account).
    pub fn drive_files(&self, account: &str) -> Vec<DriveFileSnapshot> {
        self.shared.drive_files(account)
    }

    /// Every request made to `/drive/v3/` so far, oldest first: tests assert on what a client
    /// asked for and, above all, what it never asked for.
    pub fn drive_log(&self) -> Vec<DriveRequest> {
        self.shared.lock().drive.log.clone()
    }

    /// Every authorization code, refresh token and access token the fake has issued (used or
    /// not, expired or revoked), so tests can prove none of them leaks into an output.
    pub fn issued_secrets(&self) -> Vec<String> {
        self.shared.lock().oauth.issued()
    }

    /// Counters.
    pub fn stats(&self) -> Stats {
        self.shared.stats()
    }

    /// Ground truth of every account.
    pub fn library(&self) -> LibrarySnapshot {
        self.shared.lock().lib.snapshot()
    }

    /// The full bytes of an item (what `=d`/`=dv` serve). Panics on an unknown id; meant for
    /// small items.
    pub fn item_bytes(&self, item_id: &str) -> Vec<u8> {
        let content = {
            let st = self.shared.lock();
            st.lib
                .item_by_id(item_id)
                .unwrap_or_else(|e| panic!("item_bytes: {e}"))
                .content
                .clone()
        };
        content.to_vec()
    }
}

impl Drop for FakeGoogle {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/o/oauth2/v2/auth", get(oauth::authorize))
        .route("/token", post(oauth::token))
        .route("/revoke", post(oauth::revoke))
        .merge(library_api::routes())
        .merge(picker_api::routes())
        .merge(media::routes())
        .merge(drive_api::routes())
        .merge(control::routes())
        .fallback(unknown_path)
        .with_state(shared)
}

async fn unknown_path(uri: Uri) -> Response {
    respond::html_error(StatusCode::NOT_FOUND, uri.path())
}

/// Seals `plain` into an opaque base64url token: a MAC over `domain` and the plaintext, then
/// the plaintext encrypted with a keystream derived from that MAC. Tokens thus look random (as
/// Google's do, so no client is tempted to parse them), need no server-side storage, and cannot
/// be forged or moved to another `domain` (listing, account, album…).
pub(crate) fn seal(key: &[u8; 32], domain: &[u8], plain: &[u8], mac_len: usize) -> String {
    use base64::Engine as _;
    let mut h = blake3::Hasher::new_keyed(key);
    h.update(domain);
    h.update(plain);
    let mut out = vec![0u8; mac_len];
    h.finalize_xof().fill(&mut out);
    let stream = keystream(key, &out, plain.len());
    out.extend(plain.iter().zip(stream).map(|(p, k)| p ^ k));
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(out)
}

/// Inverse of [`seal`]; `None` for anything not sealed with this key and domain.
pub(crate) fn unseal(
    key: &[u8; 32],
    domain: &[u8],
    token: &str,
    mac_len: usize,
) -> Option<Vec<u8>> {
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.as_bytes())
        .ok()?;
    if raw.len() < mac_len {
        return None;
    }
    let (mac, cipher) = raw.split_at(mac_len);
    let stream = keystream(key, mac, cipher.len());
    let plain: Vec<u8> = cipher.iter().zip(stream).map(|(c, k)| c ^ k).collect();
    let mut h = blake3::Hasher::new_keyed(key);
    h.update(domain);
    h.update(&plain);
    let mut expect = vec![0u8; mac_len];
    h.finalize_xof().fill(&mut expect);
    (expect == mac).then_some(plain)
}

fn keystream(key: &[u8; 32], mac: &[u8], len: usize) -> Vec<u8> {
    let mut h = blake3::Hasher::new_keyed(key);
    h.update(b"keystream");
    h.update(mac);
    let mut ks = vec![0u8; len];
    h.finalize_xof().fill(&mut ks);
    ks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_tokens_round_trip_and_reject_tampering() {
        let key = [7u8; 32];
        let t = seal(&key, b"d1", b"hello world", 16);
        assert_eq!(
            unseal(&key, b"d1", &t, 16).as_deref(),
            Some(&b"hello world"[..])
        );
        assert_eq!(unseal(&key, b"d2", &t, 16), None);
        assert_eq!(unseal(&[8u8; 32], b"d1", &t, 16), None);
        let mut tampered = t.clone().into_bytes();
        let last = tampered.len() - 1;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(
            unseal(&key, b"d1", std::str::from_utf8(&tampered).unwrap(), 16),
            None
        );
        assert_eq!(unseal(&key, b"d1", "!!", 16), None);
    }
}
