//! Library API: paging, shapes, search, batchGet, auth errors.

use std::collections::BTreeSet;

use photobak_testkit::fake_google::{
    Content, GenerateSpec, NewItem, READONLY_SCOPE, Sample, VideoStatus,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{ACCOUNT, Env, google_error};

/// Pages through a GET listing; returns pages' lengths and all entries.
async fn list_all(env: &Env, path: &str, key: &str, token: &str) -> (Vec<usize>, Vec<Value>) {
    let (mut lens, mut all) = (Vec::new(), Vec::new());
    let mut page_token: Option<String> = None;
    for _ in 0..1000 {
        let sep = if path.contains('?') { '&' } else { '?' };
        let url = match &page_token {
            Some(t) => format!("{path}{sep}pageToken={t}"),
            None => path.to_owned(),
        };
        let (s, v) = env.get(&url, token).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let entries = v[key].as_array().cloned().unwrap_or_default();
        lens.push(entries.len());
        all.extend(entries);
        match v["nextPageToken"].as_str() {
            Some(t) => page_token = Some(t.to_owned()),
            None => return (lens, all),
        }
    }
    panic!("listing did not end");
}

#[tokio::test]
async fn media_items_paging_defaults_caps_and_order() {
    let (env, token) = Env::with_library(130, 3);
    let (lens, items) = list_all(&env, "/photoslibrary/v1/mediaItems", "mediaItems", &token).await;
    assert_eq!(lens, vec![25, 25, 25, 25, 25, 5]);
    let ids: Vec<&str> = items.iter().map(|i| i["id"].as_str().unwrap()).collect();
    let snap = env.fake.library();
    let want: Vec<&str> = snap.accounts[0]
        .items
        .iter()
        .map(|i| i.id.as_str())
        .collect();
    assert_eq!(ids, want, "stable order equal to the snapshot");

    let (lens, _) = list_all(
        &env,
        "/photoslibrary/v1/mediaItems?pageSize=1000",
        "mediaItems",
        &token,
    )
    .await;
    assert_eq!(lens, vec![100, 30]);
    let (lens, _) = list_all(
        &env,
        "/photoslibrary/v1/mediaItems?pageSize=0",
        "mediaItems",
        &token,
    )
    .await;
    assert_eq!(lens[0], 25);
    let (s, v) = env
        .get("/photoslibrary/v1/mediaItems?pageSize=-1", &token)
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(google_error(&v).1, "INVALID_ARGUMENT");
    let (s, _) = env
        .get("/photoslibrary/v1/mediaItems?pageToken=garbage", &token)
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    // A token from one listing is not valid in another.
    let (_, v) = env.get("/photoslibrary/v1/albums?pageSize=1", &token).await;
    let album_token = v["nextPageToken"].as_str().unwrap().to_owned();
    let (s, _) = env
        .get(
            &format!("/photoslibrary/v1/mediaItems?pageToken={album_token}"),
            &token,
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn paging_survives_additions_and_deletions() {
    let (env, token) = Env::with_library(30, 0);
    let snap = env.fake.library();
    let (_, v) = env
        .get("/photoslibrary/v1/mediaItems?pageSize=10", &token)
        .await;
    let next = v["nextPageToken"].as_str().unwrap().to_owned();
    // Delete an item already seen and one not yet seen, add a new one.
    env.fake.delete_item(&snap.accounts[0].items[0].id);
    env.fake.delete_item(&snap.accounts[0].items[15].id);
    let new_id = env.fake.add_item(ACCOUNT, NewItem::photo("new.jpg"));
    let mut seen: Vec<String> = v["mediaItems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect();
    let mut page = Some(next);
    while let Some(t) = page {
        let (_, v) = env
            .get(
                &format!("/photoslibrary/v1/mediaItems?pageSize=10&pageToken={t}"),
                &token,
            )
            .await;
        seen.extend(
            v["mediaItems"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["id"].as_str().unwrap().to_owned()),
        );
        page = v["nextPageToken"].as_str().map(str::to_owned);
    }
    let expect: Vec<String> = snap.accounts[0]
        .items
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 15)
        .map(|(_, it)| it.id.clone())
        .chain([new_id])
        .collect();
    assert_eq!(seen, expect);
}

#[tokio::test]
async fn albums_paging_and_shapes() {
    let (env, token) = Env::with_library(40, 60);
    let (lens, albums) = list_all(&env, "/photoslibrary/v1/albums", "albums", &token).await;
    assert_eq!(lens, vec![20, 20, 20]);
    let (lens, _) = list_all(
        &env,
        "/photoslibrary/v1/albums?pageSize=500",
        "albums",
        &token,
    )
    .await;
    assert_eq!(lens, vec![50, 10]);
    let snap = env.fake.library();
    for (a, s) in albums.iter().zip(&snap.accounts[0].albums) {
        assert_eq!(a["id"], s.id.as_str());
        assert!(s.id.len() >= 90);
        if s.item_ids.is_empty() {
            assert!(a.get("mediaItemsCount").is_none());
            assert!(a.get("coverPhotoBaseUrl").is_none());
        } else {
            assert_eq!(a["mediaItemsCount"], s.item_ids.len().to_string());
            assert_eq!(a["coverPhotoMediaItemId"], s.item_ids[0].as_str());
            assert!(
                a["coverPhotoBaseUrl"]
                    .as_str()
                    .unwrap()
                    .starts_with(&format!("{}/lh3/", env.e))
            );
        }
        if s.title.is_empty() {
            assert!(a.get("title").is_none());
        } else {
            assert_eq!(a["title"], s.title.as_str());
        }
        assert!(
            a["productUrl"]
                .as_str()
                .unwrap()
                .starts_with("https://photos.google.com/lr/album/")
        );
    }
    let one = &snap.accounts[0].albums[3];
    let (s, v) = env
        .get(&format!("/photoslibrary/v1/albums/{}", one.id), &token)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["id"], one.id.as_str());
    let (s, v) = env.get("/photoslibrary/v1/albums/AAnope", &token).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(
        google_error(&v),
        (404, "NOT_FOUND", "Requested entity was not found.")
    );
    let (s, _) = env.get("/photoslibrary/v1/sharedAlbums", &token).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn empty_results_are_empty_objects() {
    let env = Env::new(Default::default());
    let token = env
        .fake
        .mint_tokens("nobody@example.com", READONLY_SCOPE)
        .access_token;
    for path in ["/photoslibrary/v1/mediaItems", "/photoslibrary/v1/albums"] {
        let r = env
            .http
            .get(env.url(path))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.text().await.unwrap(), "{}");
    }
    let (s, v) = env
        .post_json("/photoslibrary/v1/mediaItems:search", &token, &json!({}))
        .await;
    assert_eq!((s, v), (StatusCode::OK, json!({})));
}

#[tokio::test]
async fn media_item_shapes() {
    let env = Env::new(Default::default());
    env.fake.add_account(ACCOUNT);
    let album = env.fake.add_album(ACCOUNT, "Trip");
    let photo = env.fake.add_item(
        ACCOUNT,
        NewItem::photo("IMG_0001.JPG")
            .content(Content::jpeg(Sample::CoolpixGps10, 3, 200_000))
            .created("2019-05-04T10:11:12Z")
            .in_album(&album),
    );
    let video = env.fake.add_item(
        ACCOUNT,
        NewItem::video("VID_1.mp4")
            .description("hello")
            .dimensions(3840, 2160),
    );
    let token = env.fake.mint_tokens(ACCOUNT, READONLY_SCOPE).access_token;
    let (s, p) = env
        .get(&format!("/photoslibrary/v1/mediaItems/{photo}"), &token)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(p["id"], photo.as_str());
    assert_eq!(p["filename"], "IMG_0001.JPG");
    assert_eq!(p["mimeType"], "image/jpeg");
    assert!(p.get("description").is_none());
    assert_eq!(
        p["productUrl"],
        format!("https://photos.google.com/lr/photo/{photo}")
    );
    let md = &p["mediaMetadata"];
    assert_eq!(md["creationTime"], "2019-05-04T10:11:12Z");
    assert_eq!(md["width"], "640");
    assert_eq!(md["height"], "480");
    assert_eq!(md["photo"]["cameraMake"], "NIKON");
    assert_eq!(md["photo"]["cameraModel"], "COOLPIX P6000");
    assert_eq!(md["photo"]["isoEquivalent"], 64);
    assert_eq!(md["photo"]["exposureTime"], "0.013333334s");
    assert!(md["photo"]["focalLength"].is_number());
    assert!(md.get("video").is_none());
    let base = p["baseUrl"].as_str().unwrap();
    let opaque = base.strip_prefix(&format!("{}/lh3/", env.e)).unwrap();
    assert!((90..=110).contains(&opaque.len()), "{opaque}");
    // A fresh baseUrl every time.
    let (_, p2) = env
        .get(&format!("/photoslibrary/v1/mediaItems/{photo}"), &token)
        .await;
    assert_ne!(p2["baseUrl"], p["baseUrl"]);

    let (_, v) = env
        .get(&format!("/photoslibrary/v1/mediaItems/{video}"), &token)
        .await;
    assert_eq!(v["description"], "hello");
    assert_eq!(v["mediaMetadata"]["width"], "3840");
    assert_eq!(v["mediaMetadata"]["video"]["status"], "READY");
    assert_eq!(v["mediaMetadata"]["video"]["fps"], 30.0);
    assert!(v["mediaMetadata"].get("photo").is_none());

    let (s, v) = env
        .get("/photoslibrary/v1/mediaItems/ABunknown", &token)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(google_error(&v).1, "NOT_FOUND");

    // Items of another account are invisible.
    let other = env
        .fake
        .mint_tokens("bob@example.com", READONLY_SCOPE)
        .access_token;
    assert_eq!(
        env.get(&format!("/photoslibrary/v1/mediaItems/{photo}"), &other)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn search_by_album_and_filters() {
    let (env, token) = Env::with_library(120, 4);
    let snap = env.fake.library();
    let acc = &snap.accounts[0];
    let album = acc.albums.iter().max_by_key(|a| a.item_ids.len()).unwrap();
    let mut got = Vec::new();
    let mut page: Option<String> = None;
    loop {
        let mut body = json!({"albumId": album.id, "pageSize": 7});
        if let Some(t) = &page {
            body["pageToken"] = json!(t);
        }
        let (s, v) = env
            .post_json("/photoslibrary/v1/mediaItems:search", &token, &body)
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        got.extend(
            v["mediaItems"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(|i| i["id"].as_str().unwrap().to_owned()),
        );
        match v["nextPageToken"].as_str() {
            Some(t) => page = Some(t.to_owned()),
            None => break,
        }
    }
    assert_eq!(got, album.item_ids);

    let (s, v) = env
        .post_json(
            "/photoslibrary/v1/mediaItems:search",
            &token,
            &json!({"albumId": album.id, "filters": {"mediaTypeFilter": {"mediaTypes": ["PHOTO"]}}}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(google_error(&v).1, "INVALID_ARGUMENT");

    let (s, v) = env
        .post_json(
            "/photoslibrary/v1/mediaItems:search",
            &token,
            &json!({"pageSize": 100, "filters": {"mediaTypeFilter": {"mediaTypes": ["VIDEO"]}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let videos: BTreeSet<&str> = v["mediaItems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    let want: BTreeSet<&str> = acc
        .items
        .iter()
        .filter(|i| i.video_status.is_some())
        .map(|i| i.id.as_str())
        .collect();
    assert_eq!(videos, want);
    assert_eq!(videos.len(), 6);

    // Date filter: year 2015, oldest first.
    let (s, v) = env
        .post_json(
            "/photoslibrary/v1/mediaItems:search",
            &token,
            &json!({"pageSize": 100, "filters": {"dateFilter": {"dates": [{"year": 2015}]}}, "orderBy": "MediaMetadata.creation_time"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let times: Vec<&str> = v["mediaItems"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|i| i["mediaMetadata"]["creationTime"].as_str().unwrap())
                .collect()
        })
        .unwrap_or_default();
    let want = acc
        .items
        .iter()
        .filter(|i| i.creation_time.to_string().starts_with("2015"))
        .count();
    assert_eq!(times.len(), want);
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
    assert!(times.iter().all(|t| t.starts_with("2015")));

    for bad in [
        json!({"orderBy": "MediaMetadata.creation_time"}),
        json!({"filters": {"mediaTypeFilter": {"mediaTypes": ["PHOTO", "VIDEO"]}}}),
        json!({"unknownField": 1}),
        json!({"filters": {"dateFilter": {"dates": [{"year": 0, "month": 0, "day": 0}]}}}),
    ] {
        let (s, _) = env
            .post_json("/photoslibrary/v1/mediaItems:search", &token, &bad)
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}");
    }
}

#[tokio::test]
async fn batch_get_limits_order_and_per_item_status() {
    let (env, token) = Env::with_library(60, 0);
    let snap = env.fake.library();
    let ids: Vec<&str> = snap.accounts[0]
        .items
        .iter()
        .map(|i| i.id.as_str())
        .collect();
    let query = |ids: &[&str]| {
        ids.iter()
            .map(|i| format!("mediaItemIds={i}"))
            .collect::<Vec<_>>()
            .join("&")
    };
    let mut req = vec![ids[5], "ABmissing", ids[2]];
    let (s, v) = env
        .get(
            &format!("/photoslibrary/v1/mediaItems:batchGet?{}", query(&req)),
            &token,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let r = v["mediaItemResults"].as_array().unwrap();
    assert_eq!(r.len(), 3);
    assert_eq!(r[0]["mediaItem"]["id"], ids[5]);
    assert_eq!(r[1]["status"]["code"], 5);
    assert!(r[1]["status"]["message"].is_string());
    assert!(r[1].get("mediaItem").is_none());
    assert_eq!(r[2]["mediaItem"]["id"], ids[2]);

    let (s, _) = env
        .get(
            &format!(
                "/photoslibrary/v1/mediaItems:batchGet?{}",
                query(&ids[..50])
            ),
            &token,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = env
        .get(
            &format!(
                "/photoslibrary/v1/mediaItems:batchGet?{}",
                query(&ids[..51])
            ),
            &token,
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(google_error(&v).1, "INVALID_ARGUMENT");
    let (s, _) = env
        .get("/photoslibrary/v1/mediaItems:batchGet", &token)
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    req = vec![ids[1], ids[1]];
    let (s, _) = env
        .get(
            &format!("/photoslibrary/v1/mediaItems:batchGet?{}", query(&req)),
            &token,
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn unauthenticated_bodies() {
    let (env, _) = Env::with_library(3, 0);
    for auth in [None, Some("Bearer garbage"), Some("Basic abc")] {
        let mut r = env.http.get(env.url("/photoslibrary/v1/mediaItems"));
        if let Some(a) = auth {
            r = r.header("authorization", a);
        }
        let r = r.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert!(r.headers().contains_key("www-authenticate"));
        let v: Value = r.json().await.unwrap();
        assert_eq!(
            v,
            json!({"error": {"code": 401, "message": crate::UNAUTHENTICATED, "status": "UNAUTHENTICATED"}})
        );
    }
    // A removed scope is not enough.
    let legacy = env
        .fake
        .mint_tokens(
            ACCOUNT,
            "https://www.googleapis.com/auth/photoslibrary.readonly",
        )
        .access_token;
    assert_eq!(
        env.get("/photoslibrary/v1/albums", &legacy).await.0,
        StatusCode::FORBIDDEN
    );
    // Unknown paths get Google's HTML 404.
    let r = env
        .http
        .get(env.url("/photoslibrary/v2/nothing"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(r.text().await.unwrap().contains("Error 404 (Not Found)!!1"));
    assert!(env.fake.stats().api_requests >= 4);
}

#[tokio::test]
async fn video_statuses_are_visible() {
    let env = Env::new(Default::default());
    env.fake.generate(
        ACCOUNT,
        &GenerateSpec {
            items: 40,
            albums: 2,
            seed: 3,
            videos: Some(3),
            ..GenerateSpec::default()
        },
    );
    let snap = env.fake.library();
    let statuses: Vec<VideoStatus> = snap.accounts[0]
        .items
        .iter()
        .filter_map(|i| i.video_status)
        .collect();
    assert_eq!(statuses.len(), 3);
    assert!(statuses.contains(&VideoStatus::Processing));
}
