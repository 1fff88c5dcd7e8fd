//! Pass 1: list all parts, parse the JSON, place entries in folders and match.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::path::{Path, PathBuf};

use crate::folders::{self, Folder};
use crate::json::{self, JsonKind, SidecarRef};
use crate::matcher::{self, LocalVariant, MatchRule, SidecarIn, content_hash};
use crate::media::Media;
use crate::names;
use crate::parts::{self, Listing};
use crate::records::Spill;
use crate::sidecars::Sidecars;
use crate::{
    AlbumInfo, Catalog, Error, Limits, MediaEntry, Origin, PartInfo, Problem, ProblemKind, Variant,
};

mod export;
mod first_by_path;
mod matching;
mod placed;

use first_by_path::FirstByPath;
use placed::{Chain, Placed, PlacedStore};

/// Reads every part of one export and pairs media with sidecars, keeping their sidecars in
/// memory ([`Spill::Memory`]). See the crate docs.
pub fn scan(parts: &[PathBuf], limits: &Limits) -> Result<Catalog, Error> {
    scan_into(parts, limits, Spill::Memory)
}

/// [`scan`], keeping the sidecars and the media entries in `spill` (see [`crate::Sidecars`]
/// and [`crate::Media`]).
///
/// # Errors
/// As [`scan`], and [`Error::Spill`] when a spill file cannot be written
/// ([`Error::SpillRead`] when one cannot be read back).
pub fn scan_into(parts: &[PathBuf], limits: &Limits, spill: Spill) -> Result<Catalog, Error> {
    if parts.is_empty() {
        return Err(Error::NoParts);
    }
    let ordered = order_parts(parts);
    // The catalog's indices are `u32` (`index32`).
    let mut budget = limits.max_entries.min(u32::MAX as usize);
    let listings: Vec<(PathBuf, Listing)> = ordered
        .iter()
        .map(|p| (p.clone(), parts::list(p, limits, &mut budget)))
        .collect();
    if listings.iter().all(|(_, l)| !l.readable) {
        let problems = listings.into_iter().flat_map(|(_, l)| l.problems).collect();
        return Err(Error::Unreadable(problems));
    }
    Builder::new(listings, *limits, spill).build()
}

/// Sorts parts by the number in their names when every name carries one; else keeps the order.
fn order_parts(parts: &[PathBuf]) -> Vec<PathBuf> {
    let keyed: Option<Vec<_>> = parts
        .iter()
        .map(|p| {
            let name = p.file_name()?.to_str()?;
            let n = names::parse_part_name(name)?;
            Some((
                (
                    n.export_id,
                    n.segment.unwrap_or(0),
                    n.number,
                    name.to_owned(),
                ),
                p.clone(),
            ))
        })
        .collect();
    match keyed {
        Some(mut k) => {
            k.sort_by(|a, b| a.0.cmp(&b.0));
            k.into_iter().map(|(_, p)| p).collect()
        }
        None => parts.to_vec(),
    }
}

/// A media entry's index or part as the catalog keeps it: the scan lists fewer than
/// `u32::MAX` entries ([`Limits::max_entries`], ten million by default, capped there).
pub(crate) fn index32(i: usize) -> u32 {
    u32::try_from(i).expect("a listing holds fewer than 2^32 entries")
}

/// Year (UTC) of an epoch time.
pub fn year_of_epoch(secs: i64) -> i32 {
    let days = secs.div_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(month <= 2);
    i32::try_from(y).unwrap_or(if y < 0 { i32::MIN } else { i32::MAX })
}

/// Where an entry sits in the Takeout layout.
enum Place {
    /// `Takeout/<file>` (the archive browser page).
    Top,
    /// Under a product folder: product key and the components below it.
    Product(String, Vec<String>),
}

