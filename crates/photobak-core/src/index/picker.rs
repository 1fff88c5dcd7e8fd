//! Reads and writes for the Picker: its sessions (`picker_sessions`, so `photobak pick
//! --session ID` resumes one after a crash or Ctrl-C), and the Takeout twin of a picked item.

use rusqlite::{OptionalExtension, params};

use super::{Index, now};
use crate::error::Result;
use crate::kinds::Source;

/// Where a Picker session stands, as photobak last saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    /// Created; the user has not finished picking (or photobak has not seen it yet).
    Open,
    /// The user finished picking; the items are being stored.
    Picked,
    /// Every picked item was handled and the session deleted at Google.
    Done,
    /// Google no longer knows it and its `expireTime` has passed, or picking timed out.
    Expired,
    /// Google no longer knows it before its `expireTime`: someone deleted it.
    Deleted,
}

impl SessionState {
    fn as_str(self) -> &'static str {
        match self {
            SessionState::Open => "open",
            SessionState::Picked => "picked",
            SessionState::Done => "done",
            SessionState::Expired => "expired",
            SessionState::Deleted => "deleted",
        }
    }

    fn parse(s: &str) -> SessionState {
        match s {
            "picked" => SessionState::Picked,
            "done" => SessionState::Done,
            "expired" => SessionState::Expired,
            "deleted" => SessionState::Deleted,
            _ => SessionState::Open,
        }
    }

    /// True once nothing more can come from the session.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            SessionState::Done | SessionState::Expired | SessionState::Deleted
        )
    }
}

/// A row of `picker_sessions`.
#[derive(Debug, Clone, PartialEq)]
pub struct PickerSessionRecord {
    /// Google's session id.
    pub session_id: String,
    /// The account it belongs to.
    pub account_id: i64,
    /// The page where the user picks.
    pub picker_uri: Option<String>,
    /// When photobak created it, Unix seconds.
    pub created_at: i64,
    /// Its `expireTime`, Unix seconds.
    pub expires_at: Option<i64>,
    /// Where it stands.
    pub state: SessionState,
    /// Picked items handled from it.
    pub items: i64,
    /// When it reached a final state.
    pub finished_at: Option<i64>,
}

impl Index {
    /// Records a session photobak just created (or resumes: an existing row keeps its
    /// creation time and state, and learns the URI and expiry when it lacked them).
    pub fn record_picker_session(
        &self,
        session_id: &str,
        account_id: i64,
        picker_uri: Option<&str>,
        expires_at: Option<i64>,
    ) -> Result<()> {
        self.with(|c| {
            c.prepare_cached("INSERT INTO picker_sessions (session_id, account_id, picker_uri, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (session_id) DO UPDATE SET
                    picker_uri = COALESCE(picker_uri, ?3), expires_at = COALESCE(?5, expires_at)")?.execute(params![session_id, account_id, picker_uri, now(), expires_at],
            )?;
            Ok(())
        })
    }

    /// A session by id.
    pub fn picker_session(&self, session_id: &str) -> Result<Option<PickerSessionRecord>> {
        self.with(|c| {
            Ok(c.prepare_cached(
                "SELECT session_id, account_id, picker_uri, created_at, expires_at, state, items,
                        finished_at
                 FROM picker_sessions WHERE session_id = ?1",
            )?
            .query_row([session_id], |r| {
                Ok(PickerSessionRecord {
                    session_id: r.get(0)?,
                    account_id: r.get(1)?,
                    picker_uri: r.get(2)?,
                    created_at: r.get(3)?,
                    expires_at: r.get(4)?,
                    state: SessionState::parse(&r.get::<_, String>(5)?),
                    items: r.get(6)?,
                    finished_at: r.get(7)?,
                })
            })
            .optional()?)
        })
    }

    /// Moves a session to `state`, with the number of items handled from it when known; a
    /// final state records when it was reached.
    pub fn set_picker_session_state(
        &self,
        session_id: &str,
        state: SessionState,
        items: Option<i64>,
    ) -> Result<()> {
        self.with(|c| {
            c.prepare_cached(
                "UPDATE picker_sessions SET state = ?2, items = COALESCE(?3, items),
                        finished_at = CASE WHEN ?4 THEN ?5 ELSE finished_at END
                 WHERE session_id = ?1",
            )?
            .execute(params![
                session_id,
                state.as_str(),
                items,
                state.is_final(),
                now()
            ])?;
            Ok(())
        })
    }

