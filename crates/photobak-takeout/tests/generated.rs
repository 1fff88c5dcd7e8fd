//! Exports made by the testkit's Takeout generator scan with exactly the expected sidecars and
//! rules, in zip, tgz and folder form.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use photobak_takeout::{
    Catalog, Flow, Folder, Limits, MediaEntry, Variant, for_each_listed_media, for_each_media, scan,
};
use photobak_testkit::takeout_gen::{
    ArchiveFormat, Expected, ExpectedFolder, ExpectedVariant, ExportSpec, Lang, PartStyle,
    matching_export, newer_export, realistic_export, write_export,
};

fn file_name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

fn by_path(c: &Catalog) -> BTreeMap<(String, String), MediaEntry> {
    c.media
        .to_vec()
        .unwrap()
        .into_iter()
        .map(|m| ((file_name(&c.parts[m.part()].path), m.path.to_string()), m))
        .collect()
}

/// Every media entry, by id.
fn all(c: &Catalog) -> Vec<MediaEntry> {
    c.media.to_vec().unwrap()
}

/// Asserts that the catalog is exactly what the generator says.
fn check(c: &Catalog, e: &Expected) {
    assert_eq!(c.export_id, e.export_id);
    assert_eq!(c.account_hint, e.account);
    let part_names: Vec<String> = c.parts.iter().map(|p| file_name(&p.path)).collect();
    assert_eq!(part_names, e.parts);
    assert_eq!(c.media.len(), e.files.len(), "media count");
    let index = by_path(c);
    let mut texts = c.sidecar_texts();
    for f in &e.files {
        let m = index
            .get(&(e.parts[f.part].clone(), f.path.clone()))
            .unwrap_or_else(|| panic!("{} not listed in part {}", f.path, e.parts[f.part]));
        let ctx = format!("{} ({})", f.path, f.key);
        assert_eq!(
            m.matched_by.code(),
            f.rule,
            "rule of {ctx}: {:?}",
            m.matched_by
        );
        assert_eq!(m.matched_by.counter(), f.counter, "counter of {ctx}");
        assert_eq!(
            m.matched_by.inferred_suffix(),
            f.inferred_suffix.as_deref(),
            "inferred edited suffix of {ctx}"
        );
        let sidecar = c.sidecar(m).unwrap();
        assert_eq!(
            sidecar.as_ref().map(|s| s.json_path().to_owned()),
            f.sidecar,
            "sidecar of {ctx}"
        );
        assert_eq!(m.size, f.size, "size of {ctx}");
        assert_eq!(m.file_name(), f.file_name);
        assert_eq!(m.duplicate_of, None);
        if let Some(at) = &sidecar {
            // The catalog keeps what names the item; the rest is read again from the part.
            let (s, _) = texts.read(at).unwrap();
            assert_eq!(s.to_ref(), *at, "what the catalog keeps of {ctx}");
            let sp = f.sidecar_part.expect("sidecar part");
            assert_eq!(
                file_name(&c.parts[s.json_part].path),
                e.parts[sp],
                "sidecar part of {ctx}"
            );
            assert_eq!(s.title, f.title, "title of {ctx}");
            assert_eq!(s.photo_taken_time, f.taken_at, "taken_at of {ctx}");
            assert_eq!(s.description, f.description, "description of {ctx}");
            assert_eq!(s.favorited, f.favorite, "favorite of {ctx}");
            assert_eq!(s.archived, f.archived, "archived of {ctx}");
            assert_eq!(s.trashed, f.trashed, "trashed of {ctx}");
            assert_eq!(s.people, f.people, "people of {ctx}");
            assert_eq!(
                s.geo_data.map(|g| (g.latitude, g.longitude)),
                f.geo,
                "geo of {ctx}"
            );
        }
        let variant_ok = match (&f.variant, m.variant) {
            (ExpectedVariant::Original, Variant::Original)
            | (ExpectedVariant::Creation, Variant::Creation) => true,
            (ExpectedVariant::Edited { original }, Variant::Edited { original: got }) => {
                original.as_deref()
                    == got
                        .map(|i| c.media.get(i as usize).unwrap().path)
                        .as_deref()
            }
            (
                ExpectedVariant::LiveCompanion { still },
                Variant::LiveCompanion { still: Some(i) },
            ) => *c.media.get(i as usize).unwrap().path == **still,
            _ => false,
        };
        assert!(
            variant_ok,
            "variant of {ctx}: expected {:?}, got {:?}",
            f.variant, m.variant
        );
        let folder_ok = match (&f.folder, &m.folder) {
            (ExpectedFolder::Year(y), Folder::Year(g)) => y == g,
            (ExpectedFolder::Album { folder_name, title }, Folder::Album(got)) => {
                **folder_name == *got.folder_name && **title == *got.title
            }
            (ExpectedFolder::Archive, Folder::Archive)
            | (ExpectedFolder::Trash, Folder::Trash)
            | (ExpectedFolder::FailedVideos, Folder::FailedVideos)
            | (ExpectedFolder::LockedFolder, Folder::LockedFolder) => true,
            _ => false,
        };
        assert!(
            folder_ok,
            "folder of {ctx}: expected {:?}, got {:?}",
            f.folder, m.folder
        );
    }
    for a in &e.albums {
        let got = c
            .albums
            .iter()
            .find(|g| g.folder_name == a.folder_name)
            .unwrap_or_else(|| panic!("album {} missing", a.folder_name));
        assert_eq!(got.title, a.title);
        assert_eq!(got.description, a.description, "album {}", a.folder_name);
        assert_eq!(
            got.metadata_path, a.metadata_path,
            "album {}",
            a.folder_name
        );
    }
    assert_eq!(c.albums.len(), e.albums.len());
    let unmatched: BTreeSet<&String> = c.unmatched_sidecars.iter().collect();
    assert_eq!(
        unmatched,
        e.unmatched_sidecars.iter().collect(),
        "unmatched sidecars"
    );
    let ambiguous: BTreeSet<&String> = c.ambiguous.iter().map(|(m, _)| m).collect();
    assert_eq!(ambiguous, e.ambiguous.iter().collect(), "ambiguous media");
    let problems: BTreeSet<(String, String)> = c
        .problems
        .iter()
        .map(|p| (p.entry.clone().unwrap_or_default(), format!("{:?}", p.kind)))
        .collect();
    let expected: BTreeSet<(String, String)> = e
        .problems
        .iter()
        .map(|p| (p.entry.clone(), p.kind.to_owned()))
        .collect();
    assert_eq!(problems, expected, "problems: {:#?}", c.problems);
    assert_eq!(
        c.problems.len(),
        e.problems.len(),
        "problems: {:#?}",
        c.problems
    );
}

