//! Capture times of Takeout items: the file's EXIF time when sane, else the sidecar's
//! `photoTakenTime`; both kept, with the winner's name.

use crate::error::Result;
use crate::kinds::TimeSource;
use crate::meta::exif_time_is_sane;
use crate::repo::Repo;

// What the stored file of an item says about itself.
pub(super) use crate::index::StoredFileFacts as FileFacts;

pub(super) fn existing_file_meta(
    repo: &Repo,
    account_id: i64,
    remote_id: &str,
) -> Result<Option<FileFacts>> {
    repo.index.stored_file_facts(account_id, remote_id)
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
