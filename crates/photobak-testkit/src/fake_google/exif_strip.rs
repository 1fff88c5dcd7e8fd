//! What Google's `=d` does to a photo: "download the image with its Exif metadata, except the
//! location" (google.md §1.5). The fake serves every JPEG that way, so a client that wants GPS
//! has to get it from somewhere else (a Takeout export), exactly as with the real service.
//!
//! The GPS IFD is emptied in place (its entry count set to zero), which keeps every offset and
//! the file's length unchanged: readers then find a GPS directory with nothing in it.

/// The JPEG with its EXIF GPS directory emptied; anything else (or a JPEG without GPS) unchanged.
pub fn strip_gps(data: &[u8]) -> Vec<u8> {
    let mut out = data.to_vec();
    if let Some(pos) = gps_count_offset(data) {
        out[pos] = 0;
        out[pos + 1] = 0;
    }
    out
}

/// Position of the GPS IFD's 2-byte entry count, when the file has one.
fn gps_count_offset(d: &[u8]) -> Option<usize> {
    if d.len() < 4 || d[0] != 0xFF || d[1] != 0xD8 {
        return None;
    }
    let mut i = 2;
    while i + 4 <= d.len() {
        if d[i] != 0xFF {
            return None;
        }
        let marker = d[i + 1];
        if marker == 0xDA || marker == 0xD9 {
            return None; // image data starts: no EXIF before it
        }
        let len = usize::from(u16::from_be_bytes([d[i + 2], d[i + 3]]));
        let seg = i + 4;
        if marker == 0xE1 && d.get(seg..seg + 6) == Some(b"Exif\0\0") {
            return gps_in_tiff(d, seg + 6, (i + 2 + len).min(d.len()));
        }
        i += 2 + len;
    }
    None
}

fn gps_in_tiff(d: &[u8], tiff: usize, end: usize) -> Option<usize> {
    let little = match d.get(tiff..tiff + 2)? {
        b"II" => true,
        b"MM" => false,
        _ => return None,
    };
    let u16_at = |p: usize| -> Option<u16> {
        let b = d.get(p..p + 2)?;
        Some(if little {
            u16::from_le_bytes([b[0], b[1]])
        } else {
            u16::from_be_bytes([b[0], b[1]])
        })
    };
    let u32_at = |p: usize| -> Option<u32> {
        let b = d.get(p..p + 4)?;
        let a = [b[0], b[1], b[2], b[3]];
        Some(if little {
            u32::from_le_bytes(a)
        } else {
            u32::from_be_bytes(a)
        })
    };
    let ifd0 = tiff + usize::try_from(u32_at(tiff + 4)?).ok()?;
    let count = usize::from(u16_at(ifd0)?);
    for e in 0..count {
        let entry = ifd0 + 2 + e * 12;
        if u16_at(entry)? == 0x8825 {
            let gps = tiff + usize::try_from(u32_at(entry + 8)?).ok()?;
            return (gps + 2 <= end).then_some(gps);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empties_the_gps_directory_of_a_real_photo_and_nothing_else() {
        let with = include_bytes!("../../testdata/jpg_gps_DSCN0010.jpg");
        let without = strip_gps(with);
        assert_eq!(with.len(), without.len());
        assert_ne!(&with[..], &without[..]);
        // Only the two bytes of the GPS directory's entry count differ.
        let changed: Vec<usize> = (0..with.len()).filter(|&i| with[i] != without[i]).collect();
        assert!(!changed.is_empty() && changed.len() <= 2, "{changed:?}");
        assert!(changed.last().unwrap() - changed[0] <= 1, "{changed:?}");
        // Stripping twice changes nothing more, and bytes that are no JPEG pass unchanged.
        assert!(strip_gps(&without) == without);
        assert_eq!(strip_gps(b"not a jpeg"), b"not a jpeg".to_vec());
    }
}
