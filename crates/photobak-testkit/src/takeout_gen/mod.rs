//! A generator of Google Takeout exports of Google Photos (google.md §4, §6 "Takeout
//! generator"), for tests of Takeout importers.
//!
//! Describe an export with an [`ExportSpec`] (items with title, bytes and sidecar fields,
//! albums, language, part format and name style, part size, whether sidecars land in other
//! parts than their media, extra files), then [`write_export`] it as multi-part `.zip` or `.tgz`
//! files, or extracted folders. [`ExportSpec::expected`] says, per archive file, what a correct
//! reader must find: sidecar, the rule that pairs them, variant links, folder and metadata.
//! [`realistic_export`] builds one export that exercises every quirk of google.md §4;
//! [`matching_export`] the layouts on which matching used to fail (no `url`, edited suffixes in
//! no table, special folders);
//! [`newer_export`] derives the next full export of the same account from a spec, and
//! [`incremental_export`] the next scheduled incremental one (only what was added or edited).
//!
//! Google's naming is implemented here in the forward direction (title → archive names,
//! module `google`), independently of any reader.

mod google;
mod lang;
mod matching;
mod media;
mod realistic;

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde_json::{Value, json};

pub use google::SidecarStyle;
pub use lang::Lang;
pub use matching::{INFERRED_SUFFIXES, MATCHING_ALBUMS, matching_export};
pub use media::{MediaBytes, Sample, synthetic};
pub use realistic::{ExportDiff, incremental_export, newer_export, realistic_export};

/// How the parts are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveFormat {
    Zip,
    Tgz,
    /// Each part extracted into a folder named like the part (`takeout-…-001/Takeout/…`).
    Folder,
}

/// Part file names: `takeout-<ts>-NNN.zip` (until 2025) or `takeout-<ts>-<segment>-NNN.zip`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartStyle {
    Old,
    New { segment: u32 },
}

/// The capture time in an item's sidecar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TakenAt {
    At(i64),
    /// `"timestamp": "0"`.
    Zero,
    /// No `photoTakenTime` at all.
    Missing,
}

/// `googlePhotosOrigin` of an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OriginSpec {
    Android {
        folder: String,
    },
    Iphone,
    Web,
    Partner,
    /// The malformed real sample: `fromPartnerSharing` plus stray device fields.
    PartnerMalformed,
    SharedAlbum,
    /// A Google creation, `AUTO` or `MANUAL`.
    Composition(String),
}

/// The video half of a live/motion photo, named from the still's archive name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Live {
    /// iPhone: `IMG_4573.HEIC` + `IMG_4573.MP4`.
    Mp4,
    /// `IMG_0001.JPG` + `IMG_0001.MOV`.
    Mov,
    /// Older Google motion photo: `MVIMG_x.jpg` + `MVIMG_x.mp4`.
    MvimgMp4,
    /// The still's name without its extension: Pixel `PXL_….MP.jpg` + `PXL_….MP`, or 2025
    /// iPhone pairs `IMG_5000.HEIC` + `IMG_5000`.
    Extensionless,
}

/// Where copies of an item go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// `Photos from <year of the capture (or upload) time>`.
    Year,
    /// An album of [`ExportSpec::albums`], by index.
    Album(usize),
    Archive,
    Trash,
    FailedVideos,
    /// The Locked Folder (google.md §4.2 says it is not exported [U]; readers must still not
    /// take it for an album when it is).
    LockedFolder,
}

/// One item of the library.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemSpec {
    /// Identity across exports.
    pub key: String,
    /// The sidecar `title` (original file name as known to Google Photos).
    pub title: String,
    /// The extension Google adds to the media name when the title has none.
    pub added_ext: Option<String>,
    pub bytes: MediaBytes,
    pub taken_at: TakenAt,
    pub created_at: i64,
    pub geo: Option<(f64, f64, f64)>,
    pub geo_exif: Option<(f64, f64, f64)>,
    pub description: String,
    pub favorite: bool,
    pub people: Vec<String>,
    pub origin: OriginSpec,
    pub places: Vec<Place>,
    pub sidecar: SidecarStyle,
    /// Suffix of an edited variant to add (`-edited`, `-bearbeitet` …).
    pub edited: Option<String>,
    pub live: Option<Live>,
    /// Only the sidecar is exported (a sidecar without media).
    pub media_missing: bool,
    /// The sidecar carries `url` (older exports have none).
    pub url: bool,
}

