//! `photobak pick` end to end: the real binary against the fake Google service, whose scripted
//! Picker user picks while the binary polls.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Env, TAKEOUT_ACCOUNT, hash_hex, write_parts};
use photobak_testkit::fake_google::{
    Content, FakeConfig, Faults, ItemEdit, NewItem, READONLY_SCOPE, Sample, VideoStatus,
};
use photobak_testkit::takeout_gen::{ExportSpec, ItemSpec};

const A: &str = "alice@example.com";

/// Photos `IMG_0000.JPG…` of `A`, each with its own bytes; their ids.
fn photos(env: &Env, n: usize) -> Vec<String> {
    photos_from(env, 0, n)
}

fn photos_from(env: &Env, first: usize, n: usize) -> Vec<String> {
    (first..first + n)
        .map(|i| {
            env.fake
                .add_item(A, NewItem::photo(&format!("IMG_{i:04}.JPG")))
        })
        .collect()
}

fn ids(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// `photobak pick --googlephotos A ARGS… --json`: the session line (absent when the session
/// was picked already) and the report.
fn pick_json(env: &Env, args: &[&str]) -> (serde_json::Value, serde_json::Value) {
    pick_json_for(env, A, args)
}

fn pick_json_for(
    env: &Env,
    account: &str,
    args: &[&str],
) -> (serde_json::Value, serde_json::Value) {
    let mut all = vec!["pick", "--googlephotos", account, "--json"];
    all.extend_from_slice(args);
    let out = env.ok(&all);
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    match &lines[..] {
        [report] => (serde_json::Value::Null, report.clone()),
        [session, report] => (session.clone(), report.clone()),
        other => panic!("{other:?}"),
    }
}

/// Where the index says each item of `A` is stored: remote id → (path, hash).
fn stored(env: &Env) -> std::collections::BTreeMap<String, (String, String)> {
    let db = env.db();
    let mut st = db
        .prepare(
            "SELECT i.remote_id, c.path FROM items i JOIN content c ON c.id = i.content_id
             JOIN accounts a ON a.id = i.account_id WHERE a.name = ?1",
        )
        .unwrap();
    st.query_map([A], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })
    .unwrap()
    .map(|r| {
        let (id, path) = r.unwrap();
        let hash = hash_hex(&env.repo.join(&path));
        (id, (path, hash))
    })
    .collect()
}

