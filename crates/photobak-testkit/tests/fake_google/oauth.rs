//! OAuth: authorization redirect, code exchange with PKCE, refresh, revocation, errors.

use std::collections::HashMap;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use photobak_testkit::fake_google::{AuthBehavior, FakeConfig, READONLY_SCOPE};
use reqwest::StatusCode;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::{ACCOUNT, Env};

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-extra-chars";
const REDIRECT: &str = "http://127.0.0.1:45678/callback";

fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Calls the authorization endpoint; returns the status and the redirect's query parameters.
async fn authorize(
    env: &Env,
    redirect: &str,
    extra: &[(&str, &str)],
) -> (StatusCode, HashMap<String, String>, String) {
    let ch = challenge(VERIFIER);
    let scope = format!("openid {READONLY_SCOPE}");
    let mut q = vec![
        ("client_id", "cid.apps.googleusercontent.com"),
        ("redirect_uri", redirect),
        ("response_type", "code"),
        ("scope", scope.as_str()),
        ("code_challenge", ch.as_str()),
        ("code_challenge_method", "S256"),
        ("state", "st4te"),
        ("access_type", "offline"),
        ("prompt", "consent"),
        ("login_hint", ACCOUNT),
    ];
    q.extend_from_slice(extra);
    let r = env
        .http
        .get(env.url("/o/oauth2/v2/auth"))
        .query(&q)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let params = r
        .headers()
        .get("location")
        .map(|l| {
            let url = url::Url::parse(l.to_str().unwrap()).unwrap();
            assert_eq!(&url[..url::Position::AfterPath], redirect);
            url.query_pairs().into_owned().collect()
        })
        .unwrap_or_default();
    let body = r.text().await.unwrap();
    (status, params, body)
}

async fn token(env: &Env, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let r = env
        .http
        .post(env.url("/token"))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap())
}

async fn exchange(env: &Env, code: &str, verifier: &str) -> (StatusCode, Value) {
    token(
        env,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("client_id", "cid.apps.googleusercontent.com"),
            ("client_secret", "sec"),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier),
        ],
    )
    .await
}

async fn refresh(env: &Env, refresh_token: &str) -> (StatusCode, Value) {
    token(
        env,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", "cid.apps.googleusercontent.com"),
            ("client_secret", "sec"),
        ],
    )
    .await
}

fn assert_token_error(r: &(StatusCode, Value), status: StatusCode, error: &str, description: &str) {
    assert_eq!(r.0, status, "{}", r.1);
    assert_eq!(r.1["error"], error, "{}", r.1);
    assert_eq!(r.1["error_description"], description, "{}", r.1);
}

