//! The folder layout of a Photos Takeout (§4.2), with localised names.

use std::sync::Arc;

/// What kind of folder a media file sits in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Folder {
    /// `Photos from 2019` (or a localised form).
    Year(i32),
    /// An album folder (also `Untitled(N)`). Every media entry of the folder holds it, so its
    /// names are shared, not copied, behind one pointer: held inline, they made every media
    /// entry of a large export 32 bytes larger, album or not.
    Album(Arc<AlbumFolder>),
    /// `Archive/` (localised): archived items.
    Archive,
    /// `Trash/` or `Bin/` (localised): trashed items.
    Trash,
    /// `Failed Videos/`: videos Google could not process.
    FailedVideos,
    /// `Locked Folder/` (localised): items the user moved to the Locked Folder. google.md §4.2
    /// says its content is not exported [U]; when it is, it is no album.
    LockedFolder,
    /// Anywhere else (files at the top of the Photos folder, nested folders); the folder path
    /// (boxed to its length: every media entry holds a folder).
    Other(Box<str>),
}

/// An album folder's names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlbumFolder {
    pub folder_name: Arc<str>,
    /// From the album metadata JSON when present and non-empty, else the folder name.
    pub title: Arc<str>,
    pub description: Option<Arc<str>>,
}

impl Folder {
    /// An album folder of these names.
    pub fn album(folder_name: &str, title: &str, description: Option<&str>) -> Folder {
        Folder::Album(Arc::new(AlbumFolder {
            folder_name: Arc::from(folder_name),
            title: Arc::from(title),
            description: description.map(Arc::from),
        }))
    }
}

/// Localised names of the Photos product folder under `Takeout/`.
pub const PRODUCT_NAMES: &[&str] = &[
    "Google Photos",
    "Google Foto",
    "Google Fotos",
    "Google Fotó",
    "Google Fotók",
    "Google Fotoğraflar",
    "Google Kuvat",
    "Google Foton",
    "Zdjęcia Google",
    "Fotky Google",
    "Fotografije Google",
    "Google Фото",
    "Google Снимки",
    "Google Φωτογραφίες",
    "Google フォト",
    "Google 相册",
    "Google 相簿",
    "Google 포토",
    "Google Photos (1)",
];

/// Year-folder prefixes: `Photos from 2019`, `Fotos von 2019`, …
const YEAR_PREFIXES: &[&str] = &[
    "Photos from ",
    "Fotos von ",
    "Fotos del ",
    "Fotos de ",
    "Foto del ",
    "Foto dal ",
    "Photos de ",
    "Photos de l'année ",
    "Foto's uit ",
    "Zdjęcia z ",
    "Zdjęcia z roku ",
    "Fotky z roku ",
    "Fotografie z roku ",
    "Фото за ",
    "Фотографии за ",
];

const ARCHIVE_NAMES: &[&str] = &[
    "Archive",
    "Archiv",
    "Archivio",
    "Archivo",
    "Archives",
    "Arquivo",
    "Archiwum",
    "Archief",
    "Архив",
    "Arkiv",
    "Arkisto",
];
const TRASH_NAMES: &[&str] = &[
    "Trash",
    "Bin",
    "Papierkorb",
    "Corbeille",
    "Cestino",
    "Papelera",
    "Lixeira",
    "Lixo",
    "Kosz",
    "Koš",
    "Prullenbak",
    "Корзина",
    "Кошче",
    "Papperskorg",
    "Papirkurv",
    "Roskakori",
];
const FAILED_VIDEO_NAMES: &[&str] = &[
    "Failed Videos",
    "Fehlgeschlagene Videos",
    "Vidéos en échec",
    "Video non riusciti",
    "Vídeos con errores",
    "Vídeos com falha",
    "Nieudane filmy",
    "Mislukte video's",
    "Neúspěšná videa",
    "Неудачные видео",
];
/// Names of the Locked Folder as the apps show it per language. Unverified in exports (Google
/// documents none); they only keep such a folder from becoming an album, and album metadata
/// still wins over them.
const LOCKED_FOLDER_NAMES: &[&str] = &[
    "Locked Folder",
    "Locked folder",
    "Gesperrter Ordner",
    "Dossier verrouillé",
    "Cartella bloccata",
    "Carpeta bloqueada",
    "Pasta trancada",
    "Zablokowany folder",
    "Vergrendelde map",
    "Uzamčená složka",
    "Заблокированная папка",
    "ロックされたフォルダ",
];
/// Localised base names of untitled albums: `Untitled(1)`, `Sans titre(9)`.
pub const UNTITLED_NAMES: &[&str] = &[
    "Untitled",
    "Sans titre",
    "Unbenannt",
    "Senza titolo",
    "Sin título",
    "Sem título",
    "Bez tytułu",
    "Bez názvu",
    "Naamloos",
    "Без названия",
    "Без име",
];