impl ItemSpec {
    /// An item with synthetic bytes, a capture time derived from the key, a legacy sidecar,
    /// placed in its year folder.
    pub fn new(key: &str, title: &str) -> Self {
        let h = key
            .bytes()
            .fold(0u32, |a, b| a.wrapping_mul(31).wrapping_add(u32::from(b)));
        let taken = 1_500_000_000 + i64::from(h % 200_000_000);
        ItemSpec {
            key: key.to_owned(),
            title: title.to_owned(),
            added_ext: None,
            bytes: MediaBytes::Synthetic,
            taken_at: TakenAt::At(taken),
            created_at: taken + 3600,
            geo: None,
            geo_exif: None,
            description: String::new(),
            favorite: false,
            people: Vec::new(),
            origin: OriginSpec::Android {
                folder: "Camera".into(),
            },
            places: vec![Place::Year],
            sidecar: SidecarStyle::Legacy,
            edited: None,
            live: None,
            media_missing: false,
            url: true,
        }
    }
    pub fn sample(mut self, s: Sample) -> Self {
        self.bytes = MediaBytes::Sample(s);
        self
    }
    /// Synthetic bytes grown to `size` (see [`MediaBytes::SyntheticSized`]).
    pub fn sized(mut self, size: u64) -> Self {
        self.bytes = MediaBytes::SyntheticSized(size);
        self
    }
    pub fn taken(mut self, t: TakenAt) -> Self {
        self.taken_at = t;
        if let TakenAt::At(t) = t {
            self.created_at = t + 3600;
        }
        self
    }
    /// The upload time (`creationTime`); also decides the year folder without a capture time.
    pub fn created(mut self, t: i64) -> Self {
        self.created_at = t;
        self
    }
    pub fn geo(mut self, lat: f64, lon: f64, alt: f64) -> Self {
        self.geo = Some((lat, lon, alt));
        self
    }
    pub fn geo_exif(mut self, lat: f64, lon: f64, alt: f64) -> Self {
        self.geo_exif = Some((lat, lon, alt));
        self
    }
    pub fn description(mut self, d: &str) -> Self {
        self.description = d.to_owned();
        self
    }
    pub fn favorite(mut self) -> Self {
        self.favorite = true;
        self
    }
    pub fn people(mut self, p: &[&str]) -> Self {
        self.people = p.iter().map(|s| (*s).to_owned()).collect();
        self
    }
    pub fn origin(mut self, o: OriginSpec) -> Self {
        self.origin = o;
        self
    }
    pub fn places(mut self, p: &[Place]) -> Self {
        self.places = p.to_vec();
        self
    }
    /// Adds an album copy (the item stays in its other folders too).
    pub fn in_album(mut self, album: usize) -> Self {
        self.places.push(Place::Album(album));
        self
    }
    pub fn sidecar(mut self, s: SidecarStyle) -> Self {
        self.sidecar = s;
        self
    }
    pub fn edited(mut self, suffix: &str) -> Self {
        self.edited = Some(suffix.to_owned());
        self
    }
    pub fn live(mut self, l: Live) -> Self {
        self.live = Some(l);
        self
    }
    pub fn added_ext(mut self, ext: &str) -> Self {
        self.added_ext = Some(ext.to_owned());
        self
    }
    pub fn media_missing(mut self) -> Self {
        self.media_missing = true;
        self
    }
    /// A sidecar without `url`, as in older exports: nothing names the item across folders
    /// but its title, capture time and bytes.
    pub fn no_url(mut self) -> Self {
        self.url = false;
        self
    }
    fn archived(&self) -> bool {
        self.places.contains(&Place::Archive)
    }
    fn trashed(&self) -> bool {
        self.places.contains(&Place::Trash)
    }
}

/// How an album's metadata JSON is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlbumMetaStyle {
    /// `metadata.json`.
    Standard,
    /// The language's older localised name (`métadonnées.json`, `Metadaten.json` …).
    Localized,
    /// `{"albumData":{…}}` under the localised name (very old exports).
    OldWrapper,
    /// No metadata file.
    Missing,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AlbumSpec {
    /// Empty for an untitled album (`Untitled(N)` folder).
    pub title: String,
    pub description: String,
    /// The folder name Google wrote when it differs from the title (truncated, rewritten).
    pub folder_name: Option<String>,
    pub meta: AlbumMetaStyle,
}

impl AlbumSpec {
    pub fn new(title: &str) -> Self {
        AlbumSpec {
            title: title.to_owned(),
            description: String::new(),
            folder_name: None,
            meta: AlbumMetaStyle::Standard,
        }
    }
    pub fn description(mut self, d: &str) -> Self {
        self.description = d.to_owned();
        self
    }
    pub fn folder(mut self, f: &str) -> Self {
        self.folder_name = Some(f.to_owned());
        self
    }
    pub fn meta(mut self, m: AlbumMetaStyle) -> Self {
        self.meta = m;
        self
    }
}

/// Files besides media, sidecars and album metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Extras {
    /// `Takeout/archive_browser.html` (localised name) mentioning the account.
    pub archive_browser: bool,
    /// `print-subscriptions.json`, `shared_album_comments.json`,
    /// `user-generated-memory-titles.json` at the top of the Photos folder.
    pub non_media_json: bool,
    /// A second product folder (`Takeout/Google Keep/…`) a Photos reader must ignore.
    pub other_product: bool,
}

/// A whole export.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportSpec {
    /// `20250921T101010Z`.
    pub timestamp: String,
    pub lang: Lang,
    pub format: ArchiveFormat,
    pub part_style: PartStyle,
    /// Media bytes per part before a new part starts (at least one media file per part).
    pub part_size: u64,
    /// Put every sidecar (and album metadata) in the part after its media's part.
    pub split_sidecars: bool,
    pub account: Option<String>,
    pub items: Vec<ItemSpec>,
    pub albums: Vec<AlbumSpec>,
    pub extras: Extras,
}

