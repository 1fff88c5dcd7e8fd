//! Pass 1: survey every part (`survey.rs`), then list and place each in turn (`place.rs`),
//! one part's listing held at a time, the placed entries in the placement's store
//! (`placed.rs`); then match each folder (`matching.rs`), its JSON parsed where it is used,
//! a large one a slice of its names at a time (`slices.rs`).

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

mod crowded;
mod derived;
mod export;
mod first_by_path;
mod held;
mod matching;
mod place;
mod placed;
mod slices;
mod survey;

use first_by_path::FirstByPath;
use held::HeldListings;
use placed::{Chain, Placed, PlacedJson, PlacedStore};
use survey::Surveyed;

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
    Builder::new(ordered, *limits, spill).build()
}

/// A part's Takeout name (`takeout-20250921T101010Z-001.zip`), when it carries one.
fn part_name(part: &Path) -> Option<names::PartName> {
    part.file_name()
        .and_then(|n| n.to_str())
        .and_then(names::parse_part_name)
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

/// What a part's layout ([`RootMode`]) is decided by, seen in its listing (or in each chunk
/// of it): whether an entry's path begins with `Takeout/`, whether one begins with a product
/// folder's name.
#[derive(Default)]
struct RootSeen {
    takeout: bool,
    product: bool,
}

impl RootSeen {
    fn see(&mut self, listing: &Listing) {
        // The path's first piece, without making the path.
        fn first_piece<'a>(listing: &'a Listing, e: &'a parts::RawEntry) -> &'a str {
            let dir = listing.dir(e);
            let whole = if dir.is_empty() { &*e.name } else { dir };
            whole.split('/').next().unwrap_or("")
        }
        for e in &listing.entries {
            let first = first_piece(listing, e);
            self.takeout |= first.eq_ignore_ascii_case("Takeout");
            self.product |= folders::is_product_name(first);
        }
    }

    /// The layout of the part at `path`.
    fn mode(&self, path: &Path) -> RootMode {
        if self.takeout {
            return RootMode::Takeout;
        }
        let part_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if part_name.eq_ignore_ascii_case("Takeout") || self.product {
            return RootMode::ProductList;
        }
        RootMode::ProductRoot
    }
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
    /// The folder's JSON entries as placed, until it is matched (in the placement's store).
    jsons: Chain,
}

impl Group {
    /// The media entry the placed record `p` of this folder is made whole into, for its
    /// matching (`parts`: how many parts the scan has).
    ///
    /// # Errors
    /// When the record names no part of the scan or no folder of this group (a damaged file).
    fn entry(&self, p: Placed, parts: usize) -> std::io::Result<MediaEntry> {
        let folder = self
            .folder_paths
            .get(p.folder as usize)
            .ok_or_else(placed::damaged)?;
        if p.part as usize >= parts {
            return Err(placed::damaged());
        }
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
    /// Where the media entries go once matched, their records and where each starts (None:
    /// in memory).
    media_file: Option<(std::fs::File, std::fs::File)>,
    /// The survey's hashes in sorted runs (`first_by_path::Tally`).
    survey_file: Option<std::fs::File>,
    /// The derived export id's runs of paths (`derived.rs`).
    paths_file: Option<std::fs::File>,
    /// A large folder's sidecars and matched slices while it is matched (`slices.rs`).
    matching_file: Option<std::fs::File>,
    /// The media and JSON entries as placed, until their folder is matched.
    placed: PlacedStore,
    /// The tar parts' listings, from their survey to their placement.
    held: HeldListings,
    /// Each zip part, opened when a JSON entry of it is first read (`read_json`).
    files: Vec<Option<std::fs::File>>,
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
    fn new(parts: Vec<PathBuf>, limits: Limits, spill: Spill) -> Self {
        let nparts = parts.len();
        // Each part's listing, while the survey or the placement holds it.
        let listings = parts
            .into_iter()
            .map(|p| {
                let empty = Listing {
                    format: crate::PartFormat::Unknown,
                    entries: Vec::new(),
                    dirs: Vec::new(),
                    problems: Vec::new(),
                    readable: false,
                };
                (p, empty)
            })
            .collect();
        let (sidecars, media_file, placement, survey_file, matching_file, held, paths) = match spill
        {
            Spill::Memory => (None, None, None, None, None, None, None),
            Spill::Files {
                sidecars,
                media,
                media_index,
                placement,
                survey,
                matching,
                listings,
                paths,
            } => (
                Some(sidecars),
                Some((media, media_index)),
                Some(placement),
                Some(survey),
                Some(matching),
                Some(listings),
                Some(paths),
            ),
        };
        Builder {
            listings,
            problems: Vec::new(),
            limits,
            sidecars: Sidecars::new(sidecars),
            media_file,
            survey_file,
            paths_file: paths,
            matching_file,
            placed: PlacedStore::new(placement),
            held: HeldListings::new(held),
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
        Self::name_kept(&rest)?;
        Ok((prod, rest))
    }

    /// [`Self::kept`]'s answer for an entry under a product folder of Google Photos: what its
    /// name decides.
    fn name_kept(rest: &[String]) -> Result<(), Unkept> {
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
        Ok(())
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
        let mut seen = RootSeen::default();
        seen.see(listing);
        seen.mode(path)
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

    fn build(self) -> Result<Catalog, Error> {
        self.build_then(|_| {})
    }

    /// [`Self::build`], calling `after_survey` between the survey and the placement (where a
    /// test changes a part).
    fn build_then(mut self, after_survey: impl FnOnce(&Self)) -> Result<Catalog, Error> {
        // JSON is parsed where it is used, one folder at a time, and its bytes are released
        // as soon as it is: holding every sidecar of a 100,000-item export parsed at once cost
        // more memory than everything else together. Each part's listing is held while it
        // is surveyed, then while it is placed (`survey.rs`, `place.rs`), one part at a time.
        let mut survey = self.survey()?;
        if self.listings.iter().all(|(_, l)| !l.readable) {
            let problems = self
                .listings
                .iter_mut()
                .flat_map(|(_, l)| std::mem::take(&mut l.problems))
                .collect();
            return Err(Error::Unreadable(problems));
        }
        after_survey(&self);
        let (export_id, mut id_problems) = self.export_id(survey.derived.take())?;
        let listed: Vec<usize> = survey.parts.iter().map(|p| p.listed).collect();
        let mut at = place::Placement::default();
        for p in 0..self.listings.len() {
            self.place_part(p, &mut survey, &mut at)?;
        }
        let place::Placement {
            placed,
            mut groups,
            group_order,
            ignored_products,
        } = at;
        let html = std::mem::take(&mut survey.html);
        drop(survey);
        self.placed.seal().map_err(Error::Spill)?;
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
        let mut media = Media::new(self.media_file.take(), placed).map_err(Error::Spill)?;
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
            let Some(g) = groups.remove(&key) else {
                continue;
            };
            let mut found = Vec::new();
            self.match_group(
                g,
                matching::Matched {
                    media: &mut media,
                    deferred: &mut deferred,
                    albums: &mut found,
                    unmatched_sidecars: &mut unmatched_sidecars,
                    ambiguous: &mut ambiguous,
                },
            )?;
            albums.extend(found.into_iter().map(|a| (rank, a)));
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
            part_infos.push(PartInfo {
                path: path.clone(),
                format: l.format,
                export_id: part_name(path).map(|n| n.export_id),
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

    /// What every listed entry costs inline, a part's listing at a time (every tar part's at
    /// once; a 100,000-item export lists some 270,000 entries), and a media entry, held a
    /// slice of a folder at a time: a field added to either is memory per entry, and this
    /// says so.
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
        let spill = Spill::files(tempfile::tempfile).unwrap();
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
        let spill = Spill::files(tempfile::tempfile).unwrap();
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
        // The sidecars in archive order too: each found from the place kept before it.
        let before = crate::sidecars::file_reads(&catalog.sidecars);
        for id in 0..n {
            let m = catalog.media.get(id).unwrap();
            let title = catalog.sidecar(&m).unwrap().unwrap().title().to_owned();
            assert!(m.path.ends_with(&format!("/{title}")), "{title}");
        }
        let reads = crate::sidecars::file_reads(&catalog.sidecars) - before;
        assert!(
            reads <= 2 + n / 100,
            "{reads} reads for {n} sidecars backwards"
        );
    }

    /// A zip part of `files` (path, bytes).
    fn zip_part(files: &[(&str, &[u8])]) -> Vec<u8> {
        use std::io::Write;
        let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for (path, bytes) in files {
            z.start_file(*path, zip::write::SimpleFileOptions::default())
                .unwrap();
            z.write_all(bytes).unwrap();
        }
        z.finish().unwrap().into_inner()
    }

    /// A tgz part of `files` (path, bytes) at `path`.
    fn write_tgz(path: &Path, files: &[(&str, &[u8])]) {
        let gz = flate2::write::GzEncoder::new(
            std::fs::File::create(path).unwrap(),
            flate2::Compression::default(),
        );
        let mut tar = tar::Builder::new(gz);
        for (name, bytes) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(bytes.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            tar.append_data(&mut h, name, *bytes).unwrap();
        }
        tar.into_inner().unwrap().finish().unwrap();
    }

    const SIDECAR: &[u8] = br#"{"title": "a.jpg", "photoTakenTime": {"timestamp": "1600000000"}}"#;

    /// The survey holds one part's listing at a time: between the survey and the placement
    /// no part holds an entry in memory: a zip or folder part is listed again when placed, a
    /// tar part's listing (it cannot be listed without being read whole) is read back from
    /// where the survey wrote it (`held.rs`). What the placement makes of them is what it made
    /// of a listing held throughout.
    #[test]
    fn parts_are_listed_again_or_read_back_when_placed() {
        let t = tempfile::tempdir().unwrap();
        let dir = "Takeout/Google Photos/Photos from 2020";
        let zip = t.path().join("takeout-20250921T101010Z-001.zip");
        std::fs::write(
            &zip,
            zip_part(&[
                (&format!("{dir}/a.jpg"), b"a"),
                (&format!("{dir}/a.jpg.json"), SIDECAR),
            ]),
        )
        .unwrap();
        let tgz = t.path().join("takeout-20250921T101010Z-002.tgz");
        let json = br#"{"title": "b.jpg", "photoTakenTime": {"timestamp": "1600000001"}}"#;
        write_tgz(
            &tgz,
            &[
                (&format!("{dir}/b.jpg"), b"b"),
                (&format!("{dir}/b.jpg.json"), json),
            ],
        );
        let folder = t.path().join("extracted");
        std::fs::create_dir_all(folder.join("Google Photos/Photos from 2021")).unwrap();
        std::fs::write(folder.join("Google Photos/Photos from 2021/c.jpg"), b"c").unwrap();
        let parts = vec![zip.clone(), tgz.clone(), folder.clone()];
        let mut seen = Vec::new();
        let catalog = Builder::new(parts.clone(), Limits::default(), Spill::Memory)
            .build_then(|b| {
                seen = b
                    .listings
                    .iter()
                    .map(|(_, l)| (l.format, l.entries.len()))
                    .collect();
            })
            .unwrap();
        use crate::PartFormat;
        assert_eq!(
            seen,
            [
                (PartFormat::Zip, 0),
                (PartFormat::Tgz, 0),
                (PartFormat::Folder, 0)
            ]
        );
        let whole = scan(&parts, &Limits::default()).unwrap();
        let media = catalog.media.to_vec().unwrap();
        assert_eq!(media.len(), 3, "{media:#?}");
        assert!(
            media.iter().take(2).all(|m| m.sidecar.is_some()),
            "{media:#?}"
        );
        assert_eq!(
            format!("{media:?}"),
            format!("{:?}", whole.media.to_vec().unwrap())
        );
        assert_eq!(
            catalog.parts.iter().map(|p| p.entries).collect::<Vec<_>>(),
            [2, 2, 1]
        );
    }

    /// A part that lists otherwise when it is placed than when it was surveyed changed while
    /// it was read: the scan stops with an error naming it, whether a file was added to a
    /// folder part or a zip part was written again with other contents; a `.DS_Store` written
    /// in between is no change. A tar part is not read again (its listing is read back from
    /// the survey's spill file), so one removed after the survey is still placed. A folder
    /// part listed a chunk at a time is checked the same way.
    #[test]
    fn a_part_changed_between_its_two_listings_is_an_error_naming_it() {
        let t = tempfile::tempdir().unwrap();
        let dir = "Google Photos/Photos from 2020";
        let scan_changing = |parts: Vec<PathBuf>, change: &dyn Fn()| {
            Builder::new(parts, Limits::default(), Spill::Memory).build_then(|_| change())
        };
        for folder_chunk in [Limits::default().folder_chunk, 2] {
            let folder = t.path().join(format!("extracted-{folder_chunk}"));
            std::fs::create_dir_all(folder.join(dir)).unwrap();
            for name in ["a.jpg", "c.jpg", "d.jpg"] {
                std::fs::write(folder.join(dir).join(name), name).unwrap();
            }
            let limits = Limits {
                folder_chunk,
                ..Limits::default()
            };
            let scan_changing = |change: &dyn Fn()| {
                Builder::new(vec![folder.clone()], limits, Spill::Memory).build_then(|_| change())
            };
            // A file the scan never keeps, written by the system between the two listings
            // (and shifting the positions of the files after it), is no change.
            let catalog = scan_changing(&|| {
                std::fs::write(folder.join(".DS_Store"), b"finder").unwrap();
            })
            .unwrap();
            assert_eq!(catalog.media.to_vec().unwrap().len(), 3);
            let err = scan_changing(&|| {
                std::fs::write(folder.join(dir).join("b.jpg"), b"b").unwrap();
            })
            .unwrap_err();
            assert!(matches!(&err, Error::Changed(p) if *p == folder), "{err}");
            assert!(
                err.to_string().contains("changed while it was read"),
                "{err}"
            );
        }

        let zip = t.path().join("takeout-20250921T101010Z-001.zip");
        let files = |bytes: &'static [u8]| [(format!("Takeout/{dir}/a.jpg"), bytes)];
        let write = |bytes: &'static [u8]| {
            let f = files(bytes);
            let f: Vec<(&str, &[u8])> = f.iter().map(|(p, b)| (p.as_str(), *b)).collect();
            std::fs::write(&zip, zip_part(&f)).unwrap();
        };
        write(b"a");
        // The same path and size, other bytes: the CRC-32 in the directory differs.
        let err = scan_changing(vec![zip.clone()], &|| write(b"z")).unwrap_err();
        assert!(matches!(&err, Error::Changed(p) if *p == zip), "{err}");
        // Unchanged, the same scan succeeds.
        let catalog = scan_changing(vec![zip.clone()], &|| {}).unwrap();
        assert_eq!(catalog.media.to_vec().unwrap().len(), 1);

        let tgz = t.path().join("takeout-20250921T101010Z-002.tgz");
        write_tgz(&tgz, &[(&format!("Takeout/{dir}/t.jpg"), b"t")]);
        let catalog = scan_changing(vec![zip.clone(), tgz.clone()], &|| {
            std::fs::remove_file(&tgz).unwrap();
        })
        .unwrap();
        let media = catalog.media.to_vec().unwrap();
        assert_eq!(media.len(), 2, "{media:#?}");
        assert!(media.iter().any(|m| m.path.ends_with("t.jpg")));
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