/// Streams every media entry and checks its bytes.
fn check_bytes(c: &Catalog, e: &Expected) {
    let want: BTreeMap<(String, String), String> = e
        .files
        .iter()
        .map(|f| ((e.parts[f.part].clone(), f.path.clone()), f.blake3.clone()))
        .collect();
    let mut seen = 0;
    let problems = for_each_media(c, |m, r| -> std::io::Result<()> {
        let mut h = blake3::Hasher::new();
        let mut buf = vec![0; 64 << 10];
        loop {
            let n = r.read(&mut buf)?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
        }
        let key = (file_name(&c.parts[m.part()].path), m.path.to_string());
        assert_eq!(
            Some(&h.finalize().to_hex().to_string()),
            want.get(&key),
            "bytes of {}",
            m.path
        );
        seen += 1;
        Ok(())
    })
    .unwrap();
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(seen, c.media.len());
}

fn write_and_scan(spec: &ExportSpec, dir: &Path) -> (Vec<PathBuf>, Catalog) {
    let parts = write_export(spec, dir).unwrap();
    let catalog = scan(&parts, &Limits::default()).unwrap();
    (parts, catalog)
}

#[test]
fn every_generated_item_scans_with_the_expected_sidecar_and_rule() {
    let tmp = tempfile::tempdir().unwrap();
    for seed in [0u64, 1, 5, 8] {
        let spec = realistic_export(seed);
        let expected = spec.expected().unwrap();
        let (_, catalog) = write_and_scan(&spec, &tmp.path().join(format!("s{seed}")));
        check(&catalog, &expected);
        if seed == 0 {
            check_bytes(&catalog, &expected);
        }
    }
}

