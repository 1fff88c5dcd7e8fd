//! Every folder photobak creates in the repository is made durable in its parent before files
//! are recorded under it: a power cut on a file system whose directory entries are not
//! journalled with the file data (XFS, btrfs) must not lose an album folder, and with it every
//! file the index says is inside. Watched with `strace -y`, which names the folder each `fsync`
//! is given.

mod common;

use std::collections::BTreeSet;

use common::{Env, write_parts};
use photobak_testkit::takeout_gen::{AlbumSpec, ExportSpec, ItemSpec};

#[test]
fn every_folder_created_is_fsynced_in_its_parent() {
    if !common::tool_available(
        "strace",
        "-V",
        "strace",
        "every_folder_created_is_fsynced_in_its_parent",
    ) {
        return;
    }
    let env = Env::new();
    let mut spec = ExportSpec::new("20260101T000000Z").album(AlbumSpec::new("Trip to Rome"));
    for i in 0..4 {
        let mut it = ItemSpec::new(&format!("k{i}"), &format!("IMG_{i}.jpg"));
        if i % 2 == 0 {
            it = it.in_album(0);
        }
        spec = spec.item(it);
    }
    let parts = write_parts(&spec, &env.dir.path().join("export"));
    let log = env.dir.path().join("strace.log");
    let mut args = vec![
        "import",
        "takeout",
        "--account",
        common::TAKEOUT_ACCOUNT,
        "--full",
    ];
    args.extend(parts.iter().map(String::as_str));
    let out = std::process::Command::new("strace")
        .args([
            "-f",
            "-y",
            "-e",
            "trace=mkdir,mkdirat,fsync,fdatasync",
            "-o",
        ])
        .arg(&log)
        .arg(env!("CARGO_BIN_EXE_photobak"))
        .arg("--repo")
        .arg(&env.repo)
        .args(&args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let trace = std::fs::read_to_string(&log).unwrap();
    let repo = env.repo.canonicalize().unwrap();
    let repo = repo.to_string_lossy();
    // Folders created under the repository, in order, and the folders fsynced after each.
    let mut created: Vec<(usize, String)> = Vec::new();
    let mut synced: Vec<(usize, String)> = Vec::new();
    for (n, line) in trace.lines().enumerate() {
        if (line.contains("mkdir(") || line.contains("mkdirat(")) && line.ends_with("= 0") {
            let Some(path) = line.split('"').nth(1) else {
                continue;
            };
            let abs = if path.starts_with('/') {
                path.to_string()
            } else {
                // mkdirat(AT_FDCWD, "relative"): relative to the test's working directory.
                std::env::current_dir()
                    .unwrap()
                    .join(path)
                    .to_string_lossy()
                    .into_owned()
            };
            created.push((n, abs));
        }
        if (line.contains("fsync(") || line.contains("fdatasync(")) && line.contains('<') {
            let inside = line.split('<').nth(1).and_then(|s| s.split('>').next());
            if let Some(p) = inside {
                synced.push((n, p.to_string()));
            }
        }
    }
    let albums: Vec<&(usize, String)> = created
        .iter()
        .filter(|(_, p)| p.contains("/googlephotos/"))
        .collect();
    assert!(
        albums.iter().any(|(_, p)| p.ends_with("/Trip to Rome")),
        "the album folder was created: {created:?}"
    );
    let mut missing = BTreeSet::new();
    for (n, dir) in &albums {
        let parent = std::path::Path::new(dir)
            .parent()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let parent = parent.replace(&*env.repo.to_string_lossy(), &repo);
        if !synced.iter().any(|(m, p)| m > n && *p == parent) {
            missing.insert(dir.clone());
        }
    }
    assert!(
        missing.is_empty(),
        "folders created without an fsync of their parent: {missing:?}"
    );
}

/// A backup's fetched files are made durable by groups that fill for up to a second
/// (`engine::commit_groups`), not by one `syncfs` for whatever a fast committer found queued:
/// groups of 7 thumbnails paid 2,710 `syncfs` for 20,000 items (BENCHMARKS.md, session 19).
/// At most one `syncfs` per second of the run, a few more for its ends.
#[test]
fn a_backup_syncs_its_fetched_files_by_groups_of_a_second() {
    use photobak_testkit::fake_google::{GenerateSpec, Sizes};
    if !common::tool_available(
        "strace",
        "-V",
        "strace",
        "a_backup_syncs_its_fetched_files_by_groups_of_a_second",
    ) {
        return;
    }
    const ACCOUNT: &str = "groups@example.com";
    const ITEMS: usize = 400;
    let env = Env::new();
    env.fake.add_account(ACCOUNT);
    env.fake.generate(
        ACCOUNT,
        &GenerateSpec {
            items: ITEMS,
            albums: 0,
            seed: 19,
            sizes: Sizes::Tiny,
            videos: Some(0),
        },
    );
    env.auth(ACCOUNT);
    let log = env.dir.path().join("strace.log");
    let mut cmd = env.cmd();
    cmd.args(["backup", "--googlephotos", ACCOUNT, "--concurrency", "8"]);
    let started = std::time::Instant::now();
    let out = common::under_strace(
        &cmd,
        &["-f", "-e", "trace=syncfs", "-o", log.to_str().unwrap()],
    );
    let secs = started.elapsed().as_secs_f64().ceil() as usize;
    assert!(out.status.success(), "{}", common::described(&out));
    let snap = env.fake.library();
    assert_eq!(common::assert_matches_library(&env, &snap, ACCOUNT), ITEMS);
    let trace = std::fs::read_to_string(&log).unwrap();
    let syncs = trace
        .lines()
        .filter(|l| l.contains("syncfs(") && l.trim_end().ends_with("= 0"))
        .count();
    assert!(syncs >= 1, "the fetched files were synced: {trace}");
    assert!(
        syncs <= secs + 2,
        "{syncs} syncfs for {ITEMS} items in a run of {secs} s: groups of {:.1} files",
        ITEMS as f64 / syncs as f64
    );
}
