//! Power cuts: a SIGKILL keeps everything the process wrote; a power cut loses whatever had not
//! reached the disk. The repository lives on an ext4 image mounted through a loop device with a
//! 300 s journal commit interval, so nothing reaches the image except what an fsync forces
//! there (the kernel's own writeback starts after 30 s, longer than a run). At a random moment
//! the process is frozen (SIGSTOP: an fsync in progress completes first), the image is copied
//! (that copy is the disk as a power cut would leave it), and the process is killed. The copy
//! is mounted (ext4 replays its journal, as after a reboot) and must hold an index that names
//! only bytes that are there; the next run on it must complete the backup.
//!
//! Needs root and loop devices; without them the test says so on stderr and passes without
//! checking (CI runs as root on a machine where this works).

mod common;
mod reliability;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::Env;
use photobak_testkit::fake_google::{Faults, GenerateSpec, Sizes};
use reliability::*;

const A: &str = "alice@example.com";

/// A loop-mounted ext4 image, unmounted and detached on drop.
struct Disk {
    image: PathBuf,
    mount: PathBuf,
    dev: String,
}

fn sh(cmd: &mut Command) -> Result<String, String> {
    let out = cmd.output().map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

impl Disk {
    /// Mounts `image` (made with `size_mb` when it does not exist) at `mount`.
    fn mount(image: &Path, mount: &Path, size_mb: u64) -> Result<Disk, String> {
        if !image.exists() {
            sh(Command::new("truncate")
                .arg("-s")
                .arg(format!("{size_mb}M"))
                .arg(image))?;
            sh(Command::new("mkfs.ext4").args(["-q", "-F"]).arg(image))?;
        }
        std::fs::create_dir_all(mount).map_err(|e| e.to_string())?;
        let dev = sh(Command::new("losetup").args(["-f", "--show"]).arg(image))?;
        if let Err(e) = sh(Command::new("mount")
            .args(["-o", "commit=300"])
            .arg(&dev)
            .arg(mount))
        {
            let _ = sh(Command::new("losetup").args(["-d", &dev]));
            return Err(e);
        }
        Ok(Disk {
            image: image.to_path_buf(),
            mount: mount.to_path_buf(),
            dev,
        })
    }
}

impl Drop for Disk {
    fn drop(&mut self) {
        let _ = sh(Command::new("umount").arg(&self.mount));
        let _ = sh(Command::new("losetup").args(["-d", &self.dev]));
    }
}

/// Why this machine cannot run the test, if it cannot.
fn unsupported(dir: &Path) -> Option<String> {
    if !std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
    {
        return Some("not root: loop devices and mount need root".into());
    }
    match Disk::mount(&dir.join("probe.img"), &dir.join("probe"), 8) {
        Ok(_) => None,
        Err(e) => Some(format!("cannot loop-mount an ext4 image here: {e}")),
    }
}

/// Waits until every thread of `pid` is stopped.
fn wait_stopped(pid: u32) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let all = std::fs::read_dir(format!("/proc/{pid}/task"))
            .map(|d| {
                d.flatten().all(|t| {
                    std::fs::read_to_string(t.path().join("stat"))
                        .map(|s| {
                            let state = s.rsplit(')').next().unwrap_or("").trim_start();
                            state.starts_with('T') || state.starts_with('t')
                        })
                        .unwrap_or(true)
                })
            })
            .unwrap_or(true);
        if all || Instant::now() > deadline {
            return;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn a_power_cut_never_leaves_the_index_naming_bytes_that_are_not_there() {
    let env = Env::new();
    if let Some(why) = unsupported(env.dir.path()) {
        eprintln!("SKIPPED power-cut test: {why}");
        return;
    }
    let mut rng = chaos_rng("power cut");
    env.fake.add_account(A);
    env.fake.generate(
        A,
        &GenerateSpec {
            items: 120,
            albums: 6,
            seed: 31,
            sizes: Sizes::Tiny,
            videos: None,
        },
    );
    env.fake.set_faults(Faults {
        slow_body_ms_per_chunk: 4,
        ..Faults::default()
    });
    let cuts = if long_run() { 30 } else { 3 };
    let (mut checked_files, mut survived) = (0usize, 0usize);
    // Cuts that landed inside a group commit: files renamed into place, their rows not yet
    // committed; and the number of such files.
    let (mut inside_group, mut uncommitted) = (0usize, 0usize);
    let window = Duration::from_millis(700);
    for cut in 0..cuts {
        let image = env.dir.path().join(format!("disk-{cut}.img"));
        let snap = env.dir.path().join(format!("cut-{cut}.img"));
        let disk = Disk::mount(&image, &env.dir.path().join(format!("m{cut}")), 64).unwrap();
        let repo = disk.mount.join("repo");
        let out = env
            .cmd_for(&repo)
            .args(["auth", "--googlephotos", A])
            .output()
            .unwrap();
        assert!(out.status.success());
        // A first backup that is long on disk (synced) before the cut, so the index has rows
        // the cut could contradict; then new items for the run that is cut.
        let out = env
            .cmd_for(&repo)
            .args(["backup", "--googlephotos", A])
            .output()
            .unwrap();
        assert!(out.status.success());
        sh(Command::new("sync").arg("-f").arg(&repo)).unwrap();
        for i in 0..40 {
            env.fake.add_item(
                A,
                photobak_testkit::fake_google::NewItem::photo(&format!("CUT_{cut:02}_{i:02}.JPG")),
            );
        }
        let mut child = env
            .cmd_for(&repo)
            .args(["backup", "--googlephotos", A])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(rng.upto(window));
        let pid = child.id();
        let running = child.try_wait().unwrap().is_none();
        if running {
            sh(Command::new("kill").args(["-STOP", &pid.to_string()])).unwrap();
            wait_stopped(pid);
        }
        // The disk as the power cut leaves it: what the loop device received, not the page
        // cache of the file system mounted on it.
        sh(Command::new("cp")
            .arg("--sparse=always")
            .arg(&disk.image)
            .arg(&snap))
        .unwrap();
        let _ = child.kill();
        let _ = child.wait();
        drop(disk);

        // "Reboot": mount the copy, journal replayed.
        let after = Disk::mount(&snap, &env.dir.path().join(format!("r{cut}")), 64).unwrap();
        let repo = after.mount.join("repo");
        if repo.join("photobak.db").exists() {
            checked_files += assert_index_names_only_real_bytes(&repo, &BTreeSet::new());
            let unnamed = files_not_yet_committed(&repo, &env.fake.library());
            if unnamed > 0 {
                inside_group += 1;
                uncommitted += unnamed;
            }
        }
        // The next run completes the backup on what the cut left.
        let out = env
            .cmd_for(&repo)
            .args(["backup", "--googlephotos", A])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "the run after a power cut failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let n = assert_all_items_stored(&repo, &env.fake.library(), A);
        assert!(n >= 150, "{n}");
        assert_others_consistent(&repo);
        assert_verify_clean(&env, &repo);
        assert_eq!(temp_files(&repo), Vec::<PathBuf>::new());
        if running {
            survived += 1;
        }
        drop(after);
        let _ = std::fs::remove_file(&snap);
        let _ = std::fs::remove_file(&image);
    }
    figure(&format!(
        "power cut backup: {cuts} cuts ({survived} mid-run, {inside_group} inside a group commit with {uncommitted} placed files not yet committed, each whole), {checked_files} indexed files checked against the disk after the cut, next run complete every time, 0 lost"
    ));
}

/// Media files under their final names that the index does not name yet: what a cut between a
/// group's renames and its commit leaves. Each must be whole (the group was synced before any
/// rename): exactly the bytes of an item of the library. Returns how many there are.
fn files_not_yet_committed(
    repo: &Path,
    library: &photobak_testkit::fake_google::LibrarySnapshot,
) -> usize {
    let db = rusqlite::Connection::open(repo.join("photobak.db")).expect("index opens");
    let named: BTreeSet<String> = db
        .prepare("SELECT path FROM content")
        .unwrap()
        .query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let known = library.account(A).unwrap().hashes();
    let mut unnamed = 0;
    common::walk(&repo.join("googlephotos"), &mut |p| {
        let name = p.file_name().unwrap().to_string_lossy();
        if name == "others.txt" || name.ends_with(".xmp") {
            return;
        }
        let rel = p
            .strip_prefix(repo)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        if named.contains(&rel) {
            return;
        }
        assert!(
            known.contains(&common::hash_hex(p)),
            "{rel} is under its final name, not in the index, and not whole"
        );
        unnamed += 1;
    });
    unnamed
}

/// The same for an `import takeout`, whose bytes pass makes a group of files durable with one
/// `syncfs`, places them, and commits their index rows only after the next `syncfs`: a cut
/// anywhere in that sequence leaves an index that names only bytes on the disk, and the next
/// import completes the export.
#[test]
fn a_power_cut_during_an_import_never_leaves_the_index_naming_bytes_that_are_not_there() {
    use photobak_testkit::takeout_gen::{ExportSpec, ItemSpec};
    let mut spec = ExportSpec::new("20260101T000000Z")
        .account(common::TAKEOUT_ACCOUNT)
        .part_size(256 << 10);
    for i in 0..400 {
        spec = spec.item(ItemSpec::new(&format!("k{i}"), &format!("IMG_{i:04}.jpg")));
    }
    import_power_cuts("power cut import", &spec, 400, 64, Cut::Anywhere);
}

/// Cuts inside the bytes pass, where readers on several threads inflate, hash and stage the
/// entries of different parts at once while one thread makes groups durable, places them and
/// commits them: entries of about 200 KB in several parts (every reader busy), some five
/// groups' worth (1,024 entries or 64 MiB; most cuts land after a group's rows are committed),
/// a third of them with an album copy too (later copies wait for their item's first copy).
#[test]
fn a_power_cut_inside_the_parallel_bytes_pass_loses_nothing() {
    use photobak_testkit::takeout_gen::{AlbumSpec, ExportSpec, ItemSpec};
    let mut spec = ExportSpec::new("20260102T000000Z")
        .account(common::TAKEOUT_ACCOUNT)
        .album(AlbumSpec::new("Holidays"))
        .part_size(8 << 20);
    for i in 0..1500 {
        let mut it = ItemSpec::new(&format!("p{i}"), &format!("PXL_{i:04}.jpg"))
            .sized(150_000 + 1_000 * (i % 100));
        if i % 3 == 0 {
            it = it.in_album(0);
        }
        spec = spec.item(it);
    }
    import_power_cuts(
        "power cut in the parallel bytes pass",
        &spec,
        1500,
        800,
        Cut::InBytesPass,
    );
}

/// Where the cuts of [`import_power_cuts`] land.
#[derive(Clone, Copy, PartialEq)]
enum Cut {
    /// Anywhere within the time an uninterrupted import takes.
    Anywhere,
    /// Once the bytes pass has staged its first file, within the time the pass takes.
    InBytesPass,
}

/// Files staged in the repository's temporary area now (the bytes pass is running).
fn staged_files(repo: &Path) -> usize {
    std::fs::read_dir(repo.join(".photobak/tmp"))
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_name().to_string_lossy().ends_with(".part"))
                .count()
        })
        .unwrap_or(0)
}

