//! Relisted items recognised in memory: the no-op backup's per-item lookup, done once per run.
//!
//! Every item of a backup goes through [`Index::upsert_item`], whose first statement looks the
//! item up by its (account, remote id), a search of a text index of 100-character ids, and
//! compares each stored field with the listed one. At 100,000 items that lookup was a quarter
//! of a no-op backup's CPU (perf), on the thread every listed page waits for. So a Library run
//! reads what it needs of the account's stored items once, in one scan ([`Index::known_items`]):
//! for each item with a stored file, its row id, its file, and a fingerprint of the stored
//! values of the fields a Library listing gives. A listed item whose fields give the same
//! fingerprint ([`KnownItems::unchanged`]) is unchanged by `upsert_item`'s own rule, and only
//! its sighting is written ([`Index::record_sighting`]): the same two writes `upsert_item` makes
//! for an unchanged item. Anything else (a new item, a changed field or version, a field a
//! Library listing never gives, no stored file yet) goes through `upsert_item` as before.
//!
//! Why equal fingerprints are enough: `upsert_item` calls an item changed when some field the
//! listing gives (`Some`) differs from the stored one, or the name differs. The fingerprint
//! covers the version and every field a Library listing can give, each with its SQLite type
//! (a listed `None` counts as `NULL`), and a listing that gives any other field (a position,
//! the favourite flags) is never recognised here. Equal fingerprints therefore mean every
//! given field equals the stored one and every field not given is stored as `NULL`: no change,
//! the version the same. A field given as `None` over a stored value only makes the
//! fingerprints differ, which costs the old lookup, never a missed change. The write checks
//! the row id, the remote id and the file again, so a stale or colliding entry also falls back.
//!
//! Why a sorted vector: 41 bytes per item (key, row, file, fingerprint; a byte of flags), made
//! at its size. A map of the same entries with a run id each cost some 75 bytes per item, the
//! most of what a no-op backup held per item (BENCHMARKS.md, session 16). It is still memory
//! per item, so an account of more items than the caller's bound is not read at all (the
//! engine's `KNOWN_ITEMS_AT_MOST`): its run looks every listed item up, as before this module.

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{ToSql, params};

use super::{Index, ItemMeta, now};
use crate::error::Result;
use crate::kinds::Source;

/// What a run knows of an account's stored items (see the module's documentation).
#[derive(Debug, Default)]
pub struct KnownItems {
    /// By key, ascending; a key two remote ids share is left out.
    known: Vec<Known>,
    /// Per entry of `known`: [`SEEN`], [`FORGOTTEN`].
    flags: Vec<u8>,
    /// A listed item's values, encoded for its fingerprint (reused: one hash of the whole
    /// encoding, not a hasher fed value by value, which cost more than the lookup it saves).
    scratch: Vec<u8>,
}

#[derive(Debug, Clone, Copy)]
struct Known {
    key: u64,
    id: i64,
    content_id: i64,
    fingerprint: [u8; 16],
}

/// This run recorded the item's sighting (before the known items were read, or since: an
/// album's member listed again).
const SEEN: u8 = 1;
/// The item goes through `upsert_item` in this run (it may have changed, or its entry was
/// stale): it is no longer known.
const FORGOTTEN: u8 = 2;

/// A listed item recognised as unchanged: its row, its stored file, and whether this run had
/// recorded it already (an album's member listed again).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unchanged {
    /// Row id.
    pub id: i64,
    /// The stored file.
    pub content_id: i64,
    /// This run had already recorded it.
    pub seen_this_run: bool,
    /// Its place in [`KnownItems`].
    at: usize,
}

/// The columns of the fingerprint, in its order: the version and every field a Library
/// listing gives ([`ItemMeta`] from `source::library::item_meta`).
const FINGERPRINT_COLS: &str = "version, filename, mime_type, description, taken_at, \
                                taken_source, width, height, camera_make, camera_model, raw_json";

/// The listed values in [`FINGERPRINT_COLS`]'s order, or None when the listing gives a field
/// outside them (then only `upsert_item` can tell) or no version.
fn listed_values(meta: &ItemMeta) -> Option<[&dyn ToSql; 11]> {
    let others_given = meta.latitude.is_some()
        || meta.longitude.is_some()
        || meta.altitude.is_some()
        || meta.gps_source.is_some()
        || meta.favorite.is_some()
        || meta.archived.is_some()
        || meta.trashed.is_some();
    if others_given || meta.version.is_none() {
        return None;
    }
    Some([
        &meta.version,
        &meta.filename,
        &meta.mime_type,
        &meta.description,
        &meta.taken_at,
        &meta.taken_source,
        &meta.width,
        &meta.height,
        &meta.camera_make,
        &meta.camera_model,
        &meta.raw_json,
    ])
}