/// Localised names of the archive browser page at the top of `Takeout/`.
pub const ARCHIVE_BROWSER_NAMES: &[&str] = &[
    "archive_browser.html",
    "przeglądarka_archiwum.html",
    "Archivübersicht.html",
    "navigateur_archive.html",
    "browser_archivio.html",
    "navegador_archivo.html",
];

/// Whether `name` is a known localised name of the Photos product folder.
pub fn is_product_name(name: &str) -> bool {
    PRODUCT_NAMES.iter().any(|n| n.eq_ignore_ascii_case(name))
}

/// The year of a year folder named with a known prefix.
pub fn year_of(name: &str) -> Option<i32> {
    YEAR_PREFIXES
        .iter()
        .find_map(|p| name.strip_prefix(p))
        .and_then(parse_year)
}

/// A trailing ` YYYY` (for the content fallback of year detection).
pub fn trailing_year(name: &str) -> Option<i32> {
    let (head, y) = name.rsplit_once(' ')?;
    if head.trim().is_empty() {
        return None;
    }
    parse_year(y)
}

fn parse_year(s: &str) -> Option<i32> {
    if s.len() != 4 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let y: i32 = s.parse().ok()?;
    (1800..=2200).contains(&y).then_some(y)
}

/// Whether `name` is an untitled-album folder (`Untitled(3)`, `Sans titre(9)`).
pub fn is_untitled(name: &str) -> bool {
    match crate::names::strip_counter(name) {
        Some((base, _)) => UNTITLED_NAMES.iter().any(|u| base.trim_end() == *u),
        None => UNTITLED_NAMES.contains(&name),
    }
}

/// The special (non-album) kind of a folder, by its name only.
pub fn special_kind(name: &str) -> Option<Folder> {
    if let Some(y) = year_of(name) {
        return Some(Folder::Year(y));
    }
    if ARCHIVE_NAMES.contains(&name) {
        return Some(Folder::Archive);
    }
    if TRASH_NAMES.contains(&name) {
        return Some(Folder::Trash);
    }
    if FAILED_VIDEO_NAMES.contains(&name) {
        return Some(Folder::FailedVideos);
    }
    if LOCKED_FOLDER_NAMES.contains(&name) {
        return Some(Folder::LockedFolder);
    }
    None
}

/// Classifies a folder directly under the Photos product folder.
///
/// Album metadata wins over every name (a user album may be called `Archive`). Without it, known
/// names decide; then a name ending in a year whose sidecars mostly date from that year is a
/// year folder in an unknown language; everything else is an album named after its folder.
pub fn classify(name: &str, album: Option<(&str, Option<&str>)>, sidecar_years: &[i32]) -> Folder {
    let mut years = SidecarYears::default();
    for &y in sidecar_years {
        years.add(y);
    }
    classify_counted(name, album, &years)
}

/// The capture years of a folder's sidecars, counted: what [`classify_counted`] weighs (a
/// year per sidecar was 4 bytes per sidecar of a folder; distinct years are a few dozen).
#[derive(Debug, Default, Clone)]
pub struct SidecarYears {
    counts: std::collections::BTreeMap<i32, usize>,
    total: usize,
}

impl SidecarYears {
    /// Counts one sidecar taken in `year`.
    pub fn add(&mut self, year: i32) {
        *self.counts.entry(year).or_default() += 1;
        self.total += 1;
    }

    /// Sidecars taken within a year of `year`.
    fn near(&self, year: i32) -> usize {
        self.counts
            .range(year.saturating_sub(1)..=year.saturating_add(1))
            .map(|(_, n)| n)
            .sum()
    }
}

