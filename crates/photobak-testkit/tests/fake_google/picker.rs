//! Picker API: sessions, picking, listing, scopes and authenticated base URLs.

use std::time::Duration;

use photobak_testkit::fake_google::{
    FakeConfig, NewItem, PICKER_SCOPE, READONLY_SCOPE, VideoStatus,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{ACCOUNT, Env, UNAUTHENTICATED, google_error};

const P: &str = "/photospicker/v1";

fn setup(items: usize) -> (Env, String, Vec<String>) {
    let env = Env::new(FakeConfig {
        picker_session_ttl: Duration::from_secs(3 * 3600),
        picker_poll_timeout: Duration::from_secs(600),
        ..FakeConfig::default()
    });
    env.fake.add_account(ACCOUNT);
    let ids = (0..items)
        .map(|i| {
            env.fake
                .add_item(ACCOUNT, NewItem::photo(&format!("IMG_{i:04}.JPG")))
        })
        .collect();
    let token = env.fake.mint_tokens(ACCOUNT, PICKER_SCOPE).access_token;
    (env, token, ids)
}

async fn create(env: &Env, token: &str, body: &Value) -> Value {
    let (s, v) = env.post_json(&format!("{P}/sessions"), token, body).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v
}

async fn delete(env: &Env, path: &str, token: &str) -> (StatusCode, Value) {
    let r = env
        .http
        .delete(env.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let s = r.status();
    (s, serde_json::from_str(&r.text().await.unwrap()).unwrap())
}

async fn new_session(env: &Env, token: &str) -> String {
    create(env, token, &json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// All picked items, following page tokens; also returns the page lengths.
async fn list_all(
    env: &Env,
    token: &str,
    session: &str,
    size: Option<i64>,
) -> (Vec<Value>, Vec<usize>) {
    let mut items = Vec::new();
    let mut pages = Vec::new();
    let mut page_token: Option<String> = None;
    loop {
        let mut path = format!("{P}/mediaItems?sessionId={session}");
        if let Some(n) = size {
            path.push_str(&format!("&pageSize={n}"));
        }
        if let Some(t) = &page_token {
            path.push_str(&format!("&pageToken={t}"));
        }
        let (s, v) = env.get(&path, token).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let page = v["mediaItems"].as_array().cloned().unwrap_or_default();
        pages.push(page.len());
        items.extend(page);
        match v["nextPageToken"].as_str() {
            Some(t) => page_token = Some(t.to_owned()),
            None => break,
        }
    }
    (items, pages)
}

#[tokio::test]
async fn session_lifecycle() {
    let (env, token, ids) = setup(3);
    let s = create(&env, &token, &json!({})).await;
    let id = s["id"].as_str().unwrap().to_owned();
    // UUID-like.
    let parts: Vec<usize> = id.split('-').map(str::len).collect();
    assert_eq!(parts, [8, 4, 4, 4, 12], "{id}");
    assert_eq!(s["pickerUri"], format!("{}/picker/{id}", env.e));
    assert_eq!(s["pollingConfig"]["pollInterval"], "1s");
    assert_eq!(s["pollingConfig"]["timeoutIn"], "600s");
    assert_eq!(s["mediaItemsSet"], false);
    let expire: jiff::Timestamp = s["expireTime"].as_str().unwrap().parse().unwrap();
    let left = expire.as_second() - jiff::Timestamp::now().as_second();
    assert!((3 * 3600 - 60..=3 * 3600 + 5).contains(&left), "{left}");
    assert_eq!(env.fake.picker_sessions(ACCOUNT), vec![id.clone()]);

    // timeoutIn counts down on the fake's clock.
    env.fake.advance_clock(Duration::from_secs(100));
    let (st, v) = env.get(&format!("{P}/sessions/{id}"), &token).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let t = v["pollingConfig"]["timeoutIn"].as_str().unwrap();
    assert!(t == "500s" || t == "499s", "{t}");
    assert_eq!(v["mediaItemsSet"], false);

    // Listing before picking: FAILED_PRECONDITION.
    let (st, v) = env
        .get(&format!("{P}/mediaItems?sessionId={id}"), &token)
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(google_error(&v).1, "FAILED_PRECONDITION");

    env.fake
        .complete_picking(&id, &[ids[2].as_str(), ids[0].as_str()]);
    let (_, v) = env.get(&format!("{P}/sessions/{id}"), &token).await;
    assert_eq!(v["mediaItemsSet"], true);
    assert!(v.get("pollingConfig").is_none(), "{v}");

    let (items, _) = list_all(&env, &token, &id, None).await;
    let got: Vec<&str> = items.iter().map(|i| i["id"].as_str().unwrap()).collect();
    assert_eq!(got, [ids[2].as_str(), ids[0].as_str()]);
    let it = &items[0];
    assert_eq!(it["type"], "PHOTO");
    assert_eq!(it["mediaFile"]["filename"], "IMG_0002.JPG");
    assert_eq!(it["mediaFile"]["mimeType"], "image/jpeg");
    let snap = env.fake.library();
    let truth = snap.accounts[0].item(&ids[2]).unwrap();
    assert_eq!(
        it["mediaFile"]["mediaFileMetadata"]["width"],
        json!(truth.width)
    );
    assert!(it["mediaFile"]["mediaFileMetadata"]["height"].is_u64());
    assert!(it["mediaFile"]["mediaFileMetadata"]["photoMetadata"].is_object());
    assert!(
        it["mediaFile"]["mediaFileMetadata"]
            .get("videoMetadata")
            .is_none()
    );
    assert_eq!(
        it["createTime"]
            .as_str()
            .unwrap()
            .parse::<jiff::Timestamp>()
            .unwrap(),
        truth.creation_time
    );

    let (st, v) = delete(&env, &format!("{P}/sessions/{id}"), &token).await;
    assert_eq!((st, v), (StatusCode::OK, json!({})));
    for path in [
        format!("{P}/sessions/{id}"),
        format!("{P}/mediaItems?sessionId={id}"),
    ] {
        let (st, v) = env.get(&path, &token).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(google_error(&v).1, "NOT_FOUND");
    }
    let (st, _) = delete(&env, &format!("{P}/sessions/{id}"), &token).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert!(env.fake.picker_sessions(ACCOUNT).is_empty());
    assert_eq!(env.fake.stats().picker_requests, 9);
    assert_eq!(env.fake.stats().api_requests, 0);
}

#[tokio::test]
async fn create_bodies_and_max_item_count() {
    let (env, token, ids) = setup(3);
    // Empty body.
    let r = env
        .http
        .post(env.url(&format!("{P}/sessions")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let s = create(
        &env,
        &token,
        &json!({"pickingConfig": {"maxItemCount": "2"}}),
    )
    .await;
    assert_eq!(s["pickingConfig"]["maxItemCount"], "2");
    let id = s["id"].as_str().unwrap().to_owned();
    let too_many = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        env.fake
            .complete_picking(&id, &[ids[0].as_str(), ids[1].as_str(), ids[2].as_str()])
    }));
    assert!(too_many.is_err());
    // Over the control interface.
    let r = env
        .http
        .post(env.url(&format!("/_fake/picker/{id}/pick")))
        .json(&json!({"item_ids": [ids[0], ids[1], ids[2]]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = env
        .http
        .post(env.url("/_fake/picker/no-such-session/pick"))
        .json(&json!({"item_ids": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = env
        .http
        .post(env.url(&format!("/_fake/picker/{id}/pick")))
        .json(&json!({"item_ids": [ids[1], ids[0]]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (items, _) = list_all(&env, &token, &id, None).await;
    assert_eq!(items.len(), 2);
    let v: Value = env
        .http
        .get(env.url(&format!("/_fake/picker?account={ACCOUNT}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["session_ids"].as_array().unwrap().len(), 2);

    for bad in [
        json!({"pickingConfig": {"maxItemCount": "-1"}}),
        json!({"pickingConfig": {"maxItemCount": "lots"}}),
        json!({"nonsense": 1}),
    ] {
        let (s, v) = env.post_json(&format!("{P}/sessions"), &token, &bad).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(google_error(&v).1, "INVALID_ARGUMENT");
    }
}

#[tokio::test]
async fn page_sizes() {
    let (env, token, ids) = setup(130);
    let s = create(&env, &token, &json!({})).await;
    let id = s["id"].as_str().unwrap().to_owned();
    let picked: Vec<&str> = ids.iter().map(String::as_str).collect();
    env.fake.complete_picking(&id, &picked);
    let (items, pages) = list_all(&env, &token, &id, None).await;
    assert_eq!(pages, [50, 50, 30]);
    let got: Vec<&str> = items.iter().map(|i| i["id"].as_str().unwrap()).collect();
    assert_eq!(got, picked);
    assert_eq!(list_all(&env, &token, &id, Some(0)).await.1, [50, 50, 30]);
    assert_eq!(list_all(&env, &token, &id, Some(1000)).await.1, [100, 30]);
    assert_eq!(list_all(&env, &token, &id, Some(65)).await.1, [65, 65]);
    let (s, v) = env
        .get(
            &format!("{P}/mediaItems?sessionId={id}&pageSize=-1"),
            &token,
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(google_error(&v).1, "INVALID_ARGUMENT");
    let (s, v) = env
        .get(
            &format!("{P}/mediaItems?sessionId={id}&pageToken=bogus"),
            &token,
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(google_error(&v).1, "INVALID_ARGUMENT");
    // A page token of one session is not valid in another.
    let (_, v) = env
        .get(&format!("{P}/mediaItems?sessionId={id}&pageSize=1"), &token)
        .await;
    let t = v["nextPageToken"].as_str().unwrap().to_owned();
    let other = create(&env, &token, &json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    env.fake.complete_picking(&other, &picked[..3]);
    let (s, _) = env
        .get(
            &format!("{P}/mediaItems?sessionId={other}&pageToken={t}"),
            &token,
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    // Zero picked items: an empty last page.
    let empty = create(&env, &token, &json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    env.fake.complete_picking(&empty, &[]);
    let (s, v) = env
        .get(&format!("{P}/mediaItems?sessionId={empty}"), &token)
        .await;
    assert_eq!((s, v), (StatusCode::OK, json!({})));
}

#[tokio::test]
async fn scopes_and_tokens() {
    let (env, token, _) = setup(1);
    let library_token = env.fake.mint_tokens(ACCOUNT, READONLY_SCOPE).access_token;
    let (s, v) = env
        .post_json(&format!("{P}/sessions"), &library_token, &json!({}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(
        google_error(&v),
        (
            403,
            "PERMISSION_DENIED",
            "Request had insufficient authentication scopes."
        )
    );
    let (s, v) = env
        .post_json(&format!("{P}/sessions"), "ya29.bogus", &json!({}))
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(google_error(&v), (401, "UNAUTHENTICATED", UNAUTHENTICATED));
    // The picker scope does not open the Library API.
    let (s, _) = env.get("/photoslibrary/v1/mediaItems", &token).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // A token with both scopes works for both.
    let both = env
        .fake
        .mint_tokens(ACCOUNT, &format!("{READONLY_SCOPE} {PICKER_SCOPE}"))
        .access_token;
    let id = new_session(&env, &both).await;
    let (s, _) = env.get("/photoslibrary/v1/mediaItems", &both).await;
    assert_eq!(s, StatusCode::OK);
    // Another account's session is not found.
    let bob = env
        .fake
        .mint_tokens("bob@example.com", PICKER_SCOPE)
        .access_token;
    let (s, _) = env.get(&format!("{P}/sessions/{id}"), &bob).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Expired token.
    env.fake.expire_access_tokens();
    let (s, _) = env.get(&format!("{P}/sessions/{id}"), &both).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // The wrong path of google.md §2.1 gets the HTML 404.
    let r = env
        .http
        .get(env.url(&format!("{P}/sessions/{id}/mediaItems")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(r.text().await.unwrap().contains("Error 404 (Not Found)!!1"));
}

#[tokio::test]
async fn base_urls_need_the_picker_bearer() {
    let (env, token, ids) = setup(1);
    let video = env.fake.add_item(
        ACCOUNT,
        NewItem::video("VID_0001.mp4").video_status(VideoStatus::Ready),
    );
    let id = new_session(&env, &token).await;
    env.fake
        .complete_picking(&id, &[ids[0].as_str(), video.as_str()]);
    let (items, _) = list_all(&env, &token, &id, None).await;
    let photo_url = items[0]["mediaFile"]["baseUrl"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(photo_url.starts_with(&format!("{}/lh3/", env.e)));
    assert_eq!(items[1]["type"], "VIDEO");
    let vm = &items[1]["mediaFile"]["mediaFileMetadata"]["videoMetadata"];
    assert_eq!(vm["processingStatus"], "READY");
    assert!(vm["fps"].is_number());
    assert!(
        items[1]["mediaFile"]["mediaFileMetadata"]
            .get("photoMetadata")
            .is_none()
    );

    // Without a token: 401; with a Library-only token: 403; with the picker token: the bytes.
    let (s, _) = env.fetch(&format!("{photo_url}=d")).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let library_token = env.fake.mint_tokens(ACCOUNT, READONLY_SCOPE).access_token;
    let r = env
        .http
        .get(format!("{photo_url}=d"))
        .bearer_auth(&library_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = env
        .http
        .get(format!("{photo_url}=d"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.bytes().await.unwrap().to_vec(),
        env.fake.item_bytes(&ids[0])
    );
    // Another account's picker token cannot fetch it.
    let bob = env
        .fake
        .mint_tokens("bob@example.com", PICKER_SCOPE)
        .access_token;
    let r = env
        .http
        .get(format!("{photo_url}=d"))
        .bearer_auth(&bob)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // =dv redirects to the video host, which serves the bytes.
    let video_url = items[1]["mediaFile"]["baseUrl"].as_str().unwrap();
    let r = env
        .http
        .get(format!("{video_url}=dv"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    let loc = r.headers()["location"].to_str().unwrap().to_owned();
    let (s, bytes) = env.fetch(&loc).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(bytes, env.fake.item_bytes(&video));

    // Library base URLs still need no auth.
    let (_, v) = env
        .get(
            &format!("/photoslibrary/v1/mediaItems/{}", ids[0]),
            &library_token,
        )
        .await;
    let lib_url = v["baseUrl"].as_str().unwrap();
    let (s, _) = env.fetch(&format!("{lib_url}=d")).await;
    assert_eq!(s, StatusCode::OK);

    // Picker URLs expire like Library ones.
    env.fake.advance_clock(Duration::from_secs(3601));
    let fresh = env.fake.mint_tokens(ACCOUNT, PICKER_SCOPE).access_token;
    let r = env
        .http
        .get(format!("{photo_url}=d"))
        .bearer_auth(&fresh)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn sessions_expire_and_time_out() {
    let (env, token, ids) = setup(1);
    let a = new_session(&env, &token).await;
    // Polling runs out: timeoutIn "0s", and picking is no longer possible.
    env.fake.advance_clock(Duration::from_secs(601));
    let fresh = env.fake.mint_tokens(ACCOUNT, PICKER_SCOPE).access_token;
    let (s, v) = env.get(&format!("{P}/sessions/{a}"), &fresh).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["pollingConfig"]["timeoutIn"], "0s");
    let late = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        env.fake.complete_picking(&a, &[ids[0].as_str()])
    }));
    assert!(late.is_err());
    // After expireTime the session is gone.
    let b = new_session(&env, &fresh).await;
    env.fake.complete_picking(&b, &[ids[0].as_str()]);
    env.fake.advance_clock(Duration::from_secs(3 * 3600));
    let fresh = env.fake.mint_tokens(ACCOUNT, PICKER_SCOPE).access_token;
    for path in [
        format!("{P}/sessions/{a}"),
        format!("{P}/sessions/{b}"),
        format!("{P}/mediaItems?sessionId={b}"),
        format!("{P}/sessions/00000000-0000-4000-8000-000000000000"),
    ] {
        let (s, v) = env.get(&path, &fresh).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(
            google_error(&v),
            (404, "NOT_FOUND", "Requested entity was not found.")
        );
    }
    assert!(env.fake.picker_sessions(ACCOUNT).is_empty());
}

/// The scripted user picks in every open session after its delay, at most `maxItemCount`
/// items, skipping deleted ones; never after the session's picking time ran out.
#[tokio::test]
async fn the_scripted_user_picks_after_a_delay() {
    let (env, token, ids) = setup(4);
    let picks: Vec<&str> = ids.iter().map(String::as_str).collect();
    env.fake
        .script_picker_user(ACCOUNT, &picks, Duration::from_secs(30));
    let a = create(
        &env,
        &token,
        &json!({"pickingConfig": {"maxItemCount": "2"}}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, v) = env.get(&format!("{P}/sessions/{a}"), &token).await;
    assert_eq!(v["mediaItemsSet"], false, "not before the delay: {v}");
    let (s, v) = env
        .get(&format!("{P}/mediaItems?sessionId={a}"), &token)
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    env.fake.advance_clock(Duration::from_secs(31));
    let token = env.fake.mint_tokens(ACCOUNT, PICKER_SCOPE).access_token;
    let (_, v) = env.get(&format!("{P}/sessions/{a}"), &token).await;
    assert_eq!(v["mediaItemsSet"], true, "{v}");
    let (items, _) = list_all(&env, &token, &a, None).await;
    let got: Vec<&str> = items.iter().map(|i| i["id"].as_str().unwrap()).collect();
    assert_eq!(got, picks[..2], "maxItemCount respected, in order");

    // A deleted item is not picked; a session past its timeout stays unpicked.
    env.fake.delete_item(&ids[0]);
    let b = new_session(&env, &token).await;
    env.fake.advance_clock(Duration::from_secs(31));
    let token = env.fake.mint_tokens(ACCOUNT, PICKER_SCOPE).access_token;
    let (items, _) = list_all(&env, &token, &b, None).await;
    assert_eq!(items.len(), 3);
    env.fake
        .script_picker_user(ACCOUNT, &picks[1..], Duration::from_secs(700));
    let c = new_session(&env, &token).await;
    env.fake.advance_clock(Duration::from_secs(701));
    let token = env.fake.mint_tokens(ACCOUNT, PICKER_SCOPE).access_token;
    let (_, v) = env.get(&format!("{P}/sessions/{c}"), &token).await;
    assert_eq!(v["mediaItemsSet"], false, "{v}");
    assert_eq!(v["pollingConfig"]["timeoutIn"], "0s");
    env.fake.clear_picker_user(ACCOUNT);
    let d = new_session(&env, &token).await;
    env.fake.advance_clock(Duration::from_secs(31));
    let token = env.fake.mint_tokens(ACCOUNT, PICKER_SCOPE).access_token;
    let (_, v) = env.get(&format!("{P}/sessions/{d}"), &token).await;
    assert_eq!(v["mediaItemsSet"], false, "nobody picks any more: {v}");
}
