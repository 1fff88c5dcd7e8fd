//! Name rules of Google Takeout for Photos (google.md §4.5–§4.8).
//!
//! Everything here is pure string logic: lengths are counted in UTF-16 code units, as Google
//! does, and characters that Google replaces by `_` in archive names compare equal to `_`.

/// Longest media base name (before the extension) Google writes into the archive.
pub const MEDIA_BASE_UNITS: usize = 47;
/// Longest sidecar stem (before an optional `(N)` and `.json`) in both name generations.
pub const SIDECAR_STEM_UNITS: usize = 46;
/// The suffix of the 2024+ sidecar name generation, before clipping.
pub const SUPPLEMENTAL: &str = ".supplemental-metadata";

/// Characters observed (or expected) to be replaced by `_` in archive names.
const REPLACED: &[char] = &['/', '\\', ':', '*', '?', '"', '<', '>', '|', '&'];

/// Suffixes of Google's editor output, per interface language (§4.7).
pub const EDITED_SUFFIXES: &[&str] = &[
    "-edited",
    "-bearbeitet",
    "-modifié",
    "-modificato",
    "-edytowane",
    "-bewerkt",
    "-編集済み",
    "-编辑",
    "-ha editado",
    "-editat",
    "-editado",
];

/// Suffixes of Google-made creations, which have sidecars of their own (§4.7).
pub const CREATION_SUFFIXES: &[&str] = &[
    "-effects",
    "-smile",
    "-mix",
    "-collage",
    "-animation",
    "-motion",
    "-COLLAGE",
    "-ANIMATION",
    "-MOVIE",
];

/// Extensions of stills that can own a live/motion companion video.
const STILL_EXTS: &[&str] = &["heic", "heif", "jpg", "jpeg"];
/// Extensions of companion videos.
const VIDEO_EXTS: &[&str] = &["mp4", "mov"];
/// Extensions that are known media types (anything else after the last dot is part of the name).
const MEDIA_EXTS: &[&str] = &[
    "jpg", "jpeg", "jpe", "png", "gif", "heic", "heif", "webp", "bmp", "tif", "tiff", "dng", "raw",
    "cr2", "cr3", "nef", "nrw", "arw", "orf", "rw2", "raf", "srw", "pef", "avif", "jxl", "ico",
    "mp4", "mov", "m4v", "3gp", "3g2", "avi", "mkv", "webm", "mpg", "mpeg", "mts", "m2ts", "wmv",
    "flv", "gifv", "svg",
];

/// Length of `s` in UTF-16 code units.
pub fn utf16_len(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}

/// The longest prefix of `s` that fits in `max` UTF-16 code units. When the limit falls inside a
/// surrogate pair, `round_up` keeps the whole character (what Google does for media names).
pub fn clip_utf16(s: &str, max: usize, round_up: bool) -> &str {
    let mut units = 0;
    for (i, c) in s.char_indices() {
        let n = c.len_utf16();
        if units + n > max {
            if round_up && units < max {
                return &s[..i + c.len_utf8()];
            }
            return &s[..i];
        }
        units += n;
    }
    s
}

/// Both ways of clipping (they differ only when the limit splits a surrogate pair).
pub fn clips(s: &str, max: usize) -> [&str; 2] {
    [clip_utf16(s, max, false), clip_utf16(s, max, true)]
}

/// The last `/`-separated segment of `path` (all of it without a `/`): a file's name in an
/// archive path, a photo's key in its url.
pub fn last_segment(path: &str) -> &str {
    path.rsplit_once('/').map_or(path, |(_, last)| last)
}

/// Splits a name at its last `.` into base and extension (with the dot). A leading dot is not an
/// extension separator.
pub fn split_ext(name: &str) -> (&str, &str) {
    match name.rfind('.') {
        Some(i) if i > 0 => (&name[..i], &name[i..]),
        _ => (name, ""),
    }
}

