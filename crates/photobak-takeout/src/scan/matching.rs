//! One folder's media paired with its sidecars: the folder's JSON read and parsed where it is
//! used, the folder classified (year, album, special), the folder matched a slice of names at
//! a time (`slices.rs`: what stays in memory is the slice being matched), and its entries
//! given to the catalog in record order with their sidecars.

use super::slices::{self, Folded, Scratch, slice_of};
use super::*;
use crate::sidecars::SidecarId;

/// A sidecar of the folder: its slice, and where [`Scratch`] keeps it.
#[derive(Clone, Copy)]
struct SidecarAt {
    slice: u32,
    at: u64,
}

/// What the JSON of a folder gave: its sidecars, its album metadata and its path, and the
/// sidecars' capture years.
struct FolderJson {
    sidecars: Vec<SidecarAt>,
    album: Option<(json::AlbumMeta, String)>,
    years: folders::SidecarYears,
}

/// Where the matched folder's entries go, and what the scan reports of them.
pub(super) struct Matched<'a> {
    /// The catalog's media entries.
    pub(super) media: &'a mut Media,
    /// Same-path duplicates whose first copy is in a folder matched later.
    pub(super) deferred: &'a mut Vec<MediaEntry>,
    pub(super) albums: &'a mut Vec<AlbumInfo>,
    pub(super) unmatched_sidecars: &'a mut Vec<String>,
    pub(super) ambiguous: &'a mut Vec<(String, Vec<String>)>,
}

impl Builder {
    /// Matches the folder `g` and gives its entries to `out.media` in record order (see the
    /// module docs).
    pub(super) fn match_group(&mut self, g: Group, out: Matched<'_>) -> Result<(), Error> {
        let slices = g
            .placed
            .len()
            .max(g.jsons.len())
            .div_ceil(self.limits.folder_slice.max(1))
            .max(1);
        let mut scratch =
            Scratch::new(self.matching_file.as_ref(), slices > 1).map_err(Error::Spill)?;
        let json = self.read_folder_json(&g, slices, &mut scratch)?;
        scratch.flush().map_err(Error::Spill)?;
        let placed = self
            .placed
            .media_starts(g.placed, |p| slice_of(&p.name, slices))
            .map_err(Error::SpillRead)?;
        let folder =
            self.classify_folder(&g, &json, placed.first().map(|&(at, _)| at), out.albums)?;
        let runs = self.match_slices(
            &g,
            &folder,
            placed,
            &json.sidecars,
            &mut scratch,
            out.unmatched_sidecars,
        )?;
        self.take_merged(&folder, json.sidecars.len(), &scratch, &runs, out)
    }

    /// What the folder `g` is (year, album, special …), from its name, its album metadata and
    /// its sidecars' years; an album's info goes to `albums`, its path that of the folder's
    /// first media entry (placed at `first`) when it has one.
    fn classify_folder(
        &self,
        g: &Group,
        json: &FolderJson,
        first: Option<u64>,
        albums: &mut Vec<AlbumInfo>,
    ) -> Result<Folder, Error> {
        let album = &json.album;
        let folder = match g.dirs.len() {
            0 => Folder::Other(Box::default()),
            1 => {
                let meta = album
                    .as_ref()
                    .map(|(a, _)| (a.title.as_str(), a.description.as_deref()));
                folders::classify_counted(&g.dirs[0], meta, &json.years)
            }
            _ => Folder::Other(g.dirs.join("/").into()),
        };
        if let Folder::Album(names) = &folder {
            let folder_path = match first {
                Some(at) => {
                    let first = self.placed.media_at(at).map_err(Error::SpillRead)?;
                    g.folder_paths
                        .get(first.folder as usize)
                        .ok_or_else(|| Error::SpillRead(placed::damaged()))?
                        .to_string()
                }
                None => {
                    let mut p = if g.product.is_empty() {
                        vec![]
                    } else {
                        vec!["Takeout".to_owned(), g.product.clone()]
                    };
                    p.extend(g.dirs.iter().cloned());
                    p.join("/")
                }
            };
            albums.push(AlbumInfo {
                folder_name: names.folder_name.to_string(),
                folder_path,
                title: names.title.to_string(),
                description: names.description.as_deref().map(str::to_owned),
                metadata_path: album.as_ref().map(|(_, p)| p.clone()),
                metadata: album.as_ref().map(|(a, _)| a.clone()),
            });
        }
        Ok(folder)
    }

