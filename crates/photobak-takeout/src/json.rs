//! The per-item sidecar schema (§4.3) and album metadata (§4.4), recognised by content.

use std::sync::Arc;

use serde_json::{Map, Value};

/// A location from `geoData` / `geoDataExif`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Geo {
    pub latitude: f64,
    pub longitude: f64,
    pub altitude: f64,
    pub latitude_span: f64,
    pub longitude_span: f64,
}

/// Where an item came from (`googlePhotosOrigin`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Uploaded from a phone or tablet.
    MobileUpload {
        device_type: Option<String>,
        device_folder: Option<String>,
    },
    /// Uploaded from a computer (photos.google.com).
    WebUpload,
    /// An item of a partner's library.
    PartnerSharing,
    /// Saved from a shared album.
    SharedAlbum,
    /// A Google-made creation (collage, animation, movie); `kind` is `AUTO`/`MANUAL`.
    Composition { kind: Option<String> },
    /// Any other origin key.
    Other(String),
}

/// A parsed per-item JSON sidecar.
#[derive(Debug, Clone, PartialEq)]
pub struct Sidecar {
    /// Path of the JSON inside its part.
    pub json_path: String,
    /// Index of the part holding the JSON (in [`crate::Catalog::parts`]).
    pub json_part: usize,
    /// Original file name as known to Google Photos.
    pub title: String,
    /// The caption, `""` when none.
    pub description: String,
    /// Capture time, epoch seconds UTC; `None` when absent or `"0"`.
    pub photo_taken_time: Option<i64>,
    /// Upload time, epoch seconds UTC; `None` when absent or `"0"`.
    pub creation_time: Option<i64>,
    /// `photoLastModifiedTime` or `modificationTime`, when present.
    pub modification_time: Option<i64>,
    /// Location (possibly edited by the user); `None` when 0/0.
    pub geo_data: Option<Geo>,
    /// Location from the file's Exif; `None` when 0/0.
    pub geo_data_exif: Option<Geo>,
    /// Manually named people.
    pub people: Vec<String>,
    pub favorited: bool,
    pub archived: bool,
    pub trashed: bool,
    pub origin: Option<Origin>,
    /// `appSource.androidPackageName`.
    pub app_source: Option<String>,
    /// `https://photos.google.com/photo/…`.
    pub url: Option<String>,
    /// View count (`imageViews`), when parseable.
    pub image_views: Option<u64>,
    /// The whole JSON object, as compact JSON text, for the index; read by nothing here. Held
    /// only for parts that can only be streamed (tar): otherwise where the JSON is, and
    /// [`crate::SidecarTexts`] reads it again when it is wanted.
    pub raw: RawJson,
}

/// A media entry's sidecar as the catalog holds it: where its JSON is, and the fields that name
/// the item, which pass 1 and the identity rules use for every entry at once. Everything else
/// is read again when the entry is recorded ([`crate::SidecarTexts::read`]): a parsed
/// [`Sidecar`] per media entry (400 bytes inline, and its strings) was most of the catalog of
/// a large export.
#[derive(Debug, Clone, PartialEq)]
pub struct SidecarRef {
    /// The JSON's path inside its part, the title and the url's photo key, one after the
    /// other in one allocation ([`Self::json_path`], [`Self::title`], [`Self::photo_key`]):
    /// one allocation where three would do, while a folder's sidecars are held to be matched
    /// (the catalog keeps them in its store, [`crate::Sidecars`]).
    names: Box<str>,
    /// Where the title starts in `names`; the JSON's path is before it.
    title_at: usize,
    /// Where the photo key starts in `names`; `None`: no url.
    key_at: Option<usize>,
    /// Index of the part holding the JSON (in [`crate::Catalog::parts`]).
    pub json_part: usize,
    /// Capture time, epoch seconds UTC; `None` when absent or `"0"`.
    pub photo_taken_time: Option<i64>,
    /// The JSON text, or where it is.
    pub raw: RawJson,
}

impl SidecarRef {
    /// A sidecar's place and names: `json_path` in part `json_part`, the item's `title`,
    /// capture time and `url` (of which the photo key is kept, see [`Self::photo_key`]).
    pub fn new(
        json_path: &str,
        json_part: usize,
        title: &str,
        photo_taken_time: Option<i64>,
        url: Option<&str>,
        raw: RawJson,
    ) -> SidecarRef {
        let key = url.map(photo_key_of);
        SidecarRef::with_key(json_path, json_part, title, photo_taken_time, key, raw)
    }

