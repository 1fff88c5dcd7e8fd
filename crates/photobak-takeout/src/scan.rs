//! Pass 1: list all parts, parse the JSON, place entries in folders and match.

use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use crate::folders::{self, Folder};
use crate::json::{self, JsonKind, Sidecar};
use crate::matcher::{self, LocalVariant, MatchRule, SidecarIn};
use crate::names;
use crate::parts::{self, Listing};
use crate::{
    AlbumInfo, Catalog, Error, Limits, MediaEntry, Origin, PartInfo, Problem, ProblemKind, Variant,
};

/// Reads every part of one export and pairs media with sidecars. See the crate docs.
pub fn scan(parts: &[PathBuf], limits: &Limits) -> Result<Catalog, Error> {
    if parts.is_empty() {
        return Err(Error::NoParts);
    }
    let ordered = order_parts(parts);
    let mut budget = limits.max_entries;
    let listings: Vec<(PathBuf, Listing)> = ordered
        .iter()
        .map(|p| (p.clone(), parts::list(p, limits, &mut budget)))
        .collect();
    if listings.iter().all(|(_, l)| !l.readable) {
        let problems = listings.into_iter().flat_map(|(_, l)| l.problems).collect();
        return Err(Error::Unreadable(problems));
    }
    Ok(Builder::new(listings, *limits).build())
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
    media: Vec<usize>,
    jsons: Vec<Ref>,
    /// The listed entries of `jsons`, moved out of the listings before the matching.
    json_entries: Vec<parts::RawEntry>,
}

struct Builder {
    listings: Vec<(PathBuf, Listing)>,
    problems: Vec<Problem>,
    limits: Limits,
    /// The text of every sidecar kept so far, by the hash of its bytes: a photo's copies in its
    /// year folder and its album folders have byte-identical sidecars, which then share one
    /// text instead of one each (about a quarter of the sidecars of a large export).
    raws: HashMap<u64, json::RawJson>,
    /// Each zip part, opened when a JSON entry of it is first read (`read_json`).
    files: Vec<Option<std::fs::File>>,
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

fn content_hash(bytes: &[u8]) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    h.finish()
}

fn fnv(acc: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(acc, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The first entry seen with each path (and its media id), by a hash of the path: the path
/// itself is in the listing, and a copy of every path as the key cost some 100 bytes per entry
/// at the scan's peak. Two different paths with the same hash are told apart by the listing;
/// the later one is then kept by its path in `collided`.
#[derive(Default)]
struct FirstByPath {
    by_hash: HashMap<u64, Packed>,
    collided: HashMap<String, (Ref, Option<usize>)>,
}

/// A first entry as the map holds it: with 270,000 entries its table (and the copy a growing
/// table makes) was the scan's peak, 32 MB with a `(Ref, Option<usize>)` of 32 bytes.
#[derive(Clone, Copy)]
struct Packed {
    part: u32,
    entry: u32,
    /// `u32::MAX`: not a media entry.
    media: u32,
}

impl Packed {
    /// Packs a first entry; `Limits::max_entries` keeps every index far below `u32::MAX`, and
    /// one that is not is kept by its path (in `collided`), not truncated.
    fn pack((r, m): (Ref, Option<usize>)) -> Option<Packed> {
        let small = |n: usize| u32::try_from(n).ok().filter(|&n| n != u32::MAX);
        Some(Packed {
            part: small(r.part)?,
            entry: small(r.entry)?,
            media: match m {
                Some(m) => small(m)?,
                None => u32::MAX,
            },
        })
    }

    fn unpack(self) -> (Ref, Option<usize>) {
        let r = Ref {
            part: self.part as usize,
            entry: self.entry as usize,
        };
        (r, (self.media != u32::MAX).then_some(self.media as usize))
    }
}

impl FirstByPath {
    /// Room for `n` entries at once: grown by doubling, the table was copied at its largest.
    fn with_capacity(n: usize) -> Self {
        FirstByPath {
            by_hash: HashMap::with_capacity(n),
            collided: HashMap::new(),
        }
    }

    fn get(&self, b: &Builder, media: &[MediaEntry], path: &str) -> Option<(Ref, Option<usize>)> {
        match self.by_hash.get(&content_hash(path.as_bytes())) {
            Some(p) if Self::path_of(b, media, p.unpack()) == path => Some(p.unpack()),
            _ if self.collided.is_empty() => None,
            _ => self.collided.get(path).copied(),
        }
    }

    /// Records the first entry of `path` (which [`Self::get`] did not find).
    fn insert(
        &mut self,
        b: &Builder,
        media: &[MediaEntry],
        path: &str,
        first: (Ref, Option<usize>),
    ) {
        let Some(packed) = Packed::pack(first) else {
            self.collided.insert(path.to_owned(), first);
            return;
        };
        match self.by_hash.entry(content_hash(path.as_bytes())) {
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(packed);
            }
            std::collections::hash_map::Entry::Occupied(o) => {
                if Self::path_of(b, media, o.get().unpack()) != path {
                    self.collided.insert(path.to_owned(), first);
                }
            }
        }
    }

    /// The path of a first entry: a media entry's is in the media entry (its listing gave it
    /// up), a JSON file's in the listing.
    fn path_of<'a>(
        b: &'a Builder,
        media: &'a [MediaEntry],
        (r, m): (Ref, Option<usize>),
    ) -> &'a str {
        match m {
            Some(m) => &media[m].path,
            None => &b.entry(r).path,
        }
    }
}

