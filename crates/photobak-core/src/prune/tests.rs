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
    assert_eq!(ap.albums_removed[0].reason, "every item it held is gone");
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

/// A Library album the listing no longer has: a file at home in it moves to another album of
/// an item that stays, although that item loses no other membership and nothing is gone (the
/// plan finds the file by its home, not by its users); a stored item left in no album joins
/// its year folder, as does one the listing lost from its only album; an item and a file
/// nothing touches are not in the plan.
#[test]
fn a_removed_library_album_moves_its_files_and_frees_its_items() {
    use crate::kinds::{AlbumKind, Source as Kind};
    use crate::source::library::ListedAlbum;
    use crate::source::{Completeness, Holdings, Listed};
    use std::collections::{BTreeMap, BTreeSet};

    let t = tempfile::tempdir().unwrap();
    let repo = Repo::open(t.path()).unwrap();
    let acc = repo.ensure_account("l@example.com").unwrap();
    let album = |remote: &str, title: &str| {
        repo.index
            .upsert_album(
                &acc,
                &AlbumSpec {
                    remote_id: remote,
                    source: Kind::Library,
                    title,
                    description: None,
                    kind: AlbumKind::User,
                    raw_json: None,
                },
                None,
                |_| format!("{}/{title}", acc.folder),
            )
            .unwrap()
    };
    let gone_album = album("A1", "Gone album");
    let stays = album("A2", "Stays");
    let run = repo.index.begin_run("backup", Some(acc.id)).unwrap();
    let item = |remote: &str| {
        let meta = ItemMeta {
            filename: format!("{remote}.jpg"),
            taken_at: Some(1_600_000_000),
            ..Default::default()
        };
        let i = repo
            .index
            .upsert_item(acc.id, remote, &meta, run, Kind::Library, None);
        i.unwrap().id
    };
    let (x, y, z, w) = (item("x"), item("y"), item("z"), item("w"));
    for (a, i) in [(gone_album.id, x), (stays.id, x), (gone_album.id, y)] {
        repo.index.add_membership(a, i).unwrap();
    }
    for (a, i) in [(stays.id, z), (stays.id, w)] {
        repo.index.add_membership(a, i).unwrap();
    }
    let fx = store(&repo, x, &gone_album.folder, "x.jpg", b"xxx");
    repo.index.test_set_home(fx, gone_album.id);
    let fy = store(&repo, y, &gone_album.folder, "y.jpg", b"yyy");
    repo.index.test_set_home(fy, gone_album.id);
    let fz = store(&repo, z, &stays.folder, "z.jpg", b"zzz");
    repo.index.test_set_home(fz, stays.id);
    let fw = store(&repo, w, &stays.folder, "w.jpg", b"www");
    repo.index.test_set_home(fw, stays.id);

    let ids = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    let listed = ListedAlbum {
        title: "Stays".into(),
        announced: 2,
        items: ids(&["x", "w"]),
    };
    let listings = vec![AccountListing {
        account: Some(acc.clone()),
        holdings: vec![Holdings {
            source: Kind::Library,
            completeness: Completeness::Full,
            listed: Listed::RemoteIds(ids(&["x", "y", "z", "w"])),
            albums: Some(BTreeMap::from([("A2".to_string(), listed)])),
            problems: vec![],
            evidence: None,
        }],
        ..Default::default()
    }];
    let p = plan(&repo, &listings, &PruneOptions::default()).unwrap();
    assert!(p.refused.is_none(), "{p:?}");
    let ap = &p.accounts[0];
    assert_eq!(ap.items_total, 4);
    assert!(ap.items_removed.is_empty(), "{ap:?}");
    let removed: Vec<i64> = ap.albums_removed.iter().map(|a| a.id).collect();
    assert_eq!(removed, vec![gone_album.id]);
    let lost: Vec<(i64, i64)> = ap
        .memberships_removed
        .iter()
        .map(|m| (m.album_id, m.item_id))
        .collect();
    assert_eq!(lost, vec![(stays.id, z)]);
    assert_eq!(ap.items_to_year_folder, vec![y, z]);
    assert!(p.files_removed.is_empty(), "{p:?}");
    let moves: Vec<(i64, Option<i64>, Option<i64>)> = p
        .moves
        .iter()
        .map(|m| (m.content_id, m.to_album, m.year_item))
        .collect();
    // z left its only album, so its file follows it to its year folder; w's is untouched.
    assert_eq!(
        moves,
        vec![
            (fx, Some(stays.id), None),
            (fy, None, Some(y)),
            (fz, None, Some(z))
        ],
        "{p:?}"
    );
}
