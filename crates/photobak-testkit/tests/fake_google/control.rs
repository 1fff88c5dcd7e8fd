//! The `/_fake/` control interface round trip, and generator determinism.

use base64::Engine as _;
use photobak_testkit::fake_google::{FakeConfig, GenerateSpec, LibrarySnapshot, Sizes, Stats};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::Env;

async fn call(
    env: &Env,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut r = env.http.request(method, env.url(path));
    if let Some(b) = body {
        r = r.json(&b);
    }
    let r = r.send().await.unwrap();
    let s = r.status();
    (s, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn control_interface_round_trip() {
    use reqwest::Method;
    let env = Env::new(FakeConfig::default());
    let a = "carol@example.com";
    assert_eq!(
        call(
            &env,
            Method::POST,
            "/_fake/accounts",
            Some(json!({"address": a}))
        )
        .await
        .0,
        StatusCode::OK
    );
    let (_, v) = call(
        &env,
        Method::POST,
        "/_fake/albums",
        Some(json!({"account": a, "title": "Holiday"})),
    )
    .await;
    let album = v["id"].as_str().unwrap().to_owned();
    let jpeg = b"\xFF\xD8tiny\xFF\xD9".to_vec();
    let (s, v) = call(
        &env,
        Method::POST,
        "/_fake/items",
        Some(json!({
            "account": a,
            "filename": "x?.jpg",
            "description": "desc",
            "creation_time": "2021-02-03T04:05:06Z",
            "content": {"bytes": base64::engine::general_purpose::STANDARD.encode(&jpeg)},
            "album_ids": [album],
        })),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let item = v["id"].as_str().unwrap().to_owned();
    let (_, v) = call(
        &env,
        Method::POST,
        "/_fake/items",
        Some(json!({"account": a, "filename": "v.mp4", "mime_type": "video/mp4", "video_status": "PROCESSING",
                    "content": {"generated": {"kind": "mp4", "seed": 1, "size": 5000}}})),
    )
    .await;
    let video = v["id"].as_str().unwrap().to_owned();

    let (_, lib) = call(&env, Method::GET, "/_fake/library", None).await;
    let snap: LibrarySnapshot = serde_json::from_value(lib.clone()).unwrap();
    assert_eq!(snap, env.fake.library());
    let acc = snap.account(a).unwrap();
    assert_eq!(acc.albums[0].item_ids, vec![item.clone()]);
    let it = acc.item(&item).unwrap();
    assert_eq!(
        (it.filename.as_str(), it.description.as_str(), it.size),
        ("x?.jpg", "desc", jpeg.len() as u64)
    );
    assert_eq!(it.blake3, blake3::hash(&jpeg).to_hex().to_string());
    assert_eq!(it.album_ids, vec![album.clone()]);
    assert_eq!(lib["accounts"][0]["items"][1]["video_status"], "PROCESSING");
    assert_eq!(lib["accounts"][0]["items"][0]["video_status"], Value::Null);

    let r = env
        .http
        .get(env.url(&format!("/_fake/items/{item}/bytes")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.bytes().await.unwrap().to_vec(), jpeg);

    // Edits and membership.
    let (s, _) = call(
        &env,
        Method::PATCH,
        &format!("/_fake/items/{video}"),
        Some(json!({"video_status": "READY", "content": "regenerate"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = call(
        &env,
        Method::PATCH,
        &format!("/_fake/items/{item}"),
        Some(json!({"content": {"replace": {"bytes": "AAEC"}}, "width": 7})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = call(
        &env,
        Method::PATCH,
        &format!("/_fake/albums/{album}"),
        Some(json!({"title": "Renamed"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = call(
        &env,
        Method::POST,
        &format!("/_fake/albums/{album}/items"),
        Some(json!({"add": [video], "remove": [item]})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let snap = env.fake.library();
    let acc = snap.account(a).unwrap();
    assert_eq!(acc.albums[0].title, "Renamed");
    assert_eq!(acc.albums[0].item_ids, vec![video.clone()]);
    assert_eq!(acc.item(&item).unwrap().size, 3);
    assert_eq!(acc.item(&item).unwrap().width, 7);
    assert_eq!(
        acc.item(&video)
            .unwrap()
            .video_status
            .map(|s| format!("{s:?}")),
        Some("Ready".into())
    );

    // Errors.
    assert_eq!(
        call(&env, Method::DELETE, "/_fake/items/nope", None)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call(
            &env,
            Method::POST,
            "/_fake/albums",
            Some(json!({"account": "who@example.com"}))
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    let r = env
        .http
        .post(env.url("/_fake/faults"))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    // Deletions.
    assert_eq!(
        call(
            &env,
            Method::DELETE,
            &format!("/_fake/albums/{album}"),
            None
        )
        .await
        .0,
        StatusCode::OK
    );
    assert_eq!(
        call(&env, Method::DELETE, &format!("/_fake/items/{item}"), None)
            .await
            .0,
        StatusCode::OK
    );
    let snap = env.fake.library();
    assert!(snap.account(a).unwrap().albums.is_empty());
    assert_eq!(snap.account(a).unwrap().items.len(), 1);

    // Faults, tokens, clock, quota, auth behaviour, stats.
    let (s, v) = call(
        &env,
        Method::POST,
        "/_fake/faults",
        Some(json!({"daily_quota": 1})),
    )
    .await;
    assert_eq!((s, v["daily_quota"].as_u64()), (StatusCode::OK, Some(1)));
    assert_eq!(
        call(&env, Method::GET, "/_fake/faults", None).await.1["daily_quota"],
        1
    );
    let (_, t) = call(
        &env,
        Method::POST,
        "/_fake/tokens",
        Some(json!({"account": a})),
    )
    .await;
    let token = t["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        env.get("/photoslibrary/v1/albums", &token).await.0,
        StatusCode::OK
    );
    assert_eq!(
        env.get("/photoslibrary/v1/albums", &token).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        call(&env, Method::POST, "/_fake/quota/reset", None).await.0,
        StatusCode::OK
    );
    assert_eq!(
        env.get("/photoslibrary/v1/albums", &token).await.0,
        StatusCode::OK
    );
    call(&env, Method::POST, "/_fake/faults", Some(json!({}))).await;
    assert_eq!(
        call(&env, Method::POST, "/_fake/expire-tokens", None)
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        env.get("/photoslibrary/v1/albums", &token).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (_, t) = call(
        &env,
        Method::POST,
        "/_fake/tokens",
        Some(json!({"account": a})),
    )
    .await;
    let token = t["access_token"].as_str().unwrap().to_owned();
    let (_, v) = call(
        &env,
        Method::POST,
        "/_fake/clock",
        Some(json!({"advance_secs": 4000})),
    )
    .await;
    assert_eq!(v["offset_secs"], 4000);
    assert_eq!(
        env.get("/photoslibrary/v1/albums", &token).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (_, t) = call(
        &env,
        Method::POST,
        "/_fake/tokens",
        Some(json!({"account": a})),
    )
    .await;
    let token = t["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        call(
            &env,
            Method::POST,
            "/_fake/revoke",
            Some(json!({"account": a}))
        )
        .await
        .0,
        StatusCode::OK
    );
    assert_eq!(
        env.get("/photoslibrary/v1/albums", &token).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call(
            &env,
            Method::POST,
            "/_fake/auth",
            Some(json!({"behavior": "deny"}))
        )
        .await
        .0,
        StatusCode::OK
    );
    let r = env
        .http
        .get(env.url("/o/oauth2/v2/auth"))
        .query(&[
            ("client_id", "c"),
            ("redirect_uri", "http://127.0.0.1:9/"),
            ("response_type", "code"),
            ("scope", "openid"),
            ("state", "s"),
        ])
        .send()
        .await
        .unwrap();
    assert!(
        r.headers()["location"]
            .to_str()
            .unwrap()
            .contains("error=access_denied")
    );

    let (_, g) = call(
        &env,
        Method::POST,
        "/_fake/generate",
        Some(json!({"account": "gen@example.com", "items": 12, "albums": 2, "seed": 5})),
    )
    .await;
    assert_eq!(g["item_ids"].as_array().unwrap().len(), 12);
    assert_eq!(g["album_ids"].as_array().unwrap().len(), 2);

    let (_, st) = call(&env, Method::GET, "/_fake/stats", None).await;
    let stats: Stats = serde_json::from_value(st).unwrap();
    assert_eq!(stats.quota_rejections, 1);
    assert!(stats.api_requests >= 6);
    assert!(stats.last_authorize_query.is_some());
}

#[test]
fn generator_is_deterministic() {
    let spec = GenerateSpec {
        items: 60,
        albums: 6,
        seed: 11,
        sizes: Sizes::Tiny,
        videos: None,
    };
    let snap = |fake_seed: u64, spec: &GenerateSpec| {
        let env = Env::new(FakeConfig {
            seed: fake_seed,
            ..FakeConfig::default()
        });
        env.fake.generate("d@example.com", spec);
        env.fake.library()
    };
    let a = snap(3, &spec);
    let b = snap(3, &spec);
    assert_eq!(a, b);
    let acc = &a.accounts[0];
    assert_eq!(acc.items.len(), 60);
    assert_eq!(acc.albums.len(), 6);
    assert_eq!(
        acc.items
            .iter()
            .filter(|i| i.video_status.is_some())
            .count(),
        3
    );
    assert!(acc.items.iter().all(|i| i.size < 200_000));
    // Same spec, other fake seed: same content, other ids.
    let c = snap(4, &spec);
    assert_ne!(c.accounts[0].items[0].id, acc.items[0].id);
    assert_eq!(c.accounts[0].items[0].blake3, acc.items[0].blake3);
    // Other spec seed: other content.
    let d = snap(3, &GenerateSpec { seed: 12, ..spec });
    assert_ne!(d.accounts[0].items[0].blake3, acc.items[0].blake3);
}
