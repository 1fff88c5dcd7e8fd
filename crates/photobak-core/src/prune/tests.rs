//! Prune plans and their execution on fabricated repositories.

use std::fs;

use super::plan::trash_dir;
use super::*;
use crate::index::{AlbumSpec, ItemMeta};

#[test]
fn max_delete_parses_counts_and_percentages() {
    assert_eq!("50".parse::<MaxDelete>().unwrap(), MaxDelete::Count(50));
    assert_eq!(
        "25%".parse::<MaxDelete>().unwrap(),
        MaxDelete::Percent(25.0)
    );
    assert!("150%".parse::<MaxDelete>().is_err());
    assert!("many".parse::<MaxDelete>().is_err());
    assert!(MaxDelete::Percent(10.0).exceeded(2, 10));
    assert!(!MaxDelete::Percent(10.0).exceeded(1, 10));
    assert!(MaxDelete::Count(3).exceeded(4, 1000));
}

fn store(repo: &Repo, item_id: i64, album_folder: &str, name: &str, bytes: &[u8]) -> i64 {
    let rel = format!("{album_folder}/{name}");
    let abs = repo.abs(&rel);
    fs::create_dir_all(abs.parent().unwrap()).unwrap();
    fs::write(&abs, bytes).unwrap();
    repo.index.test_content(&rel, bytes, None, Some(item_id))
}

/// Takeout-only items absent from the newest export are gone; items in it, or also known
/// to another source, stay; a file shared with a surviving item moves instead of going.
#[test]
fn takeout_items_missing_from_the_newest_export_are_pruned() {
    let t = tempfile::tempdir().unwrap();
    let repo = Repo::open(t.path()).unwrap();
    let acc = repo.ensure_account("t@example.com").unwrap();
    let folder = |title: &str| format!("{}/{title}", acc.folder);
    let album = |title: &str| {
        repo.index
            .upsert_album(
                &acc,
                &AlbumSpec {
                    remote_id: &format!("takeout:{title}"),
                    source: crate::kinds::Source::Takeout,
                    title,
                    description: None,
                    kind: crate::kinds::AlbumKind::User,
                    raw_json: None,
                },
                None,
                |_| folder(title),
            )
            .unwrap()
    };
    let old_trip = album("Old trip");
    let kept = album("Kept");
    let run = repo.index.begin_run("import", Some(acc.id)).unwrap();
    let item = |remote: &str, export: &str| {
        repo.index
            .upsert_item(
                acc.id,
                remote,
                &ItemMeta {
                    filename: format!("{remote}.jpg"),
                    ..Default::default()
                },
                run,
                crate::kinds::Source::Takeout,
                Some(export),
            )
            .unwrap()
            .id
    };
    let old = "takeout-20240101T000000Z";
    let new = "takeout-20250101T000000Z";
    let a = item("a", old); // only in the old export: gone
    let b = item("b", new); // in the newest: stays
    let c = item("c", old); // same bytes as d, in the old album: file moves
    let d = item("d", new);
    repo.index.add_membership(old_trip.id, a).unwrap();
    repo.index.add_membership(old_trip.id, c).unwrap();
    repo.index.add_membership(kept.id, b).unwrap();
    repo.index.add_membership(kept.id, d).unwrap();
    store(&repo, a, &old_trip.folder, "a.jpg", b"aaa");
    store(&repo, b, &kept.folder, "b.jpg", b"bbb");
    let shared = store(&repo, c, &old_trip.folder, "c.jpg", b"ccc");
    repo.index.set_item_content(d, shared).unwrap();
    repo.index.test_set_home(shared, old_trip.id);
    repo.refresh_others(kept.id, &kept.folder).unwrap();
    // Both were full exports: only a full export's absences count.
    for e in [old, new] {
        let id = crate::exports::ExportId::new(e);
        repo.index.begin_export(acc.id, &id, 2).unwrap();
        let full = crate::exports::stated_kind(crate::exports::ExportKind::Full, "test");
        repo.index.finish_export(acc.id, &id, &full, 2, 0).unwrap();
    }
    assert_eq!(newest_export(&repo, acc.id).unwrap().as_deref(), Some(new));

    let listings = vec![AccountListing {
        account: Some(acc.clone()),
        holdings: vec![crate::source::takeout::holdings(&repo.index, &acc).unwrap()],
        ..Default::default()
    }];
    let opts = PruneOptions::default();
    let p = plan(&repo, &listings, &opts).unwrap();
    let ap = &p.accounts[0];
    let removed: Vec<&str> = ap
        .items_removed
        .iter()
        .map(|i| i.remote_id.as_str())
        .collect();
    assert_eq!(removed, vec!["a", "c"]);
    assert!(p.refused.is_some(), "2 of 4 is over 10%");
    assert_eq!(ap.albums_removed.len(), 1);
    assert_eq!(p.files_removed.len(), 1);
    assert_eq!(p.moves.len(), 1);
    assert_eq!(p.moves[0].to_folder, kept.folder);

    let p = plan(
        &repo,
        &listings,
        &PruneOptions {
            force: true,
            ..opts
        },
    )
    .unwrap();
    let out = execute(&repo, &p).unwrap();
    assert_eq!(out.items_removed, 2);
    assert_eq!(out.files_moved, 1);
    assert_eq!(out.files_trashed, 1);
    assert_eq!(out.folders_removed, vec![old_trip.folder.clone()]);
    assert!(!repo.abs(&old_trip.folder).exists());
    let moved = repo.index.content(shared).unwrap().unwrap();
    assert_eq!(moved.path, format!("{}/c.jpg", kept.folder));
    assert_eq!(fs::read(repo.abs(&moved.path)).unwrap(), b"ccc");
    assert!(!repo.abs(&format!("{}/others.txt", kept.folder)).exists());
    let trashed = fs::read_dir(trash_dir(&repo)).unwrap().count();
    assert_eq!(trashed, 1);
    let manifest = fs::read_to_string(t.path().join("photobak.b3")).unwrap();
    assert_eq!(manifest.lines().count(), 2);
    // A second prune has nothing to do.
    let p = plan(&repo, &listings, &PruneOptions::default()).unwrap();
    assert!(p.is_empty() && p.refused.is_none(), "{p:?}");
}