    /// [`Self::new`] from the photo key instead of the url (the catalog's store reads it back
    /// so).
    pub(crate) fn with_key(
        json_path: &str,
        json_part: usize,
        title: &str,
        photo_taken_time: Option<i64>,
        key: Option<&str>,
        raw: RawJson,
    ) -> SidecarRef {
        let mut names =
            String::with_capacity(json_path.len() + title.len() + key.map_or(0, str::len));
        names.push_str(json_path);
        names.push_str(title);
        let key_at = key.map(|k| {
            let at = names.len();
            names.push_str(k);
            at
        });
        SidecarRef {
            names: names.into_boxed_str(),
            title_at: json_path.len(),
            key_at,
            json_part,
            photo_taken_time,
            raw,
        }
    }

    /// Path of the JSON inside its part.
    pub fn json_path(&self) -> &str {
        &self.names[..self.title_at]
    }

    /// Original file name as known to Google Photos.
    pub fn title(&self) -> &str {
        &self.names[self.title_at..self.key_at.unwrap_or(self.names.len())]
    }

    /// The last segment of the sidecar's `url` (`AF1Qip…` of
    /// `https://photos.google.com/photo/AF1Qip…`), which names the item across exports;
    /// `None` when the sidecar has no url;
    /// `Some("")` for a url of slashes alone (no key). Only the key is kept: the url's
    /// constant prefix was 32 bytes of every media entry at the scan's peak, and the whole url
    /// is in the JSON text, read again for the index.
    pub fn photo_key(&self) -> Option<&str> {
        self.key_at.map(|at| &self.names[at..])
    }

    /// The bytes of its names together.
    pub(crate) fn names_len(&self) -> usize {
        self.names.len()
    }
}

/// The photo key of a sidecar's `url`: its last path segment, a trailing `/` ignored (see
/// [`SidecarRef::photo_key`]).
fn photo_key_of(url: &str) -> &str {
    crate::names::last_segment(url.trim_end_matches('/'))
}

impl Sidecar {
    /// What the catalog keeps of this sidecar.
    pub fn to_ref(&self) -> SidecarRef {
        SidecarRef::new(
            &self.json_path,
            self.json_part,
            &self.title,
            self.photo_taken_time,
            self.url.as_deref(),
            self.raw.clone(),
        )
    }
}

/// The sidecar in a JSON document read again from where `at` says it is (its compact text is
/// `raw`'s, or where it is): `Err` when it is no sidecar (any more).
pub(crate) fn sidecar_again(v: &Value, at: &SidecarRef) -> Result<Sidecar, String> {
    let Some(obj) = v.as_object() else {
        return Err("no longer a JSON object".into());
    };
    sidecar(obj, at.json_path(), at.json_part, at.raw.clone())
}

/// A sidecar's whole JSON object as compact JSON text, or where to read it again. Not a parsed
/// tree, and for zip parts and folders not even the text: the text of every sidecar of a
/// 100,000-item export (about 630 bytes each) was more than the rest of the catalog.
///
/// Equal when both hold the same text or both point at the same place: a sidecar read from a
/// zip (a place) and the same sidecar read from a tgz (its text) are not equal here; compare
/// their texts ([`crate::SidecarTexts::text`]) for that.
#[derive(Debug, Clone, PartialEq)]
pub struct RawJson(pub(crate) RawKind);

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RawKind {
    /// The text (tar and tgz parts, and sidecars read from memory).
    Text(Arc<str>),
    /// In the part at `Sidecar::json_part`, path `Sidecar::json_path`, of the listed `size`.
    At {
        at: crate::parts::EntryAt,
        size: u64,
    },
}

impl RawJson {
    /// A sidecar's compact JSON text, held.
    pub fn from_text(text: &str) -> RawJson {
        RawJson(RawKind::Text(Arc::from(text)))
    }

    /// The text, when it is held (else [`crate::SidecarTexts::text`] reads it).
    pub fn held(&self) -> Option<&str> {
        match &self.0 {
            RawKind::Text(t) => Some(t),
            RawKind::At { .. } => None,
        }
    }
}

