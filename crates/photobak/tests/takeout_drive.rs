//! Takeout exports fetched from Google Drive (issue 14, part 2): the real binary against the
//! fake Drive over loopback. An export Takeout delivered into the Drive folder `Takeout` is
//! downloaded (through faults), checked against Drive's MD5, imported exactly as the same parts
//! imported from disk, and its local copies removed; what is not a Takeout part of that folder
//! is never requested; a rerun downloads nothing; a part that cannot fit stops the run before
//! anything is imported; no Drive consent is a clear error; `--every` picks up a new export.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Env, TAKEOUT_ACCOUNT, hash_hex, walk, write_parts};
use photobak_testkit::fake_google::{DriveFileSpec, Faults, READONLY_SCOPE};
use photobak_testkit::takeout_gen::{ExportSpec, incremental_export, realistic_export};

const A: &str = TAKEOUT_ACCOUNT;

/// A generated export of two parts, written to `dir`.
fn two_part_export(seed: u64, dir: &Path) -> (ExportSpec, Vec<String>) {
    // Every sidecar in the part after its media: one media part and one sidecar part.
    let spec = realistic_export(seed).part_size(u64::MAX);
    let parts = write_parts(&spec, dir);
    assert_eq!(parts.len(), 2, "{parts:?}");
    (spec, parts)
}

/// Puts the parts into `folder` of A's Drive; returns their Drive ids.
fn upload(env: &Env, folder: &str, parts: &[String]) -> Vec<String> {
    parts
        .iter()
        .map(|p| {
            let name = Path::new(p).file_name().unwrap().to_str().unwrap();
            env.fake.drive_add(
                A,
                DriveFileSpec::file(name, std::fs::read(p).unwrap()).in_folder(folder),
            )
        })
        .collect()
}

/// What Takeout leaves in a Drive, plus what photobak must leave alone.
struct Drive {
    folder: String,
    parts: Vec<String>,
    left_alone: Vec<String>,
}

fn drive_with_export(env: &Env, parts: &[String]) -> Drive {
    let folder = env.fake.drive_add(A, DriveFileSpec::folder("Takeout"));
    let ids = upload(env, &folder, parts);
    let first = std::fs::read(&parts[0]).unwrap();
    let left_alone = vec![
        // An older export the user threw away.
        env.fake.drive_add(
            A,
            DriveFileSpec::file("takeout-20240101T000000Z-001.zip", first.clone())
                .in_folder(&folder)
                .trashed(),
        ),
        // Another zip, a Google Doc named like a part, a part-named file outside the folder.
        env.fake.drive_add(
            A,
            DriveFileSpec::file("holiday.zip", b"PK\x05\x06not a takeout".to_vec())
                .in_folder(&folder),
        ),
        env.fake.drive_add(
            A,
            DriveFileSpec::google_doc("takeout-20240101T000000Z-002.zip").in_folder(&folder),
        ),
        env.fake.drive_add(
            A,
            DriveFileSpec::file("takeout-20240301T000000Z-001.zip", first),
        ),
    ];
    Drive {
        folder,
        parts: ids,
        left_alone,
    }
}

/// The Drive consent, through the browser flow of the fake.
fn consent(env: &Env) {
    env.fake.add_account(A);
    let out = env.ok(&["auth", "--googlephotos", A, "--drive"]);
    assert!(
        out.contains("read-only Google Drive access authorised"),
        "{out}"
    );
    let scope = env.fake.stats().last_authorize_query.unwrap()["scope"].clone();
    assert_eq!(scope, "https://www.googleapis.com/auth/drive.readonly");
}

/// Every file of the media tree: repository-relative path → BLAKE3.
fn media_tree(repo: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    walk(&repo.join("googlephotos"), &mut |p| {
        out.insert(p.strip_prefix(repo).unwrap().to_path_buf(), hash_hex(p));
    });
    out
}

fn count(env: &Env, sql: &str) -> i64 {
    env.db().query_row(sql, [], |r| r.get(0)).unwrap()
}

