//! Every fault switch observed at least once; quotas exhaust and reset.

use std::time::{Duration, Instant};

use photobak_testkit::fake_google::{Content, Faults, NewItem, PagedListing, Sample};
use reqwest::StatusCode;
use serde_json::Value;

use crate::{ACCOUNT, Env, google_error};

const DAILY: &str = "Quota exceeded for quota metric 'All requests' and limit 'All requests per day' of service 'photoslibrary.googleapis.com' for consumer 'project_number:123456789012'.";

#[tokio::test]
async fn api_5xx_and_429_until_budget_is_spent() {
    let (env, token) = Env::with_library(5, 1);
    env.fake.set_faults(Faults {
        api_5xx_rate: 1.0,
        max_faults: Some(3),
        ..Faults::default()
    });
    for _ in 0..3 {
        let (s, v) = env.get("/photoslibrary/v1/mediaItems", &token).await;
        assert!(
            s == StatusCode::SERVICE_UNAVAILABLE || s == StatusCode::INTERNAL_SERVER_ERROR,
            "{s}"
        );
        let (code, status, _) = google_error(&v);
        assert_eq!(code, i64::from(s.as_u16()));
        assert!(status == "UNAVAILABLE" || status == "INTERNAL");
    }
    assert_eq!(
        env.get("/photoslibrary/v1/mediaItems", &token).await.0,
        StatusCode::OK
    );
    assert_eq!(env.fake.stats().faults("api_5xx"), 3);

    env.fake.set_faults(Faults {
        api_429_rate: 1.0,
        retry_after_secs: Some(7),
        max_faults: Some(1),
        ..Faults::default()
    });
    let r = env
        .http
        .get(env.url("/photoslibrary/v1/albums"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers()["retry-after"], "7");
    let v: Value = r.json().await.unwrap();
    assert_eq!(google_error(&v).1, "RESOURCE_EXHAUSTED");
    assert_eq!(
        env.get("/photoslibrary/v1/albums", &token).await.0,
        StatusCode::OK
    );
    assert_eq!(env.fake.stats().faults("api_429"), 1);
}

#[tokio::test]
async fn faults_are_reproducible() {
    async fn pattern() -> Vec<u16> {
        let (env, token) = Env::with_library(3, 0);
        env.fake.set_faults(Faults {
            api_5xx_rate: 0.5,
            ..Faults::default()
        });
        let mut out = Vec::new();
        for _ in 0..30 {
            out.push(
                env.get("/photoslibrary/v1/mediaItems", &token)
                    .await
                    .0
                    .as_u16(),
            );
        }
        out
    }
    let a = pattern().await;
    assert_eq!(a, pattern().await);
    assert!(a.contains(&200) && a.iter().any(|s| *s >= 500));
}

async fn media_url(env: &Env, token: &str, size: u64) -> (String, String) {
    let id = env.fake.add_item(
        ACCOUNT,
        NewItem::photo("m.jpg").content(Content::jpeg(Sample::NikonD70, size, size)),
    );
    let (_, v) = env
        .get(&format!("/photoslibrary/v1/mediaItems/{id}"), token)
        .await;
    (format!("{}=d", v["baseUrl"].as_str().unwrap()), id)
}

#[tokio::test]
async fn media_status_faults() {
    let (env, token) = Env::with_library(0, 0);
    let (url, _) = media_url(&env, &token, 50_000).await;
    env.fake.set_faults(Faults {
        media_5xx_rate: 1.0,
        max_faults: Some(1),
        ..Faults::default()
    });
    let (s, _) = env.fetch(&url).await;
    assert!(s.is_server_error());
    assert_eq!(env.fetch(&url).await.0, StatusCode::OK);
    env.fake.set_faults(Faults {
        media_429_rate: 1.0,
        retry_after_secs: Some(2),
        max_faults: Some(1),
        ..Faults::default()
    });
    let r = env.http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers()["retry-after"], "2");
    let stats = env.fake.stats();
    assert_eq!(stats.faults("media_5xx"), 1);
    assert_eq!(stats.faults("media_429"), 1);
}

