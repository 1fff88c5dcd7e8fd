//! Capture times of Takeout items: the file's EXIF time when sane, else the sidecar's
//! `photoTakenTime`; both kept, with the winner's name.

use rusqlite::{OptionalExtension, params};

use crate::error::Result;
use crate::kinds::TimeSource;
use crate::meta::exif_time_is_sane;
use crate::repo::Repo;

/// What the stored file of an item says about itself.
pub(super) struct FileFacts {
    pub(super) taken_at: Option<i64>,
    pub(super) offset: Option<String>,
    pub(super) lat: Option<f64>,
    pub(super) lon: Option<f64>,
    pub(super) alt: Option<f64>,
}

pub(super) fn existing_file_meta(
    repo: &Repo,
    account_id: i64,
    remote_id: &str,
) -> Result<Option<FileFacts>> {
    repo.index.with(|c| {
        Ok(c.query_row(
            "SELECT ct.file_taken_at, ct.file_offset, ct.file_lat, ct.file_lon, ct.file_alt
             FROM items i JOIN content ct ON ct.id = i.content_id
             WHERE i.account_id = ?1 AND i.remote_id = ?2",
            params![account_id, remote_id],
            |r| {
                Ok(FileFacts {
                    taken_at: r.get(0)?,
                    offset: r.get(1)?,
                    lat: r.get(2)?,
                    lon: r.get(3)?,
                    alt: r.get(4)?,
                })
            },
        )
        .optional()?)
    })
}

/// EXIF time with offset when sane, else the sidecar's; and which one won.
pub(super) fn resolve_time(
    sidecar: Option<i64>,
    file: Option<&FileFacts>,
) -> (Option<i64>, Option<TimeSource>) {
    if let Some(f) = file
        && let Some(t) = f.taken_at
        && exif_time_is_sane(t, f.offset.as_deref())
    {
        return (Some(t), Some(TimeSource::Exif));
    }
    match sidecar {
        Some(t) => (Some(t), Some(TimeSource::Takeout)),
        None => (None, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::now;
    use crate::meta::exif_time_is_sane;

    #[test]
    fn suspicious_exif_times_lose_to_the_sidecar() {
        // 2019-05-04T12:30:00+02:00
        let good = 1_556_965_800;
        assert!(exif_time_is_sane(good, Some("+02:00")));
        assert!(!exif_time_is_sane(now() + 10 * 86_400, Some("+00:00")));
        // 2010-01-01T00:00:00 local (+01:00) is a reset camera clock.
        assert!(!exif_time_is_sane(1_262_300_400, Some("+01:00")));
        assert!(!exif_time_is_sane(good, Some("+15:00")));
        let f = FileFacts {
            taken_at: Some(good),
            offset: Some("+02:00".into()),
            lat: None,
            lon: None,
            alt: None,
        };
        assert_eq!(
            resolve_time(Some(1), Some(&f)),
            (Some(good), Some(TimeSource::Exif))
        );
        assert_eq!(
            resolve_time(Some(7), None),
            (Some(7), Some(TimeSource::Takeout))
        );
        assert_eq!(resolve_time(None, None), (None, None));
    }
}
