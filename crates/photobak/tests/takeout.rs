//! Takeout import end to end: generated multi-part exports (zip, tgz, folders) imported by the
//! real binary, checked against what the generator says a correct reader must find.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use common::{Env, write_parts};
use photobak_testkit::takeout_gen::{
    ArchiveFormat, ExpectedFile, ExpectedFolder, ExportSpec, ItemSpec, newer_export,
    realistic_export,
};

const ACCOUNT: &str = common::TAKEOUT_ACCOUNT;

/// The index's view of one stored item.
#[derive(Debug)]
struct Stored {
    filename: String,
    description: Option<String>,
    taken_at: Option<i64>,
    taken_source: Option<String>,
    sidecar_taken_at: Option<i64>,
    lat: Option<f64>,
    lon: Option<f64>,
    favorite: bool,
    archived: bool,
    trashed: bool,
    people: Option<String>,
    rule: Option<String>,
    path: String,
    albums: BTreeSet<String>,
}

fn stored_by_hash(env: &Env) -> BTreeMap<String, Vec<Stored>> {
    let db = env.db();
    let mut st = db
        .prepare(
            "SELECT i.id, i.filename, i.description, i.taken_at, i.taken_source, i.sidecar_taken_at,
                    i.latitude, i.longitude, i.favorite, i.archived, i.trashed, i.people,
                    i.sidecar_rule, c.path, c.blake3
             FROM items i JOIN content c ON c.id = i.content_id",
        )
        .unwrap();
    let mut out: BTreeMap<String, Vec<Stored>> = BTreeMap::new();
    let rows: Vec<(i64, Stored, Vec<u8>)> = st
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                Stored {
                    filename: r.get(1)?,
                    description: r.get(2)?,
                    taken_at: r.get(3)?,
                    taken_source: r.get(4)?,
                    sidecar_taken_at: r.get(5)?,
                    lat: r.get(6)?,
                    lon: r.get(7)?,
                    favorite: r.get(8)?,
                    archived: r.get(9)?,
                    trashed: r.get(10)?,
                    people: r.get(11)?,
                    rule: r.get(12)?,
                    path: r.get(13)?,
                    albums: BTreeSet::new(),
                },
                r.get(14)?,
            ))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for (id, mut s, hash) in rows {
        let mut q = db
            .prepare("SELECT a.title FROM memberships m JOIN albums a ON a.id = m.album_id WHERE m.item_id = ?1")
            .unwrap();
        s.albums = q
            .query_map([id], |r| r.get::<_, String>(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
        out.entry(hex).or_default().push(s);
    }
    out
}

/// Finds the item an expected file became: same bytes, and the title (or archive name) as its
/// file name.
fn find<'a>(stored: &'a BTreeMap<String, Vec<Stored>>, f: &ExpectedFile) -> &'a Stored {
    let candidates = stored
        .get(&f.blake3)
        .unwrap_or_else(|| panic!("{} ({}) not stored", f.path, f.key));
    candidates
        .iter()
        .find(|s| s.filename == f.title || s.filename == f.file_name)
        .unwrap_or_else(|| {
            panic!(
                "{}: no item named {:?} among {candidates:?}",
                f.path, f.title
            )
        })
}

