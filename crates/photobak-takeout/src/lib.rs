//! Reads Google Takeout exports of Google Photos and pairs every media file with its JSON
//! sidecar. It knows the Takeout format (layout, sidecar schema, Google's name rules) and
//! nothing about photobak's repository. Nothing here writes to disk but the spill file a
//! caller may give [`scan_into`] for the catalog's sidecars and media entries ([`Spill`]).
//!
//! # Two passes
//!
//! A `.tgz` part can only be streamed, so reading an export takes two passes:
//!
//! 1. [`scan`] reads every part's directory (the zip central directory; a tgz streamed once; a
//!    folder walked), parses all JSON (sidecars, album metadata), lists the media entries and
//!    pairs media with sidecars. All parts given to one call are **one** export: a media file
//!    and its sidecar may sit in different parts. One part's listing is held at a time: each
//!    part is surveyed (its layout, which product folders are Google Photos, the same-path
//!    rule's hashes), then listed again and placed in turn, and a second listing that differs
//!    from the first is an error ([`Error::Changed`]); a tgz's listing, which can only be
//!    streamed, is written to a spill file after its survey and read back to be placed; a
//!    folder part of more than [`Limits::folder_chunk`] entries (an extracted export given as
//!    one folder) is surveyed and placed a chunk at a time. The entries placed wait for their
//!    folder's matching in the caller's spill file ([`Spill::Files`]). A folder of more media
//!    entries than [`Limits::folder_slice`] is matched in slices of its names
//!    ([`names::slice_key`]: the name rules never pair names of two keys), each slice's
//!    entries written in record order to a scratch file and the slices merged: what the scan
//!    holds while it matches is one slice, and some 50 bytes for each entry of the folder. A
//!    slice that one key crowds past [`Limits::crowded_slice`] names (`image(N).png`) is
//!    matched in parts of whole collision counters (`scan/crowded.rs`). When no part
//!    carries a Takeout name, the export's derived id hashes every listed path in sorted
//!    order, sorted in runs in a spill file (`scan/derived.rs`).
//! 2. [`for_each_media`] (or [`for_each_selected_media`]) streams the bytes of the catalog's
//!    media part by part in archive order and calls back once per media entry (the tgz is
//!    streamed again, zip entries are read through their local headers where the scan found
//!    them ([`MediaEntry::zip`]), files are opened). The central directory is read by the scan
//!    alone (twice: its survey and its placement), one record at a time: held by every reader
//!    of the second pass, it was 33 MB for a part of 133,000 entries, parsed again for every
//!    stretch of the part.
//!
//! The JSON of a zip part or a folder is not held between the two: the listing keeps where
//! each JSON file is, the matching reads and parses it, and the catalog keeps a
//! [`SidecarRef`] per sidecar applied ([`Catalog::sidecar`], in its [`Sidecars`]: in memory, or
//! in a spill file the caller gives): the sidecar's place ([`SidecarRef::raw`]) and what names
//! the item (title, capture time, the url's photo key). [`Catalog::sidecar_texts`] reads the
//! rest again ([`SidecarTexts::read`]:
//! the whole [`Sidecar`] and its text) when the entry is recorded. Only a tgz's sidecar texts
//! are held, since it can only be streamed. The text of every sidecar of a 100,000-item export,
//! and then every parsed sidecar, was more memory than the rest of the catalog.
//!
//! ```no_run
//! use photobak_takeout::{scan, for_each_media, Limits};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let parts = vec!["takeout-20250921T101010Z-001.zip".into(), "takeout-20250921T101010Z-002.zip".into()];
//! let catalog = scan(&parts, &Limits::default())?;
//! for p in &catalog.problems { eprintln!("{p}"); }
//! let problems = for_each_media(&catalog, |entry, reader| -> Result<(), std::io::Error> {
//!     let mut sink = std::io::sink();
//!     std::io::copy(reader, &mut sink)?;
//!     let taken = catalog.sidecar(entry)?.and_then(|s| s.photo_taken_time);
//!     println!("{} {taken:?}", entry.path);
//!     Ok(())
//! })?;
//! # let _ = problems; Ok(()) }
//! ```
//!
//! # Public API
//!
//! * `scan(parts: &[PathBuf], limits: &Limits) -> Result<Catalog, Error>` — [`Error`] only when
//!   no part can be read at all, or a part changed while it was read ([`Error::Changed`]); every
//!   per-entry problem lands in [`Catalog::problems`].
//!   `scan_into(parts, limits, spill: Spill)` keeps the sidecars, the media entries and where
//!   each starts (and, while the scan runs, the media and JSON entries as placed, the
//!   survey's hashes of paths, a large folder's sidecars and slices while it is matched,
//!   the tar parts' listings, and the paths of a derived export id) in files the caller gives ([`Spill::Files`], or
//!   `Spill::files(make)` with a function that makes each; [`Error::Spill`] when one cannot be
//!   written).
//! * [`Slots`]: fixed-width slots by index in a file, through a small cache of pages (what the
//!   catalog keeps per media entry, and the importer's plan per entry).
//!   [`read_at`]: a positioned read of such a file.
//! * [`Media`]: `catalog.media.len()`, `.get(id) -> io::Result<MediaEntry>`,
//!   `.in_record_order()` (an iterator of `io::Result<MediaEntry>`, folder then name; a
//!   same-path duplicate whose first copy is in another folder last), and
//!   `.to_vec()` for small exports.
//! * `Catalog::sidecar(&self, &MediaEntry) -> io::Result<Option<SidecarRef>>` — an entry's
//!   sidecar, read back from where the catalog keeps it.
//! * `for_each_media<E: Display>(catalog: &Catalog, f: impl FnMut(&MediaEntry, &mut dyn Read)
//!   -> Result<(), E>) -> Result<Vec<Problem>, Error>` — an `Err` from `f`, or a read error, is
//!   a [`Problem`] for that entry and the others go on.
//! * `for_each_selected_media<E: Display>(catalog, select: impl FnMut(&MediaEntry) -> bool,
//!   f: impl FnMut(&MediaEntry, &mut dyn Read) -> Result<Flow, E>) -> Result<Vec<Problem>,
//!   Error>` — streams only the selected entries (a part with none is not opened) and lets `f`
//!   stop the pass with [`Flow::Stop`].
//! * `for_each_listed_media<E: Display>(catalog, listed: &[&MediaEntry], f)` — the same for a
//!   list of entries; calls with different lists may run on different threads at once.
//! * `Catalog::sidecar_texts(&self) -> SidecarTexts`, `SidecarTexts::text(&mut self,
//!   &SidecarRef) -> io::Result<String>` and `SidecarTexts::read(&mut self, &SidecarRef) ->
//!   io::Result<(Sidecar, String)>` — a sidecar's compact JSON text, and the whole sidecar,
//!   read again from its part (an error when the part changed since the scan).
//! * [`Catalog`], [`MediaEntry`], [`Folder`], [`Variant`], [`Sidecar`], [`SidecarRef`], [`Geo`], [`Origin`],
//!   [`AlbumInfo`], [`PartInfo`], [`PartFormat`], [`MatchRule`], [`Problem`], [`ProblemKind`],
//!   [`Limits`], [`Flow`], [`Error`]; the pure name rules are in [`names`].
//!
//! # Matching rules (google.md §4.5–§4.10)
//!
//! Per folder (grouped across parts), for each media file: read it with and without a trailing
//! `(N)` counter, generate the sidecar names Google could have written for the candidate
//! titles, and confirm every candidate by the sidecar's `title` (its base clipped to 47 UTF-16
//! units plus the extension; characters Google replaces by `_` compare equal to `_`). The rule
//! that found the sidecar is a [`MatchRule`] (its [`MatchRule::code`] in parentheses):
//!
//! * [`MatchRule::Legacy`] (`legacy`): `title[:46](N).json` (old generation; either generation
//!   when the title has ≥ 46 units, e.g. `…-02.ORIGIN.json`, `…COVER..json`);
//! * [`MatchRule::Supplemental`] (`supplemental`): `title.supplemental-metadata(N).json`;
//! * [`MatchRule::SupplementalClipped`] (`supplemental-clipped`): the suffix cut by the 46-unit
//!   clip (`.supplemental-me`, `.supple`, down to `name..json`), counter after it;
//! * [`MatchRule::SupplementalUnclipped`] (`supplemental-unclipped`): any longer prefix of
//!   `title.supplemental-metadata` (2026 exports);
//! * [`MatchRule::SidecarWithoutExtension`] (`sidecar-without-extension`): `IMG_1.json` for
//!   `IMG_1.jpg`;
//! * [`MatchRule::CounterInTitle`] (`counter-in-title`): `IMG(1).jpg.json` for `IMG(1).jpg`
//!   titled `IMG.jpg`;
//! * [`MatchRule::TitleWithoutExtension`] (`title-without-extension`): titles without an
//!   extension (`20030616` → `20030616.jpg` + `20030616.json`; `PXL_….NIGHT`);
//! * [`MatchRule::EditedVariant`] (`edited-variant`): `-edited`, `-bearbeitet`, `-modifié`,
//!   `-modificato`, `-edytowane`, `-bewerkt`, `-編集済み`, `-编辑`, `-ha editado`, `-editat`,
//!   `-editado`, also cut by the 47-unit truncation (`-ha e`) and with the counter after the
//!   suffix (`Negative0-36-35(1)-editat(1).jpg`): the original's sidecar, linked by
//!   [`Variant::Edited`];
//! * [`MatchRule::EditedVariantInferred`] (`edited-variant-inferred`, with the suffix): the set
//!   of localised suffixes is open (§4.7), so an edited variant is also recognised by its
//!   structure: `NAME-SUFFIX.EXT` (or `NAME-SUFFIX(N).EXT`) left with no sidecar at all, not
//!   even by title, beside `NAME.EXT` (`NAME(N).EXT`; another extension of the same media kind
//!   when the stem is unique: a HEIC edited as JPEG) that has a sidecar of its own. The suffix
//!   must read as a word (letters of any script, inner spaces or apostrophes; `IMG-2.jpg` is no
//!   edit), and is reported by [`MatchRule::inferred_suffix`] (`-redigeret`, `-muokattu` …).
//!   A file with its own sidecar (`Trip-beach.jpg`) is always an item of its own. The capture
//!   time of the variant is not known in pass 1 (it has no sidecar) and is not compared;
//!   [`Variant::Edited`] links it to its original;
//! * [`MatchRule::LiveCompanion`] (`live-companion`): HEIC/JPG + MP4/MOV, Pixel `.MP.jpg` +
//!   `.MP` (and `~2`), `MVIMG_` + `.mp4` or extension-less, 2025 extension-less companions,
//!   also with counters (`IMG_1(1).MP4`): the still's sidecar, linked by
//!   [`Variant::LiveCompanion`];
//! * [`MatchRule::TitleOnly`] (`title-only`): the name fits no rule, the title and counter do,
//!   and no other file claims or contests that sidecar;
//! * [`MatchRule::None`] (`none`) and [`MatchRule::Ambiguous`] (`ambiguous`): no sidecar; when
//!   two different sidecars fit (or one fits two files), none is applied and the case is listed
//!   in [`Catalog::ambiguous`] — a wrong location is worse than none.
//!
//! Creations (`-COLLAGE`, `-ANIMATION`, `-MOVIE`, `-effects` …, or a `composition` origin) have
//! their own sidecars and are marked [`Variant::Creation`]. `~2` names are distinct items.
//! Copies of an item in year and album folders are listed separately (deduplication by content
//! is the store's job); only the exact same path seen twice sets [`MediaEntry::duplicate_of`].
//! To tell copies apart before reading bytes, every entry carries its size and, in zip parts,
//! the CRC-32 of the central directory ([`MediaEntry::crc32`]): older exports have no sidecar
//! `url`, and then the sidecar's `title` + `photoTakenTime` + size is what the copies share.
//! Two entries with that identity in one folder, or with different CRC-32s, are different
//! photos (that decision is the importer's).
//!
//! # Folders
//!
//! `Takeout/<Photos folder>/` in any language (known names, or any product folder whose content
//! looks like Photos), year folders (`Photos from 2019`, `Fotos von 2019`, … and unknown
//! languages by content), album folders recognised by their metadata JSON whatever its name
//! (`metadata.json`, `métadonnées.json`, old `{"albumData":…}`), `Untitled(N)`, and Google's
//! special folders, which are no albums (localised names; album metadata still wins over a
//! name): [`Folder::Archive`], [`Folder::Trash`] (`Trash`, `Bin`, `Papierkorb` …),
//! [`Folder::FailedVideos`] and [`Folder::LockedFolder`] (names as the apps show them; not seen
//! in exports yet). Every media file in Failed Videos or the Locked Folder is also a
//! [`ProblemKind::FailedVideo`] / [`ProblemKind::LockedFolder`] problem, so reports show it. Non-media JSON, the archive browser page and other
//! products are skipped (other products with one [`ProblemKind::Ignored`] problem). A part may
//! also be an extracted folder: `Takeout/`, its parent, or the Photos folder itself.
//!
//! # Hostile input
//!
//! Corrupt or truncated parts, entries escaping the archive (`../`, absolute paths, drive
//! letters, backslashes), symlink and hard-link entries, duplicate entries, names that are not
//! UTF-8, compression bombs (size and ratio caps from [`Limits`]), malformed or huge JSON and
//! sidecars without a capture time each become a [`Problem`] naming the part and the entry;
//! the rest of the export is still read.

