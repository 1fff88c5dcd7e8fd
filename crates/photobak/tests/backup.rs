//! The backup engine end to end: the real binary against the fake Google service over loopback.

mod common;

use std::time::Duration;

use common::{Env, assert_matches_library, hash_hex};
use photobak_testkit::fake_google::{
    Content, FakeConfig, Faults, GenerateSpec, ItemEdit, NewItem, Sample, Sizes, VideoStatus,
};

const A: &str = "alice@example.com";
const B: &str = "bob+photos@example.com";

fn generated(env: &Env, account: &str, items: usize, albums: usize, seed: u64) {
    env.fake.add_account(account);
    env.fake.generate(
        account,
        &GenerateSpec {
            items,
            albums,
            seed,
            sizes: Sizes::Tiny,
            videos: None,
        },
    );
}

#[test]
fn full_backup_equals_the_library_and_a_rerun_changes_nothing() {
    let env = Env::new();
    generated(&env, A, 60, 6, 7);
    env.auth(A);
    let out = env.backup(&[A]);
    assert!(out.contains(&format!("{A}:")), "{out}");
    let snap = env.fake.library();
    let n = assert_matches_library(&env, &snap, A);
    assert!(n >= 55, "{n}");
    assert_eq!(env.tmp_leftovers(), 0);

    let before = env.tree_state();
    let media_before = env.fake.stats().media_requests;
    let out = env.backup(&[A]);
    assert!(
        out.contains("0 new") && out.contains("(nothing changed)"),
        "{out}"
    );
    assert_eq!(
        env.fake.stats().media_requests,
        media_before,
        "a rerun downloaded something"
    );
    assert_eq!(env.tree_state(), before, "a rerun rewrote files");
}

