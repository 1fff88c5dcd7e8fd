//! OAuth 2.0 for installed apps: loopback redirect, PKCE S256, refresh.
//!
//! The flow Google documents for desktop clients: listen on 127.0.0.1 on a random free port,
//! send the user's browser to the consent page with a random `state` and a PKCE challenge, take
//! exactly one valid redirect, exchange the code. `access_type=offline&prompt=consent` makes
//! sure a refresh token comes back even on re-consent. The token (with its refresh token) is
//! stored in the index; the client secret never is (environment only, as in the original).
//!
//! Tokens and codes are never logged: errors carry Google's error codes and descriptions only.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::Digest;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::Endpoints;
use super::http::{Pacer, RetryPolicy, network_error, read_json, retry_delay};
use crate::error::{Error, Result};
use crate::index::{Index, now};

/// The OAuth client (a "Desktop app" client from the Google Cloud console).
#[derive(Debug, Clone)]
pub struct ClientCredentials {
    /// `GOOGLEPHOTOS_CLIENT_ID`.
    pub client_id: String,
    /// `GOOGLEPHOTOS_CLIENT_SECRET`.
    pub client_secret: String,
}

impl ClientCredentials {
    /// Reads `GOOGLEPHOTOS_CLIENT_ID` and `GOOGLEPHOTOS_CLIENT_SECRET`.
    ///
    /// # Errors
    /// When either is missing, with a message saying how to get them.
    pub fn from_env() -> Result<ClientCredentials> {
        let id = std::env::var("GOOGLEPHOTOS_CLIENT_ID").unwrap_or_default();
        let secret = std::env::var("GOOGLEPHOTOS_CLIENT_SECRET").unwrap_or_default();
        if id.is_empty() || secret.is_empty() {
            return Err(Error::Config(
                "GOOGLEPHOTOS_CLIENT_ID and GOOGLEPHOTOS_CLIENT_SECRET must be set to a Google OAuth \
                 client of type \"Desktop app\" (see the README, \"Google OAuth client\")"
                    .into(),
            ));
        }
        Ok(ClientCredentials {
            client_id: id,
            client_secret: secret,
        })
    }
}

/// A stored token. `Debug` hides the secrets.
#[derive(Clone, Serialize, Deserialize)]
pub struct Token {
    /// Bearer token for API calls.
    pub access_token: String,
    /// Long-lived token to get new access tokens.
    pub refresh_token: String,
    /// Unix time the access token expires.
    pub expires_at: i64,
    /// Scopes granted, space-separated.
    pub scope: String,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token")
            .field("expires_at", &self.expires_at)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    expires_in: Option<i64>,
    #[serde(default)]
    scope: Option<String>,
}

#[derive(Deserialize)]
struct TokenError {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

/// What the interactive flow needs from its caller.
pub struct AuthorizeRequest<'a> {
    /// The account address, sent as `login_hint`.
    pub address: &'a str,
    /// Scopes to ask for.
    pub scopes: &'a [&'a str],
    /// Called with the authorisation URL before waiting; the caller prints it.
    pub show_url: &'a (dyn Fn(&str) + Send + Sync),
    /// Open the URL in a browser (`$BROWSER`, else the desktop's opener).
    pub open_browser: bool,
    /// How long to wait for the redirect.
    pub timeout: Duration,
    /// Ends the wait for the browser at once (Ctrl-C, SIGTERM): a person who gives up must not
    /// have to wait out the timeout.
    pub cancel: &'a tokio_util::sync::CancellationToken,
}

fn random_token(bytes: usize) -> Result<String> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| Error::Invalid(format!("random: {e}")))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf))
}

/// PKCE S256 challenge of a verifier.
pub fn pkce_challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()))
}

