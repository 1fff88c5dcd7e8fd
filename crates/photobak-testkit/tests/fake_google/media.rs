//! Media host: downloads, expiry, video redirect, renditions, ranges, big streams.

use std::time::Duration;

use photobak_testkit::fake_google::{
    Content, FakeConfig, ItemEdit, NewItem, READONLY_SCOPE, Sample, VideoStatus,
};
use reqwest::StatusCode;

use crate::{ACCOUNT, Env};

async fn base_url(env: &Env, token: &str, id: &str) -> String {
    let (s, v) = env
        .get(&format!("/photoslibrary/v1/mediaItems/{id}"), token)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["baseUrl"].as_str().unwrap().to_owned()
}

fn setup() -> (Env, String) {
    let env = Env::new(FakeConfig {
        base_url_ttl: Duration::from_secs(60 * 60),
        ..FakeConfig::default()
    });
    env.fake.add_account(ACCOUNT);
    let token = env.fake.mint_tokens(ACCOUNT, READONLY_SCOPE).access_token;
    (env, token)
}

#[tokio::test]
async fn photo_download_matches_snapshot_and_expires() {
    let (env, token) = setup();
    let id = env.fake.add_item(
        ACCOUNT,
        NewItem::photo("a.jpg").content(Content::jpeg(Sample::CoolpixGps21, 9, 300_000)),
    );
    let url = base_url(&env, &token, &id).await;
    let r = env.http.get(format!("{url}=d")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-length"], "300000");
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    let bytes = r.bytes().await.unwrap();
    assert_eq!(&bytes[..], &env.fake.item_bytes(&id)[..]);
    // The sample's EXIF is served, but like Google's `=d`, without its location.
    let sample = Sample::CoolpixGps21.bytes();
    assert!(&bytes[..sample.len()] == photobak_testkit::fake_google::strip_gps(sample).as_slice());
    assert!(&bytes[..sample.len()] != sample);
    let snap = env.fake.library();
    let item = snap.accounts[0].item(&id).unwrap();
    assert_eq!(item.size, 300_000);
    assert_eq!(item.blake3, blake3::hash(&bytes).to_hex().to_string());

    // Renditions are small and different; the bare URL is one too.
    let (s, w) = env.fetch(&format!("{url}=w200-h100")).await;
    assert_eq!(s, StatusCode::OK);
    let (_, c) = env.fetch(&format!("{url}=w200-h100-c")).await;
    let (_, bare) = env.fetch(&url).await;
    assert!(w.len() < 10_000 && bare.len() < 10_000);
    assert_ne!(w, c);
    assert_ne!(w, bytes.to_vec());
    assert_eq!(&w[..2], &[0xFF, 0xD8]);

    // Expiry on the fake's clock.
    env.fake.advance_clock(Duration::from_secs(59 * 60));
    assert_eq!(env.fetch(&format!("{url}=d")).await.0, StatusCode::OK);
    env.fake.advance_clock(Duration::from_secs(2 * 60));
    let (s, body) = env.fetch(&format!("{url}=d")).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(String::from_utf8_lossy(&body).contains("403"));
    // A fresh baseUrl works again (with a fresh access token: the clock moved past its life).
    let token = env.fake.mint_tokens(ACCOUNT, READONLY_SCOPE).access_token;
    let fresh = base_url(&env, &token, &id).await;
    assert_eq!(env.fetch(&format!("{fresh}=d")).await.0, StatusCode::OK);
    // Forged or deleted.
    assert_eq!(
        env.fetch(&format!("{}/lh3/AAAA=d", env.e)).await.0,
        StatusCode::NOT_FOUND
    );
    env.fake.delete_item(&id);
    assert_eq!(
        env.fetch(&format!("{fresh}=d")).await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn video_redirect_and_non_ready_errors() {
    let (env, token) = setup();
    let ready = env.fake.add_item(
        ACCOUNT,
        NewItem::video("v.mp4").content(Content::mp4(5, 200_000)),
    );
    let processing = env.fake.add_item(
        ACCOUNT,
        NewItem::video("p.mp4").video_status(VideoStatus::Processing),
    );
    let failed = env.fake.add_item(
        ACCOUNT,
        NewItem::video("f.mp4").video_status(VideoStatus::Failed),
    );
    let photo = env.fake.add_item(ACCOUNT, NewItem::photo("x.jpg"));

    let url = base_url(&env, &token, &ready).await;
    let r = env.http.get(format!("{url}=dv")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(&format!("{}/video-downloads/", env.e)));
    let r = env.http.get(&location).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "video/mp4");
    let bytes = r.bytes().await.unwrap();
    assert_eq!(bytes.len(), 200_000);
    assert_eq!(&bytes[4..12], b"ftypisom");
    assert_eq!(&bytes[32..36], b"mdat");
    assert_eq!(bytes.to_vec(), env.fake.item_bytes(&ready));

    // =d on a video is a still image, not the video.
    let (s, still) = env.fetch(&format!("{url}=d")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(&still[..2], &[0xFF, 0xD8]);

    let p = base_url(&env, &token, &processing).await;
    assert_eq!(env.fetch(&format!("{p}=dv")).await.0, StatusCode::NOT_FOUND);
    let f = base_url(&env, &token, &failed).await;
    assert_eq!(env.fetch(&format!("{f}=dv")).await.0, StatusCode::FORBIDDEN);
    let ph = base_url(&env, &token, &photo).await;
    assert_eq!(
        env.fetch(&format!("{ph}=dv")).await.0,
        StatusCode::NOT_FOUND
    );

    // Once processing finishes the video downloads.
    env.fake.edit_item(
        &processing,
        ItemEdit {
            video_status: Some(VideoStatus::Ready),
            ..ItemEdit::default()
        },
    );
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let r = client.get(format!("{p}=dv")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "redirect followed");
    assert_eq!(
        r.bytes().await.unwrap().to_vec(),
        env.fake.item_bytes(&processing)
    );
}

#[tokio::test]
async fn ranges() {
    let (env, token) = setup();
    let id = env.fake.add_item(
        ACCOUNT,
        NewItem::photo("r.jpg").content(Content::jpeg(Sample::Canon40D, 1, 150_000)),
    );
    let all = env.fake.item_bytes(&id);
    let url = format!("{}=d", base_url(&env, &token, &id).await);
    let r = env
        .http
        .get(&url)
        .header("range", "bytes=100000-")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(r.headers()["content-range"], "bytes 100000-149999/150000");
    assert_eq!(r.headers()["content-length"], "50000");
    assert_eq!(r.bytes().await.unwrap().to_vec(), all[100_000..]);
    let r = env
        .http
        .get(&url)
        .header("range", "bytes=10-19")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(r.bytes().await.unwrap().to_vec(), all[10..20]);
    let r = env
        .http
        .get(&url)
        .header("range", "bytes=150000-")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(r.headers()["content-range"], "bytes */150000");
    // If-Range with a stale validator gets the whole (new) file.
    let etag = env.http.get(&url).send().await.unwrap().headers()["etag"]
        .to_str()
        .unwrap()
        .to_owned();
    let r = env
        .http
        .get(&url)
        .header("range", "bytes=5-")
        .header("if-range", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    env.fake.edit_item(&id, ItemEdit::regenerate());
    let r = env
        .http
        .get(&url)
        .header("range", "bytes=5-")
        .header("if-range", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let new = r.bytes().await.unwrap();
    assert_ne!(new.to_vec(), all);
    assert_eq!(new.len(), all.len());
}

#[tokio::test]
async fn edits_change_bytes_and_api_fields() {
    let (env, token) = setup();
    let id = env.fake.add_item(ACCOUNT, NewItem::photo("e.jpg"));
    let before = env.fake.library().accounts[0].items[0].clone();
    env.fake.edit_item(&id, ItemEdit::regenerate());
    let after = env.fake.library().accounts[0].items[0].clone();
    assert_ne!(before.blake3, after.blake3);
    assert_ne!((before.width, before.height), (after.width, after.height));
    let (_, v) = env
        .get(&format!("/photoslibrary/v1/mediaItems/{id}"), &token)
        .await;
    assert_eq!(v["mediaMetadata"]["width"], after.width.to_string());
    let url = base_url(&env, &token, &id).await;
    let (_, bytes) = env.fetch(&format!("{url}=d")).await;
    assert_eq!(blake3::hash(&bytes).to_hex().to_string(), after.blake3);
    env.fake.edit_item(
        &id,
        ItemEdit::replace_content(Content::bytes(b"\xFF\xD8hello\xFF\xD9".to_vec())),
    );
    let (_, bytes) = env.fetch(&format!("{url}=d")).await;
    assert_eq!(bytes, b"\xFF\xD8hello\xFF\xD9");
    env.fake
        .edit_item(&id, ItemEdit::set_description("new words"));
    let (_, v) = env
        .get(&format!("/photoslibrary/v1/mediaItems/{id}"), &token)
        .await;
    assert_eq!(v["description"], "new words");
}

/// A 200 MB generated video streams with flat memory; its hash matches the snapshot.
#[tokio::test]
async fn big_item_streams() {
    let (env, token) = setup();
    let size = 200 * 1024 * 1024;
    let id = env.fake.add_item(
        ACCOUNT,
        NewItem::video("big.mp4").content(Content::mp4(77, size)),
    );
    let want = env.fake.library().accounts[0]
        .item(&id)
        .unwrap()
        .blake3
        .clone();
    let url = base_url(&env, &token, &id).await;
    let r = env.http.get(format!("{url}=dv")).send().await.unwrap();
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let mut r = env.http.get(&location).send().await.unwrap();
    assert_eq!(r.headers()["content-length"], size.to_string().as_str());
    let mut hasher = blake3::Hasher::new();
    let mut n = 0u64;
    while let Some(chunk) = r.chunk().await.unwrap() {
        n += chunk.len() as u64;
        hasher.update(&chunk);
    }
    assert_eq!(n, size);
    assert_eq!(hasher.finalize().to_hex().to_string(), want);
    // Nothing held the whole body: the process never came near 200 MB of resident memory.
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        let peak_kb: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0);
        assert!(peak_kb * 1024 < size, "peak RSS {peak_kb} kB");
    }
    let stats = env.fake.stats();
    assert!(stats.media_bytes_sent >= size);
    assert_eq!(stats.media_bodies_completed, 1);
}

#[tokio::test]
async fn media_mirror_redirects_downloads_only() {
    let (env, token) = setup();
    let photo = env.fake.add_item(ACCOUNT, NewItem::photo("m.jpg"));
    let video = env.fake.add_item(
        ACCOUNT,
        NewItem::video("m.mp4").content(Content::mp4(3, 100_000)),
    );
    let purl = base_url(&env, &token, &photo).await;
    let vurl = base_url(&env, &token, &video).await;
    // A video-host URL issued before the mirror is set.
    let r = env.http.get(format!("{vurl}=dv")).send().await.unwrap();
    let video_host = r.headers()["location"].to_str().unwrap().to_owned();

    let (s, v) = env
        .post_json(
            "/_fake/media-mirror",
            "",
            &serde_json::json!({"url": "http://127.0.0.1:9/tree/"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["url"], "http://127.0.0.1:9/tree");
    let before = env.fake.stats().media_bytes_sent;
    for (url, id) in [
        (format!("{purl}=d"), &photo),
        (format!("{vurl}=dv"), &video),
        (video_host.clone(), &video),
    ] {
        let r = env.http.get(&url).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FOUND, "{url}");
        assert_eq!(
            r.headers()["location"],
            format!("http://127.0.0.1:9/tree/{id}").as_str()
        );
    }
    assert_eq!(
        env.fake.stats().media_bytes_sent,
        before,
        "no bytes, only redirects"
    );
    // Renditions and a video's still frame are not in the mirror: still served here.
    let (s, thumb) = env.fetch(&format!("{purl}=w100-h100")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(&thumb[..2], &[0xFF, 0xD8]);
    assert_eq!(env.fetch(&format!("{vurl}=d")).await.0, StatusCode::OK);
    // Checks still come first: a forged URL is 404, not a redirect.
    assert_eq!(
        env.fetch(&format!("{}/lh3/AAAA=d", env.e)).await.0,
        StatusCode::NOT_FOUND
    );
    // Not a URL; then switched off, the bytes come from the fake again.
    let (s, _) = env
        .post_json(
            "/_fake/media-mirror",
            "",
            &serde_json::json!({"url": "tree"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    env.fake.set_media_mirror(None);
    let r = env.http.get(format!("{purl}=d")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.bytes().await.unwrap().to_vec(),
        env.fake.item_bytes(&photo)
    );
}
