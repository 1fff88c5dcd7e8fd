//! The command line itself: help text, old flags, the lock, the index on a new repository, the
//! error log and its rotation.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::Env;

fn photobak() -> Command {
    Command::new(env!("CARGO_BIN_EXE_photobak"))
}

fn stdout_of(args: &[&str]) -> String {
    let out = photobak().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn help_is_complete_and_stable() {
    insta::assert_snapshot!("help", stdout_of(&["--help"]));
    insta::assert_snapshot!("help_backup", stdout_of(&["backup", "--help"]));
    insta::assert_snapshot!("help_auth", stdout_of(&["auth", "--help"]));
    insta::assert_snapshot!(
        "help_import_takeout",
        stdout_of(&["import", "takeout", "--help"])
    );
    insta::assert_snapshot!("help_pick", stdout_of(&["pick", "--help"]));
}

#[test]
fn a_new_repository_gets_a_migrated_private_index() {
    let env = Env::new();
    let repo = env.dir.path().join("new repo");
    env.fake.add_account("a@example.com");
    let out = env
        .cmd_for(&repo)
        .args(["auth", "--googlephotos", "a@example.com"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let db = rusqlite::Connection::open(repo.join("photobak.db")).unwrap();
    let v: i64 = db
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(v, 7);
    let mode: String = db
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&repo).unwrap().permissions().mode() & 0o777,
            0o700
        );
        assert_eq!(
            std::fs::metadata(repo.join("photobak.db"))
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o600
        );
    }
}

#[test]
fn missing_client_credentials_are_a_clear_error() {
    let t = tempfile::tempdir().unwrap();
    let out = photobak()
        .args(["--repo"])
        .arg(t.path())
        .args(["-googlephotos", "a@example.com"])
        .env_remove("GOOGLEPHOTOS_CLIENT_ID")
        .env_remove("GOOGLEPHOTOS_CLIENT_SECRET")
        .output()
        .unwrap();
    // A configuration error (5), said as an `error:` line.
    assert_eq!(out.status.code(), Some(5));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("error: GOOGLEPHOTOS_CLIENT_ID and GOOGLEPHOTOS_CLIENT_SECRET"),
        "{err}"
    );
}

#[test]
fn a_second_instance_fails_fast_naming_the_repository_and_pid() {
    let env = Env::new();
    env.fake.add_account("a@example.com");
    env.auth("a@example.com");
    env.fake.add_item(
        "a@example.com",
        photobak_testkit::fake_google::NewItem::video("slow.mp4")
            .content(photobak_testkit::fake_google::Content::mp4(1, 32 << 20)),
    );
    env.fake.set_faults(photobak_testkit::fake_google::Faults {
        slow_body_ms_per_chunk: 50,
        ..Default::default()
    });
    let mut first = env
        .cmd()
        .args(["backup", "--googlephotos", "a@example.com"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the first run holds the lock (its pid is in the lock file).
    let lock = env.repo.join(".photobak/lock");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::fs::read_to_string(&lock).unwrap_or_default().trim() != first.id().to_string()
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    let started = Instant::now();
    let out = env.run(&["-googlephotos", "a@example.com"]);
    let waited = started.elapsed();
    first.kill().unwrap();
    first.wait().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&env.repo.display().to_string()), "{err}");
    assert!(err.contains(&format!("pid {}", first.id())), "{err}");
    assert!(waited < Duration::from_secs(5), "{waited:?}");
    assert!(
        waited >= Duration::from_millis(1500),
        "gave up too early: {waited:?}"
    );
}

#[test]
fn old_single_dash_command_lines_still_work() {
    let env = Env::new();
    env.fake.add_account("a@example.com");
    env.fake.add_item(
        "a@example.com",
        photobak_testkit::fake_google::NewItem::photo("IMG_1.JPG"),
    );
    // -authonly, then the original's full line (minus -every) with -flag=value forms.
    let out = env.run(&["-googlephotos", "a@example.com", "-authonly"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = env.run(&[
        "-googlephotos=a@example.com",
        "-concurrency",
        "20",
        "-v",
        "-everything",
        "-integrity",
        "-maxalbums=5",
        "-maxphotos",
        "10",
        "-log",
        "stderr",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 new"));
    let raw: Option<String> = env
        .db()
        .query_row("SELECT raw_json FROM items", [], |r| r.get(0))
        .unwrap();
    assert!(
        raw.is_some_and(|r| r.contains("mediaMetadata")),
        "-everything keeps the API JSON"
    );
}

#[test]
fn only_errors_are_logged_and_the_log_file_rotates() {
    let env = Env::new();
    let log = env.dir.path().join("logs/photobak.log");
    for _ in 0..6 {
        let out = env
            .cmd()
            .env("PHOTOBAK_LOG_MAX_BYTES", "300")
            .args(["--log"])
            .arg(&log)
            .args(["backup", "--googlephotos", "nobody@example.com"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(5));
        // With a log file, the reason still reaches the terminal as an `error:` line.
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.starts_with("error: nobody@example.com: not authorised"),
            "{err}"
        );
    }
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("ERROR") && text.contains("not authorised"),
        "{text}"
    );
    assert!(!text.contains("INFO"));
    let rotated = env.dir.path().join("logs/photobak.log.1");
    assert!(rotated.exists(), "no rotation happened");
    assert!(std::fs::metadata(&log).unwrap().len() <= 300 + 400);
}