fn check_against_expected(env: &Env, spec: &ExportSpec, include_trash: bool) -> usize {
    let expected = spec.expected().unwrap();
    let stored = stored_by_hash(env);
    let mut checked = 0;
    for f in &expected.files {
        if f.trashed && !include_trash {
            assert!(
                stored
                    .get(&f.blake3)
                    .is_none_or(|v| v.iter().all(|s| s.filename != f.title)),
                "trashed {} imported without --include-trash",
                f.path
            );
            continue;
        }
        let s = find(&stored, f);
        let has_sidecar = f.sidecar.is_some();
        if has_sidecar && f.rule != "edited-variant" && f.rule != "live-companion" {
            assert_eq!(
                s.description.as_deref().unwrap_or(""),
                f.description,
                "description of {}",
                f.path
            );
            assert_eq!(s.favorite, f.favorite, "favorite of {}", f.path);
            let people: Vec<String> = s
                .people
                .as_deref()
                .map(|p| serde_json::from_str(p).unwrap())
                .unwrap_or_default();
            assert_eq!(people, f.people, "people of {}", f.path);
            assert_eq!(
                s.sidecar_taken_at, f.taken_at,
                "photoTakenTime of {}",
                f.path
            );
            if s.taken_source.as_deref() == Some("takeout") {
                assert_eq!(s.taken_at, f.taken_at, "capture time of {}", f.path);
            }
            if let Some((lat, lon)) = f.geo {
                assert!(
                    (s.lat.unwrap() - lat).abs() < 1e-6,
                    "latitude of {}: {:?}",
                    f.path,
                    s.lat
                );
                assert!(
                    (s.lon.unwrap() - lon).abs() < 1e-6,
                    "longitude of {}",
                    f.path
                );
            }
            // One item may come from several copies (year and album folders); its recorded rule
            // is one of theirs, with the sidecar it named.
            let rule = s.rule.as_deref().unwrap_or("");
            let copies: Vec<&ExpectedFile> = expected
                .files
                .iter()
                .filter(|g| g.key == f.key && g.title == f.title && g.variant == f.variant)
                .collect();
            assert!(
                copies.iter().any(|g| rule.starts_with(g.rule)
                    && g.sidecar.as_deref().is_some_and(|sc| rule.ends_with(sc))),
                "{}: rule {rule}",
                f.path
            );
        }
        if !has_sidecar {
            // Never a sidecar guessed for an ambiguous or unmatched file.
            assert!(
                s.rule.as_deref().unwrap_or("none").starts_with("none"),
                "{}: {:?}",
                f.path,
                s.rule
            );
        }
        assert_eq!(s.archived, f.archived, "archived flag of {}", f.path);
        assert_eq!(s.trashed, f.trashed, "trashed flag of {}", f.path);
        for album in &f.albums {
            assert!(
                s.albums.contains(album),
                "{} not in album {album}: {:?}",
                f.path,
                s.albums
            );
        }
        // The file sits in one of its folders; every other folder lists it in others.txt.
        let folder = Path::new(&s.path)
            .parent()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if let ExpectedFolder::Album { title, .. } = &f.folder {
            let album_folder = env
                .db()
                .query_row("SELECT folder FROM albums WHERE title = ?1", [title], |r| {
                    r.get::<_, String>(0)
                })
                .unwrap();
            let others = std::fs::read_to_string(env.repo.join(&album_folder).join("others.txt"))
                .unwrap_or_default();
            assert!(
                folder == album_folder || others.lines().any(|l| l == s.path),
                "{} missing from {album_folder}",
                s.path
            );
        }
        assert_eq!(common::hash_hex(&env.repo.join(&s.path)), f.blake3);
        checked += 1;
    }
    checked
}

#[test]
fn every_item_is_imported_with_exactly_the_expected_metadata_and_albums() {
    for seed in [1u64, 2] {
        let env = Env::new();
        let spec = realistic_export(seed);
        let parts = write_parts(&spec, &env.dir.path().join("export"));
        assert!(parts.len() > 1, "a multi-part export");
        let out = env.import_takeout(&parts, &[]);
        assert!(out.contains("sidecars without media"), "{out}");
        assert!(out.contains("media without a sidecar"), "{out}");
        let n = check_against_expected(&env, &spec, false);
        assert!(n > 50, "{n}");
        assert_eq!(env.tmp_leftovers(), 0);
        // The manifest covers the import.
        let manifest = std::fs::read_to_string(env.repo.join("photobak.b3")).unwrap();
        let files: i64 = env
            .db()
            .query_row("SELECT count(*) FROM content", [], |r| r.get(0))
            .unwrap();
        assert_eq!(manifest.lines().count() as i64, files);
    }
}

#[test]
fn trash_is_imported_only_when_asked() {
    let env = Env::new();
    let spec = realistic_export(3);
    let parts = write_parts(&spec, &env.dir.path().join("export"));
    let out = env.import_takeout(&parts, &["--include-trash"]);
    assert!(!out.contains("in Trash"), "{out}");
    check_against_expected(&env, &spec, true);
}

fn listing(env: &Env) -> BTreeSet<String> {
    env.ok(&["list", "--json"])
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            // Identical except for where the bytes came from.
            v.as_object_mut().unwrap().remove("sources");
            v.to_string()
        })
        .collect()
}

