//! The one ingest path. Every source (Library API, Picker, Takeout) ends here with a staged,
//! hashed, fsynced temporary file and the index row of the item it belongs to.
//!
//! Rules, in order:
//! - bytes already stored for this item: nothing to do (or restore the file if it was damaged);
//! - bytes already stored for another item (any album, account or source): point at that file,
//!   store nothing (the album gets an `others.txt` line);
//! - new bytes for an item that had a file of its own: replace that file atomically in place;
//! - new bytes for an item whose file is shared: the item gets a file of its own (copy-on-write),
//!   so an update to one item never changes another's bytes;
//! - otherwise a new file in the item's best album folder (user albums before automatic ones,
//!   then the year folder), with the reason recorded.
//!
//! A file that no item uses any more goes to the repository's trash, not to oblivion.

use crate::error::Result;
use crate::index::{Account, Album, AlbumSpec, NewContent};
use crate::kinds::{AlbumKind, Source, YearFolder};
use crate::meta::{FileMeta, read_file_meta};
use crate::repo::Repo;
use crate::repo::naming::{numbered_folder, sanitize};
use crate::repo::store::{Staged, hash_file};

/// What an item's bytes are and where they belong.
#[derive(Debug, Clone)]
pub struct IngestRequest<'a> {
    /// The owning account.
    pub account: &'a Account,
    /// Index row of the item.
    pub item_id: i64,
    /// File name to use when a new file is created.
    pub filename: &'a str,
    /// Capture time, for the year folder of items in no album.
    pub taken_at: Option<i64>,
}

/// What ingesting did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    /// A new file.
    New(String),
    /// Same bytes as a file already stored; linked to it.
    Linked(String),
    /// The item already had exactly these bytes.
    Unchanged(String),
    /// The item's own file was damaged or missing and was restored.
    Repaired(String),
    /// The item's own file was replaced by new bytes.
    Replaced(String),
    /// The item's file was shared; the new bytes got a file of their own.
    Forked(String),
}

impl Stored {
    /// Repository-relative path of the item's file.
    pub fn path(&self) -> &str {
        match self {
            Stored::New(p)
            | Stored::Linked(p)
            | Stored::Unchanged(p)
            | Stored::Repaired(p)
            | Stored::Replaced(p)
            | Stored::Forked(p) => p,
        }
    }
}

pub use crate::kinds::UNDATED_FOLDER;

/// Stores an item's bytes following the module's rules. Blocking (file system and SQLite).
///
/// # Errors
/// File system or index failures; the staged file is removed and nothing recorded is changed.
pub fn ingest(repo: &Repo, req: &IngestRequest<'_>, mut staged: Staged) -> Result<Stored> {
    let _serial = repo.ingest_lock.lock().unwrap_or_else(|p| p.into_inner());
    // Every stored item appears in at least one folder: its albums, or its year folder.
    let albums = albums_or_year_folder(repo, req)?;
    let current = repo.index.item_content(req.item_id)?;

    if let Some(cur) = &current
        && cur.blake3 == staged.hash
    {
        let abs = repo.abs(&cur.path);
        let healthy = hash_file(&abs)
            .map(|(h, _)| h == cur.blake3)
            .unwrap_or(false);
        if healthy {
            return Ok(Stored::Unchanged(cur.path.clone()));
        }
        repo.replace(staged, &cur.path)?;
        repo.index.mark_verified(cur.id)?;
        return Ok(Stored::Repaired(cur.path.clone()));
    }

    if let Some(existing) = repo.index.content_by_hash(&staged.hash)? {
        // The same bytes are stored already. If that file went missing or lost bytes, these
        // bytes (which hash to the recorded value) restore it.
        let whole = std::fs::metadata(repo.abs(&existing.path))
            .is_ok_and(|m| m.len() as i64 == existing.size);
        if whole {
            drop(staged);
        } else {
            repo.replace(staged, &existing.path)?;
            repo.index.mark_verified(existing.id)?;
        }
        repo.index.set_item_content(req.item_id, existing.id)?;
        if let Some(old) = current {
            release_if_unused(repo, old.id)?;
        }
        return Ok(Stored::Linked(existing.path));
    }

    if let Some(old) = current {
        if repo.index.content_users(old.id)? == 1 {
            let size = staged.size as i64;
            let hash = staged.hash;
            let ahead = staged.take_meta();
            repo.replace(staged, &old.path)?;
            repo.index.replace_content_bytes(old.id, &hash, size)?;
            record_file_meta(repo, old.id, &old.path, ahead)?;
            return Ok(Stored::Replaced(old.path));
        }
        let path = store_new(repo, req, &albums, staged)?;
        return Ok(Stored::Forked(path));
    }

    let path = store_new(repo, req, &albums, staged)?;
    Ok(Stored::New(path))
}

