//! Which item an archive entry is: the identity rules of the module docs. What crosses entries
//! is decided for the whole export before anything is recorded (copies of one item in several
//! folders must agree); each entry's id then as it is recorded, a variant's from its
//! original's.

use std::collections::{HashMap, HashSet};

use photobak_takeout::{Catalog, Folder, MediaEntry, SidecarRef, Variant};

/// `path (suffix)` of every edited variant the reader recognised by structure.
///
/// # Errors
/// When the catalog's store cannot be read back.
pub(super) fn inferred_edits(catalog: &Catalog) -> std::io::Result<Vec<String>> {
    let mut out = Vec::new();
    for m in catalog.media.in_record_order() {
        let m = m?;
        if m.duplicate_of.is_none()
            && let Some(s) = m.matched_by.inferred_suffix()
        {
            out.push(format!("{} ({s})", m.path));
        }
    }
    Ok(out)
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

/// What decides the item id of every media entry of an export (see the module docs), made
/// once before the record pass: the url-less identities the export does not contradict.
///
/// Without a `url`, the copies of a photo in its year folder and its album folders share
/// title, capture time and size; a key shared by entries the export itself tells apart is not
/// used: two entries in one folder are two items (Google writes an item once per folder, with
/// `(N)` counters for different items of the same name), and different CRC-32s (zip parts
/// list them) are different bytes. Parts without CRCs (tar, folders) rely on the three fields.
///
/// An entry's id is then decided when it is recorded ([`Identities::id_with`]): its own, from
/// its sidecar (read back from the catalog's store), or, for a variant or a same-path
/// duplicate, derived from its original's, whose entry is read back by id. Nothing is held
/// per entry: every id decided up front was held until the record pass took it, some 8 MB
/// at 100,000 items (BENCHMARKS.md, session 12), and the ids do not depend on the order they
/// are decided in.
pub(super) struct Identities {
    trusted: HashSet<MetaKey>,
    /// (title, time) → the trusted ids of originals with that sidecar, for an edited variant
    /// whose original is not beside it.
    by_title_time: HashMap<(String, i64), HashSet<String>>,
}

impl Identities {
    /// Reads every original's sidecar once, in record order (the order the scan wrote them
    /// in: few reads of its store).
    ///
    /// # Errors
    /// When the catalog's store cannot be read back.
    pub(super) fn of(catalog: &Catalog) -> std::io::Result<Identities> {
        // The copies of each key: their folder (by a hash of its path: two folders taken for
        // one only keep a key from being trusted) and their CRC-32.
        let mut groups: HashMap<MetaKey, Vec<(u64, Option<u32>)>> = HashMap::new();
        for e in catalog.media.in_record_order() {
            let e = e?;
            if e.duplicate_of.is_some() {
                continue;
            }
            if let Some(k) = meta_key(&e, catalog.sidecar(&e)?.as_ref()) {
                groups
                    .entry(k)
                    .or_default()
                    .push((folder_hash(e.folder_path()), e.crc32()));
            }
        }
        let trusted: HashSet<MetaKey> = groups
            .into_iter()
            .filter(|(_, copies)| {
                let mut folders = HashSet::new();
                let one_per_folder = copies.iter().all(|c| folders.insert(c.0));
                let mut crcs: Vec<u32> = copies.iter().filter_map(|c| c.1).collect();
                crcs.sort_unstable();
                crcs.dedup();
                one_per_folder && crcs.len() <= 1
            })
            .map(|(k, _)| k)
            .collect();
        let mut by_title_time: HashMap<(String, i64), HashSet<String>> = HashMap::new();
        for k in &trusted {
            by_title_time
                .entry((k.0.clone(), k.1))
                .or_default()
                .insert(meta_id(k));
        }
        Ok(Identities {
            trusted,
            by_title_time,
        })
    }

    /// The item id of entry `e`, its sidecar read here (tests; the record pass has read it).
    ///
    /// # Errors
    /// When a sidecar or an original's entry cannot be read back from the catalog's store.
    #[cfg(test)]
    pub(super) fn id_of(&self, catalog: &Catalog, e: &MediaEntry) -> std::io::Result<String> {
        self.id_at(catalog, e, None, 0)
    }

    /// The item id of entry `e`, whose sidecar the caller has read already.
    ///
    /// # Errors
    /// When an original's entry, or its sidecar, cannot be read back from the catalog's store.
    pub(super) fn id_with(
        &self,
        catalog: &Catalog,
        e: &MediaEntry,
        sidecar: Option<&SidecarRef>,
    ) -> std::io::Result<String> {
        self.id_at(catalog, e, Some(sidecar), 0)
    }

    /// `known`: the entry's sidecar when the caller read it (not read again).
    fn id_at(
        &self,
        catalog: &Catalog,
        e: &MediaEntry,
        known: Option<Option<&SidecarRef>>,
        depth: usize,
    ) -> std::io::Result<String> {
        // A variant's or a duplicate's id derives from its parent's (a depth cap guards
        // against a malformed catalog linking in circles); only an id that does not derive
        // from another entry's reads the entry's sidecar.
        let parent = match e.variant {
            _ if e.duplicate_of.is_some() => e.duplicate_of,
            Variant::Edited { original: Some(o) } => Some(o),
            Variant::LiveCompanion { still: Some(o) } => Some(o),
            _ => None,
        }
        .filter(|_| depth < 8);
        if let Some(o) = parent {
            let base = self.id_at(catalog, &catalog.media.get(o as usize)?, None, depth + 1)?;
            return Ok(match e.variant {
                _ if e.duplicate_of.is_some() => base,
                Variant::Edited { .. } => format!("{base}#edited"),
                _ => format!("{base}#live"),
            });
        }
        let read;
        let sidecar = match known {
            Some(s) => s,
            None => {
                read = catalog.sidecar(e)?;
                read.as_ref()
            }
        };
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
            .and_then(|s| s.photo_key())
            .filter(|key| !key.is_empty())
            .map(|key| format!("takeout:{key}"));
        Ok(match e.variant {
            // An edited variant whose original is not in its folder: the original's id from
            // the shared sidecar, never the original's own id (that would make the edit and
            // the original one item).
            Variant::Edited { original: None } => {
                let sc = sidecar;
                let via_meta = sc.and_then(|sc| {
                    let set = self
                        .by_title_time
                        .get(&(sc.title().to_owned(), sc.photo_taken_time?))?;
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
                match (url_key, meta_key(e, sidecar)) {
                    (Some(id), _) => id,
                    (None, Some(k)) if self.trusted.contains(&k) => meta_id(&k),
                    _ => folder_scoped(),
                }
            }
        })
    }
}

/// A folder path's hash, to tell the folders of a key's copies apart within one import.
fn folder_hash(path: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    path.hash(&mut h);
    h.finish()
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

    /// The ids are the same whatever order they are decided in (the record pass's, or by id
    /// from the last), and whether the catalog is in spill files or in memory: a variant's and
    /// a duplicate's derive from their original's, read back by id.
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
            let spill = photobak_takeout::Spill::files(tempfile::tempfile).unwrap();
            let catalog = photobak_takeout::scan_into(parts, &Limits::default(), spill).unwrap();
            let ids = Identities::of(&catalog).unwrap();
            let mut in_order = vec![String::new(); catalog.media.len()];
            for m in catalog.media.in_record_order() {
                let m = m.unwrap();
                let url_less = catalog
                    .sidecar(&m)
                    .unwrap()
                    .is_some_and(|s| s.photo_key().is_none());
                let kinds = [
                    matches!(m.variant, Variant::Edited { original: Some(_) }),
                    matches!(m.variant, Variant::Edited { original: None }),
                    matches!(m.variant, Variant::LiveCompanion { .. }),
                    m.duplicate_of.is_some(),
                    url_less,
                ];
                for (n, k) in seen.iter_mut().zip(kinds) {
                    *n += usize::from(k);
                }
                in_order[m.index()] = ids.id_of(&catalog, &m).unwrap();
            }
            let by_id_reversed: Vec<String> = {
                let mut v: Vec<String> = (0..catalog.media.len())
                    .rev()
                    .map(|i| ids.id_of(&catalog, &catalog.media.get(i).unwrap()).unwrap())
                    .collect();
                v.reverse();
                v
            };
            assert_eq!(by_id_reversed, in_order, "{parts:?}");
            let in_memory = scan(parts, &Limits::default()).unwrap();
            let mem_ids = Identities::of(&in_memory).unwrap();
            let from_memory: Vec<String> = in_memory
                .media
                .to_vec()
                .unwrap()
                .iter()
                .map(|m| mem_ids.id_of(&in_memory, m).unwrap())
                .collect();
            assert_eq!(from_memory, in_order, "{parts:?}");
            // The derived ids are their originals' with the variant's mark.
            for (i, id) in in_order.iter().enumerate() {
                let m = catalog.media.get(i).unwrap();
                match m.variant {
                    _ if m.duplicate_of.is_some() => {
                        assert_eq!(*id, in_order[m.duplicate_of.unwrap() as usize]);
                    }
                    Variant::Edited { original: Some(o) } => {
                        assert_eq!(*id, format!("{}#edited", in_order[o as usize]));
                    }
                    Variant::LiveCompanion { still: Some(o) } => {
                        assert_eq!(*id, format!("{}#live", in_order[o as usize]));
                    }
                    Variant::Edited { original: None } => {
                        assert!(id.ends_with("#edited") || id.starts_with("takeout-file:"));
                    }
                    _ => assert!(!id.contains('#') || id.starts_with("takeout-file:"), "{id}"),
                }
            }
        }
        // Every way an id derives from another's is there.
        assert!(
            seen.iter().all(|&n| n > 0),
            "edited, edited without original, live, duplicates, without url: {seen:?}"
        );
    }
}
