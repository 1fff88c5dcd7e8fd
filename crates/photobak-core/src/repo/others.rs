//! `others.txt`: members of an album whose file is stored in another folder.
//!
//! The original photobak's answer to "one photo, many albums": the file lives once, and every
//! other album folder lists its repository-relative path, one per line. Plain text, portable,
//! readable by people and scripts. Here the file is a projection of the index, regenerated
//! whole, so it can never hold duplicates or paths the index does not know; it is written
//! atomically and only when its content changes.

use std::io::Write;

use super::Repo;
use super::store::{ReplaceWriter, Replacement, write_atomic_if_changed};
use crate::error::{IoContext, Result};
use crate::index::{Album, Index};

/// Name of the pointer file in an album folder.
pub const OTHERS_FILE: &str = "others.txt";

impl Repo {
    /// The lines an album's `others.txt` must hold: the stored files of its members that live
    /// outside its folder, sorted.
    pub fn others_lines(&self, album_id: i64, folder: &str) -> Result<Vec<String>> {
        others_lines_on(&self.index, album_id, folder)
    }

    /// Rewrites the `others.txt` of one album from the index. Returns true when the file changed.
    pub fn refresh_others(&self, album_id: i64, folder: &str) -> Result<bool> {
        let lines = self.others_lines(album_id, folder)?;
        self.write_others(folder, &lines)
    }

    /// Writes `lines` as the `others.txt` of the album folder `folder` (removes it when there
    /// are none). Returns true when the file changed.
    fn write_others(&self, folder: &str, lines: &[String]) -> Result<bool> {
        let path = self.abs(&format!("{folder}/{OTHERS_FILE}"));
        if lines.is_empty() {
            return match std::fs::remove_file(&path) {
                Ok(()) => Ok(true),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
                Err(e) => Err(e).ctx(|| format!("removing {}", path.display())),
            };
        }
        let mut text = lines.join("\n");
        text.push('\n');
        write_atomic_if_changed(&self.tmp_dir(), &path, text.as_bytes())
    }

    /// Rewrites the `others.txt` of every album of an account from the index (a finishing step
    /// of every run that changes memberships). Returns how many files changed.
    ///
    /// One pass over the account's memberships with their stored files' paths, by album and
    /// path ([`Index::each_album_member_path`]), each album's file compared with what it
    /// must hold as the lines come ([`ReplaceWriter`]: an unchanged file is read, not
    /// written). Nothing is held per member: the lines of every album at once, and every
    /// membership with its stored file, were what a first import held last (7 MB at 100,114
    /// items; BENCHMARKS.md, session 15). The pass holds the index's connection, so the
    /// changed files are synced and placed, and the files of albums with no line removed,
    /// once it is over (two paths per changed album wait): another account's run does not
    /// wait on this one's disk.
    pub fn refresh_all_others(&self, account_id: i64) -> Result<u64> {
        let albums = self.index.albums(account_id)?;
        // The albums in id order, as the pass gives their members; those without members
        // (or before the next one with members) lose their file.
        let mut next = 0;
        let mut open: Option<Open> = None;
        let mut replaced = Vec::new();
        let mut emptied = Vec::new();
        self.index
            .each_album_member_path(account_id, |album_id, path| {
                if open.as_ref().is_none_or(|o| o.album.id != album_id) {
                    if let Some(o) = open.take() {
                        o.close(&mut replaced, &mut emptied)?;
                    }
                    while albums.get(next).is_some_and(|a| a.id < album_id) {
                        emptied.push(&albums[next]);
                        next += 1;
                    }
                    match albums.get(next) {
                        Some(a) if a.id == album_id => {
                            open = Some(Open::new(a));
                            next += 1;
                        }
                        // Not one of the account's albums as listed: nothing to write.
                        _ => return Ok(()),
                    }
                }
                let o = open.as_mut().expect("opened above");
                // Two members of an album can share a file: its path comes twice in a row.
                if o.last != path && lives_elsewhere(&o.prefix, path) {
                    let w = o.writer.get_or_insert_with(|| {
                        ReplaceWriter::new(&self.tmp_dir(), &self.abs(&o.file))
                    });
                    w.write_all(path.as_bytes())
                        .and_then(|()| w.write_all(b"\n"))
                        .ctx(|| format!("writing {}", o.file))?;
                    o.last.clear();
                    o.last.push_str(path);
                }
                Ok(())
            })?;
        if let Some(o) = open.take() {
            o.close(&mut replaced, &mut emptied)?;
        }
        emptied.extend(&albums[next..]);
        let mut changed = replaced.len() as u64;
        for r in replaced {
            r.place()?;
        }
        for a in emptied {
            changed += u64::from(self.write_others(&a.folder, &[])?);
        }
        Ok(changed)
    }
}

/// The album whose `others.txt` [`Repo::refresh_all_others`] is writing.
struct Open<'a> {
    album: &'a Album,
    /// The folder with a trailing `/`.
    prefix: String,
    /// The file, relative to the repository.
    file: String,
    /// The last line written.
    last: String,
    /// Made with the album's first line.
    writer: Option<ReplaceWriter>,
}

