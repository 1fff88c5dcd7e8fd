//! What a stored file says about itself: capture time (with its UTC offset when recorded), GPS,
//! camera. Read after the bytes are safely stored, never instead of storing them: a file the
//! reader cannot parse (a new HEIC variant, a truncated JPEG, GIF bytes named `.jpg`) is kept all
//! the same, and the reason is recorded.

use std::path::Path;

use crate::index::now;

use nom_exif::{EntryValue, ExifTag, MediaKind, MediaParser, MediaSource, TrackInfoTag};

/// Metadata read from a file.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct FileMeta {
    /// Capture time in UTC, only when the file records its offset (or is a video, whose
    /// creation time is UTC by definition).
    pub taken_at: Option<i64>,
    /// The offset, like `+02:00`.
    pub offset: Option<String>,
    /// The local wall-clock capture time as written, `YYYY-MM-DDTHH:MM:SS`.
    pub local: Option<String>,
    /// Latitude, degrees north.
    pub latitude: Option<f64>,
    /// Longitude, degrees east.
    pub longitude: Option<f64>,
    /// Altitude, metres (negative below sea level).
    pub altitude: Option<f64>,
    /// Camera make.
    pub make: Option<String>,
    /// Camera model.
    pub model: Option<String>,
}

/// Reads a file's metadata. `Err` carries a one-line reason.
pub fn read_file_meta(path: &Path) -> Result<FileMeta, String> {
    let ms = MediaSource::open(path).map_err(|e| e.to_string())?;
    let mut parser = MediaParser::new();
    let mut out = FileMeta::default();
    match ms.kind() {
        MediaKind::Image => {
            let iter = parser.parse_exif(ms).map_err(|e| e.to_string())?;
            let exif: nom_exif::Exif = iter.into();
            let text = |t: ExifTag| {
                exif.get(t)
                    .and_then(|v| v.as_str())
                    .map(|s| s.trim().trim_end_matches('\0').to_string())
                    .filter(|s| !s.is_empty())
            };
            out.make = text(ExifTag::Make);
            out.model = text(ExifTag::Model);
            if let Some(v) = exif
                .get(ExifTag::DateTimeOriginal)
                .or_else(|| exif.get(ExifTag::CreateDate))
            {
                set_time(&mut out, v);
            }
            if let Some(g) = exif.gps_info() {
                set_gps(
                    &mut out,
                    g.latitude_decimal(),
                    g.longitude_decimal(),
                    g.altitude_meters(),
                );
            }
        }
        MediaKind::Track => {
            let info = parser.parse_track(ms).map_err(|e| e.to_string())?;
            let text = |t: TrackInfoTag| info.get(t).and_then(|v| v.as_str()).map(str::to_string);
            out.make = text(TrackInfoTag::Make);
            out.model = text(TrackInfoTag::Model);
            if let Some(v) = info.get(TrackInfoTag::CreateDate) {
                set_time(&mut out, v);
            }
            if let Some(g) = info.gps_info() {
                set_gps(
                    &mut out,
                    g.latitude_decimal(),
                    g.longitude_decimal(),
                    g.altitude_meters(),
                );
            }
        }
    }
    Ok(out)
}

fn set_time(out: &mut FileMeta, v: &EntryValue) {
    match v {
        EntryValue::DateTime(dt) => {
            out.taken_at = Some(dt.timestamp());
            let secs = dt.offset().local_minus_utc();
            let sign = if secs < 0 { '-' } else { '+' };
            let a = secs.abs();
            out.offset = Some(format!("{sign}{:02}:{:02}", a / 3600, (a % 3600) / 60));
            out.local = Some(dt.naive_local().format("%Y-%m-%dT%H:%M:%S").to_string());
        }
        EntryValue::NaiveDateTime(n) => {
            out.local = Some(n.format("%Y-%m-%dT%H:%M:%S").to_string());
        }
        _ => {}
    }
}

fn set_gps(out: &mut FileMeta, lat: Option<f64>, lon: Option<f64>, alt: Option<f64>) {
    if let (Some(lat), Some(lon)) = (lat, lon)
        && lat.is_finite()
        && lon.is_finite()
        && (lat != 0.0 || lon != 0.0)
        && lat.abs() <= 90.0
        && lon.abs() <= 180.0
    {
        out.latitude = Some(lat);
        out.longitude = Some(lon);
        out.altitude = alt.filter(|a| a.is_finite());
    }
}

/// Timelinize's heuristics, which match what users report: an EXIF time is suspect when it lies
/// in the future, is exactly midnight on 1 January (a camera's reset clock), or carries an offset
/// beyond ±14 h.
pub fn exif_time_is_sane(t: i64, offset: Option<&str>) -> bool {
    if t <= 0 || t > now() + 86_400 {
        return false;
    }
    let offset_secs = offset.and_then(parse_offset).unwrap_or(0);
    if offset_secs.abs() > 14 * 3600 {
        return false;
    }
    let local = t + offset_secs;
    let Ok(ts) = jiff::Timestamp::from_second(local) else {
        return false;
    };
    let dt = ts.to_zoned_datetime(jiff::tz::TimeZone::UTC);
    !(dt.month() == 1 && dt.day() == 1 && dt.hour() == 0 && dt.minute() == 0 && dt.second() == 0)
}

pub(crate) fn parse_offset(s: &str) -> Option<i64> {
    let sign = match s.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (h, m) = s[1..].split_once(':')?;
    Some(sign * (h.parse::<i64>().ok()? * 3600 + m.parse::<i64>().ok()? * 60))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../photobak-testkit/testdata")
            .join(name)
    }

    /// The staged file's name (`<random>.part`) says nothing of its kind: what is read from it
    /// ahead of placing (`Staged::read_meta`) is what the placed file would give.
    #[test]
    fn a_file_reads_the_same_under_its_staged_name() {
        let t = tempfile::tempdir().unwrap();
        let mut read = 0;
        for e in std::fs::read_dir(sample("")).unwrap() {
            let path = e.unwrap().path();
            if path.extension().is_some_and(|x| x == "md") {
                continue;
            }
            let staged = t.path().join("3f9a0c.part");
            std::fs::copy(&path, &staged).unwrap();
            let placed = read_file_meta(&path);
            assert_eq!(read_file_meta(&staged), placed, "{}", path.display());
            read += usize::from(placed.is_ok());
        }
        assert!(read >= 8, "{read} samples read");
    }

    #[test]
    fn reads_gps_time_and_camera_from_a_real_jpeg() {
        let m = read_file_meta(&sample("jpg_gps_DSCN0010.jpg")).unwrap();
        assert_eq!(m.make.as_deref(), Some("NIKON"));
        let lat = m.latitude.unwrap();
        let lon = m.longitude.unwrap();
        assert!((lat - 43.467).abs() < 0.01, "{lat}");
        assert!((lon - 11.885).abs() < 0.01, "{lon}");
        assert_eq!(m.local.as_deref(), Some("2008-10-22T16:28:39"));
    }

    #[test]
    fn broken_files_give_an_error_not_a_panic() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("gif.jpg");
        std::fs::write(&p, b"GIF89a\x01\x00\x01\x00\x00\x00\x00;").unwrap();
        assert!(read_file_meta(&p).is_err());
        let _ = read_file_meta(&sample("jpg_invalid_image00971.jpg"));
    }
}
