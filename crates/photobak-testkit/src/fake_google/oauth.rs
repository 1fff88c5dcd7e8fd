//! OAuth 2.0 endpoints for installed apps: authorization, token and revocation.
//!
//! The authorization endpoint has no consent UI: it answers at once with the 302 a browser would
//! see after the user clicked "Allow", so a client's loopback listener receives the code exactly
//! as in real life. [`AuthBehavior`] switches the answer to a denial, a tampered `state` or a
//! grant without the Photos scopes. The token endpoint enforces what Google enforces and a sloppy
//! client gets wrong: form encoding, PKCE, identical `redirect_uri`, one-time codes, and no new
//! refresh token on refresh. All expiry uses the fake's clock, so tests can jump ahead.

// Handlers and their helpers return ready-made error responses as `Err`; they are built at
// most once per request, so boxing them to appease `result_large_err` would only add noise.
#![allow(clippy::result_large_err)]

use std::collections::{BTreeMap, HashMap};
use std::net::Ipv6Addr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use url::{Host, Url};

use super::Shared;
use super::respond::{escape, json_response};

/// Authorization codes are single use and live 10 minutes.
const CODE_LIFETIME_MS: i64 = 10 * 60 * 1000;
/// Client id recorded for tokens minted by [`OAuthState::mint`].
const MINTED_CLIENT: &str = "fake-minted";
/// Google drops refresh tokens unused for six months.
const INACTIVITY_LIMIT_MS: i64 = 183 * 24 * 3600 * 1000;

/// How the authorization endpoint answers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthBehavior {
    /// The user approves every requested scope.
    #[default]
    Approve,
    /// The user denies: redirect with `error=access_denied`.
    Deny,
    /// Redirect with a code but a `state` different from the one sent.
    WrongState,
    /// The user unticks the Photos scopes: the grant has none of them.
    PartialScope,
}

/// Tokens minted directly for a test, bypassing the browser flow.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenPair {
    /// Bearer token for API calls.
    pub access_token: String,
    /// Refresh token.
    pub refresh_token: String,
    /// Granted scopes, space separated.
    pub scope: String,
}

struct CodeGrant {
    account: usize,
    client_id: String,
    redirect_uri: String,
    challenge: Option<(String, String)>,
    scope: String,
    issued_ms: i64,
    used: bool,
}

struct RefreshGrant {
    account: usize,
    client_id: String,
    scope: String,
    issued_ms: i64,
    last_used_ms: i64,
    revoked: bool,
}

struct AccessGrant {
    account: usize,
    scope: String,
    expires_ms: i64,
    refresh: Option<String>,
    revoked: bool,
    /// Requests the token was accepted for.
    uses: u32,
}

/// OAuth state: codes and tokens by value.
pub(crate) struct OAuthState {
    rng: fastrand::Rng,
    codes: HashMap<String, CodeGrant>,
    refresh: HashMap<String, RefreshGrant>,
    access: HashMap<String, AccessGrant>,
    pub behavior: AuthBehavior,
    /// When set, an access token expires once it has been accepted this many times
    /// ([`super::FakeGoogle::expire_access_tokens_after_uses`]).
    pub token_uses: Option<u32>,
}

/// A validated bearer token.
pub(crate) struct Principal {
    pub account: usize,
    pub scope: String,
}

impl OAuthState {
    /// Every authorization code, refresh token and access token issued so far.
    pub fn issued(&self) -> Vec<String> {
        self.codes
            .keys()
            .chain(self.refresh.keys())
            .chain(self.access.keys())
            .cloned()
            .collect()
    }

    pub fn new(seed: u64) -> OAuthState {
        OAuthState {
            rng: fastrand::Rng::with_seed(super::model::mix(seed, 0x0a07)),
            codes: HashMap::new(),
            refresh: HashMap::new(),
            access: HashMap::new(),
            behavior: AuthBehavior::Approve,
            token_uses: None,
        }
    }

