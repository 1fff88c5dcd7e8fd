//! Google: OAuth for installed apps, the HTTP discipline Google asks for (backoff, 429 pacing,
//! quota detection), the Photos Library API, the Photos Picker API, and Google Drive
//! (read-only, for the Takeout exports Google delivers there).
//!
//! Every URL is derived from [`Endpoints`], so tests (and anyone curious) can point photobak at a
//! fake service with `PHOTOBAK_GOOGLE_ENDPOINT`.

pub mod drive;
pub mod http;
pub mod library;
pub mod media;
pub mod oauth;
pub mod picker;

/// Provider name used in the index and on disk.
pub const PROVIDER: &str = "googlephotos";

/// OAuth scope that still lists what the app can see in the Library API (since 2025-03-31 only
/// items the app created).
pub const SCOPE_LIBRARY_READ: &str =
    "https://www.googleapis.com/auth/photoslibrary.readonly.appcreateddata";
/// OAuth scope of the Picker API.
pub const SCOPE_PICKER: &str = "https://www.googleapis.com/auth/photospicker.mediaitems.readonly";

/// OAuth scope of Google Drive, read-only: reads files photobak did not create (the Takeout
/// exports Google writes into the user's Drive). Asked for only by `auth --drive`, in a consent
/// of its own, so an account that never uses Drive never grants it.
pub const SCOPE_DRIVE_READ: &str = "https://www.googleapis.com/auth/drive.readonly";

/// Where Google's services are.
#[derive(Debug, Clone)]
pub struct Endpoints {
    /// Browser authorisation page.
    pub authorize: String,
    /// Token exchange and refresh.
    pub token: String,
    /// Token revocation.
    pub revoke: String,
    /// Library API root, ending in `/v1`.
    pub library: String,
    /// Picker API root, ending in `/v1`.
    pub picker: String,
    /// Drive API root, ending in `/drive/v3`.
    pub drive: String,
}

impl Endpoints {
    /// The real Google endpoints.
    pub fn google() -> Endpoints {
        Endpoints {
            authorize: "https://accounts.google.com/o/oauth2/v2/auth".into(),
            token: "https://oauth2.googleapis.com/token".into(),
            revoke: "https://oauth2.googleapis.com/revoke".into(),
            library: "https://photoslibrary.googleapis.com/v1".into(),
            picker: "https://photospicker.googleapis.com/v1".into(),
            drive: "https://www.googleapis.com/drive/v3".into(),
        }
    }

    /// Every endpoint under one base URL `E`, with fixed paths so any fake can serve them:
    /// `E/o/oauth2/v2/auth`, `E/token`, `E/revoke`, `E/photoslibrary/v1`, `E/photospicker/v1`,
    /// `E/drive/v3`.
    pub fn under(base: &str) -> Endpoints {
        let e = base.trim_end_matches('/');
        Endpoints {
            authorize: format!("{e}/o/oauth2/v2/auth"),
            token: format!("{e}/token"),
            revoke: format!("{e}/revoke"),
            library: format!("{e}/photoslibrary/v1"),
            picker: format!("{e}/photospicker/v1"),
            drive: format!("{e}/drive/v3"),
        }
    }
}

/// How to reach Google: the shared HTTP client, the endpoints (real or a fake), the OAuth
/// client and the retry timing. Every source that talks to Google takes one.
#[derive(Clone)]
pub struct GoogleAccess {
    /// Shared HTTP client.
    pub http: reqwest::Client,
    /// Endpoints (real or fake).
    pub endpoints: Endpoints,
    /// OAuth client.
    pub client: oauth::ClientCredentials,
    /// Retry timing.
    pub policy: http::RetryPolicy,
}