/// Strips a trailing `(N)` counter: `IMG_3479(2)` → (`IMG_3479`, 2).
pub fn strip_counter(base: &str) -> Option<(&str, u32)> {
    let inner = base.strip_suffix(')')?;
    let open = inner.rfind('(')?;
    let digits = &inner[open + 1..];
    if open == 0 || digits.is_empty() || digits.len() > 6 {
        return None;
    }
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((&base[..open], digits.parse().ok()?))
}

/// Formats an optional counter as Google writes it.
pub fn counter_text(n: Option<u32>) -> String {
    n.map(|n| format!("({n})")).unwrap_or_default()
}

fn fold(c: char) -> char {
    if c == '_' || c.is_control() || REPLACED.contains(&c) {
        '_'
    } else {
        c
    }
}

/// Equality where a character Google replaces by `_` equals `_`.
pub fn relaxed_eq(a: &str, b: &str) -> bool {
    a.chars().map(fold).eq(b.chars().map(fold))
}

/// `relaxed_eq` applied to a prefix of `s`.
pub fn relaxed_starts_with(s: &str, prefix: &str) -> bool {
    let mut it = s.chars().map(fold);
    for p in prefix.chars().map(fold) {
        if it.next() != Some(p) {
            return false;
        }
    }
    true
}

/// Hash key under `relaxed_eq`.
pub fn fold_key(s: &str) -> String {
    s.chars().map(fold).collect()
}

/// UTF-16 units of a name that [`slice_key`] looks at: fewer than any clipping of a name rule
/// (46 and 47 units) leaves, with one unit to spare for the character after them.
const SLICE_KEY_UNITS: usize = 32;

/// What every name a file could be paired with by the name rules begins with: a large folder
/// is matched in slices, each holding the names of some keys, and no rule pairs names of two
/// keys, so a slice is matched as the whole folder would be (scan/matching.rs).
///
/// Every pairing the rules make (a file and a sidecar's title, an edit and its original, a
/// companion and its still, `X(N).jpg` and `X.jpg`) is between a name `P` and a name that is
/// `P` (clipped at 46 or 47 units at most, relaxed as [`relaxed_eq`]) followed by nothing or
/// by `.`, `(`, or `-` and something else than a digit (an edited suffix begins with a
/// letter, an apostrophe or an accent), or between two names equal in lower case (an
/// original or a still looked for whatever its case). So the key is the name folded, in
/// lower case (a final `ς` as `σ`: the lower case of a whole name depends on where its `Σ`
/// stands), within its first [`SLICE_KEY_UNITS`] (lower case never shortens a character),
/// up to the first `.`, `(`, or `-` not followed by an ASCII digit (`IMG-2.jpg` is no edit of
/// `IMG.jpg`): `img_7` for `IMG_7.jpg`, `IMG_7(1).jpg`, `IMG_7-edited.jpg` and the title
/// `IMG_7.jpg`. A sidecar's key is its title's: the title is what every rule confirms,
/// whatever its file's name.
pub fn slice_key(name: &str) -> String {
    let lower: String = name
        .chars()
        .map(fold)
        .flat_map(char::to_lowercase)
        .map(|c| if c == 'ς' { 'σ' } else { c })
        .collect();
    let lower = clip_utf16(&lower, SLICE_KEY_UNITS, false);
    let mut chars = lower.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let cut = match c {
            '.' | '(' => true,
            '-' => !chars.peek().is_some_and(|(_, next)| next.is_ascii_digit()),
            _ => false,
        };
        if cut {
            return lower[..i].to_owned();
        }
    }
    lower.to_owned()
}

/// The last collision counter written in a name, `(N)` with one to six digits wherever it
/// stands: the finer key of a slice that one [`slice_key`] fills (`unnamed.jpg`,
/// `unnamed(1).jpg` … are all `unnamed`), which is matched in parts of counters
/// (scan/matching.rs). A media name's and a sidecar file's name (not its title) agree on it
/// for every pairing the rules make: `X(N).jpg` with `X.jpg(N).json`,
/// `X.jpg.supplemental-metadata(N).json` and `X(N).jpg.json`; a title's own `(N)`
/// (`X(1).jpg`, its sidecar `X(1).jpg.supplemental-metadata.json`); an edit or a companion
/// and its original (`X(N)-edited.jpg`, `X-edited(N).jpg`, `X(N).MP4` with `X(N).jpg`); the
/// corners where they do not are in scan/crowded.rs.
pub fn last_counter(name: &str) -> Option<u32> {
    counters_in(name).last()
}