    /// The Takeout item of the account that is the same photo as a picked one: the same file
    /// name and capture time and, where both sides know them, the same dimensions. The Picker
    /// strips the location, so its bytes never equal the Takeout original's; this is how the
    /// two are known to be one photo. The first such item when several match (a Takeout
    /// duplicate), None when there is none.
    pub fn takeout_twin(
        &self,
        account_id: i64,
        filename: &str,
        taken_at: i64,
        width: Option<i64>,
        height: Option<i64>,
    ) -> Result<Option<i64>> {
        self.twin(
            TWIN_QUERY,
            account_id,
            filename,
            taken_at,
            (width, height),
            Source::Takeout,
        )
    }

    /// One twin query: `query` binds the account, name, capture time, dimensions and the source
    /// the twin must (or must not) come from, in that order.
    fn twin(
        &self,
        query: &str,
        account_id: i64,
        filename: &str,
        taken_at: i64,
        (width, height): (Option<i64>, Option<i64>),
        source: Source,
    ) -> Result<Option<i64>> {
        self.with(|c| {
            Ok(c.prepare_cached(query)?
                .query_row(
                    params![account_id, filename, taken_at, width, height, source],
                    |r| r.get(0),
                )
                .optional()?)
        })
    }

    /// The reverse of [`Index::takeout_twin`], for a Takeout entry being imported: the picked
    /// item of the account that is the same photo (same name and capture time, the same
    /// dimensions where both are known) and that no other source delivered. None when there
    /// is none.
    pub fn picked_twin(
        &self,
        account_id: i64,
        filename: &str,
        taken_at: i64,
        width: Option<i64>,
        height: Option<i64>,
    ) -> Result<Option<i64>> {
        self.twin(
            PICKED_TWIN_QUERY,
            account_id,
            filename,
            taken_at,
            (width, height),
            Source::Picker,
        )
    }

    /// Gives an item the id another source knows it by: a picked item adopted by its Takeout
    /// twin takes the export's id, so later exports find it; its `picker` provenance keeps the
    /// Picker's id.
    pub fn rekey_item(&self, item_id: i64, remote_id: &str) -> Result<()> {
        self.with(|c| {
            c.prepare_cached("UPDATE items SET remote_id = ?2 WHERE id = ?1")?
                .execute(params![item_id, remote_id])?;
            Ok(())
        })
    }

    /// The row of an account's item by its source id, when photobak knows it.
    pub fn item_id(&self, account_id: i64, remote_id: &str) -> Result<Option<i64>> {
        self.with(|c| {
            Ok(
                c.prepare_cached("SELECT id FROM items WHERE account_id = ?1 AND remote_id = ?2")?
                    .query_row(params![account_id, remote_id], |r| r.get(0))
                    .optional()?,
            )
        })
    }

    /// Records that `source` delivered the item `item_id` too, under its own id `source_ref`
    /// (a picked item linked to its Takeout twin).
    pub fn add_source(&self, item_id: i64, source: Source, source_ref: &str) -> Result<()> {
        self.with(|c| {
            c.prepare_cached(
                "INSERT INTO provenance (item_id, source, source_ref, first_seen, last_seen)
                 VALUES (?1, ?2, ?3, ?4, ?4)
                 ON CONFLICT (item_id, source) DO UPDATE SET last_seen = ?4, source_ref = ?3",
            )?
            .execute(params![item_id, source, source_ref, now()])?;
            Ok(())
        })
    }
}

/// The reverse lookup: a picked item no other source delivered.
const PICKED_TWIN_QUERY: &str = "SELECT i.id FROM items i
     WHERE i.account_id = ?1 AND i.filename = ?2 AND i.taken_at = ?3
       AND (?4 IS NULL OR i.width IS NULL OR i.width = ?4)
       AND (?5 IS NULL OR i.height IS NULL OR i.height = ?5)
       AND EXISTS (SELECT 1 FROM provenance p WHERE p.item_id = i.id AND p.source = ?6)
       AND NOT EXISTS (SELECT 1 FROM provenance p WHERE p.item_id = i.id AND p.source <> ?6)
     ORDER BY i.id LIMIT 1";