#[test]
fn zip_tgz_and_folders_give_the_same_repository() {
    let spec = realistic_export(4);
    let mut listings = Vec::new();
    for format in [
        ArchiveFormat::Zip,
        ArchiveFormat::Tgz,
        ArchiveFormat::Folder,
    ] {
        let env = Env::new();
        let parts = write_parts(&spec.clone().format(format), &env.dir.path().join("export"));
        env.import_takeout(&parts, &[]);
        let mut tree = BTreeSet::new();
        common::walk(&env.repo.join("googlephotos"), &mut |p| {
            tree.insert((
                p.strip_prefix(&env.repo).unwrap().to_path_buf(),
                std::fs::read(p).unwrap(),
            ));
        });
        listings.push((format, listing(&env), tree));
    }
    for pair in listings.windows(2) {
        let only_a: Vec<_> = pair[0].1.difference(&pair[1].1).collect();
        let only_b: Vec<_> = pair[1].1.difference(&pair[0].1).collect();
        assert!(
            only_a.is_empty() && only_b.is_empty(),
            "{:?} and {:?} listings differ:\n{only_a:#?}\n{only_b:#?}",
            pair[0].0,
            pair[1].0
        );
        assert!(
            pair[0].2 == pair[1].2,
            "{:?} and {:?} trees differ",
            pair[0].0,
            pair[1].0
        );
    }
}

#[test]
fn importing_the_same_export_again_changes_nothing() {
    let env = Env::new();
    let spec = realistic_export(5);
    let parts = write_parts(&spec, &env.dir.path().join("export"));
    env.import_takeout(&parts, &["--xmp"]);
    let before = env.tree_state();
    let manifest = std::fs::metadata(env.repo.join("photobak.b3"))
        .unwrap()
        .modified()
        .unwrap();
    // Recorded as imported: nothing is read at all.
    let out = env.import_takeout(&parts, &["--xmp"]);
    assert!(out.contains("already imported"), "{out}");
    assert_eq!(env.tree_state(), before, "a re-import rewrote files");
    // Read again (--reread): every entry is matched and checked, and nothing is written.
    let out = env.import_takeout(&parts, &["--xmp", "--reread"]);
    assert!(out.contains(" 0 new, 0 deduplicated, 0 updated"), "{out}");
    assert!(out.contains("0 B read"), "{out}");
    assert_eq!(env.tree_state(), before, "a re-import rewrote files");
    assert_eq!(
        std::fs::metadata(env.repo.join("photobak.b3"))
            .unwrap()
            .modified()
            .unwrap(),
        manifest
    );
}

