//! The `photobak-fake-takeout` program: help, deterministic output, the parts it lists, and the
//! exports that follow the first one.

use std::path::{Path, PathBuf};
use std::process::Command;

fn run(args: &[&str]) -> (Vec<PathBuf>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_photobak-fake-takeout"))
        .args(args)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{args:?}: {err}");
    let parts = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(PathBuf::from)
        .collect();
    (parts, err)
}

fn bytes_of(parts: &[PathBuf]) -> Vec<Vec<u8>> {
    parts.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn help_names_every_option() {
    let out = Command::new(env!("CARGO_BIN_EXE_photobak-fake-takeout"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for opt in [
        "--seed",
        "--out",
        "--format",
        "--items",
        "--next",
        "--account",
    ] {
        assert!(help.contains(opt), "{opt} missing:\n{help}");
    }
    assert!(help.contains("incremental"), "{help}");
}

#[test]
fn same_seed_same_export_and_the_next_ones_follow_it() {
    let t = tempfile::tempdir().unwrap();
    let (a, summary) = run(&[
        "--out",
        s(&t.path().join("a")),
        "--seed",
        "1",
        "--items",
        "30",
    ]);
    let (b, _) = run(&[
        "--out",
        s(&t.path().join("b")),
        "--seed",
        "1",
        "--items",
        "30",
    ]);
    assert!(a.len() >= 3, "a multi-part export: {a:?}");
    assert!(a.iter().all(|p| p.is_file() && s(p).ends_with(".zip")));
    assert_eq!(bytes_of(&a), bytes_of(&b), "same seed, same bytes");
    assert!(summary.contains("complete export"), "{summary}");
    let first_id = a[0].file_name().unwrap().to_str().unwrap()[..25].to_string();

    let (inc, summary) = run(&[
        "--out",
        s(&t.path().join("a")),
        "--seed",
        "1",
        "--items",
        "30",
        "--next",
        "incremental",
    ]);
    assert!(summary.contains("incremental export after"), "{summary}");
    assert!(summary.contains("3 new"), "{summary}");
    let inc_id = inc[0].file_name().unwrap().to_str().unwrap()[..25].to_string();
    assert!(inc_id > first_id, "{inc_id} follows {first_id}");
    let size = |v: &[PathBuf]| -> u64 { v.iter().map(|p| p.metadata().unwrap().len()).sum() };
    assert!(
        size(&inc) * 5 < size(&a),
        "an incremental export carries only what changed"
    );

    let (full, summary) = run(&[
        "--out",
        s(&t.path().join("c")),
        "--seed",
        "1",
        "--next",
        "full",
        "--format",
        "tgz",
    ]);
    assert!(summary.contains("removed"), "{summary}");
    assert!(full.iter().all(|p| s(p).ends_with(".tgz")));
    let (folders, _) = run(&[
        "--out",
        s(&t.path().join("d")),
        "--format",
        "folder",
        "--items",
        "0",
    ]);
    assert!(
        folders.iter().all(|p| p.join("Takeout").is_dir()),
        "{folders:?}"
    );
}
