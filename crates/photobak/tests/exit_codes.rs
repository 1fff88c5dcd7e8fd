//! The exit-code table of the README, row by row, with the real binary: every code is produced
//! by a real situation, the person reads `error: WHAT` (and `hint: WHAT TO DO`) on stderr with
//! no timestamp, and a failed command leaves no repository behind.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::Env;
use photobak_testkit::takeout_gen::{ExportSpec, ItemSpec, write_export};

/// The binary run in `cwd` with no Google settings at all, so that `./photos_backup` (the
/// default repository) is inside the test's folder.
fn bare(cwd: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_photobak"));
    c.current_dir(cwd)
        .env_remove("GOOGLEPHOTOS_CLIENT_ID")
        .env_remove("GOOGLEPHOTOS_CLIENT_SECRET")
        .env_remove("PHOTOBAK_GOOGLE_ENDPOINT")
        .env_remove("BROWSER")
        .env_remove("PHOTOBAK_TEST_PANIC");
    c
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts the exit code and that stderr starts with `error: ` + `what` (no timestamp, no log
/// level), with a `hint:` line when `hint` is given.
fn assert_error(o: &Output, code: i32, what: &str, hint: Option<&str>) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(code), "stderr:\n{err}");
    let first = err.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("error: ") && first.contains(what),
        "first stderr line should be `error: …{what}…`:\n{err}"
    );
    if let Some(h) = hint {
        assert!(
            err.lines()
                .any(|l| l.starts_with("hint: ") && l.contains(h)),
            "no `hint: …{h}…` line:\n{err}"
        );
    }
}

/// Writes a small two-item Takeout export and returns its part paths.
fn small_export(dir: &Path) -> Vec<PathBuf> {
    std::fs::create_dir_all(dir).unwrap();
    let spec = ExportSpec::new("20250101T000000Z")
        .account("jane@example.com")
        .item(ItemSpec::new("one", "IMG_0001.JPG"))
        .item(ItemSpec::new("two", "IMG_0002.JPG"));
    write_export(&spec, dir).unwrap()
}

/// Everything in `dir` except the given names: a failed command must have added nothing.
fn new_entries(dir: &Path, known: &[&str]) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !known.contains(&n.as_str()))
        .collect()
}

