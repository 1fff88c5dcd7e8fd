//! Fuzz entry points, shared by the cargo-fuzz targets (`fuzz_targets/`, nightly) and by the
//! stable regression test `crates/photobak/tests/fuzz_corpus.rs`, which includes this file with
//! `#[path]` and feeds it every file of `fuzz/corpus/<target>/`.
//!
//! Each entry point must never panic on any input, and checks the promises its parser makes
//! (an accepted archive path is relative and free of `..`; a location is in range; a name made
//! from an API file name is portable), panicking when one is broken so the fuzzer reports it.
//! This file may only use what both builds have: `photobak-core`, `photobak-takeout`,
//! `serde_json` and `tempfile`.

use std::path::Path;

use photobak_takeout::fuzzing::{SidecarIn, match_folder, validate_path, year_of_epoch};
use photobak_takeout::json;

/// Splits off the first line (at most 200 bytes) as a side input; the rest is the main input.
fn split_hint(data: &[u8]) -> (String, &[u8]) {
    match data.iter().take(200).position(|b| *b == b'\n') {
        Some(i) => (
            String::from_utf8_lossy(&data[..i]).into_owned(),
            &data[i + 1..],
        ),
        None => (String::new(), data),
    }
}

/// Sidecar and album JSON: `NAME_HINT\nJSON`.
pub fn sidecar_json(data: &[u8]) {
    let (hint, body) = split_hint(data);
    let Ok(v) = json::parse_bytes(body) else {
        return;
    };
    let _ = json::time_problems(&v);
    for key in ["photoTakenTime", "creationTime", "date"] {
        if let Ok(Some(t)) = json::timestamp(v.get(key)) {
            let _ = year_of_epoch(t);
        }
    }
    match json::classify(&hint, &v, "Takeout/Google Photos/x/f.json", 0) {
        Ok(json::JsonKind::Sidecar(s)) => {
            for g in [s.geo_data, s.geo_data_exif].into_iter().flatten() {
                check_geo(&g);
            }
            if let Some(t) = s.photo_taken_time {
                let _ = year_of_epoch(t);
            }
        }
        Ok(json::JsonKind::Album(a)) => {
            if let Some(g) = a.geo_data {
                check_geo(&g);
            }
        }
        _ => {}
    }
}

fn check_geo(g: &json::Geo) {
    assert!(
        g.latitude.is_finite() && g.latitude.abs() <= 90.0,
        "latitude out of range: {g:?}"
    );
    assert!(
        g.longitude.is_finite() && g.longitude.abs() <= 180.0,
        "longitude out of range: {g:?}"
    );
}

/// The sidecar-name matcher: lines `m NAME` are media, `s NAME\tTITLE` are sidecars.
pub fn sidecar_matcher(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut media: Vec<&str> = Vec::new();
    let mut sidecars: Vec<SidecarIn<'_>> = Vec::new();
    for (i, line) in text.lines().enumerate().take(64) {
        if let Some(name) = line.strip_prefix("m ") {
            media.push(name);
        } else if let Some(rest) = line.strip_prefix("s ") {
            let (name, title) = rest.split_once('\t').unwrap_or((rest, rest));
            sidecars.push(SidecarIn {
                name,
                title,
                content: i as u64 % 3,
            });
        }
    }
    let m = match_folder(&media, &sidecars);
    assert_eq!(m.outcomes.len(), media.len(), "one outcome per media file");
    let mut used = vec![false; sidecars.len()];
    for o in &m.outcomes {
        if let Some(s) = o.sidecar {
            assert!(
                s < sidecars.len(),
                "outcome names a sidecar that does not exist"
            );
            used[s] = true;
        }
    }
    for &u in &m.unmatched {
        assert!(u < sidecars.len(), "unmatched index out of range");
        assert!(!used[u], "a sidecar both applied and unmatched");
    }
}

/// Archive entries. The first byte picks the container (even: tgz, odd: zip); the rest is the
/// part's bytes, scanned and streamed as an import would. Every path the catalog hands on must
/// have passed validation: relative, no `..`, no backslash, no NUL.
pub fn archive_entries(data: &[u8]) {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(p) = validate_path(s) {
            check_entry_path(&p);
            assert_eq!(validate_path(&p).as_deref(), Ok(p.as_str()), "idempotent");
        }
    }
    let Some((&sel, body)) = data.split_first() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let ext = if sel % 2 == 0 { "tgz" } else { "zip" };
    let part = dir
        .path()
        .join(format!("takeout-20250101T000000Z-001.{ext}"));
    std::fs::write(&part, body).expect("write part");
    // Small caps so a bomb is refused fast instead of being inflated.
    let limits = photobak_takeout::Limits {
        max_json_bytes: 1 << 20,
        max_entry_bytes: 4 << 20,
        max_ratio: 100,
        max_entries: 10_000,
        // Small slices, so that the fuzzer reaches the sliced matching of a folder too, and
        // crowded slices matched in parts (by counters, by stems).
        folder_slice: 4,
        crowded_slice: 12,
        // The fuzzer gives archives, never folders.
        ..photobak_takeout::Limits::default()
    };
    let Ok(catalog) = photobak_takeout::scan(std::slice::from_ref(&part), &limits) else {
        return;
    };
    for m in catalog.media.in_record_order() {
        // What the scan wrote is read back whole.
        check_entry_path(&m.expect("the catalog's media read back").path);
    }
    let _ = photobak_takeout::for_each_media(&catalog, |m, r| -> Result<(), std::io::Error> {
        check_entry_path(&m.path);
        let mut n = 0u64;
        let mut buf = [0u8; 8192];
        loop {
            let k = r.read(&mut buf)?;
            if k == 0 {
                break;
            }
            n += k as u64;
            assert!(n <= limits.max_entry_bytes, "entry read past its cap");
        }
        Ok(())
    });
}

