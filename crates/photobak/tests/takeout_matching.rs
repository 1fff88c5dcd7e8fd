//! Matching that holds on real exports (issue 13, part 2), end to end: exports from the
//! generator's `matching_export` (sidecars without `url`, edited suffixes in no table, special
//! folders in several languages) imported by the real binary, then the index, the files on disk
//! and `list --json` checked.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use common::{Env, write_parts};
use photobak_testkit::takeout_gen::{
    AlbumSpec, ArchiveFormat, ExpectedFile, ExpectedFolder, ExpectedVariant, ExportSpec,
    INFERRED_SUFFIXES, ItemSpec, Lang, MATCHING_ALBUMS, matching_export,
};

const ACCOUNT: &str = common::TAKEOUT_ACCOUNT;

/// One item row of the index.
#[derive(Debug, Clone)]
struct Row {
    id: i64,
    remote_id: String,
    path: Option<String>,
    link_kind: Option<String>,
    linked_to: Option<i64>,
    rule: Option<String>,
    archived: bool,
    trashed: bool,
    albums: BTreeSet<String>,
}

fn rows_where(env: &Env, cond: &str, arg: &str) -> Vec<Row> {
    let db = env.db();
    let sql = format!(
        "SELECT i.id, i.remote_id, c.path, i.link_kind, i.linked_to, i.sidecar_rule, i.archived,
                i.trashed
         FROM items i LEFT JOIN content c ON c.id = i.content_id WHERE {cond} ORDER BY i.id"
    );
    let mut st = db.prepare(&sql).unwrap();
    let mut rows: Vec<Row> = st
        .query_map([arg], |r| {
            Ok(Row {
                id: r.get(0)?,
                remote_id: r.get(1)?,
                path: r.get(2)?,
                link_kind: r.get(3)?,
                linked_to: r.get(4)?,
                rule: r.get(5)?,
                archived: r.get(6)?,
                trashed: r.get(7)?,
                albums: BTreeSet::new(),
            })
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for row in &mut rows {
        let mut q = db
            .prepare(
                "SELECT a.title FROM memberships m JOIN albums a ON a.id = m.album_id
                 WHERE m.item_id = ?1",
            )
            .unwrap();
        row.albums = q
            .query_map([row.id], |r| r.get::<_, String>(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
    }
    rows
}

/// Items whose stored bytes are those of an expected file.
fn items_with_bytes_of(env: &Env, f: &ExpectedFile) -> Vec<Row> {
    let db = env.db();
    let ids: Vec<i64> = {
        let mut st = db
            .prepare(
                "SELECT i.id FROM items i JOIN content c ON c.id = i.content_id
                 WHERE lower(hex(c.blake3)) = ?1",
            )
            .unwrap();
        st.query_map([&f.blake3], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    ids.iter()
        .flat_map(|id| rows_where(env, "i.id = ?1", &id.to_string()))
        .collect()
}

fn expected_file<'a>(spec: &'a [ExpectedFile], name: &str, folder: &str) -> &'a ExpectedFile {
    spec.iter()
        .find(|f| f.file_name == name && Path::new(&f.path).parent().unwrap().ends_with(folder))
        .unwrap_or_else(|| panic!("{folder}/{name} not generated"))
}

/// Files under the account's folder, by blake3.
fn files_on_disk(env: &Env) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    common::walk(&env.repo.join("googlephotos"), &mut |p| {
        let name = p.file_name().unwrap().to_string_lossy();
        if name == "others.txt" || name.ends_with(".xmp") {
            return;
        }
        out.entry(common::hash_hex(p))
            .or_default()
            .push(p.strip_prefix(&env.repo).unwrap().display().to_string());
    });
    out
}

fn year_title(f: &ExpectedFile) -> String {
    match f.folder {
        ExpectedFolder::Year(y) => format!("Photos from {y}"),
        ref other => panic!("{} is in {other:?}", f.path),
    }
}

fn list_json(env: &Env) -> Vec<serde_json::Value> {
    env.ok(&["list", "--json"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn copies_without_url_are_one_item_stored_once_with_their_albums() {
    let env = Env::new();
    let spec = matching_export(Lang::En, "20190901T000000Z");
    let e = spec.expected().unwrap();
    let parts = write_parts(&spec, &env.dir.path().join("export"));
    assert!(parts.len() > 1, "a multi-part export");
    env.import_takeout(&parts, &[]);
    let on_disk = files_on_disk(&env);
    let year = |key: &str| {
        e.files
            .iter()
            .find(|f| f.key == key && matches!(f.folder, ExpectedFolder::Year(_)))
            .unwrap()
    };

    // nu-a: year folder + two albums, no url → one item, one file, both memberships.
    let a = year("nu-a");
    let rows = items_with_bytes_of(&env, a);
    assert_eq!(rows.len(), 1, "{rows:#?}");
    let r = &rows[0];
    assert!(
        r.remote_id.starts_with("takeout-meta:IMG_1001.jpg|"),
        "{r:?}"
    );
    let want: BTreeSet<String> = [
        MATCHING_ALBUMS[0].to_string(),
        MATCHING_ALBUMS[1].to_string(),
        year_title(a),
    ]
    .into();
    assert_eq!(r.albums, want);
    assert_eq!(on_disk[&a.blake3].len(), 1, "{:?}", on_disk[&a.blake3]);

    // nu-b: its edited variant (in both folders) is one item linked to the one original.
    let b = year("nu-b");
    let orig = items_with_bytes_of(&env, b);
    assert_eq!(orig.len(), 1);
    let edited = e
        .files
        .iter()
        .find(|f| f.key == "nu-b" && f.file_name == "IMG_1002-edited.jpg")
        .unwrap();
    let ed = items_with_bytes_of(&env, edited);
    assert_eq!(ed.len(), 1, "{ed:#?}");
    assert_eq!(ed[0].link_kind.as_deref(), Some("edited"));
    assert_eq!(ed[0].linked_to, Some(orig[0].id));
    assert_eq!(ed[0].remote_id, format!("{}#edited", orig[0].remote_id));
    assert!(ed[0].albums.contains(MATCHING_ALBUMS[0]), "{:?}", ed[0]);
    assert_eq!(on_disk[&edited.blake3].len(), 1);

    // nu-c: the live photo's video is one item too.
    let video = e
        .files
        .iter()
        .find(|f| f.key == "nu-c" && f.file_name == "IMG_1003.MP4")
        .unwrap();
    let v = items_with_bytes_of(&env, video);
    assert_eq!(v.len(), 1, "{v:#?}");
    assert_eq!(v[0].link_kind.as_deref(), Some("live"));
    assert!(v[0].albums.contains(MATCHING_ALBUMS[1]));

    // nu-d1/nu-d2: same title, time and size, different bytes (the zip CRC-32 tells): two
    // items, each in its own folder only.
    let d1 = year("nu-d1");
    let d2 = e.files.iter().find(|f| f.key == "nu-d2").unwrap();
    assert_eq!(d1.size, d2.size, "the case needs equal sizes");
    assert_ne!(d1.blake3, d2.blake3);
    let (r1, r2) = (items_with_bytes_of(&env, d1), items_with_bytes_of(&env, d2));
    assert_eq!((r1.len(), r2.len()), (1, 1));
    assert_ne!(r1[0].id, r2[0].id);
    assert!(!r1[0].albums.contains(MATCHING_ALBUMS[0]), "{:?}", r1[0]);
    assert!(r2[0].albums.contains(MATCHING_ALBUMS[0]), "{:?}", r2[0]);

    // nu-e1/nu-e2: two such photos in one folder are two items.
    let e1 = year("nu-e1");
    let e2 = year("nu-e2");
    assert_eq!(e2.file_name, "IMG_3000(1).jpg");
    let (r1, r2) = (items_with_bytes_of(&env, e1), items_with_bytes_of(&env, e2));
    assert_eq!((r1.len(), r2.len()), (1, 1));
    assert_ne!(r1[0].id, r2[0].id);

    // nu-f (no sidecar) and nu-g (no capture time): one item per folder, one file.
    for key in ["nu-f", "nu-g"] {
        let f = year(key);
        let rows = items_with_bytes_of(&env, f);
        assert_eq!(rows.len(), 2, "{key}: {rows:#?}");
        assert!(
            rows.iter()
                .all(|r| r.remote_id.starts_with("takeout-file:"))
        );
        assert_eq!(on_disk[&f.blake3].len(), 1, "{key} stored twice");
    }

    // The same export read again: the ids are stable, nothing new.
    let out = env.import_takeout(&parts, &["--reread"]);
    assert!(out.contains(" 0 new, 0 deduplicated, 0 updated"), "{out}");
    assert_eq!(items_with_bytes_of(&env, a).len(), 1);
}

#[test]
fn copies_without_url_meet_in_tar_and_folder_exports_too() {
    // Without CRC-32s (tgz, extracted folders) the identity is title + time + size alone.
    for format in [ArchiveFormat::Tgz, ArchiveFormat::Folder] {
        let env = Env::new();
        let spec = ExportSpec::new("20190901T000000Z")
            .format(format)
            .album(AlbumSpec::new("Lakes 2019"))
            .item(ItemSpec::new("a", "IMG_1.jpg").no_url().in_album(0))
            .item(ItemSpec::new("b", "IMG_2.jpg").no_url().in_album(0))
            .item(ItemSpec::new("c", "IMG_3.jpg").no_url());
        env.import_takeout(&write_parts(&spec, &env.dir.path().join("export")), &[]);
        let n: i64 = env
            .db()
            .query_row("SELECT count(*) FROM items", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 3, "{format:?}");
        let listed = list_json(&env);
        assert_eq!(listed.len(), 3);
        let in_album = listed
            .iter()
            .filter(|l| l["albums"] == serde_json::json!(["Lakes 2019"]))
            .count();
        assert_eq!(in_album, 2, "{format:?}: {listed:#?}");
    }
}

#[test]
fn edited_variants_with_suffixes_in_no_table_are_linked_and_reported() {
    let env = Env::new();
    let spec = matching_export(Lang::De, "20190901T000000Z");
    let e = spec.expected().unwrap();
    let parts = write_parts(&spec, &env.dir.path().join("export"));
    let out = env.import_takeout(&parts, &["--json"]);
    let summary: serde_json::Value = serde_json::from_str(&out).unwrap();
    let inferred: Vec<&str> = summary["inferred_edits"]
        .as_array()
        .unwrap_or_else(|| panic!("no inferred_edits in {summary}"))
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    // Six suffixes, the counter form, and ed-nu in its year folder and its album.
    assert_eq!(inferred.len(), 9, "{inferred:#?}");
    for s in INFERRED_SUFFIXES {
        assert!(
            inferred
                .iter()
                .any(|l| l.ends_with(&format!("{s}.jpg ({s})"))),
            "{s} not reported: {inferred:#?}"
        );
    }
    assert!(
        inferred
            .iter()
            .any(|l| l.ends_with("IMG_4100-upraveno(1).jpg (-upraveno)"))
    );

    for f in e
        .files
        .iter()
        .filter(|f| f.rule == "edited-variant-inferred")
    {
        let suffix = f.inferred_suffix.as_deref().unwrap();
        let rows = items_with_bytes_of(&env, f);
        assert_eq!(rows.len(), 1, "{}: {rows:#?}", f.path);
        let r = &rows[0];
        assert_eq!(r.link_kind.as_deref(), Some("edited"), "{}", f.path);
        let rule = r.rule.as_deref().unwrap();
        assert!(
            rule.starts_with(&format!("edited-variant-inferred({suffix}): ")),
            "{}: {rule}",
            f.path
        );
        // Linked to the item holding the original's bytes.
        let original_path = match &f.variant {
            ExpectedVariant::Edited { original } => original.clone().unwrap(),
            other => panic!("{}: {other:?}", f.path),
        };
        let orig = e.files.iter().find(|g| g.path == original_path).unwrap();
        let o = items_with_bytes_of(&env, orig);
        assert_eq!(r.linked_to, Some(o[0].id), "{}", f.path);
    }
    // ed-nu (no url, in its year folder and an album): one edited item in both.
    let ed4 = e
        .files
        .iter()
        .find(|f| f.file_name == "PXL_4004-szerkesztett.jpg")
        .unwrap();
    let r = items_with_bytes_of(&env, ed4);
    assert_eq!(r.len(), 1);
    assert!(r[0].albums.contains(MATCHING_ALBUMS[0]), "{:?}", r[0]);
    assert!(r[0].remote_id.ends_with("#edited"), "{:?}", r[0]);

    // Look-alikes stay items of their own.
    let year_of = |key: &str| {
        let f = e.files.iter().find(|f| f.key == key).unwrap();
        let ExpectedFolder::Year(y) = f.folder else {
            panic!()
        };
        format!("Fotos von {y}")
    };
    for (key, name, rule) in [
        ("fp-2", "IMG_5000-2.jpg", "legacy: "),
        ("fp-4", "Trip-beach.jpg", "legacy: "),
        ("fp-6", "IMG_5001-2.jpg", "none: "),
    ] {
        let f = expected_file(&e.files, name, &year_of(key));
        let rows = items_with_bytes_of(&env, f);
        assert_eq!(rows.len(), 1, "{name}");
        assert_eq!(rows[0].link_kind, None, "{name}: {:?}", rows[0]);
        assert!(
            rows[0].rule.as_deref().unwrap().starts_with(rule),
            "{name}: {:?}",
            rows[0].rule
        );
    }
}

#[test]
fn special_folders_are_no_albums_in_any_language() {
    for lang in [Lang::En, Lang::De, Lang::Fr, Lang::Ru] {
        let env = Env::new();
        let spec = matching_export(lang, "20190901T000000Z");
        let e = spec.expected().unwrap();
        let parts = write_parts(&spec, &env.dir.path().join("export"));
        let out = env.import_takeout(&parts, &["--include-trash", "--json"]);
        let summary: serde_json::Value = serde_json::from_str(&out).unwrap();
        let problems: Vec<&str> = summary["problems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap())
            .collect();

        // Albums: the two user albums and year folders, nothing else; folders on disk alike.
        let db = env.db();
        let albums: Vec<(String, String, String)> = {
            let mut st = db
                .prepare("SELECT title, remote_id, folder FROM albums")
                .unwrap();
            st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .unwrap()
                .map(Result::unwrap)
                .collect()
        };
        for (title, remote, _) in &albums {
            assert!(
                MATCHING_ALBUMS.contains(&title.as_str()) || remote.starts_with("year:"),
                "{lang:?}: album {title} ({remote})"
            );
        }
        let acct = env
            .repo
            .join("googlephotos")
            .join(common::account_folder(ACCOUNT));
        for d in std::fs::read_dir(&acct).unwrap() {
            let name = d.unwrap().file_name().to_string_lossy().into_owned();
            assert!(
                MATCHING_ALBUMS.contains(&name.as_str()) || name.starts_with("Photos from "),
                "{lang:?}: folder {name}"
            );
        }

        for (key, kind, archived, trashed) in [
            ("sp-fv", Some("Failed Videos folder"), false, false),
            ("sp-ar", None, true, false),
            ("sp-tr", None, false, true),
            ("sp-lk", Some("Locked Folder"), false, false),
        ] {
            let f = e.files.iter().find(|f| f.key == key).unwrap();
            let rows = items_with_bytes_of(&env, f);
            assert_eq!(rows.len(), 1, "{lang:?} {key}");
            let r = &rows[0];
            assert_eq!(
                (r.archived, r.trashed),
                (archived, trashed),
                "{lang:?} {key}"
            );
            // In the year folder of its capture time, and in nothing else.
            let year = format!(
                "Photos from {}",
                jiff::Timestamp::from_second(f.taken_at.unwrap())
                    .unwrap()
                    .to_zoned_datetime(jiff::tz::TimeZone::UTC)
                    .year()
            );
            assert_eq!(r.albums, BTreeSet::from([year.clone()]), "{lang:?} {key}");
            let path = r.path.as_deref().unwrap();
            assert!(
                path.contains(&format!("/{year}/")),
                "{lang:?} {key}: {path}"
            );
            if let Some(what) = kind {
                assert!(
                    problems
                        .iter()
                        .any(|p| p.contains(&f.path) && p.contains(what)),
                    "{lang:?} {key} not reported: {problems:#?}"
                );
            }
        }
    }
}

#[test]
fn list_json_tells_user_albums_from_year_folders() {
    let env = Env::new();
    let spec = matching_export(Lang::En, "20190901T000000Z")
        // An automatic album (a date as title) is an album too, of kind auto.
        .album(AlbumSpec::new("2019-06-08"))
        .item(ItemSpec::new("auto-1", "IMG_7001.jpg").in_album(2));
    let e = spec.expected().unwrap();
    env.import_takeout(&write_parts(&spec, &env.dir.path().join("export")), &[]);
    let listed = list_json(&env);
    let by_hash = |f: &ExpectedFile| -> &serde_json::Value {
        listed
            .iter()
            .find(|l| l["blake3"] == f.blake3.as_str())
            .unwrap_or_else(|| panic!("{} not listed", f.path))
    };
    let year = |key: &str| {
        e.files
            .iter()
            .find(|f| f.key == key && matches!(f.folder, ExpectedFolder::Year(_)))
            .unwrap()
    };

    let a = year("nu-a");
    let l = by_hash(a);
    assert_eq!(
        l["albums"],
        serde_json::json!(["Family", "Lakes 2019"]),
        "{l}"
    );
    assert_eq!(l["year_folder"], year_title(a).as_str(), "{l}");
    assert_eq!(
        l["folders"],
        serde_json::json!([
            {"title": "Family", "kind": "user"},
            {"title": "Lakes 2019", "kind": "user"},
            {"title": year_title(a), "kind": "year"},
        ]),
        "{l}"
    );
    // Only in its year folder: no album at all.
    let fp = year("fp-1");
    let l = by_hash(fp);
    assert_eq!(l["albums"], serde_json::json!([]), "{l}");
    assert_eq!(l["year_folder"], year_title(fp).as_str());
    // Only in an album (a shared album's item): no year folder.
    let d2 = e.files.iter().find(|f| f.key == "nu-d2").unwrap();
    let l = by_hash(d2);
    assert_eq!(l["albums"], serde_json::json!(["Lakes 2019"]), "{l}");
    assert_eq!(l["year_folder"], serde_json::Value::Null, "{l}");
    // Automatic albums are albums, of their own kind.
    let auto = year("auto-1");
    let l = by_hash(auto);
    assert_eq!(l["albums"], serde_json::json!(["2019-06-08"]), "{l}");
    assert!(
        l["folders"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!({"title": "2019-06-08", "kind": "auto"})),
        "{l}"
    );
    // A script can pick real albums only.
    let in_albums = listed
        .iter()
        .filter(|l| !l["albums"].as_array().unwrap().is_empty())
        .count();
    assert!(in_albums >= 6, "{in_albums}");
    // Everything has a year folder (archived items too) but the album-only item and the album
    // copies of nu-f (no sidecar) and nu-g (no capture time), which are items of their own.
    let without_year: BTreeSet<&str> = listed
        .iter()
        .filter(|l| l["year_folder"].is_null())
        .map(|l| l["filename"].as_str().unwrap())
        .collect();
    assert_eq!(
        without_year,
        BTreeSet::from(["IMG_2000.jpg", "SCAN_0001.jpg", "IMG_4999.jpg"]),
    );
}