impl ExportSpec {
    pub fn new(timestamp: &str) -> Self {
        ExportSpec {
            timestamp: timestamp.to_owned(),
            lang: Lang::En,
            format: ArchiveFormat::Zip,
            part_style: PartStyle::Old,
            part_size: 1 << 20,
            split_sidecars: false,
            account: None,
            items: Vec::new(),
            albums: Vec::new(),
            extras: Extras::default(),
        }
    }
    pub fn lang(mut self, l: Lang) -> Self {
        self.lang = l;
        self
    }
    pub fn format(mut self, f: ArchiveFormat) -> Self {
        self.format = f;
        self
    }
    pub fn part_style(mut self, s: PartStyle) -> Self {
        self.part_style = s;
        self
    }
    pub fn part_size(mut self, n: u64) -> Self {
        self.part_size = n;
        self
    }
    pub fn split_sidecars(mut self, b: bool) -> Self {
        self.split_sidecars = b;
        self
    }
    pub fn account(mut self, a: &str) -> Self {
        self.account = Some(a.to_owned());
        self
    }
    pub fn extras(mut self, e: Extras) -> Self {
        self.extras = e;
        self
    }
    pub fn item(mut self, i: ItemSpec) -> Self {
        self.items.push(i);
        self
    }
    /// Adds an album; its index is the number of albums before it.
    pub fn album(mut self, a: AlbumSpec) -> Self {
        self.albums.push(a);
        self
    }

    /// What a correct reader finds in this export.
    pub fn expected(&self) -> anyhow::Result<Expected> {
        Ok(plan(self)?.expected)
    }

    /// `takeout-<timestamp>`.
    pub fn export_id(&self) -> String {
        format!("takeout-{}", self.timestamp)
    }

    fn part_name(&self, i: usize) -> String {
        let ext = match self.format {
            ArchiveFormat::Zip => ".zip",
            ArchiveFormat::Tgz => ".tgz",
            ArchiveFormat::Folder => "",
        };
        match self.part_style {
            PartStyle::Old => format!("takeout-{}-{:03}{ext}", self.timestamp, i + 1),
            PartStyle::New { segment } => {
                format!("takeout-{}-{segment}-{:03}{ext}", self.timestamp, i + 1)
            }
        }
    }
}