/// Runs the whole installed-app flow for one account and returns its token.
///
/// # Errors
/// Denial in the browser, a wrong `state`, a timeout, a token-endpoint error, or a grant that
/// lacks the scopes photobak needs.
pub async fn authorize(
    http: &reqwest::Client,
    endpoints: &Endpoints,
    client: &ClientCredentials,
    req: AuthorizeRequest<'_>,
) -> Result<Token> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| Error::io("listening on 127.0.0.1 for the OAuth redirect", e))?;
    let port = listener
        .local_addr()
        .map_err(|e| Error::io("reading the listener's port", e))?
        .port();
    let redirect_uri = format!("http://127.0.0.1:{port}/oauth2callback");
    let state = random_token(24)?;
    let verifier = random_token(48)?;
    let mut url = url::Url::parse(&endpoints.authorize)
        .map_err(|e| Error::Invalid(format!("authorization endpoint: {e}")))?;
    url.query_pairs_mut()
        .append_pair("client_id", &client.client_id)
        .append_pair("redirect_uri", &redirect_uri)
        .append_pair("response_type", "code")
        .append_pair("scope", &req.scopes.join(" "))
        .append_pair("code_challenge", &pkce_challenge(&verifier))
        .append_pair("code_challenge_method", "S256")
        .append_pair("state", &state)
        .append_pair("access_type", "offline")
        .append_pair("prompt", "consent")
        .append_pair("login_hint", req.address);
    (req.show_url)(url.as_str());
    if req.open_browser {
        open_in_browser(url.as_str());
    }
    let code = tokio::select! {
        r = tokio::time::timeout(req.timeout, wait_for_redirect(&listener, &state)) => {
            r.map_err(|_| {
                Error::Invalid(format!(
                    "no answer from the browser within {}s; open the URL above and approve access",
                    req.timeout.as_secs()
                ))
            })??
        }
        () = req.cancel.cancelled() => return Err(Error::Cancelled),
    };
    drop(listener);
    let answer = token_request(
        http,
        endpoints,
        req.address,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &redirect_uri),
            ("client_id", &client.client_id),
            ("client_secret", &client.client_secret),
            ("code_verifier", &verifier),
        ],
    )
    .await?;
    let scope = answer.scope.clone().unwrap_or_default();
    let granted: Vec<&str> = scope.split_whitespace().collect();
    let missing: Vec<&&str> = req.scopes.iter().filter(|s| !granted.contains(s)).collect();
    if !missing.is_empty() {
        return Err(Error::Credentials {
            account: req.address.to_string(),
            message: format!(
                "Google granted only [{}]; photobak needs [{}]: run auth again and tick every \
                 permission it asks for on the consent page",
                granted.join(" "),
                missing.iter().map(|s| **s).collect::<Vec<_>>().join(" ")
            ),
        });
    }
    let refresh_token = answer
        .refresh_token
        .clone()
        .ok_or_else(|| Error::Credentials {
            account: req.address.to_string(),
            message: "Google returned no refresh token".into(),
        })?;
    Ok(Token {
        access_token: answer.access_token,
        refresh_token,
        expires_at: now() + answer.expires_in.unwrap_or(3599),
        scope,
    })
}

/// Opens `url` with `$BROWSER` (split on whitespace, so `BROWSER='curl -sL'` works) or the
/// desktop's opener. Failures are ignored: the URL has been shown to the user anyway.
pub fn open_in_browser(url: &str) {
    let command = std::env::var("BROWSER")
        .ok()
        .filter(|b| !b.trim().is_empty());
    let (program, args): (String, Vec<String>) = match command {
        Some(b) => {
            let mut parts = b.split_whitespace().map(str::to_string);
            let program = parts.next().unwrap_or_default();
            (program, parts.collect())
        }
        None if cfg!(target_os = "macos") => ("open".into(), vec![]),
        None if cfg!(windows) => (
            "cmd".into(),
            vec!["/C".into(), "start".into(), String::new()],
        ),
        None => ("xdg-open".into(), vec![]),
    };
    let _ = std::process::Command::new(program)
        .args(args)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
}

/// Accepts connections until one carries the OAuth redirect; answers each with a short page.
async fn wait_for_redirect(listener: &TcpListener, state: &str) -> Result<String> {
    loop {
        let (mut sock, _) = listener
            .accept()
            .await
            .map_err(|e| Error::io("accepting the OAuth redirect", e))?;
        let mut buf = vec![0u8; 8192];
        let mut len = 0;
        while len < buf.len() {
            let n = sock.read(&mut buf[len..]).await.unwrap_or(0);
            if n == 0 {
                break;
            }
            len += n;
            if buf[..len].windows(4).any(|w| w == b"\r\n\r\n") {
                break;
            }
        }
        let head = String::from_utf8_lossy(&buf[..len]);
        let target = head
            .lines()
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .unwrap_or("/")
            .to_string();
        let parsed = url::Url::parse(&format!("http://127.0.0.1{target}")).ok();
        let Some(parsed) = parsed.filter(|u| u.path() == "/oauth2callback") else {
            respond(&mut sock, 404, "Not found.").await;
            continue;
        };
        let q = |k: &str| {
            parsed
                .query_pairs()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.into_owned())
        };
        if q("state").as_deref() != Some(state) {
            respond(
                &mut sock,
                400,
                "photobak: the answer does not match this sign-in (state mismatch). Start again.",
            )
            .await;
            return Err(Error::Invalid(
                "the OAuth redirect carried a different state than photobak sent (possible forgery, \
                 or an answer to an older sign-in); run auth again"
                    .into(),
            ));
        }
        if let Some(err) = q("error") {
            respond(
                &mut sock,
                200,
                "photobak: access was not granted. You can close this tab.",
            )
            .await;
            return Err(Error::Invalid(if err == "access_denied" {
                "access was denied in the browser (error=access_denied); run auth again and allow \
                 access to Google Photos"
                    .into()
            } else {
                format!("Google refused the authorisation (error={err})")
            }));
        }
        match q("code") {
            Some(code) => {
                respond(
                    &mut sock,
                    200,
                    "photobak is authorised. You can close this tab.",
                )
                .await;
                return Ok(code);
            }
            None => respond(&mut sock, 400, "photobak: the redirect carried no code.").await,
        }
    }
}