/// What a catalog found, with part paths reduced to their stems and each sidecar with its
/// text in place of its place, for comparing zip and tgz.
#[derive(Debug, PartialEq)]
struct Normal {
    export_id: String,
    account_hint: Option<String>,
    parts: Vec<photobak_takeout::PartInfo>,
    /// Each entry without its sidecar's id, and the sidecar.
    media: Vec<(MediaEntry, Option<photobak_takeout::SidecarRef>)>,
    albums: Vec<photobak_takeout::AlbumInfo>,
    problems: Vec<photobak_takeout::Problem>,
    unmatched_sidecars: Vec<String>,
    ambiguous: Vec<(String, Vec<String>)>,
}

fn normalised(mut c: Catalog) -> Normal {
    // A zip's sidecar keeps where its JSON is, a tgz's holds the text: compare the texts.
    let sidecars: Vec<Option<photobak_takeout::SidecarRef>> = {
        let mut texts = c.sidecar_texts();
        all(&c)
            .iter()
            .map(|m| {
                c.sidecar(m).unwrap().map(|mut s| {
                    s.raw = photobak_takeout::RawJson::from_text(&texts.text(&s).unwrap());
                    s
                })
            })
            .collect()
    };
    let stem = |p: &Path| PathBuf::from(p.file_stem().unwrap());
    for p in &mut c.parts {
        p.path = stem(&p.path);
        p.format = photobak_takeout::PartFormat::Unknown;
    }
    let mut media = all(&c);
    for m in &mut media {
        // Zip lists CRC-32s and places, tar does not.
        m.zip = None;
        m.sidecar = None;
    }
    for p in &mut c.problems {
        p.part = stem(&p.part);
    }
    Normal {
        export_id: c.export_id,
        account_hint: c.account_hint,
        parts: c.parts,
        media: media.into_iter().zip(sidecars).collect(),
        albums: c.albums,
        problems: c.problems,
        unmatched_sidecars: c.unmatched_sidecars,
        ambiguous: c.ambiguous,
    }
}

#[test]
fn zip_and_tgz_of_the_same_export_give_the_same_catalog() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = realistic_export(3).part_style(PartStyle::New { segment: 3 });
    let expected = spec.expected().unwrap();
    let (zparts, zip) = write_and_scan(
        &spec.clone().format(ArchiveFormat::Zip),
        &tmp.path().join("zip"),
    );
    let (tparts, tgz) = write_and_scan(
        &spec.clone().format(ArchiveFormat::Tgz),
        &tmp.path().join("tgz"),
    );
    assert!(zparts.iter().all(|p| p.extension().unwrap() == "zip"));
    assert!(tparts.iter().all(|p| p.extension().unwrap() == "tgz"));
    assert!(zparts.len() >= 3);
    let tgz_expected = Expected {
        parts: tparts.iter().map(|p| file_name(p)).collect(),
        ..expected.clone()
    };
    check(&tgz, &tgz_expected);
    check_bytes(&tgz, &tgz_expected);
    assert_eq!(normalised(zip), normalised(tgz));
}

#[test]
fn extracted_folders_scan_like_the_archives() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = realistic_export(6).format(ArchiveFormat::Folder);
    let expected = spec.expected().unwrap();
    let (parts, catalog) = write_and_scan(&spec, tmp.path());
    assert!(parts.iter().all(|p| p.is_dir()));
    check(&catalog, &expected);
    check_bytes(&catalog, &expected);
}

