//! Full and read-only disks: the repository on a small tmpfs made by the test. A run that meets
//! "no space" stops with a message saying so, leaves nothing partial under a final name and an
//! index that names only real bytes; once space is freed the next run completes. The same when
//! it is SQLite's own write that fails (the disk filled before the run starts), and when the
//! disk is read-only.
//!
//! Needs root (mount); without it the tests say so on stderr and pass without checking.

mod common;
mod reliability;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Env, assert_matches_library};
use photobak_testkit::fake_google::{GenerateSpec, Sizes};
use reliability::*;

const A: &str = "alice@example.com";

/// A tmpfs mounted by the test, unmounted on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Result<Tmpfs, String> {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0755"),
                "tmpfs",
            ])
            .arg(dir)
            .output()
            .map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
        }
        Ok(Tmpfs(dir.to_path_buf()))
    }

    fn remount(&self, opts: &str) {
        let st = Command::new("mount")
            .args(["-o", &format!("remount,{opts}")])
            .arg(&self.0)
            .status()
            .unwrap();
        assert!(st.success(), "remount {opts}");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

fn setup(items: usize, size: &str) -> Option<(Env, Tmpfs, PathBuf)> {
    let env = Env::new();
    let fs = match Tmpfs::mount(&env.dir.path().join("small"), size) {
        Ok(fs) => fs,
        Err(e) => {
            eprintln!("SKIPPED full-disk test: cannot mount a tmpfs here ({e})");
            return None;
        }
    };
    env.fake.add_account(A);
    env.fake.generate(
        A,
        &GenerateSpec {
            items,
            albums: 4,
            seed: 71,
            sizes: Sizes::Tiny,
            videos: None,
        },
    );
    let repo = fs.0.join("repo");
    let out = env
        .cmd_for(&repo)
        .args(["auth", "--googlephotos", A])
        .output()
        .unwrap();
    assert!(out.status.success());
    Some((env, fs, repo))
}

fn backup(env: &Env, repo: &Path) -> (Option<i32>, String) {
    let out = env
        .cmd_for(repo)
        .args(["backup", "--googlephotos", A])
        .output()
        .unwrap();
    (
        out.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Nothing partial under a final name: every file in the media tree is either recorded with its
/// bytes or an exact copy of an item of the fake (renamed before its record; the next run
/// adopts it).
fn assert_nothing_partial(env: &Env, repo: &Path) {
    assert_index_names_only_real_bytes(repo, &BTreeSet::new());
    let known = env.fake.library().account(A).unwrap().hashes();
    common::walk(&repo.join("googlephotos"), &mut |p| {
        let name = p.file_name().unwrap().to_string_lossy();
        if name == "others.txt" || name.ends_with(".xmp") {
            return;
        }
        assert!(
            known.contains(&common::hash_hex(p)),
            "{} holds bytes of no item (partial?)",
            p.display()
        );
    });
    let tmp: Vec<_> = temp_files(repo)
        .into_iter()
        .filter(|p| !p.starts_with(repo.join(".photobak/tmp")))
        .collect();
    assert!(tmp.is_empty(), "temporary files in the tree: {tmp:?}");
}

fn says_no_space(text: &str) -> bool {
    let l = text.to_lowercase();
    l.contains("no space") || l.contains("disk is full") || l.contains("database or disk is full")
}

#[test]
fn a_full_disk_stops_clearly_and_the_next_run_completes_once_space_is_freed() {
    let Some((env, fs, repo)) = setup(300, "1m") else {
        return;
    };
    let (code, text) = backup(&env, &repo);
    assert_ne!(code, Some(0), "a 1 MB disk held the whole library?\n{text}");
    assert!(
        says_no_space(&text),
        "the stop does not say the disk is full:\n{text}"
    );
    assert_nothing_partial(&env, &repo);
    fs.remount("size=64m");
    let (code, text) = backup(&env, &repo);
    assert_eq!(code, Some(0), "{text}");
    let n = assert_all_items_stored(&repo, &env.fake.library(), A);
    assert!(n >= 280);
    assert_verify_clean(&env, &repo);
    figure(&format!(
        "full disk: backup stopped with a no-space message on a 1 MB tmpfs, nothing partial, {n} items complete after freeing space"
    ));
}

#[test]
fn sqlite_failing_to_write_stops_clearly_and_leaves_a_sound_index() {
    // Room for the first run's WAL as well: SQLite checkpoints it only at 1,000 pages (4 MB),
    // and how many frames a run appends depends on how its commits interleave. The size does
    // not matter to what is tested: the disk is filled to the last byte before the second run.
    let Some((env, fs, repo)) = setup(40, "16m") else {
        return;
    };
    let (code, text) = backup(&env, &repo);
    assert_eq!(code, Some(0), "{text}");
    for i in 0..20 {
        env.fake.add_item(
            A,
            photobak_testkit::fake_google::NewItem::photo(&format!("LATE_{i}.JPG")),
        );
    }
    // Fill the disk to the last byte, so the index's first write of the run fails.
    let filler = fs.0.join("filler");
    let _ = Command::new("dd")
        .args(["if=/dev/zero", &format!("of={}", filler.display()), "bs=4k"])
        .output();
    let (code, text) = backup(&env, &repo);
    assert_ne!(code, Some(0), "{text}");
    assert!(
        says_no_space(&text),
        "the stop does not say the disk is full:\n{text}"
    );
    // Free the space first: even reading a WAL index needs a few bytes for its shared memory,
    // and removing the filler changes nothing photobak wrote.
    std::fs::remove_file(&filler).unwrap();
    assert_nothing_partial(&env, &repo);
    let db = rusqlite::Connection::open(repo.join("photobak.db")).unwrap();
    let check: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    drop(db);
    let (code, text) = backup(&env, &repo);
    assert_eq!(code, Some(0), "{text}");
    assert_all_items_stored(&repo, &env.fake.library(), A);
    assert_verify_clean(&env, &repo);
}

#[test]
fn a_read_only_disk_stops_clearly_and_the_next_run_completes() {
    let Some((env, fs, repo)) = setup(30, "16m") else {
        return;
    };
    fs.remount("ro");
    let (code, text) = backup(&env, &repo);
    assert_ne!(code, Some(0), "{text}");
    assert!(
        text.to_lowercase().contains("read-only"),
        "the stop does not say the disk is read-only:\n{text}"
    );
    fs.remount("rw");
    let (code, text) = backup(&env, &repo);
    assert_eq!(code, Some(0), "{text}");
    let snap = env.fake.library();
    let e2 = Env {
        fake: photobak_testkit::fake_google::FakeGoogle::start(Default::default()).unwrap(),
        dir: tempfile::tempdir().unwrap(),
        repo: repo.clone(),
    };
    assert_matches_library(&e2, &snap, A);
    assert_verify_clean(&env, &repo);
}
