//! Takeout as a feed (issue 13): full and incremental exports merged into one repository. An
//! incremental export never makes anything gone; only a full export made after an item's last
//! sighting does, and prune names it. Every test runs the real binary on generated exports.

mod common;

use std::collections::BTreeSet;

use common::{Env, write_parts};
use photobak_testkit::takeout_gen::{
    ExportSpec, ItemSpec, incremental_export, newer_export, realistic_export,
};

const ACCOUNT: &str = common::TAKEOUT_ACCOUNT;

/// Every stored file: (path, size) from the index, each checked to exist on disk.
fn stored_files(env: &Env) -> BTreeSet<String> {
    let db = env.db();
    let mut st = db.prepare("SELECT path, size FROM content").unwrap();
    let rows: Vec<(String, i64)> = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for (p, size) in &rows {
        let m = std::fs::metadata(env.repo.join(p)).unwrap_or_else(|e| panic!("{p}: {e}"));
        assert_eq!(m.len() as i64, *size, "{p}");
    }
    rows.into_iter().map(|(p, _)| p).collect()
}

fn items(env: &Env) -> i64 {
    env.db()
        .query_row("SELECT count(*) FROM items", [], |r| r.get(0))
        .unwrap()
}

/// The prune plan as JSON (dry run: nothing changes).
fn plan(env: &Env) -> serde_json::Value {
    // A refused plan exits 1 and still prints itself.
    let out = env.run(&["prune", "--dry-run", "--json"]);
    let out = String::from_utf8_lossy(&out.stdout).into_owned();
    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    v.get("plan").cloned().unwrap_or(v)
}

