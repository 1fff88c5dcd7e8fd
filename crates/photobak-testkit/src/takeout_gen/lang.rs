//! Localised names Google uses in a Photos Takeout (google.md §4.2, §4.3, §4.7).

/// Interface language of the exporting account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    En,
    De,
    Fr,
    It,
    Es,
    Pl,
    Cs,
    Ru,
    Bg,
    Ca,
    Ja,
}

impl Lang {
    /// All languages, for seeded choices.
    pub const ALL: [Lang; 11] = [
        Lang::En,
        Lang::De,
        Lang::Fr,
        Lang::It,
        Lang::Es,
        Lang::Pl,
        Lang::Cs,
        Lang::Ru,
        Lang::Bg,
        Lang::Ca,
        Lang::Ja,
    ];

    /// The Photos folder under `Takeout/`.
    pub fn product(self) -> &'static str {
        match self {
            Lang::En | Lang::Fr => "Google Photos",
            Lang::De | Lang::Es | Lang::Ca => "Google Fotos",
            Lang::It => "Google Foto",
            Lang::Pl => "Zdjęcia Google",
            Lang::Cs => "Fotky Google",
            Lang::Ru => "Google Фото",
            Lang::Bg => "Google Снимки",
            Lang::Ja => "Google フォト",
        }
    }

    /// The year folder (`Photos from 2019`; stayed English in a Polish export).
    pub fn year_folder(self, year: i32) -> String {
        match self {
            Lang::De => format!("Fotos von {year}"),
            Lang::Es => format!("Fotos del {year}"),
            _ => format!("Photos from {year}"),
        }
    }

    pub fn archive(self) -> &'static str {
        match self {
            Lang::De | Lang::Cs => "Archiv",
            Lang::It => "Archivio",
            Lang::Es => "Archivo",
            Lang::Pl => "Archiwum",
            Lang::Ru | Lang::Bg => "Архив",
            _ => "Archive",
        }
    }

    pub fn trash(self) -> &'static str {
        match self {
            Lang::En => "Bin",
            Lang::De => "Papierkorb",
            Lang::Fr => "Corbeille",
            Lang::It => "Cestino",
            Lang::Es | Lang::Ca => "Papelera",
            Lang::Pl => "Kosz",
            Lang::Cs => "Koš",
            Lang::Ru => "Корзина",
            _ => "Trash",
        }
    }

    pub fn failed_videos(self) -> &'static str {
        match self {
            Lang::De => "Fehlgeschlagene Videos",
            Lang::Fr => "Vidéos en échec",
            Lang::It => "Video non riusciti",
            Lang::Es => "Vídeos con errores",
            Lang::Pl => "Nieudane filmy",
            _ => "Failed Videos",
        }
    }

    /// The Locked Folder as the apps name it (unverified in exports).
    pub fn locked_folder(self) -> &'static str {
        match self {
            Lang::De => "Gesperrter Ordner",
            Lang::Fr => "Dossier verrouillé",
            Lang::It => "Cartella bloccata",
            Lang::Es => "Carpeta bloqueada",
            Lang::Ru => "Заблокированная папка",
            _ => "Locked Folder",
        }
    }

    /// Base name of untitled album folders (`Untitled(1)`).
    pub fn untitled(self) -> &'static str {
        match self {
            Lang::Fr => "Sans titre",
            Lang::De => "Unbenannt",
            Lang::It => "Senza titolo",
            Lang::Es => "Sin título",
            Lang::Pl => "Bez tytułu",
            Lang::Ru => "Без названия",
            _ => "Untitled",
        }
    }

    /// The suffix of Google's editor output.
    pub fn edited_suffix(self) -> &'static str {
        match self {
            Lang::En | Lang::Cs | Lang::Bg | Lang::Ru => "-edited",
            Lang::De => "-bearbeitet",
            Lang::Fr => "-modifié",
            Lang::It => "-modificato",
            Lang::Es => "-ha editado",
            Lang::Pl => "-edytowane",
            Lang::Ca => "-editat",
            Lang::Ja => "-編集済み",
        }
    }

    /// The album metadata file name of older exports.
    pub fn old_metadata_name(self) -> &'static str {
        match self {
            Lang::Fr => "métadonnées.json",
            Lang::It => "metadati.json",
            Lang::De => "Metadaten.json",
            Lang::Ru => "метаданные.json",
            Lang::Bg => "метаданни.json",
            _ => "metadata.json",
        }
    }

    pub fn archive_browser(self) -> &'static str {
        match self {
            Lang::Pl => "przeglądarka_archiwum.html",
            _ => "archive_browser.html",
        }
    }

    /// The localised `formatted` text of a timestamp (never parsed by readers).
    pub fn formatted(self, epoch: i64) -> String {
        let (y, mo, d, h, mi, s) = civil(epoch);
        let m = (mo - 1) as usize;
        match self {
            Lang::Fr => {
                const M: [&str; 12] = [
                    "janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.",
                    "oct.", "nov.", "déc.",
                ];
                format!("{d} {} {y}, {h:02}:{mi:02}:{s:02} UTC", M[m])
            }
            Lang::Pl => {
                const M: [&str; 12] = [
                    "sty", "lut", "mar", "kwi", "maj", "cze", "lip", "sie", "wrz", "paź", "lis",
                    "gru",
                ];
                format!("{d} {} {y}, {h:02}:{mi:02}:{s:02} UTC", M[m])
            }
            Lang::De | Lang::Cs | Lang::Ru | Lang::Bg => {
                format!("{d:02}.{mo:02}.{y}, {h:02}:{mi:02}:{s:02} UTC")
            }
            _ => {
                const M: [&str; 12] = [
                    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
                    "Dec",
                ];
                let (h12, ampm) = match h {
                    0 => (12, "AM"),
                    1..=11 => (h, "AM"),
                    12 => (12, "PM"),
                    _ => (h - 12, "PM"),
                };
                format!("{} {d}, {y}, {h12}:{mi:02}:{s:02} {ampm} UTC", M[m])
            }
        }
    }
}

/// UTC civil time of an epoch second: (year, month, day, hour, minute, second).
pub fn civil(epoch: i64) -> (i64, i64, i64, i64, i64, i64) {
    let days = epoch.div_euclid(86_400);
    let secs = epoch.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d, secs / 3600, secs % 3600 / 60, secs % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatted_styles() {
        // 2020-09-20T10:46:09Z
        let t = 1_600_598_769;
        assert_eq!(civil(t), (2020, 9, 20, 10, 46, 9));
        assert_eq!(Lang::En.formatted(t), "Sep 20, 2020, 10:46:09 AM UTC");
        assert_eq!(Lang::Fr.formatted(t), "20 sept. 2020, 10:46:09 UTC");
        assert_eq!(Lang::De.formatted(t), "20.09.2020, 10:46:09 UTC");
        assert_eq!(
            Lang::Pl.formatted(1_613_314_341),
            "14 lut 2021, 14:52:21 UTC"
        );
    }
}