/// Reads a body to the end; returns bytes received and whether it ended in an error.
async fn read_body(r: reqwest::Response) -> (usize, bool) {
    let mut r = r;
    let mut n = 0;
    loop {
        match r.chunk().await {
            Ok(Some(c)) => n += c.len(),
            Ok(None) => return (n, false),
            Err(_) => return (n, true),
        }
    }
}

#[tokio::test]
async fn reset_and_truncate_cut_bodies() {
    let (env, token) = Env::with_library(0, 0);
    let (url, _) = media_url(&env, &token, 1_000_000).await;
    for (faults, kind) in [
        (
            Faults {
                reset_rate: 1.0,
                max_faults: Some(1),
                ..Faults::default()
            },
            "reset",
        ),
        (
            Faults {
                truncate_rate: 1.0,
                max_faults: Some(1),
                ..Faults::default()
            },
            "truncate",
        ),
    ] {
        env.fake.set_faults(faults);
        let r = env.http.get(&url).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(
            r.headers()["content-length"],
            "1000000",
            "length promises everything"
        );
        let (n, failed) = read_body(r).await;
        assert!(failed, "{kind}: body must end in an error");
        assert!((400_000..1_000_000).contains(&n), "{kind}: got {n} bytes");
        assert_eq!(env.fake.stats().faults(kind), 1);
        // Budget spent: the next download is whole.
        let (n, failed) = read_body(env.http.get(&url).send().await.unwrap()).await;
        assert_eq!((n, failed), (1_000_000, false));
    }
}

#[tokio::test]
async fn slow_bodies() {
    let (env, token) = Env::with_library(0, 0);
    let (url, _) = media_url(&env, &token, 64 * 1024 * 4).await;
    env.fake.set_faults(Faults {
        slow_body_ms_per_chunk: 60,
        ..Faults::default()
    });
    let t = Instant::now();
    let (s, b) = env.fetch(&url).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b.len(), 64 * 1024 * 4);
    assert!(
        t.elapsed() >= Duration::from_millis(230),
        "{:?}",
        t.elapsed()
    );
}

#[tokio::test]
async fn short_pages_still_list_everything() {
    let (env, token) = Env::with_library(80, 0);
    env.fake.set_faults(Faults {
        short_pages: true,
        ..Faults::default()
    });
    let mut ids = Vec::new();
    let mut lens = Vec::new();
    let mut tokens = Vec::new();
    let mut page: Option<String> = None;
    loop {
        let path = match &page {
            Some(t) => format!("/photoslibrary/v1/mediaItems?pageSize=10&pageToken={t}"),
            None => "/photoslibrary/v1/mediaItems?pageSize=10".to_owned(),
        };
        let (s, v) = env.get(&path, &token).await;
        assert_eq!(s, StatusCode::OK);
        let items = v["mediaItems"].as_array().cloned().unwrap_or_default();
        lens.push(items.len());
        ids.extend(items.iter().map(|i| i["id"].as_str().unwrap().to_owned()));
        match v["nextPageToken"].as_str() {
            Some(t) => {
                tokens.push(t.to_owned());
                page = Some(t.to_owned());
            }
            None => break,
        }
    }
    let want: Vec<String> = env.fake.library().accounts[0]
        .items
        .iter()
        .map(|i| i.id.clone())
        .collect();
    assert_eq!(ids, want);
    assert!(lens.iter().any(|l| *l < 10), "{lens:?}");
    assert!(lens.contains(&0), "an empty page with a token: {lens:?}");
    let unique: std::collections::BTreeSet<&String> = tokens.iter().collect();
    assert_eq!(unique.len(), tokens.len(), "tokens are never repeated");
    assert!(env.fake.stats().faults("short_page") > 0);
}