#[test]
fn a_newer_export_shows_the_changes() {
    let tmp = tempfile::tempdir().unwrap();
    let old_spec = realistic_export(2);
    let (new_spec, diff) = newer_export(&old_spec, 11);
    let (_, old) = write_and_scan(&old_spec, &tmp.path().join("old"));
    let (_, new) = write_and_scan(
        &new_spec.clone().format(ArchiveFormat::Tgz),
        &tmp.path().join("new"),
    );
    assert_eq!(old.export_id, "takeout-20250921T101010Z");
    assert_eq!(new.export_id, "takeout-20251021T101010Z");
    let mut e = new_spec.expected().unwrap();
    e.parts = new.parts.iter().map(|p| file_name(&p.path)).collect();
    check(&new, &e);
    let titles = |c: &Catalog| -> BTreeSet<String> {
        all(c)
            .iter()
            .filter_map(|m| c.sidecar(m).unwrap().map(|s| s.title().to_owned()))
            .collect()
    };
    let (ot, nt) = (titles(&old), titles(&new));
    assert_eq!(nt.difference(&ot).count(), 3, "three added titles");
    assert_eq!(ot.difference(&nt).count(), 2, "two removed titles");
    let described = new_spec
        .items
        .iter()
        .find(|i| i.key == diff.description_changed[0])
        .unwrap();
    let mut texts = new.sidecar_texts();
    assert!(all(&new).iter().any(|m| {
        new.sidecar(m).unwrap().is_some_and(|at| {
            let (s, _) = texts.read(&at).unwrap();
            s.title == described.title && s.description.ends_with("(edited later)")
        })
    }));
}

#[test]
fn matching_cases_scan_as_expected_in_every_language_and_format() {
    let tmp = tempfile::tempdir().unwrap();
    for (i, (lang, format)) in [
        (Lang::En, ArchiveFormat::Zip),
        (Lang::De, ArchiveFormat::Tgz),
        (Lang::Fr, ArchiveFormat::Folder),
        (Lang::Es, ArchiveFormat::Zip),
        (Lang::Ru, ArchiveFormat::Zip),
    ]
    .into_iter()
    .enumerate()
    {
        let spec = matching_export(lang, "20190901T000000Z").format(format);
        let expected = spec.expected().unwrap();
        let (_, c) = write_and_scan(&spec, &tmp.path().join(format!("m{i}")));
        check(&c, &expected);
        // The cases the generator's expectations stand for, spelled out.
        let media = all(&c);
        let by_name = |n: &str| {
            media
                .iter()
                .find(|m| m.file_name() == n)
                .unwrap_or_else(|| panic!("{n} missing"))
        };
        for (k, s) in photobak_testkit::takeout_gen::INFERRED_SUFFIXES
            .iter()
            .enumerate()
        {
            let m = by_name(&format!("IMG_40{k:02}{s}.jpg"));
            assert_eq!(m.matched_by.code(), "edited-variant-inferred");
            assert_eq!(m.matched_by.inferred_suffix(), Some(*s));
            assert!(matches!(m.variant, Variant::Edited { original: Some(_) }));
        }
        let m = by_name("IMG_4100-upraveno(1).jpg");
        assert!(
            matches!(m.variant, Variant::Edited { original: Some(o) } if media[o as usize].file_name() == "IMG_4100(1).jpg")
        );
        assert_eq!(by_name("IMG_5000-2.jpg").matched_by.code(), "legacy");
        assert_eq!(by_name("Trip-beach.jpg").variant, Variant::Original);
        assert_eq!(by_name("IMG_5001-2.jpg").matched_by.code(), "none");
        assert_eq!(by_name("IMG_5001-2.jpg").variant, Variant::Original);
        assert_eq!(by_name("VID_6001.mp4").folder, Folder::FailedVideos);
        assert_eq!(by_name("IMG_6004.jpg").folder, Folder::LockedFolder);
        assert!(
            c.albums
                .iter()
                .all(|a| a.title == "Lakes 2019" || a.title == "Family"),
            "{:?}",
            c.albums
        );
        assert!(
            c.sidecar(by_name("IMG_1001.jpg"))
                .unwrap()
                .unwrap()
                .photo_key()
                .is_none()
        );
        // Zip lists the CRC-32 of every media entry; tar and folders do not.
        assert_eq!(
            media.iter().all(|m| m.crc32().is_some()),
            format == ArchiveFormat::Zip
        );
    }
}

