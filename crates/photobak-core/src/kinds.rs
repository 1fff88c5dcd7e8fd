//! The small vocabularies the index stores as text, as types: which source delivered an item,
//! what kind of folder an album is, and which year folder an item without an album belongs in.
//! Each is decided here once, so a backup, an import, prune and `list` cannot disagree about
//! them, and each goes in and out of SQLite through `ToSql`/`FromSql`, so a misspelt string
//! cannot reach the index.

use std::fmt;

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use serde::Serialize;

/// Where an item or an album came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The Photos Library API (`backup`).
    Library,
    /// The Photos Picker API (`pick`): items the user chose; it cannot list, so never pruned.
    Picker,
    /// A Google Takeout export (`import takeout`).
    Takeout,
    /// photobak's own: the `Photos from YYYY` folders of items in no album (albums only).
    Derived,
}

impl Source {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Library => "library",
            Source::Picker => "picker",
            Source::Takeout => "takeout",
            Source::Derived => "derived",
        }
    }

    /// The source of a stored name.
    pub fn parse(s: &str) -> Option<Source> {
        Some(match s {
            "library" => Source::Library,
            "picker" => Source::Picker,
            "takeout" => Source::Takeout,
            "derived" => Source::Derived,
            _ => return None,
        })
    }
}

/// What kind of folder an album is: it decides where a file shared by several albums lives
/// (user albums before automatic ones before year folders) and what `list` calls it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlbumKind {
    /// An album the user made.
    User,
    /// An album Google made (Auto Backup, Hangout, a date as a title…).
    Auto,
    /// A `Photos from YYYY` (or `Undated`) folder for items in no album.
    Year,
}

impl AlbumKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            AlbumKind::User => "user",
            AlbumKind::Auto => "auto",
            AlbumKind::Year => "year",
        }
    }

    /// The kind of a source album by its title: the original photobak's automatic albums
    /// (`Auto Backup`, `Hangout…`), Takeout's year folders, and titles that are only a date.
    pub fn of_title(title: &str) -> AlbumKind {
        let t = title.trim();
        let lower = t.to_lowercase();
        let automatic = lower == "auto backup"
            || lower == "автозагрузка"
            || lower.starts_with("hangout")
            || lower.starts_with("photos from ")
            || (!t.is_empty()
                && t.chars()
                    .all(|c| c.is_ascii_digit() || "-./_ :".contains(c)));
        if automatic {
            AlbumKind::Auto
        } else {
            AlbumKind::User
        }
    }

    /// True for an album the user made.
    pub fn is_user(self) -> bool {
        self == AlbumKind::User
    }
}

/// Where an item's capture time came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeSource {
    /// The file's own EXIF `DateTimeOriginal` with its offset.
    Exif,
    /// A Takeout sidecar's `photoTakenTime`.
    Takeout,
    /// The API's `creationTime`.
    Api,
}

impl TimeSource {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            TimeSource::Exif => "exif",
            TimeSource::Takeout => "takeout",
            TimeSource::Api => "api",
        }
    }

    /// The time source of a stored name.
    pub fn parse(s: &str) -> Option<TimeSource> {
        Some(match s {
            "exif" => TimeSource::Exif,
            "takeout" => TimeSource::Takeout,
            "api" => TimeSource::Api,
            _ => return None,
        })
    }
}

/// The year folder of an item in no album: `Photos from YYYY` by its capture year (UTC, as
/// Takeout names them), or `Undated`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct YearFolder(pub Option<i32>);

/// Folder for items that are in no album and have no capture time.
pub const UNDATED_FOLDER: &str = "Undated";

impl YearFolder {
    /// The folder of a capture time (Unix seconds).
    pub fn of_time(taken_at: Option<i64>) -> YearFolder {
        YearFolder(
            taken_at
                .and_then(|t| jiff::Timestamp::from_second(t).ok())
                .map(|t| i32::from(t.to_zoned_datetime(jiff::tz::TimeZone::UTC).year())),
        )
    }

    /// The album id the index keeps for it (`year:2019`, `year:undated`).
    pub fn remote_id(self) -> String {
        match self.0 {
            Some(y) => format!("year:{y}"),
            None => "year:undated".to_string(),
        }
    }

    /// Its title and folder name.
    pub fn title(self) -> String {
        match self.0 {
            Some(y) => format!("Photos from {y}"),
            None => UNDATED_FOLDER.to_string(),
        }
    }
}

macro_rules! text_enum_sql {
    ($t:ty, $what:literal, $parse:expr) => {
        impl ToSql for $t {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.as_str()))
            }
        }
        impl FromSql for $t {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                let s = value.as_str()?;
                let parse: fn(&str) -> Option<$t> = $parse;
                parse(s).ok_or_else(|| {
                    FromSqlError::Other(format!(concat!("unknown ", $what, " {:?}"), s).into())
                })
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum_sql!(Source, "source", Source::parse);
text_enum_sql!(TimeSource, "time source", TimeSource::parse);
text_enum_sql!(AlbumKind, "album kind", |s| match s {
    "user" => Some(AlbumKind::User),
    "auto" => Some(AlbumKind::Auto),
    "year" => Some(AlbumKind::Year),
    _ => None,
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn automatic_albums_are_recognised() {
        assert_eq!(AlbumKind::of_title("Auto Backup"), AlbumKind::Auto);
        assert_eq!(AlbumKind::of_title("Hangout: Bob"), AlbumKind::Auto);
        assert_eq!(AlbumKind::of_title("2019-05-04"), AlbumKind::Auto);
        assert_eq!(AlbumKind::of_title("Photos from 2019"), AlbumKind::Auto);
        assert_eq!(AlbumKind::of_title("Trip to Rome 2019"), AlbumKind::User);
        assert!(AlbumKind::User < AlbumKind::Auto && AlbumKind::Auto < AlbumKind::Year);
    }

    #[test]
    fn year_folders_are_named_once() {
        // 2019-05-04T12:30:00Z
        let y = YearFolder::of_time(Some(1_556_973_000));
        assert_eq!(
            (y.remote_id(), y.title()),
            ("year:2019".into(), "Photos from 2019".into())
        );
        let u = YearFolder::of_time(None);
        assert_eq!(
            (u.remote_id(), u.title()),
            ("year:undated".into(), "Undated".into())
        );
    }

    #[test]
    fn stored_names_round_trip() {
        for s in [
            Source::Library,
            Source::Picker,
            Source::Takeout,
            Source::Derived,
        ] {
            assert_eq!(Source::parse(s.as_str()), Some(s));
        }
        assert_eq!(Source::parse("dropbox"), None);
        for t in [TimeSource::Exif, TimeSource::Takeout, TimeSource::Api] {
            assert_eq!(TimeSource::parse(t.as_str()), Some(t));
        }
    }
}