pub mod folders;
mod guard;
pub mod json;
mod matcher;
mod media;
pub mod names;
mod parts;
mod records;
mod scan;
mod sidecars;
mod slots;
mod stream;
mod zipdir;

/// The internal entry points the fuzz targets in `fuzz/` (outside the workspace) and their
/// corpus regression test drive directly, because reaching them through [`scan`] would make
/// most fuzz inputs die in archive parsing first. Not part of the API.
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::matcher::{SidecarIn, match_folder};
    pub use crate::parts::validate_path;
    pub use crate::scan::year_of_epoch;
}

use std::fmt;
use std::path::{Path, PathBuf};

pub use folders::{AlbumFolder, Folder};
pub use json::{AlbumMeta, Geo, Origin, RawJson, Sidecar, SidecarRef};
pub use matcher::MatchRule;
pub use media::{Media, RecordOrder};
pub use parts::ZipLoc;
pub use records::{Spill, read_at};
pub use scan::{scan, scan_into};
pub use sidecars::{SidecarId, Sidecars};
pub use slots::Slots;
pub use stream::{Flow, for_each_listed_media, for_each_media, for_each_selected_media};

/// What a scan found in one export.
#[derive(Debug)]
pub struct Catalog {
    /// `takeout-20250921T101010Z` from the part names; otherwise `takeout-derived-<hash>` from
    /// the listed entries (stable for the same content).
    pub export_id: String,
    /// An e-mail address found in the export (the archive browser page, part or folder
    /// names), if any.
    pub account_hint: Option<String>,
    /// The parts, in the order they are read (sorted by part number when the names carry one).
    pub parts: Vec<PartInfo>,
    /// Every media entry, by id ([`MediaEntry::id`]: in part order then archive order), and
    /// in record order ([`Media::in_record_order`]); in memory or in a spill file.
    pub media: Media,
    /// The media entries' sidecars ([`Catalog::sidecar`]).
    pub sidecars: Sidecars,
    /// Album folders (with or without album metadata), in order of appearance.
    pub albums: Vec<AlbumInfo>,
    /// Everything that went wrong or was skipped, per entry.
    pub problems: Vec<Problem>,
    /// Paths of sidecars applied to no media.
    pub unmatched_sidecars: Vec<String>,
    /// Media path → candidate sidecar paths, for media left without a sidecar because several
    /// fit.
    pub ambiguous: Vec<(String, Vec<String>)>,
    /// The limits of the scan (the second pass applies them too).
    pub limits: Limits,
}