/// What two scans of one export must agree on: the media entries in record order with their
/// sidecars, the sidecars stored, the albums, the problems, the unmatched and ambiguous
/// sidecars, and the export's id.
type Seen = (
    Vec<(MediaEntry, Option<photobak_takeout::SidecarRef>)>,
    usize,
    Vec<photobak_takeout::AlbumInfo>,
    Vec<photobak_takeout::Problem>,
    Vec<String>,
    Vec<(String, Vec<String>)>,
    String,
);

fn seen(c: Catalog) -> Seen {
    let media = c
        .media
        .in_record_order()
        .map(|m| {
            let m = m.unwrap();
            let s = c.sidecar(&m).unwrap();
            (m, s)
        })
        .collect();
    (
        media,
        c.sidecars.len(),
        c.albums,
        c.problems,
        c.unmatched_sidecars,
        c.ambiguous,
        c.export_id,
    )
}

/// A folder part of more entries than `Limits::folder_chunk` (an extracted export given as
/// one folder) is walked for its layout, then surveyed and placed a chunk at a time: the
/// catalog is the one of the part listed whole, in memory and spilled, also for a folder
/// without Takeout part names (its derived id) and for parts laid out from `Takeout/` or
/// from the Photos folder.
#[test]
fn folder_parts_listed_in_chunks_give_the_catalog_of_parts_listed_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let mut exports = Vec::new();
    for (i, spec) in [
        realistic_export(4).format(ArchiveFormat::Folder),
        matching_export(Lang::De, "20190901T000000Z").format(ArchiveFormat::Folder),
    ]
    .iter()
    .enumerate()
    {
        let parts = write_export(spec, &tmp.path().join(format!("e{i}"))).unwrap();
        exports.push(parts.clone());
        // The same folders without their Takeout names, and the Photos folder given alone.
        let renamed: Vec<PathBuf> = parts
            .iter()
            .enumerate()
            .map(|(k, p)| {
                let to = tmp
                    .path()
                    .join(format!("e{i}-copy"))
                    .join(format!("extracted {k}"));
                std::fs::create_dir_all(to.parent().unwrap()).unwrap();
                std::fs::rename(p, &to).unwrap();
                to
            })
            .collect();
        for (p, to) in parts.iter().zip(&renamed) {
            // Back where it was, and a copy under the other name (hard links: same files).
            copy_tree(to, p);
        }
        exports.push(renamed.clone());
        // The Photos folder (`Google Photos`, `Google Fotos` …) of the first part.
        let photos = std::fs::read_dir(renamed[0].join("Takeout"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.is_dir() && p.to_string_lossy().contains("oto"))
            .unwrap();
        exports.push(vec![photos]);
    }
    // Two exports, each as written, renamed, and its Photos folder alone.
    assert_eq!(exports.len(), 6);
    for (i, parts) in exports.iter().enumerate() {
        let whole = seen(scan(parts, &Limits::default()).unwrap());
        assert!(whole.0.len() > 5, "export {i}: {} media", whole.0.len());
        for folder_chunk in [1, 3, 50] {
            let limits = Limits {
                folder_chunk,
                ..Limits::default()
            };
            let in_memory = scan(parts, &limits).unwrap();
            assert_eq!(
                seen(in_memory),
                whole,
                "export {i}, chunks of {folder_chunk}"
            );
            let spill = photobak_takeout::Spill::files(tempfile::tempfile).unwrap();
            let in_files = photobak_takeout::scan_into(parts, &limits, spill).unwrap();
            assert_eq!(
                seen(in_files),
                whole,
                "export {i}, chunks of {folder_chunk}, spilled"
            );
        }
    }
}

/// `from`'s files hard-linked under `to`, folders made.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            std::fs::hard_link(e.path(), &target).unwrap();
        }
    }
}

