//! An export made of the layouts on which matching used to fail (issue 13, part 2): sidecars
//! without `url`, edited suffixes that no table knows, Google's special folders in the export's
//! language. Every case has a key prefix so tests can find its files:
//!
//! * `nu-…`: sidecars without `url`. `nu-a` in its year folder and two albums, `nu-b` with an
//!   `-edited` variant in its year folder and an album, `nu-c` a live photo in its year folder
//!   and an album: each is **one** item. `nu-d1`/`nu-d2` are two photos with the same title,
//!   capture time and size, one in the year folder and one in an album (told apart only by their
//!   bytes: the zip CRC-32); `nu-e1`/`nu-e2` two such photos in the same year folder (`(1)`);
//!   `nu-f` has no sidecar at all and is in its year folder and an album (two items: nothing
//!   but its name names it); `nu-g` has no capture time and is in its year folder and an album
//!   (two items: title and size are too weak).
//! * `ed-…`: edited variants with suffixes in no table ([`INFERRED_SUFFIXES`]), one with the
//!   collision counter after the suffix (`ed-3b`), one also without `url` in an album (`ed-nu`).
//! * `fp-…`: names that look like edits and are not: `IMG_5000-2.jpg` and `Trip-beach.jpg`
//!   with sidecars of their own, `IMG_5001-2.jpg` without any (digits are no suffix).
//! * `sp-…`: one item each in Failed Videos, Archive, Trash and the Locked Folder.

use super::{AlbumSpec, ExportSpec, ItemSpec, Lang, Live, Place, SidecarStyle, TakenAt};

/// Edited suffixes of no §4.7 table: Danish, Finnish, Czech, Hungarian, a Japanese form that
/// is not `-編集済み`, and a made-up word.
pub const INFERRED_SUFFIXES: [&str; 6] = [
    "-redigeret",
    "-muokattu",
    "-upraveno",
    "-szerkesztett",
    "-編集版",
    "-glorpified",
];

/// Album titles of [`matching_export`] (indices 0 and 1).
pub const MATCHING_ALBUMS: [&str; 2] = ["Lakes 2019", "Family"];

/// The export (see the module docs), zip parts, folders named in `lang`.
pub fn matching_export(lang: Lang, timestamp: &str) -> ExportSpec {
    let same_time = TakenAt::At(1_560_000_000); // 2019-06-08
    let mut spec = ExportSpec::new(timestamp)
        .lang(lang)
        .part_size(64 << 10)
        .album(AlbumSpec::new(MATCHING_ALBUMS[0]).description("up north"))
        .album(AlbumSpec::new(MATCHING_ALBUMS[1]))
        // Without url.
        .item(
            ItemSpec::new("nu-a", "IMG_1001.jpg")
                .no_url()
                .in_album(0)
                .in_album(1)
                .description("the lake"),
        )
        .item(
            ItemSpec::new("nu-b", "IMG_1002.jpg")
                .no_url()
                .in_album(0)
                .edited("-edited"),
        )
        .item(
            ItemSpec::new("nu-c", "IMG_1003.HEIC")
                .no_url()
                .in_album(1)
                .live(Live::Mp4),
        )
        // Same title, time and size (keys of one length give synthetic files of one size).
        .item(
            ItemSpec::new("nu-d1", "IMG_2000.jpg")
                .no_url()
                .taken(same_time),
        )
        .item(
            ItemSpec::new("nu-d2", "IMG_2000.jpg")
                .no_url()
                .taken(same_time)
                .places(&[Place::Album(0)]),
        )
        .item(
            ItemSpec::new("nu-e1", "IMG_3000.jpg")
                .no_url()
                .taken(same_time),
        )
        .item(
            ItemSpec::new("nu-e2", "IMG_3000.jpg")
                .no_url()
                .taken(same_time),
        )
        .item(
            ItemSpec::new("nu-f", "SCAN_0001.jpg")
                .sidecar(SidecarStyle::None)
                .in_album(1),
        )
        .item(
            ItemSpec::new("nu-g", "IMG_4999.jpg")
                .no_url()
                .taken(TakenAt::Missing)
                .created(1_560_000_000)
                .in_album(1),
        );
    // Edited suffixes in no table.
    for (i, suffix) in INFERRED_SUFFIXES.iter().enumerate() {
        let style = if i % 2 == 0 {
            SidecarStyle::Legacy
        } else {
            SidecarStyle::Supplemental
        };
        spec = spec.item(
            ItemSpec::new(&format!("ed-{i}"), &format!("IMG_40{i:02}.jpg"))
                .sidecar(style)
                .edited(suffix),
        );
    }
    spec = spec
        // The second `IMG_4100.jpg` of its folder: `IMG_4100-upraveno(1).jpg`.
        .item(ItemSpec::new("ed-3a", "IMG_4100.jpg").taken(same_time))
        .item(
            ItemSpec::new("ed-3b", "IMG_4100.jpg")
                .taken(TakenAt::At(1_560_000_100))
                .edited("-upraveno"),
        )
        .item(
            ItemSpec::new("ed-nu", "PXL_4004.jpg")
                .no_url()
                .in_album(0)
                .edited("-szerkesztett"),
        )
        // Look like edits, are not.
        .item(ItemSpec::new("fp-1", "IMG_5000.jpg"))
        .item(ItemSpec::new("fp-2", "IMG_5000-2.jpg"))
        .item(ItemSpec::new("fp-3", "Trip.jpg").taken(same_time))
        .item(ItemSpec::new("fp-4", "Trip-beach.jpg").taken(same_time))
        .item(ItemSpec::new("fp-5", "IMG_5001.jpg"))
        .item(ItemSpec::new("fp-6", "IMG_5001-2.jpg").sidecar(SidecarStyle::None))
        // Special folders.
        .item(ItemSpec::new("sp-fv", "VID_6001.mp4").places(&[Place::FailedVideos]))
        .item(ItemSpec::new("sp-ar", "IMG_6002.jpg").places(&[Place::Archive]))
        .item(ItemSpec::new("sp-tr", "IMG_6003.jpg").places(&[Place::Trash]))
        .item(ItemSpec::new("sp-lk", "IMG_6004.jpg").places(&[Place::LockedFolder]));
    spec
}
