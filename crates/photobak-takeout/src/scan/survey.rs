//! The scan's first look at the export, one part's listing at a time: what the placement of
//! any entry needs from every part, found before the first is placed. That is each part's
//! layout (`RootMode`, from all of its paths), which product folders are Google Photos (an
//! entry of any part can tell), the same-path rule's hashes ([`FirstByPath`]), the archive
//! browser pages that name the account, and, for parts that carry no Takeout name, every path
//! for the derived export id.
//!
//! Why a pass of its own: the placement used to list every part first, and every listed entry
//! (56 bytes and its name, some 2.7 entries per item) was held at once, the import's peak.
//! Now a zip or folder part is listed here, surveyed and released, and listed again when it is
//! placed: its central directory (or its folders) is read twice, and the second listing must
//! be the first one again ([`fingerprint`]), or the part changed while it was read. A tar or
//! tgz part can only be listed by reading it whole, so its entries are written to a spill
//! file here and read back when it is placed (`held.rs`). A folder part is not cut by
//! Google's part size (an extracted export given as one folder), so one of more than
//! [`crate::Limits::folder_chunk`] entries is walked a third time: once for its layout
//! (`RootMode` needs every path's first piece), then surveyed and placed a chunk at a time,
//! its fingerprint taken over the chunks.

use std::hash::Hasher;

use crate::PartFormat;
use crate::parts::Listing;

use super::derived::Paths;
use super::first_by_path::Tally;
use super::*;

/// What the survey found of one part.
pub(super) struct Surveyed {
    pub(super) mode: RootMode,
    /// The export's entry budget before the part was listed: listed again with it, a part
    /// stops where it stopped the first time.
    pub(super) budget: usize,
    /// Its listed entries.
    pub(super) listed: usize,
    /// A hash of its listed entries ([`fingerprint`]).
    pub(super) fingerprint: u64,
    /// Where its listing is kept from the survey to its placement, a tar or tgz part's
    /// (`held.rs`); None: it is listed again.
    pub(super) held: Option<super::held::HeldAt>,
    /// A folder part of more entries than [`crate::Limits::folder_chunk`]: surveyed, and
    /// placed, a chunk at a time.
    pub(super) chunked: bool,
}

/// A part as the survey first lists it.
enum Listed {
    Whole(Listing),
    /// A folder part too large to hold whole, of this layout.
    Chunked(RootMode),
}

/// What the survey found of the whole export.
pub(super) struct Survey {
    pub(super) parts: Vec<Surveyed>,
    /// The archive browser pages' text (for the account hint).
    pub(super) html: Vec<String>,
    /// Which product folders are Google Photos.
    pub(super) photos_products: BTreeMap<String, bool>,
    pub(super) first_by_path: FirstByPath,
    /// Every listed path and size, when no part carries a Takeout name (the derived export id,
    /// `derived.rs`).
    pub(super) derived: Option<Paths>,
}

/// A listing's fingerprint: what the placement relies on of each entry, in order. Not
/// against an adversary: against a part rewritten between two listings (entries added,
/// removed, renamed or resized; a zip's entries moved or with other contents). The files the
/// scan never keeps (`.DS_Store` …), which a system may write into a folder part at any time,
/// and the entries' positions, which such a file shifts, are left out.
pub(super) fn fingerprint(listing: &Listing) -> u64 {
    let mut print = Fingerprint::default();
    print.add(listing);
    print.finish()
}

/// [`fingerprint`] of a listing given a chunk at a time.
#[derive(Default)]
struct Fingerprint {
    h: std::hash::DefaultHasher,
    n: usize,
}

impl Fingerprint {
    /// The entries of `listing`, after those added before.
    fn add(&mut self, listing: &Listing) {
        let (h, n) = (&mut self.h, &mut self.n);
        for e in listing.entries.iter().filter(|e| !is_junk(&e.name)) {
            *n += 1;
            add_entry(h, listing, e);
        }
    }

    fn finish(mut self) -> u64 {
        self.h.write_usize(self.n);
        self.h.finish()
    }
}