/// [`classify`] with the sidecars' years counted.
pub fn classify_counted(
    name: &str,
    album: Option<(&str, Option<&str>)>,
    sidecar_years: &SidecarYears,
) -> Folder {
    if let Some((title, description)) = album {
        let title = if title.is_empty() { name } else { title };
        return Folder::album(name, title, description);
    }
    if let Some(kind) = special_kind(name) {
        return kind;
    }
    if !is_untitled(name)
        && let Some(y) = trailing_year(name)
    {
        let (near, total) = (sidecar_years.near(y), sidecar_years.total);
        if total > 0 && near * 10 >= total * 9 {
            return Folder::Year(y);
        }
    }
    Folder::album(name, name, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products() {
        for n in [
            "Google Photos",
            "Google Foto",
            "Google Fotos",
            "Zdjęcia Google",
            "Fotky Google",
            "Google Фото",
            "Google Снимки",
        ] {
            assert!(is_product_name(n), "{n}");
        }
        assert!(!is_product_name("Drive"));
    }

    #[test]
    fn years() {
        assert_eq!(year_of("Photos from 2019"), Some(2019));
        assert_eq!(year_of("Fotos von 2020"), Some(2020));
        assert_eq!(year_of("Fotos del 2021"), Some(2021));
        assert_eq!(year_of("Photos from 19"), None);
        assert_eq!(year_of("Summer 2019"), None);
        assert_eq!(trailing_year("Foton från 2018"), Some(2018));
        assert_eq!(trailing_year("2018"), None);
    }

    #[test]
    fn special_folders() {
        assert_eq!(classify("Archive", None, &[]), Folder::Archive);
        assert_eq!(classify("Archiv", None, &[]), Folder::Archive);
        assert_eq!(classify("Trash", None, &[]), Folder::Trash);
        assert_eq!(classify("Bin", None, &[]), Folder::Trash);
        assert_eq!(classify("Papierkorb", None, &[]), Folder::Trash);
        assert_eq!(classify("Failed Videos", None, &[]), Folder::FailedVideos);
        assert_eq!(
            classify("Fehlgeschlagene Videos", None, &[]),
            Folder::FailedVideos
        );
        assert_eq!(classify("Locked Folder", None, &[]), Folder::LockedFolder);
        assert_eq!(
            classify("Gesperrter Ordner", None, &[]),
            Folder::LockedFolder
        );
        assert_eq!(classify("Корзина", None, &[]), Folder::Trash);
        // A user album may carry a special name: its metadata decides.
        assert!(matches!(
            classify("Locked Folder", Some(("Locked Folder", None)), &[]),
            Folder::Album(_)
        ));
        assert_eq!(classify("Photos from 2019", None, &[]), Folder::Year(2019));
    }

    #[test]
    fn albums_win_over_names() {
        let f = classify("Archive", Some(("Archive", Some("mine"))), &[]);
        assert_eq!(f, Folder::album("Archive", "Archive", Some("mine")));
        // Truncated/rewritten folder name: the metadata title is the truth.
        let f = classify(
            "2016-01-05 - _3",
            Some(("2016-01-05 - Genova/Porto", None)),
            &[],
        );
        assert!(matches!(f, Folder::Album(ref a) if &*a.title == "2016-01-05 - Genova/Porto"));
        // Untitled album with an empty metadata title keeps its folder name.
        let f = classify("Sans titre(9)", Some(("", None)), &[]);
        assert!(matches!(f, Folder::Album(ref a) if &*a.title == "Sans titre(9)"));
        let f = classify("Untitled(1)", None, &[2019]);
        assert!(matches!(f, Folder::Album(ref a) if &*a.title == "Untitled(1)"));
        assert!(is_untitled("Untitled(1)"));
        assert!(is_untitled("Sans titre(9)"));
        assert!(!is_untitled("Holiday(1)"));
    }

    #[test]
    fn year_by_content() {
        assert_eq!(
            classify("Foton från 2018", None, &[2018, 2018, 2017]),
            Folder::Year(2018)
        );
        assert!(matches!(
            classify("Foton från 2018", None, &[2010, 2011]),
            Folder::Album(_)
        ));
        assert!(matches!(
            classify("Summer 2018", None, &[]),
            Folder::Album(_)
        ));
    }
}