/// What a reader must report for one media file of the archive.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectedFile {
    /// The item's key.
    pub key: String,
    /// Index of the part (in [`Expected::parts`] and in [`write_export`]'s result).
    pub part: usize,
    /// Path inside the part.
    pub path: String,
    pub file_name: String,
    pub size: u64,
    /// blake3 of the bytes, hex.
    pub blake3: String,
    pub title: String,
    /// Path of the sidecar that must be applied, `None` when none may be.
    pub sidecar: Option<String>,
    pub sidecar_part: Option<usize>,
    /// `MatchRule::code()` of `photobak-takeout`: `legacy`, `supplemental`,
    /// `supplemental-clipped`, `supplemental-unclipped`, `sidecar-without-extension`,
    /// `counter-in-title`, `title-without-extension`, `edited-variant`,
    /// `edited-variant-inferred` (a suffix in no table, see [`ExpectedFile::inferred_suffix`]),
    /// `live-companion`, `title-only`, `none`, `ambiguous`.
    pub rule: &'static str,
    /// The `(N)` counter the rule used.
    pub counter: Option<u32>,
    /// For `edited-variant-inferred`: the suffix as it shows in the archive name (dash
    /// included, possibly cut by the 47-unit truncation).
    pub inferred_suffix: Option<String>,
    pub variant: ExpectedVariant,
    pub folder: ExpectedFolder,
    pub taken_at: Option<i64>,
    pub created_at: Option<i64>,
    pub geo: Option<(f64, f64)>,
    pub description: String,
    pub favorite: bool,
    pub archived: bool,
    pub trashed: bool,
    pub people: Vec<String>,
    /// Titles of every album the item is in.
    pub albums: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExpectedVariant {
    Original,
    /// Path of the original in the same folder.
    Edited {
        original: Option<String>,
    },
    /// Path of the still in the same folder.
    LiveCompanion {
        still: String,
    },
    Creation,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExpectedFolder {
    Year(i32),
    Album { folder_name: String, title: String },
    Archive,
    Trash,
    FailedVideos,
    LockedFolder,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedAlbum {
    pub folder_name: String,
    /// The metadata title, or the folder name when there is none (or it is empty).
    pub title: String,
    pub description: Option<String>,
    pub metadata_path: Option<String>,
}

/// A problem a reader must report: the entry path and the kind, as the `Debug` name of
/// `photobak_takeout::ProblemKind` (`MissingTime`, `Ignored`, `FailedVideo`, `LockedFolder`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedProblem {
    pub entry: String,
    pub kind: &'static str,
}

/// Everything a correct reader finds in an export.
#[derive(Debug, Clone, PartialEq)]
pub struct Expected {
    pub export_id: String,
    pub account: Option<String>,
    /// Part file (or folder) names.
    pub parts: Vec<String>,
    pub files: Vec<ExpectedFile>,
    pub albums: Vec<ExpectedAlbum>,
    /// Sidecar paths that no media may take.
    pub unmatched_sidecars: Vec<String>,
    /// Media paths left without a sidecar because two fit.
    pub ambiguous: Vec<String>,
    pub problems: Vec<ExpectedProblem>,
}

/// Writes the export's parts into `out_dir` and returns them in order (files for zip/tgz,
/// folders for [`ArchiveFormat::Folder`]).
pub fn write_export(spec: &ExportSpec, out_dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let p = plan(spec)?;
    std::fs::create_dir_all(out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let mut out = Vec::new();
    for (i, files) in p.parts.iter().enumerate() {
        let path = out_dir.join(spec.part_name(i));
        match spec.format {
            ArchiveFormat::Zip => write_zip(&path, files)?,
            ArchiveFormat::Tgz => write_tgz(&path, files)?,
            ArchiveFormat::Folder => write_folder(&path, files)?,
        }
        out.push(path);
    }
    Ok(out)
}

fn write_zip(path: &Path, files: &[OutFile]) -> anyhow::Result<()> {
    let f = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut z = zip::ZipWriter::new(BufWriter::new(f));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for file in files {
        z.start_file(file.path.as_str(), opts)?;
        z.write_all(&file.bytes)?;
    }
    z.finish()?.flush()?;
    Ok(())
}

fn write_tgz(path: &Path, files: &[OutFile]) -> anyhow::Result<()> {
    let f = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let gz = flate2::write::GzEncoder::new(BufWriter::new(f), flate2::Compression::fast());
    let mut t = tar::Builder::new(gz);
    for file in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(file.bytes.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(1_700_000_000);
        h.set_entry_type(tar::EntryType::Regular);
        t.append_data(&mut h, &file.path, file.bytes.as_slice())?;
    }
    t.into_inner()?.finish()?.flush()?;
    Ok(())
}

fn write_folder(path: &Path, files: &[OutFile]) -> anyhow::Result<()> {
    for file in files {
        let mut p = path.to_path_buf();
        p.extend(file.path.split('/'));
        if let Some(dir) = p.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&p, &file.bytes).with_context(|| format!("writing {}", p.display()))?;
    }
    Ok(())
}

#[derive(Debug, Clone)]
struct OutFile {
    path: String,
    bytes: Vec<u8>,
}

struct Plan {
    parts: Vec<Vec<OutFile>>,
    expected: Expected,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    /// A media file: `expected` index.
    Media(usize),
    /// Follows the part of a media file (`None`: the first part).
    Follows(Option<usize>),
    /// Always in the first part.
    First,
}

struct Planned {
    file: OutFile,
    role: Role,
}

fn origin_json(o: &OriginSpec) -> Value {
    match o {
        OriginSpec::Android { folder } => {
            json!({"mobileUpload": {"deviceFolder": {"localFolderName": folder}, "deviceType": "ANDROID_PHONE"}})
        }
        OriginSpec::Iphone => {
            json!({"mobileUpload": {"deviceFolder": {"localFolderName": ""}, "deviceType": "IOS_PHONE"}})
        }
        OriginSpec::Web => json!({"webUpload": {"computerUpload": {}}}),
        OriginSpec::Partner => json!({"fromPartnerSharing": {}}),
        OriginSpec::PartnerMalformed => {
            json!({"fromPartnerSharing": {}, "deviceFolder": {"localFolderName": ""}, "deviceType": "IOS_PHONE"})
        }
        OriginSpec::SharedAlbum => json!({"fromSharedAlbum": {}}),
        OriginSpec::Composition(kind) => json!({"composition": {"type": kind}}),
    }
}

fn time_json(lang: Lang, t: i64) -> Value {
    json!({"timestamp": t.to_string(), "formatted": lang.formatted(t)})
}

fn geo_json(g: Option<(f64, f64, f64)>) -> Value {
    let (lat, lon, alt) = g.unwrap_or((0.0, 0.0, 0.0));
    json!({"latitude": lat, "longitude": lon, "altitude": alt, "latitudeSpan": 0.0, "longitudeSpan": 0.0})
}

fn sidecar_json(item: &ItemSpec, lang: Lang, creation_shift: i64) -> Vec<u8> {
    let mut m = serde_json::Map::new();
    m.insert("title".into(), json!(item.title));
    m.insert("description".into(), json!(item.description));
    m.insert("imageViews".into(), json!((item.key.len() * 7).to_string()));
    m.insert(
        "creationTime".into(),
        time_json(lang, item.created_at + creation_shift),
    );
    match item.taken_at {
        TakenAt::At(t) => {
            m.insert("photoTakenTime".into(), time_json(lang, t));
        }
        TakenAt::Zero => {
            m.insert(
                "photoTakenTime".into(),
                json!({"timestamp": "0", "formatted": lang.formatted(0)}),
            );
        }
        TakenAt::Missing => {}
    }
    m.insert("geoData".into(), geo_json(item.geo));
    m.insert("geoDataExif".into(), geo_json(item.geo_exif));
    if !item.people.is_empty() {
        let p: Vec<Value> = item.people.iter().map(|n| json!({"name": n})).collect();
        m.insert("people".into(), Value::Array(p));
    }
    if item.url {
        let url = format!(
            "https://photos.google.com/photo/AF1Qip{}",
            &blake3::hash(item.key.as_bytes()).to_hex()[..24]
        );
        m.insert("url".into(), json!(url));
    }
    m.insert("googlePhotosOrigin".into(), origin_json(&item.origin));
    if item.favorite {
        m.insert("favorited".into(), json!(true));
    }
    if item.archived() {
        m.insert("archived".into(), json!(true));
    }
    if item.trashed() {
        m.insert("trashed".into(), json!(true));
    }
    serde_json::to_vec_pretty(&Value::Object(m)).unwrap_or_default()
}

fn album_json(a: &AlbumSpec, lang: Lang, date: i64) -> Vec<u8> {
    let inner = json!({
        "title": a.title,
        "description": a.description,
        "access": "protected",
        "date": time_json(lang, date),
        "enrichments": [{"narrativeEnrichment": {"text": "The start"}}],
        "sharedAlbumComments": [],
    });
    let v = if a.meta == AlbumMetaStyle::OldWrapper {
        json!({ "albumData": inner })
    } else {
        inner
    };
    serde_json::to_vec_pretty(&v).unwrap_or_default()
}

fn year_of(t: i64) -> i32 {
    i32::try_from(lang::civil(t).0).unwrap_or(1970)
}

fn is_creation_title(title: &str) -> bool {
    let base = google::split(title).0;
    [
        "-effects",
        "-smile",
        "-mix",
        "-collage",
        "-animation",
        "-motion",
        "-COLLAGE",
        "-ANIMATION",
        "-MOVIE",
    ]
    .iter()
    .any(|s| base.ends_with(s))
}

/// The edited suffix as it shows in an edited variant's archive name `edited`, next to its
/// original's name `original` (both with the same counter and extension): what follows the
/// original's base, possibly cut by the 47-unit truncation.
fn shown_suffix(original: &str, edited: &str) -> String {
    let (ob, ext) = google::split(original);
    let ob = strip_counter_text(ob);
    let eb = edited.strip_suffix(ext).unwrap_or(edited);
    let eb = strip_counter_text(eb);
    eb.strip_prefix(ob).unwrap_or_default().to_owned()
}

/// `x(3)` → `x` (the generator's own counters).
fn strip_counter_text(s: &str) -> &str {
    match s
        .strip_suffix(')')
        .and_then(|t| t.rfind('(').map(|i| (t, i)))
    {
        Some((t, i)) if i > 0 && t[i + 1..].bytes().all(|b| b.is_ascii_digit()) => &s[..i],
        _ => s,
    }
}

/// Whether a suffix `-word` is a word a reader can recognise by structure: letters of any
/// script, inner spaces or apostrophes, no digits, no further dash.
fn reads_as_word(suffix: &str) -> bool {
    let Some(w) = suffix.strip_prefix('-') else {
        return false;
    };
    !w.is_empty()
        && !w.starts_with(' ')
        && w.chars()
            .all(|c| c.is_alphabetic() || c == ' ' || c == '\'')
        && w.chars().any(char::is_alphabetic)
}

/// Lays the export out: names, counters, contents, parts and the expected reading.
fn plan(spec: &ExportSpec) -> anyhow::Result<Plan> {
    let lang = spec.lang;
    let root = format!("Takeout/{}", lang.product());
    // Album folder names and titles.
    let mut untitled = 0;
    let mut album_folders = Vec::new();
    for a in &spec.albums {
        let folder = if a.title.is_empty() {
            untitled += 1;
            format!("{}({untitled})", lang.untitled())
        } else {
            a.folder_name
                .clone()
                .unwrap_or_else(|| google::sanitize(&a.title).chars().take(50).collect())
        };
        album_folders.push(folder);
    }
    let album_title = |i: usize| -> String {
        let a = &spec.albums[i];
        if a.meta == AlbumMetaStyle::Missing || a.title.is_empty() {
            album_folders[i].clone()
        } else {
            a.title.clone()
        }
    };

    let mut planned: Vec<Planned> = Vec::new();
    let mut files: Vec<ExpectedFile> = Vec::new();
    let mut unmatched = Vec::new();
    let mut ambiguous = Vec::new();
    let mut problems = Vec::new();
    let mut used_media: HashMap<String, HashSet<String>> = HashMap::new();
    let mut used_json: HashMap<String, HashSet<String>> = HashMap::new();
    let mut first_media_in_folder: HashMap<String, usize> = HashMap::new();

    for item in &spec.items {
        let ext = item.added_ext.as_deref();
        let bytes = match &item.bytes {
            MediaBytes::Sample(s) => s.bytes().to_vec(),
            MediaBytes::Synthetic => {
                media::synthetic(&google::media_ext(&item.title, ext), &item.key)
            }
            MediaBytes::SyntheticSized(size) => {
                let mut v = media::synthetic(&google::media_ext(&item.title, ext), &item.key);
                media::pad_to(&mut v, *size, &item.key);
                v
            }
        };
        let taken = match item.taken_at {
            TakenAt::At(t) => Some(t),
            _ => None,
        };
        let albums: Vec<String> = item
            .places
            .iter()
            .filter_map(|p| {
                if let Place::Album(i) = p {
                    Some(album_title(*i))
                } else {
                    None
                }
            })
            .collect();
        for place in &item.places {
            let (folder, efolder) = match *place {
                Place::Year => {
                    let y = year_of(taken.unwrap_or(item.created_at));
                    (lang.year_folder(y), ExpectedFolder::Year(y))
                }
                Place::Album(i) => {
                    if i >= spec.albums.len() {
                        bail!("item {} is in album {i}, which does not exist", item.key);
                    }
                    (
                        album_folders[i].clone(),
                        ExpectedFolder::Album {
                            folder_name: album_folders[i].clone(),
                            title: album_title(i),
                        },
                    )
                }
                Place::Archive => (lang.archive().to_owned(), ExpectedFolder::Archive),
                Place::Trash => (lang.trash().to_owned(), ExpectedFolder::Trash),
                Place::FailedVideos => (
                    lang.failed_videos().to_owned(),
                    ExpectedFolder::FailedVideos,
                ),
                Place::LockedFolder => (
                    lang.locked_folder().to_owned(),
                    ExpectedFolder::LockedFolder,
                ),
            };
            // Readers report what makes these folders special, per media file.
            let folder_problem = match place {
                Place::FailedVideos => Some("FailedVideo"),
                Place::LockedFolder => Some("LockedFolder"),
                _ => None,
            };
            let dir = format!("{root}/{folder}");
            let used = used_media.entry(dir.clone()).or_default();
            let mut n = None;
            let mut k = 0;
            while used.contains(&google::media_name(&item.title, ext, n)) {
                k += 1;
                n = Some(k);
            }
            let name = google::media_name(&item.title, ext, n);
            let edited_name = item
                .edited
                .as_deref()
                .map(|s| google::edited_name(&item.title, ext, s, n));
            let companion_name = item.live.map(|l| {
                let stem = google::split(&name).0.to_owned();
                match l {
                    Live::Mp4 => format!("{stem}.MP4"),
                    Live::Mov => format!("{stem}.MOV"),
                    Live::MvimgMp4 => format!("{stem}.mp4"),
                    Live::Extensionless => stem,
                }
            });
            for extra in [&edited_name, &companion_name].into_iter().flatten() {
                if used.contains(extra) {
                    bail!("{extra} collides with another file in {dir}");
                }
            }
            if !item.media_missing {
                used.insert(name.clone());
                used.extend(edited_name.iter().cloned());
                used.extend(companion_name.iter().cloned());
            }

            let sidecar_names = google::sidecar_names(&item.title, item.sidecar, n);
            let jused = used_json.entry(dir.clone()).or_default();
            for s in &sidecar_names {
                if !jused.insert(s.clone()) {
                    bail!(
                        "sidecar name {s} collides in {dir} (Google's behaviour for this is unknown)"
                    );
                }
            }
            let sidecar_paths: Vec<String> =
                sidecar_names.iter().map(|s| format!("{dir}/{s}")).collect();
            let rule = google::expected_rule(&item.title, ext, item.sidecar, n);
            let applied = match item.sidecar {
                SidecarStyle::None | SidecarStyle::Double => None,
                _ => sidecar_paths.first().cloned(),
            };
            let counter = match rule {
                "none" | "ambiguous" | "title-only" => None,
                _ => n,
            };
            if matches!(item.taken_at, TakenAt::Zero | TakenAt::Missing) {
                for p in &sidecar_paths {
                    problems.push(ExpectedProblem {
                        entry: p.clone(),
                        kind: "MissingTime",
                    });
                }
            }
            let anchor = if item.media_missing {
                None
            } else {
                Some(files.len())
            };
            for (j, p) in sidecar_paths.iter().enumerate() {
                let shift = i64::try_from(j).unwrap_or(0) * 60;
                planned.push(Planned {
                    file: OutFile {
                        path: p.clone(),
                        bytes: sidecar_json(item, lang, shift),
                    },
                    role: Role::Follows(anchor),
                });
            }
            if item.media_missing {
                unmatched.extend(sidecar_paths.iter().cloned());
                continue;
            }
            if item.sidecar == SidecarStyle::Double {
                unmatched.extend(sidecar_paths.iter().cloned());
            }

            let base = ExpectedFile {
                key: item.key.clone(),
                part: 0,
                path: format!("{dir}/{name}"),
                file_name: name.clone(),
                size: bytes.len() as u64,
                blake3: blake3::hash(&bytes).to_hex().to_string(),
                title: item.title.clone(),
                sidecar: applied.clone(),
                sidecar_part: None,
                rule,
                counter,
                inferred_suffix: None,
                variant: if is_creation_title(&item.title)
                    || matches!(item.origin, OriginSpec::Composition(_))
                {
                    ExpectedVariant::Creation
                } else {
                    ExpectedVariant::Original
                },
                folder: efolder,
                taken_at: taken,
                created_at: Some(item.created_at),
                geo: item
                    .geo
                    .filter(|g| !(g.0 == 0.0 && g.1 == 0.0))
                    .map(|g| (g.0, g.1)),
                description: item.description.clone(),
                favorite: item.favorite,
                archived: item.archived(),
                trashed: item.trashed(),
                people: item.people.clone(),
                albums: albums.clone(),
            };
            if rule == "ambiguous" {
                ambiguous.push(base.path.clone());
            }
            let main_idx = files.len();
            first_media_in_folder.entry(dir.clone()).or_insert(main_idx);
            planned.push(Planned {
                file: OutFile {
                    path: base.path.clone(),
                    bytes: bytes.clone(),
                },
                role: Role::Media(main_idx),
            });
            files.push(base.clone());
            if let Some(kind) = folder_problem {
                problems.push(ExpectedProblem {
                    entry: base.path.clone(),
                    kind,
                });
            }
            if let Some(e) = &edited_name {
                let eb = media::synthetic(
                    &google::media_ext(&item.title, ext),
                    &format!("{}-edited", item.key),
                );
                let mut f = base.clone();
                f.path = format!("{dir}/{e}");
                f.file_name = e.clone();
                f.size = eb.len() as u64;
                f.blake3 = blake3::hash(&eb).to_hex().to_string();
                f.variant = ExpectedVariant::Edited {
                    original: Some(base.path.clone()),
                };
                let suffix = item.edited.as_deref().unwrap_or_default();
                if realistic::EDITED_SUFFIXES.contains(&suffix) {
                    if applied.is_some() {
                        f.rule = "edited-variant";
                        f.counter = None;
                    }
                } else {
                    // A suffix in no table: only the structure tells (google.md §4.7), which
                    // needs a word after the dash and an original with a sidecar (or two).
                    let shown = shown_suffix(&name, e);
                    if reads_as_word(&shown) && applied.is_some() {
                        f.rule = "edited-variant-inferred";
                        f.counter = None;
                        f.inferred_suffix = Some(shown);
                    } else if !(reads_as_word(&shown) && rule == "ambiguous") {
                        f.variant = ExpectedVariant::Original;
                        f.rule = "none";
                        f.counter = None;
                        f.sidecar = None;
                    }
                }
                if f.rule == "ambiguous" {
                    ambiguous.push(f.path.clone());
                }
                if let Some(kind) = folder_problem {
                    problems.push(ExpectedProblem {
                        entry: f.path.clone(),
                        kind,
                    });
                }
                let idx = files.len();
                planned.push(Planned {
                    file: OutFile {
                        path: f.path.clone(),
                        bytes: eb,
                    },
                    role: Role::Media(idx),
                });
                files.push(f);
            }
            if let Some(c) = &companion_name {
                let cb = media::synthetic(google::split(c).1, &format!("{}-video", item.key));
                let mut f = base.clone();
                f.path = format!("{dir}/{c}");
                f.file_name = c.clone();
                f.size = cb.len() as u64;
                f.blake3 = blake3::hash(&cb).to_hex().to_string();
                f.variant = ExpectedVariant::LiveCompanion {
                    still: base.path.clone(),
                };
                if applied.is_some() {
                    f.rule = "live-companion";
                    f.counter = None;
                }
                if rule == "ambiguous" {
                    ambiguous.push(f.path.clone());
                }
                if let Some(kind) = folder_problem {
                    problems.push(ExpectedProblem {
                        entry: f.path.clone(),
                        kind,
                    });
                }
                let idx = files.len();
                planned.push(Planned {
                    file: OutFile {
                        path: f.path.clone(),
                        bytes: cb,
                    },
                    role: Role::Media(idx),
                });
                files.push(f);
            }
        }
    }

    // Album metadata and expected albums.
    let mut albums = Vec::new();
    for (i, a) in spec.albums.iter().enumerate() {
        let dir = format!("{root}/{}", album_folders[i]);
        let name = match a.meta {
            AlbumMetaStyle::Standard => Some("metadata.json"),
            AlbumMetaStyle::Localized | AlbumMetaStyle::OldWrapper => {
                Some(lang.old_metadata_name())
            }
            AlbumMetaStyle::Missing => None,
        };
        let metadata_path = name.map(|n| format!("{dir}/{n}"));
        if let Some(p) = &metadata_path {
            planned.push(Planned {
                file: OutFile {
                    path: p.clone(),
                    bytes: album_json(a, lang, 1_600_000_000 + i64::try_from(i).unwrap_or(0)),
                },
                role: Role::Follows(first_media_in_folder.get(&dir).copied()),
            });
        }
        albums.push(ExpectedAlbum {
            folder_name: album_folders[i].clone(),
            title: album_title(i),
            description: if a.meta == AlbumMetaStyle::Missing || a.description.is_empty() {
                None
            } else {
                Some(a.description.clone())
            },
            metadata_path,
        });
    }

    // Extra files.
    if spec.extras.archive_browser {
        let who = spec.account.clone().unwrap_or_else(|| "someone".into());
        let html = format!(
            "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Archive</title></head><body>\
             <h1>Google Takeout</h1><p>This archive was created for {who} on {}.</p>\
             <p>Questions: see https://support.google.com/accounts/answer/3024190 or write to noreply@google.com</p></body></html>",
            spec.timestamp
        );
        planned.push(Planned {
            file: OutFile {
                path: format!("Takeout/{}", lang.archive_browser()),
                bytes: html.into_bytes(),
            },
            role: Role::First,
        });
    }
    if spec.extras.non_media_json {
        for (n, body) in [
            ("print-subscriptions.json", json!([])),
            (
                "shared_album_comments.json",
                json!([{"text": "nice", "contentOwnerName": "Ann"}]),
            ),
            (
                "user-generated-memory-titles.json",
                json!({"memoryTitles": ["Summer"]}),
            ),
        ] {
            planned.push(Planned {
                file: OutFile {
                    path: format!("{root}/{n}"),
                    bytes: serde_json::to_vec_pretty(&body).unwrap_or_default(),
                },
                role: Role::First,
            });
        }
    }
    if spec.extras.other_product {
        let note = json!({"title": "Groceries", "textContent": "milk", "isTrashed": false, "userEditedTimestampUsec": 1});
        for (p, b) in [
            (
                "Takeout/Google Keep/Groceries.json",
                serde_json::to_vec_pretty(&note).unwrap_or_default(),
            ),
            (
                "Takeout/Google Keep/Groceries.html",
                b"<html><body>milk</body></html>".to_vec(),
            ),
        ] {
            planned.push(Planned {
                file: OutFile {
                    path: p.to_owned(),
                    bytes: b,
                },
                role: Role::First,
            });
        }
        problems.push(ExpectedProblem {
            entry: "Takeout/Google Keep".into(),
            kind: "Ignored",
        });
    }

    // Parts: media fill parts in order; the rest follows its media (one part later when split).
    let mut media_part: Vec<usize> = vec![0; files.len()];
    let mut part = 0usize;
    let mut fill = 0u64;
    let mut any = false;
    for p in &planned {
        if let Role::Media(i) = p.role {
            let len = p.file.bytes.len() as u64;
            if any && fill + len > spec.part_size {
                part += 1;
                fill = 0;
            }
            fill += len;
            any = true;
            media_part[i] = part;
        }
    }
    let mut nparts = part + 1;
    if spec.split_sidecars && nparts < 2 {
        nparts = 2;
    }
    if spec.format == ArchiveFormat::Folder && nparts == 0 {
        nparts = 1;
    }
    let follow = |anchor: Option<usize>| -> usize {
        match anchor {
            Some(i) if spec.split_sidecars => (media_part[i] + 1) % nparts,
            Some(i) => media_part[i],
            None => 0,
        }
    };
    let mut parts: Vec<Vec<OutFile>> = vec![Vec::new(); nparts];
    let mut part_of_path: HashMap<String, usize> = HashMap::new();
    for p in planned {
        let target = match p.role {
            Role::Media(i) => media_part[i],
            Role::Follows(a) => follow(a),
            Role::First => 0,
        };
        part_of_path.insert(p.file.path.clone(), target);
        parts[target].push(p.file);
    }
    for (i, f) in files.iter_mut().enumerate() {
        f.part = media_part[i];
        f.sidecar_part = f
            .sidecar
            .as_ref()
            .and_then(|s| part_of_path.get(s).copied());
    }
    let expected = Expected {
        export_id: spec.export_id(),
        account: if spec.extras.archive_browser {
            spec.account.clone()
        } else {
            None
        },
        parts: (0..nparts).map(|i| spec.part_name(i)).collect(),
        files,
        albums,
        unmatched_sidecars: unmatched,
        ambiguous,
        problems,
    };
    Ok(Plan { parts, expected })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_parts() {
        let spec = ExportSpec::new("20250921T101010Z")
            .part_size(1)
            .split_sidecars(true)
            .item(ItemSpec::new("a", "IMG_3479.JPG").taken(TakenAt::At(1_600_000_000)))
            .item(ItemSpec::new("b", "IMG_3479.JPG").taken(TakenAt::At(1_600_000_001)))
            .item(
                ItemSpec::new("c", "IMG_3479.JPG")
                    .taken(TakenAt::At(1_600_000_002))
                    .sidecar(SidecarStyle::Supplemental),
            );
        let e = spec.expected().unwrap();
        let names: Vec<&str> = e.files.iter().map(|f| f.file_name.as_str()).collect();
        assert_eq!(
            names,
            ["IMG_3479.JPG", "IMG_3479(1).JPG", "IMG_3479(2).JPG"]
        );
        assert_eq!(
            e.files[1].sidecar.as_deref(),
            Some("Takeout/Google Photos/Photos from 2020/IMG_3479.JPG(1).json")
        );
        assert_eq!(
            e.files[2].sidecar.as_deref(),
            Some(
                "Takeout/Google Photos/Photos from 2020/IMG_3479.JPG.supplemental-metadata(2).json"
            )
        );
        assert_eq!(e.files[2].rule, "supplemental");
        assert_eq!(e.files[2].counter, Some(2));
        assert_eq!(
            e.parts,
            [
                "takeout-20250921T101010Z-001.zip",
                "takeout-20250921T101010Z-002.zip",
                "takeout-20250921T101010Z-003.zip"
            ]
        );
        for f in &e.files {
            assert_eq!(f.sidecar_part, Some((f.part + 1) % 3));
        }
    }

    #[test]
    fn writes_all_formats() {
        let dir = std::env::temp_dir().join(format!("photobak-gen-{}", std::process::id()));
        for (fmt, style) in [
            (ArchiveFormat::Zip, PartStyle::Old),
            (ArchiveFormat::Tgz, PartStyle::New { segment: 3 }),
            (ArchiveFormat::Folder, PartStyle::Old),
        ] {
            let spec = ExportSpec::new("20250921T101010Z")
                .format(fmt)
                .part_style(style)
                .item(ItemSpec::new("a", "a.jpg"))
                .item(ItemSpec::new("b", "b.jpg").live(Live::Mp4));
            let out = dir.join(format!("{fmt:?}"));
            let parts = write_export(&spec, &out).unwrap();
            assert_eq!(parts.len(), 1);
            assert!(parts[0].exists());
        }
        let names: Vec<String> = std::fs::read_dir(dir.join("Tgz"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["takeout-20250921T101010Z-3-001.tgz"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn sidecar_collisions_are_refused() {
        let common = "x".repeat(46);
        let spec = ExportSpec::new("20250921T101010Z")
            .item(ItemSpec::new("a", &format!("{common}A.jpg")))
            .item(ItemSpec::new("b", &format!("{common}B.jpg")));
        assert!(spec.expected().is_err());
    }
}
