//! One named test per bug fixed without a test of its own: each fails if its fix is reverted.
//!
//! Binary-level (here), the real `photobak` against the fake Google service or generated
//! Takeout exports:
//! - a repeated page token stops the listing, in `backup` and in `prune` (whose own page loop
//!   lacked the guard and could loop until cancelled);
//! - a 206 answer with another range than asked for is not spliced;
//! - a base-URL refresh mid-download restarts from byte 0 (a new URL may serve another
//!   rendition);
//! - the version of a changed item is recorded only after its new bytes are stored;
//! - `verify` keeps a stored file whose name ends in `.part`;
//! - sidecar-less Takeout items with the same name and different sizes stay two items;
//! - Takeout albums are keyed by their folder: never merged with a Library API album, nor with
//!   another Takeout album, of the same title;
//! - an unfinished import makes prune refuse;
//! - unused content left by a crash is released at the start of the next backup or import.
//!
//! Unit tests in the module concerned (the bug is not observable through the binary):
//! - `retry_after_is_capped_at_one_hour` (`photobak-core`, `google/http.rs`): a capped wait is
//!   still an hour, so no run of the binary can tell it from a two-day one.
//!
//! Covered elsewhere already (each fails with its fix reverted):
//! - prune unlinks live and edited companions before deleting their original (the foreign key
//!   of `linked_to`): `takeout.rs` `prune_removes_a_live_photo_pair_that_a_newer_export_no_longer_has`
//!   (edited variants use the same `linked_to` column and the same unlinking statement);
//! - importing an older export after a newer one keeps the item's newest export (provenance
//!   `source_ref`): `takeout_feed.rs` `an_item_seen_by_another_source_after_a_full_export_is_not_gone`;
//! - `others.txt` and `*.xmp` names are reserved for photobak's own files:
//!   `photobak-core` `repo::naming::tests::handles_empty_dots_and_reserved_names`;
//! - identical bytes heal a missing or damaged stored copy:
//!   `photobak-core` `ingest::tests::the_store_rules_in_order`;
//! - the release of unused content itself: `photobak-core`
//!   `ingest::tests::unused_files_left_by_a_crash_go_to_the_trash` (the calls at the start of
//!   a run are tested here);
//! - re-importing an export restores files `verify` found damaged or missing: `takeout.rs`
//!   `importing_the_export_again_restores_files_verify_found_damaged`.

mod common;

use std::path::Path;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use common::{Env, TAKEOUT_ACCOUNT, assert_matches_library, write_parts};
use photobak_testkit::fake_google::{
    Content, FakeConfig, Faults, ItemEdit, NewItem, PagedListing, Sample,
};
use photobak_testkit::takeout_gen::{self, AlbumSpec, ExportSpec, ItemSpec, SidecarStyle, TakenAt};

const A: &str = "alice@example.com";