/// A folder of more media entries than `Limits::folder_slice` is matched in slices of its
/// names (in a scratch file when the scan has spill files): the catalog is the one of every
/// folder matched whole, entry for entry in the same order, with the same sidecars under the
/// same ids, and the same albums, problems, unmatched and ambiguous sidecars.
#[test]
fn folders_matched_in_slices_give_the_catalog_of_folders_matched_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let specs = [
        realistic_export(4).format(ArchiveFormat::Zip),
        realistic_export(7).format(ArchiveFormat::Tgz),
        matching_export(Lang::En, "20190901T000000Z").format(ArchiveFormat::Zip),
        matching_export(Lang::De, "20190901T000000Z").format(ArchiveFormat::Folder),
    ];
    for (i, spec) in specs.iter().enumerate() {
        let parts = write_export(spec, &tmp.path().join(format!("e{i}"))).unwrap();
        let whole = seen(scan(&parts, &Limits::default()).unwrap());
        assert!(whole.0.iter().any(|(_, s)| s.is_some()));
        // Crowded slices too: more names than `crowded_slice` in a slice are matched in
        // parts of whole counters (no counter of one key here holds more than 16 names).
        for (folder_slice, crowded_slice) in
            [(1, 1 << 20), (2, 1 << 20), (7, 1 << 20), (1, 16), (3, 20)]
        {
            let limits = Limits {
                folder_slice,
                crowded_slice,
                ..Limits::default()
            };
            let in_memory = scan(&parts, &limits).unwrap();
            assert_eq!(
                seen(in_memory),
                whole,
                "export {i}, slices of {folder_slice}, crowded past {crowded_slice}"
            );
            let spill = photobak_takeout::Spill::files(tempfile::tempfile).unwrap();
            let in_files = photobak_takeout::scan_into(&parts, &limits, spill).unwrap();
            assert_eq!(
                seen(in_files),
                whole,
                "export {i}, slices of {folder_slice}, crowded past {crowded_slice}, spilled"
            );
        }
    }
}

/// A sidecar goes to the slice of its title, not of its file's name: one whose name fits no
/// rule still pairs by its title (title-only) when its folder is matched in slices.
#[test]
fn a_sidecar_named_unlike_its_title_pairs_in_a_sliced_folder() {
    use std::io::Write;
    let tmp = tempfile::tempdir().unwrap();
    let folder = "Takeout/Google Photos/Photos from 2020";
    let json = |title: &str| {
        format!(
            r#"{{"title": "{title}", "photoTakenTime": {{"timestamp": "1590000000"}}, "url": "https://photos.google.com/photo/AF1Qip{title}"}}"#
        )
    };
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default();
    for i in 0..40usize {
        let name = format!("P{i}.jpg");
        z.start_file(format!("{folder}/{name}"), opts).unwrap();
        z.write_all(format!("jpeg {i}").as_bytes()).unwrap();
        // Every fourth sidecar's name is unrelated to its title.
        let json_name = if i.is_multiple_of(4) {
            format!("zz{i}.json")
        } else {
            format!("{name}.json")
        };
        z.start_file(format!("{folder}/{json_name}"), opts).unwrap();
        z.write_all(json(&name).as_bytes()).unwrap();
    }
    let part = tmp.path().join("takeout-20200101T000000Z-001.zip");
    std::fs::write(&part, z.finish().unwrap().into_inner()).unwrap();
    for folder_slice in [1, 3, 1000] {
        let limits = Limits {
            folder_slice,
            ..Limits::default()
        };
        let c = scan(std::slice::from_ref(&part), &limits).unwrap();
        for m in all(&c) {
            let i: usize = m.file_name()[1..].trim_end_matches(".jpg").parse().unwrap();
            let rule = if i.is_multiple_of(4) {
                "title-only"
            } else {
                "legacy"
            };
            assert_eq!(
                m.matched_by.code(),
                rule,
                "{} in slices of {folder_slice}",
                m.path
            );
            let s = c.sidecar(&m).unwrap().unwrap();
            assert_eq!(s.title(), m.file_name());
        }
        assert!(c.unmatched_sidecars.is_empty());
    }
}

/// A zip part of `files` (path, bytes) in one folder of a Takeout export.
fn zip_of(dir: &Path, folder: &str, files: &[(String, String)]) -> PathBuf {
    use std::io::Write;
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default();
    for (name, bytes) in files {
        z.start_file(format!("{folder}/{name}"), opts).unwrap();
        z.write_all(bytes.as_bytes()).unwrap();
    }
    let part = dir.join("takeout-20200101T000000Z-001.zip");
    std::fs::write(&part, z.finish().unwrap().into_inner()).unwrap();
    part
}