async fn respond(sock: &mut tokio::net::TcpStream, status: u16, text: &str) {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        _ => "Not Found",
    };
    let body = format!("<!doctype html><meta charset=utf-8><title>photobak</title><p>{text}</p>\n");
    let resp = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = sock.write_all(resp.as_bytes()).await;
    let _ = sock.shutdown().await;
}

async fn token_request(
    http: &reqwest::Client,
    endpoints: &Endpoints,
    address: &str,
    form: &[(&str, &str)],
) -> Result<TokenAnswer> {
    let resp = http
        .post(&endpoints.token)
        .form(form)
        .send()
        .await
        .map_err(|e| super::http::network_error("token endpoint", &e))?;
    let status = resp.status();
    let body = resp
        .bytes()
        .await
        .map_err(|e| super::http::network_error("token endpoint", &e))?;
    if status.is_success() {
        return serde_json::from_slice(&body)
            .map_err(|e| Error::Invalid(format!("token endpoint: unexpected answer ({e})")));
    }
    if status.is_server_error() {
        return Err(Error::Remote {
            what: "token endpoint".into(),
            status: status.as_u16(),
            message: String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
            retry_after: None,
        });
    }
    let err: TokenError = serde_json::from_slice(&body).unwrap_or(TokenError {
        error: format!("HTTP {status}"),
        error_description: None,
    });
    let desc = err.error_description.unwrap_or_default();
    let message = match err.error.as_str() {
        "invalid_grant" => format!(
            "Google refused the stored authorisation (invalid_grant: {desc}); run `photobak auth \
             --googlephotos {address}`. Google expires refresh tokens after 7 days for OAuth apps \
             left in \"Testing\" publishing status, and after 6 months unused"
        ),
        "invalid_client" => format!(
            "Google does not know this OAuth client (invalid_client: {desc}); check \
             GOOGLEPHOTOS_CLIENT_ID and GOOGLEPHOTOS_CLIENT_SECRET"
        ),
        other => format!("token endpoint refused the request ({other}: {desc})"),
    };
    Err(Error::Credentials {
        account: address.to_string(),
        message,
    })
}

/// An account's live token: refreshed before expiry and once after a 401, persisted in the index
/// after each refresh.
pub struct TokenSource {
    address: String,
    account_id: i64,
    http: reqwest::Client,
    endpoints: Endpoints,
    client: ClientCredentials,
    index: Arc<dyn TokenStore>,
    token: tokio::sync::Mutex<Token>,
}

/// Where refreshed tokens are saved.
pub trait TokenStore: Send + Sync {
    /// Saves the token JSON of an account.
    fn save(&self, account_id: i64, json: &str) -> Result<()>;
}

impl TokenStore for Index {
    fn save(&self, account_id: i64, json: &str) -> Result<()> {
        self.set_credentials(account_id, Some(json))
    }
}

/// Refresh this long before the recorded expiry.
const REFRESH_MARGIN: i64 = 120;

impl TokenSource {
    /// Wraps a stored token.
    pub fn new(
        address: &str,
        account_id: i64,
        token: Token,
        http: reqwest::Client,
        endpoints: Endpoints,
        client: ClientCredentials,
        store: Arc<dyn TokenStore>,
    ) -> TokenSource {
        TokenSource {
            address: address.to_string(),
            account_id,
            http,
            endpoints,
            client,
            index: store,
            token: tokio::sync::Mutex::new(token),
        }
    }

