//! One folder's media paired with its sidecars: the folder's JSON read and parsed where it is
//! used, the folder classified (year, album, special), the matcher's outcome applied to the
//! media entries, and the folder's JSON released.

use super::*;

impl Builder {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn match_group(
        &mut self,
        g: Group,
        // The folder's JSON entries (`PlacedStore::take_jsons`).
        jsons: Vec<PlacedJson>,
        // The folder's media entries (`Group::take_entries`).
        media: &mut [MediaEntry],
        albums: &mut Vec<AlbumInfo>,
        unmatched_sidecars: &mut Vec<String>,
        ambiguous: &mut Vec<(String, Vec<String>)>,
    ) -> std::io::Result<()> {
        // What the catalog keeps of each sidecar, from here on: a parsed `Sidecar` for every
        // JSON of the folder until the folder was matched made the scan's peak grow with the
        // largest folder (the heap rose and fell by some 15 MB with each year folder of a
        // 100,000-item export).
        let mut sidecars: Vec<Folded> = Vec::with_capacity(jsons.len());
        let mut album: Option<(json::AlbumMeta, String)> = None;
        for j in jsons {
            if j.skip {
                continue;
            }
            let (p, mut e) = (j.part as usize, j.entry);
            // Each JSON is read once, here: its bytes are not needed after.
            let Some(data) = self.read_json(p, &mut e, true, true) else {
                continue; // too large or unreadable: already a problem
            };
            let (at, path, size) = (e.at(), self.listings[p].1.path(&e), e.size);
            let hash = content_hash(&data);
            let part = self.part_path(p).to_path_buf();
            let name = e.name.to_string();
            let res = json::parse_bytes(&data);
            drop(data);
            let v = match &res {
                Ok(v) => v,
                Err(msg) => {
                    self.problems.push(Problem::new(
                        &part,
                        Some(&path),
                        ProblemKind::BadJson,
                        msg.clone(),
                    ));
                    continue;
                }
            };
            match json::classify_at(&name, v, &path, p, at.map(|at| (at, size))) {
                Ok(JsonKind::Sidecar(s)) => {
                    for msg in json::time_problems(v) {
                        self.problems.push(Problem::new(
                            &part,
                            Some(&path),
                            ProblemKind::MissingTime,
                            msg,
                        ));
                    }
                    let composition = matches!(s.origin, Some(Origin::Composition { .. }));
                    sidecars.push(Folded {
                        sidecar: s.to_ref(),
                        hash,
                        composition,
                    });
                }
                Ok(JsonKind::Album(a)) => {
                    if album.is_some() {
                        self.problems.push(Problem::new(
                            &part,
                            Some(&path),
                            ProblemKind::Duplicate,
                            "a second album metadata file in this folder; ignored",
                        ));
                    } else {
                        album = Some((a, path.to_string()));
                    }
                }
                Ok(JsonKind::Other) => {
                    let known = json::IGNORED_JSON
                        .iter()
                        .any(|n| n.eq_ignore_ascii_case(&name));
                    if !known && !g.dirs.is_empty() {
                        self.problems.push(Problem::new(
                            &part,
                            Some(&path),
                            ProblemKind::Ignored,
                            "JSON that is neither a sidecar nor album metadata; ignored",
                        ));
                    }
                }
                Err(msg) => {
                    self.problems
                        .push(Problem::new(&part, Some(&path), ProblemKind::BadJson, msg))
                }
            }
        }

        let folder = match g.dirs.len() {
            0 => Folder::Other(Box::default()),
            1 => {
                let years: Vec<i32> = sidecars
                    .iter()
                    .filter_map(|f| f.sidecar.photo_taken_time.map(year_of_epoch))
                    .collect();
                let meta = album
                    .as_ref()
                    .map(|(a, _)| (a.title.as_str(), a.description.as_deref()));
                folders::classify(&g.dirs[0], meta, &years)
            }
            _ => Folder::Other(g.dirs.join("/").into()),
        };
        if let Folder::Album(names) = &folder {
            let (folder_name, title, description) =
                (&names.folder_name, &names.title, &names.description);
            let folder_path = media
                .first()
                .map(|m| m.folder_path().to_owned())
                .unwrap_or_else(|| {
                    let mut p = if g.product.is_empty() {
                        vec![]
                    } else {
                        vec!["Takeout".to_owned(), g.product.clone()]
                    };
                    p.extend(g.dirs.iter().cloned());
                    p.join("/")
                });
            albums.push(AlbumInfo {
                folder_name: folder_name.to_string(),
                folder_path,
                title: title.to_string(),
                description: description.as_deref().map(str::to_owned),
                metadata_path: album.as_ref().map(|(_, p)| p.clone()),
                metadata: album.as_ref().map(|(a, _)| a.clone()),
            });
        }

        let ids: Vec<usize> = (0..media.len())
            .filter(|&m| media[m].duplicate_of.is_none())
            .collect();
        let names_: Vec<&str> = ids.iter().map(|&m| media[m].file_name()).collect();
        let ins: Vec<SidecarIn<'_>> = sidecars
            .iter()
            .map(|f| SidecarIn {
                name: f.name(),
                title: f.sidecar.title(),
                content: f.hash,
            })
            .collect();
        let result = matcher::match_folder(&names_, &ins);
        drop(ins);
        let path_of = |i: usize| sidecars[i].sidecar.json_path().to_owned();
        let by_name: HashMap<&str, usize> = sidecars
            .iter()
            .enumerate()
            .map(|(i, f)| (f.name(), i))
            .collect();
        // Each sidecar applied goes to the store once, however many media share it (an edited
        // variant's is its original's), in the order of its media's names: the import reads
        // them back folder by folder in that order (its record order), so that one read of the
        // store serves the next few hundred. Written in archive order, they were read back
        // scattered, a read of the store's file per sidecar.
        let mut in_name_order: Vec<usize> = (0..ids.len()).collect();
        in_name_order.sort_by_key(|&k| media[ids[k]].record_key());
        let mut stored: Vec<Option<crate::SidecarId>> = vec![None; sidecars.len()];
        for k in in_name_order {
            if let Some(i) = result.outcomes[k].sidecar
                && stored[i].is_none()
            {
                stored[i] = Some(self.sidecars.push(&sidecars[i].sidecar, sidecars[i].hash)?);
            }
        }
        let mut updates = Vec::with_capacity(ids.len());
        for (k, o) in result.outcomes.into_iter().enumerate() {
            let id = ids[k];
            let composition = o.sidecar.is_some_and(|i| sidecars[i].composition);
            let mut variant = match o.variant {
                LocalVariant::Original => Variant::Original,
                LocalVariant::Creation => Variant::Creation,
                LocalVariant::Edited(x) => Variant::Edited {
                    original: x.map(|l| media[ids[l]].id),
                },
                LocalVariant::LiveCompanion(x) => Variant::LiveCompanion {
                    still: x.map(|l| media[ids[l]].id),
                },
            };
            if variant == Variant::Original && composition {
                variant = Variant::Creation;
            }
            let rule = match o.rule {
                MatchRule::Ambiguous { candidates } => {
                    let paths: Vec<String> = candidates
                        .iter()
                        .map(|n| {
                            by_name
                                .get(n.as_str())
                                .map_or_else(|| n.clone(), |&i| path_of(i))
                        })
                        .collect();
                    ambiguous.push((media[id].path.to_string(), paths.clone()));
                    MatchRule::Ambiguous {
                        candidates: paths.into(),
                    }
                }
                other => other,
            };
            updates.push((id, o.sidecar, rule, variant));
        }
        unmatched_sidecars.extend(result.unmatched.into_iter().map(path_of));
        drop(by_name);
        drop(sidecars);
        for (id, sidecar, rule, variant) in updates {
            let m = &mut media[id];
            m.sidecar = sidecar.and_then(|i| stored[i]);
            m.matched_by = rule;
            m.variant = variant;
            m.folder = folder.clone();
        }
        for m in media.iter_mut() {
            m.folder = folder.clone();
            // Special folders are no albums; what makes them special is reported per file so
            // the importer can say it (the reader knows nothing of where files are stored).
            let note = match folder {
                Folder::FailedVideos => Some((
                    ProblemKind::FailedVideo,
                    "in Google's Failed Videos folder: Google could not process this video",
                )),
                Folder::LockedFolder => Some((
                    ProblemKind::LockedFolder,
                    "in the Locked Folder: private in Google Photos",
                )),
                _ => None,
            };
            if let Some((kind, msg)) = note
                && m.duplicate_of.is_none()
            {
                let part = self.part_path(m.part()).to_path_buf();
                let path = m.path.clone();
                self.problems
                    .push(Problem::new(&part, Some(&path), kind, msg));
            }
        }
        Ok(())
    }
}

/// One sidecar of the folder being matched: what the catalog keeps of it, and what the matcher
/// needs besides.
struct Folded {
    sidecar: SidecarRef,
    /// The hash of its bytes (identical sidecars of a photo's copies in other folders).
    hash: u64,
    /// Google made it (`googlePhotosOrigin.composition`): a media entry that is otherwise an
    /// original is a creation.
    composition: bool,
}

impl Folded {
    /// The JSON's file name.
    fn name(&self) -> &str {
        names::last_segment(self.sidecar.json_path())
    }
}
