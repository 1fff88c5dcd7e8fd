//! The fuzz corpus as ordinary regression tests on stable: every file of `fuzz/corpus/<target>/`
//! goes through the same entry point the cargo-fuzz target drives (`fuzz/src/lib.rs`, included
//! here), so whatever the fuzzers found stays fixed without nightly or libFuzzer.

#[allow(dead_code, clippy::all)]
#[path = "../../../fuzz/src/lib.rs"]
mod entry;

use std::path::Path;

fn run(target: &str, f: fn(&[u8])) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let p = e.unwrap().path();
        let data = std::fs::read(&p).unwrap();
        let r = std::panic::catch_unwind(|| f(&data));
        assert!(r.is_ok(), "{target}: {} fails", p.display());
        n += 1;
    }
    assert!(n > 0, "{target}: empty corpus");
    n
}

#[test]
fn sidecar_json_corpus() {
    run("sidecar_json", entry::sidecar_json);
}

#[test]
fn sidecar_matcher_corpus() {
    run("sidecar_matcher", entry::sidecar_matcher);
}

#[test]
fn archive_entries_corpus() {
    run("archive_entries", entry::archive_entries);
}

#[test]
fn media_meta_corpus() {
    run("media_meta", entry::media_meta);
}

#[test]
fn library_api_corpus() {
    run("library_api", entry::library_api);
}
