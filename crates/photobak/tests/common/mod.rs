//! Shared fixtures of the binary's integration tests: a fake Google service, a temporary
//! repository, the real `photobak` binary pointed at both, and a checker that compares a
//! repository with the fake's library byte for byte.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use photobak_testkit::fake_google::{FakeConfig, FakeGoogle, LibrarySnapshot, VideoStatus};

/// One test's world.
pub struct Env {
    pub fake: FakeGoogle,
    pub dir: tempfile::TempDir,
    pub repo: PathBuf,
}

impl Env {
    pub fn new() -> Env {
        Env::with_config(FakeConfig::default())
    }

    pub fn with_config(cfg: FakeConfig) -> Env {
        let fake = FakeGoogle::start(cfg).expect("fake google starts");
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = dir.path().join("repo");
        Env { fake, dir, repo }
    }

    /// The binary with the environment every test needs.
    pub fn cmd(&self) -> Command {
        self.cmd_for(&self.repo)
    }

    /// The binary with the test environment, on another repository.
    pub fn cmd_for(&self, repo: &Path) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_photobak"));
        c.env("PHOTOBAK_GOOGLE_ENDPOINT", self.fake.url())
            .env(
                "GOOGLEPHOTOS_CLIENT_ID",
                "test-client.apps.googleusercontent.com",
            )
            .env("GOOGLEPHOTOS_CLIENT_SECRET", "test-secret")
            .env("PHOTOBAK_RETRY_BASE_MS", "5")
            .env("BROWSER", "curl -sL")
            .env_remove("PHOTOBAK_LOG_MAX_BYTES")
            .arg("--repo")
            .arg(repo);
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().expect("photobak runs")
    }

    /// Runs and asserts success, returning stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "photobak {args:?} failed ({:?})\nstdout:\n{}\nstderr:\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn auth(&self, account: &str) {
        self.fake.add_account(account);
        self.ok(&["auth", "--googlephotos", account]);
    }

    pub fn backup(&self, accounts: &[&str]) -> String {
        let mut args = vec!["backup"];
        for a in accounts {
            args.push("--googlephotos");
            args.push(a);
        }
        self.ok(&args)
    }

    pub fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.repo.join("photobak.db")).expect("index opens")
    }

    /// The stored file recorded first, as an absolute path.
    #[allow(dead_code)]
    pub fn first_stored_file(&self) -> PathBuf {
        let rel: String = self
            .db()
            .query_row("SELECT path FROM content ORDER BY id LIMIT 1", [], |r| {
                r.get(0)
            })
            .expect("a stored file");
        self.repo.join(rel)
    }

    /// Every regular file under the repository's media tree with its mtime, to prove a run
    /// rewrote nothing.
    pub fn tree_state(&self) -> BTreeMap<PathBuf, (u64, std::time::SystemTime)> {
        let mut out = BTreeMap::new();
        walk(&self.repo.join("googlephotos"), &mut |p| {
            let m = std::fs::metadata(p).unwrap();
            out.insert(p.to_path_buf(), (m.len(), m.modified().unwrap()));
        });
        out
    }

    pub fn tmp_leftovers(&self) -> usize {
        std::fs::read_dir(self.repo.join(".photobak/tmp"))
            .map(|d| d.count())
            .unwrap_or(0)
    }
}

pub fn walk(dir: &Path, f: &mut dyn FnMut(&Path)) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd {
        let p = e.unwrap().path();
        if p.is_dir() {
            walk(&p, f);
        } else {
            f(&p);
        }
    }
}

pub fn hash_hex(p: &Path) -> String {
    blake3::hash(&std::fs::read(p).unwrap())
        .to_hex()
        .to_string()
}

