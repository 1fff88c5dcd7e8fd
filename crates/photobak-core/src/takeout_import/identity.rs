//! Which item an archive entry is: the identity rules of the module docs, decided for every
//! entry of an export before anything is recorded (copies of one item in several folders must
//! agree, and a variant's id derives from its original's).

use photobak_takeout::{Catalog, Folder, MediaEntry, SidecarRef, Variant};

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

/// The sidecar identity of an original (not of a variant, whose sidecar is its original's);
/// `sc` is its sidecar.
pub(super) fn meta_key(e: &MediaEntry, sc: Option<&SidecarRef>) -> Option<MetaKey> {
    if matches!(
        e.variant,
        Variant::Edited { .. } | Variant::LiveCompanion { .. }
    ) {
        return None;
    }
    let sc = sc?;
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
/// The sidecars are read back from the catalog's store where they are used, not held: every
/// original's for the url-less keys, then again for its id (the record pass reads it a third
/// time); the id of a variant, or of a same-path duplicate, derives from its original's, which
/// the recursion decides and memoises first, so its own sidecar is not read.
///
/// Decided in `order` (every entry once), the order the record pass takes them in: each id
/// is then freed in the order it was made, so the allocator's pages empty as the record pass
/// goes. Decided in archive order, they were freed scattered over pages that stayed: the
/// record pass's active pages grew by 5 MB (its resident memory by 8) while its heap shrank by
/// 16, which made its end the first import's peak at 100,000 items (session 10). The ids
/// themselves do not depend on the order.
///
/// # Errors
/// When a sidecar cannot be read back from the catalog's spill file.
pub(super) fn remote_ids_of(catalog: &Catalog, order: &[usize]) -> std::io::Result<Vec<Box<str>>> {
    debug_assert_eq!(order.len(), catalog.media.len(), "every entry in the order");
    use std::collections::{HashMap, HashSet};
    let mut groups: HashMap<MetaKey, Vec<&MediaEntry>> = HashMap::new();
    // In `order` too: the store gives sidecars back fastest in the order the scan wrote them,
    // a folder's by name, which is the record pass's.
    let originals = order.iter().map(|&i| &catalog.media[i]);
    for e in originals.filter(|e| e.duplicate_of.is_none()) {
        if let Some(k) = meta_key(e, catalog.sidecar(e)?.as_ref()) {
            groups.entry(k).or_default().push(e);
        }
    }
    // Owned: the sidecars these keys came from are not held.
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
    ) -> std::io::Result<String> {
        if !ids[i].is_empty() {
            return Ok(ids[i].to_string());
        }
        let e = &catalog.media[i];
        // Only an id that does not derive from another entry's reads the entry's sidecar.
        let derived = depth < 8
            && (e.duplicate_of.is_some()
                || matches!(
                    e.variant,
                    Variant::Edited { original: Some(_) }
                        | Variant::LiveCompanion { still: Some(_) }
                ));
        let sidecar = if derived { None } else { catalog.sidecar(e)? };
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
        let url_key = sidecar
            .as_ref()
            .and_then(|s| s.photo_key())
            .filter(|key| !key.is_empty())
            .map(|key| format!("takeout:{key}"));
        let id = match e.variant {
            // A duplicate path, or a variant whose parent is known: derived from the parent
            // (a depth cap guards against a malformed catalog linking in circles).
            _ if e.duplicate_of.is_some() && depth < 8 => {
                let first = e.duplicate_of.expect("checked");
                id_of(
                    catalog,
                    first as usize,
                    ids,
                    trusted,
                    by_title_time,
                    depth + 1,
                )?
            }
            Variant::Edited { original: Some(o) } if depth < 8 => format!(
                "{}#edited",
                id_of(catalog, o as usize, ids, trusted, by_title_time, depth + 1)?
            ),
            Variant::LiveCompanion { still: Some(o) } if depth < 8 => format!(
                "{}#live",
                id_of(catalog, o as usize, ids, trusted, by_title_time, depth + 1)?
            ),
            // An edited variant whose original is not in its folder: the original's id from
            // the shared sidecar, never the original's own id (that would make the edit and
            // the original one item).
            Variant::Edited { original: None } => {
                let sc = sidecar.as_ref();
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
                match (url_key, meta_key(e, sidecar.as_ref())) {
                    (Some(id), _) => id,
                    (None, Some(k)) if trusted.contains(&k) => meta_id(&k),
                    _ => folder_scoped(),
                }
            }
        };
        ids[i] = id.as_str().into();
        Ok(id)
    }
    for &i in order {
        id_of(catalog, i, &mut ids, &trusted, &by_title_time, 0)?;
    }
    debug_assert!(ids.iter().all(|id| !id.is_empty()), "every entry decided");
    Ok(ids)
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

#[cfg(test)]
mod tests {
    use super::*;
    use photobak_takeout::{Limits, scan};
    use photobak_testkit::takeout_gen::{
        AlbumSpec, ArchiveFormat, ExportSpec, ItemSpec, Live, Place, TakenAt, realistic_export,
        write_export,
    };

    /// An export with what the realistic one lacks: url-less copies in a year and an album
    /// folder (one item by title, time and size), an edit of a url-less photo, an edit whose
    /// original was not exported, and one path listed in two parts.
    fn quirks(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
        let mut spec = ExportSpec::new("20250921T101010Z").format(ArchiveFormat::Folder);
        spec.albums = vec![AlbumSpec::new("Trip")];
        let at = |t: i64| TakenAt::At(1_600_000_000 + t);
        spec.items = vec![
            ItemSpec::new("copies", "IMG_0001.jpg")
                .taken(at(1))
                .no_url()
                .places(&[Place::Year, Place::Album(0)]),
            ItemSpec::new("edited", "IMG_0002.jpg")
                .taken(at(2))
                .no_url()
                .edited("-edited"),
            ItemSpec::new("lost", "IMG_0003.jpg")
                .taken(at(3))
                .no_url()
                .edited("-edited")
                .places(&[Place::Year, Place::Album(0)]),
            ItemSpec::new("live", "IMG_0004.HEIC")
                .taken(at(4))
                .live(Live::Mov),
        ];
        let parts = write_export(&spec, dir).unwrap();
        let files: Vec<_> = parts.iter().flat_map(|p| walk(p)).collect();
        // The original of `lost` gone from its year folder: the edit there has only its
        // sidecar, the album folder has both.
        let original = files
            .iter()
            .find(|f| f.ends_with("IMG_0003.jpg") && !f.parent().unwrap().ends_with("Trip"))
            .unwrap();
        std::fs::remove_file(original).unwrap();
        // The first part's first photo again, at the same path in a second part.
        let copy = dir.join("again");
        let first = parts[0].clone();
        let photo = walk(&first)
            .into_iter()
            .find(|p| p.extension().is_some_and(|e| e == "jpg"))
            .unwrap();
        let to = copy.join(photo.strip_prefix(&first).unwrap());
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(&photo, &to).unwrap();
        parts.into_iter().chain([copy]).collect()
    }

    fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
        out.sort();
        out
    }

    /// The ids are the same whatever order they are decided in (the record pass's, or
    /// archive order): a variant's and a duplicate's derive from their original's through the
    /// memoised recursion. Decided from a catalog whose sidecars are in a spill file, read
    /// back in both orders.
    #[test]
    fn ids_do_not_depend_on_the_order_they_are_decided_in() {
        let t = tempfile::tempdir().unwrap();
        let mut exports = vec![quirks(&t.path().join("quirks"))];
        for seed in [1, 2] {
            let out = t.path().join(format!("realistic-{seed}"));
            exports.push(write_export(&realistic_export(seed), &out).unwrap());
        }
        let mut seen = [0usize; 5];
        for parts in &exports {
            let spill = photobak_takeout::Spill::File(tempfile::tempfile().unwrap());
            let catalog = photobak_takeout::scan_into(parts, &Limits::default(), spill).unwrap();
            let url_less = |e: &MediaEntry| {
                catalog
                    .sidecar(e)
                    .unwrap()
                    .is_some_and(|s| s.photo_key().is_none())
            };
            for m in &catalog.media {
                let kinds = [
                    matches!(m.variant, Variant::Edited { original: Some(_) }),
                    matches!(m.variant, Variant::Edited { original: None }),
                    matches!(m.variant, Variant::LiveCompanion { .. }),
                    m.duplicate_of.is_some(),
                    url_less(m),
                ];
                for (n, k) in seen.iter_mut().zip(kinds) {
                    *n += usize::from(k);
                }
            }
            let n = catalog.media.len();
            let in_order: Vec<usize> = (0..n).collect();
            let reversed: Vec<usize> = (0..n).rev().collect();
            let ids = remote_ids_of(&catalog, &in_order).unwrap();
            assert_eq!(
                remote_ids_of(&catalog, &reversed).unwrap(),
                ids,
                "{parts:?}"
            );
            let in_memory = scan(parts, &Limits::default()).unwrap();
            assert_eq!(
                remote_ids_of(&in_memory, &reversed).unwrap(),
                ids,
                "{parts:?}"
            );
        }
        // Every way an id derives from another's is there.
        assert!(
            seen.iter().all(|&n| n > 0),
            "edited, edited without original, live, duplicates, without url: {seen:?}"
        );
    }
}