impl Builder {
    fn new(listings: Vec<(PathBuf, Listing)>, limits: Limits) -> Self {
        let nparts = listings.len();
        Builder {
            listings,
            problems: Vec::new(),
            limits,
            raws: HashMap::new(),
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
        if e.data.is_some() {
            let data = if take { e.data.take() } else { e.data.clone() };
            return data.map(Vec::from);
        }
        let at = e.at?;
        let path = &self.listings[part].0;
        match parts::read_json_at(path, &mut self.files[part], &e.path, &at) {
            Ok(d) => Some(d),
            Err(err) => {
                if report {
                    let kind = if crate::guard::is_bomb(&err) {
                        ProblemKind::TooLarge
                    } else {
                        ProblemKind::Corrupt
                    };
                    let p = Problem::new(path, Some(&e.path), kind, format!("cannot read: {err}"));
                    self.problems.push(p);
                }
                None
            }
        }
    }

    fn part_path(&self, part: usize) -> &Path {
        &self.listings[part].0
    }

    fn entry(&self, r: Ref) -> &parts::RawEntry {
        &self.listings[r.part].1.entries[r.entry]
    }

    fn root_mode(&self, part: usize) -> RootMode {
        let (path, listing) = &self.listings[part];
        let first = |e: &parts::RawEntry| e.path.split('/').next().unwrap_or("").to_owned();
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
                .any(|e| folders::is_product_name(&first(e)))
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

    fn build(mut self) -> Catalog {
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
        let product_of = |b: &Self, r: Ref| match Self::place(&modes[r.part], &b.entry(r).path) {
            Some(Place::Product(prod, rest)) => Some((prod, rest)),
            _ => None,
        };
        // Room for every entry at once (grown by doubling, the old and the new buffer were
        // held together).
        let mut placed: Vec<Ref> =
            Vec::with_capacity(self.listings.iter().map(|(_, l)| l.entries.len()).sum());
        let mut html: Vec<String> = Vec::new();
        for (p, mode) in modes.iter().enumerate() {
            for (i, e) in self.listings[p].1.entries.iter().enumerate() {
                match Self::place(mode, &e.path) {
                    Some(Place::Product(..)) => placed.push(Ref { part: p, entry: i }),
                    Some(Place::Top) => {
                        // The archive browser page names the account.
                        let lower = e.path.to_lowercase();
                        if (lower.ends_with(".html") || lower.ends_with(".htm"))
                            && let Some(d) = &e.data
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
        for &r in &placed {
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
            } else if self.entry(r).path.to_ascii_lowercase().ends_with(".json")
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

        // Media in global order, grouped by folder; duplicates by path.
        // Room for every entry that may be media, at once: a `MediaEntry` is several hundred
        // bytes, and growing the vector by doubling held the old and the new buffer together
        // (up to three times the final size) at the scan's peak.
        let may_be_media = placed
            .iter()
            .filter(|&&r| !self.entry(r).path.to_ascii_lowercase().ends_with(".json"))
            .count();
        let mut media: Vec<MediaEntry> = Vec::with_capacity(may_be_media);
        let mut groups: BTreeMap<(String, Vec<String>), Group> = BTreeMap::new();
        let mut group_order: Vec<(String, Vec<String>)> = Vec::new();
        let mut first_by_path = FirstByPath::with_capacity(placed.len());
        let mut skip_json: std::collections::HashSet<Ref> = std::collections::HashSet::new();
        for r in placed {
            let Some((prod, rest)) = product_of(&self, r) else {
                continue;
            };
            if !photos_products.get(&prod).copied().unwrap_or(false) {
                ignored_products.entry(prod).or_insert((r.part, 0)).1 += 1;
                continue;
            }
            // Borrowed from the listing (a media entry's path moves into its entry below):
            // a copy of every listed path was 270,000 allocations at the scan's peak.
            let (ordinal, size, at) = {
                let x = self.entry(r);
                (x.ordinal, x.size, x.at)
            };
            let path = self.listings[r.part].1.entries[r.entry].path.as_str();
            let Some((name, dirs)) = rest.split_last() else {
                continue;
            };
            let lower = name.to_lowercase();
            if is_junk(name) || lower.ends_with(".html") || lower.ends_with(".htm") {
                continue;
            }
            if is_json_copy(name) {
                let part = self.part_path(r.part).to_path_buf();
                self.problems.push(Problem::new(
                    &part,
                    Some(path),
                    ProblemKind::Ignored,
                    "copy of a JSON file made by an extraction tool; ignored",
                ));
                continue;
            }
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
            let dup = first_by_path.get(&self, &media, path);
            if let Some((first, _)) = dup {
                let part = self.part_path(r.part).to_path_buf();
                let where_ = if first.part == r.part {
                    "earlier in this part".to_owned()
                } else {
                    format!("in {}", self.part_path(first.part).display())
                };
                self.problems.push(Problem::new(
                    &part,
                    Some(path),
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
                } else {
                    first_by_path.insert(&self, &media, path, (r, None));
                }
                g.jsons.push(r);
                continue;
            }
            let id = media.len();
            let duplicate_of = dup.and_then(|(_, m)| m);
            if dup.is_none() {
                first_by_path.insert(&self, &media, path, (r, Some(id)));
            }
            g.media.push(id);
            let zip = match at {
                Some(parts::EntryAt::Zip(loc)) => Some(loc),
                _ => None,
            };
            media.push(MediaEntry {
                id,
                part_index: r.part,
                entry_index: ordinal,
                path: std::mem::take(&mut self.listings[r.part].1.entries[r.entry].path),
                folder: Folder::Other(String::new()),
                size,
                zip,
                sidecar: None,
                matched_by: MatchRule::None {
                    reason: "no sidecar with a matching name and title",
                },
                variant: Variant::Original,
                duplicate_of,
            });
        }
        drop(first_by_path);
        // From here on the listings are needed for the JSON of each folder alone: it moves
        // into its group, and the rest (the media entries' places; their paths moved already)
        // is released before the matching, which was the scan's peak with the listings held.
        let listed: Vec<usize> = self.listings.iter().map(|(_, l)| l.entries.len()).collect();
        for g in groups.values_mut() {
            g.json_entries = g
                .jsons
                .iter()
                .map(|r| std::mem::take(&mut self.listings[r.part].1.entries[r.entry]))
                .collect();
        }
        for (_, l) in &mut self.listings {
            l.entries = Vec::new();
        }
        for (prod, (part, count)) in ignored_products {
            let part = self.part_path(part).to_path_buf();
            self.problems.push(Problem::new(
                &part,
                Some(&format!("Takeout/{prod}")),
                ProblemKind::Ignored,
                format!("{count} entries of a product folder that is not Google Photos; ignored"),
            ));
        }

        let mut albums = Vec::new();
        let mut unmatched_sidecars = Vec::new();
        let mut ambiguous = Vec::new();
        // Each folder's JSON is released once it is matched.
        for key in &group_order {
            let Some(g) = groups.remove(key) else {
                continue;
            };
            self.match_group(
                g,
                &skip_json,
                &mut media,
                &mut albums,
                &mut unmatched_sidecars,
                &mut ambiguous,
            );
        }
        // Duplicates (same path) share the first copy's outcome.
        for i in 0..media.len() {
            if let Some(first) = media[i].duplicate_of {
                let (sidecar, rule, variant, folder) = {
                    let f = &media[first];
                    (
                        f.sidecar.clone(),
                        f.matched_by.clone(),
                        f.variant,
                        f.folder.clone(),
                    )
                };
                media[i].sidecar = sidecar;
                media[i].matched_by = rule;
                media[i].variant = variant;
                media[i].folder = folder;
            }
        }

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
        Catalog {
            export_id,
            account_hint,
            parts: part_infos,
            media,
            albums,
            problems,
            unmatched_sidecars,
            ambiguous,
            limits: self.limits,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn match_group(
        &mut self,
        mut g: Group,
        skip_json: &std::collections::HashSet<Ref>,
        media: &mut [MediaEntry],
        albums: &mut Vec<AlbumInfo>,
        unmatched_sidecars: &mut Vec<String>,
        ambiguous: &mut Vec<(String, Vec<String>)>,
    ) {
        let mut sidecars: Vec<(Sidecar, String, u64)> = Vec::new();
        let mut album: Option<(json::AlbumMeta, String)> = None;
        let entries = std::mem::take(&mut g.json_entries);
        for (&r, mut e) in g.jsons.iter().zip(entries) {
            if skip_json.contains(&r) {
                continue;
            }
            // Each JSON is read once, here: its bytes are not needed after.
            let Some(data) = self.read_json(r.part, &mut e, true, true) else {
                continue; // too large or unreadable: already a problem
            };
            let (path, at) = (e.path, e.at);
            let hash = content_hash(&data);
            let part = self.part_path(r.part).to_path_buf();
            let name = path.rsplit('/').next().unwrap_or("").to_owned();
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
            match json::classify_at(&name, v, &path, r.part, at) {
                Ok(JsonKind::Sidecar(s)) => {
                    for msg in json::time_problems(v) {
                        self.problems.push(Problem::new(
                            &part,
                            Some(&path),
                            ProblemKind::MissingTime,
                            msg,
                        ));
                    }
                    let mut s = *s;
                    // Only held texts are shared; a place is smaller than a shared text.
                    if let Some(text) = s.raw.held() {
                        match self.raws.get(&hash) {
                            Some(same) if same.held() == Some(text) => s.raw = same.clone(),
                            Some(_) => {}
                            None => {
                                self.raws.insert(hash, s.raw.clone());
                            }
                        }
                    }
                    sidecars.push((s, name, hash));
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
                        album = Some((a, path.clone()));
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
            0 => Folder::Other(String::new()),
            1 => {
                let years: Vec<i32> = sidecars
                    .iter()
                    .filter_map(|(s, _, _)| s.photo_taken_time.map(year_of_epoch))
                    .collect();
                let meta = album
                    .as_ref()
                    .map(|(a, _)| (a.title.as_str(), a.description.as_deref()));
                folders::classify(&g.dirs[0], meta, &years)
            }
            _ => Folder::Other(g.dirs.join("/")),
        };
        if let Folder::Album(names) = &folder {
            let (folder_name, title, description) =
                (&names.folder_name, &names.title, &names.description);
            let folder_path = g
                .media
                .first()
                .map(|&m| media[m].folder_path().to_owned())
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

        let ids: Vec<usize> = g
            .media
            .iter()
            .copied()
            .filter(|&m| media[m].duplicate_of.is_none())
            .collect();
        let names_: Vec<&str> = ids.iter().map(|&m| media[m].file_name()).collect();
        let ins: Vec<SidecarIn<'_>> = sidecars
            .iter()
            .map(|(s, name, hash)| SidecarIn {
                name: name.as_str(),
                title: s.title.as_str(),
                content: *hash,
            })
            .collect();
        let result = matcher::match_folder(&names_, &ins);
        let sidecar_path = |i: usize| sidecars[i].0.json_path.clone();
        let by_name: HashMap<&str, usize> = sidecars
            .iter()
            .enumerate()
            .map(|(i, (_, n, _))| (n.as_str(), i))
            .collect();
        let mut updates = Vec::with_capacity(ids.len());
        for (k, o) in result.outcomes.into_iter().enumerate() {
            let id = ids[k];
            let full = o.sidecar.map(|i| &sidecars[i].0);
            let mut variant = match o.variant {
                LocalVariant::Original => Variant::Original,
                LocalVariant::Creation => Variant::Creation,
                LocalVariant::Edited(x) => Variant::Edited {
                    original: x.map(|l| ids[l]),
                },
                LocalVariant::LiveCompanion(x) => Variant::LiveCompanion {
                    still: x.map(|l| ids[l]),
                },
            };
            if variant == Variant::Original
                && matches!(
                    full.and_then(|s| s.origin.as_ref()),
                    Some(Origin::Composition { .. })
                )
            {
                variant = Variant::Creation;
            }
            let rule = match o.rule {
                MatchRule::Ambiguous { candidates } => {
                    let paths: Vec<String> = candidates
                        .iter()
                        .map(|n| {
                            by_name
                                .get(n.as_str())
                                .map_or_else(|| n.clone(), |&i| sidecar_path(i))
                        })
                        .collect();
                    ambiguous.push((media[id].path.clone(), paths.clone()));
                    MatchRule::Ambiguous { candidates: paths }
                }
                other => other,
            };
            updates.push((id, full.map(|s| Box::new(s.to_ref())), rule, variant));
        }
        for (id, sidecar, rule, variant) in updates {
            let m = &mut media[id];
            m.sidecar = sidecar;
            m.matched_by = rule;
            m.variant = variant;
            m.folder = folder.clone();
        }
        for &m in &g.media {
            media[m].folder = folder.clone();
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
                && media[m].duplicate_of.is_none()
            {
                let part = self.part_path(media[m].part_index).to_path_buf();
                let path = media[m].path.clone();
                self.problems
                    .push(Problem::new(&part, Some(&path), kind, msg));
            }
        }
        unmatched_sidecars.extend(result.unmatched.into_iter().map(sidecar_path));
    }

    fn export_id(&self) -> (String, Vec<Problem>) {
        let mut ids: Vec<(usize, String)> = Vec::new();
        for (i, (path, _)) in self.listings.iter().enumerate() {
            if let Some(n) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(names::parse_part_name)
            {
                ids.push((i, n.export_id));
            }
        }
        let mut problems = Vec::new();
        // The export most parts belong to (the first one on a tie).
        let count = |id: &String| ids.iter().filter(|(_, x)| x == id).count();
        let best = ids
            .iter()
            .map(|(_, id)| id)
            .fold(None::<&String>, |b, id| match b {
                Some(b) if count(b) >= count(id) => Some(b),
                _ => Some(id),
            });
        if let Some(first) = best {
            for (i, id) in &ids {
                if id != first {
                    problems.push(Problem::new(
                        &self.listings[*i].0,
                        None,
                        ProblemKind::MixedExports,
                        format!("part of export {id}, not {first}: parts of different exports were given together"),
                    ));
                }
            }
            return (first.clone(), problems);
        }
        let mut all: Vec<(&str, u64)> = self
            .listings
            .iter()
            .flat_map(|(_, l)| l.entries.iter().map(|e| (e.path.as_str(), e.size)))
            .collect();
        all.sort();
        let mut h = 0xcbf2_9ce4_8422_2325u64;
        for (p, s) in &all {
            h = fnv(h, p.as_bytes());
            h = fnv(h, &[0]);
            h = fnv(h, s.to_string().as_bytes());
            h = fnv(h, b"\n");
        }
        (format!("takeout-derived-{h:016x}"), problems)
    }

    fn account_hint(&self, html: &[String]) -> Option<String> {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        let mut add = |text: &str| {
            for e in names::find_emails(text) {
                let domain = e.rsplit('@').next().unwrap_or("").to_lowercase();
                if domain == "google.com" || domain.ends_with(".google.com") {
                    continue;
                }
                *counts.entry(e).or_default() += 1;
            }
        };
        for t in html {
            add(t);
        }
        for (p, _) in &self.listings {
            add(&p.to_string_lossy());
        }
        let max = counts.values().copied().max()?;
        counts.into_iter().find(|(_, c)| *c == max).map(|(e, _)| e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What every media entry and every listed entry cost inline, at the scan's peak all at
    /// once (a 100,000-item export lists some 270,000 entries and 133,000 media entries): a
    /// field added to either is memory per entry, and this says so.
    #[test]
    fn entry_sizes() {
        eprintln!(
            "MediaEntry {} Sidecar {} RawEntry {}",
            size_of::<MediaEntry>(),
            size_of::<Sidecar>(),
            size_of::<parts::RawEntry>()
        );
        assert!(
            size_of::<MediaEntry>() <= 192,
            "MediaEntry: {}",
            size_of::<MediaEntry>()
        );
        assert!(
            size_of::<parts::RawEntry>() <= 88,
            "RawEntry: {}",
            size_of::<parts::RawEntry>()
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