fn sidecar_json(title: &str, i: usize) -> String {
    format!(
        r#"{{"title": "{title}", "photoTakenTime": {{"timestamp": "{}"}}, "url": "https://photos.google.com/photo/AF1Qip{i}"}}"#,
        1_590_000_000 + i
    )
}

/// Files of one name told apart by Google's counters (`unnamed(N).jpg`, each sidecar
/// generation, with edits and live photos' videos) fill one slice of their folder alone:
/// past `crowded_slice` names it is matched in parts of whole counters, and the catalog is
/// the one of the folder matched whole, in memory and spilled, with nothing reported.
#[test]
fn a_slice_crowded_by_counters_is_matched_in_parts_as_a_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for i in 0..60usize {
        let c = if i == 0 {
            String::new()
        } else {
            format!("({i})")
        };
        files.push((format!("unnamed{c}.jpg"), format!("jpeg {i}")));
        let json = match i % 3 {
            0 => format!("unnamed.jpg{c}.json"),
            1 => format!("unnamed.jpg.supplemental-metadata{c}.json"),
            _ => format!("unnamed{c}.jpg.json"),
        };
        files.push((json, sidecar_json("unnamed.jpg", i)));
        if i % 7 == 0 {
            files.push((format!("unnamed{c}-edited.jpg"), format!("edited {i}")));
        }
        if i % 5 == 0 {
            files.push((format!("unnamed{c}.MP4"), format!("video {i}")));
        }
        // Other keys beside it.
        files.push((format!("IMG_{i}.jpg"), format!("img {i}")));
        files.push((
            format!("IMG_{i}.jpg.json"),
            sidecar_json(&format!("IMG_{i}.jpg"), 100 + i),
        ));
    }
    let part = zip_of(tmp.path(), "Takeout/Google Photos/Photos from 2020", &files);
    let parts = [part];
    let summary = |c: Catalog| {
        let media: Vec<(String, Option<String>, String, String)> = all(&c)
            .into_iter()
            .map(|m| {
                let s = c.sidecar(&m).unwrap().map(|s| s.json_path().to_owned());
                (
                    m.path.to_string(),
                    s,
                    m.matched_by.code().to_owned(),
                    format!("{:?}", m.variant),
                )
            })
            .collect();
        (media, c.problems.len(), c.unmatched_sidecars, c.ambiguous)
    };
    let whole = summary(scan(&parts, &Limits::default()).unwrap());
    // Every unnamed file has a sidecar: its own, or its original's (edits), or its still's.
    assert!(
        whole.0.iter().all(|(_, s, ..)| s.is_some()),
        "{:?}",
        whole.0
    );
    assert_eq!(whole.0.len(), 60 + 9 + 12 + 60);
    let limits = Limits {
        folder_slice: 4,
        crowded_slice: 12,
        ..Limits::default()
    };
    assert_eq!(summary(scan(&parts, &limits).unwrap()), whole);
    let spill = photobak_takeout::Spill::files(tempfile::tempfile).unwrap();
    let spilled = photobak_takeout::scan_into(&parts, &limits, spill).unwrap();
    assert_eq!(summary(spilled), whole);
}