/// Appends one value, with its SQLite type, to a fingerprint's encoding.
fn push_value(out: &mut Vec<u8>, v: ValueRef<'_>) {
    match v {
        ValueRef::Null => out.push(0),
        ValueRef::Integer(i) => {
            out.push(1);
            out.extend_from_slice(&i.to_le_bytes());
        }
        ValueRef::Real(f) => {
            out.push(2);
            out.extend_from_slice(&f.to_bits().to_le_bytes());
        }
        ValueRef::Text(t) => {
            out.push(3);
            out.extend_from_slice(&(t.len() as u64).to_le_bytes());
            out.extend_from_slice(t);
        }
        ValueRef::Blob(b) => {
            out.push(4);
            out.extend_from_slice(&(b.len() as u64).to_le_bytes());
            out.extend_from_slice(b);
        }
    }
}

/// The fingerprint of an encoding.
fn fingerprint(encoded: &[u8]) -> [u8; 16] {
    let mut out = [0u8; 16];
    out.copy_from_slice(&blake3::hash(encoded).as_bytes()[..16]);
    out
}

/// Leaves out of `known` (sorted by key) every entry whose key another has: two remote ids
/// with one key are neither recognised (both take the lookup). In place: a second vector
/// would double the memory while it is made.
fn drop_shared_keys(known: &mut Vec<Known>) {
    let mut kept = 0;
    let mut from = 0;
    while from < known.len() {
        let same = known[from..].partition_point(|k| k.key == known[from].key);
        if same == 1 {
            known[kept] = known[from];
            kept += 1;
        }
        from += same;
    }
    known.truncate(kept);
}

/// The known items' key for a remote id (the write checks the id itself).
fn key_of(remote_id: &str) -> u64 {
    let hash = blake3::hash(remote_id.as_bytes());
    u64::from_le_bytes(hash.as_bytes()[..8].try_into().expect("8 bytes"))
}

impl KnownItems {
    /// Where the item of `remote_id` is, unless forgotten.
    fn find(&self, remote_id: &str) -> Option<usize> {
        let key = key_of(remote_id);
        let at = self.known.binary_search_by_key(&key, |k| k.key).ok()?;
        (self.flags[at] & FORGOTTEN == 0).then_some(at)
    }

    /// The listed item, when it is a stored item whose listed fields are what is stored.
    pub fn unchanged(&mut self, remote_id: &str, meta: &ItemMeta) -> Option<Unchanged> {
        let at = self.find(remote_id)?;
        let known = self.known[at];
        let values = listed_values(meta)?;
        let out = &mut self.scratch;
        out.clear();
        for v in values {
            match v.to_sql().ok()? {
                ToSqlOutput::Borrowed(r) => push_value(out, r),
                ToSqlOutput::Owned(o) => push_value(out, ValueRef::from(&o)),
                _ => return None,
            }
        }
        (fingerprint(out) == known.fingerprint).then_some(Unchanged {
            id: known.id,
            content_id: known.content_id,
            seen_this_run: self.flags[at] & SEEN != 0,
            at,
        })
    }

    /// Notes that this run recorded the sighting of an item [`KnownItems::unchanged`] found.
    pub fn seen(&mut self, item: &Unchanged) {
        if let Some(f) = self.flags.get_mut(item.at) {
            *f |= SEEN;
        }
    }

    /// Forgets an item `upsert_item` recorded (it may have changed): its next listing in the
    /// run goes through `upsert_item` too.
    pub fn forget(&mut self, remote_id: &str) {
        if let Some(at) = self.find(remote_id) {
            self.flags[at] |= FORGOTTEN;
        }
    }

    /// How many items are known.
    pub fn len(&self) -> usize {
        self.flags.iter().filter(|&&f| f & FORGOTTEN == 0).count()
    }