fn store_new(
    repo: &Repo,
    req: &IngestRequest<'_>,
    albums: &[Album],
    mut staged: Staged,
) -> Result<String> {
    let ahead = staged.take_meta();
    let (home, reason) = home_album(albums);
    let name = sanitize(req.filename, "item");
    let hash = staged.hash;
    let size = staged.size as i64;
    let rank = name_rank(repo, home.id, req.item_id, req.filename)?;
    let path = repo.place_new(staged, &home.folder, &name, rank)?;
    let content_id = repo.index.add_item_content(
        req.item_id,
        &NewContent {
            hash,
            size,
            path: &path,
            home_album_id: home.id,
            home_reason: &reason,
        },
    )?;
    record_file_meta(repo, content_id, &path, ahead)?;
    Ok(path)
}

/// The item's place among the album's items of the same file name, by the order the index
/// first recorded them (listing order for the API, sorted archive order for Takeout).
fn name_rank(repo: &Repo, album_id: i64, item_id: i64, filename: &str) -> Result<u32> {
    let before = repo.index.same_name_before(album_id, item_id, filename)?;
    Ok(u32::try_from(before).unwrap_or(u32::MAX - 1) + 1)
}

/// The item's albums, best home first; an item in no album gets its year folder.
fn albums_or_year_folder(repo: &Repo, req: &IngestRequest<'_>) -> Result<Vec<Album>> {
    let albums = repo.index.item_albums(req.item_id)?;
    if !albums.is_empty() {
        return Ok(albums);
    }
    let album = ensure_year_album(repo, req.account, req.taken_at)?;
    repo.index.add_membership(album.id, req.item_id)?;
    Ok(vec![album])
}

/// The album whose folder should hold a new file for the item, and why.
fn home_album(albums: &[Album]) -> (Album, String) {
    let first = &albums[0];
    let reason = if first.kind == AlbumKind::Year {
        "in no album; year folder of its capture time".to_string()
    } else if !first.kind.is_user() {
        "in no user album; automatic album".to_string()
    } else if albums.len() > 1 {
        format!(
            "first of {} albums holding it (user albums before automatic ones)",
            albums.len()
        )
    } else {
        "its only album".to_string()
    };
    (first.clone(), reason)
}

/// The `Photos from YYYY` album (the folder Takeout uses too) of a capture time, or `Undated`.
pub fn ensure_year_album(repo: &Repo, account: &Account, taken_at: Option<i64>) -> Result<Album> {
    ensure_year_folder(repo, account, YearFolder::of_time(taken_at).0)
}

/// The `Photos from YYYY` album of a year, or `Undated` without one.
pub fn ensure_year_folder(repo: &Repo, account: &Account, year: Option<i32>) -> Result<Album> {
    let folder = YearFolder(year);
    let (remote, title) = (folder.remote_id(), folder.title());
    repo.index.upsert_album(
        account,
        &AlbumSpec {
            remote_id: &remote,
            source: Source::Derived,
            title: &title,
            description: None,
            kind: AlbumKind::Year,
            raw_json: None,
        },
        None,
        |n| format!("{}/{}", account.folder, numbered_folder(&title, n)),
    )
}