impl Catalog {
    /// The sidecar of media entry `m`, when it has one.
    ///
    /// # Errors
    /// When the catalog's spill file cannot be read back ([`Spill::Files`]).
    pub fn sidecar(&self, m: &MediaEntry) -> std::io::Result<Option<SidecarRef>> {
        m.sidecar.map(|id| self.sidecars.get(id)).transpose()
    }

    /// A reader of the sidecars' JSON text (see [`SidecarRef::raw`]), for one thread.
    pub fn sidecar_texts(&self) -> SidecarTexts<'_> {
        SidecarTexts::new(&self.parts)
    }
}

/// Reads sidecars' JSON text again from their parts ([`Catalog::sidecar_texts`]), keeping each
/// zip part open between calls.
pub struct SidecarTexts<'c> {
    parts: &'c [PartInfo],
    files: Vec<Option<std::fs::File>>,
}

impl<'c> SidecarTexts<'c> {
    /// A reader of the sidecars of a catalog whose parts are `parts` (what
    /// [`Catalog::sidecar_texts`] gives, without borrowing the media entries).
    pub fn new(parts: &'c [PartInfo]) -> Self {
        SidecarTexts {
            parts,
            files: (0..parts.len()).map(|_| None).collect(),
        }
    }

    /// The sidecar's whole JSON object as compact JSON text: the text the scan parsed, read
    /// again (checked against the zip's CRC-32), parsed and written compactly.
    ///
    /// # Errors
    /// When the part can no longer be read there, or the JSON no longer parses (the part was
    /// changed since the scan); the message names the part and the entry.
    pub fn text(&mut self, s: &SidecarRef) -> std::io::Result<String> {
        if let json::RawKind::Text(t) = &s.raw.0 {
            return Ok(t.to_string());
        }
        self.value(s).map(|v| v.to_string())
    }

