//! The placement: each part listed again (or its held listing taken) and its entries put in
//! their folders' groups, one part at a time, in the export's order: a media entry goes to
//! the placement's store (`placed.rs`), and so does a JSON entry, until its group is matched;
//! the part's entries are released before the next part is listed (its folders stay: a JSON
//! entry's path is made from its folder when it is read). The same-path rule is decided here,
//! as the entries come ([`FirstByPath::place`]).

use super::survey::{Survey, fingerprint};
use super::*;

/// What the placement builds across parts.
#[derive(Default)]
pub(super) struct Placement {
    /// Media entries placed (the next one's id).
    pub(super) placed: usize,
    pub(super) groups: BTreeMap<(String, Vec<String>), Group>,
    /// The folders in the order they first appeared.
    pub(super) group_order: Vec<(String, Vec<String>)>,
    /// Per product folder that is not Google Photos: the first part it is in, and its entries.
    pub(super) ignored_products: BTreeMap<String, (usize, usize)>,
}

impl Builder {
    /// Lists part `p` again, or reads back its held listing (a tar part's, `held.rs`); an
    /// error when a listing made again is not the one the survey saw (the part changed while
    /// it was read).
    fn relist(&mut self, p: usize, surveyed: &Surveyed) -> Result<(), Error> {
        if let Some(at) = surveyed.held {
            self.listings[p].1.entries = self.held.take(at).map_err(Error::SpillRead)?;
            return Ok(());
        }
        let mut budget = surveyed.budget;
        let again = parts::list(&self.listings[p].0, &self.limits, &mut budget);
        if fingerprint(&again) != surveyed.fingerprint {
            return Err(Error::Changed(self.listings[p].0.clone()));
        }
        // Its problems are the survey's again, reported once.
        let listing = &mut self.listings[p].1;
        listing.entries = again.entries;
        listing.dirs = again.dirs;
        Ok(())
    }

    /// Places every entry of part `p` (see the module docs).
    pub(super) fn place_part(
        &mut self,
        p: usize,
        survey: &mut Survey,
        at: &mut Placement,
    ) -> Result<(), Error> {
        if survey.parts[p].chunked {
            return self.place_chunked(p, survey, at);
        }
        self.relist(p, &survey.parts[p])?;
        for entry in 0..self.listings[p].1.entries.len() {
            self.place_entry(Ref { part: p, entry }, survey, at)?;
        }
        // Its folders stay: a JSON entry's path is made from its folder when it is read.
        self.listings[p].1.entries = Vec::new();
        Ok(())
    }

    /// [`Self::place_part`] of a folder part surveyed a chunk at a time
    /// ([`Surveyed::chunked`]): listed again and placed a chunk at a time. Its entries are
    /// placed before the listing is known to be the survey's (at its end): a part that
    /// changed is an error of the whole scan all the same.
    fn place_chunked(
        &mut self,
        p: usize,
        survey: &mut Survey,
        at: &mut Placement,
    ) -> Result<(), Error> {
        let (mut budget, want) = (survey.parts[p].budget, survey.parts[p].fingerprint);
        let (last, print, _) = self.in_chunks(p, &mut budget, |this| {
            (0..this.listings[p].1.entries.len())
                .try_for_each(|entry| this.place_entry(Ref { part: p, entry }, survey, at))
        })?;
        if print != want {
            return Err(Error::Changed(self.listings[p].0.clone()));
        }
        // Its folders stay: a JSON entry's path is made from its folder when it is read. Its
        // problems are the survey's again, reported once.
        self.listings[p].1.dirs = last.dirs;
        Ok(())
    }

    fn place_entry(
        &mut self,
        r: Ref,
        survey: &mut Survey,
        at: &mut Placement,
    ) -> Result<(), Error> {
        // Made once here: the placement and everything below take it.
        let path = self.path(r);
        let Some(Place::Product(prod, rest)) = Self::place(&survey.parts[r.part].mode, &path)
        else {
            return Ok(());
        };
        let (prod, rest) = match Self::kept(&survey.photos_products, prod, rest) {
            Ok(kept) => kept,
            Err(Unkept::OtherProduct(prod)) => {
                at.ignored_products.entry(prod).or_insert((r.part, 0)).1 += 1;
                return Ok(());
            }
            Err(Unkept::Skipped) => return Ok(()),
            Err(Unkept::JsonCopy) => {
                let part = self.part_path(r.part).to_path_buf();
                self.problems.push(Problem::new(
                    &part,
                    Some(&path),
                    ProblemKind::Ignored,
                    "copy of a JSON file made by an extraction tool; ignored",
                ));
                return Ok(());
            }
        };
        let listed = &self.listings[r.part].1.entries[r.entry];
        let (ordinal, size, entry_at) = (listed.ordinal, listed.size, listed.at());
        let (name, dirs) = rest.split_last().expect("kept entries have a name");
        let is_json = name.to_lowercase().ends_with(".json");
        let key = (prod.clone(), dirs.to_vec());
        if !at.groups.contains_key(&key) {
            at.group_order.push(key.clone());
        }
        let g = at.groups.entry(key).or_insert_with(|| Group {
            product: prod.clone(),
            dirs: dirs.to_vec(),
            ..Group::default()
        });
        let id = at.placed;
        let dup = survey
            .first_by_path
            .place(r, &path, (!is_json).then_some(id));
        if let Some(first) = dup {
            let part = self.part_path(r.part).to_path_buf();
            let where_ = if first.at.part == r.part {
                "earlier in this part".to_owned()
            } else {
                format!("in {}", self.part_path(first.at.part).display())
            };
            self.problems.push(Problem::new(
                &part,
                Some(&path),
                ProblemKind::Duplicate,
                format!(
                    "the same path appears {where_}; this copy is {}",
                    if is_json {
                        "ignored"
                    } else {
                        "listed as a duplicate"
                    }
                ),
            ));
        }
        if is_json {
            let j = PlacedJson {
                part: index32(r.part),
                skip: dup.is_some(),
                entry: std::mem::take(&mut self.listings[r.part].1.entries[r.entry]),
            };
            return self
                .placed
                .push_json(&mut g.jsons, &j)
                .map_err(Error::Spill);
        }
        at.placed += 1;
        let duplicate_of = dup.and_then(|first| first.media).map(index32);
        let zip = match entry_at {
            Some(parts::EntryAt::Zip(loc)) => Some(loc),
            _ => None,
        };
        // The listing's name is not needed any more: the placed entry keeps its own, and
        // its folder's path is the group's.
        self.listings[r.part].1.entries[r.entry].name = Box::default();
        let (folder_path, name) = path.rsplit_once('/').unwrap_or(("", &path));
        let name: Box<str> = name.into();
        let folder = match g.folder_paths.iter().position(|f| **f == *folder_path) {
            Some(i) => i,
            None => {
                g.folder_paths.push(folder_path.into());
                g.folder_paths.len() - 1
            }
        };
        let placed = Placed {
            id: index32(id),
            part: index32(r.part),
            ordinal,
            folder: index32(folder),
            size,
            zip,
            duplicate_of,
            name,
        };
        self.placed
            .push(&mut g.placed, &placed)
            .map_err(Error::Spill)
    }
}