#[test]
fn usage_errors_exit_2_and_create_nothing() {
    let t = tempfile::tempdir().unwrap();
    let cwd = t.path();
    std::fs::write(cwd.join("notes.txt"), "not an archive").unwrap();
    let known = ["notes.txt"];

    // A Go-style flag the original never had is reported whole, not as `-b`.
    let o = bare(cwd).args(["-bogus"]).output().unwrap();
    assert_error(&o, 2, "'-bogus'", Some("--help"));
    assert!(!stderr(&o).contains("'-b'"), "{}", stderr(&o));
    let o = bare(cwd)
        .args(["-googlephotos", "a@example.com", "-maxphoto", "3"])
        .output()
        .unwrap();
    assert_error(&o, 2, "'-maxphoto'", None);
    // clap's own usage errors keep clap's code.
    let o = bare(cwd)
        .args(["backup", "--concurrency", "0"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    // Import arguments that cannot be an export.
    let o = bare(cwd)
        .args(["import", "takeout", "missing.zip"])
        .output()
        .unwrap();
    assert_error(&o, 2, "missing.zip", Some("every part"));
    let o = bare(cwd)
        .args(["import", "takeout", "notes.txt"])
        .output()
        .unwrap();
    assert_error(&o, 2, "notes.txt: not a Takeout archive", Some(".zip"));
    // Backup with no account anywhere: what to do, and no repository made for it.
    let o = bare(cwd)
        .env("GOOGLEPHOTOS_CLIENT_ID", "x")
        .env("GOOGLEPHOTOS_CLIENT_SECRET", "y")
        .args(["backup"])
        .output()
        .unwrap();
    assert_error(
        &o,
        2,
        "no account to back up",
        Some("auth --googlephotos ADDRESS"),
    );
    assert_eq!(new_entries(cwd, &known), Vec::<String>::new());
}

#[test]
fn read_only_commands_on_a_missing_repository_exit_4_and_create_nothing() {
    let t = tempfile::tempdir().unwrap();
    let cwd = t.path();
    for args in [
        vec!["status"],
        vec!["status", "--json"],
        vec!["list"],
        vec!["verify"],
        vec!["verify", "--repair"],
        vec!["prune", "--dry-run"],
        vec!["prune"],
    ] {
        let o = bare(cwd).args(&args).output().unwrap();
        assert_error(
            &o,
            4,
            "./photos_backup: not a photobak repository (no photobak.db)",
            Some("check --repo"),
        );
        assert!(
            !cwd.join("photos_backup").exists(),
            "{args:?} created ./photos_backup"
        );
    }
    // The hint names the repository the person gave.
    let o = bare(cwd)
        .args(["--repo", "elsewhere", "verify"])
        .output()
        .unwrap();
    assert_error(
        &o,
        4,
        "elsewhere: not a photobak repository",
        Some("photobak --repo elsewhere import takeout"),
    );
    assert_eq!(new_entries(cwd, &[]), Vec::<String>::new());
}

#[test]
fn configuration_errors_exit_5_and_an_unauthorised_account_is_not_remembered() {
    let env = Env::new();
    // No OAuth client.
    let o = env
        .cmd()
        .env_remove("GOOGLEPHOTOS_CLIENT_ID")
        .args(["backup", "--googlephotos", "a@example.com"])
        .output()
        .unwrap();
    assert_error(&o, 5, "GOOGLEPHOTOS_CLIENT_ID", None);
    // An address that never went through `auth`, in no repository: nothing is created.
    let o = env.run(&["backup", "--googlephotos", "a@example.com"]);
    assert_error(
        &o,
        5,
        "a@example.com: not authorised in",
        Some("auth --googlephotos a@example.com"),
    );
    assert!(!env.repo.exists());
    // In a repository with another, authorised account: still refused when it is the only one
    // named, and never saved in the index.
    env.auth("b@example.com");
    let o = env.run(&["backup", "--googlephotos", "a@example.com"]);
    assert_error(&o, 5, "a@example.com: not authorised", None);
    assert!(stderr(&o).contains("authorised here: b@example.com"));
    // Named with an authorised one, it fails in the summary (exit 1) and is not saved either.
    let o = env.run(&[
        "backup",
        "--googlephotos",
        "a@example.com",
        "--googlephotos",
        "b@example.com",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("a@example.com: "),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let names: Vec<String> = env
        .db()
        .prepare("SELECT name FROM accounts ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(names, vec!["b@example.com".to_string()]);
}

#[test]
fn a_partial_failure_exits_1_and_a_broken_archive_leaves_no_repository() {
    let t = tempfile::tempdir().unwrap();
    let cwd = t.path();
    // A part named like an archive whose bytes are not one: the importer refuses it after the
    // repository was opened, and the empty repository is taken back.
    std::fs::write(cwd.join("takeout-x-001.zip"), "truncated download").unwrap();
    let o = bare(cwd)
        .args(["import", "takeout", "takeout-x-001.zip"])
        .output()
        .unwrap();
    assert_error(&o, 1, "takeout-x-001.zip", None);
    assert_eq!(
        new_entries(cwd, &["takeout-x-001.zip"]),
        Vec::<String>::new()
    );

    // A real import, then a stored file removed: verify finishes, finds it, exits 1, and does
    // not count the missing file as re-hashed.
    let parts = small_export(&cwd.join("export"));
    let o = bare(cwd)
        .args(["import", "takeout"])
        .args(&parts)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let db = rusqlite::Connection::open(cwd.join("photos_backup/photobak.db")).unwrap();
    let path: String = db
        .query_row("SELECT path FROM content ORDER BY id LIMIT 1", [], |r| {
            r.get(0)
        })
        .unwrap();
    std::fs::remove_file(cwd.join("photos_backup").join(&path)).unwrap();
    let o = bare(cwd).args(["verify"]).output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains(&format!("missing: {path}")) && out.contains("2 files, 1 re-hashed"),
        "{out}"
    );
    // The unknown account of a prune is a usage error with the way to list accounts.
    let o = bare(cwd)
        .args(["prune", "--dry-run", "--account", "nobody@example.com"])
        .output()
        .unwrap();
    assert_error(
        &o,
        2,
        "nobody@example.com: no such account in the repository",
        Some("photobak status"),
    );
}

#[test]
fn a_panicked_task_is_an_internal_error_70() {
    let t = tempfile::tempdir().unwrap();
    let cwd = t.path();
    let parts = small_export(&cwd.join("export"));
    let o = bare(cwd)
        .env("PHOTOBAK_TEST_PANIC", "1")
        .args(["import", "takeout"])
        .args(&parts)
        .output()
        .unwrap();
    assert_error(&o, 70, "internal error", Some("bug in photobak"));
    assert!(!cwd.join("photos_backup").exists());
}

/// Waits until `photobak auth` printed the URL it waits on (it then holds the repository when
/// one exists). The rest of its stdout is drained on a thread, so no write of the child meets a
/// closed pipe.
pub fn wait_for_url(child: &mut std::process::Child) {
    use std::io::BufRead;
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for l in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(l);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(l) if l.trim_start().starts_with("http") => return,
            Ok(_) => {}
            Err(_) => panic!("auth printed no URL"),
        }
    }
}

#[test]
fn locked_exits_3_and_interrupted_exits_130() {
    let env = Env::new();
    env.auth("a@example.com");
    // `auth` waiting for a browser that never answers holds the existing repository.
    let mut waiting = env
        .cmd()
        .env_remove("BROWSER")
        .args(["auth", "--no-browser", "--googlephotos", "b@example.com"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_url(&mut waiting);
    let o = env.run(&["verify"]);
    assert_error(&o, 3, &env.repo.display().to_string(), Some("wait for"));
    assert!(stderr(&o).contains(&format!("pid {}", waiting.id())));
    // Ctrl-C ends the wait at once with 130.
    let sent = Instant::now();
    let kill = Command::new("kill")
        .args(["-INT", &waiting.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let out = waiting.wait_with_output().unwrap();
    assert!(
        sent.elapsed() < Duration::from_secs(5),
        "{:?}",
        sent.elapsed()
    );
    assert_eq!(out.status.code(), Some(130));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("interrupted"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // And the lock went with it.
    assert!(env.run(&["verify"]).status.success());
}

#[test]
fn success_is_0_and_quiet_on_stderr() {
    let t = tempfile::tempdir().unwrap();
    let cwd = t.path();
    let parts = small_export(&cwd.join("export"));
    for args in [vec!["import", "takeout"], vec!["verify"], vec!["status"]] {
        let mut c = bare(cwd);
        c.args(&args);
        if args[0] == "import" {
            c.args(&parts);
        }
        let o = c.output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        // Not a terminal: no progress bar, no noise.
        assert_eq!(stderr(&o), "", "{args:?}");
    }
}

#[test]
fn prune_dry_run_shows_the_refusals_of_the_real_run() {
    let env = Env::new();
    env.fake.add_account("a@example.com");
    let ids: Vec<String> = (0..3)
        .map(|i| {
            env.fake.add_item(
                "a@example.com",
                photobak_testkit::fake_google::NewItem::photo(&format!("IMG_{i}.JPG")),
            )
        })
        .collect();
    env.auth("a@example.com");
    env.backup(&["a@example.com"]);
    // No Google client: the Library API cannot be listed, so nothing may be removed. The dry run
    // says so as loudly as the real run, with what to do.
    for args in [&["prune", "--dry-run"][..], &["prune"][..]] {
        let o = env
            .cmd()
            .env_remove("GOOGLEPHOTOS_CLIENT_ID")
            .args(args)
            .output()
            .unwrap();
        assert_error(
            &o,
            1,
            "prune refused: a listing failed or looks incomplete",
            Some("GOOGLEPHOTOS_CLIENT_ID"),
        );
        assert!(stderr(&o).contains("the Google client is not configured"));
    }
    // Two of three items deleted at Google: over the 10 % default, refused in both modes.
    env.fake.delete_item(&ids[0]);
    env.fake.delete_item(&ids[1]);
    let dry = env.run(&["prune", "--dry-run"]);
    assert_error(&dry, 1, "prune refused: a@example.com: 2 of 3 items", None);
    let out = String::from_utf8_lossy(&dry.stdout);
    assert!(out.contains("dry run: nothing was changed"), "{out}");
    let real = env.run(&["prune"]);
    assert_eq!(
        stderr(&real).lines().next(),
        stderr(&dry).lines().next(),
        "the dry run and the real run refuse alike"
    );
    // With --json the refusal is in the JSON too.
    let json = env.run(&["prune", "--dry-run", "--json"]);
    assert_eq!(json.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert!(
        v["refused"].as_str().unwrap().contains("--max-delete"),
        "{v}"
    );
    // Allowed, the dry run succeeds.
    assert!(env.run(&["prune", "--dry-run", "--force"]).status.success());
}
