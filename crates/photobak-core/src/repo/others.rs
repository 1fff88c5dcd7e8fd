//! `others.txt`: members of an album whose file is stored in another folder.
//!
//! The original photobak's answer to "one photo, many albums": the file lives once, and every
//! other album folder lists its repository-relative path, one per line. Plain text, portable,
//! readable by people and scripts. Here the file is a projection of the index, regenerated
//! whole, so it can never hold duplicates or paths the index does not know; it is written
//! atomically and only when its content changes.

use super::Repo;
use super::store::write_atomic_if_changed;
use crate::error::{IoContext, Result};

/// Name of the pointer file in an album folder.
pub const OTHERS_FILE: &str = "others.txt";

impl Repo {
    /// The lines an album's `others.txt` must hold: the stored files of its members that live
    /// outside its folder, sorted.
    pub fn others_lines(&self, album_id: i64, folder: &str) -> Result<Vec<String>> {
        let prefix = format!("{folder}/");
        Ok(self
            .index
            .album_member_paths(album_id)?
            .into_iter()
            .filter(|p| !p.starts_with(&prefix) || p[prefix.len()..].contains('/'))
            .collect())
    }

    /// Rewrites the `others.txt` of one album from the index. Returns true when the file changed.
    pub fn refresh_others(&self, album_id: i64, folder: &str) -> Result<bool> {
        let lines = self.others_lines(album_id, folder)?;
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
        let mut changed = 0;
        for album in self.index.albums(account_id)? {
            if self.refresh_others(album.id, &album.folder)? {
                changed += 1;
            }
        }
        Ok(changed)
    }
}
