//! Helpers of the reliability suites (crash, power cut, faults, full disk, concurrency,
//! secrets): random kills, the check that the index names only bytes that are really there,
//! and a comparable projection of `list --json`. A folder module so it is no test target of its
//! own and the shared `common` module stays untouched.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{Env, walk};

/// `PHOTOBAK_LONG=1` turns the bounded CI versions into the long runs RELIABILITY.md reports.
pub fn long_run() -> bool {
    std::env::var("PHOTOBAK_LONG").is_ok_and(|v| v == "1")
}

/// Kill points per command: 5 in CI, 30 in the long run (or `PHOTOBAK_KILL_POINTS`).
pub fn kill_points() -> usize {
    if let Some(n) = std::env::var("PHOTOBAK_KILL_POINTS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        return n;
    }
    if long_run() { 30 } else { 5 }
}

/// The seed of a run's random choices: `PHOTOBAK_CHAOS_SEED` to replay one, else the clock.
/// Printed, so a failure can be replayed.
pub fn chaos_rng(what: &str) -> Rng {
    let seed = std::env::var("PHOTOBAK_CHAOS_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    eprintln!("{what}: PHOTOBAK_CHAOS_SEED={seed}");
    Rng(seed | 1)
}

/// xorshift64*: enough randomness for kill moments, and no extra dependency for the binary's
/// tests.
pub struct Rng(u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// A duration uniform in `0..=max`.
    pub fn upto(&mut self, max: Duration) -> Duration {
        Duration::from_micros(self.below(max.as_micros() as u64 + 1))
    }
}

/// A line for RELIABILITY.md's figures: printed, and appended to `PHOTOBAK_FIGURES` if set.
pub fn figure(line: &str) {
    eprintln!("FIGURE {line}");
    if let Ok(path) = std::env::var("PHOTOBAK_FIGURES") {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap();
        writeln!(f, "{line}").unwrap();
    }
}

/// How a run that was to be killed ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Ending {
    /// SIGKILL hit the running process.
    Killed,
    /// It finished first, with this exit code.
    Exited(Option<i32>),
}

/// Starts `cmd` and sends SIGKILL after `delay` unless it ended before.
pub fn run_and_kill(cmd: &mut Command, delay: Duration) -> Ending {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("photobak starts");
    kill_after(&mut child, delay)
}

pub fn kill_after(child: &mut Child, delay: Duration) -> Ending {
    let deadline = Instant::now() + delay;
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return Ending::Exited(st.code());
        }
        if Instant::now() >= deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    // Child::kill is SIGKILL on Unix: no destructor, no signal handler runs.
    child.kill().unwrap();
    let st = child.wait().unwrap();
    match st.code() {
        Some(c) => Ending::Exited(Some(c)), // it exited on its own in the last instant
        None => Ending::Killed,
    }
}

/// Wall time of a complete run of `cmd` (its exit status must be `ok_codes`).
pub fn timed(cmd: &mut Command) -> (Duration, std::process::Output) {
    let t = Instant::now();
    let out = cmd.output().expect("photobak runs");
    (t.elapsed(), out)
}

/// Every file the index records exists with the recorded size and BLAKE3. Returns how many
/// files were checked. `damaged` names paths a test broke on purpose.
pub fn assert_index_names_only_real_bytes(repo: &Path, damaged: &BTreeSet<String>) -> usize {
    let db = rusqlite::Connection::open(repo.join("photobak.db")).expect("index opens");
    let rows: Vec<(String, Vec<u8>, i64)> = db
        .prepare("SELECT path, blake3, size FROM content")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for (path, hash, size) in &rows {
        if damaged.contains(path) {
            continue;
        }
        let abs = repo.join(path);
        let bytes = std::fs::read(&abs)
            .unwrap_or_else(|e| panic!("the index names {path}, which cannot be read: {e}"));
        assert_eq!(bytes.len() as i64, *size, "size of {path}");
        assert_eq!(
            blake3::hash(&bytes).as_bytes().as_slice(),
            hash.as_slice(),
            "bytes of {path} differ from the index"
        );
    }
    rows.len()
}