/// Every counter written in `name`, `(N)` with one to six digits (as [`strip_counter`]
/// reads one), wherever it stands, in order.
pub fn counters_in(name: &str) -> impl Iterator<Item = u32> + '_ {
    name.match_indices('(').filter_map(move |(at, _)| {
        let rest = &name[at + 1..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        ((1..=6).contains(&digits) && rest[digits..].starts_with(')'))
            .then(|| rest[..digits].parse().ok())
            .flatten()
    })
}

/// A name without what tells related names apart beyond their counter: folded in lower case,
/// without a media extension and its collision counters (`unnamed(1)(2).JPG` → `unnamed`).
/// The last resort of a slice that one key and one counter fill, which only a hostile or
/// broken export has: names of one stem are matched together, so a file still finds the
/// sidecar titled as it is named, but an edit, a companion or a clipped name may not find
/// its original's.
pub fn plain_stem(name: &str) -> String {
    let (base, ext) = split_ext(name);
    let mut stem = if is_media_ext(ext) { base } else { name };
    while let Some((s, _)) = strip_counter(stem) {
        stem = s;
    }
    fold_key(&stem.to_lowercase())
}

fn ext_in(ext: &str, list: &[&str]) -> bool {
    let e = ext.strip_prefix('.').unwrap_or(ext);
    list.iter().any(|x| x.eq_ignore_ascii_case(e))
}

/// Whether `ext` (with or without its dot) is a known photo or video extension.
pub fn is_media_ext(ext: &str) -> bool {
    ext_in(ext, MEDIA_EXTS)
}

/// Whether `ext` is the extension of a still that can have a live/motion companion.
pub fn is_still_ext(ext: &str) -> bool {
    ext_in(ext, STILL_EXTS)
}

/// Whether a file with this name can be the video half of a live/motion photo: an `.MP4`/`.MOV`,
/// or a name whose "extension" is no media type at all (`PXL_….MP`, `MVIMG_…`, `IMG_4573`).
pub fn is_companion_candidate(name: &str) -> bool {
    let (_, ext) = split_ext(name);
    ext.is_empty()
        || ext_in(ext, VIDEO_EXTS)
        || !is_media_ext(ext)
        || ext.eq_ignore_ascii_case(".mp")
}

/// Names of the stills a companion video may belong to, most specific first: `X.MP` → `X.MP.jpg`,
/// `IMG_4573.MP4` → `IMG_4573.HEIC`, `MVIMG_x` → `MVIMG_x.jpg`. Compare case-insensitively.
pub fn still_names_for_companion(name: &str) -> Vec<String> {
    let (base, ext) = split_ext(name);
    let mut out = Vec::new();
    let mut push = |stem: &str| {
        for e in STILL_EXTS {
            out.push(format!("{stem}.{e}"));
        }
    };
    if ext.is_empty() || !is_media_ext(ext) || ext.eq_ignore_ascii_case(".mp") {
        push(name);
    }
    if !ext.is_empty() && (ext_in(ext, VIDEO_EXTS) || !is_media_ext(ext)) {
        push(base);
    }
    out
}

/// Strips an edited-variant suffix (§4.7) from a media base (counter already removed). A suffix
/// cut by the 47-unit truncation (`-ha edit`, `-bearb`) is accepted when `base` has exactly the
/// truncated length and at least two characters of the suffix survive.
pub fn strip_edited_suffix(base: &str) -> Option<&str> {
    for s in EDITED_SUFFIXES {
        if let Some(orig) = base.strip_suffix(s)
            && !orig.is_empty()
        {
            return Some(orig);
        }
    }
    let len = utf16_len(base);
    if len != MEDIA_BASE_UNITS && len != MEDIA_BASE_UNITS + 1 {
        return None;
    }
    let mut best: Option<&str> = None;
    for s in EDITED_SUFFIXES {
        let chars: Vec<(usize, char)> = s.char_indices().collect();
        for cut in (2..chars.len()).rev() {
            let prefix = &s[..chars[cut].0];
            if let Some(orig) = base.strip_suffix(prefix)
                && !orig.is_empty()
            {
                // Prefer the longest surviving suffix (shortest original base).
                if best.is_none_or(|b| orig.len() < b.len()) {
                    best = Some(orig);
                }
                break;
            }
        }
    }
    best
}

