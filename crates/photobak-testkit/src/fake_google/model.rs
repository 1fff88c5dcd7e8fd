//! Library state and media content of the fake.
//!
//! The fake keeps every account's library in memory, but never the media bytes of generated
//! items: a [`Content::Generated`] item is only a recipe (kind, seed, size) whose bytes are
//! produced on demand at any offset. That keeps a library with gigabyte videos at a few bytes
//! per item and lets the media host answer `Range` requests without materialising anything.
//! The BLAKE3 hash and size of every item are computed once, when the item is created or its
//! content edited, by streaming the recipe; they are what [`LibrarySnapshot`] reports so tests
//! can check a photobak repository against the fake's ground truth.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// Real camera JPEGs from `testdata/` that generated photos are built from.
///
/// They are compiled into the crate so the fake works from any working directory and from the
/// stand-alone program. Each keeps its original EXIF (make, model, dates; the two `CoolpixGps*`
/// and `GranTurismoGps` samples also GPS), so metadata readers see what real cameras write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Sample {
    /// `jpg_Canon_40D.jpg`, 8 KB, Canon EOS 40D.
    #[serde(rename = "canon_40d")]
    Canon40D,
    /// `jpg_Nikon_D70.jpg`, 14 KB, NIKON D70.
    #[serde(rename = "nikon_d70")]
    NikonD70,
    /// `jpg_Sony_HDR-HC3.jpg`, 3.5 KB, SONY HDR-HC3.
    #[serde(rename = "sony_hdr_hc3")]
    SonyHdrHc3,
    /// `jpg_gps_DSCN0010.jpg`, 160 KB, NIKON COOLPIX P6000 with GPS.
    #[serde(rename = "coolpix_gps_10")]
    CoolpixGps10,
    /// `jpg_gps_DSCN0021.jpg`, 155 KB, NIKON COOLPIX P6000 with GPS.
    #[serde(rename = "coolpix_gps_21")]
    CoolpixGps21,
    /// `jpg_orientation_portrait_6.jpg`, 133 KB, no camera EXIF.
    #[serde(rename = "portrait_6")]
    Portrait6,
    /// `jpg_tests_45-gps_ifd.jpg`, 225 KB, a GPS IFD edge case (Gran Turismo 5 screenshot).
    #[serde(rename = "gran_turismo_gps")]
    GranTurismoGps,
}

/// Camera facts of a sample as the Library API reports them (read once with exiftool).
pub(crate) struct SampleInfo {
    pub make: Option<&'static str>,
    pub model: Option<&'static str>,
    pub width: u64,
    pub height: u64,
    pub focal_length: Option<f64>,
    pub aperture: Option<f64>,
    pub iso: Option<u32>,
    pub exposure: Option<&'static str>,
}

impl Sample {
    /// Every sample, in a fixed order.
    pub const ALL: [Sample; 7] = [
        Sample::Canon40D,
        Sample::NikonD70,
        Sample::SonyHdrHc3,
        Sample::CoolpixGps10,
        Sample::CoolpixGps21,
        Sample::Portrait6,
        Sample::GranTurismoGps,
    ];

    /// The sample's bytes, exactly as in `testdata/`.
    pub fn bytes(self) -> &'static [u8] {
        match self {
            Sample::Canon40D => include_bytes!("../../testdata/jpg_Canon_40D.jpg"),
            Sample::NikonD70 => include_bytes!("../../testdata/jpg_Nikon_D70.jpg"),
            Sample::SonyHdrHc3 => include_bytes!("../../testdata/jpg_Sony_HDR-HC3.jpg"),
            Sample::CoolpixGps10 => include_bytes!("../../testdata/jpg_gps_DSCN0010.jpg"),
            Sample::CoolpixGps21 => include_bytes!("../../testdata/jpg_gps_DSCN0021.jpg"),
            Sample::Portrait6 => include_bytes!("../../testdata/jpg_orientation_portrait_6.jpg"),
            Sample::GranTurismoGps => include_bytes!("../../testdata/jpg_tests_45-gps_ifd.jpg"),
        }
    }

    /// The sample as `=d` serves it: EXIF kept, GPS removed (same length).
    pub fn served(self) -> &'static [u8] {
        static SERVED: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
        let all = SERVED.get_or_init(|| {
            Sample::ALL
                .iter()
                .map(|s| super::exif_strip::strip_gps(s.bytes()))
                .collect()
        });
        let i = Sample::ALL
            .iter()
            .position(|s| *s == self)
            .expect("every sample is listed");
        &all[i]
    }

    pub(crate) fn info(self) -> SampleInfo {
        let (make, model, width, height, focal, aperture, iso, exposure) = match self {
            Sample::Canon40D => (
                Some("Canon"),
                Some("Canon EOS 40D"),
                100,
                68,
                Some(135.0),
                Some(7.1),
                Some(100),
                Some("0.00625s"),
            ),
            Sample::NikonD70 => (
                Some("NIKON CORPORATION"),
                Some("NIKON D70"),
                100,
                66,
                Some(100.0),
                Some(9.0),
                Some(200),
                Some("0.005s"),
            ),
            Sample::SonyHdrHc3 => (
                Some("SONY"),
                Some("HDR-HC3"),
                100,
                64,
                Some(5.1),
                Some(4.0),
                None,
                Some("0.016666668s"),
            ),
            Sample::CoolpixGps10 => (
                Some("NIKON"),
                Some("COOLPIX P6000"),
                640,
                480,
                Some(24.0),
                Some(5.9),
                Some(64),
                Some("0.013333334s"),
            ),
            Sample::CoolpixGps21 => (
                Some("NIKON"),
                Some("COOLPIX P6000"),
                640,
                480,
                Some(16.6),
                Some(4.7),
                Some(64),
                Some("0.010416667s"),
            ),
            Sample::Portrait6 => (None, None, 600, 450, None, None, None, None),
            Sample::GranTurismoGps => (
                Some("Polyphony Digital Inc."),
                Some("Gran Turismo 5"),
                1600,
                900,
                Some(59.5),
                Some(45.0),
                None,
                Some("0.016949153s"),
            ),
        };
        SampleInfo {
            make,
            model,
            width,
            height,
            focal_length: focal,
            aperture,
            iso,
            exposure,
        }
    }
}