    /// The whole sidecar, parsed again, and its compact JSON text (as [`Self::text`]).
    ///
    /// # Errors
    /// As [`Self::text`], and when the JSON is no sidecar any more.
    pub fn read(&mut self, s: &SidecarRef) -> std::io::Result<(Sidecar, String)> {
        let (v, text) = match &s.raw.0 {
            json::RawKind::Text(t) => {
                let v = serde_json::from_str(t).map_err(|e| self.changed(s, e.to_string()))?;
                (v, t.to_string())
            }
            json::RawKind::At { .. } => {
                let v = self.value(s)?;
                let text = v.to_string();
                (v, text)
            }
        };
        let sidecar = json::sidecar_again(&v, s).map_err(|e| self.changed(s, e))?;
        Ok((sidecar, text))
    }

    /// The JSON where the sidecar is.
    fn value(&mut self, s: &SidecarRef) -> std::io::Result<serde_json::Value> {
        let json::RawKind::At { at, size } = &s.raw.0 else {
            unreachable!("only called for sidecars read from their parts")
        };
        let part = Self::part(self.parts, s)?;
        let bytes =
            parts::read_json_at(part, &mut self.files[s.json_part], s.json_path(), at, *size)
                .map_err(|e| self.changed(s, e.to_string()))?;
        json::parse_bytes(&bytes).map_err(|e| self.changed(s, e))
    }