/// Whether `suffix` (what follows the `-` of an edited variant) looks like a word of some
/// language: letters (any script, with combining accents), inner spaces and apostrophes, no
/// digits or other signs. `2` in `IMG-2.jpg` or `1(1)` are not words; `redigeret`, `ha editado`,
/// `編集済み`, and a suffix cut by the 47-unit truncation (`szerkesz`) are.
pub fn is_word_suffix(suffix: &str) -> bool {
    let ok_char = |c: char| {
        c.is_alphabetic() || c == ' ' || c == '\'' || ('\u{300}'..='\u{36f}').contains(&c)
    };
    !suffix.is_empty()
        && !suffix.starts_with(' ')
        && suffix.chars().all(ok_char)
        && suffix.chars().any(char::is_alphabetic)
}

/// Readings of a media name as `NAME-SUFFIX[(N)].EXT`, an edited variant whose suffix is in no
/// table (§4.7: the set is open): `(original name, "-SUFFIX")`, the original being
/// `NAME[(N)].EXT` (Google puts the counter after the suffix: `X(1)-editat(1).jpg` is the edit of
/// `X(1)(1).jpg`). Only the last `-` splits, and only a word-like suffix counts. Whether such a
/// file really is an edit is the matcher's decision (the original must be beside it and have a
/// sidecar, the file none of its own).
pub fn inferred_edit_readings(name: &str) -> Vec<(String, String)> {
    let (b0, ext) = split_ext(name);
    let mut readings: Vec<(&str, Option<u32>)> = vec![(b0, None)];
    if let Some((b1, k)) = strip_counter(b0) {
        readings.push((b1, Some(k)));
    }
    let mut out = Vec::new();
    for (base, counter) in readings {
        let Some(dash) = base.rfind('-') else {
            continue;
        };
        let (orig, suffix) = (&base[..dash], &base[dash + 1..]);
        if orig.is_empty() || orig.ends_with(' ') || !is_word_suffix(suffix) {
            continue;
        }
        out.push((
            format!("{orig}{}{ext}", counter_text(counter)),
            format!("-{suffix}"),
        ));
    }
    out
}

/// Whether two extensions name the same kind of media (both videos, or both stills): an edit
/// keeps the kind (a HEIC may be saved as a JPEG, a photo never becomes a video).
pub fn same_media_kind(a: &str, b: &str) -> bool {
    const VIDEO: &[&str] = &[
        "mp4", "mov", "m4v", "3gp", "3g2", "avi", "mkv", "webm", "mpg", "mpeg", "mts", "m2ts",
        "wmv", "flv",
    ];
    is_media_ext(a) && is_media_ext(b) && ext_in(a, VIDEO) == ext_in(b, VIDEO)
}

/// Whether a media base carries a creation suffix (collage, animation, movie …).
pub fn has_creation_suffix(base: &str) -> bool {
    let base = strip_counter(base).map_or(base, |(b, _)| b);
    CREATION_SUFFIXES
        .iter()
        .any(|s| base.len() > s.len() && base.ends_with(s))
}

/// The sidecar-name shape found for a title (see [`crate::MatchRule`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StemStyle {
    /// `title[:46]`: the old generation, or either generation when the title has ≥ 46 units.
    Legacy,
    /// `title.supplemental-metadata`, complete and within 46 units.
    Supplemental,
    /// `(title.supplemental-metadata)[:46]` with the suffix cut (down to an empty `..json`).
    SupplementalClipped,
    /// A prefix of `title.supplemental-metadata` longer than 46 units (2026 exports).
    SupplementalUnclipped,
}