/// What a generated item's bytes look like.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GenKind {
    /// A real sample JPEG followed, after its EOI marker, by pseudo-random padding.
    Jpeg {
        /// Which sample the file starts with.
        sample: Sample,
    },
    /// An ISO BMFF file: an `ftyp` box (brand `isom`) and one `mdat` box of pseudo-random data.
    Mp4,
}

/// The bytes of a media item.
///
/// JSON form (control interface): `{"bytes":"<base64>"}` or
/// `{"generated":{"kind":{"jpeg":{"sample":"canon_40d"}},"seed":1,"size":4096}}` /
/// `{"generated":{"kind":"mp4","seed":1,"size":4096}}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Content {
    /// Literal bytes, kept in memory (use for small hand-made items).
    Bytes(#[serde(with = "base64_arc")] Arc<Vec<u8>>),
    /// Bytes produced on demand from a seed; `size` is the target length (a JPEG is never
    /// shorter than its sample, an MP4 never shorter than its box headers).
    Generated {
        /// Format of the bytes.
        kind: GenKind,
        /// Seed of the padding; different seeds give different bytes.
        seed: u64,
        /// Target size in bytes.
        size: u64,
    },
}

mod base64_arc {
    use super::*;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Arc<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(v.as_slice()))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Arc<Vec<u8>>, D::Error> {
        let text = String::deserialize(d)?;
        STANDARD
            .decode(text.as_bytes())
            .map(Arc::new)
            .map_err(serde::de::Error::custom)
    }
}

/// Length of the `ftyp` box the generated MP4 starts with.
const FTYP_LEN: u64 = 28;

impl Content {
    /// Literal bytes.
    pub fn bytes(data: impl Into<Vec<u8>>) -> Content {
        Content::Bytes(Arc::new(data.into()))
    }

    /// A generated JPEG of (at least) `size` bytes.
    pub fn jpeg(sample: Sample, seed: u64, size: u64) -> Content {
        Content::Generated {
            kind: GenKind::Jpeg { sample },
            seed,
            size,
        }
    }

    /// A generated MP4 of (at least) `size` bytes.
    pub fn mp4(seed: u64, size: u64) -> Content {
        Content::Generated {
            kind: GenKind::Mp4,
            seed,
            size,
        }
    }

    /// The bytes as Google's `=d` serves them: a literal JPEG loses its GPS (generated JPEGs
    /// are built from GPS-free samples already).
    pub fn as_served(self) -> Content {
        match self {
            Content::Bytes(b) => Content::Bytes(Arc::new(super::exif_strip::strip_gps(&b))),
            generated => generated,
        }
    }

    /// Exact length in bytes.
    pub fn len(&self) -> u64 {
        match self {
            Content::Bytes(b) => b.len() as u64,
            Content::Generated { kind, size, .. } => (*size).max(kind_header_len(*kind, *size)),
        }
    }

    /// True when the content has no bytes at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Fills `buf` with the bytes starting at `offset`. Panics when the range is out of bounds.
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) {
        let total = self.len();
        assert!(
            offset + buf.len() as u64 <= total,
            "read_at out of bounds: {offset}+{} > {total}",
            buf.len()
        );
        match self {
            Content::Bytes(b) => {
                let start = offset as usize;
                buf.copy_from_slice(&b[start..start + buf.len()]);
            }
            Content::Generated { kind, seed, .. } => {
                // The fixed prefix (sample JPEG or box headers), then seekable padding.
                let header: std::borrow::Cow<'static, [u8]> = match kind {
                    GenKind::Jpeg { sample } => sample.served().into(),
                    GenKind::Mp4 => mp4_header(total).into(),
                };
                let hlen = header.len() as u64;
                let mut written = 0usize;
                if offset < hlen {
                    let n = ((hlen - offset) as usize).min(buf.len());
                    buf[..n].copy_from_slice(&header[offset as usize..offset as usize + n]);
                    written = n;
                }
                if written < buf.len() {
                    fill_padding(*seed, offset + written as u64, &mut buf[written..]);
                }
            }
        }
    }

    /// All bytes in one vector (for small items only).
    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = vec![0u8; usize::try_from(self.len()).expect("content too large")];
        self.read_at(0, &mut v);
        v
    }

    /// Size and BLAKE3 hash, computed by streaming the content in 1 MiB pieces.
    pub fn measure(&self) -> (u64, blake3::Hash) {
        let len = self.len();
        if let Content::Bytes(b) = self {
            return (len, blake3::hash(b));
        }
        let mut hasher = blake3::Hasher::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut pos = 0u64;
        while pos < len {
            let n = ((len - pos) as usize).min(buf.len());
            self.read_at(pos, &mut buf[..n]);
            hasher.update(&buf[..n]);
            pos += n as u64;
        }
        (len, hasher.finalize())
    }

    /// A number that differs between contents; used to vary renditions and edits.
    pub(crate) fn fingerprint(&self) -> u64 {
        match self {
            Content::Bytes(b) => {
                let h = blake3::hash(b);
                u64::from_le_bytes(h.as_bytes()[..8].try_into().expect("8 bytes"))
            }
            Content::Generated { seed, size, .. } => mix(*seed, *size),
        }
    }
}