    /// Matches the folder a slice at a time: `placed`, where each media entry is and its
    /// slice, with the sidecars of the same slice; returns each slice's run in `scratch`
    /// (where it starts, how many entries). The sidecars no entry takes go to `unmatched`.
    fn match_slices(
        &mut self,
        g: &Group,
        folder: &Folder,
        mut placed: Vec<(u64, u32)>,
        sidecars: &[SidecarAt],
        scratch: &mut Scratch,
        unmatched: &mut Vec<String>,
    ) -> Result<Vec<(u64, usize)>, Error> {
        // Each slice's entries and sidecars together, each in the order they were placed.
        placed.sort_by_key(|&(_, slice)| slice);
        let mut by_slice: Vec<u32> = (0..index32(sidecars.len())).collect();
        by_slice.sort_by_key(|&i| sidecars[i as usize].slice);
        let slices = placed
            .last()
            .map(|&(_, k)| k)
            .max(by_slice.last().map(|&i| sidecars[i as usize].slice))
            .map_or(0, |k| k + 1);
        let mut runs = Vec::with_capacity(slices as usize);
        let mut left: Vec<(u32, String)> = Vec::new();
        let (mut m, mut s) = (0, 0);
        for slice in 0..slices {
            let m_end = m + placed[m..].partition_point(|&(_, k)| k <= slice);
            let s_end = s + by_slice[s..].partition_point(|&i| sidecars[i as usize].slice <= slice);
            let mine: Vec<(u32, u64)> = by_slice[s..s_end]
                .iter()
                .map(|&i| (i, sidecars[i as usize].at))
                .collect();
            let media = &placed[m..m_end];
            if media.len() + mine.len() <= self.limits.crowded_slice.max(1) {
                runs.push(self.match_slice(g, folder, media, &mine, scratch, &mut left)?);
            } else {
                // One key crowds the slice (`crowded.rs`): a run per part.
                for part in self.crowded_parts(g, media, &mine, scratch)? {
                    let media: Vec<(u64, u32)> =
                        part.media.iter().map(|&i| media[i as usize]).collect();
                    let mine: Vec<(u32, u64)> =
                        part.sidecars.iter().map(|&i| mine[i as usize]).collect();
                    runs.push(self.match_slice(g, folder, &media, &mine, scratch, &mut left)?);
                }
            }
            (m, s) = (m_end, s_end);
        }
        // In the order of the folder's sidecars, as a folder matched whole reported them.
        left.sort_unstable_by_key(|&(i, _)| i);
        unmatched.extend(left.into_iter().map(|(_, p)| p));
        Ok(runs)
    }