/// Album metadata read from an album folder's JSON (`metadata.json` or a localised name).
#[derive(Debug, Clone, PartialEq)]
pub struct AlbumMeta {
    pub title: String,
    pub description: Option<String>,
    pub access: Option<String>,
    pub date: Option<i64>,
    pub geo_data: Option<Geo>,
    pub raw: Value,
}

/// What a JSON file in the export is.
#[derive(Debug, Clone, PartialEq)]
pub enum JsonKind {
    Sidecar(Box<Sidecar>),
    Album(AlbumMeta),
    /// Not photo metadata (print orders, memories, comments …).
    Other,
}

/// Keys only a per-item sidecar has.
const SIDECAR_KEYS: &[&str] = &[
    "photoTakenTime",
    "creationTime",
    "imageViews",
    "url",
    "geoDataExif",
    "googlePhotosOrigin",
    "photoLastModifiedTime",
    "modificationTime",
    "appSource",
    "people",
    "favorited",
    "archived",
    "trashed",
];
/// Keys only album metadata has.
const ALBUM_KEYS: &[&str] = &[
    "access",
    "date",
    "enrichments",
    "sharedAlbumComments",
    "location",
];

/// Known names of album metadata files (old exports used localised names).
pub const ALBUM_METADATA_NAMES: &[&str] = &[
    "metadata.json",
    "métadonnées.json",
    "metadati.json",
    "Metadaten.json",
    "metadáta.json",
    "метаданные.json",
    "метаданни.json",
    "metadane.json",
    "metadatos.json",
    "metadados.json",
];

/// JSON files that are not photo metadata and are ignored quietly.
pub const IGNORED_JSON: &[&str] = &[
    "print-subscriptions.json",
    "shared_album_comments.json",
    "user-generated-memory-titles.json",
];

/// Whether a JSON document is unmistakably Google Photos metadata (used to recognise a Photos
/// product folder under an unknown localised name; other products' JSON may have a `title`).
pub fn looks_like_photos(v: &Value) -> bool {
    let Some(o) = v.as_object() else { return false };
    if o.get("albumData").is_some_and(Value::is_object) {
        return true;
    }
    let strong = [
        "photoTakenTime",
        "creationTime",
        "geoDataExif",
        "googlePhotosOrigin",
        "access",
        "enrichments",
    ];
    o.get("title").is_some_and(Value::is_string) && strong.iter().any(|k| o.contains_key(*k))
}

/// Parses JSON bytes (a UTF-8 BOM is tolerated).
pub fn parse_bytes(bytes: &[u8]) -> Result<Value, String> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    serde_json::from_slice(bytes).map_err(|e| format!("invalid JSON: {e}"))
}

/// Recognises a JSON document by content: album metadata has a `title` and no per-item keys
/// (or the old `{"albumData":{…}}` wrapper); a sidecar has a `title` and per-item keys. When only
/// a `title` (and maybe `description`/`geoData`) is present, `name_hint` decides: a known album
/// metadata name means album, anything else a sidecar.
pub fn classify(
    name_hint: &str,
    v: &Value,
    json_path: &str,
    part: usize,
) -> Result<JsonKind, String> {
    classify_at(name_hint, v, json_path, part, None)
}

/// [`classify`] for a JSON that can be read again from `at` (its place and listed size): a
/// sidecar then keeps that place instead of its text.
pub(crate) fn classify_at(
    name_hint: &str,
    v: &Value,
    json_path: &str,
    part: usize,
    at: Option<(crate::parts::EntryAt, u64)>,
) -> Result<JsonKind, String> {
    let Some(obj) = v.as_object() else {
        return Ok(JsonKind::Other);
    };
    if let Some(inner) = obj.get("albumData").and_then(Value::as_object) {
        return album(inner, v).map(JsonKind::Album);
    }
    let has = |keys: &[&str]| keys.iter().any(|k| obj.contains_key(*k));
    let has_sidecar_keys = has(SIDECAR_KEYS);
    if !obj.contains_key("title") {
        if has_sidecar_keys {
            return Err("sidecar without a \"title\"".into());
        }
        return Ok(JsonKind::Other);
    }
    let is_album = if has_sidecar_keys {
        false
    } else if has(ALBUM_KEYS) {
        true
    } else {
        ALBUM_METADATA_NAMES
            .iter()
            .any(|n| n.eq_ignore_ascii_case(name_hint))
    };
    if is_album {
        album(obj, v).map(JsonKind::Album)
    } else {
        let raw = RawJson(match at {
            Some((at, size)) => RawKind::At { at, size },
            None => RawKind::Text(Arc::from(v.to_string())),
        });
        sidecar(obj, json_path, part, raw).map(|s| JsonKind::Sidecar(Box::new(s)))
    }
}