/// How a part's paths relate to the Takeout layout.
enum RootMode {
    /// Paths start with `Takeout/`.
    Takeout,
    /// The first component is the product folder.
    ProductList,
    /// The part's root is the Photos folder itself.
    ProductRoot,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
struct Ref {
    part: usize,
    entry: usize,
}

#[derive(Default)]
struct Group {
    product: String,
    dirs: Vec<String>,
    /// The folder's media entries as placed, until it is matched (in the placement's store).
    placed: Chain,
    /// The folder's paths in the parts (`Takeout/Google Photos/Trip`; one, unless parts are
    /// laid out differently), each once: a placed entry keeps its index and its name.
    folder_paths: Vec<Box<str>>,
    jsons: Vec<Ref>,
    /// The listed entries of `jsons`, moved out of the listings before the matching.
    json_entries: Vec<parts::RawEntry>,
}

impl Group {
    /// The media entries of the folder, read back from the placement's store and made whole
    /// for its matching.
    fn take_entries(&mut self, store: &PlacedStore) -> std::io::Result<Vec<MediaEntry>> {
        let folders = std::mem::take(&mut self.folder_paths);
        store
            .take(std::mem::take(&mut self.placed))?
            .into_iter()
            .map(|p| {
                // A record read back names a folder of this group, unless the file was damaged.
                let folder = folders.get(p.folder as usize).ok_or_else(placed::damaged)?;
                let path = if folder.is_empty() {
                    p.name
                } else {
                    format!("{folder}/{}", p.name).into_boxed_str()
                };
                Ok(MediaEntry {
                    id: p.id,
                    part_index: p.part,
                    entry_index: p.ordinal,
                    path,
                    folder: Folder::Other(Box::default()),
                    size: p.size,
                    zip: p.zip,
                    sidecar: None,
                    matched_by: MatchRule::None {
                        reason: matcher::NONE_REASONS[0],
                    },
                    variant: Variant::Original,
                    duplicate_of: p.duplicate_of,
                })
            })
            .collect()
    }

    /// The order folders are matched in, which is the order their entries are written to the
    /// catalog's store: by path (the least, when parts lay the folder out differently).
    fn sort_key(&self) -> &str {
        self.folder_paths.iter().min().map_or("", |p| p)
    }
}

struct Builder {
    listings: Vec<(PathBuf, Listing)>,
    problems: Vec<Problem>,
    limits: Limits,
    /// The sidecars of the folders matched so far.
    sidecars: Sidecars,
    /// Where the media entries go once matched (None: in memory).
    media_file: Option<std::fs::File>,
    /// The media entries as placed, until their folder is matched.
    placed: PlacedStore,
    /// Each zip part, opened when a JSON entry of it is first read (`read_json`).
    files: Vec<Option<std::fs::File>>,
}

/// Moves part `p`'s JSON entries into their folders' groups and releases the rest of its
/// listing (the media entries' places; their paths moved already). A group's `jsons` are in
/// part order, as the entries were visited, so the part's come after those moved before.
/// Moving every part's JSON first, and releasing the listings after, held the folders' JSON
/// beside every listing: the scan's peak.
fn release_listing(
    listing: &mut Listing,
    p: usize,
    groups: &mut BTreeMap<(String, Vec<String>), Group>,
) {
    for g in groups.values_mut() {
        let from = g.json_entries.len();
        let here = g.jsons[from..].iter().take_while(|r| r.part == p).count();
        // Exactly: grown by doubling, a vector can hold up to twice the room its entries need.
        g.json_entries.reserve_exact(here);
        let refs = &g.jsons[from..from + here];
        g.json_entries.extend(
            refs.iter()
                .map(|r| std::mem::take(&mut listing.entries[r.entry])),
        );
    }
    listing.entries = Vec::new();
}

/// Why the placement does not keep an entry under a product folder.
enum Unkept {
    /// The product folder is not Google Photos.
    OtherProduct(String),
    /// Junk (`.DS_Store` …), an HTML page, or no file name.
    Skipped,
    /// A copy of a JSON file an extraction tool made.
    JsonCopy,
}

fn is_junk(name: &str) -> bool {
    name.starts_with("._")
        || name.eq_ignore_ascii_case(".DS_Store")
        || name.eq_ignore_ascii_case("Thumbs.db")
        || name.eq_ignore_ascii_case("desktop.ini")
}

/// `x.json (1)` / `x.json(1)`: a copy made by an extraction tool, not by Google.
fn is_json_copy(name: &str) -> bool {
    let lower = name.to_lowercase();
    match lower.rfind(".json") {
        Some(i) => {
            let rest = lower[i + 5..].trim_start();
            names::strip_counter(&format!("x{rest}")).is_some_and(|(b, _)| b == "x")
        }
        None => false,
    }
}

impl Builder {
    fn new(listings: Vec<(PathBuf, Listing)>, limits: Limits, spill: Spill) -> Self {
        let nparts = listings.len();
        let (sidecars, media_file, placement) = match spill {
            Spill::Memory => (None, None, None),
            Spill::Files {
                sidecars,
                media,
                placement,
            } => (Some(sidecars), Some(media), Some(placement)),
        };
        Builder {
            listings,
            problems: Vec::new(),
            limits,
            sidecars: Sidecars::new(sidecars),
            media_file,
            placed: PlacedStore::new(placement),
            files: (0..nparts).map(|_| None).collect(),
        }
    }