fn kind_header_len(kind: GenKind, size: u64) -> u64 {
    match kind {
        GenKind::Jpeg { sample } => sample.bytes().len() as u64,
        GenKind::Mp4 => mp4_header(size.max(FTYP_LEN + 16)).len() as u64,
    }
}

/// `ftyp` (major brand `isom`, compatible `isom iso2 mp41`) and the `mdat` header that covers
/// the rest of the file; `total` is the full file length. Files whose `mdat` does not fit a
/// 32-bit box size use the 64-bit `largesize` form.
fn mp4_header(total: u64) -> Vec<u8> {
    let mut h = Vec::with_capacity(44);
    h.extend_from_slice(&(FTYP_LEN as u32).to_be_bytes());
    h.extend_from_slice(b"ftypisom");
    h.extend_from_slice(&0x200u32.to_be_bytes());
    h.extend_from_slice(b"isomiso2mp41");
    let mdat = total.saturating_sub(FTYP_LEN);
    if mdat <= u64::from(u32::MAX) {
        h.extend_from_slice(&(mdat as u32).to_be_bytes());
        h.extend_from_slice(b"mdat");
    } else {
        h.extend_from_slice(&1u32.to_be_bytes());
        h.extend_from_slice(b"mdat");
        h.extend_from_slice(&mdat.to_be_bytes());
    }
    h
}

/// Pseudo-random bytes at absolute position `pos` of the stream for `seed`.
///
/// BLAKE3's extendable output is seekable, so any range can be produced without generating what
/// precedes it, and the crate's dependencies are built optimised even in test builds, which keeps
/// a 200 MB body fast to produce.
fn fill_padding(seed: u64, pos: u64, out: &mut [u8]) {
    let mut hasher = blake3::Hasher::new_derive_key("photobak-testkit fake media padding v1");
    hasher.update(&seed.to_le_bytes());
    let mut reader = hasher.finalize_xof();
    reader.set_position(pos);
    reader.fill(out);
}

/// A cheap, well-spread combination of two numbers (splitmix64 finaliser).
pub(crate) fn mix(a: u64, b: u64) -> u64 {
    let mut z = a ^ b.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Processing state of a video, as `mediaMetadata.video.status` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum VideoStatus {
    /// `UNSPECIFIED`: not downloadable.
    Unspecified,
    /// `PROCESSING`: still being transcoded; `=dv` fails.
    Processing,
    /// `READY`: `=dv` works.
    Ready,
    /// `FAILED`: transcoding failed; `=dv` fails.
    Failed,
}

impl VideoStatus {
    pub(crate) fn as_api_str(self) -> &'static str {
        match self {
            VideoStatus::Unspecified => "UNSPECIFIED",
            VideoStatus::Processing => "PROCESSING",
            VideoStatus::Ready => "READY",
            VideoStatus::Failed => "FAILED",
        }
    }
}

/// A media item to add. Build it with [`NewItem::photo`] / [`NewItem::video`] and the builder
/// methods, or with struct-update syntax over `NewItem::default()` (a small Canon JPEG).
///
/// Fields left `None` are derived: width/height and camera fields from the sample of a
/// generated JPEG (or 1920x1080 for videos, 4032x3024 for other photos).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NewItem {
    /// File name shown in the API (`filename`).
    pub filename: String,
    /// MIME type (`mimeType`).
    pub mime_type: String,
    /// Description; empty means absent from the API JSON.
    pub description: String,
    /// Capture time (`mediaMetadata.creationTime`); RFC 3339 in JSON.
    pub creation_time: Timestamp,
    /// The bytes.
    pub content: Content,
    /// Albums (ids from [`crate::fake_google::FakeGoogle::add_album`]) the item is put in.
    pub album_ids: Vec<String>,
    /// `Some` makes the item a video with this processing status.
    pub video_status: Option<VideoStatus>,
    /// Pixel width reported by the API.
    pub width: Option<u64>,
    /// Pixel height reported by the API.
    pub height: Option<u64>,
    /// `cameraMake`.
    pub camera_make: Option<String>,
    /// `cameraModel`.
    pub camera_model: Option<String>,
    /// `photo.focalLength`.
    pub focal_length: Option<f64>,
    /// `photo.apertureFNumber`.
    pub aperture_f_number: Option<f64>,
    /// `photo.isoEquivalent`.
    pub iso_equivalent: Option<u32>,
    /// `photo.exposureTime`, a Duration string such as `"0.004s"`.
    pub exposure_time: Option<String>,
    /// `video.fps` (default 30).
    pub fps: Option<f64>,
}

impl Default for NewItem {
    fn default() -> Self {
        NewItem {
            filename: "IMG_0001.JPG".to_owned(),
            mime_type: "image/jpeg".to_owned(),
            description: String::new(),
            creation_time: "2020-06-15T12:00:00Z".parse().expect("valid timestamp"),
            content: Content::jpeg(Sample::Canon40D, 1, 8 * 1024),
            album_ids: Vec::new(),
            video_status: None,
            width: None,
            height: None,
            camera_make: None,
            camera_model: None,
            focal_length: None,
            aperture_f_number: None,
            iso_equivalent: None,
            exposure_time: None,
            fps: None,
        }
    }
}