/// Asserts that the repository holds every item of `account` in the fake with the same bytes,
/// and every album membership as a file in the album's folder or a line of its `others.txt`.
/// Items in no album must be in their `Photos from YYYY` folder. Returns the number of items.
pub fn assert_matches_library(env: &Env, snapshot: &LibrarySnapshot, account: &str) -> usize {
    let acc = snapshot.account(account).expect("account in fake");
    let db = env.db();
    let acc_id: i64 = db
        .query_row("SELECT id FROM accounts WHERE name = ?1", [account], |r| {
            r.get(0)
        })
        .expect("account in index");
    let path_of = |remote: &str| -> Option<String> {
        db.query_row(
            "SELECT c.path FROM items i JOIN content c ON c.id = i.content_id
             WHERE i.account_id = ?1 AND i.remote_id = ?2",
            rusqlite::params![acc_id, remote],
            |r| r.get(0),
        )
        .ok()
    };
    let folder_of = |remote: &str| -> String {
        db.query_row(
            "SELECT folder FROM albums WHERE account_id = ?1 AND remote_id = ?2",
            rusqlite::params![acc_id, remote],
            |r| r.get(0),
        )
        .unwrap_or_else(|_| panic!("album {remote} not in index"))
    };
    let mut stored = 0;
    let mut in_album: std::collections::HashSet<&str> = Default::default();
    for album in &acc.albums {
        let folder = folder_of(&album.id);
        let others =
            std::fs::read_to_string(env.repo.join(&folder).join("others.txt")).unwrap_or_default();
        for id in &album.item_ids {
            let item = acc.item(id).unwrap();
            if item.video_status.is_some_and(|s| s != VideoStatus::Ready) {
                continue;
            }
            in_album.insert(id.as_str());
            let path =
                path_of(id).unwrap_or_else(|| panic!("item {} ({}) not stored", item.filename, id));
            let parent = Path::new(&path)
                .parent()
                .unwrap()
                .to_string_lossy()
                .to_string();
            assert!(
                parent == folder || others.lines().any(|l| l == path),
                "album {folder} lacks {path} (neither file nor others.txt line)"
            );
        }
    }
    for item in &acc.items {
        if item.video_status.is_some_and(|s| s != VideoStatus::Ready) {
            assert!(
                path_of(&item.id).is_none(),
                "non-READY video {} stored",
                item.filename
            );
            continue;
        }
        let path = path_of(&item.id).unwrap_or_else(|| panic!("item {} not stored", item.filename));
        let abs = env.repo.join(&path);
        assert_eq!(
            hash_hex(&abs),
            item.blake3,
            "bytes of {path} differ from {}",
            item.filename
        );
        if !in_album.contains(item.id.as_str()) {
            let year = item
                .creation_time
                .to_zoned_datetime(jiff::tz::TimeZone::UTC)
                .year();
            let folder = format!(
                "googlephotos/{}/Photos from {year}",
                account_folder(account)
            );
            let others = std::fs::read_to_string(env.repo.join(&folder).join("others.txt"))
                .unwrap_or_default();
            let parent = Path::new(&path)
                .parent()
                .unwrap()
                .to_string_lossy()
                .to_string();
            assert!(
                parent == folder || others.lines().any(|l| l == path),
                "{path} not in {folder}"
            );
        }
        stored += 1;
    }
    // others.txt never holds duplicates or dangling paths.
    walk(&env.repo.join("googlephotos"), &mut |p| {
        if p.file_name().is_some_and(|n| n == "others.txt") {
            let text = std::fs::read_to_string(p).unwrap();
            let lines: Vec<&str> = text.lines().collect();
            let unique: std::collections::BTreeSet<&str> = lines.iter().copied().collect();
            assert_eq!(lines.len(), unique.len(), "duplicates in {}", p.display());
            for l in lines {
                assert!(
                    env.repo.join(l).is_file(),
                    "dangling line {l} in {}",
                    p.display()
                );
            }
        }
    });
    stored
}

pub fn account_folder(address: &str) -> String {
    address
        .to_lowercase()
        .replace('@', "_at_")
        .replace('+', "_")
}

/// `cmd` run under `strace -f -e trace=openat,open` (log in `log`), which must succeed: its
/// output, and the trace's lines that opened a path containing `under`. The trace is checked to
/// have seen the index opened, so an empty list means nothing under `under` was.
#[allow(dead_code)]
pub fn opens_under(cmd: &Command, log: &Path, under: &str) -> (Output, Vec<String>) {
    let o = under_strace(
        cmd,
        &["-f", "-e", "trace=openat,open", "-o", log.to_str().unwrap()],
    );
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let all = std::fs::read_to_string(log).unwrap();
    assert!(all.contains("photobak.db"), "strace saw no open: {all}");
    let opened = all
        .lines()
        .filter(|l| l.contains("open") && l.contains(under) && !l.contains("ENOENT"))
        .map(str::to_owned)
        .collect();
    (o, opened)
}