    fn random(&mut self, prefix: &str, len: usize) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut s = String::with_capacity(prefix.len() + len);
        s.push_str(prefix);
        for _ in 0..len {
            s.push(ALPHABET[self.rng.usize(0..ALPHABET.len())] as char);
        }
        s
    }

    fn issue_access(
        &mut self,
        account: usize,
        scope: &str,
        refresh: Option<String>,
        now_ms: i64,
        lifetime_ms: i64,
    ) -> String {
        let token = self.random("ya29.a0", 150);
        self.access.insert(
            token.clone(),
            AccessGrant {
                account,
                scope: scope.to_owned(),
                expires_ms: now_ms + lifetime_ms,
                refresh,
                revoked: false,
                uses: 0,
            },
        );
        token
    }

    fn issue_refresh(
        &mut self,
        account: usize,
        client_id: &str,
        scope: &str,
        now_ms: i64,
    ) -> String {
        let token = self.random("1//0", 100);
        self.refresh.insert(
            token.clone(),
            RefreshGrant {
                account,
                client_id: client_id.to_owned(),
                scope: scope.to_owned(),
                issued_ms: now_ms,
                last_used_ms: now_ms,
                revoked: false,
            },
        );
        token
    }

    /// Checks a bearer token and counts its use; `None` when unknown, revoked or expired.
    pub fn principal(&mut self, token: &str, now_ms: i64) -> Option<Principal> {
        let max_uses = self.token_uses;
        let g = self.access.get_mut(token)?;
        if g.revoked || now_ms >= g.expires_ms {
            return None;
        }
        if let Some(max) = max_uses {
            if g.uses >= max {
                g.expires_ms = g.expires_ms.min(now_ms);
                return None;
            }
            g.uses += 1;
        }
        Some(Principal {
            account: g.account,
            scope: g.scope.clone(),
        })
    }

    pub fn expire_access_tokens(&mut self, now_ms: i64) {
        for g in self.access.values_mut() {
            g.expires_ms = g.expires_ms.min(now_ms);
        }
    }

    /// Revokes every refresh token of the account and every access token derived from them
    /// (as revoking access in the Google account settings does).
    pub fn revoke_account(&mut self, account: usize) {
        for g in self.refresh.values_mut().filter(|g| g.account == account) {
            g.revoked = true;
        }
        for g in self.access.values_mut().filter(|g| g.account == account) {
            g.revoked = true;
        }
    }

    fn revoke_refresh_family(&mut self, refresh: &str) {
        if let Some(g) = self.refresh.get_mut(refresh) {
            g.revoked = true;
        }
        for g in self.access.values_mut() {
            if g.refresh.as_deref() == Some(refresh) {
                g.revoked = true;
            }
        }
    }

    /// Mints a token pair for `account` without the browser flow.
    pub fn mint(
        &mut self,
        account: usize,
        scope: &str,
        now_ms: i64,
        lifetime_ms: i64,
    ) -> TokenPair {
        let refresh = self.issue_refresh(account, MINTED_CLIENT, scope, now_ms);
        let access = self.issue_access(account, scope, Some(refresh.clone()), now_ms, lifetime_ms);
        TokenPair {
            access_token: access,
            refresh_token: refresh,
            scope: scope.to_owned(),
        }
    }
}

/// True for the loopback redirect URIs Google accepts from desktop clients.
pub(crate) fn is_loopback_redirect(uri: &str) -> bool {
    let Ok(url) = Url::parse(uri) else {
        return false;
    };
    if url.scheme() != "http" || !url.username().is_empty() || url.fragment().is_some() {
        return false;
    }
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.octets() == [127, 0, 0, 1],
        Some(Host::Ipv6(ip)) => ip == Ipv6Addr::LOCALHOST,
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// The Photos scopes; a `PartialScope` grant drops all of them.
fn is_photos_scope(scope: &str) -> bool {
    scope.contains("photoslibrary") || scope.contains("photospicker")
}

fn parse_pairs(raw: &[u8]) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(raw).into_owned().collect()
}

