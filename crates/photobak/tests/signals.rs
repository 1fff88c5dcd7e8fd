//! Ctrl-C and SIGTERM end every long wait promptly with exit 130 and nothing half-stored: the
//! browser wait of `auth`, a 429 pause, a download in the middle of a body, the `--every`
//! sleep; and Ctrl-C typed on a real terminal (a pty through `script`). Also the progress bar,
//! which needs that terminal: drawn there, absent with `--json` and when not on a terminal.
#![cfg(unix)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use common::Env;
use photobak_testkit::fake_google::{Content, Faults, NewItem};

const A: &str = "alice@example.com";

/// Lines of a child's stdout, read on a thread (so the child never meets a closed pipe).
fn lines_of(child: &mut Child) -> Receiver<String> {
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for l in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    rx
}

fn wait_line(rx: &Receiver<String>, what: impl Fn(&str) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(l) if what(&l) => return,
            Ok(_) => {}
            Err(_) => panic!("the expected line never came"),
        }
    }
}

fn until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Sends `sig` and returns the exit code and how long the process took to end.
fn signal_and_wait(child: &mut Child, sig: &str) -> (Option<i32>, Duration) {
    let sent = Instant::now();
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let deadline = sent + Duration::from_secs(30);
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return (s.code(), sent.elapsed());
        }
        assert!(Instant::now() < deadline, "still running 30 s after {sig}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn parts_in(dir: &Path) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

#[test]
fn sigterm_ends_the_wait_for_the_browser_and_creates_nothing() {
    let env = Env::new();
    env.fake.add_account(A);
    let mut child = env
        .cmd()
        .env_remove("BROWSER")
        .args(["auth", "--no-browser", "--googlephotos", A])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let rx = lines_of(&mut child);
    wait_line(&rx, |l| l.trim_start().starts_with("http"));
    let (code, took) = signal_and_wait(&mut child, "-TERM");
    assert_eq!(code, Some(130));
    assert!(took < Duration::from_secs(3), "{took:?}");
    assert!(
        !env.repo.exists(),
        "an abandoned auth created the repository"
    );
}

#[test]
fn sigterm_ends_a_429_pause() {
    let env = Env::new();
    env.fake.add_account(A);
    env.fake.add_item(A, NewItem::photo("IMG_1.JPG"));
    env.auth(A);
    // Every API call is refused with `Retry-After: 600`: photobak pauses ten minutes.
    env.fake.set_faults(Faults {
        api_429_rate: 1.0,
        retry_after_secs: Some(600),
        ..Faults::default()
    });
    let mut child = env
        .cmd()
        .args(["backup", "--googlephotos", A])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    until("the first 429", || env.fake.stats().faults("api_429") > 0);
    std::thread::sleep(Duration::from_millis(200));
    let (code, took) = signal_and_wait(&mut child, "-TERM");
    assert_eq!(code, Some(130));
    assert!(took < Duration::from_secs(3), "{took:?}");
    assert_eq!(env.tmp_leftovers(), 0);
}

#[test]
fn sigint_ends_a_download_mid_body_and_leaves_no_partial_file() {
    let env = Env::new();
    env.fake.add_account(A);
    env.fake.add_item(
        A,
        NewItem::video("VID_slow.mp4").content(Content::mp4(7, 4 << 20)),
    );
    env.auth(A);
    // 64 chunks of 64 KiB at one per second: a minute-long download.
    env.fake.set_faults(Faults {
        slow_body_ms_per_chunk: 1000,
        ..Faults::default()
    });
    let mut child = env
        .cmd()
        .args(["backup", "--googlephotos", A])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let tmp = env.repo.join(".photobak/tmp");
    until("the download to start", || parts_in(&tmp) > 0);
    std::thread::sleep(Duration::from_millis(1500));
    let (code, took) = signal_and_wait(&mut child, "-INT");
    assert_eq!(code, Some(130));
    assert!(took < Duration::from_secs(3), "{took:?}");
    // Nothing half-stored: no staged part, no file in the tree, no content recorded.
    assert_eq!(parts_in(&tmp), 0);
    assert!(env.tree_state().is_empty(), "{:?}", env.tree_state());
    let stored: i64 = env
        .db()
        .query_row("SELECT count(*) FROM content", [], |r| r.get(0))
        .unwrap();
    assert_eq!(stored, 0);
}

#[test]
fn sigterm_ends_the_every_sleep_with_130() {
    let env = Env::new();
    env.fake.add_account(A);
    env.fake.add_item(A, NewItem::photo("IMG_1.JPG"));
    env.auth(A);
    let mut child = env
        .cmd()
        .args(["backup", "--googlephotos", A, "--every", "1h"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let rx = lines_of(&mut child);
    wait_line(&rx, |l| l.starts_with(&format!("{A}:")));
    std::thread::sleep(Duration::from_millis(200));
    let (code, took) = signal_and_wait(&mut child, "-TERM");
    assert_eq!(code, Some(130));
    assert!(took < Duration::from_secs(3), "{took:?}");
}

/// Runs `photobak ARGS` on a pseudo-terminal (util-linux `script`), returning the child whose
/// stdin is the terminal's keyboard and whose stdout is everything the terminal showed.
fn on_a_terminal(env: &Env, repo: &Path, args: &[&str]) -> Child {
    let mut line = format!(
        "exec {} --repo {}",
        env!("CARGO_BIN_EXE_photobak"),
        quote(&repo.display().to_string())
    );
    for a in args {
        line.push(' ');
        line.push_str(&quote(a));
    }
    env.cmd_for(repo)
        .get_envs()
        .fold(&mut Command::new("script"), |c, (k, v)| match v {
            Some(v) => c.env(k, v),
            None => c.env_remove(k),
        })
        .env("TERM", "xterm")
        .args(["-qefc", &line, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("util-linux `script` runs")
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[test]
fn ctrl_c_typed_on_a_terminal_stops_auth_with_130() {
    let env = Env::new();
    env.fake.add_account(A);
    let mut child = on_a_terminal(
        &env,
        &env.repo,
        &["auth", "--no-browser", "--googlephotos", A],
    );
    let rx = lines_of(&mut child);
    wait_line(&rx, |l| l.trim_start().starts_with("http"));
    let typed = Instant::now();
    // ^C on the keyboard: the terminal sends SIGINT to the foreground process.
    child.stdin.as_mut().unwrap().write_all(b"\x03").unwrap();
    child.stdin.as_mut().unwrap().flush().unwrap();
    let deadline = typed + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "auth ignored ^C");
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(status.code(), Some(130));
    assert!(typed.elapsed() < Duration::from_secs(3));
    assert!(!env.repo.exists());
}

/// Everything a terminal showed for `photobak ARGS`, and the exit code.
fn terminal_output(env: &Env, repo: &Path, args: &[&str]) -> (Option<i32>, String) {
    let mut child = on_a_terminal(env, repo, args);
    drop(child.stdin.take());
    let mut out = Vec::new();
    child.stdout.take().unwrap().read_to_end(&mut out).unwrap();
    let status = child.wait().unwrap();
    (status.code(), String::from_utf8_lossy(&out).into_owned())
}

#[test]
fn long_commands_draw_progress_only_on_a_terminal_and_never_with_json() {
    let env = Env::new();
    let spec = photobak_testkit::takeout_gen::realistic_export(2);
    let dir = env.dir.path().join("export");
    std::fs::create_dir_all(&dir).unwrap();
    let parts: Vec<String> = photobak_testkit::takeout_gen::write_export(&spec, &dir)
        .unwrap()
        .into_iter()
        .map(|p| p.display().to_string())
        .collect();
    let mut import = vec!["import", "takeout", "--account", A];
    import.extend(parts.iter().map(String::as_str));
    let (code, shown) = terminal_output(&env, &env.repo, &import);
    assert_eq!(code, Some(0), "{shown}");
    // The bar over bytes: items, bytes, rate and time left.
    assert!(
        shown.contains("items") && shown.contains("ETA") && shown.contains("/s"),
        "{shown}"
    );
    let (code, shown) = terminal_output(&env, &env.repo, &["verify"]);
    assert_eq!(code, Some(0), "{shown}");
    assert!(
        shown.contains("re-hashing") || shown.contains("ETA"),
        "{shown}"
    );
    // --json on a terminal: the JSON only.
    let (code, shown) = terminal_output(&env, &env.repo, &["verify", "--json"]);
    assert_eq!(code, Some(0), "{shown}");
    assert!(
        !shown.contains("ETA") && !shown.contains("re-hashing"),
        "{shown}"
    );
    assert!(shown.trim_start().starts_with('{'), "{shown}");
    // Not a terminal: stderr stays empty.
    let out = env.run(&["verify"]);
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

#[test]
fn prune_shows_its_listing_on_a_terminal() {
    let env = Env::new();
    env.fake.add_account(A);
    for i in 0..5 {
        env.fake
            .add_item(A, NewItem::photo(&format!("IMG_{i}.JPG")));
    }
    env.auth(A);
    env.backup(&[A]);
    let (code, shown) = terminal_output(&env, &env.repo, &["prune", "--dry-run"]);
    assert_eq!(code, Some(0), "{shown}");
    // The listing's bar counts the items the last backup knew.
    assert!(
        shown.contains("listing the library") && shown.contains("/5 items"),
        "{shown}"
    );
    assert!(shown.contains("dry run: nothing was changed"), "{shown}");
    let (code, shown) = terminal_output(&env, &env.repo, &["prune", "--dry-run", "--json"]);
    assert_eq!(code, Some(0), "{shown}");
    assert!(!shown.contains("listing the library"), "{shown}");
}