/// `cmd` (its program, arguments and environment) run under strace with `strace_args` before
/// it.
#[allow(dead_code)]
pub fn under_strace(cmd: &Command, strace_args: &[&str]) -> Output {
    let mut s = Command::new("strace");
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => s.env(k, v),
            None => s.env_remove(k),
        };
    }
    s.args(strace_args)
        .arg(cmd.get_program())
        .args(cmd.get_args())
        .output()
        .unwrap()
}

/// True when the external `tool` runs (`tool ARG` succeeds). When it does not, the test that
/// needs it is skipped visibly: a `SKIPPED` line goes to the real stderr, which the test harness
/// does not capture (it would hide an `eprintln!` of a passing test), so `cargo test` shows it
/// beside the test's `ok`. With `PHOTOBAK_REQUIRE_TOOLS=1` (set by `.ci/run`, which installs
/// every tool) a missing tool fails the test instead: a skip there would hide a broken setup.
pub fn tool_available(tool: &str, arg: &str, package: &str, test: &str) -> bool {
    use std::io::Write;
    let runs = Command::new(tool)
        .arg(arg)
        .output()
        .is_ok_and(|o| o.status.success());
    if runs {
        return true;
    }
    assert!(
        std::env::var("PHOTOBAK_REQUIRE_TOOLS").as_deref() != Ok("1"),
        "{tool} is required (PHOTOBAK_REQUIRE_TOOLS=1) but does not run; install {package}"
    );
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED {test}: {tool} is not installed (Debian package {package}; .ci/run installs it)"
    );
    false
}

/// The account Takeout tests import into.
pub const TAKEOUT_ACCOUNT: &str = "jane.doe@example.com";

/// A small Takeout export of `items` photos for the account `TAKEOUT_ACCOUNT`, one per part
/// (so `items` parts).
#[allow(dead_code)]
pub fn one_per_part_export(
    timestamp: &str,
    tag: &str,
    items: usize,
) -> photobak_testkit::takeout_gen::ExportSpec {
    use photobak_testkit::takeout_gen::{ExportSpec, ItemSpec};
    let mut spec = ExportSpec::new(timestamp)
        .account(TAKEOUT_ACCOUNT)
        .part_size(1);
    for i in 0..items {
        spec = spec.item(ItemSpec::new(
            &format!("{tag}-{i}"),
            &format!("IMG_{tag}_{i}.jpg"),
        ));
    }
    spec
}

/// A command's exit status, stdout and stderr, for an assertion's message.
#[allow(dead_code)]
pub fn described(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Writes a generated export's parts under `dir`; their paths as the command line wants them.
pub fn write_parts(spec: &photobak_testkit::takeout_gen::ExportSpec, dir: &Path) -> Vec<String> {
    std::fs::create_dir_all(dir).unwrap();
    photobak_testkit::takeout_gen::write_export(spec, dir)
        .unwrap()
        .into_iter()
        .map(|p| p.display().to_string())
        .collect()
}

impl Env {
    /// `import takeout --account TAKEOUT_ACCOUNT EXTRA… PARTS…`, asserting success.
    pub fn import_takeout(&self, parts: &[String], extra: &[&str]) -> String {
        let mut args = vec!["import", "takeout", "--account", TAKEOUT_ACCOUNT];
        args.extend_from_slice(extra);
        args.extend(parts.iter().map(String::as_str));
        self.ok(&args)
    }
}

/// Flips a byte in the middle of the compressed data of the zip entry whose name ends with
/// `suffix`, leaving the directory intact: reading that entry fails its CRC or inflate.
pub fn corrupt_entry(zip: &Path, suffix: &str) {
    let mut b = std::fs::read(zip).unwrap();
    let le16 = |b: &[u8], at: usize| u16::from_le_bytes([b[at], b[at + 1]]) as usize;
    let le32 =
        |b: &[u8], at: usize| u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]) as usize;
    let mut at = 0;
    while at + 30 < b.len() {
        if b[at..].starts_with(b"PK\x03\x04") {
            let n = le16(&b, at + 26);
            let x = le16(&b, at + 28);
            let name = String::from_utf8_lossy(&b[at + 30..at + 30 + n]).into_owned();
            let size = le32(&b, at + 18);
            if name.ends_with(suffix) && size > 8 {
                let data = at + 30 + n + x;
                b[data + size / 2] ^= 0xff;
                b[data + size / 2 + 1] ^= 0xff;
                std::fs::write(zip, &b).unwrap();
                return;
            }
        }
        at += 1;
    }
    panic!("no entry ending with {suffix} in {}", zip.display());
}