impl NewItem {
    /// A JPEG photo named `filename` (generated from the Canon sample, seeded by the name).
    pub fn photo(filename: &str) -> NewItem {
        NewItem {
            filename: filename.to_owned(),
            content: Content::jpeg(Sample::Canon40D, mix(name_seed(filename), 1), 8 * 1024),
            ..NewItem::default()
        }
    }

    /// A READY `video/mp4` of 64 KiB named `filename`.
    pub fn video(filename: &str) -> NewItem {
        NewItem {
            filename: filename.to_owned(),
            mime_type: "video/mp4".to_owned(),
            content: Content::mp4(mix(name_seed(filename), 2), 64 * 1024),
            video_status: Some(VideoStatus::Ready),
            ..NewItem::default()
        }
    }

    /// Sets the description.
    pub fn description(mut self, text: &str) -> Self {
        self.description = text.to_owned();
        self
    }

    /// Sets the capture time from an RFC 3339 string. Panics on an invalid string.
    pub fn created(mut self, rfc3339: &str) -> Self {
        self.creation_time = rfc3339
            .parse()
            .unwrap_or_else(|e| panic!("invalid creation time {rfc3339:?}: {e}"));
        self
    }

    /// Sets the capture time.
    pub fn created_at(mut self, ts: Timestamp) -> Self {
        self.creation_time = ts;
        self
    }

    /// Sets the bytes.
    pub fn content(mut self, content: Content) -> Self {
        self.content = content;
        self
    }

    /// Sets the MIME type.
    pub fn mime(mut self, mime_type: &str) -> Self {
        self.mime_type = mime_type.to_owned();
        self
    }

    /// Adds the item to an album.
    pub fn in_album(mut self, album_id: &str) -> Self {
        self.album_ids.push(album_id.to_owned());
        self
    }

    /// Makes the item a video with this status.
    pub fn video_status(mut self, status: VideoStatus) -> Self {
        self.video_status = Some(status);
        self
    }

    /// Sets the API-visible dimensions.
    pub fn dimensions(mut self, width: u64, height: u64) -> Self {
        self.width = Some(width);
        self.height = Some(height);
        self
    }

    /// Sets camera make and model.
    pub fn camera(mut self, make: &str, model: &str) -> Self {
        self.camera_make = Some(make.to_owned());
        self.camera_model = Some(model.to_owned());
        self
    }
}

fn name_seed(name: &str) -> u64 {
    let h = blake3::hash(name.as_bytes());
    u64::from_le_bytes(h.as_bytes()[..8].try_into().expect("8 bytes"))
}

/// How an edit changes an item's bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContentEdit {
    /// New bytes of the same kind and size: generated content gets a new seed, literal bytes get
    /// 16 deterministic bytes appended (harmless after a JPEG's EOI marker).
    Regenerate,
    /// Replace the bytes.
    Replace(Content),
}

/// A change to an existing item; `None` fields stay as they are.
///
/// Any content change also "crops" the item: unless the edit sets width/height itself, both
/// shrink by 10 %, because the Library API has no content hash and clients notice edits only
/// through API fields.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ItemEdit {
    /// New description (empty string removes it).
    pub description: Option<String>,
    /// New file name.
    pub filename: Option<String>,
    /// New bytes.
    pub content: Option<ContentEdit>,
    /// New video status (videos only).
    pub video_status: Option<VideoStatus>,
    /// New width.
    pub width: Option<u64>,
    /// New height.
    pub height: Option<u64>,
    /// New capture time.
    pub creation_time: Option<Timestamp>,
}

impl ItemEdit {
    /// An edit that only regenerates the bytes (and crops the dimensions).
    pub fn regenerate() -> ItemEdit {
        ItemEdit {
            content: Some(ContentEdit::Regenerate),
            ..ItemEdit::default()
        }
    }

    /// An edit that replaces the bytes (and crops the dimensions).
    pub fn replace_content(content: Content) -> ItemEdit {
        ItemEdit {
            content: Some(ContentEdit::Replace(content)),
            ..ItemEdit::default()
        }
    }

    /// An edit that only changes the description.
    pub fn set_description(text: &str) -> ItemEdit {
        ItemEdit {
            description: Some(text.to_owned()),
            ..ItemEdit::default()
        }
    }
}

/// Ground truth of the whole fake, as `GET /_fake/library` returns it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LibrarySnapshot {
    /// Accounts in creation order.
    pub accounts: Vec<AccountSnapshot>,
}

impl LibrarySnapshot {
    /// The account with this address.
    pub fn account(&self, address: &str) -> Option<&AccountSnapshot> {
        self.accounts.iter().find(|a| a.address == address)
    }
}

/// One account's library.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AccountSnapshot {
    /// Email address.
    pub address: String,
    /// Albums in listing order.
    pub albums: Vec<AlbumSnapshot>,
    /// Items in listing order.
    pub items: Vec<ItemSnapshot>,
}

impl AccountSnapshot {
    /// The item with this id.
    pub fn item(&self, id: &str) -> Option<&ItemSnapshot> {
        self.items.iter().find(|i| i.id == id)
    }

