//! Statements only unit tests run: fabricating stored files and the states a crash or a hand
//! edit leaves, so the modules above can be tested without a connection of their own.

use rusqlite::params;

use super::Index;

impl Index {
    /// Records `bytes` as a stored file at `path` (home reason `test`, never verified),
    /// optionally at home in an album and used by an item. Returns its row id.
    pub(crate) fn test_content(
        &self,
        path: &str,
        bytes: &[u8],
        home_album_id: Option<i64>,
        item_id: Option<i64>,
    ) -> i64 {
        self.tx(|tx| {
            tx.execute(
                "INSERT INTO content (blake3, size, path, home_album_id, home_reason, stored_at)
                 VALUES (?1, ?2, ?3, ?4, 'test', 0)",
                params![
                    &blake3::hash(bytes).as_bytes()[..],
                    bytes.len() as i64,
                    path,
                    home_album_id
                ],
            )?;
            let id = tx.last_insert_rowid();
            if let Some(item) = item_id {
                tx.execute(
                    "UPDATE items SET content_id = ?2 WHERE id = ?1",
                    params![item, id],
                )?;
            }
            Ok(id)
        })
        .expect("test content recorded")
    }

    /// Makes an item use a stored file (two items sharing one, as de-duplication leaves them).
    pub(crate) fn test_use_content(&self, item_id: i64, content_id: i64) {
        self.with(|c| {
            c.execute(
                "UPDATE items SET content_id = ?2 WHERE id = ?1",
                params![item_id, content_id],
            )?;
            Ok(())
        })
        .expect("content used");
    }

    /// Makes `album_id` the home of a stored file.
    pub(crate) fn test_set_home(&self, content_id: i64, album_id: i64) {
        self.with(|c| {
            c.execute(
                "UPDATE content SET home_album_id = ?2 WHERE id = ?1",
                params![content_id, album_id],
            )?;
            Ok(())
        })
        .expect("home set")
    }

    /// Detaches every item from its stored file, as a run killed between relinking an item and
    /// releasing its old file leaves them.
    pub(crate) fn test_detach_all_contents(&self) {
        self.with(|c| Ok(c.execute("UPDATE items SET content_id = NULL", [])?))
            .expect("items detached");
    }

    /// How many stored files have never been verified.
    pub(crate) fn test_unverified_count(&self) -> i64 {
        self.with(|c| {
            Ok(c.query_row(
                "SELECT count(*) FROM content WHERE verified_at IS NULL",
                [],
                |r| r.get(0),
            )?)
        })
        .expect("count read")
    }
}