fn from_drive(env: &Env) -> std::process::Output {
    env.run(&["import", "takeout", "--from-drive", "--account", A])
}

fn ok_from_drive(env: &Env) -> String {
    env.ok(&["import", "takeout", "--from-drive", "--account", A])
}

#[test]
fn a_two_part_export_in_drive_is_fetched_checked_imported_and_cleaned_up_under_faults() {
    let env = Env::new();
    let (spec, parts) = two_part_export(21, &env.dir.path().join("export"));
    let drive = drive_with_export(&env, &parts);
    consent(&env);
    let before = env.fake.drive_files(A);
    env.fake.set_faults(Faults {
        api_5xx_rate: 0.3,
        api_429_rate: 0.2,
        drive_rate_limit_403_rate: 0.2,
        media_5xx_rate: 0.3,
        media_429_rate: 0.2,
        reset_rate: 0.8,
        truncate_rate: 0.3,
        wrong_range_rate: 0.5,
        retry_after_secs: Some(0),
        max_faults: Some(16),
        ..Faults::default()
    });
    let out = ok_from_drive(&env);
    assert!(
        out.contains("imported 1 export (2 parts"),
        "one export, two parts downloaded: {out}"
    );
    assert!(out.contains(&spec.export_id()), "{out}");
    assert!(out.contains("left alone: 1 file\n"), "{out}");
    let stats = env.fake.stats();
    let injected: u64 = stats.faults_injected.values().sum();
    assert!(injected >= 5, "faults on: {:?}", stats.faults_injected);
    assert!(
        stats.faults("reset") + stats.faults("truncate") >= 1,
        "a body was cut and resumed: {:?}",
        stats.faults_injected
    );

    // The same content as importing the parts from disk.
    let oracle = env.dir.path().join("oracle");
    let mut cmd = env.cmd_for(&oracle);
    cmd.args(["import", "takeout", "--account", A]).args(&parts);
    let o = cmd.output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let got = media_tree(&env.repo);
    assert!(got.len() > 10, "{}", got.len());
    assert_eq!(got, media_tree(&oracle));
    let items = |repo: &Path| -> i64 {
        rusqlite::Connection::open(repo.join("photobak.db"))
            .unwrap()
            .query_row("SELECT count(*) FROM items", [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(items(&env.repo), items(&oracle));

    // Local copies gone; the parts remembered as imported.
    assert_eq!(env.tmp_leftovers(), 0);
    assert_eq!(
        count(
            &env,
            "SELECT count(*) FROM takeout_parts WHERE origin = 'drive' \
             AND imported_at IS NOT NULL AND removed_at IS NOT NULL"
        ),
        2
    );
    assert_eq!(count(&env, "SELECT count(*) FROM takeout_parts"), 2);

    // Only the two parts' content was asked for; the rest never appeared in any request, and
    // Drive is as it was.
    let log = env.fake.drive_log();
    let media: std::collections::BTreeSet<&str> = log
        .iter()
        .filter(|r| r.media)
        .filter_map(|r| r.file_id.as_deref())
        .collect();
    assert_eq!(
        media,
        drive.parts.iter().map(String::as_str).collect(),
        "{log:#?}"
    );
    for id in &drive.left_alone {
        assert!(
            log.iter()
                .all(|r| r.file_id.as_deref() != Some(id) && !r.query.contains(id.as_str())),
            "{id} requested: {log:#?}"
        );
    }
    assert!(log.iter().any(|r| r.query.contains(&drive.folder)));
    assert_eq!(env.fake.drive_files(A), before);

    // The rerun downloads nothing.
    env.fake.set_faults(Faults::default());
    let requests = env.fake.stats().drive_media_requests;
    let bytes = env.fake.stats().drive_bytes_sent;
    let tree = env.tree_state();
    let out = ok_from_drive(&env);
    assert!(out.contains("imported 0 exports"), "{out}");
    assert!(out.contains("1 imported before"), "{out}");
    assert!(out.contains("(nothing new)"), "{out}");
    assert_eq!(env.fake.stats().drive_media_requests, requests);
    assert_eq!(env.fake.stats().drive_bytes_sent, bytes);
    assert_eq!(env.tree_state(), tree);
}

#[test]
fn a_part_that_cannot_fit_stops_before_anything_is_imported() {
    let env = Env::new();
    let (_, parts) = two_part_export(22, &env.dir.path().join("export"));
    drive_with_export(&env, &parts);
    consent(&env);
    let out = env
        .cmd()
        .env("PHOTOBAK_TEST_FREE_BYTES", "100000")
        .args(["import", "takeout", "--from-drive", "--account", A])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let first = Path::new(&parts[0]).file_name().unwrap().to_str().unwrap();
    assert!(
        stderr.contains(&format!(
            "error: not enough disk space for {first} from Google Drive"
        )),
        "{stderr}"
    );
    assert!(stderr.contains("100.0 KB are free"), "{stderr}");
    assert!(stderr.contains(".photobak/tmp"), "{stderr}");
    // Nothing half-imported, nothing downloaded, nothing left.
    assert_eq!(env.fake.stats().drive_media_requests, 0);
    assert_eq!(count(&env, "SELECT count(*) FROM items"), 0);
    assert_eq!(count(&env, "SELECT count(*) FROM takeout_exports"), 0);
    assert_eq!(
        count(
            &env,
            "SELECT count(*) FROM takeout_parts WHERE imported_at IS NOT NULL"
        ),
        0
    );
    assert_eq!(env.tmp_leftovers(), 0);
    assert!(media_tree(&env.repo).is_empty());
    // With room, the next run imports it.
    let out = ok_from_drive(&env);
    assert!(out.contains("imported 1 export (2 parts"), "{out}");
}

#[test]
fn without_the_drive_consent_the_error_names_the_command() {
    let env = Env::new();
    // No repository at all.
    let out = from_drive(&env);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{stderr}");
    assert!(
        stderr.contains("auth --googlephotos ADDRESS --drive"),
        "{stderr}"
    );
    assert!(!env.repo.exists(), "no repository is created");

    // Photos consent only.
    env.auth(A);
    let out = from_drive(&env);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{stderr}");
    assert!(
        stderr.contains(&format!("run `photobak auth --googlephotos {A} --drive`")),
        "{stderr}"
    );
    assert_eq!(env.fake.stats().drive_requests, 0);

    // A token without the Drive scope stored as the Drive consent: Drive refuses it, and the
    // error says how to give the consent.
    let photos_only = env.fake.mint_tokens(A, READONLY_SCOPE);
    let token = serde_json::json!({
        "access_token": photos_only.access_token,
        "refresh_token": photos_only.refresh_token,
        "expires_at": 4_000_000_000i64,
        "scope": READONLY_SCOPE,
    });
    env.db()
        .execute(
            "UPDATE accounts SET drive_credentials = ?1 WHERE name = ?2",
            rusqlite::params![token.to_string(), A],
        )
        .unwrap();
    env.fake.drive_add(A, DriveFileSpec::folder("Takeout"));
    let out = from_drive(&env);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("does not allow reading Drive"), "{stderr}");
    assert!(stderr.contains("--drive`"), "{stderr}");
    assert!(env.fake.stats().drive_requests >= 1);
    // The Photos consent is untouched by all this.
    let photos: Option<String> = env
        .db()
        .query_row(
            "SELECT credentials FROM accounts WHERE name = ?1",
            [A],
            |r| r.get(0),
        )
        .unwrap();
    assert!(photos.is_some());
}

#[test]
fn every_runs_again_and_picks_up_the_next_export() {
    let env = Env::new();
    let (spec, parts) = two_part_export(24, &env.dir.path().join("export"));
    let drive = drive_with_export(&env, &parts);
    consent(&env);
    let mut child = env
        .cmd()
        .args([
            "import",
            "takeout",
            "--from-drive",
            "--account",
            A,
            "--every",
            "2s",
        ])
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
    let next_summary = || -> String {
        let end = Instant::now() + Duration::from_secs(60);
        loop {
            let left = end.saturating_duration_since(Instant::now());
            let line = rx
                .recv_timeout(left)
                .expect("a scheduled run printed its summary in time");
            if line.starts_with(&format!("{A}: Google Drive folder")) {
                return line;
            }
        }
    };
    let first = next_summary();
    assert!(first.contains("imported 1 export (2 parts"), "{first}");
    // Google delivers the next scheduled export meanwhile.
    let (next, _) = incremental_export(&spec, 41);
    assert_ne!(next.export_id(), spec.export_id());
    let next_parts = write_parts(&next, &env.dir.path().join("next"));
    upload(&env, &drive.folder, &next_parts);
    let second = next_summary();
    assert!(second.contains("imported 1 export"), "{second}");
    assert!(second.contains("1 imported before"), "{second}");

    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
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
    assert_eq!(env.tmp_leftovers(), 0);
    let exports: Vec<String> = {
        let db = env.db();
        let mut st = db
            .prepare("SELECT export_id FROM takeout_exports ORDER BY export_id")
            .unwrap();
        st.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let mut want = vec![spec.export_id(), next.export_id()];
    want.sort();
    assert_eq!(exports, want);
}

#[test]
fn the_drive_consent_is_refreshed_in_its_own_column_and_a_revoked_one_names_the_command() {
    let env = Env::new();
    env.auth(A);
    consent(&env);
    env.fake.drive_add(A, DriveFileSpec::folder("Takeout"));
    let creds = |col: &str| -> String {
        env.db()
            .query_row(
                &format!("SELECT {col} FROM accounts WHERE name = ?1"),
                [A],
                |r| r.get(0),
            )
            .unwrap()
    };
    let (photos, drive) = (creds("credentials"), creds("drive_credentials"));
    assert_ne!(photos, drive);
    // An expired access token is refreshed, and the new one saved as the Drive consent.
    env.fake.expire_access_tokens();
    let out = ok_from_drive(&env);
    assert!(out.contains("0 Takeout parts"), "{out}");
    assert_eq!(env.fake.stats().token_refreshes, 1);
    let refreshed = creds("drive_credentials");
    assert_ne!(refreshed, drive);
    assert!(refreshed.contains("drive.readonly"), "{refreshed}");
    assert_eq!(
        creds("credentials"),
        photos,
        "the Photos consent is untouched"
    );
    // A consent revoked at Google: the error says how to give it again.
    env.fake.revoke_refresh_tokens(A);
    env.fake.expire_access_tokens();
    let out = from_drive(&env);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("invalid_grant"), "{stderr}");
    assert!(
        stderr.contains(&format!("photobak auth --googlephotos {A} --drive")),
        "{stderr}"
    );
}

#[test]
fn an_export_with_a_missing_part_waits_and_is_imported_once_whole() {
    let env = Env::new();
    let (spec, parts) = two_part_export(26, &env.dir.path().join("export"));
    let folder = env.fake.drive_add(A, DriveFileSpec::folder("Takeout"));
    // Google has written the second part only.
    upload(&env, &folder, &parts[1..]);
    consent(&env);
    let out = ok_from_drive(&env);
    assert!(out.contains("imported 0 exports"), "{out}");
    assert!(
        out.contains(&format!(
            "waiting: {}: incomplete in Drive: part 001",
            spec.export_id()
        )),
        "{out}"
    );
    assert_eq!(
        env.fake.stats().drive_media_requests,
        0,
        "nothing downloaded"
    );
    assert_eq!(count(&env, "SELECT count(*) FROM takeout_exports"), 0);
    // The first part arrives: the next run imports the export.
    upload(&env, &folder, &parts[..1]);
    let out = ok_from_drive(&env);
    assert!(out.contains("imported 1 export (2 parts"), "{out}");
    assert_eq!(env.fake.stats().drive_media_requests, 2);
    assert_eq!(count(&env, "SELECT count(*) FROM takeout_exports"), 1);
}