/// Google shows these as an HTML error page in the browser instead of redirecting.
fn authorize_error(status: StatusCode, error: &str, detail: &str) -> Response {
    let body = format!(
        "<!DOCTYPE html>\n<html lang=en><meta charset=utf-8><title>Error {code}: {error}</title>\n<h1>Access blocked: authorization error</h1>\n<p>Error {code}: {error}</p>\n<p>{detail}</p>\n</html>\n",
        code = status.as_u16(),
        detail = escape(detail),
    );
    let mut r = (status, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r
}

/// `GET /o/oauth2/v2/auth`.
pub(crate) async fn authorize(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
) -> Response {
    let q = parse_pairs(query.unwrap_or_default().as_bytes());
    let mut st = shared.lock();
    st.stats.authorize_requests += 1;
    st.stats.last_authorize_query = Some(q.clone());

    let Some(client_id) = q.get("client_id").filter(|s| !s.is_empty()) else {
        return authorize_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Missing required parameter: client_id",
        );
    };
    if shared
        .cfg
        .client_id
        .as_ref()
        .is_some_and(|want| want != client_id)
    {
        return authorize_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "The OAuth client was not found.",
        );
    }
    let Some(redirect_uri) = q.get("redirect_uri").filter(|s| !s.is_empty()) else {
        return authorize_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Missing required parameter: redirect_uri",
        );
    };
    if !is_loopback_redirect(redirect_uri) {
        return authorize_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            &format!(
                "Invalid parameter value for redirect_uri: Non-loopback redirect URI not allowed for desktop clients: {redirect_uri}"
            ),
        );
    }
    if q.get("response_type").map(String::as_str) != Some("code") {
        return authorize_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Required parameter is missing or invalid: response_type (must be 'code')",
        );
    }
    let Some(scope) = q.get("scope").filter(|s| !s.trim().is_empty()) else {
        return authorize_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Missing required parameter: scope",
        );
    };
    let challenge = match (q.get("code_challenge"), q.get("code_challenge_method")) {
        (None, None) => None,
        (Some(c), m) => {
            let method = m.map(String::as_str).unwrap_or("plain");
            if method != "S256" && method != "plain" {
                return authorize_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "Invalid code_challenge_method",
                );
            }
            Some((c.clone(), method.to_owned()))
        }
        (None, Some(_)) => {
            return authorize_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Missing required parameter: code_challenge",
            );
        }
    };

    let state_param = q.get("state").cloned();
    let mut target = Url::parse(redirect_uri).expect("validated above");
    let behavior = st.oauth.behavior;
    if behavior == AuthBehavior::Deny {
        {
            let mut pairs = target.query_pairs_mut();
            pairs.append_pair("error", "access_denied");
            if let Some(s) = &state_param {
                pairs.append_pair("state", s);
            }
        }
        return redirect(target.as_str());
    }

    // The account: named by login_hint (created empty when new), else the first one.
    let account = match q.get("login_hint").filter(|s| !s.is_empty()) {
        Some(hint) => st.lib.ensure_account(hint),
        None if !st.lib.accounts.is_empty() => 0,
        None => st.lib.ensure_account("demo@example.com"),
    };
    let granted: Vec<&str> = scope
        .split_whitespace()
        .filter(|s| behavior != AuthBehavior::PartialScope || !is_photos_scope(s))
        .collect();
    let granted = granted.join(" ");
    let now = shared.now_ms(&st);
    let code = st.oauth.random("4/0A", 70);
    st.oauth.codes.insert(
        code.clone(),
        CodeGrant {
            account,
            client_id: client_id.clone(),
            redirect_uri: redirect_uri.clone(),
            challenge,
            scope: granted.clone(),
            issued_ms: now,
            used: false,
        },
    );
    let returned_state = match (behavior, &state_param) {
        (AuthBehavior::WrongState, Some(s)) => Some(format!("{s}-tampered")),
        (AuthBehavior::WrongState, None) => Some("unexpected-state".to_owned()),
        _ => state_param,
    };
    {
        let mut pairs = target.query_pairs_mut();
        if let Some(s) = &returned_state {
            pairs.append_pair("state", s);
        }
        pairs.append_pair("code", &code);
        pairs.append_pair("scope", &granted);
    }
    redirect(target.as_str())
}