fn add_entry(h: &mut std::hash::DefaultHasher, listing: &Listing, e: &parts::RawEntry) {
    h.write(listing.dir(e).as_bytes());
    h.write(e.name.as_bytes());
    h.write_u8(0);
    h.write_u64(e.size);
    match &e.held {
        parts::Held::Nothing => h.write_u8(0),
        parts::Held::At(parts::EntryAt::File) => h.write_u8(1),
        parts::Held::At(parts::EntryAt::Zip(z)) => {
            h.write_u8(2);
            h.write_u64(z.header_start);
            h.write_u64(z.compressed);
            h.write_u32(z.crc32);
            h.write_u8(u8::from(z.deflated));
        }
        parts::Held::Data(d) => {
            h.write_u8(3);
            h.write(d);
        }
    }
}

impl Builder {
    /// Lists and surveys every part in turn (see the module docs).
    ///
    /// # Errors
    /// When the survey's scratch file cannot be written or read back ([`Error::Spill`]).
    pub(super) fn survey(&mut self) -> Result<Survey, Error> {
        // As `export_id` decides: a derived id when no part carries a Takeout name.
        let derive = !self.listings.iter().any(|(p, _)| part_name(p).is_some());
        let mut s = Survey {
            parts: Vec::with_capacity(self.listings.len()),
            html: Vec::new(),
            photos_products: BTreeMap::new(),
            first_by_path: FirstByPath::default(),
            derived: derive.then(|| Paths::new(self.paths_file.take())),
        };
        // The kept entries' hashes, each with its product folder's place in `products`: which
        // products are Google Photos is known only once every part is surveyed.
        let mut hashes = Tally::new(self.survey_file.take());
        let mut products: HashMap<String, u32> = HashMap::new();
        let mut budget = self.limits.max_entries.min(u32::MAX as usize);
        for p in 0..self.listings.len() {
            let before = budget;
            let listing = match self.list_for_survey(p, &mut budget)? {
                Listed::Whole(listing) => listing,
                Listed::Chunked(mode) => {
                    let part = self.survey_chunked(
                        p,
                        mode,
                        &mut budget,
                        &mut s,
                        &mut hashes,
                        &mut products,
                    )?;
                    s.parts.push(part);
                    continue;
                }
            };
            let held = matches!(listing.format, PartFormat::Tar | PartFormat::Tgz);
            self.listings[p].1 = listing;
            let mode = self.root_mode(p);
            self.survey_part(p, &mode, &mut s, &mut hashes, &mut products)
                .map_err(Error::Spill)?;
            let listing = &mut self.listings[p].1;
            let (listed, fingerprint) = (listing.entries.len(), fingerprint(listing));
            let entries = std::mem::take(&mut listing.entries);
            let held = if held {
                // Its folders stay (a few per part): its entries name them.
                Some(self.held.put(&entries).map_err(Error::Spill)?)
            } else {
                listing.dirs = Vec::new();
                None
            };
            drop(entries);
            s.parts.push(Surveyed {
                mode,
                budget: before,
                listed,
                fingerprint,
                held,
                chunked: false,
            });
        }
        self.held.seal().map_err(Error::Spill)?;
        let mut is_photos = vec![false; products.len()];
        for (name, id) in products {
            is_photos[id as usize] = s.photos_products.get(&name).copied().unwrap_or(false);
        }
        let shared = hashes
            .shared(|prod| is_photos[prod as usize])
            .map_err(Error::SpillRead)?;
        s.first_by_path = FirstByPath::new(shared);
        Ok(s)
    }

    /// Part `p` listed whole, or, a folder part of more than [`crate::Limits::folder_chunk`]
    /// entries, walked for its layout alone (see the module docs).
    fn list_for_survey(&self, p: usize, budget: &mut usize) -> Result<Listed, Error> {
        let (path, limits) = (&self.listings[p].0, &self.limits);
        let mut seen = RootSeen::default();
        let mut chunks = 0usize;
        let mut walked = *budget;
        let chunk = limits.folder_chunk.max(1);
        let listing = parts::list_in_chunks(path, limits, &mut walked, chunk, |c| {
            seen.see(c);
            chunks += 1;
            Ok::<(), Error>(())
        })?;
        if chunks == 0 {
            *budget = walked;
            return Ok(Listed::Whole(listing));
        }
        seen.see(&listing);
        Ok(Listed::Chunked(seen.mode(path)))
    }

