//! The finishing steps of a stored item, whatever its source: its capture time upgraded to the
//! file's own EXIF time when that is sane, the file's position when no source gave one, the
//! `.xmp` sidecar, and the file's modification time set to the capture time. Each writes only
//! what differs from what is already there, so a rerun changes nothing.

use crate::error::Result;
use crate::kinds::TimeSource;
use crate::meta::{exif_time_is_sane, parse_offset};
use crate::repo::Repo;
use crate::repo::store::write_atomic_if_changed;
use crate::xmp::{XmpFields, render};

/// After the bytes are stored: upgrade the time to the file's EXIF time when sane, and take the
/// file's GPS when the sidecar had none.
pub(crate) fn resolve_from_file(repo: &Repo, item_id: i64) -> Result<()> {
    let Some(f) = repo.index.file_facts(item_id)? else {
        return Ok(());
    };
    if let Some(t) = f.file_taken_at
        && exif_time_is_sane(t, f.file_offset.as_deref())
        && f.taken_source != Some(TimeSource::Exif)
    {
        repo.index.set_taken(item_id, t, TimeSource::Exif)?;
    }
    if f.gps_source.is_none()
        && let (Some(la), Some(lo)) = (f.file_lat, f.file_lon)
    {
        repo.index
            .set_position_from_file(item_id, la, lo, f.file_alt)?;
    }
    Ok(())
}

/// What the finishing touches of an imported item need from the index.
pub(crate) struct FileFinish {
    path: String,
    taken_at: Option<i64>,
    taken_source: Option<TimeSource>,
    file_offset: Option<String>,
    fields: XmpFields,
}

pub(crate) fn file_finish(repo: &Repo, item_id: i64) -> Result<Option<FileFinish>> {
    Ok(repo.index.finish_facts(item_id)?.map(|f| FileFinish {
        path: f.path,
        taken_at: f.taken_at,
        taken_source: f.taken_source,
        file_offset: f.file_offset,
        fields: XmpFields {
            taken: None,
            latitude: f.latitude,
            longitude: f.longitude,
            altitude: f.altitude,
            description: f.description,
            favorite: f.favorite,
            people: f
                .people
                .and_then(|p| serde_json::from_str(&p).ok())
                .unwrap_or_default(),
        },
    }))
}

/// The capture time as XMP wants it: local time with the offset the file recorded when EXIF
/// won, else UTC.
pub(crate) fn xmp_time(f: &FileFinish) -> Option<String> {
    let ts = jiff::Timestamp::from_second(f.taken_at?).ok()?;
    let offset = f.file_offset.as_deref();
    match (f.taken_source, offset.and_then(parse_offset)) {
        (Some(TimeSource::Exif), Some(secs)) => {
            let tz = jiff::tz::TimeZone::fixed(jiff::tz::Offset::from_seconds(secs as i32).ok()?);
            let dt = ts.to_zoned_datetime(tz);
            Some(format!(
                "{}{}",
                dt.datetime().strftime("%Y-%m-%dT%H:%M:%S"),
                offset.unwrap_or_default()
            ))
        }
        _ => Some(ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()),
    }
}

/// Writes the `.xmp` sidecar (`xmp`) and sets the modification time to the capture time
/// (`mtime`), each only when it differs from what is on disk. Returns true when an XMP file was
/// written.
pub(crate) fn finish_file(repo: &Repo, item_id: i64, xmp: bool, mtime: bool) -> Result<bool> {
    let Some(mut f) = file_finish(repo, item_id)? else {
        return Ok(false);
    };
    let abs = repo.abs(&f.path);
    if mtime && let Some(secs) = f.taken_at.and_then(|t| u64::try_from(t).ok()) {
        let when = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs);
        let current = std::fs::metadata(&abs).and_then(|m| m.modified()).ok();
        if current != Some(when)
            && let Err(e) = std::fs::File::options()
                .write(true)
                .open(&abs)
                .and_then(|file| file.set_modified(when))
        {
            tracing::error!("setting the modification time of {}: {e}", abs.display());
        }
    }
    if !xmp {
        return Ok(false);
    }
    f.fields.taken = xmp_time(&f);
    let xmp_path = repo.abs(&format!("{}.xmp", f.path));
    write_atomic_if_changed(&repo.tmp_dir(), &xmp_path, render(&f.fields).as_bytes())
}