    /// The BLAKE3 (hex) of every item's bytes: what a complete backup of the account holds.
    pub fn hashes(&self) -> std::collections::BTreeSet<String> {
        self.items.iter().map(|i| i.blake3.clone()).collect()
    }
}

/// One album.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlbumSnapshot {
    /// Album id.
    pub id: String,
    /// Title (may be empty).
    pub title: String,
    /// Member items in listing order.
    pub item_ids: Vec<String>,
}

/// One media item with the hash of the bytes the media host serves for it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ItemSnapshot {
    /// Media item id.
    pub id: String,
    /// File name.
    pub filename: String,
    /// MIME type.
    pub mime_type: String,
    /// Description (empty when none).
    pub description: String,
    /// Capture time.
    pub creation_time: Timestamp,
    /// API width.
    pub width: u64,
    /// API height.
    pub height: u64,
    /// Byte size of the full download (`=d` / `=dv`).
    pub size: u64,
    /// BLAKE3 of the full download, lowercase hex.
    pub blake3: String,
    /// Albums containing the item.
    pub album_ids: Vec<String>,
    /// Video status; `None` for photos.
    pub video_status: Option<VideoStatus>,
}

/// Errors of library operations (mapped to panics by the Rust API, to 4xx by the control API).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelError {
    /// No such account.
    UnknownAccount(String),
    /// No such album.
    UnknownAlbum(String),
    /// No such item.
    UnknownItem(String),
    /// The request is inconsistent (e.g. an item and an album of different accounts).
    Invalid(String),
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelError::UnknownAccount(a) => write!(f, "unknown account {a:?}"),
            ModelError::UnknownAlbum(a) => write!(f, "unknown album id {a:?}"),
            ModelError::UnknownItem(i) => write!(f, "unknown item id {i:?}"),
            ModelError::Invalid(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for ModelError {}

/// Item metadata that the API shows besides names and dates.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Meta {
    pub camera_make: Option<String>,
    pub camera_model: Option<String>,
    pub focal_length: Option<f64>,
    pub aperture: Option<f64>,
    pub iso: Option<u32>,
    pub exposure: Option<String>,
    pub fps: f64,
}

#[derive(Clone, Debug)]
pub(crate) struct Item {
    pub key: u64,
    pub id: String,
    pub account: usize,
    pub filename: String,
    pub mime_type: String,
    pub description: String,
    pub creation_time: Timestamp,
    pub width: u64,
    pub height: u64,
    pub content: Content,
    pub size: u64,
    pub hash: blake3::Hash,
    pub video_status: Option<VideoStatus>,
    pub meta: Meta,
    /// Number of content edits, so repeated regenerations differ.
    pub edits: u64,
}

#[derive(Clone, Debug)]
pub(crate) struct Album {
    pub id: String,
    pub account: usize,
    pub title: String,
    /// Members by item key: listing order is key order, which is also creation order.
    pub items: BTreeSet<u64>,
}

#[derive(Clone, Debug)]
pub(crate) struct Account {
    pub address: String,
    pub items: BTreeSet<u64>,
    pub albums: BTreeSet<u64>,
}

/// An item whose content has been measured (outside the state lock) and can be inserted.
pub(crate) struct PreparedItem {
    pub new: NewItem,
    pub size: u64,
    pub hash: blake3::Hash,
}

impl PreparedItem {
    pub fn prepare(mut new: NewItem) -> PreparedItem {
        new.content = new.content.as_served();
        let (size, hash) = new.content.measure();
        PreparedItem { new, size, hash }
    }
}

/// All accounts, albums and items.
///
/// Items and albums get increasing numeric keys; their public ids are derived from the key and
/// the fake's seed, so the same sequence of operations on a fake with the same seed always
/// yields the same ids.
pub(crate) struct Library {
    id_key: [u8; 32],
    next_key: u64,
    pub accounts: Vec<Account>,
    pub items: BTreeMap<u64, Item>,
    pub albums: BTreeMap<u64, Album>,
    item_ids: HashMap<String, u64>,
    album_ids: HashMap<String, u64>,
}

impl Library {
    pub fn new(seed: u64) -> Library {
        let mut h = blake3::Hasher::new_derive_key("photobak-testkit fake ids v1");
        h.update(&seed.to_le_bytes());
        Library {
            id_key: *h.finalize().as_bytes(),
            next_key: 1,
            accounts: Vec::new(),
            items: BTreeMap::new(),
            albums: BTreeMap::new(),
            item_ids: HashMap::new(),
            album_ids: HashMap::new(),
        }
    }

    /// A ~100 character base64url id, like Google's (`AB…` for items, `AA…` for albums).
    fn make_id(&self, prefix: &str, key: u64) -> String {
        let mut h = blake3::Hasher::new_keyed(&self.id_key);
        h.update(prefix.as_bytes());
        h.update(&key.to_le_bytes());
        let mut raw = [0u8; 73];
        h.finalize_xof().fill(&mut raw);
        format!("{prefix}{}", URL_SAFE_NO_PAD.encode(raw))
    }

    fn alloc_key(&mut self) -> u64 {
        let k = self.next_key;
        self.next_key += 1;
        k
    }

    /// Index of the account, creating it (empty) when new.
    pub fn ensure_account(&mut self, address: &str) -> usize {
        if let Some(i) = self.account_index(address) {
            return i;
        }
        self.accounts.push(Account {
            address: address.to_owned(),
            items: BTreeSet::new(),
            albums: BTreeSet::new(),
        });
        self.accounts.len() - 1
    }

    pub fn account_index(&self, address: &str) -> Option<usize> {
        self.accounts.iter().position(|a| a.address == address)
    }