    /// The bytes of a JSON entry `e` of part `part`: taken from the listing, or read from the
    /// part where the listing found it (zip, folder). A read that fails is a problem of the
    /// entry, as it is in the listing; `report: false` leaves that to the later read that uses
    /// the JSON.
    fn read_json(
        &mut self,
        part: usize,
        e: &mut parts::RawEntry,
        take: bool,
        report: bool,
    ) -> Option<Vec<u8>> {
        if let parts::Held::Data(d) = &mut e.held {
            // Taken: the entry holds nothing after (its contents are read once, here).
            let d = if take { std::mem::take(d) } else { d.clone() };
            if take {
                e.held = parts::Held::Nothing;
            }
            return Some(d.into_vec());
        }
        let at = e.at()?;
        let (path, listing) = &self.listings[part];
        let entry_path = listing.path(e);
        match parts::read_json_at(path, &mut self.files[part], &entry_path, &at, e.size) {
            Ok(d) => Some(d),
            Err(err) => {
                if report {
                    let kind = if crate::guard::is_bomb(&err) {
                        ProblemKind::TooLarge
                    } else {
                        ProblemKind::Corrupt
                    };
                    let p =
                        Problem::new(path, Some(&entry_path), kind, format!("cannot read: {err}"));
                    self.problems.push(p);
                }
                None
            }
        }
    }

    /// Whether the placement keeps an entry under product folder `prod` (`rest`: the path
    /// below it): the same answer for the same-path rule and for the placement itself.
    fn kept(
        photos_products: &BTreeMap<String, bool>,
        prod: String,
        rest: Vec<String>,
    ) -> Result<(String, Vec<String>), Unkept> {
        if !photos_products.get(&prod).copied().unwrap_or(false) {
            return Err(Unkept::OtherProduct(prod));
        }
        let Some(name) = rest.last() else {
            return Err(Unkept::Skipped);
        };
        let lower = name.to_lowercase();
        if is_junk(name) || lower.ends_with(".html") || lower.ends_with(".htm") {
            return Err(Unkept::Skipped);
        }
        if is_json_copy(name) {
            return Err(Unkept::JsonCopy);
        }
        Ok((prod, rest))
    }

    fn part_path(&self, part: usize) -> &Path {
        &self.listings[part].0
    }

    fn entry(&self, r: Ref) -> &parts::RawEntry {
        &self.listings[r.part].1.entries[r.entry]
    }

    /// The path of a listed entry, made again from its folder and name.
    fn path(&self, r: Ref) -> String {
        let listing = &self.listings[r.part].1;
        listing.path(&listing.entries[r.entry])
    }

    fn root_mode(&self, part: usize) -> RootMode {
        let (path, listing) = &self.listings[part];
        // The path's first piece, without making the path.
        fn first_piece<'a>(listing: &'a Listing, e: &'a parts::RawEntry) -> &'a str {
            let dir = listing.dir(e);
            let whole = if dir.is_empty() { &*e.name } else { dir };
            whole.split('/').next().unwrap_or("")
        }
        let first = |e| first_piece(listing, e);
        if listing
            .entries
            .iter()
            .any(|e| first(e).eq_ignore_ascii_case("Takeout"))
        {
            return RootMode::Takeout;
        }
        let part_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if part_name.eq_ignore_ascii_case("Takeout")
            || listing
                .entries
                .iter()
                .any(|e| folders::is_product_name(first(e)))
        {
            return RootMode::ProductList;
        }
        RootMode::ProductRoot
    }

    fn place(mode: &RootMode, path: &str) -> Option<Place> {
        let comps: Vec<String> = path.split('/').map(str::to_owned).collect();
        match mode {
            RootMode::Takeout => {
                if !comps[0].eq_ignore_ascii_case("Takeout") {
                    return None;
                }
                match comps.len() {
                    0 | 1 => None,
                    2 => Some(Place::Top),
                    _ => Some(Place::Product(comps[1].clone(), comps[2..].to_vec())),
                }
            }
            RootMode::ProductList => match comps.len() {
                1 => Some(Place::Top),
                _ => Some(Place::Product(comps[0].clone(), comps[1..].to_vec())),
            },
            RootMode::ProductRoot => Some(Place::Product(String::new(), comps)),
        }
    }