fn redirect(location: &str) -> Response {
    let mut r = StatusCode::FOUND.into_response();
    r.headers_mut().insert(
        header::LOCATION,
        HeaderValue::from_str(location).expect("URL is a valid header value"),
    );
    r
}

fn token_error(status: StatusCode, error: &str, description: &str) -> Response {
    json_response(
        status,
        &json!({"error": error, "error_description": description}),
    )
}

/// Client credentials from the form or an HTTP Basic header.
fn client_credentials(
    headers: &HeaderMap,
    form: &BTreeMap<String, String>,
) -> (Option<String>, Option<String>) {
    if let Some(basic) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        && let Ok(raw) = STANDARD.decode(basic.trim())
        && let Ok(text) = String::from_utf8(raw)
        && let Some((id, secret)) = text.split_once(':')
    {
        let dec = |s: &str| {
            url::form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        return (Some(dec(id)), Some(dec(secret)));
    }
    (
        form.get("client_id").cloned(),
        form.get("client_secret").cloned(),
    )
}

/// `POST /token`.
pub(crate) async fn token(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut st = shared.lock();
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.split(';').next().is_some_and(|m| {
                m.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            })
        });
    let response = (|| {
        if !is_form {
            return Err(token_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Invalid request: the body must be application/x-www-form-urlencoded.",
            ));
        }
        let form = parse_pairs(&body);
        let Some(grant_type) = form.get("grant_type") else {
            return Err(token_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Missing required parameter: grant_type",
            ));
        };
        let (client_id, client_secret) = client_credentials(&headers, &form);
        let Some(client_id) = client_id.filter(|c| !c.is_empty()) else {
            return Err(token_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Could not determine client ID from request.",
            ));
        };
        if shared
            .cfg
            .client_id
            .as_ref()
            .is_some_and(|want| *want != client_id)
        {
            return Err(token_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "The OAuth client was not found.",
            ));
        }
        if let Some(want) = &shared.cfg.client_secret {
            match client_secret {
                None => {
                    return Err(token_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_request",
                        "client_secret is missing.",
                    ));
                }
                Some(s) if s != *want => {
                    return Err(token_error(
                        StatusCode::UNAUTHORIZED,
                        "invalid_client",
                        "Unauthorized",
                    ));
                }
                Some(_) => {}
            }
        }
        let now = shared.now_ms(&st);
        let lifetime_ms = duration_ms(shared.cfg.access_token_lifetime);
        let expires_in = shared.cfg.access_token_lifetime.as_secs();
        match grant_type.as_str() {
            "authorization_code" => {
                let Some(code) = form.get("code") else {
                    return Err(token_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_request",
                        "Missing required parameter: code",
                    ));
                };
                let Some(redirect_uri) = form.get("redirect_uri") else {
                    return Err(token_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_request",
                        "Missing parameter: redirect_uri",
                    ));
                };
                let bad = || token_error(StatusCode::BAD_REQUEST, "invalid_grant", "Bad Request");
                let Some(grant) = st.oauth.codes.get(code) else {
                    return Err(bad());
                };
                if grant.used
                    || now - grant.issued_ms > CODE_LIFETIME_MS
                    || grant.client_id != client_id
                    || grant.redirect_uri != *redirect_uri
                {
                    return Err(bad());
                }
                if let Some((challenge, method)) = &grant.challenge {
                    let Some(verifier) = form.get("code_verifier") else {
                        return Err(token_error(
                            StatusCode::BAD_REQUEST,
                            "invalid_grant",
                            "Missing code verifier.",
                        ));
                    };
                    let valid_format = (43..=128).contains(&verifier.len())
                        && verifier
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
                    let computed = if method == "S256" {
                        URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
                    } else {
                        verifier.clone()
                    };
                    if !valid_format || computed != *challenge {
                        return Err(bad());
                    }
                }
                let (account, scope) = (grant.account, grant.scope.clone());
                st.oauth.codes.get_mut(code).expect("present").used = true;
                let refresh = st.oauth.issue_refresh(account, &client_id, &scope, now);
                let access =
                    st.oauth
                        .issue_access(account, &scope, Some(refresh.clone()), now, lifetime_ms);
                st.stats.token_code_exchanges += 1;
                Ok(json_response(
                    StatusCode::OK,
                    &json!({
                        "access_token": access,
                        "expires_in": expires_in,
                        "refresh_token": refresh,
                        "scope": scope,
                        "token_type": "Bearer",
                    }),
                ))
            }
            "refresh_token" => {
                let Some(refresh) = form.get("refresh_token") else {
                    return Err(token_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_request",
                        "Missing required parameter: refresh_token",
                    ));
                };
                let revoked = || {
                    token_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_grant",
                        "Token has been expired or revoked.",
                    )
                };
                let testing_limit = shared.cfg.refresh_token_lifetime.map(duration_ms);
                let Some(grant) = st.oauth.refresh.get_mut(refresh) else {
                    return Err(revoked());
                };
                if grant.revoked
                    || now - grant.last_used_ms > INACTIVITY_LIMIT_MS
                    || testing_limit.is_some_and(|l| now - grant.issued_ms > l)
                {
                    return Err(revoked());
                }
                // Tokens minted by a test (no browser flow) work with whatever client the
                // program under test is configured with.
                if grant.client_id != client_id && grant.client_id != MINTED_CLIENT {
                    return Err(token_error(
                        StatusCode::UNAUTHORIZED,
                        "unauthorized_client",
                        "Unauthorized",
                    ));
                }
                grant.last_used_ms = now;
                let (account, scope) = (grant.account, grant.scope.clone());
                let access =
                    st.oauth
                        .issue_access(account, &scope, Some(refresh.clone()), now, lifetime_ms);
                st.stats.token_refreshes += 1;
                Ok(json_response(
                    StatusCode::OK,
                    &json!({
                        "access_token": access,
                        "expires_in": expires_in,
                        "scope": scope,
                        "token_type": "Bearer",
                    }),
                ))
            }
            other => Err(token_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                &format!("Invalid grant_type: {other}"),
            )),
        }
    })();
    match response {
        Ok(r) => r,
        Err(r) => {
            st.stats.token_errors += 1;
            r
        }
    }
}