    fn part(parts: &'c [PartInfo], s: &SidecarRef) -> std::io::Result<&'c Path> {
        parts
            .get(s.json_part)
            .map(|p| p.path.as_path())
            .ok_or_else(|| std::io::Error::other("sidecar of an unknown part"))
    }

    /// An error naming the part and the sidecar.
    fn changed(&self, s: &SidecarRef, e: String) -> std::io::Error {
        let part = Self::part(self.parts, s).map_or_else(|_| PathBuf::new(), Path::to_path_buf);
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "{}: {}: {e} (was the part changed since it was read?)",
                part.display(),
                s.json_path()
            ),
        )
    }
}

/// One part of an export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartInfo {
    pub path: PathBuf,
    pub format: PartFormat,
    /// The export id in the part's name, when it has one.
    pub export_id: Option<String>,
    /// Entries listed (files, including skipped ones).
    pub entries: usize,
    /// Whether the part could be listed at all.
    pub readable: bool,
}

/// How a part is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartFormat {
    Zip,
    /// gzip-compressed tar (`.tgz`, `.tar.gz`).
    Tgz,
    /// Uncompressed tar.
    Tar,
    /// An extracted folder.
    Folder,
    /// Not readable (unknown or unsupported format).
    Unknown,
}

/// A media file of the export. The scan holds every media entry of the export at once (133,000
/// for a 100,000-item library) until its folders are matched, so what can be derived is not
/// stored: the part's path is in [`Catalog::parts`], the folder and the file name are the two
/// halves of `path`. The catalog keeps them in its store ([`Media`]).
#[derive(Debug, Clone, PartialEq)]
pub struct MediaEntry {
    /// Index in [`Catalog::media`] (see [`Self::index`]). The indices are `u32`, as a listing
    /// caps a part's entries far below that: a `usize` each was 12 bytes more per entry, held
    /// for every entry at once.
    pub id: u32,
    /// Index in [`Catalog::parts`] of the part file (or folder) holding the bytes.
    pub part_index: u32,
    /// Position of the entry in its part (zip central-directory index, tar entry number, walk
    /// order for folders).
    pub entry_index: u32,
    /// Path inside the part, `/`-separated, validated (no `..`, not absolute); boxed to its
    /// length.
    pub path: Box<str>,
    pub folder: Folder,
    /// Uncompressed size as listed.
    pub size: u64,
    /// Where a zip part holds the entry (its local header), so that its bytes are read
    /// without the part's central directory; `None` for tar parts and folders.
    pub zip: Option<ZipLoc>,
    /// The paired sidecar, if one was found unambiguously ([`Catalog::sidecar`]: where it is
    /// and what names the item; [`SidecarTexts::read`] gives the rest). Kept in the catalog's
    /// store, not here (see [`Sidecars`]).
    pub sidecar: Option<SidecarId>,
    pub matched_by: MatchRule,
    pub variant: Variant,
    /// The first entry with exactly the same path (in another part or earlier in this one).
    /// Copies of an item in year and album folders are *not* linked here: byte identity is
    /// the store's job.
    pub duplicate_of: Option<u32>,
}