    fn require_account(&self, address: &str) -> Result<usize, ModelError> {
        self.account_index(address)
            .ok_or_else(|| ModelError::UnknownAccount(address.to_owned()))
    }

    pub fn item_key(&self, id: &str) -> Option<u64> {
        self.item_ids.get(id).copied()
    }

    pub fn album_key(&self, id: &str) -> Option<u64> {
        self.album_ids.get(id).copied()
    }

    pub fn item_by_id(&self, id: &str) -> Result<&Item, ModelError> {
        self.item_key(id)
            .and_then(|k| self.items.get(&k))
            .ok_or_else(|| ModelError::UnknownItem(id.to_owned()))
    }

    pub fn add_album(&mut self, account: &str, title: &str) -> Result<String, ModelError> {
        let acc = self.require_account(account)?;
        Ok(self.add_album_at(acc, title))
    }

    fn add_album_at(&mut self, acc: usize, title: &str) -> String {
        let key = self.alloc_key();
        let id = self.make_id("AA", key);
        self.albums.insert(
            key,
            Album {
                id: id.clone(),
                account: acc,
                title: title.to_owned(),
                items: BTreeSet::new(),
            },
        );
        self.album_ids.insert(id.clone(), key);
        self.accounts[acc].albums.insert(key);
        id
    }

    pub fn rename_album(&mut self, album_id: &str, title: &str) -> Result<(), ModelError> {
        let key = self
            .album_key(album_id)
            .ok_or_else(|| ModelError::UnknownAlbum(album_id.to_owned()))?;
        let album = self.albums.get_mut(&key).expect("album map consistent");
        album.title = title.to_owned();
        Ok(())
    }

    /// Deletes the album; its items stay in the library (as in Google Photos).
    pub fn delete_album(&mut self, album_id: &str) -> Result<(), ModelError> {
        let key = self
            .album_ids
            .remove(album_id)
            .ok_or_else(|| ModelError::UnknownAlbum(album_id.to_owned()))?;
        let album = self.albums.remove(&key).expect("album map consistent");
        self.accounts[album.account].albums.remove(&key);
        Ok(())
    }

    /// Resolves album ids of one account to keys.
    fn album_keys_for(&self, acc: usize, album_ids: &[String]) -> Result<Vec<u64>, ModelError> {
        album_ids
            .iter()
            .map(|id| {
                let key = self
                    .album_key(id)
                    .ok_or_else(|| ModelError::UnknownAlbum(id.clone()))?;
                if self.albums[&key].account != acc {
                    return Err(ModelError::Invalid(format!(
                        "album {id:?} belongs to another account"
                    )));
                }
                Ok(key)
            })
            .collect()
    }

    /// Checks that `add_item` would succeed, before the caller spends time measuring content.
    pub fn check_new_item(&self, account: &str, new: &NewItem) -> Result<usize, ModelError> {
        let acc = self.require_account(account)?;
        self.album_keys_for(acc, &new.album_ids)?;
        Ok(acc)
    }

    pub fn insert_item(
        &mut self,
        acc: usize,
        prepared: PreparedItem,
    ) -> Result<String, ModelError> {
        let album_keys = self.album_keys_for(acc, &prepared.new.album_ids)?;
        Ok(self.insert_item_in(acc, prepared, &album_keys))
    }

    fn insert_item_in(&mut self, acc: usize, prepared: PreparedItem, album_keys: &[u64]) -> String {
        let PreparedItem { new, size, hash } = prepared;
        let key = self.alloc_key();
        let id = self.make_id("AB", key);
        let is_video = new.video_status.is_some();
        let sample = match &new.content {
            Content::Generated {
                kind: GenKind::Jpeg { sample },
                ..
            } if !is_video => Some(sample.info()),
            _ => None,
        };
        let (dw, dh) = match (&sample, is_video) {
            (Some(s), _) => (s.width, s.height),
            (None, true) => (1920, 1080),
            (None, false) => (4032, 3024),
        };
        let s_make = sample.as_ref().and_then(|s| s.make.map(str::to_owned));
        let s_model = sample.as_ref().and_then(|s| s.model.map(str::to_owned));
        let meta = Meta {
            camera_make: new.camera_make.or(s_make),
            camera_model: new.camera_model.or(s_model),
            focal_length: new
                .focal_length
                .or(sample.as_ref().and_then(|s| s.focal_length)),
            aperture: new
                .aperture_f_number
                .or(sample.as_ref().and_then(|s| s.aperture)),
            iso: new.iso_equivalent.or(sample.as_ref().and_then(|s| s.iso)),
            exposure: new
                .exposure_time
                .or(sample.as_ref().and_then(|s| s.exposure.map(str::to_owned))),
            fps: new.fps.unwrap_or(30.0),
        };
        let item = Item {
            key,
            id: id.clone(),
            account: acc,
            filename: new.filename,
            mime_type: new.mime_type,
            description: new.description,
            creation_time: new.creation_time,
            width: new.width.unwrap_or(dw),
            height: new.height.unwrap_or(dh),
            content: new.content,
            size,
            hash,
            video_status: new.video_status,
            meta,
            edits: 0,
        };
        self.items.insert(key, item);
        self.item_ids.insert(id.clone(), key);
        self.accounts[acc].items.insert(key);
        for ak in album_keys {
            if let Some(a) = self.albums.get_mut(ak) {
                a.items.insert(key);
            }
        }
        id
    }

