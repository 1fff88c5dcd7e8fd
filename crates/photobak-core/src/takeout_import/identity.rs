//! Which item an archive entry is: the identity rules of the module docs, decided for every
//! entry of an export before anything is recorded (copies of one item in several folders must
//! agree, and a variant's id derives from its original's).

use photobak_takeout::{Catalog, Folder, MediaEntry, Variant};

/// `path (suffix)` of every edited variant the reader recognised by structure.
pub(super) fn inferred_edits(catalog: &Catalog) -> Vec<String> {
    catalog
        .media
        .iter()
        .filter(|m| m.duplicate_of.is_none())
        .filter_map(|m| {
            m.matched_by
                .inferred_suffix()
                .map(|s| format!("{} ({s})", m.path))
        })
        .collect()
}

/// What names an item whose sidecar has no `url`: its title, capture time and size.
pub(super) type MetaKey = (String, i64, u64);

/// The sidecar identity of an original (not of a variant, whose sidecar is its original's).
pub(super) fn meta_key(e: &MediaEntry) -> Option<MetaKey> {
    if matches!(
        e.variant,
        Variant::Edited { .. } | Variant::LiveCompanion { .. }
    ) {
        return None;
    }
    let sc = e.sidecar.as_ref()?;
    if sc.photo_key().is_some() {
        return None;
    }
    // Without a capture time the title and size alone are too weak (every `IMG_0001.JPG` of
    // the same camera model and quality could share them): no merge.
    Some((sc.title().to_owned(), sc.photo_taken_time?, e.size))
}