/// Waits until the bytes pass stages a file or the child ends; how long that took.
fn wait_for_bytes_pass(repo: &Path, child: &mut std::process::Child) -> Duration {
    let started = Instant::now();
    while staged_files(repo) == 0
        && child.try_wait().unwrap().is_none()
        && started.elapsed() < Duration::from_secs(120)
    {
        std::thread::sleep(Duration::from_micros(200));
    }
    started.elapsed()
}

/// Power cuts during `import takeout` of `spec` (with `items` items) on an ext4 image of
/// `disk_mb`: after each, the index names only bytes that are on the disk, and the next import
/// stores every item, with nothing left in the temporary area.
fn import_power_cuts(
    what: &str,
    spec: &photobak_testkit::takeout_gen::ExportSpec,
    items: i64,
    disk_mb: u64,
    cut: Cut,
) {
    let env = Env::new();
    if let Some(why) = unsupported(env.dir.path()) {
        eprintln!("SKIPPED power-cut test: {why}");
        return;
    }
    let mut rng = chaos_rng(what);
    let parts = common::write_parts(spec, &env.dir.path().join("export"));
    let import = |repo: &Path| {
        let mut c = env.cmd_for(repo);
        c.args(["import", "takeout", "--full"]).args(&parts);
        c
    };
    // The cuts land within the time an uninterrupted import takes on the same kind of disk
    // (its bytes pass only, for cuts inside it).
    let window = {
        let disk = Disk::mount(
            &env.dir.path().join("itime.img"),
            &env.dir.path().join("itime"),
            disk_mb,
        )
        .unwrap();
        let repo = disk.mount.join("repo");
        let started = Instant::now();
        let mut child = import(&repo)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let lead = match cut {
            Cut::Anywhere => Duration::ZERO,
            Cut::InBytesPass => wait_for_bytes_pass(&repo, &mut child),
        };
        assert!(child.wait().unwrap().success());
        started.elapsed().saturating_sub(lead)
    };
    let cuts = if long_run() { 30 } else { 3 };
    let (mut checked_files, mut survived, mut in_flight) = (0usize, 0usize, 0usize);
    for cut_no in 0..cuts {
        let image = env.dir.path().join(format!("idisk-{cut_no}.img"));
        let snap = env.dir.path().join(format!("icut-{cut_no}.img"));
        let disk =
            Disk::mount(&image, &env.dir.path().join(format!("im{cut_no}")), disk_mb).unwrap();
        let repo = disk.mount.join("repo");
        let mut child = import(&repo)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        if cut == Cut::InBytesPass {
            wait_for_bytes_pass(&repo, &mut child);
        }
        std::thread::sleep(rng.upto(window));
        let pid = child.id();
        let running = child.try_wait().unwrap().is_none();
        if running {
            sh(Command::new("kill").args(["-STOP", &pid.to_string()])).unwrap();
            wait_stopped(pid);
            in_flight += staged_files(&repo);
        }
        sh(Command::new("cp")
            .arg("--sparse=always")
            .arg(&disk.image)
            .arg(&snap))
        .unwrap();
        let _ = child.kill();
        let _ = child.wait();
        drop(disk);

        let after =
            Disk::mount(&snap, &env.dir.path().join(format!("ir{cut_no}")), disk_mb).unwrap();
        let repo = after.mount.join("repo");
        // A cut in the first moments leaves an index whose schema never reached the disk; the
        // next run creates it.
        let has_schema = rusqlite::Connection::open(repo.join("photobak.db"))
            .and_then(|db| {
                db.query_row(
                    "SELECT count(*) FROM sqlite_master WHERE name = 'content'",
                    [],
                    |r| r.get::<_, i64>(0),
                )
            })
            .is_ok_and(|n| n == 1);
        if repo.join("photobak.db").exists() && has_schema {
            checked_files += assert_index_names_only_real_bytes(&repo, &BTreeSet::new());
        }
        let out = import(&repo).output().unwrap();
        assert!(
            out.status.success(),
            "the import after a power cut failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let db = rusqlite::Connection::open(repo.join("photobak.db")).unwrap();
        let (n, stored): (i64, i64) = db
            .query_row("SELECT count(*), count(content_id) FROM items", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!(
            (n, stored),
            (items, items),
            "every item of the export stored"
        );
        drop(db);
        assert_others_consistent(&repo);
        assert_verify_clean(&env, &repo);
        assert_eq!(temp_files(&repo), Vec::<PathBuf>::new());
        if running {
            survived += 1;
        }
        drop(after);
        let _ = std::fs::remove_file(&snap);
        let _ = std::fs::remove_file(&image);
    }
    let place = match cut {
        Cut::Anywhere => String::new(),
        Cut::InBytesPass => format!(", {in_flight} staged files in flight at the cuts"),
    };
    figure(&format!(
        "{what}: {cuts} cuts ({survived} mid-run{place}), {checked_files} indexed files checked against the disk after the cut, next import complete every time, 0 lost"
    ));
}