    /// Inserts a generated library: albums first (in order), then items with album indices.
    pub fn insert_generated(
        &mut self,
        acc: usize,
        album_titles: &[String],
        items: Vec<(PreparedItem, Vec<usize>)>,
    ) -> (Vec<String>, Vec<String>) {
        let album_ids: Vec<String> = album_titles
            .iter()
            .map(|t| self.add_album_at(acc, t))
            .collect();
        let album_keys: Vec<u64> = album_ids.iter().map(|id| self.album_ids[id]).collect();
        let item_ids = items
            .into_iter()
            .map(|(p, idx)| {
                let keys: Vec<u64> = idx.iter().map(|i| album_keys[*i]).collect();
                self.insert_item_in(acc, p, &keys)
            })
            .collect();
        (album_ids, item_ids)
    }

    pub fn delete_item(&mut self, item_id: &str) -> Result<(), ModelError> {
        let key = self
            .item_ids
            .remove(item_id)
            .ok_or_else(|| ModelError::UnknownItem(item_id.to_owned()))?;
        let item = self.items.remove(&key).expect("item map consistent");
        self.accounts[item.account].items.remove(&key);
        for album in self.albums.values_mut() {
            album.items.remove(&key);
        }
        Ok(())
    }

    pub fn change_membership(
        &mut self,
        album_id: &str,
        add: &[&str],
        remove: &[&str],
    ) -> Result<(), ModelError> {
        let akey = self
            .album_key(album_id)
            .ok_or_else(|| ModelError::UnknownAlbum(album_id.to_owned()))?;
        let acc = self.albums[&akey].account;
        let resolve = |ids: &[&str]| -> Result<Vec<u64>, ModelError> {
            ids.iter()
                .map(|id| {
                    let item = self.item_by_id(id)?;
                    if item.account != acc {
                        return Err(ModelError::Invalid(format!(
                            "item {id:?} belongs to another account than album {album_id:?}"
                        )));
                    }
                    Ok(item.key)
                })
                .collect()
        };
        let add_keys = resolve(add)?;
        let remove_keys = resolve(remove)?;
        let album = self.albums.get_mut(&akey).expect("album map consistent");
        album.items.extend(add_keys);
        for k in remove_keys {
            album.items.remove(&k);
        }
        Ok(())
    }

    /// First half of an edit: the content the item will have afterwards (still unmeasured).
    pub fn planned_content(&self, item_id: &str, edit: &ItemEdit) -> Result<Content, ModelError> {
        let item = self.item_by_id(item_id)?;
        if edit.video_status.is_some() && item.video_status.is_none() {
            return Err(ModelError::Invalid(format!(
                "item {item_id:?} is a photo; it has no video status"
            )));
        }
        Ok(match &edit.content {
            None => item.content.clone(),
            Some(ContentEdit::Replace(c)) => c.clone().as_served(),
            Some(ContentEdit::Regenerate) => {
                let salt = mix(item.key, item.edits + 1);
                match &item.content {
                    Content::Generated { kind, seed, size } => Content::Generated {
                        kind: *kind,
                        seed: mix(*seed, salt),
                        size: *size,
                    },
                    Content::Bytes(b) => {
                        let mut v = b.as_ref().clone();
                        let mut tail = [0u8; 16];
                        fill_padding(salt, 0, &mut tail);
                        v.extend_from_slice(&tail);
                        Content::Bytes(Arc::new(v))
                    }
                }
            }
        })
    }

    /// Second half of an edit, with the measured new content.
    pub fn apply_edit(
        &mut self,
        item_id: &str,
        edit: ItemEdit,
        content: Option<(Content, u64, blake3::Hash)>,
    ) -> Result<(), ModelError> {
        let key = self
            .item_key(item_id)
            .ok_or_else(|| ModelError::UnknownItem(item_id.to_owned()))?;
        let item = self.items.get_mut(&key).expect("item map consistent");
        if let Some(d) = edit.description {
            item.description = d;
        }
        if let Some(f) = edit.filename {
            item.filename = f;
        }
        if let Some(t) = edit.creation_time {
            item.creation_time = t;
        }
        if let Some(s) = edit.video_status {
            item.video_status = Some(s);
        }
        if let Some((c, size, hash)) = content {
            item.content = c;
            item.size = size;
            item.hash = hash;
            item.edits += 1;
            // Crop by 10 % so the edit is visible in API fields.
            if edit.width.is_none() {
                item.width = crop(item.width);
            }
            if edit.height.is_none() {
                item.height = crop(item.height);
            }
        }
        if let Some(w) = edit.width {
            item.width = w;
        }
        if let Some(h) = edit.height {
            item.height = h;
        }
        Ok(())
    }

    pub fn snapshot(&self) -> LibrarySnapshot {
        let mut item_albums: HashMap<u64, Vec<String>> = HashMap::new();
        for album in self.albums.values() {
            for k in &album.items {
                item_albums.entry(*k).or_default().push(album.id.clone());
            }
        }
        let accounts = self
            .accounts
            .iter()
            .map(|acc| AccountSnapshot {
                address: acc.address.clone(),
                albums: acc
                    .albums
                    .iter()
                    .map(|k| {
                        let a = &self.albums[k];
                        AlbumSnapshot {
                            id: a.id.clone(),
                            title: a.title.clone(),
                            item_ids: a.items.iter().map(|k| self.items[k].id.clone()).collect(),
                        }
                    })
                    .collect(),
                items: acc
                    .items
                    .iter()
                    .map(|k| {
                        let i = &self.items[k];
                        ItemSnapshot {
                            id: i.id.clone(),
                            filename: i.filename.clone(),
                            mime_type: i.mime_type.clone(),
                            description: i.description.clone(),
                            creation_time: i.creation_time,
                            width: i.width,
                            height: i.height,
                            size: i.size,
                            blake3: i.hash.to_hex().to_string(),
                            album_ids: item_albums.remove(k).unwrap_or_default(),
                            video_status: i.video_status,
                        }
                    })
                    .collect(),
            })
            .collect();
        LibrarySnapshot { accounts }
    }
}

