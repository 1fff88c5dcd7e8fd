//! Portable file and folder names.
//!
//! A repository made on Linux must copy to Windows, macOS or an exFAT disk unchanged, so names
//! follow the strictest of them: no `< > : " / \ | ? *` or control characters, no trailing dots
//! or spaces, no reserved device names (`CON`, `NUL`, `COM1`…), at most 255 bytes. The extension
//! survives shortening, and collisions get a numbered suffix ` (2)`, ` (3)`… whose order the
//! index decides, so the same library always yields the same tree.

/// The key under which a repository-relative path names one file on macOS (APFS, HFS+) and
/// Windows (NTFS, exFAT): Unicode NFC (a Mac writes `Cafe\u{301}`, Windows `Caf\u{e9}`: one
/// name there, two on Linux) and case folded (`Été` and `été`). Two stored files must never
/// share one, or copying the repository to such a disk would make one overwrite the other.
pub fn portable_key(path: &str) -> String {
    icu_normalizer::ComposingNormalizerBorrowed::new_nfc()
        .normalize(path)
        .to_lowercase()
}

/// Longest name we produce, in bytes (the common limit of ext4, NTFS, APFS and exFAT).
pub const MAX_NAME_BYTES: usize = 255;

const RESERVED: &[&str] = &[
    "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8",
    "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
];

/// Makes one path component portable. `5:5.jpg` becomes `55.jpg`; an empty result becomes
/// `fallback`.
pub fn sanitize(name: &str, fallback: &str) -> String {
    let cleaned: String = name
        .chars()
        .filter(|c| !matches!(c, '<' | '>' | ':' | '"' | '/' | '\\' | '|' | '?' | '*'))
        .filter(|c| !c.is_control())
        .collect();
    let trimmed = cleaned.trim().trim_end_matches(['.', ' ']).to_string();
    let mut out = if trimmed.is_empty() || trimmed == "." || trimmed == ".." {
        fallback.to_string()
    } else {
        trimmed
    };
    // Shortening trims dots and spaces at the end of the stem, which can turn `NUL  ..q` into
    // `NUL.q`: the reserved-name check looks at the final name (found by fuzzing the API
    // parsers; hostile names guarantee).
    out = shorten(&out, "");
    let stem_upper = out
        .split('.')
        .next()
        .unwrap_or("")
        .trim_end_matches(' ')
        .to_ascii_uppercase();
    let lower = out.to_ascii_lowercase();
    // Device names, and the names photobak itself writes next to media files.
    if RESERVED.contains(&stem_upper.as_str()) || lower == "others.txt" || lower.ends_with(".xmp") {
        out.insert(0, '_');
        out = shorten(&out, "");
    }
    out
}

/// Splits `name` into stem and extension (with its dot). Names without a dot, or whose only dot
/// is the first character, have no extension.
pub fn split_ext(name: &str) -> (&str, &str) {
    match name.rfind('.') {
        Some(i) if i > 0 && name.len() - i <= 16 => (&name[..i], &name[i..]),
        _ => (name, ""),
    }
}

/// The `n`-th candidate for a name: `n == 1` is the name itself, then `stem (n).ext`.
pub fn numbered(name: &str, n: u32) -> String {
    if n <= 1 {
        return name.to_string();
    }
    shorten(name, &format!(" ({n})"))
}

/// The `n`-th candidate for a folder name: the suffix goes at the end (a folder has no
/// extension: `Trip 2019.05 (2)`, not `Trip 2019 (2).05`).
pub fn numbered_folder(name: &str, n: u32) -> String {
    if n <= 1 {
        return name.to_string();
    }
    let suffix = format!(" ({n})");
    let mut cut = name.len().min(MAX_NAME_BYTES - suffix.len());
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{suffix}", name[..cut].trim_end_matches(['.', ' ']))
}

/// Inserts `suffix` before the extension, shortening the stem so the whole stays within
/// [`MAX_NAME_BYTES`] and the extension is kept.
fn shorten(name: &str, suffix: &str) -> String {
    let (stem, ext) = split_ext(name);
    let budget = MAX_NAME_BYTES.saturating_sub(ext.len() + suffix.len());
    let mut cut = stem.len().min(budget);
    while !stem.is_char_boundary(cut) {
        cut -= 1;
    }
    let stem = stem[..cut].trim_end_matches(['.', ' ']);
    format!("{stem}{suffix}{ext}")
}

/// The account folder name, as the original photobak made it: lower-cased, `@` → `_at_`,
/// `+` → `_`, then made portable.
pub fn account_folder_name(address: &str) -> String {
    let mapped = address
        .to_lowercase()
        .replace('@', "_at_")
        .replace('+', "_");
    sanitize(&mapped, "account")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_windows_forbidden_characters() {
        assert_eq!(sanitize("5:5.jpg", "x"), "55.jpg");
        assert_eq!(sanitize("a<b>c|d?e*f\"g.png", "x"), "abcdefg.png");
        assert_eq!(sanitize("27/06/12 - 1.mov", "x"), "270612 - 1.mov");
    }

    #[test]
    fn handles_empty_dots_and_reserved_names() {
        assert_eq!(sanitize("", "untitled"), "untitled");
        assert_eq!(sanitize("...", "untitled"), "untitled");
        assert_eq!(sanitize("Trip. ", "x"), "Trip");
        assert_eq!(sanitize("CON.jpg", "x"), "_CON.jpg");
        assert_eq!(sanitize("nul", "x"), "_nul");
        assert_eq!(sanitize("others.txt", "x"), "_others.txt");
        assert_eq!(sanitize("IMG_1.jpg.XMP", "x"), "_IMG_1.jpg.XMP");
        // Reserved only once shortening trimmed the stem (a fuzzer find).
        assert_eq!(sanitize("NUL\0 .. ..q", "x"), "_NUL.q");
        assert_eq!(sanitize("others .txt", "x"), "_others.txt");
    }

    #[test]
    fn long_names_keep_extension_and_fit() {
        let long = format!("{}.jpeg", "é".repeat(300));
        let s = sanitize(&long, "x");
        assert!(s.len() <= MAX_NAME_BYTES, "{}", s.len());
        assert!(s.ends_with(".jpeg"));
        let n = numbered(&s, 12);
        assert!(n.len() <= MAX_NAME_BYTES);
        assert!(n.ends_with(" (12).jpeg"), "{n}");
    }

    #[test]
    fn numbered_suffix_goes_before_extension() {
        assert_eq!(numbered("IMG_1.JPG", 1), "IMG_1.JPG");
        assert_eq!(numbered("IMG_1.JPG", 2), "IMG_1 (2).JPG");
        assert_eq!(numbered("Trip to Rome", 3), "Trip to Rome (3)");
        assert_eq!(numbered("archive.tar.gz", 2), "archive.tar (2).gz");
    }

    #[test]
    fn folders_are_numbered_at_the_end() {
        assert_eq!(numbered_folder("Trip 2019.05", 1), "Trip 2019.05");
        assert_eq!(numbered_folder("Trip 2019.05", 2), "Trip 2019.05 (2)");
        assert!(numbered_folder(&"x".repeat(300), 3).len() <= MAX_NAME_BYTES);
    }

    #[test]
    fn account_folders_match_the_original() {
        assert_eq!(
            account_folder_name("You+Photos@Gmail.com"),
            "you_photos_at_gmail.com"
        );
    }
}