    /// True when no item is known.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Index {
    /// The account's items that have a stored file and a version, for recognising them when
    /// they are listed again unchanged (one scan of the account's items) in run `run_id`;
    /// those whose sighting that run already recorded start as seen. None when the account
    /// has more than `at_most` items: 41 bytes each are held for the run, so past a bound the
    /// caller looks each listed item up instead, slower but in memory that does not grow.
    ///
    /// # Errors
    /// The index's.
    pub fn known_items(
        &self,
        account_id: i64,
        run_id: i64,
        at_most: usize,
    ) -> Result<Option<KnownItems>> {
        self.with(|c| {
            // Made at its size: the account's items, counted from one of the indices that
            // start with the account (an upper bound: some have no stored file), so the vector
            // is never copied as it grows; pages of it never written are never touched either.
            let rows: i64 = c
                .prepare_cached("SELECT count(*) FROM items WHERE account_id = ?1")?
                .query_row([account_id], |r| r.get(0))?;
            if usize::try_from(rows).unwrap_or(usize::MAX) > at_most {
                return Ok(None);
            }
            let mut known: Vec<Known> = Vec::with_capacity(usize::try_from(rows).unwrap_or(0));
            // The table in its own order (`NOT INDEXED`): through an index on `account_id`
            // (the planner picks a name index) every row is a lookup of its own, in no order,
            // and a table larger than the page cache was read from the file several times
            // (72,000 `pread64` instead of 33,000 for a 100,000-item no-op).
            let mut st = c.prepare_cached(&format!(
                "SELECT id, content_id, seen_run, remote_id, {FINGERPRINT_COLS} FROM items NOT INDEXED
                 WHERE account_id = ?1 AND content_id IS NOT NULL AND version IS NOT NULL"
            ))?;
            let mut rows = st.query([account_id])?;
            let mut encoded = Vec::with_capacity(256);
            let mut seen = Vec::new();
            while let Some(r) = rows.next()? {
                encoded.clear();
                for i in 4..4 + 11 {
                    push_value(&mut encoded, r.get_ref(i)?);
                }
                let key = key_of(r.get_ref(3)?.as_str().map_err(rusqlite::Error::from)?);
                known.push(Known {
                    key,
                    id: r.get(0)?,
                    content_id: r.get(1)?,
                    fingerprint: fingerprint(&encoded),
                });
                if r.get::<_, Option<i64>>(2)? == Some(run_id) {
                    seen.push(key);
                }
            }
            known.sort_unstable_by_key(|k| k.key);
            drop_shared_keys(&mut known);
            let mut flags = vec![0; known.len()];
            for key in seen {
                if let Ok(at) = known.binary_search_by_key(&key, |k| k.key) {
                    flags[at] |= SEEN;
                }
            }
            Ok(Some(KnownItems {
                known,
                flags,
                scratch: Vec::with_capacity(256),
            }))
        })
    }