fn crop(v: u64) -> u64 {
    if v <= 1 { v + 1 } else { v - (v / 10).max(1) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_complete_jpegs() {
        for s in Sample::ALL {
            let b = s.bytes();
            assert_eq!(&b[..2], &[0xFF, 0xD8], "{s:?} starts with SOI");
            assert_eq!(&b[b.len() - 2..], &[0xFF, 0xD9], "{s:?} ends with EOI");
        }
    }

    #[test]
    fn generated_jpeg_keeps_sample_and_pads_deterministically() {
        let c = Content::jpeg(Sample::NikonD70, 7, 100_000);
        let v = c.to_vec();
        assert_eq!(v.len(), 100_000);
        assert_eq!(
            &v[..Sample::NikonD70.bytes().len()],
            Sample::NikonD70.bytes()
        );
        assert_eq!(v, Content::jpeg(Sample::NikonD70, 7, 100_000).to_vec());
        assert_ne!(v, Content::jpeg(Sample::NikonD70, 8, 100_000).to_vec());
        // A size below the sample's still yields the whole sample.
        assert_eq!(
            Content::jpeg(Sample::NikonD70, 1, 10).len(),
            Sample::NikonD70.bytes().len() as u64
        );
    }

    #[test]
    fn read_at_any_offset_matches_whole() {
        let c = Content::mp4(3, 300_000);
        let whole = c.to_vec();
        for (off, len) in [
            (0u64, 10usize),
            (20, 40),
            (35, 100),
            (123_456, 70_000),
            (299_990, 10),
        ] {
            let mut buf = vec![0u8; len];
            c.read_at(off, &mut buf);
            assert_eq!(&buf[..], &whole[off as usize..off as usize + len]);
        }
        let (size, hash) = c.measure();
        assert_eq!(size, 300_000);
        assert_eq!(hash, blake3::hash(&whole));
    }

    #[test]
    fn mp4_boxes_are_well_formed() {
        let v = Content::mp4(1, 5000).to_vec();
        assert_eq!(&v[4..12], b"ftypisom");
        let ftyp = u32::from_be_bytes(v[0..4].try_into().unwrap()) as usize;
        assert_eq!(ftyp, 28);
        let mdat = u32::from_be_bytes(v[ftyp..ftyp + 4].try_into().unwrap()) as usize;
        assert_eq!(&v[ftyp + 4..ftyp + 8], b"mdat");
        assert_eq!(ftyp + mdat, v.len());
        // Large files switch to the 64-bit box size.
        let big = mp4_header(5 << 30);
        assert_eq!(&big[28..36], &[0, 0, 0, 1, b'm', b'd', b'a', b't']);
        assert_eq!(
            u64::from_be_bytes(big[36..44].try_into().unwrap()),
            (5 << 30) - 28
        );
    }

    #[test]
    fn ids_are_long_and_deterministic() {
        let mut a = Library::new(5);
        let mut b = Library::new(5);
        let acc = a.ensure_account("x@example.com");
        b.ensure_account("x@example.com");
        let ia = a
            .insert_item(acc, PreparedItem::prepare(NewItem::default()))
            .unwrap();
        let ib = b
            .insert_item(acc, PreparedItem::prepare(NewItem::default()))
            .unwrap();
        assert_eq!(ia, ib);
        assert_eq!(ia.len(), 100);
        assert!(ia.starts_with("AB"));
        assert!(
            ia.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
        assert_ne!(Library::new(6).make_id("AB", 1), a.make_id("AB", 1));
    }

    #[test]
    fn edit_regenerates_and_crops() {
        let mut lib = Library::new(1);
        let acc = lib.ensure_account("x@example.com");
        let id = lib
            .insert_item(acc, PreparedItem::prepare(NewItem::default()))
            .unwrap();
        let before = lib.item_by_id(&id).unwrap().clone();
        let edit = ItemEdit::regenerate();
        let c = lib.planned_content(&id, &edit).unwrap();
        let (s, h) = c.measure();
        lib.apply_edit(&id, edit, Some((c, s, h))).unwrap();
        let after = lib.item_by_id(&id).unwrap();
        assert_ne!(before.hash, after.hash);
        assert_eq!(before.size, after.size);
        assert_eq!(after.width, 90);
        assert!(after.height < before.height);
    }

    #[test]
    fn content_json_round_trip() {
        for c in [
            Content::bytes(vec![1, 2, 3]),
            Content::jpeg(Sample::CoolpixGps10, 4, 5),
            Content::mp4(1, 2),
        ] {
            let j = serde_json::to_string(&c).unwrap();
            assert_eq!(serde_json::from_str::<Content>(&j).unwrap(), c);
        }
        let j = serde_json::to_value(Content::mp4(1, 2)).unwrap();
        assert_eq!(
            j,
            serde_json::json!({"generated":{"kind":"mp4","seed":1,"size":2}})
        );
    }
}