/// Temporary files anywhere in the repository (`*.part`, `.NAME.tmp-PID`, `.photobak/tmp/*`).
pub fn temp_files(repo: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    walk(repo, &mut |p| {
        let name = p.file_name().unwrap_or_default().to_string_lossy();
        let in_tmp = p.parent().is_some_and(|d| d.ends_with(".photobak/tmp"));
        if name.ends_with(".part") || (name.starts_with('.') && name.contains(".tmp-")) || in_tmp {
            out.push(p.to_path_buf());
        }
    });
    out
}

/// Remote ids of the items that have their bytes stored.
pub fn recorded_items(repo: &Path) -> BTreeSet<String> {
    let Ok(db) = rusqlite::Connection::open(repo.join("photobak.db")) else {
        return BTreeSet::new();
    };
    let Ok(mut st) = db.prepare("SELECT remote_id FROM items WHERE content_id IS NOT NULL") else {
        return BTreeSet::new();
    };
    st.query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// `list --json` as `remote_id → object`, without the fields that legitimately differ between
/// two repositories holding the same library.
pub fn listing(env: &Env, repo: &Path, drop: &[&str]) -> BTreeMap<String, serde_json::Value> {
    let out = env.cmd_for(repo).args(["list", "--json"]).output().unwrap();
    assert!(
        out.status.success(),
        "list failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut m = BTreeMap::new();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let mut v: serde_json::Value = serde_json::from_str(line).unwrap();
        let obj = v.as_object_mut().unwrap();
        for d in drop {
            obj.remove(*d);
        }
        let key = format!(
            "{}/{}",
            obj["account"].as_str().unwrap(),
            obj["remote_id"].as_str().unwrap()
        );
        m.insert(key, v);
    }
    m
}

/// `verify` on `repo` must exit 0 and report nothing.
pub fn assert_verify_clean(env: &Env, repo: &Path) {
    let out = env.cmd_for(repo).arg("verify").output().unwrap();
    assert!(
        out.status.success(),
        "verify is not clean ({:?}):\n{}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every `others.txt` line names a stored file, and no line repeats.
pub fn assert_others_consistent(repo: &Path) {
    walk(&repo.join("googlephotos"), &mut |p| {
        if p.file_name().is_some_and(|n| n == "others.txt") {
            let text = std::fs::read_to_string(p).unwrap();
            let mut seen = BTreeSet::new();
            for l in text.lines() {
                assert!(seen.insert(l), "{} repeats {l}", p.display());
                assert!(repo.join(l).is_file(), "{} names missing {l}", p.display());
            }
        }
    });
}

/// Every item of `account` the fake can serve (photos, READY videos) is stored in `repo` with
/// the fake's bytes. Unlike `common::assert_matches_library` it does not insist on folder
/// names: after an interrupted first run two albums with one title (a user album called
/// "Photos from 2014" and the year folder) may get their ` (2)` suffixes in the other order.
pub fn assert_all_items_stored(
    repo: &Path,
    snap: &photobak_testkit::fake_google::LibrarySnapshot,
    account: &str,
) -> usize {
    use photobak_testkit::fake_google::VideoStatus;
    let db = rusqlite::Connection::open(repo.join("photobak.db")).unwrap();
    let mut n = 0;
    for item in &snap.account(account).unwrap().items {
        if item.video_status.is_some_and(|s| s != VideoStatus::Ready) {
            continue;
        }
        let path: String = db
            .query_row(
                "SELECT c.path FROM items i JOIN content c ON c.id = i.content_id
                 JOIN accounts a ON a.id = i.account_id WHERE a.name = ?1 AND i.remote_id = ?2",
                [account, item.id.as_str()],
                |r| r.get(0),
            )
            .unwrap_or_else(|_| panic!("item {} ({}) not stored", item.filename, item.id));
        assert_eq!(
            crate::common::hash_hex(&repo.join(&path)),
            item.blake3,
            "bytes of {path}"
        );
        n += 1;
    }
    n
}
