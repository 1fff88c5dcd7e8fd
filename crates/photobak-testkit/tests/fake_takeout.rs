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
        "--item-bytes",
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

/// Every file under `dir` as (path relative to it, bytes), sorted.
fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_str().unwrap().to_owned();
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

#[test]
fn item_bytes_grows_only_the_ordinary_photos() {
    let t = tempfile::tempdir().unwrap();
    let args = |dir: &str| {
        [
            "--out",
            s(&t.path().join(dir)),
            "--format",
            "folder",
            "--items",
            "6",
            "--part-size",
            "100000000",
        ]
        .map(str::to_owned)
        .to_vec()
    };
    let plain_args = args("plain");
    let (plain, _) = run(&plain_args.iter().map(String::as_str).collect::<Vec<_>>());
    let mut sized_args = args("sized");
    sized_args.extend(["--item-bytes".to_owned(), "200000-300000".to_owned()]);
    let (sized, _) = run(&sized_args.iter().map(String::as_str).collect::<Vec<_>>());
    let (plain, sized) = (tree(&plain[0]), tree(&sized[0]));
    let names = |t: &[(String, Vec<u8>)]| t.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(&plain), names(&sized), "the same files");
    let mut grown = 0;
    for ((name, a), (_, b)) in plain.iter().zip(&sized) {
        if name.contains("/IMG_") && name.ends_with(".jpg") && a != b {
            grown += 1;
            assert!(
                (200_000..=300_000).contains(&b.len()),
                "{name}: {}",
                b.len()
            );
            assert!(a.len() < 100_000, "{name}");
            assert_eq!(
                &b[..a.len()],
                &a[..],
                "{name}: the small file, then padding"
            );
        } else {
            assert_eq!(a, b, "{name} unchanged");
        }
    }
    assert!(grown >= 6, "every ordinary photo grew ({grown})");

    let out = Command::new(env!("CARGO_BIN_EXE_photobak-fake-takeout"))
        .args(["--item-bytes", "5-2", "--out", s(&t.path().join("x"))])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("5 is more than 2"));
}
