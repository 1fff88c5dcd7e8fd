//! `others.txt`: members of an album whose file is stored in another folder.
//!
//! The original photobak's answer to "one photo, many albums": the file lives once, and every
//! other album folder lists its repository-relative path, one per line. Plain text, portable,
//! readable by people and scripts. Here the file is a projection of the index, regenerated
//! whole, so it can never hold duplicates or paths the index does not know; it is written
//! atomically and only when its content changes.

use std::collections::HashMap;

use super::Repo;
use super::store::write_atomic_if_changed;
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

    /// The lines of the `others.txt` of each of `albums` (albums of the account), by album id,
    /// by the rule of [`Repo::others_lines`]; an album with none is absent. One pass over the
    /// account's memberships and the stored files' paths
    /// ([`Index::album_member_contents`](crate::index::Index::album_member_contents)) instead
    /// of a query per album: every run ends with this, nothing changed or not.
    pub fn all_others_lines(
        &self,
        account_id: i64,
        albums: &[Album],
    ) -> Result<HashMap<i64, Vec<String>>> {
        let prefixes: HashMap<i64, String> = albums
            .iter()
            .map(|a| (a.id, format!("{}/", a.folder)))
            .collect();
        // (content, album), sorted: a stored file's albums are one run of it.
        let members = self.index.album_member_contents(account_id)?;
        let mut out: HashMap<i64, Vec<String>> = HashMap::new();
        if members.is_empty() {
            return Ok(out);
        }
        self.index.each_content_path(|id, path: &str| {
            let first = members.partition_point(|m| m.0 < id);
            for &(_, album) in members[first..].iter().take_while(|m| m.0 == id) {
                if prefixes
                    .get(&album)
                    .is_some_and(|prefix| lives_elsewhere(prefix, path))
                {
                    out.entry(album).or_default().push(path.to_string());
                }
            }
        })?;
        for lines in out.values_mut() {
            // Sorted and each once, as `album_member_paths` gives them (two members of an
            // album can share a file).
            lines.sort_unstable();
            lines.dedup();
        }
        Ok(out)
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
    pub fn refresh_all_others(&self, account_id: i64) -> Result<u64> {
        let albums = self.index.albums(account_id)?;
        let mut lines = self.all_others_lines(account_id, &albums)?;
        let mut changed = 0;
        for album in &albums {
            let lines = lines.remove(&album.id).unwrap_or_default();
            if self.write_others(&album.folder, &lines)? {
                changed += 1;
            }
        }
        Ok(changed)
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

    /// The lines of every album at once are the lines of each album on its own: members stored
    /// in another album's folder or deeper in a folder of its own are listed, a file two
    /// members share once, members without a file and other accounts' albums not at all.
    #[test]
    fn every_albums_lines_at_once_follow_the_one_album_rule() {
        let t = tempfile::tempdir().unwrap();
        let repo = Repo::open(t.path()).unwrap();
        let run = repo.index.begin_run("backup", None).unwrap();
        let mut albums = Vec::new();
        let mut accounts = Vec::new();
        for address in ["o@example.com", "p@example.com"] {
            let acc = repo.ensure_account(address).unwrap();
            for title in ["A", "B"] {
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
        let (a, b, other) = (&albums[0], &albums[1], &albums[2]);
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
        for (album, items) in [
            (a, vec![in_a, deeper, in_b, twin, bare]),
            (b, vec![in_a, in_b]),
            (other, vec![theirs, in_a]),
        ] {
            for i in items {
                repo.index.add_membership(album.id, i).unwrap();
            }
        }
        let all = repo.all_others_lines(o, &albums[..2]).unwrap();
        for album in &albums[..2] {
            assert_eq!(
                all.get(&album.id).cloned().unwrap_or_default(),
                repo.others_lines(album.id, &album.folder).unwrap(),
                "{}",
                album.folder
            );
        }
        assert_eq!(
            all[&a.id],
            vec![
                format!("{}/sub/deeper.jpg", a.folder),
                format!("{}/in_b.jpg", b.folder)
            ]
        );
        assert_eq!(all[&b.id], vec![format!("{}/in_a.jpg", a.folder)]);
        assert!(!all.contains_key(&other.id), "{all:?}");
        // Writing them: B's file holds A's member; nothing changes the second time.
        assert_eq!(repo.refresh_all_others(o).unwrap(), 2);
        assert_eq!(
            std::fs::read_to_string(repo.abs(&format!("{}/others.txt", b.folder))).unwrap(),
            format!("{}/in_a.jpg\n", a.folder)
        );
        assert_eq!(repo.refresh_all_others(o).unwrap(), 0);
    }
}
