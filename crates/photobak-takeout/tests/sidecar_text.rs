//! The catalog of a zip or folder export keeps where each sidecar is, not its text, and
//! `SidecarTexts` reads the same text again that a tgz scan (which must hold it) gives.

use std::collections::BTreeMap;
use std::path::Path;

use photobak_takeout::{Catalog, Limits, RawJson, Sidecar, SidecarRef, Spill, scan, scan_into};
use photobak_testkit::takeout_gen::{ArchiveFormat, realistic_export, write_export};

fn scan_as(format: ArchiveFormat, dir: &Path) -> (Vec<std::path::PathBuf>, Catalog) {
    let spec = realistic_export(3).format(format);
    let parts = write_export(&spec, dir).unwrap();
    // The zip's sidecars kept in a spill file, the others' in memory: read back the same.
    let catalog = match format {
        ArchiveFormat::Zip => {
            let spill = Spill::files(tempfile::tempfile).unwrap();
            scan_into(&parts, &Limits::default(), spill).unwrap()
        }
        _ => scan(&parts, &Limits::default()).unwrap(),
    };
    (parts, catalog)
}

/// The sidecar of every media entry that has one, in entry order.
fn refs(c: &Catalog) -> Vec<SidecarRef> {
    c.media
        .to_vec()
        .unwrap()
        .iter()
        .filter_map(|m| c.sidecar(m).unwrap())
        .collect()
}

/// Sidecar path → compact JSON text, for every media entry with a sidecar.
fn texts(c: &Catalog) -> BTreeMap<String, String> {
    let mut r = c.sidecar_texts();
    refs(c)
        .iter()
        .map(|s| (s.json_path().to_owned(), r.text(s).unwrap()))
        .collect()
}

/// Sidecar path → the whole sidecar read again, with its text in place of its place (a tgz
/// holds the text, a zip and a folder say where it is) and its part left out.
fn whole_sidecars(c: &Catalog) -> BTreeMap<String, Sidecar> {
    let mut r = c.sidecar_texts();
    refs(c)
        .iter()
        .map(|at| {
            let (mut s, text) = r.read(at).unwrap();
            assert_eq!(
                s.to_ref(),
                *at,
                "what the catalog keeps of {}",
                at.json_path()
            );
            assert_eq!(text, r.text(at).unwrap());
            s.raw = RawJson::from_text(&text);
            s.json_part = 0;
            (s.json_path.clone(), s)
        })
        .collect()
}

#[test]
fn zip_and_folder_sidecars_are_read_again_as_the_tgz_holds_them() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, tgz) = scan_as(ArchiveFormat::Tgz, &tmp.path().join("tgz"));
    let (_, zip) = scan_as(ArchiveFormat::Zip, &tmp.path().join("zip"));
    let (_, folder) = scan_as(ArchiveFormat::Folder, &tmp.path().join("folder"));
    let sidecars = |c: &Catalog| refs(c).len();
    assert!(sidecars(&tgz) > 20, "{} sidecars", sidecars(&tgz));
    for m in &refs(&tgz) {
        assert!(m.raw.held().is_some(), "tgz: {} not held", m.json_path());
    }
    for c in [&zip, &folder] {
        for m in &refs(c) {
            assert!(m.raw.held().is_none(), "{} held", m.json_path());
        }
    }
    let want = texts(&tgz);
    assert!(
        want.values()
            .all(|t| t.starts_with('{') && t.contains("\"title\""))
    );
    assert_eq!(texts(&zip), want);
    assert_eq!(texts(&folder), want);
    let whole = whole_sidecars(&tgz);
    assert!(
        whole
            .values()
            .any(|s| !s.people.is_empty() || s.geo_data.is_some())
    );
    assert_eq!(whole_sidecars(&zip), whole);
    assert_eq!(whole_sidecars(&folder), whole);
}

#[test]
fn a_part_changed_after_the_scan_is_an_error_naming_the_sidecar() {
    let tmp = tempfile::tempdir().unwrap();
    let (parts, zip) = scan_as(ArchiveFormat::Zip, tmp.path());
    let s = &refs(&zip)[0];
    let part = &parts[s.json_part];
    assert_eq!(part, &zip.parts[s.json_part].path);
    std::fs::OpenOptions::new()
        .write(true)
        .open(part)
        .unwrap()
        .set_len(0)
        .unwrap();
    let err = zip.sidecar_texts().text(s).unwrap_err().to_string();
    assert!(err.contains(s.json_path()), "{err}");
    let err = zip.sidecar_texts().read(s).unwrap_err().to_string();
    assert!(err.contains(s.json_path()), "{err}");
}

/// A spill file that cannot be written (here opened read-only; a full disk alike), the
/// sidecars', the media entries', the placement's or the matching's, fails the scan with
/// `Error::Spill`, not as a problem of the export.
#[test]
fn a_spill_file_that_cannot_be_written_fails_the_scan() {
    let tmp = tempfile::tempdir().unwrap();
    let parts = write_export(
        &realistic_export(3).format(ArchiveFormat::Zip),
        &tmp.path().join("zip"),
    )
    .unwrap();
    let path = tmp.path().join("spill");
    std::fs::write(&path, b"").unwrap();
    let read_only = || std::fs::File::open(&path).unwrap();
    let writable = || tempfile::tempfile().unwrap();
    // Each of the files written for an export this small (the survey's is written from
    // 1 MiB of hashes on: its own test; the matching's for folders matched in slices, which
    // these limits make of every folder of more than two files) read-only in turn.
    let limits = Limits {
        folder_slice: 2,
        ..Limits::default()
    };
    for k in [0, 1, 2, 3, 5] {
        let mut n = 0;
        let spill = Spill::files(|| {
            n += 1;
            Ok::<_, std::convert::Infallible>(if n - 1 == k { read_only() } else { writable() })
        })
        .unwrap();
        match scan_into(&parts, &limits, spill) {
            Err(photobak_takeout::Error::Spill(e)) => assert!(!e.to_string().is_empty()),
            other => panic!("expected a spill error, got {other:?}"),
        }
    }
}