    /// Records that this run listed an unchanged item: the writes [`Index::upsert_item`] makes
    /// for one (the item's and its provenance's last sighting), checked against the row id,
    /// the remote id and the stored file. Returns false, having written nothing, when the row
    /// is not that item with that file any more (the caller then takes `upsert_item`).
    ///
    /// # Errors
    /// The index's.
    pub fn record_sighting(
        &self,
        seen: &Unchanged,
        remote_id: &str,
        run_id: i64,
        source: Source,
    ) -> Result<bool> {
        self.tx(|tx| {
            let t = now();
            let n = tx
                .prepare_cached(
                    "UPDATE items SET last_seen = ?2, seen_run = ?3
                     WHERE id = ?1 AND remote_id = ?4 AND content_id = ?5",
                )?
                .execute(params![seen.id, t, run_id, remote_id, seen.content_id])?;
            if n == 0 {
                return Ok(false);
            }
            tx.prepare_cached(
                "INSERT INTO provenance (item_id, source, source_ref, first_seen, last_seen)
                 VALUES (?1, ?2, NULL, ?3, ?3)
                 ON CONFLICT (item_id, source) DO UPDATE SET last_seen = ?3",
            )?
            .execute(params![seen.id, source, t])?;
            Ok(true)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::Account;
    use crate::index::tests::index_with_account;
    use crate::kinds::TimeSource;

    fn listed(n: usize) -> ItemMeta {
        ItemMeta {
            filename: format!("IMG_{n}.jpg"),
            mime_type: Some("image/jpeg".into()),
            description: Some(String::new()),
            taken_at: Some(1_600_000_000 + n as i64),
            taken_source: Some(TimeSource::Api),
            width: Some(640),
            height: Some(480),
            camera_make: n.is_multiple_of(2).then(|| "Sony".into()),
            version: Some(format!("v{n}")),
            ..Default::default()
        }
    }

    /// Items `r0` … of the account listed by a first run, each with a stored file but
    /// `without`.
    fn stored_items(index: &Index, acc: &Account, n: usize, without: Option<usize>) {
        let first = index.begin_run("backup", Some(acc.id)).unwrap();
        for i in 0..n {
            let st = index
                .upsert_item(
                    acc.id,
                    &format!("r{i}"),
                    &listed(i),
                    first,
                    Source::Library,
                    None,
                )
                .unwrap();
            if Some(i) != without {
                index.test_content(
                    &format!("g/a/{i}.jpg"),
                    format!("{i}").as_bytes(),
                    None,
                    Some(st.id),
                );
            }
        }
    }

    /// What the index says of an item: (seen_run, last_seen, provenance's last_seen).
    fn sighting(index: &Index, remote_id: &str) -> (Option<i64>, i64, i64) {
        index
            .with(|c| {
                Ok(c.query_row(
                    "SELECT i.seen_run, i.last_seen, p.last_seen FROM items i
                     JOIN provenance p ON p.item_id = i.id WHERE i.remote_id = ?1",
                    [remote_id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )?)
            })
            .unwrap()
    }

    /// Of many stored items listed again, exactly the unchanged ones are recognised: one
    /// changed field among many, a changed version, a field given where none was stored, a
    /// field given that a Library listing never gives, an item without a stored file, an item
    /// the index does not hold. Each recognised one is what `upsert_item` finds for it, and its
    /// sighting is the writes `upsert_item` makes for an unchanged item.
    #[test]
    fn one_changed_item_among_many_is_not_recognised_as_unchanged() {
        let (_t, index, acc) = index_with_account();
        let n = 200;
        // Item 7 has no stored file yet.
        stored_items(&index, &acc, n, Some(7));
        let run = index.begin_run("backup", Some(acc.id)).unwrap();
        let mut known = index.known_items(acc.id, run, usize::MAX).unwrap().unwrap();
        assert_eq!(known.len(), n - 1, "every item with a stored file");
        let mut changed: Vec<(usize, ItemMeta)> = vec![
            (
                3,
                ItemMeta {
                    width: Some(641),
                    ..listed(3)
                },
            ),
            (
                50,
                ItemMeta {
                    filename: "renamed.jpg".into(),
                    ..listed(50)
                },
            ),
            (
                51,
                ItemMeta {
                    version: Some("v51 edited".into()),
                    ..listed(51)
                },
            ),
            // Stored as NULL (odd items have no camera): a value given now is a change.
            (
                99,
                ItemMeta {
                    camera_make: Some("Sony".into()),
                    ..listed(99)
                },
            ),
            // Stored "Sony", given as None: no change by upsert_item's rule, but not provable
            // from the fingerprint, so it takes the lookup.
            (
                100,
                ItemMeta {
                    camera_make: None,
                    ..listed(100)
                },
            ),
            // A field no Library listing gives.
            (
                120,
                ItemMeta {
                    latitude: Some(1.5),
                    ..listed(120)
                },
            ),
            (
                150,
                ItemMeta {
                    description: Some("a caption".into()),
                    ..listed(150)
                },
            ),
        ];
        changed.push((7, listed(7)));
        for i in 0..n {
            let meta = changed
                .iter()
                .find(|(c, _)| *c == i)
                .map_or_else(|| listed(i), |(_, m)| m.clone());
            let remote = format!("r{i}");
            let recognised = known.unchanged(&remote, &meta);
            let is_special = changed.iter().any(|(c, _)| *c == i);
            assert_eq!(recognised.is_some(), !is_special, "item {i}");
            let Some(u) = recognised else { continue };
            assert!(!u.seen_this_run);
            assert!(
                index
                    .record_sighting(&u, &remote, run, Source::Library)
                    .unwrap()
            );
            let (seen_run, last_seen, prov_seen) = sighting(&index, &remote);
            assert_eq!(seen_run, Some(run));
            assert_eq!(last_seen, prov_seen);
        }
        assert!(known.unchanged("r-unknown", &listed(1)).is_none());
        // The upsert's verdict on the same items agrees: the recognised ones are unchanged.
        let third = index.begin_run("backup", Some(acc.id)).unwrap();
        for i in [0, 1, 2, 60, 199] {
            let st = index
                .upsert_item(
                    acc.id,
                    &format!("r{i}"),
                    &listed(i),
                    third,
                    Source::Library,
                    None,
                )
                .unwrap();
            assert!(
                !st.meta_changed && !st.version_changed && !st.seen_this_run,
                "item {i}"
            );
        }
        for (i, meta) in &changed {
            let st = index
                .upsert_item(acc.id, &format!("r{i}"), meta, third, Source::Library, None)
                .unwrap();
            let expected = *i != 7 && *i != 100;
            assert_eq!(st.meta_changed || st.version_changed, expected, "item {i}");
        }
    }

    /// Past the bound nothing is read (the caller looks items up one by one); at it, all is.
    #[test]
    fn an_account_past_the_bound_is_not_read() {
        let (_t, index, acc) = index_with_account();
        stored_items(&index, &acc, 5, None);
        let run = index.begin_run("backup", Some(acc.id)).unwrap();
        assert!(index.known_items(acc.id, run, 4).unwrap().is_none());
        let known = index.known_items(acc.id, run, 5).unwrap().unwrap();
        assert_eq!(known.len(), 5);
    }

    /// A key two or three remote ids share leaves every one of them out; the others stay.
    #[test]
    fn shared_keys_are_left_out() {
        let entry = |key: u64| Known {
            key,
            id: key as i64 * 10,
            content_id: 0,
            fingerprint: [0; 16],
        };
        let mut known: Vec<Known> = [1, 2, 2, 3, 3, 3, 4, 5, 5].map(entry).to_vec();
        drop_shared_keys(&mut known);
        let left: Vec<(u64, i64)> = known.iter().map(|k| (k.key, k.id)).collect();
        assert_eq!(left, vec![(1, 10), (4, 40)]);
        let mut none: Vec<Known> = Vec::new();
        drop_shared_keys(&mut none);
        assert!(none.is_empty());
    }

    /// The sighting's write checks the row: another file or another remote id than the known
    /// ones writes nothing (the caller then takes `upsert_item`), and a second listing in the
    /// same run is reported as one.
    #[test]
    fn a_sighting_of_a_stale_entry_writes_nothing() {
        let (_t, index, acc) = index_with_account();
        let first = index.begin_run("backup", Some(acc.id)).unwrap();
        let st = index
            .upsert_item(acc.id, "r1", &listed(1), first, Source::Library, None)
            .unwrap();
        let c1 = index.test_content("g/a/1.jpg", b"1", None, Some(st.id));
        let run = index.begin_run("backup", Some(acc.id)).unwrap();
        let mut known = index.known_items(acc.id, run, usize::MAX).unwrap().unwrap();
        let u = known.unchanged("r1", &listed(1)).unwrap();
        assert_eq!((u.id, u.content_id), (st.id, c1));
        let before = sighting(&index, "r1");
        let wrong_file = Unchanged {
            content_id: c1 + 1,
            ..u
        };
        assert!(
            !index
                .record_sighting(&wrong_file, "r1", run, Source::Library)
                .unwrap()
        );
        assert!(
            !index
                .record_sighting(&u, "r2", run, Source::Library)
                .unwrap()
        );
        assert_eq!(sighting(&index, "r1"), before, "nothing written");
        assert!(
            index
                .record_sighting(&u, "r1", run, Source::Library)
                .unwrap()
        );
        known.seen(&u);
        assert!(known.unchanged("r1", &listed(1)).unwrap().seen_this_run);
        // Read again in the same run, the row's sighting says so; in the next, it does not.
        let again = index
            .known_items(acc.id, run, usize::MAX)
            .unwrap()
            .unwrap()
            .unchanged("r1", &listed(1));
        assert!(again.unwrap().seen_this_run);
        let next = index.begin_run("backup", Some(acc.id)).unwrap();
        let later = index
            .known_items(acc.id, next, usize::MAX)
            .unwrap()
            .unwrap()
            .unchanged("r1", &listed(1));
        assert!(!later.unwrap().seen_this_run);
        known.forget("r1");
        assert!(known.unchanged("r1", &listed(1)).is_none());
        assert!(known.is_empty());
    }
}