impl MediaEntry {
    /// [`Self::id`] as an index of [`Catalog::media`].
    pub fn index(&self) -> usize {
        self.id as usize
    }

    /// [`Self::part_index`] as an index of [`Catalog::parts`].
    pub fn part(&self) -> usize {
        self.part_index as usize
    }

    /// The order an importer records entries in (folder, then name: the same for the same
    /// export as zip, tgz or folders), which is also the order the scan writes the sidecars
    /// of a folder in ([`Sidecars`]), so reading them back in it is served by few reads.
    pub fn record_key(&self) -> (&str, &str, &str) {
        (self.folder_path(), self.file_name(), &self.path)
    }

    /// The folder the file sits in (`Takeout/Google Photos/Photos from 2019`).
    pub fn folder_path(&self) -> &str {
        self.path.rsplit_once('/').map_or("", |(d, _)| d)
    }

    /// The file name in the archive (possibly truncated or with a counter).
    pub fn file_name(&self) -> &str {
        names::last_segment(&self.path)
    }

    /// CRC-32 of the bytes from the zip central directory; `None` for tar parts and folders.
    /// Cheap evidence in pass 1 that two copies with the same sidecar identity are (or are
    /// not) the same bytes.
    pub fn crc32(&self) -> Option<u32> {
        self.zip.map(|z| z.crc32)
    }
}