fn planned_removals(plan: &serde_json::Value) -> Vec<(String, String)> {
    plan["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|a| a["items_removed"].as_array().unwrap().clone())
        .map(|i| {
            (
                i["filename"].as_str().unwrap().to_string(),
                i["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn kind_of(env: &Env, export_id: &str) -> (String, String) {
    env.db()
        .query_row(
            "SELECT kind, kind_by FROM takeout_exports WHERE export_id = ?1",
            [export_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
}

#[test]
fn incremental_exports_never_make_anything_gone_and_a_later_full_export_does_exactly() {
    let env = Env::new();
    let full = realistic_export(21);
    let parts = write_parts(&full, &env.dir.path().join("full"));
    let out = env.import_takeout(&parts, &["--full"]);
    assert!(out.contains("full export: full by your word"), "{out}");
    let files_after_full = stored_files(&env);
    let items_after_full = items(&env);

    // Two scheduled exports: each holds only what was added or edited since.
    // What was stored before each incremental (its edited original may be new in the one
    // before it).
    let mut files_before = files_after_full.clone();
    let (inc1, d1) = incremental_export(&full, 31);
    let (inc2, d2) = incremental_export(&inc1, 32);
    for (spec, diff, dir) in [(&inc1, &d1, "inc1"), (&inc2, &d2, "inc2")] {
        let out = env.import_takeout(&write_parts(spec, &env.dir.path().join(dir)), &[]);
        assert!(
            out.contains("incremental export: items it lacks are kept"),
            "{out}"
        );
        assert!(
            !out.contains("prune"),
            "import must not suggest prune: {out}"
        );
        // The new items, and the edited variant of the edited one.
        let new = diff.added.len() + diff.edited_added.len();
        assert!(out.contains(&format!("{new} new")), "{out}");
        assert_eq!(kind_of(&env, &spec.export_id()).0, "incremental");
        // Every file stored before is still there, byte for byte in size; nothing planned.
        let now = stored_files(&env);
        assert!(files_after_full.is_subset(&now), "a file disappeared");
        assert!(files_before.is_subset(&now), "a file disappeared");
        files_before = now;
        let p = plan(&env);
        assert!(planned_removals(&p).is_empty(), "{p:#}");
        assert!(
            p["accounts"][0]["albums_removed"]
                .as_array()
                .unwrap()
                .is_empty()
        );
    }
    let out = env.ok(&["prune", "--dry-run"]);
    assert!(out.contains("nothing to prune"), "{out}");
    assert!(
        out.contains(&format!(
            "Takeout evidence: full export {}",
            full.export_id()
        )),
        "{out}"
    );
    // 3 new items per incremental, plus the edited variant of one item in each.
    assert_eq!(items(&env), items_after_full + 3 + 1 + 3 + 1);

    // The edited items (one per incremental): each original kept (same file, found by the
    // description the incremental gave it), its edited variant a linked item of its own.
    assert_eq!(d1.edited_added.len() + d2.edited_added.len(), 2);
    let originals: Vec<(i64, String)> = {
        let db = env.db();
        let mut st = db
            .prepare(
                "SELECT i.id, c.path FROM items i JOIN content c ON c.id = i.content_id
                 WHERE i.description LIKE '%(retouched)' AND i.link_kind IS NULL",
            )
            .unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    assert_eq!(originals.len(), 2, "{originals:?}");
    for (orig_id, orig_path) in &originals {
        // Stored before the incremental that edited it, and still there (it is in the final
        // set, which holds every file stored so far).
        assert!(files_before.contains(orig_path), "{orig_path}");
        let variants: i64 = env
            .db()
            .query_row(
                "SELECT count(*) FROM items WHERE linked_to = ?1 AND link_kind = 'edited'
                 AND content_id IS NOT NULL",
                [orig_id],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(variants, 1, "{orig_path}");
    }

    let status = env.ok(&["status"]);
    assert!(
        status.contains(&format!("last full export: {}", full.export_id())),
        "{status}"
    );
    assert!(
        status.contains(&format!(
            "incremental exports since: 2 ({}, {})",
            inc1.export_id(),
            inc2.export_id()
        )),
        "{status}"
    );
    assert!(
        status.contains("prune would take 0 items for gone"),
        "{status}"
    );

    // A later full export, made after both incrementals, lacks two items of the library: prune
    // plans exactly those two and names the export.
    let (mut full2, d3) = newer_export(&full, 33);
    full2.timestamp = "20260301T101010Z".into();
    for (spec, diff) in [(&inc1, &d1), (&inc2, &d2)] {
        for it in &spec.items {
            if diff.added.contains(&it.key) {
                full2.items.push(it.clone());
            } else if let Some(slot) = full2.items.iter_mut().find(|x| x.key == it.key) {
                slot.edited.clone_from(&it.edited);
                slot.description.clone_from(&it.description);
                slot.favorite |= it.favorite;
            }
        }
    }
    full2.items.retain(|i| !d3.removed.contains(&i.key));
    let out = env.import_takeout(
        &write_parts(&full2, &env.dir.path().join("full2")),
        &["--full"],
    );
    assert!(
        out.contains("2 previously imported items are absent from this full export"),
        "{out}"
    );
    let p = plan(&env);
    let removed = planned_removals(&p);
    let expect: BTreeSet<String> = d3
        .removed
        .iter()
        .map(|k| {
            full.items
                .iter()
                .find(|i| &i.key == k)
                .unwrap()
                .title
                .clone()
        })
        .collect();
    let got: BTreeSet<String> = removed.iter().map(|(f, _)| f.clone()).collect();
    assert_eq!(got, expect, "{p:#}");
    for (_, why) in &removed {
        assert!(
            why.contains(&format!("absent from full export {}", full2.export_id())),
            "{why}"
        );
        assert!(why.contains(&full.export_id()), "{why}");
    }
    let out = env.ok(&["prune", "--dry-run"]);
    assert!(
        out.contains(&format!(
            "Takeout evidence: full export {}",
            full2.export_id()
        )),
        "{out}"
    );
    let status = env.ok(&["status"]);
    assert!(
        status.contains("prune would take 2 items for gone"),
        "{status}"
    );
}

/// `n` small photos with sidecars, keys `k0…`.
fn library(n: usize) -> Vec<ItemSpec> {
    (0..n)
        .map(|i| ItemSpec::new(&format!("k{i}"), &format!("IMG_{i:04}.jpg")))
        .collect()
}

fn spec(ts: &str, items: &[ItemSpec]) -> ExportSpec {
    let mut s = ExportSpec::new(ts).account(ACCOUNT);
    s.items = items.to_vec();
    s
}

#[test]
fn the_kind_of_an_export_is_inferred_conservatively_and_can_be_marked() {
    let env = Env::new();
    let lib = library(120);
    // A first export, nothing said: incremental, with the way to say otherwise.
    let first = spec("20260101T000000Z", &lib);
    let out = env.import_takeout(&write_parts(&first, &env.dir.path().join("a")), &[]);
    assert!(
        out.contains("nothing imported before it to compare with"),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "photobak exports mark {} --full",
            first.export_id()
        )),
        "{out}"
    );
    assert_eq!(
        kind_of(&env, &first.export_id()),
        ("incremental".into(), "photobak".into())
    );
    let status = env.ok(&["status"]);
    assert!(status.contains("last full export: none"), "{status}");

    // The user marks it.
    let out = env.ok(&["exports", "mark", &first.export_id(), "--full"]);
    assert!(out.contains("is now full"), "{out}");
    assert_eq!(
        kind_of(&env, &first.export_id()),
        ("full".into(), "user".into())
    );
    // Importing it again keeps the user's word.
    env.import_takeout(&write_parts(&first, &env.dir.path().join("a2")), &[]);
    assert_eq!(kind_of(&env, &first.export_id()).1, "user");

    // Two months later: 118 of the 120 items and 5 new ones. Nearly everything: full.
    let mut second_items: Vec<ItemSpec> = lib[2..].to_vec();
    second_items.extend((0..5).map(|i| ItemSpec::new(&format!("n{i}"), &format!("PXL_{i}.jpg"))));
    let second = spec("20260301T000000Z", &second_items);
    let out = env.import_takeout(&write_parts(&second, &env.dir.path().join("b")), &[]);
    assert!(
        out.contains("full export: holds 118 of the 120 items seen since the previous full export"),
        "{out}"
    );
    assert!(
        out.contains("2 previously imported items are absent from this full export"),
        "{out}"
    );
    let removed: BTreeSet<String> = planned_removals(&plan(&env))
        .into_iter()
        .map(|(f, _)| f)
        .collect();
    assert_eq!(
        removed,
        BTreeSet::from(["IMG_0000.jpg".to_string(), "IMG_0001.jpg".to_string()])
    );

    // A delta: 3 new items and one that was edited. Incremental, nothing more is gone.
    let mut delta_items = vec![second_items[10].clone()];
    delta_items.extend((0..3).map(|i| ItemSpec::new(&format!("d{i}"), &format!("DSC_{i}.jpg"))));
    let delta = spec("20260501T000000Z", &delta_items);
    let out = env.import_takeout(&write_parts(&delta, &env.dir.path().join("c")), &[]);
    assert!(
        out.contains("incremental export: items it lacks are kept"),
        "{out}"
    );
    assert!(out.contains("holds 1 of the"), "{out}");
    assert_eq!(planned_removals(&plan(&env)).len(), 2);

    // The user claims a small export is full: it is recorded so, with a warning naming what
    // prune would then do and how to take it back.
    let small = spec("20260601T000000Z", &lib[50..60]);
    let out = env.import_takeout(&write_parts(&small, &env.dir.path().join("d")), &["--full"]);
    assert!(out.contains("warning: you said"), "{out}");
    assert!(
        out.contains(&format!(
            "photobak exports mark {} --incremental",
            small.export_id()
        )),
        "{out}"
    );
    // max-delete still stands between that claim and the library.
    let p = plan(&env);
    assert!(planned_removals(&p).len() > 100);
    assert!(
        p["refused"].as_str().unwrap_or("").contains("--max-delete"),
        "{p:#}"
    );
    // Taken back: the evidence is the March export again.
    env.ok(&["exports", "mark", &small.export_id(), "--incremental"]);
    assert_eq!(planned_removals(&plan(&env)).len(), 2);
    let out = env.ok(&["exports", "list"]);
    assert!(
        out.contains(&format!("last full export: {}", second.export_id())),
        "{out}"
    );
    assert!(out.contains("incremental by user"), "{out}");

    // Marking an export that was never imported is a clear error.
    let out = env
        .cmd()
        .args(["exports", "mark", "takeout-20990101T000000Z", "--full"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no export takeout-20990101T000000Z was imported"),
        "{err}"
    );
}

#[test]
fn an_item_seen_by_another_source_after_a_full_export_is_not_gone() {
    // The item's last sighting counts, whoever saw it: an old export imported after a newer
    // full export makes only what the full export lacks gone.
    let env = Env::new();
    let lib = library(60);
    let newer = spec("20260401T000000Z", &lib[..59]);
    env.import_takeout(&write_parts(&newer, &env.dir.path().join("n")), &["--full"]);
    // An older export that still had item 59 (and everything else).
    let older = spec("20260101T000000Z", &lib);
    let out = env.import_takeout(&write_parts(&older, &env.dir.path().join("o")), &[]);
    assert!(!out.contains("prune"), "{out}");
    let removed = planned_removals(&plan(&env));
    assert_eq!(removed.len(), 1, "{removed:?}");
    assert_eq!(removed[0].0, "IMG_0059.jpg");
    assert!(
        removed[0]
            .1
            .contains("last seen in takeout-20260101T000000Z"),
        "{removed:?}"
    );
    // Items of the newer export keep their newer sighting: importing the older one again
    // changes nothing.
    env.import_takeout(&write_parts(&older, &env.dir.path().join("o2")), &[]);
    assert_eq!(planned_removals(&plan(&env)).len(), 1);
}

#[test]
fn an_index_from_before_export_kinds_migrates_safely() {
    let env = Env::new();
    // Imported as an earlier photobak would have: a 2025 export, then a 2026 delta.
    let lib = library(40);
    let old = spec("20250901T000000Z", &lib);
    env.import_takeout(&write_parts(&old, &env.dir.path().join("o")), &[]);
    let delta = spec(
        "20260801T000000Z",
        &[ItemSpec::new("z1", "PXL_new.jpg"), lib[3].clone()],
    );
    env.import_takeout(&write_parts(&delta, &env.dir.path().join("d")), &[]);
    // Turn the index back into schema 2: what version 3 added goes, as if never there.
    {
        let db = env.db();
        for col in [
            "kind",
            "kind_by",
            "kind_reason",
            "exported_at",
            "item_count",
        ] {
            db.execute_batch(&format!("ALTER TABLE takeout_exports DROP COLUMN {col}"))
                .unwrap();
        }
        // Versions 6 and 5's additions go first, then version 4's, then version 3's.
        db.execute_batch(
            "DROP INDEX items_name_nocase;
             DROP INDEX items_name_time;
             DROP TABLE takeout_parts;
             DROP TABLE picker_sessions;
             ALTER TABLE accounts DROP COLUMN drive_credentials;
             DROP INDEX content_path_key;
             ALTER TABLE content DROP COLUMN path_key;
             UPDATE albums SET kind = 'auto' WHERE kind = 'year';",
        )
        .unwrap();
        db.pragma_update(None, "user_version", 2).unwrap();
    }
    // The upgrade: the 2025 export was full (Google made no incremental exports then); the
    // 2026 one is of unknown kind, so nothing is gone on its word.
    let out = env.ok(&["exports", "list"]);
    assert!(
        out.contains("takeout-20250901T000000Z full: made 2025-09-01T00:00:00Z"),
        "{out}"
    );
    assert!(
        out.contains("made before Google offered incremental exports"),
        "{out}"
    );
    assert!(out.contains("takeout-20260801T000000Z unknown"), "{out}");
    assert!(
        out.contains("if it was full: photobak exports mark takeout-20260801T000000Z --full"),
        "{out}"
    );
    let v: i64 = env
        .db()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, 7, "migrated to the current schema");
    // Every stored file got its portable name key on the way.
    let unkeyed: i64 = env
        .db()
        .query_row(
            "SELECT count(*) FROM content WHERE path_key IS NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(unkeyed, 0);
    assert!(planned_removals(&plan(&env)).is_empty());
    let out = env.ok(&["prune", "--dry-run"]);
    assert!(
        out.contains("Takeout evidence: full export takeout-20250901T000000Z"),
        "{out}"
    );
    // Marked full by mistake, the delta would make 39 items gone: max-delete refuses.
    env.ok(&["exports", "mark", "takeout-20260801T000000Z", "--full"]);
    let p = plan(&env);
    assert_eq!(planned_removals(&p).len(), 39);
    assert!(p["refused"].is_string(), "{p:#}");
}