fn check_entry_path(p: &str) {
    assert!(!p.is_empty(), "empty path accepted");
    assert!(!p.starts_with('/'), "absolute path accepted: {p:?}");
    assert!(
        !p.contains('\\') && !p.contains('\0'),
        "bad byte accepted: {p:?}"
    );
    assert!(
        p.split('/').all(|c| !c.is_empty() && c != "." && c != ".."),
        "traversal accepted: {p:?}"
    );
    let b = p.as_bytes();
    assert!(
        !(b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':'),
        "drive letter accepted: {p:?}"
    );
}

/// EXIF/QuickTime reading of hostile files. The first byte picks the file name's extension
/// (the reader also sniffs content); the rest is the file.
pub fn media_meta(data: &[u8]) {
    let Some((&sel, body)) = data.split_first() else {
        return;
    };
    const EXT: [&str; 8] = ["jpg", "heic", "mp4", "mov", "png", "tif", "3gp", "avif"];
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir
        .path()
        .join(format!("f.{}", EXT[sel as usize % EXT.len()]));
    std::fs::write(&path, body).expect("write file");
    if let Ok(m) = photobak_core::meta::read_file_meta(Path::new(&path)) {
        if let Some(lat) = m.latitude {
            assert!(lat.is_finite() && lat.abs() <= 90.0, "latitude {lat}");
        }
        if let Some(lon) = m.longitude {
            assert!(lon.is_finite() && lon.abs() <= 180.0, "longitude {lon}");
        }
    }
}

/// Library API answers: the first byte picks the shape (media item, album, or a page of
/// either); every file name an answer carries must become a portable repository name.
pub fn library_api(data: &[u8]) {
    use photobak_core::google::library::{ApiAlbum, ApiMediaItem};
    let Some((&sel, body)) = data.split_first() else {
        return;
    };
    let items: Vec<ApiMediaItem> = match sel % 4 {
        0 => serde_json::from_slice::<ApiMediaItem>(body)
            .into_iter()
            .collect(),
        1 => {
            if let Ok(a) = serde_json::from_slice::<ApiAlbum>(body) {
                check_portable(&photobak_core::repo::naming::sanitize(
                    a.title.as_deref().unwrap_or(""),
                    "Untitled",
                ));
            }
            Vec::new()
        }
        2 => serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v.get("mediaItems").cloned())
            .and_then(|v| serde_json::from_value::<Vec<ApiMediaItem>>(v).ok())
            .unwrap_or_default(),
        _ => {
            if let Ok(s) = std::str::from_utf8(body) {
                check_portable(&photobak_core::repo::naming::sanitize(s, "item"));
                for n in [1, 2, 1000, u32::MAX] {
                    check_portable(&photobak_core::repo::naming::numbered(
                        &photobak_core::repo::naming::sanitize(s, "item"),
                        n,
                    ));
                }
            }
            Vec::new()
        }
    };
    for item in items {
        let _ = item.version();
        let _ = item.camera();
        let _ = item.video_status();
        let _ = item.is_video();
        check_portable(&photobak_core::repo::naming::sanitize(
            item.filename.as_deref().unwrap_or(""),
            "item",
        ));
    }
}

/// A name every common file system accepts, and that photobak does not reserve for itself.
fn check_portable(name: &str) {
    assert!(!name.is_empty(), "empty name");
    assert!(
        name.len() <= 255,
        "name longer than 255 bytes: {}",
        name.len()
    );
    assert!(
        !name.chars().any(
            |c| matches!(c, '<' | '>' | ':' | '"' | '/' | '\\' | '|' | '?' | '*') || c.is_control()
        ),
        "forbidden character in {name:?}"
    );
    assert!(
        !name.ends_with('.') && !name.ends_with(' '),
        "trailing dot or space in {name:?}"
    );
    assert!(name != "." && name != "..", "dot name");
    let stem = name.split('.').next().unwrap_or("").to_ascii_uppercase();
    const RESERVED: &[&str] = &[
        "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8",
        "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
    ];
    assert!(!RESERVED.contains(&stem.as_str()), "reserved name {name:?}");
    assert!(
        !name.eq_ignore_ascii_case("others.txt"),
        "photobak's own others.txt"
    );
}