#[test]
fn a_newer_export_updates_metadata_and_records_absences() {
    let env = Env::new();
    let old = realistic_export(6);
    let parts = write_parts(&old, &env.dir.path().join("old"));
    env.import_takeout(&parts, &[]);
    let (newer, diff) = newer_export(&old, 6);
    let parts = write_parts(&newer, &env.dir.path().join("new"));
    // A later full export (an incremental one says nothing of absences: tests/takeout_feed.rs).
    let out = env.import_takeout(&parts, &["--full"]);
    assert!(
        out.contains(&format!("{} new", diff.added.len())),
        "{out}\n{diff:?}"
    );
    assert!(
        out.contains(&format!(
            "{} previously imported items are absent from this full export",
            diff.removed.len()
        )),
        "{out}\n{diff:?}"
    );
    let changed: BTreeSet<&String> = diff
        .description_changed
        .iter()
        .chain(&diff.location_changed)
        .chain(&diff.favorited)
        .chain(diff.album_added.iter().map(|(k, _)| k))
        .collect();
    assert!(
        out.contains(&format!("{} updated", changed.len())),
        "{out}\n{diff:?}"
    );
    check_against_expected(&env, &newer, false);
    let expected = newer.expected().unwrap();
    let stored = stored_by_hash(&env);
    let by_key = |key: &str| {
        expected
            .files
            .iter()
            .find(|f| {
                f.key == key
                    && f.sidecar.is_some()
                    && f.rule != "edited-variant"
                    && f.rule != "live-companion"
            })
            .unwrap_or_else(|| panic!("no file for {key}"))
    };
    for key in &diff.description_changed {
        let f = by_key(key);
        assert_eq!(
            find(&stored, f).description.as_deref(),
            Some(f.description.as_str())
        );
    }
    for key in &diff.location_changed {
        let f = by_key(key);
        let (lat, _) = f.geo.unwrap();
        assert!((find(&stored, f).lat.unwrap() - lat).abs() < 1e-6);
    }
    for key in &diff.favorited {
        assert!(find(&stored, by_key(key)).favorite);
    }
    for (key, album) in &diff.album_added {
        assert!(find(&stored, by_key(key)).albums.contains(album));
    }
    // Nothing is deleted by import: the removed items are still there.
    let n: i64 = env
        .db()
        .query_row(
            "SELECT absent_count FROM takeout_exports WHERE export_id = ?1",
            [&expected.export_id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n as usize, diff.removed.len());
}

#[test]
fn xmp_sidecars_are_read_back_by_exiftool() {
    if !common::tool_available(
        "exiftool",
        "-ver",
        "libimage-exiftool-perl",
        "xmp_sidecars_are_read_back_by_exiftool",
    ) {
        return;
    }
    let env = Env::new();
    let spec = realistic_export(7);
    let parts = write_parts(&spec, &env.dir.path().join("export"));
    env.import_takeout(&parts, &["--xmp"]);
    let expected = spec.expected().unwrap();
    let stored = stored_by_hash(&env);
    let f = expected
        .files
        .iter()
        .find(|f| {
            f.geo.is_some()
                && !f.people.is_empty()
                && f.favorite
                && !f.description.is_empty()
                && !f.trashed
        })
        .expect("the realistic export has an item with geo, people, favourite and caption");
    let s = find(&stored, f);
    let xmp = env.repo.join(format!("{}.xmp", s.path));
    let out = std::process::Command::new("exiftool")
        .args(["-j", "-n"])
        .arg(&xmp)
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let v = &v[0];
    let (lat, lon) = f.geo.unwrap();
    assert!(
        (v["GPSLatitude"].as_f64().unwrap() - lat).abs() < 1e-5,
        "{v}"
    );
    assert!(
        (v["GPSLongitude"].as_f64().unwrap() - lon).abs() < 1e-5,
        "{v}"
    );
    assert_eq!(v["Description"].as_str(), Some(f.description.as_str()));
    assert_eq!(v["Rating"].as_i64(), Some(5));
    let subjects: Vec<String> = match &v["Subject"] {
        serde_json::Value::Array(a) => a.iter().map(|s| s.as_str().unwrap().to_string()).collect(),
        serde_json::Value::String(s) => vec![s.clone()],
        other => panic!("Subject: {other}"),
    };
    assert_eq!(subjects, f.people);
    assert!(v["DateTimeOriginal"].as_str().is_some(), "{v}");
    // File modification times follow the capture time.
    let mtime = std::fs::metadata(env.repo.join(&s.path))
        .unwrap()
        .modified()
        .unwrap();
    let secs = mtime
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert_eq!(Some(secs), s.taken_at);
}

#[test]
fn an_interrupted_import_resumes_without_rereading_what_was_stored() {
    let env = Env::new();
    // Enough items for several group commits (1,024 entries each): with 300 the first group
    // and the last were a few milliseconds apart, and the kill could miss the import.
    const ITEMS: i64 = 3000;
    let mut spec = ExportSpec::new("20250101T000000Z").part_size(256 << 10);
    for i in 0..ITEMS {
        spec = spec.item(ItemSpec::new(&format!("k{i}"), &format!("IMG_{i:04}.jpg")));
    }
    let parts = write_parts(&spec, &env.dir.path().join("export"));
    let mut args: Vec<String> = [
        "--repo",
        env.repo.to_str().unwrap(),
        "import",
        "takeout",
        "--account",
        ACCOUNT,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(parts.iter().cloned());
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_photobak"))
        .args(&args)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let stored = || -> i64 {
        rusqlite::Connection::open(env.repo.join("photobak.db"))
            .and_then(|db| db.query_row("SELECT count(*) FROM content", [], |r| r.get(0)))
            .unwrap_or(0)
    };
    while stored() < 30 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let before = stored();
    let out = env.ok(&["import", "takeout", "--account", ACCOUNT, "--json"]
        .into_iter()
        .chain(parts.iter().map(String::as_str))
        .collect::<Vec<_>>());
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["new"].as_i64().unwrap() + before, ITEMS, "{v}");
    assert!(
        before > 0 && before < ITEMS,
        "the kill did not land mid-import ({before})"
    );
    assert_eq!(env.tmp_leftovers(), 0);
    check_against_expected(&env, &spec, false);
}

#[test]
fn hostile_and_broken_parts_are_reported_and_nothing_escapes() {
    use std::io::Write;
    let env = Env::new();
    let dir = env.dir.path().join("evil");
    std::fs::create_dir_all(&dir).unwrap();
    let part: PathBuf = dir.join("takeout-20250101T000000Z-001.zip");
    {
        let mut z = zip::ZipWriter::new(std::fs::File::create(&part).unwrap());
        let o = zip::write::SimpleFileOptions::default();
        let photo = std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../photobak-testkit/testdata/jpg_Canon_40D.jpg"),
        )
        .unwrap();
        for name in [
            "Takeout/Google Photos/Photos from 2020/../../../../escaped.jpg",
            "/etc/photobak-absolute.jpg",
            "C:/windows/drive.jpg",
        ] {
            z.start_file(name, o).unwrap();
            z.write_all(&photo).unwrap();
        }
        z.start_file("Takeout/Google Photos/Photos from 2020/good.jpg", o)
            .unwrap();
        z.write_all(&photo).unwrap();
        z.start_file("Takeout/Google Photos/Photos from 2020/good.jpg.json", o)
            .unwrap();
        z.write_all(br#"{"title":"good.jpg","photoTakenTime":{"timestamp":"1600000000"}}"#)
            .unwrap();
        z.start_file("Takeout/Google Photos/Photos from 2020/broken.jpg.json", o)
            .unwrap();
        z.write_all(br#"{"title": "broken.jpg", "photoTakenTime": "#)
            .unwrap();
        z.finish().unwrap();
    }
    let truncated = dir.join("takeout-20250101T000000Z-002.zip");
    let bytes = std::fs::read(&part).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let out = env.run(&[
        "import",
        "takeout",
        "--account",
        ACCOUNT,
        part.to_str().unwrap(),
        truncated.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("1 new"), "{stdout}");
    for needle in [
        "escaped.jpg",
        "photobak-absolute.jpg",
        "drive.jpg",
        "broken.jpg.json",
        "takeout-20250101T000000Z-002.zip",
    ] {
        assert!(stdout.contains(needle), "{needle} not reported:\n{stdout}");
    }
    // Nothing outside the repository.
    assert!(!env.dir.path().join("escaped.jpg").exists());
    assert!(!Path::new("/etc/photobak-absolute.jpg").exists());
    let mut files = 0;
    common::walk(&env.repo.join("googlephotos"), &mut |_| files += 1);
    assert_eq!(files, 1);
}

#[test]
fn prune_removes_a_live_photo_pair_that_a_newer_export_no_longer_has() {
    use photobak_testkit::takeout_gen::Live;
    let env = Env::new();
    let keep = ItemSpec::new("keep", "IMG_0001.jpg");
    let live = ItemSpec::new("live", "IMG_4573.HEIC").live(Live::Mp4);
    let filler: Vec<ItemSpec> = (0..20)
        .map(|i| ItemSpec::new(&format!("f{i}"), &format!("IMG_1{i:03}.jpg")))
        .collect();
    let mut old = ExportSpec::new("20250101T000000Z")
        .item(keep.clone())
        .item(live);
    let mut newer = ExportSpec::new("20250201T000000Z").item(keep);
    for f in filler {
        old = old.item(f.clone());
        newer = newer.item(f);
    }
    env.import_takeout(&write_parts(&old, &env.dir.path().join("old")), &[]);
    let files_before: i64 = env
        .db()
        .query_row("SELECT count(*) FROM content", [], |r| r.get(0))
        .unwrap();
    let out = env.import_takeout(
        &write_parts(&newer, &env.dir.path().join("new")),
        &["--full"],
    );
    assert!(
        out.contains("2 previously imported items are absent"),
        "{out}"
    );
    // The still and its video (linked in the index) go together, in one prune.
    let out = env.ok(&["prune", "--googlephotos", ACCOUNT]);
    assert!(out.contains("IMG_4573"), "{out}");
    let files_after: i64 = env
        .db()
        .query_row("SELECT count(*) FROM content", [], |r| r.get(0))
        .unwrap();
    assert_eq!(files_after, files_before - 2);
    env.ok(&["verify"]);
    // A second prune has nothing left to do.
    let out = env.ok(&["prune", "--googlephotos", ACCOUNT]);
    assert!(!out.contains("IMG_4573"), "{out}");
}

#[test]
fn importing_the_export_again_restores_files_verify_found_damaged() {
    let env = Env::new();
    let mut spec = ExportSpec::new("20250101T000000Z");
    for i in 0..6 {
        spec = spec.item(ItemSpec::new(&format!("k{i}"), &format!("IMG_{i:04}.jpg")));
    }
    let parts = write_parts(&spec, &env.dir.path().join("export"));
    env.import_takeout(&parts, &[]);
    let paths: Vec<String> = {
        let db = env.db();
        let mut st = db
            .prepare("SELECT path FROM content ORDER BY path")
            .unwrap();
        st.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let flipped = env.repo.join(&paths[0]);
    let mut bytes = std::fs::read(&flipped).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x55;
    std::fs::write(&flipped, bytes).unwrap();
    std::fs::remove_file(env.repo.join(&paths[1])).unwrap();
    let out = env.run(&["verify"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = env.import_takeout(&parts, &[]);
    assert!(out.contains("2 damaged or missing files restored"), "{out}");
    env.ok(&["verify"]);
    check_against_expected(&env, &spec, false);
}

/// Flips two bytes in the middle of the compressed data of the first entry (in archive order)
/// whose name ends with `suffix`, leaving the directory intact: reading it fails its CRC or
/// its inflate. Returns the entry's name.
fn damage_first_entry(parts: &[String], suffix: &str) -> String {
    for part in parts {
        let mut b = std::fs::read(part).unwrap();
        let le16 = |b: &[u8], at: usize| u16::from_le_bytes([b[at], b[at + 1]]) as usize;
        let le32 = |b: &[u8], at: usize| {
            u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]) as usize
        };
        let mut at = 0;
        while at + 30 < b.len() {
            if b[at..].starts_with(b"PK\x03\x04") {
                let (n, x, size) = (le16(&b, at + 26), le16(&b, at + 28), le32(&b, at + 18));
                let name = String::from_utf8_lossy(&b[at + 30..at + 30 + n]).into_owned();
                if name.ends_with(suffix) && size > 8 {
                    let data = at + 30 + n + x;
                    b[data + size / 2] ^= 0xff;
                    b[data + size / 2 + 1] ^= 0xff;
                    std::fs::write(part, &b).unwrap();
                    return name;
                }
            }
            at += 1;
        }
    }
    panic!("no entry ending with {suffix}");
}

/// The bytes pass reads the first copy of every item (in archive order) on several readers at
/// once and an album copy only when its item still needs bytes afterwards: when the first copy
/// is damaged, the album copy brings the item's bytes, and the damaged entry is reported.
#[test]
fn a_damaged_first_copy_is_stored_from_its_album_copy() {
    use photobak_testkit::takeout_gen::AlbumSpec;
    let env = Env::new();
    let mut spec = ExportSpec::new("20260301T000000Z")
        .account(ACCOUNT)
        .album(AlbumSpec::new("Trip"))
        .part_size(640 << 10);
    for i in 0..12 {
        // Large enough to be read on several readers (the pass reads small entries on one).
        spec = spec.item(
            ItemSpec::new(&format!("d{i}"), &format!("IMG_{i:04}.jpg"))
                .sized(200_000 + i as u64)
                .in_album(0),
        );
    }
    let parts = write_parts(&spec, &env.dir.path().join("export"));
    assert!(parts.len() > 2, "several parts, read at once: {parts:?}");
    let damaged = damage_first_entry(&parts, "/IMG_0005.jpg");
    let mut args = vec![
        "import",
        "takeout",
        "--account",
        ACCOUNT,
        "--full",
        "--json",
    ];
    args.extend(parts.iter().map(String::as_str));
    let out = env.run(&args);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let failed = summary["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 1, "{summary:#}");
    assert!(failed[0].to_string().contains(&damaged), "{summary:#}");
    let db = env.db();
    let (items, stored): (i64, i64) = db
        .query_row("SELECT count(*), count(content_id) FROM items", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!((items, stored), (12, 12), "every item stored, IMG_0005 too");
    let size: i64 = db
        .query_row(
            "SELECT c.size FROM items i JOIN content c ON c.id = i.content_id \
             WHERE i.filename = 'IMG_0005.jpg'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(size, 200_005);
    assert_eq!(env.tmp_leftovers(), 0);
    let v = env.run(&["verify"]);
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stdout));
}