/// Folder proposal for an album title: `<account>/<sanitised title>`, numbered on collision.
pub fn album_folder(account: &Account, title: &str, n: u32) -> String {
    format!(
        "{}/{}",
        account.folder,
        numbered_folder(&sanitize(title, "Untitled"), n)
    )
}

/// Finishes what a crash may have left half-done: stored files that no item uses any more (a
/// run killed between relinking an item and releasing its old file) go to the trash and are
/// forgotten. Called at the start of every run that stores. Returns how many were released.
pub fn release_unused_content(repo: &Repo) -> Result<u64> {
    let _serial = repo.ingest_lock.lock().unwrap_or_else(|p| p.into_inner());
    let unused = repo.index.unused_contents()?;
    for id in &unused {
        release_if_unused(repo, *id)?;
    }
    Ok(unused.len() as u64)
}

/// Moves a file no item uses any more to the trash and forgets it.
fn release_if_unused(repo: &Repo, content_id: i64) -> Result<()> {
    if repo.index.content_users(content_id)? > 0 {
        return Ok(());
    }
    if let Some(c) = repo.index.content(content_id)? {
        if repo.abs(&c.path).exists() {
            repo.move_to_trash(&c.path)?;
        }
        repo.index.delete_content(content_id)?;
    }
    Ok(())
}