/// How a media file relates to others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    Original,
    /// Google's editor output; `original` is the media id of the original in the same folder.
    Edited {
        original: Option<u32>,
    },
    /// The video half of a live/motion photo; `still` is the media id of the still.
    LiveCompanion {
        still: Option<u32>,
    },
    /// A Google-made creation (collage, animation, movie …) with its own sidecar.
    Creation,
}

/// An album folder.
#[derive(Debug, Clone, PartialEq)]
pub struct AlbumInfo {
    /// Folder name in the archive (may be truncated or rewritten by Google).
    pub folder_name: String,
    /// Folder path inside the parts (`Takeout/Google Photos/Trip`).
    pub folder_path: String,
    /// The metadata `title` when present and non-empty, else the folder name.
    pub title: String,
    pub description: Option<String>,
    /// Path of the album metadata JSON, when there is one.
    pub metadata_path: Option<String>,
    /// Everything the album metadata said (access, date, enrichments, comments …).
    pub metadata: Option<AlbumMeta>,
}

/// Something that went wrong with one entry (or one part).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub part: PathBuf,
    pub entry: Option<String>,
    pub kind: ProblemKind,
    pub message: String,
}

/// Classes of [`Problem`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProblemKind {
    /// The part cannot be opened or its format is not supported.
    Unreadable,
    /// The part is corrupt or truncated; entries before the damage were read.
    Corrupt,
    /// The entry's path escapes the archive (`..`, absolute, drive letter, backslash, NUL).
    UnsafePath,
    /// A symlink or hard-link entry (skipped).
    Link,
    /// The same path appears twice.
    Duplicate,
    /// The entry's name is not UTF-8.
    InvalidName,
    /// Over a size or count limit.
    TooLarge,
    /// Over the compression-ratio limit.
    Bomb,
    /// JSON that cannot be parsed or has the wrong shape.
    BadJson,
    /// A sidecar without a usable `photoTakenTime`.
    MissingTime,
    /// An entry kind or compression method that is not supported (skipped).
    Unsupported,
    /// Something skipped on purpose (other Takeout products, extraction artefacts).
    Ignored,
    /// The parts do not all come from the same export.
    MixedExports,
    /// Reading an entry's bytes failed in the second pass.
    Read,
    /// The callback of the second pass returned an error.
    Callback,
    /// A media file in Google's `Failed Videos` folder: Google could not process it. It is
    /// still listed (with [`Folder::FailedVideos`]); the problem makes it visible in reports.
    FailedVideo,
    /// A media file in the Locked Folder: private in Google Photos. Listed (with
    /// [`Folder::LockedFolder`]) and reported, since a copy outside Google is no longer locked.
    LockedFolder,
}