fn session_state(env: &Env, id: &str) -> (String, i64) {
    env.db()
        .query_row(
            "SELECT state, items FROM picker_sessions WHERE session_id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
}

fn count(env: &Env, sql: &str) -> i64 {
    env.db().query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn a_full_pick_over_several_pages_with_expiring_urls_stores_every_item_byte_exact() {
    let env = Env::with_config(FakeConfig {
        base_url_ttl: Duration::from_millis(300),
        ..FakeConfig::default()
    });
    env.auth(A);
    let all = photos(&env, 230);
    env.fake
        .script_picker_user(A, &ids(&all), Duration::from_secs(1));
    // Slow bodies keep later items of a page waiting past their URL's life.
    env.fake.set_faults(Faults {
        slow_body_ms_per_chunk: 30,
        ..Faults::default()
    });
    let (session, report) = pick_json(&env, &[]);
    let id = session["session"].as_str().unwrap();
    assert!(
        session["picker_uri"].as_str().unwrap().contains(id),
        "{session}"
    );
    assert_eq!(report["run"]["new"], 230, "{report}");
    assert_eq!(report["run"]["failed"].as_array().unwrap().len(), 0);
    assert_eq!(report["session_deleted"], true);
    // Every item is stored with the bytes the Picker serves, in its year folder.
    let got = stored(&env);
    assert_eq!(got.len(), 230);
    for item in &all {
        let (path, hash) = &got[item];
        assert!(path.contains("/Photos from "), "{path}");
        let want = blake3::hash(&env.fake.item_bytes(item))
            .to_hex()
            .to_string();
        assert_eq!(hash, &want, "{path}");
    }
    // Some base URLs expired and were refreshed by listing their page again.
    let stats = env.fake.stats();
    assert!(stats.media_requests > 230, "{stats:?}");
    assert_eq!(
        count(
            &env,
            "SELECT count(*) FROM provenance WHERE source = 'picker'"
        ),
        230
    );
    // The session is deleted at Google and done in the index.
    assert!(env.fake.picker_sessions(A).is_empty());
    assert_eq!(session_state(&env, id), ("done".into(), 230));
    assert_eq!(env.tmp_leftovers(), 0);
}

#[test]
fn a_video_still_processing_is_reported_and_stored_when_picked_again() {
    let env = Env::new();
    env.auth(A);
    let mut picks = photos(&env, 2);
    let video = env.fake.add_item(
        A,
        NewItem::video("VID_0001.MP4").video_status(VideoStatus::Processing),
    );
    picks.push(video.clone());
    env.fake.script_picker_user(A, &ids(&picks), Duration::ZERO);
    let out = env.ok(&["pick", "--googlephotos", A]);
    assert!(out.contains("2 new"), "{out}");
    assert!(out.contains("1 video still processing at Google"), "{out}");
    assert!(!stored(&env).contains_key(&video));

    env.fake.edit_item(
        &video,
        ItemEdit {
            video_status: Some(VideoStatus::Ready),
            ..ItemEdit::default()
        },
    );
    let media_before = env.fake.stats().media_requests;
    let (_, report) = pick_json(&env, &[]);
    assert_eq!(report["run"]["new"], 1, "{report}");
    assert_eq!(report["run"]["unchanged"], 2, "{report}");
    let got = stored(&env);
    let want = blake3::hash(&env.fake.item_bytes(&video))
        .to_hex()
        .to_string();
    assert_eq!(got[&video].1, want);
    // Only the video was downloaded (=dv redirects to the video host: two requests).
    assert_eq!(env.fake.stats().media_requests - media_before, 2);
}

#[test]
fn nothing_picked_before_the_timeout_is_a_clear_error() {
    let env = Env::with_config(FakeConfig {
        picker_poll_timeout: Duration::from_secs(2),
        ..FakeConfig::default()
    });
    env.auth(A);
    photos(&env, 1);
    let out = env.run(&["pick", "--googlephotos", A]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("nothing was picked before the session's picking time ran out"),
        "{stderr}"
    );
    assert!(stderr.contains("hint: start a new session"), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("/picker/"), "the link is shown: {stdout}");
    // The useless session is deleted at Google and expired in the index; nothing is stored.
    assert!(env.fake.picker_sessions(A).is_empty());
    assert_eq!(
        count(
            &env,
            "SELECT count(*) FROM picker_sessions WHERE state = 'expired'"
        ),
        1
    );
    assert_eq!(count(&env, "SELECT count(*) FROM items"), 0);
}

fn until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn spawn(env: &Env, args: &[&str]) -> Child {
    env.cmd()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn an_interrupted_pick_is_resumed_with_its_session_and_a_gone_one_is_a_clear_error() {
    let env = Env::with_config(FakeConfig {
        picker_session_ttl: Duration::from_secs(3600),
        ..FakeConfig::default()
    });
    env.auth(A);
    let all = photos(&env, 3);
    // Nobody picks yet: Ctrl-C while polling.
    let child = spawn(&env, &["pick", "--googlephotos", A]);
    until("the session", || !env.fake.picker_sessions(A).is_empty());
    let id = env.fake.picker_sessions(A)[0].clone();
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains(&format!("--session {id}")), "{stderr}");
    // The session lives on at Google and in the index.
    assert_eq!(env.fake.picker_sessions(A), vec![id.clone()]);
    assert_eq!(session_state(&env, &id).0, "open");

    // The user picks later; the session is resumed, not created anew.
    env.fake.complete_picking(&id, &ids(&all[..2]));
    let (session, report) = pick_json(&env, &["--session", &id]);
    assert_eq!(session, serde_json::Value::Null, "{session}");
    assert_eq!(report["session"]["id"], id.as_str());
    assert_eq!(report["session"]["resumed"], true);
    assert_eq!(report["run"]["new"], 2, "{report}");
    assert_eq!(session_state(&env, &id), ("done".into(), 2));
    assert!(env.fake.picker_sessions(A).is_empty());

    // A finished session cannot be resumed; nor one that expired at Google.
    let out = env.run(&["pick", "--googlephotos", A, "--session", &id]);
    assert_eq!(out.status.code(), Some(2));
    let mut child = spawn(&env, &["pick", "--googlephotos", A]);
    until("a second session", || {
        !env.fake.picker_sessions(A).is_empty()
    });
    let second = env.fake.picker_sessions(A)[0].clone();
    assert!(
        Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    assert_eq!(child.wait().unwrap().code(), Some(130));
    env.fake.advance_clock(Duration::from_secs(2 * 3600));
    let out = env.run(&["pick", "--googlephotos", A, "--session", &second]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "error: Picker session {second}: it expired or was deleted at Google"
        )),
        "{stderr}"
    );
    // Which of the two it was is decided on photobak's clock, which the fake's advanced clock
    // does not move: the session is recorded as gone before its expireTime (deleted).
    assert_eq!(session_state(&env, &second).0, "deleted");
}

#[test]
fn a_second_session_overlapping_the_first_downloads_only_the_new_items() {
    let env = Env::new();
    env.auth(A);
    let all = photos(&env, 5);
    // The user would pick all five; --max-items lets three through.
    env.fake.script_picker_user(A, &ids(&all), Duration::ZERO);
    let (_, first) = pick_json(&env, &["--max-items", "3"]);
    assert_eq!(first["run"]["new"], 3, "{first}");
    let before = stored(&env);
    let tree = env.tree_state();
    let media_before = env.fake.stats().media_requests;
    env.fake
        .script_picker_user(A, &ids(&all[1..]), Duration::ZERO);
    let (_, second) = pick_json(&env, &[]);
    assert_eq!(second["run"]["new"], 2, "{second}");
    assert_eq!(second["run"]["unchanged"], 2, "{second}");
    assert_eq!(
        env.fake.stats().media_requests - media_before,
        2,
        "only the two new items were downloaded"
    );
    let after = stored(&env);
    assert_eq!(after.len(), 5);
    for (id, file) in &before {
        assert_eq!(&after[id], file, "{id} moved or changed");
    }
    // Files of the first session were not rewritten.
    let now = env.tree_state();
    assert!(tree.iter().all(|(p, s)| now.get(p) == Some(s)));
    assert_eq!(
        count(
            &env,
            "SELECT count(*) FROM picker_sessions WHERE state = 'done'"
        ),
        2
    );
}

#[test]
fn picked_items_equal_by_content_to_library_items_are_stored_once() {
    let env = Env::new();
    env.auth(A);
    let same = || Content::jpeg(Sample::Canon40D, 11, 24 * 1024);
    let backed_up = photos(&env, 3);
    let original = env
        .fake
        .add_item(A, NewItem::photo("ORIGINAL.JPG").content(same()));
    env.backup(&[A]);
    let files_before = count(&env, "SELECT count(*) FROM content");
    // The user picks the backed-up items and a copy with the same bytes under another id.
    let copy = env
        .fake
        .add_item(A, NewItem::photo("COPY.JPG").content(same()));
    let mut picks = backed_up.clone();
    picks.push(original.clone());
    picks.push(copy.clone());
    env.fake.script_picker_user(A, &ids(&picks), Duration::ZERO);
    let media_before = env.fake.stats().media_requests;
    let (_, report) = pick_json(&env, &[]);
    assert_eq!(report["run"]["new"], 0, "{report}");
    assert_eq!(report["run"]["deduplicated"], 1, "{report}");
    assert_eq!(report["run"]["unchanged"], 4, "{report}");
    // Only the copy was downloaded (to learn its bytes); no new file.
    assert_eq!(env.fake.stats().media_requests - media_before, 1);
    assert_eq!(count(&env, "SELECT count(*) FROM content"), files_before);
    let got = stored(&env);
    assert_eq!(got[&copy].0, got[&original].0, "one file for both");
    // The items backed up through the Library API now name the Picker as a source too.
    assert_eq!(
        count(
            &env,
            "SELECT count(*) FROM provenance p JOIN provenance q ON q.item_id = p.item_id
             WHERE p.source = 'library' AND q.source = 'picker'"
        ),
        4
    );
}

#[test]
fn a_picked_photo_that_is_in_an_imported_takeout_export_is_linked_to_it() {
    let env = Env::new();
    let mut spec = ExportSpec::new("20260101T000000Z").account(TAKEOUT_ACCOUNT);
    spec.items = (0..3)
        .map(|i| ItemSpec::new(&format!("k{i}"), &format!("PXL_{i:04}.jpg")))
        .collect();
    env.import_takeout(&write_parts(&spec, &env.dir.path().join("export")), &[]);
    env.auth(TAKEOUT_ACCOUNT);
    // The same photo in the library: same name and capture time; the Picker serves it
    // without its location, so its bytes differ from the Takeout file.
    let (takeout_id, name, when): (i64, String, String) = env
        .db()
        .query_row(
            "SELECT id, filename, strftime('%Y-%m-%dT%H:%M:%SZ', taken_at, 'unixepoch')
             FROM items WHERE filename = 'PXL_0001.jpg'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    let takeout_file = stored_paths(&env);
    let twin = env
        .fake
        .add_item(TAKEOUT_ACCOUNT, NewItem::photo(&name).created(&when));
    // Same name, another time: another photo.
    let other = env.fake.add_item(
        TAKEOUT_ACCOUNT,
        NewItem::photo("PXL_0002.jpg").created("2001-01-01T00:00:00Z"),
    );
    env.fake.script_picker_user(
        TAKEOUT_ACCOUNT,
        &[twin.as_str(), other.as_str()],
        Duration::ZERO,
    );
    let media_before = env.fake.stats().media_requests;
    let (_, report) = pick_json_for(&env, TAKEOUT_ACCOUNT, &[]);
    let linked = report["run"]["linked"].as_array().unwrap();
    assert_eq!(linked.len(), 1, "{report}");
    assert!(linked[0].as_str().unwrap().contains(&name), "{report}");
    assert_eq!(report["run"]["new"], 1, "{report}");
    // The twin was not downloaded; the other photo was.
    assert_eq!(env.fake.stats().media_requests - media_before, 1);
    // One item with two sources; the Takeout bytes stay its file.
    let sources: Vec<(String, Option<String>)> = {
        let db = env.db();
        let mut st = db
            .prepare("SELECT source, source_ref FROM provenance WHERE item_id = ?1 ORDER BY source")
            .unwrap();
        st.query_map([takeout_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    assert_eq!(sources.len(), 2, "{sources:?}");
    assert_eq!(sources[0], ("picker".to_string(), Some(twin.clone())));
    assert_eq!(sources[1].0, "takeout");
    assert_eq!(
        count(
            &env,
            &format!("SELECT count(*) FROM items WHERE remote_id = '{twin}'")
        ),
        0,
        "no second item for the twin"
    );
    let now = stored_paths(&env);
    assert!(takeout_file.iter().all(|(k, v)| now.get(k) == Some(v)));
    // The human summary says what was linked.
    env.fake
        .script_picker_user(TAKEOUT_ACCOUNT, &[twin.as_str()], Duration::ZERO);
    let out = env.ok(&["pick", "--googlephotos", TAKEOUT_ACCOUNT]);
    assert!(out.contains(&format!("linked: {name}")), "{out}");
}

#[test]
fn a_photo_picked_before_its_export_is_imported_becomes_one_item_with_the_takeout_original() {
    let env = Env::new();
    let mut spec = ExportSpec::new("20260101T000000Z").account(TAKEOUT_ACCOUNT);
    spec.items = (0..3)
        .map(|i| ItemSpec::new(&format!("k{i}"), &format!("PXL_{i:04}.jpg")))
        .collect();
    let photobak_testkit::takeout_gen::TakenAt::At(t) = spec.items[1].taken_at else {
        panic!("a dated item");
    };
    let when = jiff::Timestamp::from_second(t)
        .unwrap()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    // Picked first: the same photo as the export's PXL_0001.jpg, without its location.
    env.auth(TAKEOUT_ACCOUNT);
    let twin = env.fake.add_item(
        TAKEOUT_ACCOUNT,
        NewItem::photo("PXL_0001.jpg").created(&when),
    );
    env.fake
        .script_picker_user(TAKEOUT_ACCOUNT, &[twin.as_str()], Duration::ZERO);
    let (_, report) = pick_json_for(&env, TAKEOUT_ACCOUNT, &[]);
    assert_eq!(report["run"]["new"], 1, "{report}");
    let picked_copy = stored_paths(&env);
    assert_eq!(picked_copy.len(), 1);

    // Then the export: the picked item becomes its Takeout item, the original replaces the copy.
    let parts = write_parts(&spec, &env.dir.path().join("export"));
    let out = env.import_takeout(&parts, &[]);
    assert!(
        out.contains("PXL_0001.jpg") && out.contains("replaces the picked copy"),
        "{out}"
    );
    assert_eq!(
        count(
            &env,
            "SELECT count(*) FROM items WHERE filename = 'PXL_0001.jpg'"
        ),
        1,
        "one item for the photo"
    );
    let sources: Vec<String> = {
        let db = env.db();
        let mut st = db
            .prepare(
                "SELECT p.source FROM provenance p JOIN items i ON i.id = p.item_id
                 WHERE i.filename = 'PXL_0001.jpg' ORDER BY p.source",
            )
            .unwrap();
        st.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    assert_eq!(sources, vec!["picker".to_string(), "takeout".to_string()]);
    // The same export imported into an empty repository gives the Takeout bytes to compare.
    let reference = env.dir.path().join("reference");
    let r = env
        .cmd_for(&reference)
        .args(["import", "takeout"])
        .args(&parts)
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let original: std::collections::BTreeSet<String> = {
        let db = rusqlite::Connection::open(reference.join("photobak.db")).unwrap();
        let mut st = db.prepare("SELECT path FROM content").unwrap();
        st.query_map([], |r| r.get::<_, String>(0))
            .unwrap()
            .map(|p| hash_hex(&reference.join(p.unwrap())))
            .collect()
    };
    let now: std::collections::BTreeSet<String> = stored_paths(&env).into_values().collect();
    assert_eq!(now, original, "the export's originals, and no picked copy");
    assert!(picked_copy.values().all(|h| !now.contains(h)));
    // The rerun changes nothing (read again: recorded as imported, it would read nothing),
    // and a new pick of the same item is linked, not stored.
    assert!(env.import_takeout(&parts, &[]).contains("already imported"));
    let again = env.import_takeout(&parts, &["--reread"]);
    assert!(again.contains("0 new"), "{again}");
    env.fake
        .script_picker_user(TAKEOUT_ACCOUNT, &[twin.as_str()], Duration::ZERO);
    let (_, report) = pick_json_for(&env, TAKEOUT_ACCOUNT, &[]);
    assert_eq!(report["run"]["new"], 0, "{report}");
    assert_eq!(
        report["run"]["linked"].as_array().map(Vec::len),
        Some(1),
        "{report}"
    );
    assert_eq!(
        stored_paths(&env)
            .into_values()
            .collect::<std::collections::BTreeSet<_>>(),
        original
    );
}

/// Every stored file with its hash.
fn stored_paths(env: &Env) -> std::collections::BTreeMap<String, String> {
    let db = env.db();
    let mut st = db.prepare("SELECT path FROM content").unwrap();
    st.query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(|p| {
            let p = p.unwrap();
            let h = hash_hex(&env.repo.join(&p));
            (p, h)
        })
        .collect()
}

#[test]
fn an_authorisation_without_the_picker_scope_says_to_authorise_again() {
    let env = Env::new();
    env.auth(A);
    photos(&env, 1);
    // Credentials from before photobak asked for the Picker: the Library scope only.
    let t = env.fake.mint_tokens(A, READONLY_SCOPE);
    let json = serde_json::json!({
        "access_token": t.access_token,
        "refresh_token": t.refresh_token,
        "expires_at": 4_000_000_000i64,
        "scope": t.scope,
    });
    env.db()
        .execute(
            "UPDATE accounts SET credentials = ?1 WHERE name = ?2",
            [json.to_string(), A.to_string()],
        )
        .unwrap();
    let out = env.run(&["pick", "--googlephotos", A]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("does not include the Google Photos Picker")
            && stderr.contains(&format!("run `photobak auth --googlephotos {A}` again")),
        "{stderr}"
    );
    assert_eq!(count(&env, "SELECT count(*) FROM picker_sessions"), 0);
}

#[test]
fn rate_limits_are_waited_out_and_a_used_up_quota_keeps_the_session() {
    let env = Env::new();
    env.auth(A);
    let all = photos(&env, 4);
    env.fake.script_picker_user(A, &ids(&all), Duration::ZERO);
    // 429s on the Picker API and the media host: paused, retried, done.
    env.fake.set_faults(Faults {
        api_429_rate: 0.5,
        media_429_rate: 0.5,
        max_faults: Some(4),
        ..Faults::default()
    });
    let (_, report) = pick_json(&env, &[]);
    assert_eq!(report["run"]["new"], 4, "{report}");
    let stats = env.fake.stats();
    assert!(
        stats.faults("api_429") + stats.faults("media_429") > 0,
        "{stats:?}"
    );

    // The media quota runs out after two items: the run stops, says so, and keeps the
    // session so `--session` finishes it once the quota is back.
    let more = photos_from(&env, 10, 4);
    env.fake.script_picker_user(A, &ids(&more), Duration::ZERO);
    env.fake.reset_quota();
    env.fake.set_faults(Faults {
        media_daily_quota: Some(2),
        ..Faults::default()
    });
    let out = env.run(&["pick", "--googlephotos", A, "--json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("quota"), "{stderr}");
    let id = env.fake.picker_sessions(A)[0].clone();
    assert!(stderr.contains(&format!("--session {id}")), "{stderr}");
    assert_eq!(session_state(&env, &id).0, "picked");
    env.fake.reset_quota();
    env.fake.set_faults(Faults::default());
    let (_, report) = pick_json(&env, &["--session", &id]);
    assert!(report["session_deleted"] == true, "{report}");
    assert_eq!(stored(&env).len(), 8);
    assert_eq!(session_state(&env, &id), ("done".into(), 4));
}