/// The item ids of every media entry, by [`MediaEntry::id`] (see the module docs).
///
/// Without a `url`, the copies of a photo in its year folder and its album folders share
/// title, capture time and size; a key shared by entries the export itself tells apart is not
/// used: two entries in one folder are two items (Google writes an item once per folder, with
/// `(N)` counters for different items of the same name), and different CRC-32s (zip parts
/// list them) are different bytes. Parts without CRCs (tar, folders) rely on the three fields.
///
/// Each entry's sidecar names (title, url) are released once its id is decided: nothing reads
/// them after (a variant's id derives from its original's id, decided and memoised first), and
/// together they were some 12 MB held beside the ids until all were decided.
///
/// Decided in `order` (every entry once), the order the record pass takes them in: each id,
/// and each sidecar's path as its names are released, is then freed in the order it was made,
/// so the allocator's pages empty as the record pass goes. Decided in archive order, they were
/// freed scattered over pages that stayed resident: the record pass's resident memory grew by
/// 5 MB while its heap shrank by 16, which made its end the first import's peak at 100,000
/// items.
pub(super) fn remote_ids_of(catalog: &mut Catalog, order: &[usize]) -> Vec<Box<str>> {
    debug_assert_eq!(order.len(), catalog.media.len(), "every entry in the order");
    use std::collections::{HashMap, HashSet};
    let mut groups: HashMap<MetaKey, Vec<&MediaEntry>> = HashMap::new();
    for e in catalog.media.iter().filter(|e| e.duplicate_of.is_none()) {
        if let Some(k) = meta_key(e) {
            groups.entry(k).or_default().push(e);
        }
    }
    // Owned: the catalog's names are released below, while these are still used.
    let trusted: HashSet<MetaKey> = groups
        .into_iter()
        .filter(|(_, copies)| {
            let mut folders = HashSet::new();
            let one_per_folder = copies.iter().all(|e| folders.insert(e.folder_path()));
            let mut crcs: Vec<u32> = copies.iter().filter_map(|e| e.crc32()).collect();
            crcs.sort_unstable();
            crcs.dedup();
            one_per_folder && crcs.len() <= 1
        })
        .map(|(k, _)| k)
        .collect();
    // (title, time) → the trusted ids of originals with that sidecar, for an edited variant
    // whose original is not beside it.
    let mut by_title_time: HashMap<(&str, i64), HashSet<String>> = HashMap::new();
    for k in &trusted {
        by_title_time
            .entry((k.0.as_str(), k.1))
            .or_default()
            .insert(meta_id(k));
    }

    // Boxed to their length as they are made, empty until then (no id is empty): held for
    // every entry until the record pass takes each. A vector of `Option<String>` first, boxed
    // after, made a spike of some 10 MB just after the scan.
    let mut ids: Vec<Box<str>> = vec![Box::default(); catalog.media.len()];
    fn id_of(
        catalog: &Catalog,
        i: usize,
        ids: &mut Vec<Box<str>>,
        trusted: &HashSet<MetaKey>,
        by_title_time: &HashMap<(&str, i64), HashSet<String>>,
        depth: usize,
    ) -> String {
        if !ids[i].is_empty() {
            return ids[i].to_string();
        }
        let e = &catalog.media[i];
        let folder_scoped = || {
            // No sidecar (or no trustworthy identity): the folder, the name and the size. The
            // size keeps two different photos that happen to share a name across exports
            // (IMG.jpg deleted, IMG(1).jpg renamed IMG.jpg) from collapsing into one item.
            format!(
                "takeout-file:{}/{}#{}",
                folder_key(&e.folder),
                e.file_name(),
                e.size
            )
        };
        let url_key = e
            .sidecar
            .as_ref()
            .and_then(|s| s.photo_key())
            .filter(|key| !key.is_empty())
            .map(|key| format!("takeout:{key}"));
        let id = match e.variant {
            // A duplicate path, or a variant whose parent is known: derived from the parent
            // (a depth cap guards against a malformed catalog linking in circles).
            _ if e.duplicate_of.is_some() && depth < 8 => {
                let first = e.duplicate_of.expect("checked");
                id_of(catalog, first, ids, trusted, by_title_time, depth + 1)
            }
            Variant::Edited { original: Some(o) } if depth < 8 => format!(
                "{}#edited",
                id_of(catalog, o, ids, trusted, by_title_time, depth + 1)
            ),
            Variant::LiveCompanion { still: Some(o) } if depth < 8 => format!(
                "{}#live",
                id_of(catalog, o, ids, trusted, by_title_time, depth + 1)
            ),
            // An edited variant whose original is not in its folder: the original's id from
            // the shared sidecar, never the original's own id (that would make the edit and
            // the original one item).
            Variant::Edited { original: None } => {
                let sc = e.sidecar.as_ref();
                let via_meta = sc.and_then(|sc| {
                    let set = by_title_time.get(&(sc.title(), sc.photo_taken_time?))?;
                    (set.len() == 1)
                        .then(|| set.iter().next().cloned())
                        .flatten()
                });
                match url_key.or(via_meta) {
                    Some(base) => format!("{base}#edited"),
                    None => folder_scoped(),
                }
            }
            Variant::LiveCompanion { .. } => folder_scoped(),
            Variant::Original | Variant::Creation | Variant::Edited { .. } => {
                match (url_key, meta_key(e)) {
                    (Some(id), _) => id,
                    (None, Some(k)) if trusted.contains(&k) => meta_id(&k),
                    _ => folder_scoped(),
                }
            }
        };
        ids[i] = id.as_str().into();
        id
    }
    for &i in order {
        id_of(catalog, i, &mut ids, &trusted, &by_title_time, 0);
        // Decided (and memoised for the entries that derive from it).
        if let Some(sc) = catalog.media[i].sidecar.as_mut() {
            sc.release_names();
        }
    }
    ids
}

/// `takeout-meta:<title>|<photoTakenTime>|<size>`.
pub(super) fn meta_id(k: &MetaKey) -> String {
    format!("takeout-meta:{}|{}|{}", k.0, k.1, k.2)
}

pub(super) fn folder_key(f: &Folder) -> String {
    match f {
        Folder::Year(y) => format!("year:{y}"),
        Folder::Album(a) => format!("album:{}", a.folder_name),
        Folder::Archive => "archive".into(),
        Folder::Trash => "trash".into(),
        Folder::FailedVideos => "failed-videos".into(),
        Folder::LockedFolder => "locked-folder".into(),
        Folder::Other(p) => format!("other:{p}"),
    }
}