#[tokio::test]
async fn full_code_flow_with_pkce_refresh_and_revocation() {
    let env = Env::new(FakeConfig::default());
    let (status, params, _) = authorize(&env, REDIRECT, &[]).await;
    assert_eq!(status, StatusCode::FOUND);
    assert_eq!(params["state"], "st4te");
    let code = params["code"].clone();
    assert!(code.starts_with("4/0A"));

    let q = env.fake.stats().last_authorize_query.unwrap();
    assert_eq!(q["access_type"], "offline");
    assert_eq!(q["prompt"], "consent");
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["state"], "st4te");

    let (status, body) = exchange(&env, &code, VERIFIER).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let access = body["access_token"].as_str().unwrap().to_owned();
    let refresh_token = body["refresh_token"].as_str().unwrap().to_owned();
    assert!(access.starts_with("ya29."));
    assert!(refresh_token.starts_with("1//"));
    assert_eq!(body["expires_in"], 3599);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], format!("openid {READONLY_SCOPE}"));

    // The login_hint account was created and the token works for it.
    let (s, v) = env.get("/photoslibrary/v1/mediaItems", &access).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v, serde_json::json!({}));

    // Codes are single use.
    assert_token_error(
        &exchange(&env, &code, VERIFIER).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        "Bad Request",
    );

    // Refresh: new access token, no new refresh token.
    let (status, body) = refresh(&env, &refresh_token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.get("refresh_token").is_none());
    let access2 = body["access_token"].as_str().unwrap().to_owned();
    assert_ne!(access2, access);
    assert_eq!(body["expires_in"], 3599);
    let stats = env.fake.stats();
    assert_eq!(stats.token_code_exchanges, 1);
    assert_eq!(stats.token_refreshes, 1);

    // Revocation by the user: refresh fails with invalid_grant, access tokens die too.
    env.fake.revoke_refresh_tokens(ACCOUNT);
    assert_token_error(
        &refresh(&env, &refresh_token).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        "Token has been expired or revoked.",
    );
    let (s, _) = env.get("/photoslibrary/v1/mediaItems", &access2).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn wrong_or_missing_verifier_and_redirect_mismatch() {
    let env = Env::new(FakeConfig::default());
    let (_, p, _) = authorize(&env, REDIRECT, &[]).await;
    assert_token_error(
        &exchange(
            &env,
            &p["code"],
            "a-wrong-verifier-that-is-long-enough-to-be-valid-0123",
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        "Bad Request",
    );
    let r = token(
        &env,
        &[
            ("grant_type", "authorization_code"),
            ("code", &p["code"]),
            ("client_id", "cid.apps.googleusercontent.com"),
            ("redirect_uri", REDIRECT),
        ],
    )
    .await;
    assert_token_error(
        &r,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        "Missing code verifier.",
    );
    let r = token(
        &env,
        &[
            ("grant_type", "authorization_code"),
            ("code", &p["code"]),
            ("client_id", "cid.apps.googleusercontent.com"),
            ("redirect_uri", "http://127.0.0.1:45679/callback"),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_token_error(&r, StatusCode::BAD_REQUEST, "invalid_grant", "Bad Request");
    // The failed attempts did not consume the code.
    assert_eq!(exchange(&env, &p["code"], VERIFIER).await.0, StatusCode::OK);
    // Codes expire after 10 minutes.
    let (_, p, _) = authorize(&env, REDIRECT, &[]).await;
    env.fake.advance_clock(Duration::from_secs(601));
    assert_token_error(
        &exchange(&env, &p["code"], VERIFIER).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        "Bad Request",
    );
    assert!(env.fake.stats().token_errors >= 4);
}

#[tokio::test]
async fn token_endpoint_request_errors() {
    let env = Env::new(FakeConfig::default());
    // JSON instead of a form.
    let r = env
        .http
        .post(env.url("/token"))
        .json(&serde_json::json!({"grant_type": "refresh_token", "refresh_token": "x", "client_id": "c"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_request");
    let r = token(&env, &[("grant_type", "refresh_token"), ("client_id", "c")]).await;
    assert_eq!(
        (r.0, r.1["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );
    let r = token(
        &env,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", "c"),
            ("redirect_uri", REDIRECT),
        ],
    )
    .await;
    assert_eq!(r.1["error"], "invalid_request");
    let r = token(&env, &[("client_id", "c")]).await;
    assert_eq!(r.1["error"], "invalid_request");
    let r = token(&env, &[("grant_type", "password"), ("client_id", "c")]).await;
    assert_eq!(r.1["error"], "unsupported_grant_type");
    let r = refresh(&env, "1//unknown").await;
    assert_token_error(
        &r,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        "Token has been expired or revoked.",
    );
}

#[tokio::test]
async fn configured_client_credentials_are_enforced() {
    let env = Env::new(FakeConfig {
        client_id: Some("cid.apps.googleusercontent.com".into()),
        client_secret: Some("sec".into()),
        ..FakeConfig::default()
    });
    let (_, p, _) = authorize(&env, REDIRECT, &[]).await;
    let base = [
        ("grant_type", "authorization_code"),
        ("code", p["code"].as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    let mut wrong_secret = base.to_vec();
    wrong_secret.extend([
        ("client_id", "cid.apps.googleusercontent.com"),
        ("client_secret", "nope"),
    ]);
    assert_token_error(
        &token(&env, &wrong_secret).await,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        "Unauthorized",
    );
    let mut wrong_id = base.to_vec();
    wrong_id.extend([("client_id", "other"), ("client_secret", "sec")]);
    assert_eq!(token(&env, &wrong_id).await.1["error"], "invalid_client");
    let mut missing_secret = base.to_vec();
    missing_secret.push(("client_id", "cid.apps.googleusercontent.com"));
    assert_eq!(
        token(&env, &missing_secret).await.1["error"],
        "invalid_request"
    );
    // HTTP Basic client authentication works as well as form fields.
    let r = env
        .http
        .post(env.url("/token"))
        .basic_auth("cid.apps.googleusercontent.com", Some("sec"))
        .form(&base)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // The authorization endpoint rejects an unknown client.
    let r = env
        .http
        .get(env.url("/o/oauth2/v2/auth"))
        .query(&[
            ("client_id", "other"),
            ("redirect_uri", REDIRECT),
            ("response_type", "code"),
            ("scope", "openid"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.text().await.unwrap().contains("invalid_client"));
}

#[tokio::test]
async fn non_loopback_redirects_are_rejected() {
    let env = Env::new(FakeConfig::default());
    for uri in [
        "https://example.com/cb",
        "urn:ietf:wg:oauth:2.0:oob",
        "http://192.168.1.2:80/cb",
    ] {
        let (status, params, body) = authorize(&env, uri, &[]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
        assert!(params.is_empty());
        assert!(body.contains("invalid_request"), "{body}");
    }
    for uri in ["http://localhost:5000/cb", "http://[::1]:5000/"] {
        let (status, ..) = authorize(&env, uri, &[]).await;
        assert_eq!(status, StatusCode::FOUND, "{uri}");
    }
}

#[tokio::test]
async fn auth_behaviors() {
    let env = Env::new(FakeConfig::default());
    env.fake.set_auth_behavior(AuthBehavior::Deny);
    let (status, p, _) = authorize(&env, REDIRECT, &[]).await;
    assert_eq!(status, StatusCode::FOUND);
    assert_eq!(p["error"], "access_denied");
    assert_eq!(p["state"], "st4te");
    assert!(!p.contains_key("code"));

    env.fake.set_auth_behavior(AuthBehavior::WrongState);
    let (_, p, _) = authorize(&env, REDIRECT, &[]).await;
    assert_ne!(p["state"], "st4te");
    assert!(p.contains_key("code"));

    env.fake.set_auth_behavior(AuthBehavior::PartialScope);
    let (_, p, _) = authorize(&env, REDIRECT, &[]).await;
    let (status, body) = exchange(&env, &p["code"], VERIFIER).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["scope"], "openid");
    let (s, v) = env
        .get(
            "/photoslibrary/v1/mediaItems",
            body["access_token"].as_str().unwrap(),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(
        crate::google_error(&v),
        (
            403,
            "PERMISSION_DENIED",
            "Request had insufficient authentication scopes."
        )
    );

    env.fake.set_auth_behavior(AuthBehavior::Approve);
    let (_, p, _) = authorize(&env, REDIRECT, &[]).await;
    assert_eq!(p["state"], "st4te");
}

#[tokio::test]
async fn expiry_revoke_endpoint_and_testing_lifetime() {
    let env = Env::new(FakeConfig {
        access_token_lifetime: Duration::from_secs(100),
        refresh_token_lifetime: Some(Duration::from_secs(7 * 24 * 3600)),
        ..FakeConfig::default()
    });
    let (_, p, _) = authorize(&env, REDIRECT, &[]).await;
    let (_, body) = exchange(&env, &p["code"], VERIFIER).await;
    assert_eq!(body["expires_in"], 100);
    let access = body["access_token"].as_str().unwrap().to_owned();
    let rt = body["refresh_token"].as_str().unwrap().to_owned();

    env.fake.expire_access_tokens();
    let (s, v) = env.get("/photoslibrary/v1/albums", &access).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(v["error"]["message"], crate::UNAUTHENTICATED);
    let (_, b) = refresh(&env, &rt).await;
    let access = b["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        env.get("/photoslibrary/v1/albums", &access).await.0,
        StatusCode::OK
    );
    env.fake.advance_clock(Duration::from_secs(101));
    assert_eq!(
        env.get("/photoslibrary/v1/albums", &access).await.0,
        StatusCode::UNAUTHORIZED
    );

    // "Testing" apps: refresh tokens die after 7 days.
    env.fake.advance_clock(Duration::from_secs(7 * 24 * 3600));
    assert_token_error(
        &refresh(&env, &rt).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        "Token has been expired or revoked.",
    );

    // The /revoke endpoint, with the token in the query or in a form.
    let pair = env.fake.mint_tokens(crate::ACCOUNT, READONLY_SCOPE);
    let r = env
        .http
        .post(env.url("/revoke"))
        .query(&[("token", pair.refresh_token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        env.get("/photoslibrary/v1/albums", &pair.access_token)
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    let pair = env.fake.mint_tokens(crate::ACCOUNT, READONLY_SCOPE);
    let r = env
        .http
        .post(env.url("/revoke"))
        .form(&[("token", pair.access_token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // Revoking the access token revoked its refresh token as well.
    assert_eq!(
        refresh(&env, &pair.refresh_token).await.1["error"],
        "invalid_grant"
    );
    let r = env
        .http
        .post(env.url("/revoke"))
        .query(&[("token", "nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(env.fake.stats().revocations, 2);
}

#[tokio::test]
async fn picker_scope_is_granted_when_requested() {
    use photobak_testkit::fake_google::PICKER_SCOPE;
    let env = Env::new(FakeConfig::default());
    let scope = format!("openid {PICKER_SCOPE}");
    let (status, params, _) = authorize(&env, REDIRECT, &[("scope", scope.as_str())]).await;
    assert_eq!(status, StatusCode::FOUND);
    assert_eq!(params["scope"], scope);
    let (status, body) = exchange(&env, &params["code"], VERIFIER).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["scope"], scope);
    let access = body["access_token"].as_str().unwrap();
    let (s, v) = env
        .post_json("/photospicker/v1/sessions", access, &serde_json::json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");

    // A partial grant drops the picker scope like the Library ones.
    env.fake.set_auth_behavior(AuthBehavior::PartialScope);
    let (_, params, _) = authorize(&env, REDIRECT, &[("scope", scope.as_str())]).await;
    assert_eq!(params["scope"], "openid");
}