impl Problem {
    pub(crate) fn new(
        part: &std::path::Path,
        entry: Option<&str>,
        kind: ProblemKind,
        message: impl Into<String>,
    ) -> Self {
        Problem {
            part: part.to_path_buf(),
            entry: entry.map(str::to_owned),
            kind,
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.entry {
            Some(e) => write!(f, "{}: {}: {}", self.part.display(), e, self.message),
            None => write!(f, "{}: {}", self.part.display(), self.message),
        }
    }
}

/// Caps against hostile or broken input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest JSON (or HTML) file that is read; bigger ones are a [`ProblemKind::TooLarge`].
    pub max_json_bytes: u64,
    /// Largest media entry.
    pub max_entry_bytes: u64,
    /// Largest uncompressed:compressed ratio (per zip entry over 1 MiB, and for a whole tgz).
    pub max_ratio: u64,
    /// Most entries listed for the whole export.
    pub max_entries: usize,
    /// Media entries of a folder matched at once: a larger folder is matched in slices, by
    /// [`names::slice_key`] hashed into as many slices as it takes for this many entries a
    /// slice on average. What the scan holds while it matches grows with this; what it holds
    /// for the whole folder meanwhile is some 50 bytes per entry (where each is, its slice,
    /// its sidecar's id). A slice is not cut between the names of one key, as those names may
    /// pair with each other, unless it is crowded ([`Limits::crowded_slice`]).
    pub folder_slice: usize,
    /// Names (media entries and sidecars) a slice may hold before it is matched in parts: a
    /// key that fills a slice alone (`image.png`, `image(1).png` … share the key `image`) is
    /// matched a run of whole collision counters at a time, each part of at most
    /// [`Limits::folder_slice`] names; a counter of one key with more names than this (only a
    /// hostile export has one) is matched in parts of one plain stem, which is reported as a
    /// [`ProblemKind::TooLarge`] of the folder (see `scan/crowded.rs`).
    pub crowded_slice: usize,
    /// Entries of a folder part held at once: a folder part of more (an extracted export given
    /// as one folder, which Google's part size does not bound) is walked once for its layout,
    /// then surveyed and placed this many entries at a time (some 95 bytes each), instead of
    /// held whole twice.
    pub folder_chunk: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_json_bytes: 16 << 20,
            max_entry_bytes: 64 << 30,
            max_ratio: 1000,
            max_entries: 10_000_000,
            folder_slice: 8192,
            // A slice holds about `folder_slice` media entries and as many sidecars (the keys'
            // hashes spread them evenly): only a crowding key passes twice that.
            crowded_slice: 4 * 8192,
            folder_chunk: 65_536,
        }
    }
}

/// Failure of a whole pass.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no Takeout parts given")]
    NoParts,
    #[error("no part of the export could be read: {}", join(.0))]
    Unreadable(Vec<Problem>),
    /// A spill file the caller gave ([`Spill::Files`]) could not be written.
    #[error("writing the scan's spill file: {0}")]
    Spill(std::io::Error),
    /// A part listed twice (once to survey the export, once to place its entries) listed
    /// differently: it changed while it was read (still being written or synced?).
    #[error("{}: the part changed while it was read (is it still being written or synced?); read it again once it is complete", .0.display())]
    Changed(std::path::PathBuf),
    /// A spill file the caller gave ([`Spill::Files`]) could not be read back.
    #[error("reading the scan's spill file back: {0}")]
    SpillRead(std::io::Error),
}

fn join(p: &[Problem]) -> String {
    p.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problem_display() {
        let p = Problem::new(
            std::path::Path::new("takeout-1.zip"),
            Some("Takeout/x.json"),
            ProblemKind::BadJson,
            "invalid JSON",
        );
        assert_eq!(p.to_string(), "takeout-1.zip: Takeout/x.json: invalid JSON");
        let p = Problem::new(
            std::path::Path::new("a.tgz"),
            None,
            ProblemKind::Corrupt,
            "truncated",
        );
        assert_eq!(p.to_string(), "a.tgz: truncated");
        let e = Error::Unreadable(vec![p]);
        assert_eq!(
            e.to_string(),
            "no part of the export could be read: a.tgz: truncated"
        );
    }

    #[test]
    fn default_limits() {
        let l = Limits::default();
        assert_eq!(l.max_json_bytes, 16 * 1024 * 1024);
        assert_eq!(l.max_entry_bytes, 64 * 1024 * 1024 * 1024);
        assert_eq!(l.max_ratio, 1000);
    }
}