    /// The account address.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// A valid access token, refreshing first when it is about to expire.
    pub async fn bearer(&self) -> Result<String> {
        let mut t = self.token.lock().await;
        if t.expires_at - REFRESH_MARGIN <= now() {
            self.refresh_locked(&mut t).await?;
        }
        Ok(t.access_token.clone())
    }

    /// Called after a 401 with the token that was refused: refreshes unless another task
    /// already did.
    pub async fn invalidate(&self, refused: &str) -> Result<()> {
        let mut t = self.token.lock().await;
        if t.access_token == refused {
            self.refresh_locked(&mut t).await?;
        }
        Ok(())
    }

    /// Sends a JSON API request with this account's bearer token, retrying per Google's rules
    /// ([`super::http`]) and refreshing the token once on 401. Every API client of the account
    /// (Library, Picker) calls through here.
    ///
    /// # Errors
    /// The typed error of the answer ([`super::http::error_from_response`]) once retries are
    /// spent or when it must not be retried; [`Error::Credentials`] when a freshly refreshed
    /// token is refused.
    pub async fn call<T: serde::de::DeserializeOwned>(
        &self,
        pacer: &Pacer,
        policy: &RetryPolicy,
        what: &str,
        build: impl Fn(&str) -> reqwest::RequestBuilder,
    ) -> Result<T> {
        let mut attempt = 0;
        let mut refreshed = false;
        loop {
            attempt += 1;
            pacer.wait().await?;
            let bearer = self.bearer().await?;
            let result = match build(&bearer).send().await {
                Ok(resp) if resp.status() == reqwest::StatusCode::UNAUTHORIZED && !refreshed => {
                    refreshed = true;
                    self.invalidate(&bearer).await?;
                    attempt -= 1;
                    continue;
                }
                Ok(resp) if resp.status() == reqwest::StatusCode::UNAUTHORIZED => {
                    Err(Error::Credentials {
                        account: self.address.clone(),
                        message: format!("{what}: the API refused a freshly refreshed token (401)"),
                    })
                }
                Ok(resp) => read_json::<T>(what, resp).await,
                Err(e) => Err(network_error(what, &e)),
            };
            match result {
                Ok(v) => return Ok(v),
                Err(e) => match retry_delay(policy, &e, attempt, pacer) {
                    Some(d) => {
                        tracing::debug!("{what}: {e}; retrying in {d:?}");
                        pacer.sleep(d).await?;
                    }
                    None => return Err(e),
                },
            }
        }
    }

    async fn refresh_locked(&self, t: &mut Token) -> Result<()> {
        let answer = token_request(
            &self.http,
            &self.endpoints,
            &self.address,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &t.refresh_token),
                ("client_id", &self.client.client_id),
                ("client_secret", &self.client.client_secret),
            ],
        )
        .await?;
        t.access_token = answer.access_token;
        t.expires_at = now() + answer.expires_in.unwrap_or(3599);
        if let Some(r) = answer.refresh_token {
            t.refresh_token = r;
        }
        if let Some(s) = answer.scope {
            t.scope = s;
        }
        let json = serde_json::to_string(&*t).expect("token serialises");
        // Saved before the new token is used, so a refresh token Google rotated is never only
        // in memory; on a blocking thread, as SQLite may wait for the index's other writers.
        let (store, account_id) = (self.index.clone(), self.account_id);
        crate::task::blocking(move || store.save(account_id, &json)).await
    }
}

/// Revokes a token at Google (used when an account is removed).
pub async fn revoke(http: &reqwest::Client, endpoints: &Endpoints, token: &str) -> Result<()> {
    let resp = http
        .post(&endpoints.revoke)
        .form(&[("token", token)])
        .send()
        .await
        .map_err(|e| super::http::network_error("revoke", &e))?;
    if resp.status().is_success() {
        Ok(())
    } else {
        Err(super::http::error_from_response("revoking the token", resp).await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_is_base64url_sha256_without_padding() {
        // Expected value computed independently with Python's hashlib and base64.
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mJ92IZcbkqhHGNDd5qZExaL6tSZsl0"),
            "kvvee1AiSJkHf3lp2gOK0MSy-GzQ3bR_PK2PotcfsmQ"
        );
    }

    #[test]
    fn debug_hides_secrets() {
        let t = Token {
            access_token: "ya29.secret".into(),
            refresh_token: "1//secret".into(),
            expires_at: 1,
            scope: "s".into(),
        };
        assert!(!format!("{t:?}").contains("secret"));
    }
}
