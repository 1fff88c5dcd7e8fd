//! Integration tests of the fake Google service over real loopback HTTP.

mod control;
mod drive;
mod faults;
mod library;
mod media;
mod oauth;
mod picker;
mod program;

use std::time::Duration;

use photobak_testkit::fake_google::{FakeConfig, FakeGoogle, GenerateSpec, READONLY_SCOPE};
use reqwest::redirect::Policy;
use reqwest::{Client, StatusCode};
use serde_json::Value;

pub const ACCOUNT: &str = "alice@example.com";

pub fn client() -> Client {
    Client::builder()
        .redirect(Policy::none())
        .no_proxy()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client")
}

pub struct Env {
    pub fake: FakeGoogle,
    pub http: Client,
    pub e: String,
}

impl Env {
    pub fn new(cfg: FakeConfig) -> Env {
        let fake = FakeGoogle::start(cfg).expect("start fake");
        let e = fake.url();
        Env {
            fake,
            http: client(),
            e,
        }
    }

    /// A fake with a generated library for `ACCOUNT` and a valid access token.
    pub fn with_library(items: usize, albums: usize) -> (Env, String) {
        let env = Env::new(FakeConfig::default());
        env.fake.generate(
            ACCOUNT,
            &GenerateSpec {
                items,
                albums,
                seed: 7,
                ..GenerateSpec::default()
            },
        );
        let token = env.fake.mint_tokens(ACCOUNT, READONLY_SCOPE).access_token;
        (env, token)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.e, path)
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        let r = self
            .http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("send");
        let status = r.status();
        let text = r.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn post_json(&self, path: &str, token: &str, body: &Value) -> (StatusCode, Value) {
        let r = self
            .http
            .post(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("send");
        let status = r.status();
        let text = r.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// Downloads a URL fully (following one redirect), returning status and bytes.
    pub async fn fetch(&self, url: &str) -> (StatusCode, Vec<u8>) {
        let r = self.http.get(url).send().await.expect("send");
        let status = r.status();
        let bytes = r.bytes().await.expect("body").to_vec();
        (status, bytes)
    }
}

/// The Google error triple of a JSON error body.
pub fn google_error(v: &Value) -> (i64, &str, &str) {
    let e = &v["error"];
    (
        e["code"].as_i64().expect("code"),
        e["status"].as_str().expect("status"),
        e["message"].as_str().expect("message"),
    )
}

pub const UNAUTHENTICATED: &str = "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.";