/// Classifies a sidecar stem `stem` (name without `(N)` and `.json`) against the string `title`
/// it was derived from. `None` when the stem cannot come from that title.
pub fn classify_stem(stem: &str, title: &str) -> Option<StemStyle> {
    let legacy = clips(title, SIDECAR_STEM_UNITS);
    if legacy.iter().any(|l| relaxed_eq(stem, l)) {
        return Some(StemStyle::Legacy);
    }
    let full = format!("{title}{SUPPLEMENTAL}");
    if !relaxed_starts_with(&full, stem) {
        return None;
    }
    let len = utf16_len(stem);
    if len < utf16_len(legacy[0]) {
        return None;
    }
    let limit = utf16_len(clip_utf16(&full, SIDECAR_STEM_UNITS, true));
    if len == utf16_len(&full) {
        if len <= limit {
            Some(StemStyle::Supplemental)
        } else {
            Some(StemStyle::SupplementalUnclipped)
        }
    } else if len <= limit {
        Some(StemStyle::SupplementalClipped)
    } else {
        Some(StemStyle::SupplementalUnclipped)
    }
}

/// Parsed part file name: `takeout-20250921T101010Z-001.zip` or `takeout-20250921T101010Z-3-009.tgz`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartName {
    /// `takeout-20250921T101010Z`.
    pub export_id: String,
    /// The extra segment of 2025+ names (`3` in `-3-009`).
    pub segment: Option<u32>,
    /// The part number (`9` in `-3-009`).
    pub number: u32,
}

/// Parses a part's file name (browser suffixes such as ` (1)` are tolerated).
pub fn parse_part_name(file_name: &str) -> Option<PartName> {
    let rest = file_name.strip_prefix("takeout-")?;
    let ts = rest.get(..16)?;
    let b = ts.as_bytes();
    let ok = b[..8].iter().all(u8::is_ascii_digit)
        && b[8] == b'T'
        && b[9..15].iter().all(u8::is_ascii_digit)
        && b[15] == b'Z';
    if !ok {
        return None;
    }
    let tail = rest[16..].strip_prefix('-')?;
    let tail = tail.split('.').next()?;
    let tail = tail.split(' ').next()?;
    let nums: Vec<&str> = tail.split('-').collect();
    let parse = |s: &str| -> Option<u32> {
        if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
            None
        } else {
            s.parse().ok()
        }
    };
    let (segment, number) = match nums.as_slice() {
        [n] => (None, parse(n)?),
        [s, n] => (Some(parse(s)?), parse(n)?),
        _ => return None,
    };
    Some(PartName {
        export_id: format!("takeout-{ts}"),
        segment,
        number,
    })
}