/// `POST /revoke?token=…` (or `token` in a form body). Revoking an access token also revokes
/// its refresh token, as Google documents.
pub(crate) async fn revoke(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let mut params = parse_pairs(query.unwrap_or_default().as_bytes());
    if !params.contains_key("token") {
        params = parse_pairs(&body);
    }
    let Some(token) = params.get("token") else {
        return token_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Missing required parameter: token",
        );
    };
    let mut st = shared.lock();
    let oauth = &mut st.oauth;
    let family = if oauth.refresh.get(token).is_some_and(|g| !g.revoked) {
        Some(token.clone())
    } else if let Some(g) = oauth.access.get_mut(token).filter(|g| !g.revoked) {
        match g.refresh.clone() {
            Some(r) => Some(r),
            None => {
                g.revoked = true;
                None
            }
        }
    } else {
        return token_error(
            StatusCode::BAD_REQUEST,
            "invalid_token",
            "Token expired or revoked",
        );
    };
    if let Some(r) = family {
        oauth.revoke_refresh_family(&r);
    }
    st.stats.revocations += 1;
    json_response(StatusCode::OK, &json!({}))
}

pub(crate) fn duration_ms(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_rules() {
        for ok in [
            "http://127.0.0.1:5555/callback",
            "http://localhost:1/",
            "http://[::1]:8080/cb",
            "http://127.0.0.1/",
        ] {
            assert!(is_loopback_redirect(ok), "{ok}");
        }
        for bad in [
            "https://127.0.0.1:5555/",
            "http://example.com:80/",
            "urn:ietf:wg:oauth:2.0:oob",
            "http://127.0.0.2:80/",
            "http://10.0.0.1:80/",
            "not a url",
            "http://user@127.0.0.1:1/",
        ] {
            assert!(!is_loopback_redirect(bad), "{bad}");
        }
    }

    #[test]
    fn photos_scopes_are_recognised() {
        assert!(is_photos_scope(
            "https://www.googleapis.com/auth/photoslibrary.readonly.appcreateddata"
        ));
        assert!(!is_photos_scope("openid"));
    }
}