impl<'a> Open<'a> {
    fn new(a: &'a Album) -> Open<'a> {
        Open {
            album: a,
            prefix: format!("{}/", a.folder),
            file: format!("{}/{OTHERS_FILE}", a.folder),
            last: String::new(),
            writer: None,
        }
    }

    /// Ends the album's file: to be placed when it changed, to be removed when it has no line.
    fn close(self, replaced: &mut Vec<Replacement>, emptied: &mut Vec<&'a Album>) -> Result<()> {
        match self.writer {
            Some(w) => replaced.extend(w.finish_written()?),
            None => emptied.push(self.album),
        }
        Ok(())
    }
}

/// [`Repo::others_lines`] on the connection `index` (`verify` reads with a second one while
/// the first is busy).
pub fn others_lines_on(index: &Index, album_id: i64, folder: &str) -> Result<Vec<String>> {
    let prefix = format!("{folder}/");
    Ok(index
        .album_member_paths(album_id)?
        .into_iter()
        .filter(|p| lives_elsewhere(&prefix, p))
        .collect())
}

/// True when a member's stored file (`path`) is not directly in the album folder whose path
/// with a trailing `/` is `prefix`: it then belongs in the album's `others.txt`.
fn lives_elsewhere(prefix: &str, path: &str) -> bool {
    !path.starts_with(prefix) || path[prefix.len()..].contains('/')
}

#[cfg(test)]
mod tests {
    use crate::index::{AlbumSpec, ItemMeta};
    use crate::kinds::{AlbumKind, Source};
    use crate::repo::Repo;

    /// Every album's file written at once holds the lines of the album on its own: members
    /// stored in another album's folder or deeper in a folder of its own are listed, a file two
    /// members share once, members without a file and other accounts' albums not at all; an
    /// album with no line (members all in its folder, or none) has no file, a stale one goes.
    #[test]
    fn every_albums_file_follows_the_one_album_rule() {
        let t = tempfile::tempdir().unwrap();
        let repo = Repo::open(t.path()).unwrap();
        let run = repo.index.begin_run("backup", None).unwrap();
        let mut albums = Vec::new();
        let mut accounts = Vec::new();
        for address in ["o@example.com", "p@example.com"] {
            let acc = repo.ensure_account(address).unwrap();
            for title in ["A", "B", "C", "D"] {
                let album = repo
                    .index
                    .upsert_album(
                        &acc,
                        &AlbumSpec {
                            remote_id: title,
                            source: Source::Library,
                            title,
                            description: None,
                            kind: AlbumKind::User,
                            raw_json: None,
                        },
                        None,
                        |_| format!("{}/{title}", acc.folder),
                    )
                    .unwrap();
                albums.push(album);
            }
            accounts.push(acc);
        }
        let (a, b, c, d, other) = (&albums[0], &albums[1], &albums[2], &albums[3], &albums[4]);
        let item = |acc: i64, remote: &str| {
            let meta = ItemMeta {
                filename: format!("{remote}.jpg"),
                ..Default::default()
            };
            repo.index
                .upsert_item(acc, remote, &meta, run, Source::Library, None)
                .unwrap()
                .id
        };
        let o = accounts[0].id;
        // (item, where its file is, the albums it is a member of)
        let in_a = item(o, "in_a");
        let deeper = item(o, "deeper");
        let in_b = item(o, "in_b");
        let twin = item(o, "twin");
        let bare = item(o, "bare");
        let in_c = item(o, "in_c");
        let theirs = item(accounts[1].id, "theirs");
        let file = |item: i64, rel: &str| {
            repo.index
                .test_content(rel, rel.as_bytes(), None, Some(item))
        };
        file(in_a, &format!("{}/in_a.jpg", a.folder));
        file(deeper, &format!("{}/sub/deeper.jpg", a.folder));
        let shared = file(in_b, &format!("{}/in_b.jpg", b.folder));
        repo.index.test_use_content(twin, shared);
        file(theirs, &format!("{}/theirs.jpg", other.folder));
        file(in_c, &format!("{}/in_c.jpg", c.folder));
        for (album, items) in [
            (a, vec![in_a, deeper, in_b, twin, bare]),
            (b, vec![in_a, in_b]),
            (c, vec![in_c]),
            (other, vec![theirs, in_a]),
        ] {
            for i in items {
                repo.index.add_membership(album.id, i).unwrap();
            }
        }
        // Stale files in an album whose members are all in its folder (C) and in one with no
        // members, after the last with some (D): both go.
        for album in [c, d] {
            std::fs::create_dir_all(repo.abs(&album.folder)).unwrap();
            std::fs::write(repo.abs(&format!("{}/others.txt", album.folder)), "stale\n").unwrap();
        }
        assert_eq!(repo.refresh_all_others(o).unwrap(), 4);
        for album in &albums[..4] {
            let lines = repo.others_lines(album.id, &album.folder).unwrap();
            let file = repo.abs(&format!("{}/others.txt", album.folder));
            assert_eq!(
                std::fs::read_to_string(&file).ok(),
                (!lines.is_empty()).then(|| lines.iter().map(|l| format!("{l}\n")).collect()),
                "{}",
                album.folder
            );
        }
        assert_eq!(
            std::fs::read_to_string(repo.abs(&format!("{}/others.txt", a.folder))).unwrap(),
            format!("{}/sub/deeper.jpg\n{}/in_b.jpg\n", a.folder, b.folder)
        );
        assert_eq!(
            std::fs::read_to_string(repo.abs(&format!("{}/others.txt", b.folder))).unwrap(),
            format!("{}/in_a.jpg\n", a.folder)
        );
        assert!(!repo.abs(&format!("{}/others.txt", other.folder)).exists());
        // Nothing changes the second time; a changed line is written again.
        assert_eq!(repo.refresh_all_others(o).unwrap(), 0);
        std::fs::write(repo.abs(&format!("{}/others.txt", b.folder)), "x\n").unwrap();
        assert_eq!(repo.refresh_all_others(o).unwrap(), 1);
        assert_eq!(repo.refresh_all_others(o).unwrap(), 0);
    }
}
