//! The operations commands end to end: prune, verify, the manifest, the schedule, status, list,
//! completions and the man page, with the real binary against the fake Google service.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Env, assert_matches_library, walk};
use photobak_testkit::fake_google::{Content, Faults, NewItem};

const A: &str = "alice@example.com";
const B: &str = "bob@example.com";

fn run_out(env: &Env, args: &[&str]) -> (bool, String) {
    let out = env.run(args);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn path_of(env: &Env, account: &str, remote: &str) -> Option<String> {
    env.db()
        .query_row(
            "SELECT c.path FROM items i JOIN content c ON c.id = i.content_id
             JOIN accounts a ON a.id = i.account_id WHERE a.name = ?1 AND i.remote_id = ?2",
            [account, remote],
            |r| r.get(0),
        )
        .ok()
}

fn count(env: &Env, sql: &str) -> i64 {
    env.db().query_row(sql, [], |r| r.get(0)).unwrap()
}

/// Files under `.photobak/trash`, repository-relative to the dated folder.
fn trashed(repo: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let root = repo.join(".photobak/trash");
    walk(&root, &mut |p| {
        let rel = p.strip_prefix(&root).unwrap().to_string_lossy().to_string();
        out.push(rel.split_once('/').unwrap().1.to_string());
    });
    out.sort();
    out
}

/// `cd REPO && b3sum -c photobak.b3`; None (said visibly) when b3sum is not installed.
fn b3sum_check(repo: &Path) -> Option<(bool, String)> {
    if !common::tool_available("b3sum", "--version", "b3sum", "the b3sum -c check") {
        return None;
    }
    let out = Command::new("b3sum")
        .arg("-c")
        .arg("photobak.b3")
        .current_dir(repo)
        .output()
        .expect("b3sum runs");
    Some((
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    ))
}

#[test]
fn prune_follows_remote_deletions_with_plan_threshold_and_trash() {
    let env = Env::new();
    env.fake.add_account(A);
    env.fake.add_account(B);
    let trip = env.fake.add_album(A, "Trip");
    let family = env.fake.add_album(A, "Family");
    let shared = env.fake.add_album(A, "Shared");
    let p1 = env
        .fake
        .add_item(A, NewItem::photo("P1.JPG").in_album(&trip));
    let p2 = env
        .fake
        .add_item(A, NewItem::photo("P2.JPG").in_album(&trip));
    let _p3 = env.fake.add_item(
        A,
        NewItem::photo("P3.JPG").in_album(&trip).in_album(&family),
    );
    let p4 = env
        .fake
        .add_item(A, NewItem::photo("P4.JPG").in_album(&family));
    let p5 = env
        .fake
        .add_item(A, NewItem::photo("P5.JPG").created("2020-05-01T10:00:00Z"));
    // Same bytes in two albums of A: one file, stored in Trip, pointed at from Shared.
    let twin = Content::bytes(b"twin bytes, stored once".to_vec());
    let s1 = env.fake.add_item(
        A,
        NewItem::photo("S1.JPG")
            .in_album(&trip)
            .content(twin.clone()),
    );
    let _s2 = env
        .fake
        .add_item(A, NewItem::photo("S2.JPG").in_album(&shared).content(twin));
    // Same bytes in A and in B: stored once under A, pointed at from B's album.
    let cross = Content::bytes(b"cross-account bytes".to_vec());
    let x = env.fake.add_item(
        A,
        NewItem::photo("X.JPG")
            .in_album(&trip)
            .content(cross.clone()),
    );
    let b_album = env.fake.add_album(B, "Bob's");
    let _bx = env.fake.add_item(
        B,
        NewItem::photo("BX.JPG").in_album(&b_album).content(cross),
    );
    for i in 0..10 {
        env.fake
            .add_item(A, NewItem::photo(&format!("FILL{i}.JPG")).in_album(&shared));
    }
    env.auth(A);
    env.auth(B);
    env.backup(&[A]);
    env.backup(&[B]);
    let x_path = path_of(&env, A, &x).unwrap();
    assert!(x_path.contains("/Trip/"), "{x_path}");
    let s1_path = path_of(&env, A, &s1).unwrap();
    let p1_path = path_of(&env, A, &p1).unwrap();

    // Nothing gone: an empty plan, nothing changed.
    let out = env.ok(&["prune"]);
    assert!(out.contains("nothing to prune"), "{out}");

    env.fake.delete_item(&p1); // gone everywhere
    env.fake.remove_from_album(&trip, &[&p2]); // stays in the library, in no album
    env.fake.delete_album(&family); // P3 stays in Trip, P4 is left in no album
    env.fake.delete_item(&s1); // its file is still S2's
    env.fake.delete_item(&x); // its file is still BX's (another account)
    env.fake.delete_item(&p5); // the only item of its year folder, which P2 and P4 now join

    // Dry run: the plan, counts first, and nothing changes.
    let tree = env.tree_state();
    let items_before = count(&env, "SELECT count(*) FROM items");
    let out = env.ok(&["prune", "--dry-run", "--max-delete", "50%"]);
    assert!(
        out.contains(&format!("{A}: 4 of 18 items removed, 1 albums removed")),
        "{out}"
    );
    assert!(out.contains(&format!("item removed: {p1_path}")), "{out}");
    assert!(
        out.contains("file moved: ") && out.contains("dry run"),
        "{out}"
    );
    assert_eq!(env.tree_state(), tree);
    assert_eq!(count(&env, "SELECT count(*) FROM items"), items_before);

    // The default threshold (10 %) refuses 4 of 18.
    let (ok, out) = run_out(&env, &["prune"]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("refused") && out.contains("--max-delete"),
        "{out}"
    );
    assert_eq!(env.tree_state(), tree);
    // So does an absolute limit.
    let (ok, _) = run_out(&env, &["prune", "--max-delete", "3"]);
    assert!(!ok);

    let p5_path = path_of(&env, A, &p5).unwrap();
    let out = env.ok(&["prune", "--max-delete", "4"]);
    assert!(out.contains("pruned: 4 items, 1 albums"), "{out}");

    // The repository is the library again, for both accounts.
    let snap = env.fake.library();
    assert_matches_library(&env, &snap, A);
    assert_matches_library(&env, &snap, B);
    assert!(path_of(&env, A, &p1).is_none());
    let mut expected_trash = vec![p1_path.clone(), p5_path];
    expected_trash.sort();
    assert_eq!(trashed(&env.repo), expected_trash);
    assert!(!env.repo.join(&p1_path).exists());
    // Family's folder is gone (it held only P4, which moved to its year folder).
    let family_dir = env.repo.join("googlephotos/alice_at_example.com/Family");
    assert!(!family_dir.exists());
    let p4_path = path_of(&env, A, &p4).unwrap();
    assert!(p4_path.contains("/Photos from 2020/"), "{p4_path}");
    // The year folder lost P5 but gained P2 and P4: it stays, with both as members.
    let members = count(
        &env,
        "SELECT count(*) FROM memberships m JOIN albums a ON a.id = m.album_id
         WHERE a.remote_id = 'year:2020'",
    );
    assert_eq!(members, 2);
    // Shared files moved, never deleted.
    let s2_path = path_of(&env, A, &_s2).unwrap();
    assert!(s2_path.contains("/Shared/"), "{s2_path} (was {s1_path})");
    let bx_path = path_of(&env, B, &_bx).unwrap();
    assert!(
        bx_path.starts_with("googlephotos/bob_at_example.com/Bob's/"),
        "{bx_path}"
    );
    assert!(
        !env.repo
            .join("googlephotos/bob_at_example.com/Bob's/others.txt")
            .exists()
    );

    let out = env.ok(&["verify"]);
    assert!(out.contains(": OK"), "{out}");
    if let Some((ok, out)) = b3sum_check(&env.repo) {
        assert!(ok, "{out}");
    }

    // --purge deletes at once; an expired trash folder goes with the next prune.
    let old = env.repo.join(".photobak/trash/2000-01-01/googlephotos");
    std::fs::create_dir_all(&old).unwrap();
    std::fs::write(old.join("old.jpg"), b"old").unwrap();
    let p3_path = path_of(&env, A, &_p3).unwrap();
    env.fake.delete_item(&_p3);
    let out = env.ok(&["prune", "--purge", "--force", "--trash-days", "30"]);
    assert!(out.contains("1 deleted"), "{out}");
    assert!(
        out.contains("trash emptied: .photobak/trash/2000-01-01"),
        "{out}"
    );
    assert!(!env.repo.join(&p3_path).exists());
    assert!(!env.repo.join(".photobak/trash/2000-01-01").exists());
    assert_eq!(trashed(&env.repo), expected_trash);
    assert_matches_library(&env, &env.fake.library(), A);
}

#[test]
fn prune_refuses_to_remove_anything_after_a_failed_listing() {
    let env = Env::new();
    env.fake.add_account(A);
    let album = env.fake.add_album(A, "Album");
    let mut ids = Vec::new();
    for i in 0..6 {
        ids.push(
            env.fake
                .add_item(A, NewItem::photo(&format!("I{i}.JPG")).in_album(&album)),
        );
    }
    env.auth(A);
    env.backup(&[A]);
    env.fake.delete_item(&ids[0]);
    let tree = env.tree_state();

    // Every Library API call fails until the retries give up.
    env.fake.set_faults(Faults {
        api_5xx_rate: 1.0,
        max_faults: Some(1000),
        ..Faults::default()
    });
    let (ok, out) = run_out(&env, &["prune", "--force"]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("prune refused") && out.contains("listing failed"),
        "{out}"
    );
    assert_eq!(env.tree_state(), tree);
    assert_eq!(count(&env, "SELECT count(*) FROM items"), 6);
    assert!(env.fake.stats().faults("api_5xx") > 0);

    // A listing that succeeds after transient errors is complete, so prune proceeds.
    env.fake.set_faults(Faults {
        api_5xx_rate: 1.0,
        max_faults: Some(2),
        short_pages: true,
        ..Faults::default()
    });
    let out = env.ok(&["prune", "--force"]);
    assert!(out.contains("pruned: 1 items"), "{out}");
    env.fake.set_faults(Faults::default());
    assert_matches_library(&env, &env.fake.library(), A);

    // The original's command line still prunes (its backup-only flags are ignored).
    let out = env.ok(&["-googlephotos", A, "-prune", "-concurrency", "3"]);
    assert!(out.contains("nothing to prune"), "{out}");
}

#[test]
fn verify_finds_each_kind_of_damage_and_repair_fixes_what_it_can() {
    let env = Env::new();
    env.fake.add_account(A);
    let one = env.fake.add_album(A, "One");
    let two = env.fake.add_album(A, "Two");
    let a = env
        .fake
        .add_item(A, NewItem::photo("A.JPG").in_album(&one).in_album(&two));
    let b = env.fake.add_item(A, NewItem::photo("B.JPG").in_album(&one));
    let _c = env.fake.add_item(A, NewItem::photo("C.JPG").in_album(&two));
    env.auth(A);
    env.backup(&[A]);
    let out = env.ok(&["verify", "--threads", "2"]);
    assert!(
        out.contains("verify: 3 files, 3 re-hashed") && out.contains(": OK"),
        "{out}"
    );
    if let Some((ok, out)) = b3sum_check(&env.repo) {
        assert!(ok, "healthy repository: {out}");
    }

    let a_path = path_of(&env, A, &a).unwrap();
    let b_path = path_of(&env, A, &b).unwrap();
    // Flip a byte, delete a file, add a stray file, break an others.txt line, leave a temp file.
    let mut bytes = std::fs::read(env.repo.join(&a_path)).unwrap();
    bytes[100] ^= 0x55;
    std::fs::write(env.repo.join(&a_path), &bytes).unwrap();
    std::fs::remove_file(env.repo.join(&b_path)).unwrap();
    let folder = env.repo.join("googlephotos/alice_at_example.com");
    std::fs::write(folder.join("One/stray.jpg"), b"not ours").unwrap();
    let others = folder.join("Two/others.txt");
    let text = std::fs::read_to_string(&others).unwrap();
    assert!(text.contains(&a_path), "{text}");
    std::fs::write(&others, text.replace("A.JPG", "A-renamed.JPG")).unwrap();
    std::fs::write(folder.join("One/.others.txt.tmp-999"), b"half").unwrap();

    let (ok, out) = run_out(&env, &["verify"]);
    assert!(!ok, "{out}");
    assert!(out.contains(&format!("corrupted: {a_path}")), "{out}");
    assert!(out.contains(&format!("missing: {b_path}")), "{out}");
    assert!(
        out.contains("orphan (not in the index): googlephotos/alice_at_example.com/One/stray.jpg"),
        "{out}"
    );
    assert!(
        out.contains("others.txt dangling line") && out.contains("others.txt missing line"),
        "{out}"
    );
    assert!(
        out.contains(
            "temporary leftover: googlephotos/alice_at_example.com/One/.others.txt.tmp-999"
        ),
        "{out}"
    );
    assert!(out.contains("6 problems: 1 missing, 1 corrupted, 1 orphans, 1 temporary leftovers, 2 others.txt lines"), "{out}");
    if let Some((ok, out)) = b3sum_check(&env.repo) {
        assert!(!ok, "damaged repository passed b3sum -c: {out}");
        assert!(out.contains("FAILED"), "{out}");
    }
    let json = env.run(&["verify", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["corrupted"][0]["path"], a_path.as_str());

    // Repair restores both files from the Library API; the stray file is the user's to judge.
    let (ok, out) = run_out(&env, &["verify", "--repair"]);
    assert!(!ok, "the orphan remains: {out}");
    assert!(out.contains(&format!("restored: {a_path}")), "{out}");
    assert!(out.contains(&format!("restored: {b_path}")), "{out}");
    assert!(out.contains("repair: 2 restored"), "{out}");
    assert_matches_library(&env, &env.fake.library(), A);
    std::fs::remove_file(folder.join("One/stray.jpg")).unwrap();
    let out = env.ok(&["verify"]);
    assert!(out.contains(": OK"), "{out}");
    if let Some((ok, out)) = b3sum_check(&env.repo) {
        assert!(ok, "repaired repository: {out}");
    }

    // Scrub options: --since skips what was just verified, --sample takes a share.
    let out = env.ok(&["verify", "--since", "1h"]);
    assert!(out.contains("0 re-hashed"), "{out}");
    let out = env.ok(&["verify", "--sample", "50"]);
    assert!(out.contains("2 re-hashed"), "{out}");
    let unverified = count(
        &env,
        "SELECT count(*) FROM content WHERE verified_at IS NULL",
    );
    assert_eq!(unverified, 0);
}

#[test]
fn status_and_list_describe_the_archive() {
    let env = Env::new();
    env.fake.add_account(A);
    let album = env.fake.add_album(A, "Holidays");
    env.fake.add_item(
        A,
        NewItem::photo("H1.JPG")
            .in_album(&album)
            .description("beach")
            .created("2021-07-04T12:00:00Z"),
    );
    env.fake.add_item(
        A,
        NewItem::photo("LOOSE.JPG").created("2019-01-02T03:04:05Z"),
    );
    env.auth(A);
    env.backup(&[A]);

    let out = env.ok(&["status"]);
    assert!(
        out.contains(A) && out.contains("from library: 2 items (2 stored)"),
        "{out}"
    );
    assert!(
        out.contains("last successful backup: ") && out.contains("credentials: ok"),
        "{out}"
    );
    let out = env.ok(&["status", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["accounts"][0]["totals"]["items"], 2);
    assert_eq!(v["accounts"][0]["credentials"], "ok");
    assert!(
        v["accounts"][0]["last_backup"]["summary"]["new"]
            .as_u64()
            .unwrap()
            >= 2
    );

    let out = env.ok(&["list", "--json"]);
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    for key in [
        "account",
        "path",
        "albums",
        "filename",
        "taken_at",
        "description",
        "latitude",
        "longitude",
        "favorite",
        "blake3",
        "size",
        "sources",
    ] {
        assert!(lines[0].get(key).is_some(), "{key} missing in {}", lines[0]);
    }
    let h1 = lines.iter().find(|l| l["filename"] == "H1.JPG").unwrap();
    assert_eq!(h1["albums"][0], "Holidays");
    assert_eq!(h1["taken_at"], "2021-07-04T12:00:00Z");
    assert_eq!(h1["description"], "beach");
    assert_eq!(h1["sources"][0], "library");
    assert_eq!(
        h1["blake3"].as_str().unwrap(),
        common::hash_hex(&env.repo.join(h1["path"].as_str().unwrap()))
    );
    let out = env.ok(&["list", "--album", "holidays"]);
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(out.contains("H1.JPG  [Holidays]"), "{out}");
    let out = env.ok(&["list", "--account", "nobody@example.com"]);
    assert!(out.is_empty());
}

#[test]
fn completions_and_man_page_come_from_the_cli() {
    let env = Env::new();
    let out = env.ok(&["completions", "bash"]);
    assert!(
        out.contains("_photobak()") && out.contains("prune"),
        "{}",
        &out[..200]
    );
    let out = env.ok(&["completions", "zsh"]);
    assert!(out.contains("#compdef photobak"));
    let out = env.ok(&["man"]);
    assert!(
        out.contains(".TH photobak 1") && out.contains("verify"),
        "{}",
        &out[..200]
    );
}

/// `backup --every 2s` runs twice, leaves the repository free between runs (another photobak
/// gets in), and stops cleanly on SIGTERM.
#[test]
fn schedule_runs_twice_releases_the_lock_between_runs_and_stops_on_sigterm() {
    let env = Env::new();
    env.fake.add_account(A);
    env.fake.add_item(A, NewItem::photo("ONE.JPG"));
    env.auth(A);
    let mut child = env
        .cmd()
        .args(["backup", "--googlephotos", A, "--every", "2s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let next_summary = |deadline: Duration| -> String {
        let end = Instant::now() + deadline;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            let line = rx
                .recv_timeout(left)
                .expect("a scheduled run printed its summary in time");
            if line.starts_with(&format!("{A}:")) {
                return line;
            }
        }
    };
    let first = next_summary(Duration::from_secs(60));
    let started_first = Instant::now();
    assert!(first.contains("1 new"), "{first}");
    // Between runs the lock is free: a command that takes it succeeds.
    let out = env.ok(&["verify"]);
    assert!(out.contains(": OK"), "{out}");
    let second = next_summary(Duration::from_secs(60));
    assert!(second.contains("(nothing changed)"), "{second}");
    assert!(started_first.elapsed() >= Duration::from_millis(500));
    let runs = count(&env, "SELECT count(*) FROM runs WHERE command = 'backup'");
    assert!(runs >= 2, "{runs}");

    let pid = child.id().to_string();
    let kill = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(kill.success());
    let end = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < end, "photobak did not stop after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(130), "{status:?}");
    // Stopped cleanly: the lock is free and no temporary file is left.
    env.ok(&["verify"]);
    assert_eq!(env.tmp_leftovers(), 0);
}

/// A Takeout-fed account (rows fabricated through the index, as the importer records them):
/// prune treats items missing from the newest export as gone.
#[test]
fn prune_of_a_takeout_account_uses_the_newest_export() {
    let env = Env::new();
    let repo: PathBuf = env.repo.clone();
    // Prune never creates a repository; the core makes an empty one for the fabricated rows.
    let out = env.run(&["prune", "--dry-run"]);
    assert_eq!(out.status.code(), Some(4));
    assert!(!repo.exists());
    drop(photobak_core::repo::Repo::open(&repo).unwrap());
    let db = rusqlite::Connection::open(repo.join("photobak.db")).unwrap();
    let has_schema: i64 = db
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name = 'items'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(has_schema, 1, "the core created the index");
    let folder = "googlephotos/t_at_example.com";
    db.execute_batch(&format!(
        "INSERT INTO accounts (id, provider, name, folder, created_at)
           VALUES (1, 'googlephotos', 't@example.com', '{folder}', 0);
         INSERT INTO albums (id, account_id, remote_id, source, title, folder, kind, first_seen, last_seen)
           VALUES (1, 1, 'takeout:Old', 'takeout', 'Old', '{folder}/Old', 'user', 0, 0),
                  (2, 1, 'takeout:New', 'takeout', 'New', '{folder}/New', 'user', 0, 0);
         INSERT INTO items (id, account_id, remote_id, filename, first_seen, last_seen, updated_at)
           VALUES (1, 1, 'takeout:a', 'a.jpg', 0, 0, 0), (2, 1, 'takeout:b', 'b.jpg', 0, 0, 0);
         INSERT INTO provenance (item_id, source, source_ref, first_seen, last_seen)
           VALUES (1, 'takeout', 'takeout-20240101T000000Z', 0, 10),
                  (2, 'takeout', 'takeout-20250101T000000Z', 0, 5);
         INSERT INTO memberships (album_id, item_id, added_at) VALUES (1, 1, 0), (2, 2, 0);
         -- The 2024 export was imported again after the 2025 one: still not the newest.
         INSERT INTO takeout_exports (account_id, export_id, imported_at, media_count, absent_count, complete)
           VALUES (1, 'takeout-20250101T000000Z', 100, 1, 1, 1),
                  (1, 'takeout-20240101T000000Z', 200, 1, 1, 1);
         -- Both were full exports, made when their ids say.
         UPDATE takeout_exports SET kind = 'full', kind_by = 'user', kind_reason = 'test',
           exported_at = CASE export_id WHEN 'takeout-20250101T000000Z' THEN 1735689600
                                        ELSE 1704067200 END;"
    ))
    .unwrap();
    for (id, name, album, bytes) in [(1, "a.jpg", "Old", b"aaaa"), (2, "b.jpg", "New", b"bbbb")] {
        let rel = format!("{folder}/{album}/{name}");
        std::fs::create_dir_all(repo.join(format!("{folder}/{album}"))).unwrap();
        std::fs::write(repo.join(&rel), bytes).unwrap();
        db.execute(
            "INSERT INTO content (id, blake3, size, path, home_album_id, home_reason, stored_at)
             VALUES (?1, ?2, 4, ?3, ?4, 'test', 0)",
            rusqlite::params![id, &blake3::hash(bytes).as_bytes()[..], rel, id],
        )
        .unwrap();
        db.execute("UPDATE items SET content_id = ?1 WHERE id = ?1", [id])
            .unwrap();
    }
    drop(db);
    // No Google client needed for a Takeout-only account.
    let out = env
        .cmd()
        .env_remove("GOOGLEPHOTOS_CLIENT_ID")
        .env_remove("GOOGLEPHOTOS_CLIENT_SECRET")
        .args(["prune", "--force"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains(
            "last seen in takeout-20240101T000000Z (2024-01-01T00:00:00Z), absent from full export takeout-20250101T000000Z"
        ),
        "{text}"
    );
    assert!(text.contains("pruned: 1 items, 1 albums"), "{text}");
    assert!(!repo.join(format!("{folder}/Old")).exists());
    assert!(repo.join(format!("{folder}/New/b.jpg")).exists());
    let manifest = std::fs::read_to_string(repo.join("photobak.b3")).unwrap();
    assert_eq!(manifest.lines().count(), 1, "{manifest}");

    // A Takeout-only file cannot be fetched again: repair names the export to re-import.
    std::fs::remove_file(repo.join(format!("{folder}/New/b.jpg"))).unwrap();
    let (ok, out) = run_out(&env, &["verify", "--repair"]);
    assert!(!ok, "{out}");
    assert!(
        out.contains(&format!(
            "only Takeout had {folder}/New/b.jpg: import takeout-20250101T000000Z again"
        )),
        "{out}"
    );
}