fn album(obj: &Map<String, Value>, raw: &Value) -> Result<AlbumMeta, String> {
    let title = match obj.get("title") {
        Some(Value::String(s)) => s.clone(),
        None | Some(Value::Null) => String::new(),
        Some(_) => return Err("album \"title\" is not a string".into()),
    };
    Ok(AlbumMeta {
        title,
        description: str_field(obj, "description").filter(|s| !s.is_empty()),
        access: str_field(obj, "access").filter(|s| !s.is_empty()),
        date: timestamp(obj.get("date")).ok().flatten(),
        geo_data: geo(obj.get("geoData")),
        raw: raw.clone(),
    })
}

fn str_field(obj: &Map<String, Value>, key: &str) -> Option<String> {
    obj.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// Parses `{timestamp: "<epoch>", formatted}`. `Ok(None)` when absent or `"0"`; `Err` when the
/// value is unparseable. `formatted` is never read (it is localised and changed style over time).
pub fn timestamp(v: Option<&Value>) -> Result<Option<i64>, String> {
    let Some(v) = v else { return Ok(None) };
    let ts = match v {
        Value::Object(o) => match o.get("timestamp") {
            Some(t) => t,
            None => return Ok(None),
        },
        Value::Null => return Ok(None),
        other => other,
    };
    let n = match ts {
        Value::String(s) if s.trim().is_empty() => return Ok(None),
        Value::String(s) => s
            .trim()
            .parse::<i64>()
            .map_err(|_| format!("timestamp {s:?} is not a number"))?,
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
            .ok_or_else(|| format!("timestamp {n} out of range"))?,
        Value::Null => return Ok(None),
        other => return Err(format!("timestamp {other} is not a number")),
    };
    Ok((n != 0).then_some(n))
}

fn num(o: &Map<String, Value>, k: &str) -> f64 {
    match o.get(k) {
        Some(Value::Number(n)) => n.as_f64().unwrap_or(0.0),
        Some(Value::String(s)) => s.trim().parse().unwrap_or(0.0),
        _ => 0.0,
    }
}

/// Parses a `geoData` object; 0/0 (and non-finite or out-of-range values) mean "no location".
pub fn geo(v: Option<&Value>) -> Option<Geo> {
    let o = v?.as_object()?;
    let g = Geo {
        latitude: num(o, "latitude"),
        longitude: num(o, "longitude"),
        altitude: num(o, "altitude"),
        latitude_span: num(o, "latitudeSpan"),
        longitude_span: num(o, "longitudeSpan"),
    };
    let valid = g.latitude.is_finite()
        && g.longitude.is_finite()
        && g.latitude.abs() <= 90.0
        && g.longitude.abs() <= 180.0;
    (valid && !(g.latitude == 0.0 && g.longitude == 0.0)).then_some(g)
}

fn origin(v: Option<&Value>) -> Option<Origin> {
    let o = v?.as_object()?;
    // One malformed real sample had fromPartnerSharing plus sibling deviceFolder/deviceType: the
    // explicit origin keys win over stray siblings.
    if o.contains_key("fromPartnerSharing") {
        return Some(Origin::PartnerSharing);
    }
    if o.contains_key("fromSharedAlbum") {
        return Some(Origin::SharedAlbum);
    }
    if let Some(c) = o.get("composition") {
        let kind = c.get("type").and_then(Value::as_str).map(str::to_owned);
        return Some(Origin::Composition { kind });
    }
    if o.contains_key("webUpload") {
        return Some(Origin::WebUpload);
    }
    if let Some(m) = o.get("mobileUpload") {
        let device_type = m
            .get("deviceType")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let device_folder = m
            .get("deviceFolder")
            .and_then(|f| f.get("localFolderName"))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        return Some(Origin::MobileUpload {
            device_type,
            device_folder,
        });
    }
    o.keys().next().map(|k| Origin::Other(k.clone()))
}

fn flag(obj: &Map<String, Value>, key: &str) -> bool {
    match obj.get(key) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

fn sidecar(
    obj: &Map<String, Value>,
    json_path: &str,
    part: usize,
    raw: RawJson,
) -> Result<Sidecar, String> {
    let title = match obj.get("title") {
        Some(Value::String(s)) => s.clone(),
        _ => return Err("sidecar \"title\" is not a string".into()),
    };
    let people = obj
        .get("people")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|p| p.get("name").and_then(Value::as_str))
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let image_views = match obj.get("imageViews") {
        Some(Value::String(s)) => s.trim().parse().ok(),
        Some(Value::Number(n)) => n.as_u64(),
        _ => None,
    };
    let modification_time = timestamp(obj.get("photoLastModifiedTime"))
        .ok()
        .flatten()
        .or_else(|| timestamp(obj.get("modificationTime")).ok().flatten());
    Ok(Sidecar {
        json_path: json_path.to_owned(),
        json_part: part,
        title,
        description: str_field(obj, "description").unwrap_or_default(),
        // Unparseable times are reported by the caller (see `time_problems`) and read as absent.
        photo_taken_time: timestamp(obj.get("photoTakenTime")).ok().flatten(),
        creation_time: timestamp(obj.get("creationTime")).ok().flatten(),
        modification_time,
        geo_data: geo(obj.get("geoData")),
        geo_data_exif: geo(obj.get("geoDataExif")),
        people,
        favorited: flag(obj, "favorited"),
        archived: flag(obj, "archived"),
        trashed: flag(obj, "trashed"),
        origin: origin(obj.get("googlePhotosOrigin")),
        app_source: obj
            .get("appSource")
            .and_then(|a| a.get("androidPackageName"))
            .and_then(Value::as_str)
            .map(str::to_owned),
        url: str_field(obj, "url").filter(|s| !s.is_empty()),
        image_views,
        raw,
    })
}

/// Messages about a sidecar's capture time: missing, `"0"`, or unparseable.
pub fn time_problems(raw: &Value) -> Vec<String> {
    let mut out = Vec::new();
    match raw.get("photoTakenTime") {
        None => out.push("sidecar has no photoTakenTime".to_owned()),
        Some(v) => match timestamp(Some(v)) {
            Ok(Some(_)) => {}
            Ok(None) => out.push("sidecar photoTakenTime is 0 or empty".to_owned()),
            Err(e) => out.push(format!("sidecar photoTakenTime: {e}")),
        },
    }
    if let Some(Err(e)) = raw.get("creationTime").map(|v| timestamp(Some(v))) {
        out.push(format!("sidecar creationTime: {e}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    use serde_json::json;

    /// The packed names read back as given (the url as its photo key), with and without a url
    /// (and with empty parts), and releasing them keeps the place.
    #[test]
    fn sidecar_ref_names_read_back() {
        let raw = RawJson::from_text("{}");
        let with = SidecarRef::new(
            "Takeout/Google Photos/Trip/IMG_1.jpg.supplemental-metadata.json",
            1,
            "IMG_1.jpg",
            Some(7),
            Some("https://photos.google.com/photo/AF1QipX"),
            raw.clone(),
        );
        assert_eq!(
            with.json_path(),
            "Takeout/Google Photos/Trip/IMG_1.jpg.supplemental-metadata.json"
        );
        assert_eq!(with.title(), "IMG_1.jpg");
        assert_eq!(with.photo_key(), Some("AF1QipX"));
        assert_eq!((with.json_part, with.photo_taken_time), (1, Some(7)));
        let without = SidecarRef::new("a.json", 0, "", None, None, raw.clone());
        assert_eq!((without.json_path(), without.title()), ("a.json", ""));
        assert_eq!(without.photo_key(), None);
        let slash = SidecarRef::new(
            "a.json",
            0,
            "t",
            None,
            Some("https://x/p/AF1QipY/"),
            raw.clone(),
        );
        assert_eq!((slash.title(), slash.photo_key()), ("t", Some("AF1QipY")));
        let empty_url = SidecarRef::new("a.json", 0, "t", None, Some(""), raw.clone());
        assert_eq!((empty_url.title(), empty_url.photo_key()), ("t", Some("")));
        assert_ne!(
            empty_url,
            SidecarRef::new("a.json", 0, "t", None, None, raw)
        );
    }

    fn side(v: Value) -> Sidecar {
        match classify("x.json", &v, "p/x.json", 0).unwrap() {
            JsonKind::Sidecar(s) => *s,
            other => panic!("not a sidecar: {other:?}"),
        }
    }

    #[test]
    fn full_sidecar() {
        let v = json!({
            "title": "IMG_1.jpg", "description": "Beach", "imageViews": "12",
            "creationTime": {"timestamp": "1600000000", "formatted": "Sep 13, 2020, 12:26:40 PM UTC"},
            "photoTakenTime": {"timestamp": "1599999999", "formatted": "22 sept. 2023, 15:45:25 UTC"},
            "photoLastModifiedTime": {"timestamp": "1600000500", "formatted": "x"},
            "geoData": {"latitude": 44.4, "longitude": 8.9, "altitude": -0.0, "latitudeSpan": 0.0, "longitudeSpan": 0.0},
            "geoDataExif": {"latitude": 0.0, "longitude": 0.0, "altitude": 0.0, "latitudeSpan": 0.0, "longitudeSpan": 0.0},
            "people": [{"name": "Ann"}, {"name": "Bob"}],
            "url": "https://photos.google.com/photo/AF1Qip",
            "googlePhotosOrigin": {"mobileUpload": {"deviceFolder": {"localFolderName": "Camera"}, "deviceType": "ANDROID_PHONE"}},
            "appSource": {"androidPackageName": "com.whatsapp"},
            "favorited": true, "archived": false
        });
        let s = side(v);
        assert_eq!(s.title, "IMG_1.jpg");
        assert_eq!(s.description, "Beach");
        assert_eq!(s.photo_taken_time, Some(1_599_999_999));
        assert_eq!(s.creation_time, Some(1_600_000_000));
        assert_eq!(s.modification_time, Some(1_600_000_500));
        let g = s.geo_data.unwrap();
        assert_eq!((g.latitude, g.longitude), (44.4, 8.9));
        assert_eq!(g.altitude, 0.0);
        assert!(s.geo_data_exif.is_none(), "0/0 means no location");
        assert_eq!(s.people, vec!["Ann", "Bob"]);
        assert!(s.favorited && !s.archived && !s.trashed);
        assert_eq!(
            s.origin,
            Some(Origin::MobileUpload {
                device_type: Some("ANDROID_PHONE".into()),
                device_folder: Some("Camera".into())
            })
        );
        assert_eq!(s.app_source.as_deref(), Some("com.whatsapp"));
        assert_eq!(s.image_views, Some(12));
        assert_eq!(
            s.url.as_deref(),
            Some("https://photos.google.com/photo/AF1Qip")
        );
    }

    #[test]
    fn zero_and_missing_times() {
        let s = side(json!({"title": "a.jpg", "photoTakenTime": {"timestamp": "0"}, "url": "u"}));
        assert_eq!(s.photo_taken_time, None);
        assert_eq!(
            time_problems(&serde_json::from_str(s.raw.held().unwrap()).unwrap()),
            vec!["sidecar photoTakenTime is 0 or empty"]
        );
        let s = side(json!({"title": "a.jpg", "creationTime": {"timestamp": "5"}}));
        assert_eq!(s.photo_taken_time, None);
        assert_eq!(s.creation_time, Some(5));
        assert_eq!(
            time_problems(&serde_json::from_str(s.raw.held().unwrap()).unwrap()),
            vec!["sidecar has no photoTakenTime"]
        );
        let s = side(json!({"title": "a.jpg", "photoTakenTime": {"timestamp": "soon"}}));
        assert_eq!(s.photo_taken_time, None);
        assert!(
            time_problems(&serde_json::from_str(s.raw.held().unwrap()).unwrap())[0]
                .contains("not a number")
        );
        let s = side(json!({"title": "a.jpg", "photoTakenTime": {"timestamp": -86400}}));
        assert_eq!(s.photo_taken_time, Some(-86400));
    }

    #[test]
    fn origins() {
        let o = |v: Value| side(json!({"title": "a", "googlePhotosOrigin": v})).origin;
        assert_eq!(
            o(json!({"webUpload": {"computerUpload": {}}})),
            Some(Origin::WebUpload)
        );
        assert_eq!(o(json!({"fromSharedAlbum": {}})), Some(Origin::SharedAlbum));
        assert_eq!(
            o(json!({"composition": {"type": "AUTO"}})),
            Some(Origin::Composition {
                kind: Some("AUTO".into())
            })
        );
        // The malformed real sample: partner sharing plus stray device fields.
        assert_eq!(
            o(
                json!({"fromPartnerSharing": {}, "deviceFolder": {"localFolderName": ""}, "deviceType": "IOS_PHONE"})
            ),
            Some(Origin::PartnerSharing)
        );
        assert_eq!(
            o(json!({"somethingNew": {}})),
            Some(Origin::Other("somethingNew".into()))
        );
    }

    #[test]
    fn albums_by_content_whatever_the_name() {
        let meta = json!({"title": "Trip", "description": "", "access": "protected",
            "date": {"timestamp": "0", "formatted": ""}});
        for name in ["metadata.json", "métadonnées.json", "whatever.json"] {
            match classify(name, &meta, "x", 0).unwrap() {
                JsonKind::Album(a) => {
                    assert_eq!(a.title, "Trip");
                    assert_eq!(a.description, None);
                    assert_eq!(a.access.as_deref(), Some("protected"));
                    assert_eq!(a.date, None);
                }
                other => panic!("{other:?}"),
            }
        }
        let old =
            json!({"albumData": {"title": "Old", "description": "d", "date": {"timestamp": "1"}}});
        match classify("Metadaten.json", &old, "x", 0).unwrap() {
            JsonKind::Album(a) => {
                assert_eq!(a.title, "Old");
                assert_eq!(a.description.as_deref(), Some("d"));
                assert_eq!(a.date, Some(1));
            }
            other => panic!("{other:?}"),
        }
        // Only a title: the name decides.
        let bare = json!({"title": "T"});
        assert!(matches!(
            classify("metadati.json", &bare, "x", 0),
            Ok(JsonKind::Album(_))
        ));
        assert!(matches!(
            classify("T.json", &bare, "x", 0),
            Ok(JsonKind::Sidecar(_))
        ));
    }

    #[test]
    fn non_media_json_and_errors() {
        assert_eq!(
            classify("print-subscriptions.json", &json!([]), "x", 0),
            Ok(JsonKind::Other)
        );
        assert_eq!(
            classify("x.json", &json!({"memories": []}), "x", 0),
            Ok(JsonKind::Other)
        );
        assert!(classify("x.json", &json!({"photoTakenTime": {}}), "x", 0).is_err());
        assert!(classify("x.json", &json!({"title": 5, "url": "u"}), "x", 0).is_err());
        assert!(parse_bytes(b"{\"title\": ").is_err());
        assert!(parse_bytes(b"\xEF\xBB\xBF{}").is_ok());
    }

    #[test]
    fn photos_json_is_recognised_strictly() {
        assert!(looks_like_photos(
            &json!({"title": "a.jpg", "photoTakenTime": {"timestamp": "1"}})
        ));
        assert!(looks_like_photos(
            &json!({"title": "Trip", "access": "protected"})
        ));
        assert!(looks_like_photos(&json!({"albumData": {"title": "x"}})));
        // A Google Keep note.
        assert!(!looks_like_photos(
            &json!({"title": "Groceries", "textContent": "milk", "isTrashed": false})
        ));
        assert!(!looks_like_photos(&json!([])));
    }

    #[test]
    fn geo_rules() {
        assert!(geo(Some(&json!({"latitude": 0.0, "longitude": 0.0}))).is_none());
        assert!(geo(Some(&json!({"latitude": 91.0, "longitude": 1.0}))).is_none());
        assert!(geo(Some(&json!({"latitude": 0.0, "longitude": 1.0}))).is_some());
        assert!(geo(Some(&json!({"latitude": "45.5", "longitude": "9.1"}))).is_some());
        assert!(geo(None).is_none());
    }
}
