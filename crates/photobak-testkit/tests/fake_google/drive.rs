//! Drive API v3: listing with `q`, `fields` and paging; metadata and content with `Range`;
//! Drive's error bodies; the scope check; faults.

use std::collections::BTreeSet;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use md5::Digest as _;
use photobak_testkit::fake_google::{
    DRIVE_READONLY_SCOPE, DriveFileSpec, FakeConfig, Faults, READONLY_SCOPE,
};
use reqwest::StatusCode;
use serde_json::Value;

use crate::{ACCOUNT, Env};

fn md5_hex(b: &[u8]) -> String {
    md5::Md5::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

fn bytes(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// A Drive like Takeout leaves it: a `Takeout` folder with two parts, plus what a client must
/// leave alone.
struct Drive {
    env: Env,
    token: String,
    folder: String,
    part1: String,
    part2: String,
    trashed: String,
    doc: String,
    other_zip: String,
    outside: String,
}

fn drive() -> Drive {
    let env = Env::new(FakeConfig::default());
    let f = &env.fake;
    let folder = f.drive_add(ACCOUNT, DriveFileSpec::folder("Takeout"));
    let part1 = f.drive_add(
        ACCOUNT,
        DriveFileSpec::file("takeout-20260801T101010Z-001.zip", bytes(300_000, 1))
            .in_folder(&folder),
    );
    let part2 = f.drive_add(
        ACCOUNT,
        DriveFileSpec::file("takeout-20260801T101010Z-002.zip", bytes(1000, 2)).in_folder(&folder),
    );
    let trashed = f.drive_add(
        ACCOUNT,
        DriveFileSpec::file("takeout-20260601T101010Z-001.zip", bytes(10, 3))
            .in_folder(&folder)
            .trashed(),
    );
    let doc = f.drive_add(
        ACCOUNT,
        DriveFileSpec::google_doc("takeout-notes").in_folder(&folder),
    );
    let other_zip = f.drive_add(
        ACCOUNT,
        DriveFileSpec::file("holiday.zip", bytes(10, 4)).in_folder(&folder),
    );
    let outside = f.drive_add(
        ACCOUNT,
        DriveFileSpec::file("takeout-20260801T101010Z-003.zip", bytes(10, 5)),
    );
    let token = f.mint_tokens(ACCOUNT, DRIVE_READONLY_SCOPE).access_token;
    Drive {
        env,
        token,
        folder,
        part1,
        part2,
        trashed,
        doc,
        other_zip,
        outside,
    }
}

fn q(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn ids(v: &Value) -> BTreeSet<String> {
    v["files"]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"))
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_owned())
        .collect()
}

fn drive_reason(v: &Value) -> (&str, Option<&str>) {
    let e = &v["error"]["errors"][0];
    (e["reason"].as_str().unwrap_or(""), e["location"].as_str())
}

#[tokio::test]
async fn listing_honours_q_fields_and_paging() {
    let d = drive();
    let env = &d.env;
    // The folder by name.
    let (s, v) = env
        .get(
            &format!(
                "/drive/v3/files?q={}&fields=files(id,name)",
                q(&format!(
                    "name = 'Takeout' and mimeType = '{}' and trashed = false",
                    photobak_testkit::fake_google::FOLDER_MIME
                ))
            ),
            &d.token,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(ids(&v), BTreeSet::from([d.folder.clone()]));
    assert_eq!(v.as_object().unwrap().keys().collect::<Vec<_>>(), ["files"]);
    assert_eq!(
        v["files"][0].as_object().unwrap().len(),
        2,
        "only id and name: {v}"
    );

    // Its children that look like Takeout parts, not trashed, no Docs files.
    let query = format!(
        "'{}' in parents and trashed = false and name contains 'takeout-' and not mimeType contains 'application/vnd.google-apps.'",
        d.folder
    );
    let fields = "nextPageToken,files(id,name,size,md5Checksum,mimeType,createdTime,modifiedTime,parents,trashed)";
    let (s, v) = env
        .get(
            &format!("/drive/v3/files?q={}&fields={}", q(&query), q(fields)),
            &d.token,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(ids(&v), BTreeSet::from([d.part1.clone(), d.part2.clone()]));
    let f = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == d.part1.as_str())
        .unwrap();
    assert_eq!(f["size"], "300000", "size is a string like Google's");
    assert_eq!(f["md5Checksum"], md5_hex(&bytes(300_000, 1)));
    assert_eq!(f["parents"][0], d.folder.as_str());
    assert_eq!(f["trashed"], false);
    assert_eq!(f["mimeType"], "application/zip");
    assert!(f["createdTime"].as_str().unwrap().ends_with('Z'));
    assert!(f.get("kind").is_none());
    assert!(v.get("nextPageToken").is_none());

    // Without `trashed = false` Drive lists the trash too; the default fields are four.
    let (_, v) = env
        .get(
            &format!(
                "/drive/v3/files?q={}",
                q(&format!("'{}' in parents", d.folder))
            ),
            &d.token,
        )
        .await;
    assert!(ids(&v).contains(&d.trashed));
    assert!(ids(&v).contains(&d.doc) && ids(&v).contains(&d.other_zip));
    assert!(!ids(&v).contains(&d.outside));
    assert_eq!(v["kind"], "drive#fileList");
    let keys: BTreeSet<&str> = v["files"][0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, BTreeSet::from(["id", "kind", "mimeType", "name"]));
    // Files at the root are children of 'root'.
    let (_, v) = env
        .get(
            &format!(
                "/drive/v3/files?q={}",
                q(&format!(
                    "'root' in parents and name contains 'takeout' and mimeType != '{}'",
                    photobak_testkit::fake_google::FOLDER_MIME
                ))
            ),
            &d.token,
        )
        .await;
    assert_eq!(ids(&v), BTreeSet::from([d.outside.clone()]));

    // Paging: pages of 2, ordered by name; the token belongs to its query.
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut path = format!(
            "/drive/v3/files?q={}&pageSize=2&orderBy=name&fields=nextPageToken,files(name)",
            q(&format!("'{}' in parents", d.folder))
        );
        if let Some(t) = &token {
            path.push_str(&format!("&pageToken={}", q(t)));
        }
        let (s, v) = env.get(&path, &d.token).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        pages += 1;
        seen.extend(
            v["files"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["name"].as_str().unwrap().to_owned()),
        );
        match v["nextPageToken"].as_str() {
            Some(t) => {
                // Another query with this token is refused.
                let (s, e) = env
                    .get(
                        &format!(
                            "/drive/v3/files?q={}&pageToken={}",
                            q("trashed = true"),
                            q(t)
                        ),
                        &d.token,
                    )
                    .await;
                assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
                assert_eq!(drive_reason(&e), ("invalid", Some("pageToken")));
                token = Some(t.to_owned());
            }
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted);
    assert_eq!(seen.len(), 5);

    // What is not supported is a 400 naming the parameter, as Google's.
    for (path, location) in [
        (format!("/drive/v3/files?q={}", q("starred = true")), "q"),
        (format!("/drive/v3/files?q={}", q("name = 'x' and (")), "q"),
        ("/drive/v3/files?pageSize=0".to_owned(), "pageSize"),
        ("/drive/v3/files?pageSize=1001".to_owned(), "pageSize"),
        (
            "/drive/v3/files?orderBy=quotaBytesUsed".to_owned(),
            "orderBy",
        ),
        ("/drive/v3/files?fields=files(owners)".to_owned(), "fields"),
        ("/drive/v3/files?spaces=appDataFolder".to_owned(), "spaces"),
    ] {
        let (s, v) = env.get(&path, &d.token).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{path}: {v}");
        assert_eq!(drive_reason(&v).1, Some(location), "{path}: {v}");
        assert_eq!(v["error"]["code"], 400);
    }
    // Accepted and harmless.
    let (s, v) = env
        .get(
            "/drive/v3/files?spaces=drive&corpora=user&supportsAllDrives=true&includeItemsFromAllDrives=true&pageSize=1000",
            &d.token,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["files"].as_array().unwrap().len(), 7);
}

#[tokio::test]
async fn metadata_content_ranges_and_errors() {
    let d = drive();
    let env = &d.env;
    let (s, v) = env
        .get(
            &format!(
                "/drive/v3/files/{}?fields=id,name,size,md5Checksum",
                d.part2
            ),
            &d.token,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v.as_object().unwrap().len(), 4);
    assert_eq!(v["size"], "1000");

    let url = env.url(&format!("/drive/v3/files/{}?alt=media", d.part1));
    let r = env
        .http
        .get(&url)
        .bearer_auth(&d.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-length"], "300000");
    assert_eq!(r.bytes().await.unwrap().to_vec(), bytes(300_000, 1));
    let r = env
        .http
        .get(&url)
        .bearer_auth(&d.token)
        .header("Range", "bytes=299000-")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(r.headers()["content-range"], "bytes 299000-299999/300000");
    assert_eq!(
        r.bytes().await.unwrap().to_vec(),
        bytes(300_000, 1)[299_000..].to_vec()
    );
    let r = env
        .http
        .get(&url)
        .bearer_auth(&d.token)
        .header("Range", "bytes=300000-")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::RANGE_NOT_SATISFIABLE);

    // Docs files have no bytes.
    let (s, v) = env
        .get(&format!("/drive/v3/files/{}?alt=media", d.doc), &d.token)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert_eq!(drive_reason(&v).0, "fileNotDownloadable");
    // Unknown ids and other people's files are 404 with Drive's body.
    let other = env.fake.drive_add(
        "bob@example.com",
        DriveFileSpec::file("takeout-20260801T101010Z-001.zip", bytes(5, 9)),
    );
    for id in ["1nope", other.as_str()] {
        let (s, v) = env
            .get(&format!("/drive/v3/files/{id}?alt=media"), &d.token)
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
        assert_eq!(drive_reason(&v), ("notFound", Some("fileId")));
        assert_eq!(v["error"]["message"], format!("File not found: {id}."));
    }

    let stats = env.fake.stats();
    assert_eq!(stats.drive_media_requests, 6);
    assert_eq!(stats.drive_media_requests_by_file[&d.part1], 3);
    assert_eq!(stats.drive_bytes_sent, 301_000);
    assert_eq!(stats.drive_bodies_completed, 2);
    assert_eq!(stats.media_bytes_sent, 0, "Drive bytes are counted apart");
    let log = env.fake.drive_log();
    assert_eq!(log.len() as u64, stats.drive_requests);
    assert!(log.iter().all(|r| r.file_id.as_deref() != Some(&d.outside)));
    assert!(
        log.iter()
            .any(|r| r.media && r.file_id.as_deref() == Some(&d.part1))
    );
    assert!(
        !log.iter()
            .any(|r| r.file_id.as_deref() == Some(&d.other_zip))
    );
}

#[tokio::test]
async fn drive_needs_the_drive_scope_and_the_oauth_flow_grants_it() {
    let d = drive();
    let env = &d.env;
    // A Photos-only token is refused like Google refuses it.
    let photos = env.fake.mint_tokens(ACCOUNT, READONLY_SCOPE).access_token;
    let (s, v) = env.get("/drive/v3/files", &photos).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert_eq!(drive_reason(&v).0, "insufficientPermissions");
    assert_eq!(v["error"]["status"], "PERMISSION_DENIED");
    assert_eq!(
        v["error"]["details"][0]["reason"],
        "ACCESS_TOKEN_SCOPE_INSUFFICIENT"
    );
    let (s, v) = env.get("/drive/v3/files", "ya29.bogus").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    assert_eq!(drive_reason(&v).0, "authError");
    // Media too.
    let (s, _) = env
        .get(&format!("/drive/v3/files/{}?alt=media", d.part1), &photos)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // The browser flow grants what was asked, and that token reads Drive.
    let verifier = "a-verifier-that-is-long-enough-for-pkce-0123456789";
    let challenge = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
    let redirect = "http://127.0.0.1:45679/cb";
    let r = env
        .http
        .get(env.url("/o/oauth2/v2/auth"))
        .query(&[
            ("client_id", "cid"),
            ("redirect_uri", redirect),
            ("response_type", "code"),
            ("scope", DRIVE_READONLY_SCOPE),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
            ("state", "s"),
            ("login_hint", ACCOUNT),
        ])
        .send()
        .await
        .unwrap();
    let loc = url::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
    let code = loc
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let v: Value = env
        .http
        .post(env.url("/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("client_id", "cid"),
            ("client_secret", "sec"),
            ("redirect_uri", redirect),
            ("code_verifier", verifier),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["scope"], DRIVE_READONLY_SCOPE);
    let (s, v) = env
        .get("/drive/v3/files", v["access_token"].as_str().unwrap())
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // …but not the Photos Library.
    let access = env
        .fake
        .mint_tokens(ACCOUNT, DRIVE_READONLY_SCOPE)
        .access_token;
    let (s, _) = env.get("/photoslibrary/v1/mediaItems", &access).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn faults_come_in_drives_shapes() {
    let d = drive();
    let env = &d.env;
    env.fake.set_faults(Faults {
        drive_rate_limit_403_rate: 1.0,
        max_faults: Some(4),
        ..Faults::default()
    });
    for _ in 0..4 {
        let (s, v) = env.get("/drive/v3/files", &d.token).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
        let reason = drive_reason(&v).0;
        assert!(
            reason == "userRateLimitExceeded" || reason == "rateLimitExceeded",
            "{v}"
        );
        assert_eq!(v["error"]["errors"][0]["domain"], "usageLimits");
    }
    let (s, _) = env.get("/drive/v3/files", &d.token).await;
    assert_eq!(s, StatusCode::OK, "the budget is spent");
    assert_eq!(env.fake.stats().faults("drive_403"), 4);

    env.fake.set_faults(Faults {
        api_429_rate: 1.0,
        retry_after_secs: Some(2),
        max_faults: Some(1),
        ..Faults::default()
    });
    let r = env
        .http
        .get(env.url("/drive/v3/files"))
        .bearer_auth(&d.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers()["retry-after"], "2");
    let v: Value = r.json().await.unwrap();
    assert_eq!(drive_reason(&v).0, "rateLimitExceeded");

    env.fake.set_faults(Faults {
        media_5xx_rate: 1.0,
        max_faults: Some(1),
        ..Faults::default()
    });
    let (s, v) = env
        .get(&format!("/drive/v3/files/{}?alt=media", d.part1), &d.token)
        .await;
    assert!(s.is_server_error(), "{v}");
    assert_eq!(drive_reason(&v).0, "backendError");

    // A reset cuts the body; the range resumes it.
    env.fake.set_faults(Faults {
        reset_rate: 1.0,
        max_faults: Some(1),
        ..Faults::default()
    });
    let url = env.url(&format!("/drive/v3/files/{}?alt=media", d.part1));
    let mut r = env
        .http
        .get(&url)
        .bearer_auth(&d.token)
        .send()
        .await
        .unwrap();
    let mut got = Vec::new();
    let mut failed = false;
    loop {
        match r.chunk().await {
            Ok(Some(c)) => got.extend_from_slice(&c),
            Ok(None) => break,
            Err(_) => {
                failed = true;
                break;
            }
        }
    }
    assert!(failed && got.len() < 300_000, "{}", got.len());
    drop(r);
    let r = env
        .http
        .get(&url)
        .bearer_auth(&d.token)
        .header("Range", format!("bytes={}-", got.len()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    got.extend_from_slice(&r.bytes().await.unwrap());
    assert_eq!(md5_hex(&got), md5_hex(&bytes(300_000, 1)));
}

#[tokio::test]
async fn the_control_interface_fills_and_shows_a_drive() {
    let env = Env::new(FakeConfig::default());
    let post = |path: &str, body: Value| {
        let r = env.http.post(env.url(path)).json(&body).send();
        async move {
            let r = r.await.unwrap();
            (r.status(), r.json::<Value>().await.unwrap())
        }
    };
    let (s, v) = post(
        "/_fake/drive",
        serde_json::json!({"account": ACCOUNT, "name": "Takeout",
                           "mime_type": photobak_testkit::fake_google::FOLDER_MIME}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let folder = v["id"].as_str().unwrap().to_owned();
    let (s, v) = post(
        "/_fake/drive",
        serde_json::json!({"account": ACCOUNT, "name": "takeout-20260801T101010Z-001.zip",
                           "content_base64": base64::engine::general_purpose::STANDARD.encode(b"hello"),
                           "parents": [folder], "created_time": "2026-08-01T10:10:10Z"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let part = v["id"].as_str().unwrap().to_owned();
    let (s, v) = post(
        "/_fake/drive",
        serde_json::json!({"account": ACCOUNT, "name": "x", "parents": [part.clone()]}),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "a file is no parent: {v}");
    let (s, _) = post(&format!("/_fake/drive/{part}/trash"), serde_json::json!({})).await;
    assert_eq!(s, StatusCode::OK);
    let v: Value = env
        .http
        .get(env.url(&format!("/_fake/drive?account={ACCOUNT}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let files = v["files"].as_array().unwrap();
    assert_eq!(files.len(), 2);
    assert_eq!(files[1]["md5"], md5_hex(b"hello"));
    assert_eq!(files[1]["size"], 5);
    assert_eq!(files[1]["trashed"], true);
    assert_eq!(files[1]["parents"][0], folder.as_str());
    let token = env
        .fake
        .mint_tokens(ACCOUNT, DRIVE_READONLY_SCOPE)
        .access_token;
    let (_, v) = env
        .get(
            &format!("/drive/v3/files/{part}?fields=createdTime,trashed"),
            &token,
        )
        .await;
    assert_eq!(v["createdTime"], "2026-08-01T10:10:10.000Z");
    assert_eq!(v["trashed"], true);
    let log: Value = env
        .http
        .get(env.url("/_fake/drive/log"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(log["requests"][0]["file_id"], part.as_str());
    assert_eq!(log["requests"][0]["media"], false);
}