    /// The folder's entries from its `runs`, merged into record order, to the catalog: each
    /// with its sidecar (of the folder's `sidecars`) stored and named by its id in the
    /// catalog, each special folder's file and each ambiguous one reported.
    fn take_merged(
        &mut self,
        folder: &Folder,
        sidecars: usize,
        scratch: &Scratch,
        runs: &[(u64, usize)],
        out: Matched<'_>,
    ) -> Result<(), Error> {
        // Each sidecar applied goes to the store once, however many media share it (an edited
        // variant's is its original's), when its first media entry comes in record order: the
        // import reads them back in that order, so that one read of the store serves the next
        // few hundred. Written in archive order, they were read back scattered, a read of the
        // store's file per sidecar.
        let mut stored: Vec<Option<SidecarId>> = vec![None; sidecars];
        let note = match folder {
            // Special folders are no albums; what makes them special is reported per file so
            // the importer can say it (the reader knows nothing of where files are stored).
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
        let mut buf = Vec::new();
        scratch.merge(runs, |mut e, settled, carried| {
            if let Some(local) = e.sidecar {
                let known = stored
                    .get_mut(local.raw() as usize)
                    .ok_or_else(|| Error::SpillRead(slices::damaged()))?;
                e.sidecar = Some(match (*known, carried) {
                    (Some(id), None) => id,
                    (None, Some(f)) => {
                        let id = self.sidecars.push(&f.sidecar).map_err(Error::Spill)?;
                        *known = Some(id);
                        id
                    }
                    // Its first entry carries it, the others none.
                    _ => return Err(Error::SpillRead(slices::damaged())),
                });
            }
            if e.duplicate_of.is_none() {
                if let MatchRule::Ambiguous { candidates } = &e.matched_by {
                    out.ambiguous
                        .push((e.path.to_string(), candidates.to_vec()));
                }
                if let Some((kind, msg)) = note {
                    let part = self.part_path(e.part()).to_path_buf();
                    self.problems
                        .push(Problem::new(&part, Some(&e.path), kind, msg));
                }
            }
            if settled {
                out.media.push(&e, &mut buf).map_err(Error::Spill)
            } else {
                out.deferred.push(e);
                Ok(())
            }
        })
    }

    /// Every JSON entry of `g`, read and parsed once: its sidecars kept in `scratch` with
    /// their slice (of `slices`), its album metadata, and problems for what is neither.
    fn read_folder_json(
        &mut self,
        g: &Group,
        slices: usize,
        scratch: &mut Scratch,
    ) -> Result<FolderJson, Error> {
        // What the catalog keeps of each sidecar, from here on: a parsed `Sidecar` for every
        // JSON of the folder until the folder was matched made the scan's peak grow with the
        // largest folder (the heap rose and fell by some 15 MB with each year folder of a
        // 100,000-item export).
        let starts = self.placed.json_starts(g.jsons).map_err(Error::SpillRead)?;
        let mut found = FolderJson {
            sidecars: Vec::with_capacity(starts.len()),
            album: None,
            years: folders::SidecarYears::default(),
        };
        for start in starts {
            let j = self.placed.json_at(start).map_err(Error::SpillRead)?;
            // A record read back names a part of the scan and a folder of its listing, unless
            // the file was damaged.
            let listed = self
                .listings
                .get(j.part as usize)
                .is_some_and(|(_, l)| (j.entry.dir as usize) < l.dirs.len());
            if !listed {
                return Err(Error::SpillRead(placed::damaged()));
            }
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
                    if let Some(t) = s.photo_taken_time {
                        found.years.add(year_of_epoch(t));
                    }
                    let composition = matches!(s.origin, Some(Origin::Composition { .. }));
                    let folded = Folded {
                        sidecar: s.to_ref(),
                        hash,
                        composition,
                    };
                    let at = scratch.put_sidecar(&folded).map_err(Error::Spill)?;
                    found.sidecars.push(SidecarAt {
                        slice: slice_of(folded.sidecar.title(), slices),
                        at,
                    });
                }
                Ok(JsonKind::Album(a)) => {
                    if found.album.is_some() {
                        self.problems.push(Problem::new(
                            &part,
                            Some(&path),
                            ProblemKind::Duplicate,
                            "a second album metadata file in this folder; ignored",
                        ));
                    } else {
                        found.album = Some((a, path.to_string()));
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
        Ok(found)
    }

    /// Matches one slice of a folder: the media entries placed at `placed` with the sidecars
    /// `sidecars` (their index in the folder, and where `scratch` keeps them), and writes its
    /// entries to `scratch` as one run in record order; returns the run (where it starts, how
    /// many entries). Sidecars that no entry takes go to `unmatched` with their index.
    fn match_slice(
        &mut self,
        g: &Group,
        folder: &Folder,
        placed: &[(u64, u32)],
        sidecars: &[(u32, u64)],
        scratch: &mut Scratch,
        unmatched: &mut Vec<(u32, String)>,
    ) -> Result<(u64, usize), Error> {
        let start = scratch.end();
        let mut media = Vec::with_capacity(placed.len());
        for &(at, _) in placed {
            let p = self.placed.media_at(at).map_err(Error::SpillRead)?;
            media.push(g.entry(p, self.listings.len()).map_err(Error::SpillRead)?);
        }
        // Each sidecar's record as kept, which the run carries to the merge with its first
        // entry, and the sidecar it holds.
        let mut records = Vec::with_capacity(sidecars.len());
        let mut folded = Vec::with_capacity(sidecars.len());
        for &(_, at) in sidecars {
            let record = scratch.sidecar_record(at).map_err(Error::SpillRead)?;
            folded.push(scratch.decode_sidecar(&record).map_err(Error::SpillRead)?);
            records.push(record);
        }

        let ids: Vec<usize> = (0..media.len())
            .filter(|&m| media[m].duplicate_of.is_none())
            .collect();
        let names_: Vec<&str> = ids.iter().map(|&m| media[m].file_name()).collect();
        let ins: Vec<SidecarIn<'_>> = folded
            .iter()
            .map(|f| SidecarIn {
                name: f.name(),
                title: f.sidecar.title(),
                content: f.hash,
            })
            .collect();
        let result = matcher::match_folder(&names_, &ins);
        drop(ins);
        let path_of = |i: usize| folded[i].sidecar.json_path().to_owned();
        let by_name: HashMap<&str, usize> = folded
            .iter()
            .enumerate()
            .map(|(i, f)| (f.name(), i))
            .collect();
        let mut updates = Vec::with_capacity(ids.len());
        for (k, o) in result.outcomes.into_iter().enumerate() {
            let composition = o.sidecar.is_some_and(|i| folded[i].composition);
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
                MatchRule::Ambiguous { candidates } => MatchRule::Ambiguous {
                    candidates: candidates
                        .iter()
                        .map(|n| {
                            by_name
                                .get(n.as_str())
                                .map_or_else(|| n.clone(), |&i| path_of(i))
                        })
                        .collect(),
                },
                other => other,
            };
            // In a run an entry names its sidecar by the sidecar's index in the folder; the
            // merge stores it and names it by its id in the catalog.
            let sidecar = o.sidecar.map(|i| SidecarId::from_raw(sidecars[i].0));
            updates.push((ids[k], sidecar, rule, variant));
        }
        unmatched.extend(
            result
                .unmatched
                .into_iter()
                .map(|i| (sidecars[i].0, path_of(i))),
        );
        drop(by_name);
        drop(folded);
        for (id, sidecar, rule, variant) in updates {
            let m = &mut media[id];
            m.sidecar = sidecar;
            m.matched_by = rule;
            m.variant = variant;
        }
        for m in &mut media {
            m.folder = folder.clone();
        }
        media.sort_by(|a, b| a.record_key().cmp(&b.record_key()));
        let n = media.len();
        // `sidecars` is in the folder's order: an entry's sidecar is found by its index there.
        let mut carried = vec![false; sidecars.len()];
        for (e, settled) in share_with_duplicates(media) {
            let first = e
                .sidecar
                .and_then(|id| sidecars.binary_search_by_key(&id.raw(), |&(i, _)| i).ok())
                .filter(|&k| !std::mem::replace(&mut carried[k], true));
            let record = first.map(|k| &*records[k]);
            scratch
                .put_entry(&e, settled, record)
                .map_err(Error::Spill)?;
        }
        scratch.flush().map_err(Error::Spill)?;
        Ok((start, n))
    }
}