/// Records what the file says about itself: as read ahead when its bytes were staged
/// ([`Staged::read_meta`]), or read from the placed file now.
fn record_file_meta(
    repo: &Repo,
    content_id: i64,
    path: &str,
    ahead: Option<Result<FileMeta, String>>,
) -> Result<()> {
    let meta = ahead.unwrap_or_else(|| read_file_meta(&repo.abs(path)));
    repo.index.set_file_meta(content_id, &meta)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn staged(repo: &Repo, bytes: &[u8]) -> Staged {
        let mut w = repo.stage().unwrap();
        w.write(bytes).unwrap();
        w.finish().unwrap()
    }

    fn item(repo: &Repo, account: &Account, remote: &str) -> i64 {
        let meta = crate::index::ItemMeta {
            filename: format!("{remote}.jpg"),
            taken_at: Some(1_600_000_000),
            ..Default::default()
        };
        let run = repo.index.begin_run("test", Some(account.id)).unwrap();
        repo.index
            .upsert_item(
                account.id,
                remote,
                &meta,
                run,
                crate::kinds::Source::Library,
                None,
            )
            .unwrap()
            .id
    }

    #[test]
    fn the_store_rules_in_order() {
        let t = tempfile::tempdir().unwrap();
        let repo = Repo::open(t.path()).unwrap();
        let acc = repo.ensure_account("i@example.com").unwrap();
        let (a, b) = (item(&repo, &acc, "a"), item(&repo, &acc, "b"));
        let req = |id, name| IngestRequest {
            account: &acc,
            item_id: id,
            filename: name,
            taken_at: Some(1_600_000_000),
        };
        let Stored::New(pa) = ingest(&repo, &req(a, "a.jpg"), staged(&repo, b"one")).unwrap()
        else {
            panic!("new")
        };
        assert_eq!(pa, format!("{}/Photos from 2020/a.jpg", acc.folder));
        assert_eq!(
            ingest(&repo, &req(a, "a.jpg"), staged(&repo, b"one")).unwrap(),
            Stored::Unchanged(pa.clone())
        );
        // The same bytes for another item: linked; and they restore a file that went missing.
        std::fs::remove_file(repo.abs(&pa)).unwrap();
        assert_eq!(
            ingest(&repo, &req(b, "b.jpg"), staged(&repo, b"one")).unwrap(),
            Stored::Linked(pa.clone())
        );
        assert_eq!(std::fs::read(repo.abs(&pa)).unwrap(), b"one");
        // New bytes for an item sharing its file: a file of its own; the other keeps its bytes.
        let Stored::Forked(pb) = ingest(&repo, &req(b, "b.jpg"), staged(&repo, b"two")).unwrap()
        else {
            panic!("forked")
        };
        assert_ne!(pb, pa);
        assert_eq!(std::fs::read(repo.abs(&pa)).unwrap(), b"one");
        // New bytes for an item owning its file: replaced in place.
        assert_eq!(
            ingest(&repo, &req(b, "b.jpg"), staged(&repo, b"three")).unwrap(),
            Stored::Replaced(pb.clone())
        );
        assert_eq!(std::fs::read(repo.abs(&pb)).unwrap(), b"three");
    }

    #[test]
    fn unused_files_left_by_a_crash_go_to_the_trash() {
        let t = tempfile::tempdir().unwrap();
        let repo = Repo::open(t.path()).unwrap();
        let acc = repo.ensure_account("i@example.com").unwrap();
        let a = item(&repo, &acc, "a");
        let req = IngestRequest {
            account: &acc,
            item_id: a,
            filename: "a.jpg",
            taken_at: None,
        };
        let path = ingest(&repo, &req, staged(&repo, b"bytes"))
            .unwrap()
            .path()
            .to_string();
        // As if the run died after relinking the item elsewhere, before releasing the file.
        repo.index.test_detach_all_contents();
        assert_eq!(release_unused_content(&repo).unwrap(), 1);
        assert!(!repo.abs(&path).exists());
        assert!(
            repo.index
                .content_by_hash(blake3::hash(b"bytes").as_bytes())
                .unwrap()
                .is_none()
        );
        let trash = t.path().join(".photobak/trash");
        assert_eq!(std::fs::read_dir(&trash).unwrap().count(), 1);
    }

    /// What a new file says about itself is recorded as read when its bytes were staged, and
    /// read from the placed file when it was not: the same facts either way.
    #[test]
    fn file_facts_read_ahead_are_what_ingest_records() {
        let t = tempfile::tempdir().unwrap();
        let repo = Repo::open(t.path()).unwrap();
        let acc = repo.ensure_account("i@example.com").unwrap();
        let photo = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../photobak-testkit/testdata/jpg_gps_DSCN0010.jpg"),
        )
        .unwrap();
        let facts = |remote: &str| {
            repo.index
                .stored_file_facts(acc.id, remote)
                .unwrap()
                .unwrap()
        };
        let ingest_as = |remote: &str, bytes: &[u8], how: &dyn Fn(&mut Staged)| {
            let id = item(&repo, &acc, remote);
            let mut s = staged(&repo, bytes);
            how(&mut s);
            let req = IngestRequest {
                account: &acc,
                item_id: id,
                filename: &format!("{remote}.jpg"),
                taken_at: Some(1_600_000_000),
            };
            assert!(matches!(ingest(&repo, &req, s).unwrap(), Stored::New(_)));
        };
        ingest_as("read", &photo, &|_| {});
        // Other bytes (one more byte after the JPEG's end) with the same EXIF, read ahead.
        let mut other = photo.clone();
        other.push(0);
        ingest_as("ahead", &other, &|s| s.read_meta());
        let read = facts("read");
        assert!(
            read.lat.is_some_and(|l| (l - 43.467).abs() < 0.01),
            "{read:?}"
        );
        assert_eq!(facts("ahead"), read);
        // What was read ahead is what is recorded: the placed file is not read again.
        let mut third = other.clone();
        third.push(0);
        ingest_as("given", &third, &|s| {
            s.set_meta_for_test(Ok(FileMeta {
                latitude: Some(1.5),
                longitude: Some(2.5),
                ..FileMeta::default()
            }))
        });
        let given = facts("given");
        assert_eq!((given.lat, given.lon), (Some(1.5), Some(2.5)));
    }
}