/// Finds e-mail addresses in `text` (a small hand-written scanner, no regex).
pub fn find_emails(text: &str) -> Vec<String> {
    let is_local = |c: char| c.is_ascii_alphanumeric() || "._%+-".contains(c);
    let is_domain = |c: char| c.is_ascii_alphanumeric() || ".-".contains(c);
    let mut out = Vec::new();
    for (at, _) in text.match_indices('@') {
        let start = text[..at]
            .char_indices()
            .rev()
            .take_while(|(_, c)| is_local(*c))
            .last()
            .map(|(i, _)| i);
        let Some(start) = start else { continue };
        let end = text[at + 1..]
            .char_indices()
            .take_while(|(_, c)| is_domain(*c))
            .last()
            .map(|(i, c)| at + 1 + i + c.len_utf8());
        let Some(end) = end else { continue };
        let local = text[start..at].trim_start_matches('.');
        let domain = text[at + 1..end].trim_end_matches(['.', '-']);
        let Some(dot) = domain.rfind('.') else {
            continue;
        };
        let tld = &domain[dot + 1..];
        if local.is_empty() || tld.len() < 2 || !tld.chars().all(|c| c.is_ascii_alphabetic()) {
            continue;
        }
        out.push(format!("{local}@{domain}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slice_keys_are_what_related_names_begin_with() {
        for (name, key) in [
            ("IMG_7.jpg", "img_7"),
            ("IMG_7(1).jpg", "img_7"),
            ("IMG_7-edited.jpg", "img_7"),
            ("img_7-redigeret(2).JPG", "img_7"),
            ("IMG_7", "img_7"),
            ("IMG_70.jpg", "img_70"),
            ("IMG-2.jpg", "img-2"),
            ("IMG-2-edited.jpg", "img-2"),
            ("A-", "a"),
            ("PXL_20230101_123456789.MP.jpg", "pxl_20230101_123456789"),
            ("Tom & Jerry?.jpg", "tom _ jerry_"),
            ("Tom _ Jerry_.jpg", "tom _ jerry_"),
            (".hidden.jpg", ""),
            ("2023-01-01 12.00.00.jpg", "2023-01-01 12"),
        ] {
            assert_eq!(slice_key(name), key, "{name}");
        }
        // Only the first 32 units count: a title and its media name clipped at 47 agree.
        let title = format!("{}-5abc.jpg", "N".repeat(46));
        let media = format!("{}-.jpg", "N".repeat(46));
        assert_eq!(slice_key(&title), "n".repeat(32));
        assert_eq!(slice_key(&title), slice_key(&media));
        // Names equal in lower case, which the matcher looks originals and stills up by, have
        // one key: a final sigma, a capital I with a dot (two units in lower case).
        for (a, b) in [
            ("ΟΔΟΣ 1.jpg", "Οδος 1.jpg"),
            ("ΟΔΟΣ.jpg", "οδος.jpg"),
            (
                format!("İ{}.jpg", "x".repeat(31)).as_str(),
                format!("i\u{307}{}.MP4", "x".repeat(31)).as_str(),
            ),
        ] {
            assert_eq!(slice_key(a), slice_key(b), "{a} {b}");
        }
    }

    /// The finer keys of a slice filled by one key: the counter a media name and its
    /// sidecar's file name (or an edit, a companion and its original) both carry, and the
    /// stem of a file and its sidecar's title.
    #[test]
    fn names_paired_have_one_counter_and_one_plain_stem() {
        for (a, b, k) in [
            ("unnamed(7).jpg", "unnamed.jpg(7).json", Some(7)),
            (
                "unnamed(7).jpg",
                "unnamed.jpg.supplemental-metadata(7).json",
                Some(7),
            ),
            (
                "unnamed(7).jpg",
                "unnamed.jpg.supplemental-me(7).json",
                Some(7),
            ),
            ("unnamed(7).jpg", "unnamed(7).jpg.json", Some(7)),
            ("X(1).jpg", "X(1).jpg.supplemental-metadata.json", Some(1)),
            ("X(1)(2).jpg", "X(1).jpg(2).json", Some(2)),
            ("X(3)-edited.jpg", "X(3).jpg", Some(3)),
            ("X-edited(3).jpg", "X(3).jpg", Some(3)),
            ("X(3).MP4", "X(3).HEIC", Some(3)),
            ("X.jpg", "X.jpg.json", None),
            ("X(1234567).jpg", "X(12a).jpg", None),
        ] {
            assert_eq!(last_counter(a), k, "{a}");
            assert_eq!(last_counter(b), k, "{b}");
        }
        for (file, title) in [
            ("unnamed(7).JPG", "unnamed.jpg"),
            ("X(1)(2).jpg", "X(1).jpg"),
            ("2023.01.01 Trip(4).jpg", "2023.01.01 Trip.jpg"),
            ("20030616.jpg", "20030616"),
            ("Tom _ Jerry_(2).png", "Tom & Jerry?.png"),
        ] {
            assert_eq!(plain_stem(file), plain_stem(title), "{file} {title}");
        }
        assert_ne!(plain_stem("a.1.jpg"), plain_stem("a.2.jpg"));
    }

    #[test]
    fn utf16_clip_keeps_whole_chars() {
        let s = format!("ab{}", "🎉".repeat(30));
        assert_eq!(utf16_len(&s), 62);
        let c46 = clip_utf16(&s, 46, false);
        assert_eq!(utf16_len(c46), 46);
        assert_eq!(c46.chars().count(), 24);
        assert_eq!(clip_utf16(&s, 46, true), c46);
        assert_eq!(utf16_len(clip_utf16(&s, 47, true)), 48);
        assert_eq!(utf16_len(clip_utf16(&s, 47, false)), 46);
        assert_eq!(clip_utf16("short", 47, true), "short");
        assert_eq!(clip_utf16("éééé", 2, false), "éé");
    }

    #[test]
    fn split_and_counters() {
        assert_eq!(split_ext("IMG_1.JPG"), ("IMG_1", ".JPG"));
        assert_eq!(split_ext("20030616"), ("20030616", ""));
        assert_eq!(split_ext("PXL_1.MP"), ("PXL_1", ".MP"));
        assert_eq!(split_ext(".hidden"), (".hidden", ""));
        assert_eq!(strip_counter("IMG_3479(2)"), Some(("IMG_3479", 2)));
        assert_eq!(strip_counter("CLIP0001(10)"), Some(("CLIP0001", 10)));
        assert_eq!(
            strip_counter("Negative0-36-35(1)(1)"),
            Some(("Negative0-36-35(1)", 1))
        );
        assert_eq!(strip_counter("(1)"), None);
        assert_eq!(strip_counter("IMG(x)"), None);
        assert_eq!(strip_counter("IMG()"), None);
        assert_eq!(strip_counter("IMG"), None);
        assert_eq!(counter_text(Some(3)), "(3)");
        assert_eq!(counter_text(None), "");
    }

    #[test]
    fn replaced_characters_compare_equal() {
        assert!(relaxed_eq("27_06_12 - 1", "27/06/12 - 1"));
        assert!(relaxed_eq("Tom _ Jerry_", "Tom & Jerry?"));
        assert!(!relaxed_eq("Tom _ Jerry", "Tom + Jerry"));
        assert!(relaxed_starts_with("a/b.jpg", "a_b"));
        assert!(!relaxed_starts_with("ab", "abc"));
        assert_eq!(fold_key("a/b?c"), "a_b_c");
    }

    #[test]
    fn edited_suffixes_all_languages_and_truncated() {
        for s in EDITED_SUFFIXES {
            let base = format!("IMG_1{s}");
            assert_eq!(strip_edited_suffix(&base), Some("IMG_1"), "{s}");
        }
        // `-ha editado` cut by the 47-unit truncation.
        let orig = "A".repeat(42);
        let cut = format!("{orig}-ha e");
        assert_eq!(utf16_len(&cut), 47);
        assert_eq!(strip_edited_suffix(&cut), Some(orig.as_str()));
        let orig2 = "B".repeat(39);
        let cut2 = format!("{orig2}-ha edit");
        assert_eq!(strip_edited_suffix(&cut2), Some(orig2.as_str()));
        // A short name ending in a suffix fragment is no edited variant.
        assert_eq!(strip_edited_suffix("IMG_1-ha e"), None);
        assert_eq!(strip_edited_suffix("-edited"), None);
    }

    #[test]
    fn word_suffixes_and_inferred_readings() {
        for w in [
            "redigeret",
            "muokattu",
            "upraveno",
            "szerkesztett",
            "ha editado",
            "編集済み",
            "modifie\u{301}",
            "l'edit",
        ] {
            assert!(is_word_suffix(w), "{w}");
        }
        for w in ["2", "", "1(1)", "v2", " x", "edit_1", "a.b"] {
            assert!(!is_word_suffix(w), "{w}");
        }
        assert_eq!(
            inferred_edit_readings("IMG_1-redigeret.jpg"),
            vec![("IMG_1.jpg".to_string(), "-redigeret".to_string())]
        );
        // Counter after the suffix: the original carries it.
        assert_eq!(
            inferred_edit_readings("Neg0-36-35(1)-muokattu(1).jpg"),
            vec![("Neg0-36-35(1)(1).jpg".to_string(), "-muokattu".to_string())]
        );
        assert!(inferred_edit_readings("IMG-2.jpg").is_empty());
        assert!(inferred_edit_readings("IMG_2.jpg").is_empty());
        assert!(inferred_edit_readings("-edited.jpg").is_empty());
        assert!(same_media_kind(".HEIC", ".jpg"));
        assert!(same_media_kind(".MP4", ".mov"));
        assert!(!same_media_kind(".jpg", ".mp4"));
        assert!(!same_media_kind(".jpg", ".MP"));
    }

    #[test]
    fn creation_suffixes() {
        assert!(has_creation_suffix("IMG_1-COLLAGE"));
        assert!(has_creation_suffix("IMG_1-ANIMATION(1)"));
        assert!(has_creation_suffix("x-effects"));
        assert!(!has_creation_suffix("IMG_1"));
        assert!(!has_creation_suffix("-MOVIE"));
    }

    #[test]
    fn companions() {
        assert!(is_companion_candidate("IMG_4573.MP4"));
        assert!(is_companion_candidate("IMG_4573.MOV"));
        assert!(is_companion_candidate("PXL_20230101_123456789.MP"));
        assert!(is_companion_candidate("PXL_20230101_123456789.MP~2"));
        assert!(is_companion_candidate("IMG_4573"));
        assert!(!is_companion_candidate("IMG_4573.HEIC"));
        assert!(!is_companion_candidate("IMG_4573.jpg"));
        let s = still_names_for_companion("PXL_1.MP");
        assert!(s.contains(&"PXL_1.MP.jpg".to_string()));
        let s = still_names_for_companion("PXL_1.MP~2");
        assert!(s.contains(&"PXL_1.MP~2.jpg".to_string()));
        let s = still_names_for_companion("IMG_4573.MP4");
        assert!(s.contains(&"IMG_4573.heic".to_string()));
        let s = still_names_for_companion("MVIMG_1");
        assert!(s.contains(&"MVIMG_1.jpg".to_string()));
        assert!(is_still_ext(".HEIC"));
        assert!(is_media_ext("JPG"));
        assert!(!is_media_ext(".NIGHT"));
    }

    #[test]
    fn stem_styles() {
        use StemStyle::*;
        assert_eq!(classify_stem("IMG_1.jpg", "IMG_1.jpg"), Some(Legacy));
        assert_eq!(
            classify_stem(
                "20161105_170829.jpg.supplemental-metadata",
                "20161105_170829.jpg"
            ),
            Some(Supplemental)
        );
        assert_eq!(
            classify_stem(
                "MVIMG_20191230_232926.jpg.supplemental-metadat",
                "MVIMG_20191230_232926.jpg"
            ),
            Some(SupplementalClipped)
        );
        let t = "a".repeat(45);
        assert_eq!(
            classify_stem(&format!("{t}."), &t),
            Some(SupplementalClipped)
        );
        let long = "c".repeat(40);
        assert_eq!(
            classify_stem(
                &format!("{long}.jpg.supplemental-metadata"),
                &format!("{long}.jpg")
            ),
            Some(SupplementalUnclipped)
        );
        assert_eq!(classify_stem("IMG_1.j", "IMG_1.jpg"), None);
        assert_eq!(classify_stem("IMG_2.jpg", "IMG_1.jpg"), None);
    }

    #[test]
    fn part_names() {
        let p = parse_part_name("takeout-20250921T101010Z-001.zip").unwrap();
        assert_eq!(p.export_id, "takeout-20250921T101010Z");
        assert_eq!((p.segment, p.number), (None, 1));
        let p = parse_part_name("takeout-20250921T101010Z-3-009.tgz").unwrap();
        assert_eq!((p.segment, p.number), (Some(3), 9));
        let p = parse_part_name("takeout-20250921T101010Z-002 (1).zip").unwrap();
        assert_eq!(p.number, 2);
        assert!(parse_part_name("takeout-2025.zip").is_none());
        assert!(parse_part_name("photos.zip").is_none());
        assert!(parse_part_name("takeout-20250921X101010Z-001.zip").is_none());
    }

    #[test]
    fn emails() {
        assert_eq!(
            find_emails("<p>Archive for jane.doe+x@gmail.com.</p> and a@b"),
            vec!["jane.doe+x@gmail.com".to_string()]
        );
        assert!(find_emails("no address @ here").is_empty());
    }
}