    fn build(mut self) -> Result<Catalog, Error> {
        let nparts = self.listings.len();
        // Before the media entries take their paths from the listings (a derived id hashes
        // every listed path).
        let (export_id, mut id_problems) = self.export_id();
        // JSON is parsed where it is used, one folder at a time, and its bytes are released
        // as soon as it is: holding every sidecar of a 100,000-item export parsed at once cost
        // more memory than everything else together.

        // Place every entry; collect HTML text for the account hint. Only the reference is
        // kept: each pass below splits the path again, because holding every entry's product
        // and path components at once cost about 450 bytes per entry at the scan's peak.
        let modes: Vec<RootMode> = (0..nparts).map(|p| self.root_mode(p)).collect();
        let product_of = |b: &Self, r: Ref| match Self::place(&modes[r.part], &b.path(r)) {
            Some(Place::Product(prod, rest)) => Some((prod, rest)),
            _ => None,
        };
        // Every listed entry, in archive order; the passes below take those under a product
        // folder. Not collected: a list of them was 4 MB at the scan's peak.
        let lens: Vec<usize> = self.listings.iter().map(|(_, l)| l.entries.len()).collect();
        let every = || {
            let lens = &lens;
            (0..nparts).flat_map(move |part| (0..lens[part]).map(move |entry| Ref { part, entry }))
        };
        let mut html: Vec<String> = Vec::new();
        for (p, mode) in modes.iter().enumerate() {
            let listing = &self.listings[p].1;
            for e in &listing.entries {
                match Self::place(mode, &listing.path(e)) {
                    Some(Place::Product(..)) => {}
                    Some(Place::Top) => {
                        // The archive browser page names the account.
                        let lower = e.name.to_lowercase();
                        if (lower.ends_with(".html") || lower.ends_with(".htm"))
                            && let Some(d) = e.data()
                        {
                            html.push(String::from_utf8_lossy(d).into_owned());
                        }
                    }
                    None => {}
                }
            }
        }

        // Which product folders are Google Photos.
        let mut photos_products: BTreeMap<String, bool> = BTreeMap::new();
        for r in every() {
            let Some((prod, rest)) = product_of(&self, r) else {
                continue;
            };
            let known = prod.is_empty() || folders::is_product_name(&prod);
            let flag = photos_products.entry(prod.clone()).or_insert(known);
            if *flag {
                continue;
            }
            if rest.len() >= 2 && folders::year_of(&rest[0]).is_some() {
                *flag = true;
            } else if self.entry(r).name.to_ascii_lowercase().ends_with(".json")
                && let Some(d) = {
                    let mut e = std::mem::take(&mut self.listings[r.part].1.entries[r.entry]);
                    let d = self.read_json(r.part, &mut e, false, false);
                    self.listings[r.part].1.entries[r.entry] = e;
                    d
                }
                && let Ok(v) = json::parse_bytes(&d)
                && json::looks_like_photos(&v)
            {
                *flag = true;
            }
        }
        let mut ignored_products: BTreeMap<String, (usize, usize)> = BTreeMap::new();

        // Decided before the media entries are made (see `FirstByPath`).
        let kept = |b: &Self, r: Ref| {
            product_of(b, r).and_then(|(prod, rest)| Self::kept(&photos_products, prod, rest).ok())
        };
        let first_by_path = FirstByPath::find(every().filter(|&r| kept(&self, r).is_some()), |r| {
            self.path(r)
        });
        // Media in global order, grouped by folder; duplicates by path.
        let mut placed = 0usize;
        let mut groups: BTreeMap<(String, Vec<String>), Group> = BTreeMap::new();
        let mut group_order: Vec<(String, Vec<String>)> = Vec::new();
        // The media ids of first entries whose path is repeated.
        let mut first_media: HashMap<Ref, usize> = HashMap::new();
        let mut skip_json: std::collections::HashSet<Ref> = std::collections::HashSet::new();
        // Each part's listing is released as soon as its entries are placed (its JSON moved
        // into the folders' groups, its media's paths into their entries): the media entries
        // are made beside the listings of the parts not placed yet, not beside all of them.
        let mut placing = 0;
        for r in every() {
            while placing < r.part {
                release_listing(&mut self.listings[placing].1, placing, &mut groups);
                placing += 1;
            }
            // Made once here: the placement and everything below take it.
            let path = self.path(r);
            let Some(Place::Product(prod, rest)) = Self::place(&modes[r.part], &path) else {
                continue;
            };
            let (prod, rest) = match Self::kept(&photos_products, prod, rest) {
                Ok(kept) => kept,
                Err(Unkept::OtherProduct(prod)) => {
                    ignored_products.entry(prod).or_insert((r.part, 0)).1 += 1;
                    continue;
                }
                Err(Unkept::Skipped) => continue,
                Err(Unkept::JsonCopy) => {
                    let part = self.part_path(r.part).to_path_buf();
                    self.problems.push(Problem::new(
                        &part,
                        Some(&path),
                        ProblemKind::Ignored,
                        "copy of a JSON file made by an extraction tool; ignored",
                    ));
                    continue;
                }
            };
            let listed = &self.listings[r.part].1.entries[r.entry];
            let (ordinal, size, at) = (listed.ordinal, listed.size, listed.at());
            let (name, dirs) = rest.split_last().expect("kept entries have a name");
            let lower = name.to_lowercase();
            let key = (prod.clone(), dirs.to_vec());
            if !groups.contains_key(&key) {
                group_order.push(key.clone());
            }
            let g = groups.entry(key).or_insert_with(|| Group {
                product: prod.clone(),
                dirs: dirs.to_vec(),
                ..Group::default()
            });
            let is_json = lower.ends_with(".json");
            let dup = first_by_path
                .first_of(r)
                .map(|first| (first, first_media.get(&first).copied()));
            if let Some((first, _)) = dup {
                let part = self.part_path(r.part).to_path_buf();
                let where_ = if first.part == r.part {
                    "earlier in this part".to_owned()
                } else {
                    format!("in {}", self.part_path(first.part).display())
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
                if dup.is_some() {
                    skip_json.insert(r);
                }
                g.jsons.push(r);
                continue;
            }
            let id = placed;
            placed += 1;
            let duplicate_of = dup.and_then(|(_, m)| m).map(index32);
            if first_by_path.is_repeated(r) {
                first_media.insert(r, id);
            }
            let zip = match at {
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
            let p = Placed {
                id: index32(id),
                part: index32(r.part),
                ordinal,
                folder: index32(folder),
                size,
                zip,
                duplicate_of,
                name,
            };
            self.placed.push(&mut g.placed, &p).map_err(Error::Spill)?;
        }
        drop((first_by_path, first_media));
        for (p, (_, listing)) in self.listings.iter_mut().enumerate().skip(placing) {
            release_listing(listing, p, &mut groups);
        }
        self.placed.seal().map_err(Error::Spill)?;
        let listed = lens;
        debug_assert!(
            groups
                .values()
                .all(|g| g.json_entries.len() == g.jsons.len()),
            "every folder's JSON moved, in the order of its refs"
        );
        for (prod, (part, count)) in ignored_products {
            let part = self.part_path(part).to_path_buf();
            self.problems.push(Problem::new(
                &part,
                Some(&format!("Takeout/{prod}")),
                ProblemKind::Ignored,
                format!("{count} entries of a product folder that is not Google Photos; ignored"),
            ));
        }

        let mut albums: Vec<(usize, AlbumInfo)> = Vec::new();
        let mut unmatched_sidecars = Vec::new();
        let mut ambiguous = Vec::new();
        let mut media = Media::new(self.media_file.take(), placed);
        // Folders by path, so that their entries, each folder's by name, go to the catalog's
        // store in record order; an album keeps its place in the order folders appeared.
        let mut order: Vec<(usize, (String, Vec<String>))> =
            group_order.into_iter().enumerate().collect();
        order.sort_by(|a, b| {
            let key = |k: &(String, Vec<String>)| groups.get(k).map_or("", Group::sort_key);
            key(&a.1).cmp(key(&b.1)).then_with(|| a.1.cmp(&b.1))
        });
        // Same-path duplicates whose first copy is in a folder matched later (parts laid out
        // differently): written last, with that copy's outcome.
        let mut deferred: Vec<MediaEntry> = Vec::new();
        let mut buf = Vec::new();
        // Each folder's JSON is released once it is matched, its entries once written.
        for (rank, key) in order {
            let Some(mut g) = groups.remove(&key) else {
                continue;
            };
            let mut entries = g.take_entries(&self.placed).map_err(Error::SpillRead)?;
            let mut found = Vec::new();
            self.match_group(
                g,
                &skip_json,
                &mut entries,
                &mut found,
                &mut unmatched_sidecars,
                &mut ambiguous,
            )
            .map_err(Error::Spill)?;
            albums.extend(found.into_iter().map(|a| (rank, a)));
            entries.sort_by(|a, b| a.record_key().cmp(&b.record_key()));
            for (e, settled) in share_with_duplicates(entries) {
                if settled {
                    media.push(&e, &mut buf).map_err(Error::Spill)?;
                } else {
                    deferred.push(e);
                }
            }
        }
        albums.sort_by_key(|(rank, _)| *rank);
        let albums: Vec<AlbumInfo> = albums.into_iter().map(|(_, a)| a).collect();
        self.sidecars.seal().map_err(Error::Spill)?;
        media.flush().map_err(Error::Spill)?;
        // Every first copy is read back before any duplicate is written: the store is read
        // only where everything written is in the file.
        for e in &mut deferred {
            let first = e.duplicate_of.expect("only duplicates are deferred");
            share(e, &media.get(first as usize).map_err(Error::SpillRead)?);
        }
        for e in deferred {
            media.push(&e, &mut buf).map_err(Error::Spill)?;
        }
        media.seal().map_err(Error::Spill)?;

        self.problems.append(&mut id_problems);
        let account_hint = self.account_hint(&html);
        let mut problems = Vec::new();
        let mut part_infos = Vec::new();
        for ((path, l), entries) in self.listings.iter_mut().zip(listed) {
            problems.append(&mut l.problems);
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            part_infos.push(PartInfo {
                path: path.clone(),
                format: l.format,
                export_id: names::parse_part_name(name).map(|n| n.export_id),
                entries,
                readable: l.readable,
            });
        }
        problems.append(&mut self.problems);
        Ok(Catalog {
            export_id,
            account_hint,
            parts: part_infos,
            media,
            sidecars: self.sidecars,
            albums,
            problems,
            unmatched_sidecars,
            ambiguous,
            limits: self.limits,
        })
    }
}

/// Gives each same-path duplicate among a folder's `entries` its first copy's outcome when
/// that copy is among them (as it is unless parts lay the folder out differently); each entry
/// comes back with whether it is settled.
fn share_with_duplicates(mut entries: Vec<MediaEntry>) -> Vec<(MediaEntry, bool)> {
    let by_id: HashMap<u32, usize> = if entries.iter().any(|e| e.duplicate_of.is_some()) {
        entries.iter().enumerate().map(|(i, e)| (e.id, i)).collect()
    } else {
        HashMap::new()
    };
    let mut settled = vec![true; entries.len()];
    for i in 0..entries.len() {
        if let Some(first) = entries[i].duplicate_of {
            match by_id.get(&first) {
                Some(&f) => {
                    let f = entries[f].clone();
                    share(&mut entries[i], &f);
                }
                None => settled[i] = false,
            }
        }
    }
    entries.into_iter().zip(settled).collect()
}

/// A same-path duplicate shares its first copy's outcome.
fn share(e: &mut MediaEntry, first: &MediaEntry) {
    e.sidecar = first.sidecar;
    e.matched_by = first.matched_by.clone();
    e.variant = first.variant;
    e.folder = first.folder.clone();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What every listed entry costs inline, at the scan's peak all at once (a 100,000-item
    /// export lists some 270,000 entries), and a media entry, held a folder at a time: a field
    /// added to either is memory per entry, and this says so.
    #[test]
    fn entry_sizes() {
        eprintln!(
            "MediaEntry {} SidecarRef {} RawEntry {} Folder {} MatchRule {} Variant {} ZipLoc {}",
            size_of::<MediaEntry>(),
            size_of::<SidecarRef>(),
            size_of::<parts::RawEntry>(),
            size_of::<Folder>(),
            size_of::<MatchRule>(),
            size_of::<Variant>(),
            size_of::<Option<parts::ZipLoc>>(),
        );
        assert!(
            size_of::<MediaEntry>() <= 136,
            "MediaEntry: {}",
            size_of::<MediaEntry>()
        );
        assert!(
            size_of::<parts::RawEntry>() <= 56,
            "RawEntry: {}",
            size_of::<parts::RawEntry>()
        );
    }

    /// A same-path duplicate in another folder of the scan (parts laid out differently: the
    /// first part's root is the Photos folder, the second lists product folders) is written
    /// to the catalog's store after the folders (here two of them), with its first copy's
    /// sidecar, folder and rule, as one in the same folder is.
    #[test]
    fn a_duplicate_in_another_folder_shares_its_first_copy_s_outcome() {
        let t = tempfile::tempdir().unwrap();
        let write = |part: &str, path: &str, bytes: &[u8]| {
            let f = t.path().join(part).join(path);
            std::fs::create_dir_all(f.parent().unwrap()).unwrap();
            std::fs::write(f, bytes).unwrap();
        };
        let path = "Fotos X/Photos from 2020/a.jpg";
        write("one", path, b"a");
        write(
            "one",
            &format!("{path}.json"),
            br#"{"title": "a.jpg", "photoTakenTime": {"timestamp": "1600000000"}}"#,
        );
        let other = "Fotos X/Photos from 2020/c.jpg";
        write("one", other, b"c");
        write("two", path, b"a");
        write("two", other, b"c");
        write("two", "Google Photos/Photos from 2021/b.jpg", b"b");
        let parts = [t.path().join("one"), t.path().join("two")];
        let spill = Spill::Files {
            sidecars: tempfile::tempfile().unwrap(),
            media: tempfile::tempfile().unwrap(),
            placement: tempfile::tempfile().unwrap(),
        };
        let catalog = scan_into(&parts, &Limits::default(), spill).unwrap();
        let media = catalog.media.to_vec().unwrap();
        assert_eq!(media.len(), 5, "{media:#?}");
        let first = media
            .iter()
            .find(|m| m.part_index == 0 && *m.path == *path)
            .unwrap();
        let dup = media
            .iter()
            .find(|m| m.part_index == 1 && *m.path == *path)
            .unwrap();
        assert_eq!(dup.duplicate_of, Some(first.id));
        assert!(first.sidecar.is_some(), "{first:#?}");
        assert_eq!(
            (dup.sidecar, &dup.folder, &dup.matched_by, dup.variant),
            (
                first.sidecar,
                &first.folder,
                &first.matched_by,
                first.variant
            )
        );
        // Written last, after the folders in path order.
        let written: Vec<u32> = catalog
            .media
            .in_record_order()
            .map(|m| m.unwrap().id)
            .collect();
        assert!(written[3..].contains(&dup.id), "{written:?}");
        let dups = media.iter().filter(|m| m.duplicate_of.is_some()).count();
        assert_eq!(dups, 2, "{media:#?}");
    }

    /// Two paths whose hashes, cut to the same-path map's key, are equal are two entries, and
    /// a path listed again (here in a second part) is still the first one's duplicate.
    #[test]
    fn paths_with_equal_short_hashes_stay_apart() {
        let dir = "Takeout/Google Photos/Photos from 2020";
        // A birthday search: some 77,000 names until two cut hashes meet.
        let mut seen = HashMap::new();
        let (a, b) = (0..)
            .find_map(|i| {
                let p = format!("{dir}/IMG_{i}.jpg");
                seen.insert(first_by_path::short_hash(&p), p.clone())
                    .map(|q| (q, p))
            })
            .unwrap();
        drop(seen);
        assert_ne!(a, b);
        assert_eq!(first_by_path::short_hash(&a), first_by_path::short_hash(&b));
        let t = tempfile::tempdir().unwrap();
        let write = |part: &str, path: &str, bytes: &[u8]| {
            let f = t.path().join(part).join(path);
            std::fs::create_dir_all(f.parent().unwrap()).unwrap();
            std::fs::write(f, bytes).unwrap();
        };
        write("one", &a, b"a");
        write("one", &b, b"b");
        write("two", &a, b"a");
        let parts = [t.path().join("one"), t.path().join("two")];
        let catalog = scan(&parts, &Limits::default()).unwrap();
        let media = catalog.media.to_vec().unwrap();
        let found: Vec<(u32, &str, Option<u32>)> = media
            .iter()
            .map(|m| (m.part_index, &*m.path, m.duplicate_of))
            .collect();
        let first_a = media
            .iter()
            .find(|m| m.part_index == 0 && *m.path == *a)
            .map(|m| m.id);
        assert_eq!(found.len(), 3, "{found:?}");
        for (part, path, dup) in &found {
            let expected = if *part == 1 { first_a } else { None };
            assert_eq!(*dup, expected, "{path} in part {part}: {found:?}");
        }
        assert!(found.iter().any(|(p, path, _)| *p == 0 && *path == b));
    }

    /// A derived export id is the FNV-1a hash of every listed path and size, sorted by whole
    /// path (stable across versions: an export imported before keeps its id). Checked against
    /// the hash computed here from the paths as written, with folders whose pieces sort
    /// otherwise than their whole paths (`x/y/a.jpg` before `x/z.jpg`, but `x/` before
    /// `x/y/`).
    #[test]
    fn a_derived_export_id_hashes_the_whole_paths_in_order() {
        let t = tempfile::tempdir().unwrap();
        let files = [
            ("Google Photos/x/z.jpg", "zz"),
            ("Google Photos/x/y/a.jpg", "a"),
            ("Google Photos/x/y.jpg", "yyy"),
            ("Google Photos/x y/b.jpg", "b"),
            ("Google Photos/top.jpg", "top"),
        ];
        for (path, bytes) in files {
            let f = t.path().join("export").join(path);
            std::fs::create_dir_all(f.parent().unwrap()).unwrap();
            std::fs::write(f, bytes).unwrap();
        }
        let catalog = scan(&[t.path().join("export")], &Limits::default()).unwrap();
        let mut listed: Vec<(&str, u64)> =
            files.iter().map(|(p, b)| (*p, b.len() as u64)).collect();
        listed.sort();
        let fnv = |h: u64, bytes: &[u8]| {
            bytes
                .iter()
                .fold(h, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
        };
        let mut h = 0xcbf2_9ce4_8422_2325u64;
        for (p, size) in &listed {
            h = fnv(h, p.as_bytes());
            h = fnv(h, &[0]);
            h = fnv(h, size.to_string().as_bytes());
            h = fnv(h, b"\n");
        }
        assert_eq!(catalog.export_id, format!("takeout-derived-{h:016x}"));
    }

    /// Read back in the import's record order, a spilled catalog's sidecars take one read of
    /// the store's file per window of it (64 KiB), not one per sidecar: the scan writes a
    /// folder's sidecars in name order whatever the archive's order (here the reverse).
    #[test]
    fn sidecars_read_in_record_order_take_few_reads() {
        use std::io::Write;
        let dir = "Takeout/Google Photos/Photos from 2020";
        let n = 1500;
        let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default();
        for i in (0..n).rev() {
            let name = format!("IMG_{i:05}.jpg");
            z.start_file(format!("{dir}/{name}"), opts).unwrap();
            z.write_all(b"jpeg").unwrap();
            z.start_file(format!("{dir}/{name}.json"), opts).unwrap();
            let json = format!(
                r#"{{"title": "{name}", "photoTakenTime": {{"timestamp": "{}"}},
                   "url": "https://photos.google.com/photo/AF1Qip{i:040}"}}"#,
                1_600_000_000 + i
            );
            z.write_all(json.as_bytes()).unwrap();
        }
        let t = tempfile::tempdir().unwrap();
        let part = t.path().join("takeout-20250921T101010Z-001.zip");
        std::fs::write(&part, z.finish().unwrap().into_inner()).unwrap();
        let spill = Spill::Files {
            sidecars: tempfile::tempfile().unwrap(),
            media: tempfile::tempfile().unwrap(),
            placement: tempfile::tempfile().unwrap(),
        };
        let catalog = scan_into(&[part], &Limits::default(), spill).unwrap();
        let mut titles = Vec::new();
        let mut keys = Vec::new();
        for m in catalog.media.in_record_order() {
            let m = m.unwrap();
            titles.push(catalog.sidecar(&m).unwrap().unwrap().title().to_owned());
            keys.push(m.record_key().2.to_owned());
        }
        assert_eq!(titles.len(), n);
        assert!(
            keys.is_sorted(),
            "the store gives the entries in record order"
        );
        assert!(
            titles.is_sorted(),
            "each entry's own sidecar, in name order"
        );
        let reads = crate::sidecars::file_reads(&catalog.sidecars);
        assert!(reads <= 8, "{reads} reads of the store for {n} sidecars");
        // By id, in archive order, which here is the reverse of the record order: the store's
        // window follows a reader going backwards too, so few reads serve every entry.
        for id in 0..n {
            assert_eq!(catalog.media.get(id).unwrap().index(), id);
        }
        let reads = catalog.media.reads();
        assert!(
            reads <= 2 + n / 100,
            "{reads} reads of the media store for {n} entries"
        );
    }

    #[test]
    fn years_from_epoch() {
        assert_eq!(year_of_epoch(0), 1970);
        assert_eq!(year_of_epoch(1_577_836_799), 2019); // 2019-12-31T23:59:59Z
        assert_eq!(year_of_epoch(1_577_836_800), 2020);
        assert_eq!(year_of_epoch(951_782_400), 2000); // 2000-02-29
        assert_eq!(year_of_epoch(-1), 1969);
    }

    #[test]
    fn json_copies_by_extraction_tools() {
        assert!(is_json_copy("IMG_1.jpg.json (1)"));
        assert!(is_json_copy("IMG_1.jpg.json(2)"));
        assert!(!is_json_copy("IMG_1.jpg.json"));
        assert!(!is_json_copy("IMG_1(1).jpg"));
        assert!(is_junk("._IMG_1.jpg"));
        assert!(is_junk(".DS_Store"));
    }

    #[test]
    fn part_order_by_number() {
        let p = |s: &str| PathBuf::from(s);
        let got = order_parts(&[
            p("/x/takeout-20250921T101010Z-3-010.zip"),
            p("/x/takeout-20250921T101010Z-3-002.zip"),
            p("/x/takeout-20250921T101010Z-3-009.zip"),
        ]);
        assert_eq!(got[0], p("/x/takeout-20250921T101010Z-3-002.zip"));
        assert_eq!(got[2], p("/x/takeout-20250921T101010Z-3-010.zip"));
        let keep = order_parts(&[p("b.zip"), p("a.zip")]);
        assert_eq!(keep, vec![p("b.zip"), p("a.zip")]);
    }
}