#[tokio::test]
async fn daily_quotas_exhaust_and_reset() {
    let (env, token) = Env::with_library(2, 0);
    let (url, _) = media_url(&env, &token, 10_000).await;
    env.fake.set_faults(Faults {
        daily_quota: Some(3),
        media_daily_quota: Some(2),
        ..Faults::default()
    });
    for _ in 0..3 {
        assert_eq!(
            env.get("/photoslibrary/v1/albums", &token).await.0,
            StatusCode::OK
        );
    }
    for _ in 0..2 {
        let (s, v) = env.get("/photoslibrary/v1/mediaItems", &token).await;
        assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(google_error(&v), (429, "RESOURCE_EXHAUSTED", DAILY));
    }
    for _ in 0..2 {
        assert_eq!(env.fetch(&url).await.0, StatusCode::OK);
    }
    let (s, _) = env.fetch(&url).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    let stats = env.fake.stats();
    assert_eq!(stats.quota_rejections, 3);
    assert_eq!(stats.api_quota_used, 3);
    assert!(stats.faults_injected.is_empty(), "quota is not a fault");
    env.fake.reset_quota();
    assert_eq!(
        env.get("/photoslibrary/v1/albums", &token).await.0,
        StatusCode::OK
    );
    assert_eq!(env.fetch(&url).await.0, StatusCode::OK);
}

#[tokio::test]
async fn wrong_range_answers_206_from_byte_zero() {
    let (env, token) = Env::with_library(0, 0);
    let (url, id) = media_url(&env, &token, 100_000).await;
    let bytes = env.fake.item_bytes(&id);
    env.fake.set_faults(Faults {
        wrong_range_rate: 1.0,
        max_faults: Some(1),
        ..Faults::default()
    });
    // A range from byte 0 is the range asked for: no fault, nothing counted.
    let r = env
        .http
        .get(&url)
        .header("range", "bytes=0-9")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-range"], "bytes 0-9/100000");
    assert_eq!(env.fake.stats().faults("wrong_range"), 0);
    // Asked from 40000: a 206 with the whole file, and a Content-Range that says so.
    let r = env
        .http
        .get(&url)
        .header("range", "bytes=40000-")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(r.headers()["content-range"], "bytes 0-99999/100000");
    assert_eq!(r.bytes().await.unwrap().to_vec(), bytes);
    assert_eq!(env.fake.stats().faults("wrong_range"), 1);
    // Budget spent: the range asked for.
    let r = env
        .http
        .get(&url)
        .header("range", "bytes=40000-")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-range"], "bytes 40000-99999/100000");
    assert_eq!(r.bytes().await.unwrap().to_vec(), bytes[40_000..]);
}

#[tokio::test]
async fn repeat_page_token_hands_back_the_token_of_the_named_listing() {
    let (env, token) = Env::with_library(30, 0);
    env.fake.set_faults(Faults {
        repeat_page_token: Some(PagedListing::MediaItems),
        ..Faults::default()
    });
    // Other listings page as usual.
    let (_, v) = env.get("/photoslibrary/v1/albums?pageSize=1", &token).await;
    assert!(v.get("nextPageToken").is_none(), "{v}");
    // The first page has no token to repeat; every later request gets its own token back,
    // with the same page again.
    let (_, first) = env
        .get("/photoslibrary/v1/mediaItems?pageSize=10", &token)
        .await;
    let t = first["nextPageToken"].as_str().unwrap().to_owned();
    let path = format!("/photoslibrary/v1/mediaItems?pageSize=10&pageToken={t}");
    let (s, second) = env.get(&path, &token).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(second["nextPageToken"].as_str(), Some(t.as_str()));
    let ids = |v: &Value| -> Vec<String> {
        v["mediaItems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, third) = env.get(&path, &token).await;
    assert_eq!(third["nextPageToken"], second["nextPageToken"]);
    assert_eq!(ids(&third), ids(&second));
    assert_ne!(ids(&second), ids(&first));
    assert_eq!(env.fake.stats().faults("repeated_page_token"), 2);
}
