//! The catalog of a zip or folder export keeps where each sidecar is, not its text, and
//! `SidecarTexts` reads the same text again that a tgz scan (which must hold it) gives.

use std::collections::BTreeMap;
use std::path::Path;

use photobak_takeout::{Catalog, Limits, RawJson, Sidecar, scan};
use photobak_testkit::takeout_gen::{ArchiveFormat, realistic_export, write_export};

fn scan_as(format: ArchiveFormat, dir: &Path) -> (Vec<std::path::PathBuf>, Catalog) {
    let spec = realistic_export(3).format(format);
    let parts = write_export(&spec, dir).unwrap();
    let catalog = scan(&parts, &Limits::default()).unwrap();
    (parts, catalog)
}

/// Sidecar path → compact JSON text, for every media entry with a sidecar.
fn texts(c: &Catalog) -> BTreeMap<String, String> {
    let mut r = c.sidecar_texts();
    c.media
        .iter()
        .filter_map(|m| m.sidecar.as_ref())
        .map(|s| (s.json_path().to_owned(), r.text(s).unwrap()))
        .collect()
}

/// Sidecar path → the whole sidecar read again, with its text in place of its place (a tgz
/// holds the text, a zip and a folder say where it is) and its part left out.
fn whole_sidecars(c: &Catalog) -> BTreeMap<String, Sidecar> {
    let mut r = c.sidecar_texts();
    c.media
        .iter()
        .filter_map(|m| m.sidecar.as_ref())
        .map(|at| {
            let (mut s, text) = r.read(at).unwrap();
            assert_eq!(
                s.to_ref(),
                **at,
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
    let sidecars = |c: &Catalog| c.media.iter().filter_map(|m| m.sidecar.as_ref()).count();
    assert!(sidecars(&tgz) > 20, "{} sidecars", sidecars(&tgz));
    for m in tgz.media.iter().filter_map(|m| m.sidecar.as_ref()) {
        assert!(m.raw.held().is_some(), "tgz: {} not held", m.json_path());
    }
    for c in [&zip, &folder] {
        for m in c.media.iter().filter_map(|m| m.sidecar.as_ref()) {
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
    let s = zip
        .media
        .iter()
        .filter_map(|m| m.sidecar.as_ref())
        .next()
        .unwrap();
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