/// The twin lookup; `items_name_time` (schema v5) makes it an index search.
const TWIN_QUERY: &str = "SELECT i.id FROM items i
     WHERE i.account_id = ?1 AND i.filename = ?2 AND i.taken_at = ?3
       AND (?4 IS NULL OR i.width IS NULL OR i.width = ?4)
       AND (?5 IS NULL OR i.height IS NULL OR i.height = ?5)
       AND EXISTS (SELECT 1 FROM provenance p WHERE p.item_id = i.id AND p.source = ?6)
     ORDER BY i.id LIMIT 1";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::ItemMeta;

    fn index() -> (tempfile::TempDir, Index) {
        let dir = tempfile::tempdir().unwrap();
        let ix = Index::open(&dir.path().join("index.db")).unwrap();
        (dir, ix)
    }

    #[test]
    fn sessions_are_recorded_resumed_and_finished() {
        let (_d, ix) = index();
        let a = ix.ensure_account("googlephotos", "a@x", "a").unwrap();
        assert_eq!(ix.picker_session("s1").unwrap(), None);
        ix.record_picker_session("s1", a.id, Some("https://p/s1"), Some(99))
            .unwrap();
        ix.record_picker_session("s1", a.id, None, None).unwrap();
        let s = ix.picker_session("s1").unwrap().unwrap();
        assert_eq!(s.picker_uri.as_deref(), Some("https://p/s1"));
        assert_eq!(s.expires_at, Some(99));
        assert_eq!(
            (s.state, s.items, s.finished_at),
            (SessionState::Open, 0, None)
        );
        ix.set_picker_session_state("s1", SessionState::Picked, None)
            .unwrap();
        assert_eq!(ix.picker_session("s1").unwrap().unwrap().finished_at, None);
        ix.set_picker_session_state("s1", SessionState::Done, Some(7))
            .unwrap();
        let s = ix.picker_session("s1").unwrap().unwrap();
        assert_eq!((s.state, s.items), (SessionState::Done, 7));
        assert!(s.finished_at.is_some() && s.state.is_final());
    }

    #[test]
    fn the_twin_is_a_takeout_item_with_the_same_name_time_and_known_dimensions() {
        let (_d, ix) = index();
        let a = ix.ensure_account("googlephotos", "a@x", "a").unwrap();
        let run = ix.begin_run("import", Some(a.id)).unwrap();
        let meta = |name: &str, t: i64, w: Option<i64>| ItemMeta {
            filename: name.into(),
            taken_at: Some(t),
            width: w,
            height: w,
            ..Default::default()
        };
        let tk = ix
            .upsert_item(
                a.id,
                "takeout:x/IMG_1.JPG",
                &meta("IMG_1.JPG", 100, Some(4000)),
                run,
                Source::Takeout,
                Some("e1"),
            )
            .unwrap()
            .id;
        // A Library item of the same name and time is not a Takeout twin.
        ix.upsert_item(
            a.id,
            "LIB1",
            &meta("IMG_2.JPG", 100, None),
            run,
            Source::Library,
            None,
        )
        .unwrap();
        assert_eq!(
            ix.takeout_twin(a.id, "IMG_1.JPG", 100, Some(4000), Some(4000))
                .unwrap(),
            Some(tk)
        );
        assert_eq!(
            ix.takeout_twin(a.id, "IMG_1.JPG", 100, None, None).unwrap(),
            Some(tk),
            "unknown dimensions match"
        );
        assert_eq!(
            ix.takeout_twin(a.id, "IMG_1.JPG", 100, Some(2000), Some(1500))
                .unwrap(),
            None,
            "known dimensions differ"
        );
        assert_eq!(
            ix.takeout_twin(a.id, "IMG_1.JPG", 101, None, None).unwrap(),
            None,
            "another time"
        );
        assert_eq!(
            ix.takeout_twin(a.id, "IMG_2.JPG", 100, None, None).unwrap(),
            None,
            "not from Takeout"
        );
        let b = ix.ensure_account("googlephotos", "b@x", "b").unwrap();
        assert_eq!(
            ix.takeout_twin(b.id, "IMG_1.JPG", 100, None, None).unwrap(),
            None,
            "another account"
        );
        ix.add_source(tk, Source::Picker, "PICKED1").unwrap();
        assert!(ix.account_uses(a.id, Source::Picker).unwrap());
    }

    #[test]
    fn the_twin_lookup_is_an_index_search() {
        let (_d, ix) = index();
        let plan: Vec<String> = ix
            .with(|c| {
                let mut st = c.prepare(&format!("EXPLAIN QUERY PLAN {TWIN_QUERY}"))?;
                let rows = st
                    .query_map(params![1, "a", 1, 1, 1, Source::Takeout], |r| {
                        r.get::<_, String>(3)
                    })?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(rows)
            })
            .unwrap();
        let first = &plan[0];
        assert!(
            first.contains("USING INDEX items_name_time"),
            "the items are searched by name and time: {plan:?}"
        );
    }
}