/// A hostile folder fills one key and one counter past `crowded_slice` (names alike up to a
/// `-` and a letter, no counter): it is matched in parts of one plain stem, which is said as
/// a problem of the folder; every file is still listed, and each file whose sidecar is titled
/// as it is named still has it.
#[test]
fn a_slice_crowded_by_one_counter_is_matched_by_stems_and_said() {
    let tmp = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for i in 0..40usize {
        files.push((format!("a-b{i}.jpg"), format!("jpeg {i}")));
        let title = format!("a-b{i}.jpg");
        files.push((format!("{title}.json"), sidecar_json(&title, i)));
        if i % 4 == 0 {
            files.push((format!("a-b{i}-edited.jpg"), format!("edited {i}")));
        }
    }
    // Other keys, in the same slice when the folder is one slice: their edits keep their
    // originals' sidecars.
    for i in 0..5usize {
        let title = format!("IMG_{i}.jpg");
        files.push((title.clone(), format!("img {i}")));
        files.push((format!("IMG_{i}-edited.jpg"), format!("img edited {i}")));
        files.push((format!("{title}.json"), sidecar_json(&title, 100 + i)));
    }
    let part = zip_of(tmp.path(), "Takeout/Google Photos/Photos from 2020", &files);
    let parts = [part];
    let whole = scan(&parts, &Limits::default()).unwrap();
    assert!(whole.problems.is_empty(), "{:?}", whole.problems);
    for (spilled, folder_slice) in [(false, 4), (true, 4), (false, 60), (true, 60)] {
        let limits = Limits {
            folder_slice,
            crowded_slice: 12,
            ..Limits::default()
        };
        let c = if spilled {
            let spill = photobak_takeout::Spill::files(tempfile::tempfile).unwrap();
            photobak_takeout::scan_into(&parts, &limits, spill).unwrap()
        } else {
            scan(&parts, &limits).unwrap()
        };
        let at = format!("spilled: {spilled}, slices of {folder_slice}");
        let media = all(&c);
        assert_eq!(media.len(), 60, "{at}");
        for m in &media {
            let name = m.file_name();
            let s = c.sidecar(m).unwrap();
            if !name.ends_with("-edited.jpg") {
                assert_eq!(s.expect(name).title(), name, "{at}");
            } else if name.starts_with("IMG_") {
                assert_eq!(s.expect(name).title(), name.replace("-edited", ""), "{at}");
            }
        }
        let said: Vec<String> = c
            .problems
            .iter()
            .filter(|p| p.kind == photobak_takeout::ProblemKind::TooLarge)
            .map(ToString::to_string)
            .collect();
        assert_eq!(said.len(), 1, "{at}: {:?}", c.problems);
        assert!(said[0].contains("Photos from 2020/a-b"), "{said:?}");
        assert!(said[0].contains("begin as \"a\""), "{said:?}");
        assert!(said[0].contains("every file is kept"), "{said:?}");
    }
}

/// Lists of entries read at once on different threads (every other entry each, given in reverse
/// order) deliver every entry exactly once, in archive order within each list, with the bytes
/// the generator wrote.
#[test]
fn listed_entries_read_on_two_threads_at_once_give_every_entry_once() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = realistic_export(1);
    let expected = spec.expected().unwrap();
    let (_, c) = write_and_scan(&spec, tmp.path());
    assert!(c.parts.len() > 1, "several parts");
    let want: BTreeMap<(String, String), String> = expected
        .files
        .iter()
        .map(|f| {
            (
                (expected.parts[f.part].clone(), f.path.clone()),
                f.blake3.clone(),
            )
        })
        .collect();
    let media = all(&c);
    let halves: Vec<Vec<&MediaEntry>> = (0..2)
        .map(|half| media.iter().skip(half).step_by(2).rev().collect())
        .collect();
    let read: Vec<Vec<(usize, String)>> = std::thread::scope(|s| {
        let threads: Vec<_> = halves
            .iter()
            .map(|list| {
                let c = &c;
                s.spawn(move || {
                    let mut got = Vec::new();
                    let problems =
                        for_each_listed_media(c, list, |m, r| -> std::io::Result<Flow> {
                            let mut bytes = Vec::new();
                            r.read_to_end(&mut bytes)?;
                            got.push((m.index(), blake3::hash(&bytes).to_hex().to_string()));
                            Ok(Flow::Continue)
                        })
                        .unwrap();
                    assert!(problems.is_empty(), "{problems:#?}");
                    got
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let mut seen = BTreeSet::new();
    for got in &read {
        let order: Vec<(u32, u32)> = got
            .iter()
            .map(|(id, _)| (media[*id].part_index, media[*id].entry_index))
            .collect();
        assert!(order.is_sorted(), "archive order within a list: {order:?}");
        for (id, hash) in got {
            let m = &media[*id];
            assert_eq!(
                Some(hash),
                want.get(&(file_name(&c.parts[m.part()].path), m.path.to_string())),
                "bytes of {}",
                m.path
            );
            assert!(seen.insert(*id), "{} delivered twice", m.path);
        }
    }
    assert_eq!(seen.len(), c.media.len());
}
