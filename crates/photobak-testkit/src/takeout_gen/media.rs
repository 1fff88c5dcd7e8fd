//! Media bytes: real samples (EXIF dates, GPS, HEIF structure) and small unique synthetic files.

/// Real camera and phone files from `testdata/` (see `testdata/SAMPLES.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sample {
    /// Nikon COOLPIX JPEG with GPS and DateTimeOriginal.
    GpsDscn0010,
    /// Nikon COOLPIX JPEG with GPS and DateTimeOriginal.
    GpsDscn0021,
    /// Canon 40D JPEG with make/model and dates.
    Canon40D,
    /// Nikon D70 JPEG.
    NikonD70,
    /// Sony HDR-HC3 JPEG.
    SonyHdrHc3,
    /// JPEG with EXIF orientation 6.
    Portrait6,
    /// iPhone HEIC with EXIF.
    IphoneHeic,
    /// A small HEIF.
    SmallHeif,
}

impl Sample {
    pub fn bytes(self) -> &'static [u8] {
        match self {
            Sample::GpsDscn0010 => include_bytes!("../../testdata/jpg_gps_DSCN0010.jpg"),
            Sample::GpsDscn0021 => include_bytes!("../../testdata/jpg_gps_DSCN0021.jpg"),
            Sample::Canon40D => include_bytes!("../../testdata/jpg_Canon_40D.jpg"),
            Sample::NikonD70 => include_bytes!("../../testdata/jpg_Nikon_D70.jpg"),
            Sample::SonyHdrHc3 => include_bytes!("../../testdata/jpg_Sony_HDR-HC3.jpg"),
            Sample::Portrait6 => include_bytes!("../../testdata/jpg_orientation_portrait_6.jpg"),
            Sample::IphoneHeic => include_bytes!("../../testdata/heic_IMG_5195.HEIC"),
            Sample::SmallHeif => include_bytes!("../../testdata/heic_samplefilehub.heif"),
        }
    }
}

/// Where an item's bytes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaBytes {
    /// A real sample file, unchanged.
    Sample(Sample),
    /// A small file of the type the extension names, unique to the given seed text.
    Synthetic,
    /// The same file grown to this many bytes (when larger) by pseudo-random padding at its
    /// end, incompressible like real photo data: for exports of realistic size.
    SyntheticSized(u64),
}

/// Grows `v` to `size` bytes with pseudo-random bytes derived from `seed` (after a JPEG's EOI
/// or a PNG's IEND, readers ignore trailing data). Same seed, same bytes.
pub fn pad_to(v: &mut Vec<u8>, size: u64, seed: &str) {
    let Ok(size) = usize::try_from(size) else {
        return;
    };
    if v.len() >= size {
        return;
    }
    let h = blake3::hash(seed.as_bytes());
    let mut rng = fastrand::Rng::with_seed(u64::from_le_bytes(
        h.as_bytes()[..8].try_into().expect("8 bytes"),
    ));
    let start = v.len();
    v.resize(size, 0);
    for chunk in v[start..].chunks_mut(8) {
        let r = rng.u64(..).to_le_bytes();
        chunk.copy_from_slice(&r[..chunk.len()]);
    }
}

fn be32(n: usize) -> [u8; 4] {
    u32::try_from(n).unwrap_or(u32::MAX).to_be_bytes()
}

/// A small, structurally plausible file for `ext`, made unique by `seed` (the item key plus a
/// role such as `-edited`). Same seed, same bytes.
pub fn synthetic(ext: &str, seed: &str) -> Vec<u8> {
    let tag = format!("photobak-takeout-gen:{seed}");
    let e = ext.trim_start_matches('.').to_ascii_lowercase();
    match e.as_str() {
        "jpg" | "jpeg" => {
            // A real small JPEG with a COM segment carrying the tag after SOI.
            let base = Sample::SonyHdrHc3.bytes();
            let mut v = base[..2].to_vec();
            v.extend_from_slice(&[0xFF, 0xFE]);
            v.extend_from_slice(
                &u16::try_from(tag.len() + 2)
                    .unwrap_or(u16::MAX)
                    .to_be_bytes(),
            );
            v.extend_from_slice(tag.as_bytes());
            v.extend_from_slice(&base[2..]);
            v
        }
        "png" => {
            let mut v = b"\x89PNG\r\n\x1a\n".to_vec();
            v.extend_from_slice(&be32(13));
            v.extend_from_slice(b"IHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0\0\0\0\0");
            v.extend_from_slice(&be32(tag.len()));
            v.extend_from_slice(b"tEXt");
            v.extend_from_slice(tag.as_bytes());
            v.extend_from_slice(b"\0\0\0\0\0\0\0\0IEND\xaeB`\x82");
            v
        }
        "gif" => {
            let mut v = b"GIF89a\x01\0\x01\0\0\0\0".to_vec();
            v.extend_from_slice(b"!\xfe");
            for chunk in tag.as_bytes().chunks(255) {
                v.push(u8::try_from(chunk.len()).unwrap_or(255));
                v.extend_from_slice(chunk);
            }
            v.extend_from_slice(b"\0,\0\0\0\0\x01\0\x01\0\0\x02\x02D\x01\0;");
            v
        }
        "heic" | "heif" => {
            let mut v = Sample::SmallHeif.bytes().to_vec();
            v.extend_from_slice(&be32(tag.len() + 8));
            v.extend_from_slice(b"free");
            v.extend_from_slice(tag.as_bytes());
            v
        }
        "avi" => {
            let mut v = b"RIFF".to_vec();
            v.extend_from_slice(&u32::try_from(tag.len() + 4).unwrap_or(0).to_le_bytes());
            v.extend_from_slice(b"AVI ");
            v.extend_from_slice(tag.as_bytes());
            v
        }
        // mp4, mov, m4v, 3gp and extension-less companions: an ISO-BMFF `ftyp` + `free` box.
        _ => {
            let brand: &[u8] = if e == "mov" { b"qt  " } else { b"isom" };
            let mut v = be32(20).to_vec();
            v.extend_from_slice(b"ftyp");
            v.extend_from_slice(brand);
            v.extend_from_slice(&[0, 0, 2, 0]);
            v.extend_from_slice(brand);
            v.extend_from_slice(&be32(tag.len() + 8));
            v.extend_from_slice(b"free");
            v.extend_from_slice(tag.as_bytes());
            v
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_files_are_unique_and_typed() {
        let a = synthetic(".jpg", "a");
        let b = synthetic(".JPG", "b");
        assert_ne!(a, b);
        assert_eq!(&a[..2], &[0xFF, 0xD8]);
        assert_eq!(synthetic("jpg", "a"), a);
        assert!(synthetic(".png", "x").starts_with(b"\x89PNG"));
        assert!(synthetic(".gif", "x").starts_with(b"GIF89a"));
        assert_eq!(&synthetic(".mp4", "x")[4..8], b"ftyp");
        assert_eq!(&synthetic("", "x")[4..8], b"ftyp");
        assert!(synthetic(".AVI", "x").starts_with(b"RIFF"));
        assert!(Sample::IphoneHeic.bytes().len() > 100_000);
    }
}