    /// Surveys the folder part `p` a chunk of [`crate::Limits::folder_chunk`] entries at a
    /// time, with the layout `mode` its whole walk gave: what it holds at once is a chunk's
    /// entries and the part's folders.
    fn survey_chunked(
        &mut self,
        p: usize,
        mode: RootMode,
        budget: &mut usize,
        s: &mut Survey,
        hashes: &mut Tally,
        products: &mut HashMap<String, u32>,
    ) -> Result<Surveyed, Error> {
        let before = *budget;
        let (mut last, fingerprint, listed) = self.in_chunks(p, budget, |this| {
            this.survey_part(p, &mode, s, hashes, products)
                .map_err(Error::Spill)
        })?;
        // Its problems stay for the catalog; its folders are listed again when it is placed.
        last.dirs = Vec::new();
        self.listings[p].1 = last;
        Ok(Surveyed {
            mode,
            budget: before,
            listed,
            fingerprint,
            held: None,
            chunked: true,
        })
    }

    /// Walks the folder part `p` a chunk of [`crate::Limits::folder_chunk`] entries at a
    /// time, each chunk the part's listing while `f` runs; returns the listing left after
    /// (its folders and problems, no entries), the [`fingerprint`] of every chunk, and how
    /// many entries were listed. The survey and the placement of a chunked part both go
    /// through here.
    pub(super) fn in_chunks(
        &mut self,
        p: usize,
        budget: &mut usize,
        mut f: impl FnMut(&mut Self) -> Result<(), Error>,
    ) -> Result<(Listing, u64, usize), Error> {
        let (path, limits) = (self.listings[p].0.clone(), self.limits);
        let (mut print, mut listed) = (Fingerprint::default(), 0usize);
        let mut each = |this: &mut Self, chunk: &mut Listing| -> Result<(), Error> {
            print.add(chunk);
            listed += chunk.entries.len();
            std::mem::swap(&mut this.listings[p].1, chunk);
            let done = f(this);
            std::mem::swap(&mut this.listings[p].1, chunk);
            done
        };
        let chunk = limits.folder_chunk.max(1);
        let mut last = parts::list_in_chunks(&path, &limits, budget, chunk, |c| each(self, c))?;
        each(self, &mut last)?;
        last.entries = Vec::new();
        Ok((last, print.finish(), listed))
    }

    fn survey_part(
        &mut self,
        p: usize,
        mode: &RootMode,
        s: &mut Survey,
        hashes: &mut Tally,
        products: &mut HashMap<String, u32>,
    ) -> std::io::Result<()> {
        for entry in 0..self.listings[p].1.entries.len() {
            let r = Ref { part: p, entry };
            let path = self.path(r);
            if let Some(d) = &mut s.derived {
                d.push(&path, self.entry(r).size)?;
            }
            let (prod, rest) = match Self::place(mode, &path) {
                Some(Place::Product(prod, rest)) => (prod, rest),
                Some(Place::Top) => {
                    // The archive browser page names the account.
                    let e = self.entry(r);
                    let lower = e.name.to_lowercase();
                    if (lower.ends_with(".html") || lower.ends_with(".htm"))
                        && let Some(d) = e.data()
                    {
                        s.html.push(String::from_utf8_lossy(d).into_owned());
                    }
                    continue;
                }
                None => continue,
            };
            if Self::name_kept(&rest).is_ok() {
                let next = index32(products.len());
                let id = *products.entry(prod.clone()).or_insert(next);
                hashes.push(first_by_path::short_hash(&path), id)?;
            }
            let known = prod.is_empty() || folders::is_product_name(&prod);
            let flag = s.photos_products.entry(prod).or_insert(known);
            if *flag {
                continue;
            }
            if rest.len() >= 2 && folders::year_of(&rest[0]).is_some() {
                *flag = true;
            } else if self.entry(r).name.to_ascii_lowercase().ends_with(".json")
                && let Some(d) = {
                    let mut e = std::mem::take(&mut self.listings[p].1.entries[entry]);
                    let d = self.read_json(p, &mut e, false, false);
                    self.listings[p].1.entries[entry] = e;
                    d
                }
                && let Ok(v) = json::parse_bytes(&d)
                && json::looks_like_photos(&v)
            {
                *flag = true;
            }
        }
        Ok(())
    }
}