/// Runs photobak, killing it after `limit`: a listing that never ends must fail the test, not
/// hang it.
fn run_within(env: &Env, args: &[&str], limit: Duration) -> Output {
    let mut child = env
        .cmd()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("photobak starts");
    let deadline = Instant::now() + limit;
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            child.kill().expect("kill");
            let out = child.wait_with_output().expect("output");
            panic!(
                "photobak {args:?} still running after {limit:?}\nstdout:\n{}\nstderr:\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().expect("output")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn count(env: &Env, sql: &str) -> i64 {
    env.db().query_row(sql, [], |r| r.get(0)).unwrap()
}

/// Polls `cond` every few milliseconds for at most 30 s.
fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A library where every listing the client pages through has two pages, even after one item
/// is deleted: 51 albums (the client asks for 50 a page), the first holding 102 items (100 a
/// page), 102 items in all.
fn two_page_library(env: &Env) {
    env.fake.add_account(A);
    let first = env.fake.add_album(A, "Album 0");
    for i in 1..51 {
        env.fake.add_album(A, &format!("Album {i}"));
    }
    for i in 0..102 {
        env.fake.add_item(
            A,
            NewItem::photo(&format!("IMG_{i:04}.JPG")).in_album(&first),
        );
    }
    env.auth(A);
}

const LISTINGS: [PagedListing; 3] = [
    PagedListing::Albums,
    PagedListing::AlbumItems,
    PagedListing::MediaItems,
];

/// A server that answers a page token with the same token again: the fault's budget lets a
/// client that does not notice go round 20 times, so the failure shows as a count (and the
/// deadline), not as a hang.
fn repeating(listing: PagedListing) -> Faults {
    Faults {
        repeat_page_token: Some(listing),
        max_faults: Some(20),
        ..Faults::default()
    }
}

#[test]
fn a_repeated_page_token_stops_the_listing() {
    let env = Env::new();
    two_page_library(&env);
    for listing in LISTINGS {
        env.fake.set_faults(repeating(listing));
        let before = env.fake.stats().faults("repeated_page_token");
        let out = run_within(
            &env,
            &["backup", "--googlephotos", A],
            Duration::from_secs(60),
        );
        let all = text(&out);
        assert!(!out.status.success(), "{listing:?}: {all}");
        assert!(all.contains("page token"), "{listing:?}: {all}");
        // The first repeat stopped the listing.
        assert_eq!(
            env.fake.stats().faults("repeated_page_token") - before,
            1,
            "{listing:?}: {all}"
        );
    }
    env.fake.set_faults(Faults::default());
    env.backup(&[A]);
    assert_matches_library(&env, &env.fake.library(), A);
}

#[test]
fn a_repeated_page_token_stops_the_prune_listing() {
    let env = Env::new();
    two_page_library(&env);
    env.backup(&[A]);
    // Something prune would remove, if it trusted the listing.
    let gone = env.fake.library().accounts[0].items[0].id.clone();
    env.fake.delete_item(&gone);
    let tree = env.tree_state();
    for listing in LISTINGS {
        env.fake.set_faults(repeating(listing));
        let before = env.fake.stats().faults("repeated_page_token");
        let out = run_within(
            &env,
            &["prune", "--googlephotos", A, "--force"],
            Duration::from_secs(60),
        );
        let all = text(&out);
        assert!(!out.status.success(), "{listing:?}: {all}");
        assert!(all.contains("page token"), "{listing:?}: {all}");
        assert_eq!(
            env.fake.stats().faults("repeated_page_token") - before,
            1,
            "{listing:?}: {all}"
        );
        assert_eq!(env.tree_state(), tree, "{listing:?}: nothing removed");
        assert_eq!(count(&env, "SELECT count(*) FROM items"), 102);
    }
    env.fake.set_faults(Faults::default());
    let out = env.ok(&["prune", "--googlephotos", A, "--force"]);
    assert!(out.contains("pruned: 1 items"), "{out}");
}

/// One 1 MiB photo (16 chunks of 64 KiB in the fake's body stream; a reset body delivers
/// about half of them before the connection drops).
const PHOTO_SIZE: u64 = 1 << 20;

fn one_photo(env: &Env) -> String {
    env.fake.add_account(A);
    let id = env.fake.add_item(
        A,
        NewItem::photo("IMG_0001.JPG").content(Content::jpeg(Sample::Canon40D, 1, PHOTO_SIZE)),
    );
    env.auth(A);
    id
}

#[test]
fn a_206_with_another_range_is_not_spliced() {
    let env = Env::new();
    one_photo(&env);
    // The first body drops half-way; the resumed request (`Range: bytes=N-`) gets a 206
    // of the whole file from byte 0. Appended, it would store half the photo plus all of it.
    env.fake.set_faults(Faults {
        reset_rate: 1.0,
        wrong_range_rate: 1.0,
        max_faults: Some(2),
        ..Faults::default()
    });
    env.backup(&[A]);
    let stats = env.fake.stats();
    assert_eq!((stats.faults("reset"), stats.faults("wrong_range")), (1, 1));
    assert_matches_library(&env, &env.fake.library(), A);
}

#[test]
fn a_base_url_refresh_mid_download_restarts_from_zero() {
    let env = Env::with_config(FakeConfig {
        base_url_ttl: Duration::from_secs(60),
        ..FakeConfig::default()
    });
    let id = one_photo(&env);
    // The first body is slow and drops after 8 of its 16 chunks (~800 ms: the time this test
    // has to act below, before the client resumes).
    env.fake.set_faults(Faults {
        reset_rate: 1.0,
        max_faults: Some(1),
        slow_body_ms_per_chunk: 100,
        ..Faults::default()
    });
    let child = env
        .cmd()
        .args(["backup", "--googlephotos", A])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // While it streams: the photo is re-rendered and its base URL expires, so the resumed
    // request meets a 403 and the client asks for a fresh URL, which serves the new bytes.
    // Resuming there with `Range` would splice the old rendition's head to the new one's tail.
    wait_for("the first download", || {
        env.fake.stats().faults("reset") == 1
    });
    env.fake.edit_item(
        &id,
        ItemEdit::replace_content(Content::jpeg(Sample::Canon40D, 2, PHOTO_SIZE)),
    );
    env.fake.advance_clock(Duration::from_secs(120));
    env.fake.set_faults(Faults::default());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    // The dropped body, the resume that met the expired URL, and the download from the new one.
    assert_eq!(env.fake.stats().media_requests, 3, "{}", text(&out));
    assert_matches_library(&env, &env.fake.library(), A);
}

#[test]
fn a_failed_download_of_a_changed_item_is_retried_next_run() {
    let env = Env::new();
    env.fake.add_account(A);
    let ids: Vec<String> = (0..3)
        .map(|i| {
            env.fake
                .add_item(A, NewItem::photo(&format!("IMG_{i}.JPG")))
        })
        .collect();
    env.auth(A);
    env.backup(&[A]);
    // New bytes (and new dimensions, which is how the API shows an edit); every download of
    // them fails in this run.
    env.fake.edit_item(&ids[0], ItemEdit::regenerate());
    env.fake.set_faults(Faults {
        media_5xx_rate: 1.0,
        ..Faults::default()
    });
    let out = env.run(&["backup", "--googlephotos", A]);
    assert!(!out.status.success(), "{}", text(&out));
    // The next run still sees a changed item: the new version was not recorded without bytes.
    env.fake.set_faults(Faults::default());
    env.backup(&[A]);
    assert_matches_library(&env, &env.fake.library(), A);
}

#[test]
fn verify_keeps_a_stored_part_file() {
    let env = Env::new();
    env.fake.add_account(A);
    env.fake.add_item(A, NewItem::photo("scan.part"));
    env.auth(A);
    env.backup(&[A]);
    let path: String = env
        .db()
        .query_row("SELECT path FROM content", [], |r| r.get(0))
        .unwrap();
    assert!(path.ends_with("/scan.part"), "{path}");
    // A stored photo is no temporary leftover, whatever its name: not reported, not removed.
    env.ok(&["verify"]);
    env.ok(&["verify", "--repair"]);
    assert!(env.repo.join(&path).is_file());
    assert_matches_library(&env, &env.fake.library(), A);
}

/// The BLAKE3 of every stored file.
fn stored_hashes(env: &Env) -> Vec<Vec<u8>> {
    let db = env.db();
    let mut st = db
        .prepare("SELECT blake3 FROM content ORDER BY blake3")
        .unwrap();
    st.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn sidecar_less_items_with_the_same_name_and_different_sizes_stay_two_items() {
    let env = Env::new();
    // IMG_0001.jpg without a sidecar, in the same year folder of two exports, but another
    // photo (another size) in the second: folder and name alone would make it the first item,
    // whose file is whole, and its bytes would never be read.
    let photo = |key: &str, sample| {
        ItemSpec::new(key, "IMG_0001.jpg")
            .sample(sample)
            .sidecar(SidecarStyle::None)
            .taken(TakenAt::At(1_600_000_000))
    };
    let first = ExportSpec::new("20250101T000000Z").item(photo("a", takeout_gen::Sample::Canon40D));
    let second =
        ExportSpec::new("20250201T000000Z").item(photo("b", takeout_gen::Sample::NikonD70));
    env.import_takeout(&write_parts(&first, &env.dir.path().join("1")), &[]);
    env.import_takeout(&write_parts(&second, &env.dir.path().join("2")), &[]);
    assert_eq!(count(&env, "SELECT count(*) FROM items"), 2);
    let mut want: Vec<Vec<u8>> = [takeout_gen::Sample::Canon40D, takeout_gen::Sample::NikonD70]
        .iter()
        .map(|s| blake3::hash(s.bytes()).as_bytes().to_vec())
        .collect();
    want.sort();
    assert_eq!(stored_hashes(&env), want);
}

/// Titles of the albums the item named `filename` is in.
fn albums_of(env: &Env, filename: &str) -> Vec<String> {
    let db = env.db();
    let mut st = db
        .prepare(
            "SELECT a.title FROM memberships m JOIN albums a ON a.id = m.album_id
             JOIN items i ON i.id = m.item_id WHERE i.filename = ?1 ORDER BY a.title",
        )
        .unwrap();
    st.query_map([filename], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn takeout_albums_are_not_merged_with_api_albums_of_the_same_title() {
    let env = Env::new();
    env.fake.add_account(A);
    let album = env.fake.add_album(A, "Trip to Rome");
    env.fake
        .add_item(A, NewItem::photo("IMG_API.JPG").in_album(&album));
    env.auth(A);
    env.backup(&[A]);
    let export = ExportSpec::new("20250101T000000Z")
        .account(A)
        .album(AlbumSpec::new("Trip to Rome"))
        .item(ItemSpec::new("t", "IMG_TAKEOUT.jpg").in_album(0));
    let parts = write_parts(&export, &env.dir.path().join("export"));
    let mut args = vec!["import", "takeout", "--account", A];
    args.extend(parts.iter().map(String::as_str));
    env.ok(&args);
    assert_eq!(
        count(
            &env,
            "SELECT count(*) FROM albums WHERE title = 'Trip to Rome'"
        ),
        2
    );
    // The API album goes; prune removes it, and with it only what the API put there.
    env.fake.delete_album(&album);
    env.ok(&["prune", "--googlephotos", A, "--force"]);
    assert!(albums_of(&env, "IMG_TAKEOUT.jpg").contains(&"Trip to Rome".to_string()));
    let api = albums_of(&env, "IMG_API.JPG");
    assert!(!api.contains(&"Trip to Rome".to_string()), "{api:?}");
}

#[test]
fn takeout_albums_of_the_same_title_in_two_folders_stay_two() {
    let env = Env::new();
    let export = ExportSpec::new("20250101T000000Z")
        .album(AlbumSpec::new("Trip"))
        .album(AlbumSpec::new("Trip").folder("Trip(1)"))
        .item(ItemSpec::new("a", "IMG_0001.jpg").in_album(0))
        .item(ItemSpec::new("b", "IMG_0002.jpg").in_album(1));
    env.import_takeout(&write_parts(&export, &env.dir.path().join("export")), &[]);
    assert_eq!(
        count(
            &env,
            "SELECT count(*) FROM albums WHERE title = 'Trip' AND source = 'takeout'"
        ),
        2
    );
    // Each album holds its own photo only.
    let members = count(
        &env,
        "SELECT max(n) FROM (SELECT count(*) AS n FROM memberships m
         JOIN albums a ON a.id = m.album_id WHERE a.title = 'Trip' GROUP BY a.id)",
    );
    assert_eq!(members, 1);
}

#[test]
fn an_unfinished_import_makes_prune_refuse() {
    let env = Env::new();
    // Several groups of the bytes pass (1,024 entries each): with 300 the first rows were
    // committed with the last, and the kill came after the end.
    const ITEMS: i64 = 3000;
    let mut spec = ExportSpec::new("20250101T000000Z").part_size(256 << 10);
    for i in 0..ITEMS {
        spec = spec.item(ItemSpec::new(&format!("k{i}"), &format!("IMG_{i:04}.jpg")));
    }
    let parts = write_parts(&spec, &env.dir.path().join("export"));
    let mut args = vec!["import", "takeout", "--account", TAKEOUT_ACCOUNT, "--full"];
    args.extend(parts.iter().map(String::as_str));
    let mut child = env
        .cmd()
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Killed once some items are stamped with the export and others are not.
    let stored = || -> i64 {
        rusqlite::Connection::open(env.repo.join("photobak.db"))
            .and_then(|db| db.query_row("SELECT count(*) FROM content", [], |r| r.get(0)))
            .unwrap_or(0)
    };
    wait_for("the first stored files", || stored() >= 5);
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        count(
            &env,
            "SELECT count(*) FROM takeout_exports WHERE complete = 0"
        ),
        1,
        "the kill did not land mid-import"
    );
    let out = env.run(&["prune"]);
    let all = text(&out);
    assert!(!out.status.success(), "{all}");
    assert!(all.contains("takeout-20250101T000000Z"), "{all}");
    // Imported again to the end, the export is evidence prune can use.
    env.import_takeout(&parts, &["--full"]);
    env.ok(&["prune"]);
    assert_eq!(count(&env, "SELECT count(*) FROM items"), ITEMS);
}

/// A stored file that no item uses, as a run killed between relinking an item and releasing
/// its old file leaves it: returns its repository-relative path.
fn leave_unused_content(env: &Env, name: &str) -> String {
    let folder: String = env
        .db()
        .query_row("SELECT path FROM content LIMIT 1", [], |r| r.get(0))
        .unwrap();
    let folder = Path::new(&folder)
        .parent()
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let path = format!("{folder}/{name}");
    let bytes = format!("the old version of {name}");
    std::fs::write(env.repo.join(&path), &bytes).unwrap();
    env.db()
        .execute(
            "INSERT INTO content (blake3, size, path, home_reason, stored_at)
             VALUES (?1, ?2, ?3, 'left by a crash', 0)",
            rusqlite::params![
                blake3::hash(bytes.as_bytes()).as_bytes().to_vec(),
                bytes.len() as i64,
                path
            ],
        )
        .unwrap();
    path
}

fn released(env: &Env, path: &str) -> bool {
    let rows: i64 = env
        .db()
        .query_row(
            "SELECT count(*) FROM content WHERE path = ?1",
            [path],
            |r| r.get(0),
        )
        .unwrap();
    rows == 0 && !env.repo.join(path).exists()
}

#[test]
fn unused_content_left_by_a_crash_is_released() {
    let env = Env::new();
    env.fake.add_account(A);
    env.fake.add_item(A, NewItem::photo("IMG_0001.JPG"));
    env.auth(A);
    env.backup(&[A]);
    // At the start of a backup (with nothing else to do)…
    let path = leave_unused_content(&env, "old-1.jpg");
    env.backup(&[A]);
    assert!(released(&env, &path));
    // …and of a Takeout import.
    let path = leave_unused_content(&env, "old-2.jpg");
    let export = ExportSpec::new("20250101T000000Z").item(ItemSpec::new("k", "IMG_9.jpg"));
    env.import_takeout(&write_parts(&export, &env.dir.path().join("export")), &[]);
    assert!(released(&env, &path));
    let mut trash = 0;
    common::walk(&env.repo.join(".photobak/trash"), &mut |_| trash += 1);
    assert_eq!(trash, 2, "released files go to the trash");
    env.ok(&["verify"]);
}
