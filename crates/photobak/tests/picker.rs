//! `photobak pick` end to end: the real binary against the fake Google service, whose scripted
//! Picker user picks while the binary polls.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Env, hash_hex};
use photobak_testkit::fake_google::{FakeConfig, Faults, ItemEdit, NewItem, VideoStatus};

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
    let mut all = vec!["pick", "--googlephotos", A, "--json"];
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