#[test]
fn remote_edits_additions_and_album_moves_are_picked_up() {
    let env = Env::new();
    env.fake.add_account(A);
    let trip = env.fake.add_album(A, "Trip to Rome");
    let family = env.fake.add_album(A, "Family");
    let p1 = env
        .fake
        .add_item(A, NewItem::photo("IMG_0001.JPG").in_album(&trip));
    let p2 = env
        .fake
        .add_item(A, NewItem::photo("IMG_0002.JPG").in_album(&trip));
    let p3 = env
        .fake
        .add_item(A, NewItem::photo("IMG_0003.JPG").in_album(&trip));
    env.auth(A);
    env.backup(&[A]);
    let old_p2_path: String = env
        .db()
        .query_row(
            "SELECT c.path FROM items i JOIN content c ON c.id = i.content_id WHERE remote_id = ?1",
            [&p2],
            |r| r.get(0),
        )
        .unwrap();

    env.fake.edit_item(
        &p1,
        ItemEdit {
            description: Some("Colosseum at dusk".into()),
            ..ItemEdit::default()
        },
    );
    env.fake.edit_item(&p2, ItemEdit::regenerate());
    let p4 = env
        .fake
        .add_item(A, NewItem::photo("IMG_0004.JPG").in_album(&family));
    env.fake.remove_from_album(&trip, &[&p3]);
    env.fake.add_to_album(&family, &[&p3]);

    let media_before = env.fake.stats().media_requests;
    let out = env.backup(&[A]);
    // New: p4. Updated: p1 (caption, no download), p2 (bytes), p3 (a new album).
    assert!(out.contains("1 new"), "{out}");
    assert!(out.contains("3 updated"), "{out}");
    // Only p2's new bytes and p4 were downloaded.
    assert_eq!(env.fake.stats().media_requests - media_before, 2);
    let snap = env.fake.library();
    assert_matches_library(&env, &snap, A);
    let db = env.db();
    let desc: String = db
        .query_row(
            "SELECT description FROM items WHERE remote_id = ?1",
            [&p1],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(desc, "Colosseum at dusk");
    // The edited bytes replaced the item's own file in place.
    let p2_path: String = db
        .query_row(
            "SELECT c.path FROM items i JOIN content c ON c.id = i.content_id WHERE remote_id = ?1",
            [&p2],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(p2_path, old_p2_path);
    assert_eq!(
        hash_hex(&env.repo.join(&p2_path)),
        snap.account(A).unwrap().item(&p2).unwrap().blake3
    );
    let _ = p4;
}

/// A relisted library of several pages, in and out of albums, with one item's bytes and
/// another's caption changed among many unchanged ones: the unchanged items are recognised
/// without their lookup (`KnownItems`), and still every item's sighting is recorded, the
/// changed bytes are fetched (and nothing else), the caption recorded; the next run again
/// changes nothing.
#[test]
fn one_changed_item_among_many_relisted_is_fetched_and_the_rest_only_sighted() {
    let env = Env::new();
    generated(&env, A, 260, 3, 11);
    env.auth(A);
    env.backup(&[A]);
    let snap = env.fake.library();
    let items = &snap.account(A).unwrap().items;
    let (bytes_edit, caption_edit) = (items[130].id.clone(), items[201].id.clone());
    env.fake.edit_item(&bytes_edit, ItemEdit::regenerate());
    env.fake.edit_item(
        &caption_edit,
        ItemEdit {
            description: Some("edited caption".into()),
            ..ItemEdit::default()
        },
    );
    let media_before = env.fake.stats().media_requests;
    let out = env.backup(&[A]);
    assert!(out.contains("0 new") && out.contains("2 updated"), "{out}");
    assert_eq!(
        env.fake.stats().media_requests - media_before,
        1,
        "only the edited bytes are fetched"
    );
    let snap = env.fake.library();
    assert_matches_library(&env, &snap, A);
    let db = env.db();
    let last_run: i64 = db
        .query_row("SELECT max(id) FROM runs", [], |r| r.get(0))
        .unwrap();
    let not_sighted: i64 = db
        .query_row(
            "SELECT count(*) FROM items i JOIN provenance p ON p.item_id = i.id
             WHERE i.seen_run IS NOT ?1 OR p.last_seen != i.last_seen",
            [last_run],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(not_sighted, 0, "every listed item's sighting is recorded");
    let caption: String = db
        .query_row(
            "SELECT description FROM items WHERE remote_id = ?1",
            [&caption_edit],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(caption, "edited caption");

    let before = env.tree_state();
    let media_before = env.fake.stats().media_requests;
    let out = env.backup(&[A]);
    assert!(out.contains("(nothing changed)"), "{out}");
    assert_eq!(env.fake.stats().media_requests, media_before);
    assert_eq!(env.tree_state(), before, "a rerun rewrote files");
}

#[test]
fn the_same_photo_in_two_albums_and_two_accounts_is_stored_once() {
    let env = Env::new();
    let bytes = Content::bytes(std::fs::read(photo_sample()).unwrap());
    env.fake.add_account(A);
    env.fake.add_account(B);
    let x = env.fake.add_album(A, "Holidays");
    let y = env.fake.add_album(A, "Best of");
    let auto = env.fake.add_album(A, "Auto Backup");
    env.fake.add_item(
        A,
        NewItem::photo("DSCN0010.jpg")
            .content(bytes.clone())
            .in_album(&auto)
            .in_album(&x)
            .in_album(&y),
    );
    let z = env.fake.add_album(B, "Shared with Alice");
    env.fake.add_item(
        B,
        NewItem::photo("copy.jpg")
            .content(bytes.clone())
            .in_album(&z),
    );
    env.auth(A);
    env.auth(B);
    env.backup(&[A]);
    let out = env.backup(&[B]);
    assert!(out.contains("1 deduplicated"), "{out}");
    let snap = env.fake.library();
    assert_matches_library(&env, &snap, A);
    assert_matches_library(&env, &snap, B);
    let db = env.db();
    let files: i64 = db
        .query_row("SELECT count(*) FROM content", [], |r| r.get(0))
        .unwrap();
    assert_eq!(files, 1, "identical bytes must be stored once");
    let (path, reason): (String, String) = db
        .query_row("SELECT path, home_reason FROM content", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    // The file lives in a user album, not in the automatic one: user albums are listed first,
    // so the download starts there, and the reason says why (how many of the item's albums
    // were known when it was stored depends on how far the listing got meanwhile).
    assert!(path.contains("/Holidays/"), "{path}");
    assert!(
        reason.contains("user albums") || reason.contains("its only album"),
        "{reason}"
    );
    // Camera and time were read from the stored file itself; the location was not, because
    // Google's `=d` strips it (only a Takeout export brings it back).
    let (lat, make, local): (Option<f64>, String, String) = db
        .query_row(
            "SELECT file_lat, file_make, file_local FROM content",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(lat, None);
    assert_eq!(make, "NIKON");
    assert_eq!(local, "2008-10-22T16:28:39");
}

#[test]
fn an_update_to_a_shared_file_copies_on_write() {
    let env = Env::new();
    let bytes = Content::bytes(std::fs::read(photo_sample()).unwrap());
    env.fake.add_account(A);
    env.fake.add_account(B);
    let a_item = env
        .fake
        .add_item(A, NewItem::photo("same.jpg").content(bytes.clone()));
    let b_item = env
        .fake
        .add_item(B, NewItem::photo("same.jpg").content(bytes.clone()));
    env.auth(A);
    env.auth(B);
    env.backup(&[A, B]);
    env.fake.edit_item(&b_item, ItemEdit::regenerate());
    env.backup(&[A, B]);
    let snap = env.fake.library();
    assert_matches_library(&env, &snap, A);
    assert_matches_library(&env, &snap, B);
    let a_hash = &snap.account(A).unwrap().item(&a_item).unwrap().blake3;
    let b_hash = &snap.account(B).unwrap().item(&b_item).unwrap().blake3;
    assert_ne!(a_hash, b_hash);
    let files: i64 = env
        .db()
        .query_row("SELECT count(*) FROM content", [], |r| r.get(0))
        .unwrap();
    assert_eq!(files, 2);
}

#[test]
fn faults_still_end_byte_exact() {
    let env = Env::with_config(FakeConfig {
        seed: 99,
        base_url_ttl: Duration::from_secs(3),
        access_token_lifetime: Duration::from_secs(130),
        ..FakeConfig::default()
    });
    env.fake.add_account(A);
    env.fake.generate(
        A,
        &GenerateSpec {
            // Enough requests that every kind of fault below is all but certain to happen
            // (the fake draws them from one random stream, in whatever order requests come):
            // with 40 items and 5 % of 429s, about one run in 13 saw none.
            items: 60,
            albums: 4,
            seed: 3,
            sizes: Sizes::Tiny,
            videos: Some(3),
        },
    );
    env.auth(A);
    env.fake.set_faults(Faults {
        api_5xx_rate: 0.10,
        media_5xx_rate: 0.10,
        api_429_rate: 0.08,
        media_429_rate: 0.08,
        retry_after_secs: Some(1),
        reset_rate: 0.05,
        truncate_rate: 0.05,
        slow_body_ms_per_chunk: 1,
        short_pages: true,
        ..Faults::default()
    });
    // Tokens expire mid-run: the client refreshes on 401 and goes on.
    env.fake.expire_access_tokens();
    let out = env.run(&["backup", "--googlephotos", A, "--concurrency", "4"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stats = env.fake.stats();
    assert!(
        stats.faults("api_5xx") + stats.faults("media_5xx") > 0,
        "{stats:?}"
    );
    assert!(
        stats.faults("reset") + stats.faults("truncate") > 0,
        "{stats:?}"
    );
    assert!(
        stats.faults("api_429") + stats.faults("media_429") > 0,
        "{stats:?}"
    );
    assert!(stats.token_refreshes >= 1);
    env.fake.set_faults(Faults::default());
    let snap = env.fake.library();
    assert_matches_library(&env, &snap, A);
    assert_eq!(env.tmp_leftovers(), 0);
}

#[test]
fn expired_base_urls_are_refreshed_and_retried() {
    let env = Env::with_config(FakeConfig {
        base_url_ttl: Duration::from_millis(500),
        ..FakeConfig::default()
    });
    env.fake.add_account(A);
    for i in 0..8 {
        env.fake.add_item(
            A,
            NewItem::photo(&format!("IMG_{i}.JPG")).content(Content::jpeg(
                Sample::Canon40D,
                i,
                256 * 1024,
            )),
        );
    }
    env.auth(A);
    env.fake.set_faults(Faults {
        slow_body_ms_per_chunk: 60,
        ..Faults::default()
    });
    let api_before = env.fake.stats().api_requests;
    env.ok(&["backup", "--googlephotos", A, "--concurrency", "1"]);
    // Later items' URLs expired while earlier ones downloaded: each was refreshed with
    // mediaItems.get (one API call per refresh on top of the two listings).
    assert!(
        env.fake.stats().api_requests - api_before >= 5,
        "{:?}",
        env.fake.stats()
    );
    env.fake.set_faults(Faults::default());
    assert_matches_library(&env, &env.fake.library(), A);
}

#[test]
fn quota_exhaustion_stops_cleanly_and_the_next_run_finishes() {
    let env = Env::new();
    generated(&env, A, 30, 3, 11);
    env.auth(A);
    env.fake.set_faults(Faults {
        daily_quota: Some(4),
        ..Faults::default()
    });
    let out = env.run(&["backup", "--googlephotos", A]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("quota exhausted; run again tomorrow;"),
        "{stdout}"
    );
    assert!(stdout.contains("items left"), "{stdout}");
    env.fake.set_faults(Faults::default());
    env.fake.reset_quota();
    env.backup(&[A]);
    let snap = env.fake.library();
    assert_matches_library(&env, &snap, A);

    // The media-bytes quota runs out during the downloads: the same clean stop.
    for i in 0..5 {
        env.fake
            .add_item(A, NewItem::photo(&format!("IMG_new_{i}.JPG")));
    }
    env.fake.set_faults(Faults {
        media_daily_quota: Some(2),
        ..Faults::default()
    });
    let out = env.run(&["backup", "--googlephotos", A, "--concurrency", "1"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    // Three new photos are left (plus the library's video that Google is still processing);
    // what the listing had not reached when the quota stopped it is not counted yet, so the
    // figure is at least the photo whose download hit the quota and the one listed after it.
    let left: u32 = stdout
        .split("run again tomorrow; ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!((2..=4).contains(&left), "{stdout}");
    env.fake.set_faults(Faults::default());
    env.fake.reset_quota();
    env.backup(&[A]);
    assert_matches_library(&env, &env.fake.library(), A);
}

#[test]
fn a_killed_run_restarts_and_finishes_consistently() {
    let env = Env::new();
    env.fake.add_account(A);
    env.fake.generate(
        A,
        &GenerateSpec {
            items: 12,
            albums: 2,
            seed: 5,
            sizes: Sizes::Tiny,
            videos: None,
        },
    );
    let big = env.fake.add_item(
        A,
        NewItem::video("VID_big.mp4").content(Content::mp4(9, 8 << 20)),
    );
    env.auth(A);
    env.fake.set_faults(Faults {
        slow_body_ms_per_chunk: 20,
        ..Faults::default()
    });
    let mut child = env
        .cmd()
        .args(["backup", "--googlephotos", A])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until a download is in progress, then kill without warning.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while env.tmp_leftovers() == 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    child.kill().unwrap();
    child.wait().unwrap();
    env.fake.set_faults(Faults::default());
    let stored_before: i64 = env
        .db()
        .query_row("SELECT count(*) FROM content", [], |r| r.get(0))
        .unwrap();
    let bodies_before = env.fake.stats().media_bodies_completed;
    env.backup(&[A]);
    let snap = env.fake.library();
    assert_matches_library(&env, &snap, A);
    assert_eq!(env.tmp_leftovers(), 0);
    // What was recorded before the kill was not downloaded again.
    let bodies = env.fake.stats().media_bodies_completed - bodies_before;
    assert!(
        bodies as i64 <= snap.account(A).unwrap().items.len() as i64 - stored_before,
        "re-downloaded recorded items: {bodies} bodies for {} missing",
        snap.account(A).unwrap().items.len() as i64 - stored_before
    );
    let _ = big;
}

#[test]
fn processing_videos_are_skipped_then_fetched_later() {
    let env = Env::new();
    env.fake.add_account(A);
    let v = env.fake.add_item(
        A,
        NewItem::video("VID_1.mp4").video_status(VideoStatus::Processing),
    );
    env.auth(A);
    let out = env.backup(&[A]);
    assert!(
        out.contains("1 skipped (1 video still processing at Google)"),
        "{out}"
    );
    env.fake.edit_item(
        &v,
        ItemEdit {
            video_status: Some(VideoStatus::Ready),
            ..ItemEdit::default()
        },
    );
    let out = env.backup(&[A]);
    assert!(out.contains("1 new"), "{out}");
    assert_matches_library(&env, &env.fake.library(), A);
}

#[test]
fn integrity_restores_damaged_and_missing_files() {
    let env = Env::new();
    generated(&env, A, 8, 2, 21);
    env.auth(A);
    env.backup(&[A]);
    let paths: Vec<String> = {
        let db = env.db();
        let mut st = db.prepare("SELECT path FROM content ORDER BY id").unwrap();
        st.query_map([], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    };
    let damaged = env.repo.join(&paths[0]);
    let mut bytes = std::fs::read(&damaged).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&damaged, bytes).unwrap();
    std::fs::remove_file(env.repo.join(&paths[1])).unwrap();
    // Without --integrity the run trusts the index.
    let out = env.backup(&[A]);
    assert!(out.contains("(nothing changed)"), "{out}");
    let out = env.ok(&["backup", "--googlephotos", A, "--integrity"]);
    assert!(out.contains("2 repaired"), "{out}");
    assert_matches_library(&env, &env.fake.library(), A);
}

#[test]
fn max_albums_and_max_photos_limit_the_work() {
    let env = Env::new();
    generated(&env, A, 30, 5, 2);
    env.auth(A);
    let out = env.ok(&[
        "backup",
        "--googlephotos",
        A,
        "--max-albums",
        "1",
        "--max-photos",
        "3",
    ]);
    assert!(out.contains("1 albums, 3 items seen"), "{out}");
    let n: i64 = env
        .db()
        .query_row("SELECT count(*) FROM content", [], |r| r.get(0))
        .unwrap();
    assert!(n <= 3, "{n}");
}

#[test]
fn album_folders_are_portable_and_numbered_on_collision() {
    let env = Env::new();
    env.fake.add_account(A);
    let g1 = env.fake.add_album(A, "Garden");
    let g2 = env.fake.add_album(A, "Garden");
    let odd = env.fake.add_album(A, "Trip: 2019.05 <best>?");
    env.fake.add_item(A, NewItem::photo("a.jpg").in_album(&g1));
    env.fake.add_item(A, NewItem::photo("b.jpg").in_album(&g2));
    env.fake
        .add_item(A, NewItem::photo("5:5.jpg").in_album(&odd));
    env.auth(A);
    env.backup(&[A]);
    let base = env.repo.join("googlephotos/alice_at_example.com");
    assert!(base.join("Garden/a.jpg").is_file());
    assert!(base.join("Garden (2)/b.jpg").is_file());
    assert!(base.join("Trip 2019.05 best/55.jpg").is_file());
    assert_matches_library(&env, &env.fake.library(), A);
}

fn photo_sample() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../photobak-testkit/testdata/jpg_gps_DSCN0010.jpg")
}
