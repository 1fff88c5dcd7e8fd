//! One export exercising every quirk of google.md §4, and the next export of the same account.

use super::{
    AlbumMetaStyle, AlbumSpec, ExportSpec, Extras, ItemSpec, Lang, Live, OriginSpec, PartStyle,
    Place, Sample, SidecarStyle, TakenAt,
};

/// The localised edited suffixes of §4.7.
pub const EDITED_SUFFIXES: [&str; 11] = [
    "-edited",
    "-bearbeitet",
    "-modifié",
    "-modificato",
    "-edytowane",
    "-bewerkt",
    "-編集済み",
    "-编辑",
    "-ha editado",
    "-editat",
    "-editado",
];

const UUID: &str = "original_1d4caa6f-16bb-4c1b-b1a4-9387de10e528_";

/// An export with every quirk: localised folders (language chosen by `seed`), year, album,
/// untitled, archive, trash and failed-video folders, album metadata in all styles, both
/// sidecar generations with clipping, counters, unclipped names, UTF-16 lengths, replaced
/// characters, titles without extension, `~2` names, edited variants in every language (also
/// truncated), creations, all live-photo kinds, duplicates across year and album folders,
/// album-only items, sidecar content variants, sidecars without media, media without sidecar,
/// a title-only pairing, an ambiguous pair, non-media JSON, the archive browser page and a
/// second product folder. Real sample media are used where metadata is read (GPS JPEGs,
/// camera JPEGs, an iPhone HEIC). Sidecars sit in other parts than their media.
///
/// The seed picks the language, the part-name style and the order of the quirk groups; the
/// format is zip (set [`ExportSpec::format`] for tgz or folders).
pub fn realistic_export(seed: u64) -> ExportSpec {
    let lang = Lang::ALL[usize::try_from(seed % Lang::ALL.len() as u64).unwrap_or(0)];
    let style = if seed.is_multiple_of(2) {
        PartStyle::Old
    } else {
        PartStyle::New {
            segment: u32::try_from(seed % 7).unwrap_or(0) + 1,
        }
    };
    let special_album = if lang.trash() == "Cestino" {
        "Papierkorb"
    } else {
        "Cestino"
    };
    let mut spec = ExportSpec::new("20250921T101010Z")
        .lang(lang)
        .part_style(style)
        .part_size(256 << 10)
        .split_sidecars(true)
        .account("jane.doe@example.com")
        .extras(Extras {
            archive_browser: true,
            non_media_json: true,
            other_product: true,
        })
        // 0
        .album(AlbumSpec::new("Trip to Tuscany").description("Siena, October 2008"))
        // 1: folder name truncated at 50 characters, localised metadata name
        .album(
            AlbumSpec::new("[E&S] 2016-01-05 - Castello De Albertis e Mostra di Genova")
                .folder("[E&S] 2016-01-05 - Castello De Albertis e Mostra d")
                .meta(AlbumMetaStyle::Localized),
        )
        // 2: folder name rewritten, very old `albumData` wrapper
        .album(
            AlbumSpec::new("2016-01-05 - Genova/Porto Antico")
                .folder("2016-01-05 - _3")
                .description("old export")
                .meta(AlbumMetaStyle::OldWrapper),
        )
        // 3: untitled
        .album(AlbumSpec::new(""))
        // 4: a user album named like a special folder of another language
        .album(AlbumSpec::new(special_album).description("not the bin"))
        // 5: no metadata at all
        .album(AlbumSpec::new("Shared with Ann").meta(AlbumMetaStyle::Missing));

    let t2008 = 1_224_685_719; // 2008-10-22T14:28:39Z (DSCN0010's Exif time, as UTC)
    let t2021 = 1_618_174_073;
    let t2022 = 1_652_716_094;
    let t2023 = 1_672_574_400;
    let t2024 = 1_708_526_354;
    let at = |t: i64| TakenAt::At(t);
    let item = |k: &str, title: &str, t: i64| ItemSpec::new(k, title).taken(at(t));
    let sup = SidecarStyle::Supplemental;

    let mut groups: Vec<Vec<ItemSpec>> = Vec::new();
    // Real GPS photos, copies in year and album folders; an album-only item.
    groups.push(vec![
        item("gps-0010", "DSCN0010.jpg", t2008)
            .sample(Sample::GpsDscn0010)
            .geo(43.467_448_3, 11.885_126_7, 0.0)
            .geo_exif(43.467_448_3, 11.885_126_7, 0.0)
            .description("Piazza del Campo")
            .favorite()
            .people(&["Ann"])
            .in_album(0),
        item("gps-0021", "DSCN0021.jpg", 1_224_686_300)
            .sample(Sample::GpsDscn0021)
            .geo(43.5, 11.9, 12.0)
            .geo_exif(43.467_081_7, 11.884_538_3, 0.0)
            .places(&[Place::Album(0)])
            .sidecar(sup),
    ]);
    // Three items with one title: (1), (2) counters.
    groups.push(vec![
        item("canon", "IMG_3479.JPG", 1_212_155_761).sample(Sample::Canon40D),
        item("nikon", "IMG_3479.JPG", 1_205_571_121).sample(Sample::NikonD70),
        item("sony", "IMG_3479.JPG", 1_212_155_821)
            .sample(Sample::SonyHdrHc3)
            .sidecar(sup),
    ]);
    // Live photos of every kind.
    groups.push(vec![
        item("heic", "IMG_4573.HEIC", t2021)
            .sample(Sample::IphoneHeic)
            .geo_exif(39.051_344_4, -94.288_772_2, 260.56)
            .origin(OriginSpec::Iphone)
            .live(Live::Mp4)
            .sidecar(sup),
        item("heic-b1", "IMG_4574.HEIC", t2021 + 10)
            .live(Live::Mp4)
            .sidecar(sup)
            .origin(OriginSpec::Iphone),
        item("heic-b2", "IMG_4574.HEIC", t2021 + 20)
            .live(Live::Mp4)
            .sidecar(sup)
            .origin(OriginSpec::Iphone),
        item("pixel-mp", "PXL_20230101_123456789.MP.jpg", t2023)
            .live(Live::Extensionless)
            .sidecar(sup),
        item("pixel-mp2", "PXL_20230101_123456789.MP~2.jpg", t2023 + 5)
            .live(Live::Extensionless)
            .sidecar(sup),
        item("mvimg", "MVIMG_20191230_232926.jpg", 1_577_748_566)
            .live(Live::Extensionless)
            .sidecar(sup),
        item("mvimg-mp4", "MVIMG_20200101_101010.jpg", 1_577_873_410).live(Live::MvimgMp4),
        item("jpg-mov", "IMG_0001.JPG", 1_500_000_000)
            .live(Live::Mov)
            .origin(OriginSpec::Iphone),
        item("heic-bare", "IMG_5000.HEIC", t2024)
            .live(Live::Extensionless)
            .sidecar(sup),
    ]);
    // Long names (47-unit media cut, 46-unit sidecar stems, `..json`).
    groups.push(vec![
        item(
            "long-1",
            "PXL_20230809_203449253.LONG_EXPOSURE-02.ORIGINAL.jpg",
            t2023 + 100,
        )
        .sidecar(sup),
        item(
            "long-2",
            "05yqt21kruxwwlhhgrwrdyb6chhwszi9bqmzu16w0 2.jpg",
            t2023 + 200,
        )
        .sidecar(sup),
        item(
            "long-3",
            "alignment-temple-5D-32-temple-V-reconstructed.png",
            t2023 + 300,
        )
        .sidecar(sup),
        item(
            "long-4",
            "PXL_20230814_201154491.LONG_EXPOSURE-01.COVER.jpg",
            t2023 + 400,
        )
        .sidecar(sup),
        item(
            "pixel-portrait",
            "PXL_20230505_101010101.PORTRAIT.jpg",
            t2023 + 500,
        )
        .sidecar(sup),
        item("pixel-ls", "PXL_20230505_101010102.LS.mp4", t2023 + 600).sidecar(sup),
    ]);
    // Truncated names told apart by counters only.
    groups.push(vec![
        item(
            "uuid-1",
            &format!("{UUID}PXL_20220516_164814158.jpg"),
            t2022,
        ),
        item(
            "uuid-2",
            &format!("{UUID}PXL_20220517_090000000.jpg"),
            t2022 + 50,
        ),
        item(
            "fb-1",
            "13039_327707840323_537645323_9470255_27214_n.jpg",
            t2022 + 100,
        ),
        item(
            "fb-2",
            "13039_327707840323_537645323_9470255_27214_n.jpg",
            t2022 + 200,
        ),
    ]);
    // The clipped supplemental suffix, with counters.
    groups.push(vec![
        item(
            "shot-1",
            "Screenshot_20231027_123303_Facebook.jpg",
            t2023 + 1000,
        )
        .sidecar(sup),
        item(
            "shot-2",
            "Screenshot_20231027_123303_Facebook.jpg",
            t2023 + 1001,
        )
        .sidecar(sup),
        item("shot-3", "Screenshot_20200301-161151.png", 1_583_079_111).sidecar(sup),
        item("scan-1", "Scan35.jpg", t2022 + 300).sidecar(sup),
        item("scan-2", "Scan35.jpg", t2022 + 301).sidecar(sup),
        item(
            "snap",
            "Screenshot_2024-08-31-00-53-48-647_com.snapchat.jpg",
            t2024 + 100,
        )
        .sidecar(sup),
        item("neg-1", "Negative0-36-35.jpg", t2022 + 400).sidecar(sup),
        item("neg-2", "Negative0-36-35.jpg", t2022 + 401).sidecar(sup),
        item("neg-3", "Negative0-36-35(1).jpg", t2022 + 402)
            .sidecar(sup)
            .edited("-editat"),
    ]);
    // Ten collisions: CLIP0001(10).AVI.
    groups.push(
        (0..11)
            .map(|i| item(&format!("clip-{i}"), "CLIP0001.AVI", 1_100_000_000 + i).sidecar(sup))
            .collect(),
    );
    // 2026 unclipped names, UTF-16 lengths, replaced characters, titles without extension, `~2`.
    groups.push(vec![
        item(
            "insta-1",
            "Screenshot_20240101_101010_Instagram.jpg",
            t2024 + 200,
        )
        .sidecar(SidecarStyle::Unclipped),
        item(
            "insta-2",
            "Screenshot_20240101_101010_Instagram.jpg",
            t2024 + 201,
        )
        .sidecar(SidecarStyle::Unclipped),
        item("emoji", &format!("ab{}.jpg", "🎉".repeat(30)), t2024 + 300),
        item("slash", "27/06/12 - 1", 1_340_755_200).added_ext(".mov"),
        item("amp", "Tom & Jerry?.jpg", 1_340_755_300),
        item("noext", "20030616", 1_055_750_400)
            .added_ext(".jpg")
            .sidecar(sup),
        item("night", "PXL_20230101_101010101.NIGHT", t2023 + 700).added_ext(".jpg"),
        item("tilde-1", "IMG20240221145914.jpg", t2024).sidecar(sup),
        item("tilde-2", "IMG20240221145914~2.jpg", t2024 + 1).sidecar(sup),
    ]);
    // Edited variants in every language, and two cut by the truncation.
    groups.push(
        EDITED_SUFFIXES
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let it = item(
                    &format!("edit-{i}"),
                    &format!("IMG_70{i:02}.jpg"),
                    1_420_000_000 + i as i64,
                )
                .edited(s);
                if i % 2 == 0 { it } else { it.sidecar(sup) }
            })
            .chain([
                item(
                    "edit-cut-es",
                    "Vacaciones_en_la_playa_de_Tarifa_2022_0001.JPG",
                    t2022 + 500,
                )
                .edited("-ha editado"),
                item(
                    "edit-cut-de",
                    "Familienfeier_bei_Oma_und_Opa_2019_000001.jpg",
                    1_560_000_000,
                )
                .edited("-bearbeitet")
                .sidecar(sup),
            ])
            .collect(),
    );
    // Creations, with their own sidecars.
    groups.push(vec![
        item("collage", "IMG_8000-COLLAGE.jpg", t2022 + 600)
            .origin(OriginSpec::Composition("AUTO".into())),
        item("animation", "IMG_8001-ANIMATION.gif", t2022 + 601)
            .origin(OriginSpec::Composition("AUTO".into())),
        item("movie", "IMG_8002-MOVIE.m4v", t2022 + 602)
            .origin(OriginSpec::Composition("MANUAL".into())),
        item("effects", "IMG_8003-effects.jpg", t2022 + 603)
            .origin(OriginSpec::Composition("AUTO".into()))
            .sidecar(sup),
    ]);
    // Other sidecar names: without extension, counter inside the title, case changed.
    groups.push(vec![
        item("noext-sidecar", "IMG_9000.jpg", 1_450_000_000)
            .sidecar(SidecarStyle::WithoutExtension),
        item("cit-1", "IMG_9100.jpg", 1_450_000_100).sidecar(SidecarStyle::CounterInTitle),
        item("cit-2", "IMG_9100.jpg", 1_450_000_200).sidecar(SidecarStyle::CounterInTitle),
        item("case", "IMG_9200.jpg", 1_450_000_300).sidecar(SidecarStyle::CaseChanged),
    ]);
    // Sidecar contents and special folders.
    groups.push(vec![
        item("missing-time", "IMG_9300.jpg", 0)
            .taken(TakenAt::Missing)
            .created(1_455_000_000),
        item("zero-time", "IMG_9301.jpg", 0)
            .taken(TakenAt::Zero)
            .created(1_455_000_100),
        item("zero-geo", "IMG_9302.jpg", 1_460_000_000).geo(0.0, 0.0, 0.0),
        item("neg-alt", "IMG_9303.jpg", 1_460_000_100)
            .geo(45.0, 9.0, -0.0)
            .people(&["Ann", "Bob"]),
        item("partner", "IMG_9304.jpg", 1_460_000_200).origin(OriginSpec::Partner),
        item("partner-bad", "IMG_9305.jpg", 1_460_000_300).origin(OriginSpec::PartnerMalformed),
        item("shared", "IMG_9306.jpg", 1_460_000_400)
            .origin(OriginSpec::SharedAlbum)
            .places(&[Place::Album(5)]),
        item("web", "IMG_9307.jpg", 1_460_000_500)
            .origin(OriginSpec::Web)
            .favorite(),
        item("archived", "IMG_9400.jpg", 1_470_000_000)
            .places(&[Place::Archive])
            .sidecar(sup),
        item("trashed", "IMG_9401.jpg", 1_470_000_100).places(&[Place::Trash]),
        item("failed", "VID_9402.mp4", 1_470_000_200).places(&[Place::FailedVideos]),
        item("untitled-album", "IMG_9600.jpg", 1_480_000_000).in_album(3),
        item("cut-album", "IMG_9601.jpg", 1_480_000_100).places(&[Place::Album(1)]),
        item("old-album", "IMG_9602.jpg", 1_480_000_200)
            .in_album(2)
            .sidecar(sup),
        item("special-album", "IMG_9603.jpg", 1_480_000_300).in_album(4),
    ]);
    // No sidecar, no media, two conflicting sidecars.
    groups.push(vec![
        item("orphan", "orphan_without_sidecar.jpg", 1_490_000_000).sidecar(SidecarStyle::None),
        item("lost", "lost_media.jpg", 1_490_000_100).media_missing(),
        item("double", "IMG_9500.jpg", 1_490_000_200).sidecar(SidecarStyle::Double),
    ]);

    let mut rng = fastrand::Rng::with_seed(seed);
    rng.shuffle(&mut groups);
    spec.items = groups.into_iter().flatten().collect();
    spec
}

/// What [`newer_export`] or [`incremental_export`] changed, by item key.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExportDiff {
    pub added: Vec<String>,
    /// Deleted from the library (absent from a full export because they are gone).
    pub removed: Vec<String>,
    pub description_changed: Vec<String>,
    pub location_changed: Vec<String>,
    pub favorited: Vec<String>,
    /// (item key, album title)
    pub album_added: Vec<(String, String)>,
    /// Items edited in Google Photos since the last export: they come again with an edited
    /// variant of their own (`-edited`), the original kept.
    pub edited_added: Vec<String>,
    /// Items of the library that an incremental export does not carry (they were not deleted).
    pub not_carried: Vec<String>,
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `20250921T101010Z` + `days`.
fn later(ts: &str, days: i64) -> String {
    let n = |a: usize, b: usize| {
        ts.get(a..b)
            .and_then(|s| s.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let epoch = days_from_civil(n(0, 4), n(4, 6), n(6, 8)) * 86_400
        + n(9, 11) * 3600
        + n(11, 13) * 60
        + n(13, 15);
    let (y, mo, d, h, mi, s) = super::lang::civil(epoch + days * 86_400);
    format!("{y:04}{mo:02}{d:02}T{h:02}{mi:02}{s:02}Z")
}

/// The next export of the same account, 30 days later: three items added, two removed, one
/// description and one location edited, one item favourited and one added to the first album.
/// Only items with a title of their own are touched, so other items keep their names.
pub fn newer_export(old: &ExportSpec, seed: u64) -> (ExportSpec, ExportDiff) {
    let mut spec = old.clone();
    spec.timestamp = later(&old.timestamp, 30);
    let mut diff = ExportDiff::default();
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut pick = simple_items(&spec);
    rng.shuffle(&mut pick);
    let mut take = || pick.pop();
    if let Some(i) = take() {
        spec.items[i].description = format!("{} (edited later)", spec.items[i].description)
            .trim()
            .to_owned();
        diff.description_changed.push(spec.items[i].key.clone());
    }
    if let Some(i) = take() {
        spec.items[i].geo = Some((48.858_37, 2.294_481, 35.0));
        diff.location_changed.push(spec.items[i].key.clone());
    }
    if let Some(i) = take() {
        spec.items[i].favorite = true;
        diff.favorited.push(spec.items[i].key.clone());
    }
    if !spec.albums.is_empty()
        && let Some(i) = take()
    {
        spec.items[i].places.push(Place::Album(0));
        let title = if spec.albums[0].title.is_empty() {
            "Untitled(1)".to_owned()
        } else {
            spec.albums[0].title.clone()
        };
        diff.album_added.push((spec.items[i].key.clone(), title));
    }
    let mut removed = Vec::new();
    for _ in 0..2 {
        if let Some(i) = take() {
            removed.push(i);
        }
    }
    removed.sort_unstable();
    for i in removed.into_iter().rev() {
        diff.removed.push(spec.items.remove(i).key);
    }
    for k in 0..3 {
        let key = format!("new-{seed}-{k}");
        let t = 1_750_000_000 + i64::from(k) * 600;
        let mut it =
            ItemSpec::new(&key, &format!("PXL_20250620_1{k:05}000.jpg")).taken(TakenAt::At(t));
        it.sidecar = SidecarStyle::Supplemental;
        if k == 0 && !spec.albums.is_empty() {
            it.places.push(Place::Album(0));
        }
        spec.items.push(it);
        diff.added.push(key);
    }
    (spec, diff)
}

/// Indices of items with a title of their own, no variant or companion, a year-folder copy and
/// a plain sidecar: the ones a derived export may change without renaming anything else.
fn simple_items(spec: &ExportSpec) -> Vec<usize> {
    (0..spec.items.len())
        .filter(|&i| {
            let it = &spec.items[i];
            let unique = spec.items.iter().filter(|o| o.title == it.title).count() == 1;
            unique
                && it.edited.is_none()
                && it.live.is_none()
                && !it.media_missing
                && it.places.contains(&Place::Year)
                && matches!(
                    it.sidecar,
                    SidecarStyle::Legacy | SidecarStyle::Supplemental
                )
                && matches!(it.taken_at, TakenAt::At(_))
        })
        .collect()
}

/// The next *scheduled* export of the same account, 61 days later, as Google's incremental
/// Takeout makes it (google.md §4.1a): it holds only what was added or edited since `old`.
/// Three items are new (the first in the first album), one item was edited in Google Photos
/// (it comes again with its `-edited` variant and a changed description, the original kept),
/// one was favourited (it comes again). Every other item of `old` is simply not carried: it
/// was not deleted.
pub fn incremental_export(old: &ExportSpec, seed: u64) -> (ExportSpec, ExportDiff) {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut pick = simple_items(old);
    rng.shuffle(&mut pick);
    let mut diff = ExportDiff::default();
    let mut items = Vec::new();
    // The edited item's name must keep its suffix whole: Google cuts media names at 47 UTF-16
    // units, and a cut `-edited` name can equal the original's cut name (one archive path).
    let fits = |i: &usize| {
        let (base, _) = super::google::split(&old.items[*i].title);
        super::google::units(base) + "-edited".len() <= 47
    };
    if let Some(pos) = pick.iter().rposition(fits) {
        let i = pick.remove(pos);
        let mut it = old.items[i].clone();
        it.edited = Some("-edited".to_owned());
        it.description = format!("{} (retouched)", it.description).trim().to_owned();
        diff.edited_added.push(it.key.clone());
        diff.description_changed.push(it.key.clone());
        items.push(it);
    }
    if let Some(i) = pick.pop() {
        let mut it = old.items[i].clone();
        it.favorite = true;
        diff.favorited.push(it.key.clone());
        items.push(it);
    }
    let carried: std::collections::HashSet<&str> = items.iter().map(|i| i.key.as_str()).collect();
    diff.not_carried = old
        .items
        .iter()
        .filter(|i| !carried.contains(i.key.as_str()))
        .map(|i| i.key.clone())
        .collect();
    for k in 0..3 {
        let key = format!("inc-{seed}-{k}");
        let t = 1_760_000_000 + (seed % 1000) as i64 * 86_400 + i64::from(k) * 900;
        let title = format!("PXL_20251120_{:03}{k:03}000.jpg", seed % 1000);
        let mut it = ItemSpec::new(&key, &title).taken(TakenAt::At(t));
        it.sidecar = SidecarStyle::Supplemental;
        if k == 0 && !old.albums.is_empty() {
            it.places.push(Place::Album(0));
        }
        diff.added.push(key);
        items.push(it);
    }
    let mut spec = old.clone();
    spec.timestamp = later(&old.timestamp, 61);
    spec.items = items;
    (spec, diff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn realistic_export_is_consistent() {
        for seed in 0..11 {
            let spec = realistic_export(seed);
            let e = spec.expected().unwrap();
            assert!(e.parts.len() >= 3, "{} parts", e.parts.len());
            let rules: std::collections::BTreeSet<&str> = e.files.iter().map(|f| f.rule).collect();
            for r in [
                "legacy",
                "supplemental",
                "supplemental-clipped",
                "supplemental-unclipped",
                "sidecar-without-extension",
                "counter-in-title",
                "title-without-extension",
                "edited-variant",
                "live-companion",
                "title-only",
                "none",
                "ambiguous",
            ] {
                assert!(rules.contains(r), "seed {seed}: no {r}");
            }
            let paths: std::collections::HashSet<&str> =
                e.files.iter().map(|f| f.path.as_str()).collect();
            assert_eq!(paths.len(), e.files.len(), "unique paths");
            assert!(
                e.files
                    .iter()
                    .any(|f| f.sidecar_part.is_some_and(|p| p != f.part))
            );
        }
        let e = realistic_export(0).expected().unwrap();
        let names: Vec<&str> = e.files.iter().map(|f| f.file_name.as_str()).collect();
        for n in [
            "IMG_3479(2).JPG",
            "IMG_4574(1).MP4",
            "PXL_20230101_123456789.MP",
            "CLIP0001(10).AVI",
            "Negative0-36-35(1)(1).jpg",
            "Negative0-36-35(1)-editat(1).jpg",
            "Vacaciones_en_la_playa_de_Tarifa_2022_0001-ha e.JPG",
            "Familienfeier_bei_Oma_und_Opa_2019_000001-bearb.jpg",
            "27_06_12 - 1.mov",
            "original_1d4caa6f-16bb-4c1b-b1a4-9387de10e528_P(1).jpg",
        ] {
            assert!(names.contains(&n), "{n} missing");
        }
    }

    #[test]
    fn incremental_exports_of_every_seed_can_be_written() {
        let dir = tempfile::tempdir().unwrap();
        for seed in 0..12 {
            let old = realistic_export(seed);
            let (inc, _) = incremental_export(&old, seed);
            let out = dir.path().join(seed.to_string());
            std::fs::create_dir_all(&out).unwrap();
            crate::takeout_gen::write_export(&inc, &out)
                .unwrap_or_else(|e| panic!("seed {seed}: {e:#}"));
        }
    }

    #[test]
    fn incremental_export_carries_only_what_changed() {
        let old = realistic_export(4);
        let (inc, diff) = incremental_export(&old, 2);
        assert_eq!(inc.timestamp, "20251121T101010Z");
        assert_eq!(diff.added.len(), 3);
        assert!(diff.removed.is_empty());
        assert_eq!(diff.edited_added.len(), 1);
        assert_eq!(diff.favorited.len(), 1);
        assert_eq!(inc.items.len(), 5);
        assert_eq!(diff.not_carried.len(), old.items.len() - 2);
        let e = inc.expected().unwrap();
        let edited = &diff.edited_added[0];
        assert!(
            e.files
                .iter()
                .any(|f| &f.key == edited && f.rule == "edited-variant"),
            "the edited item comes with its variant"
        );
        assert!(
            e.files
                .iter()
                .any(|f| &f.key == edited && f.rule != "edited-variant"),
            "and with its original"
        );
        for k in &diff.not_carried {
            assert!(!e.files.iter().any(|f| &f.key == k));
        }
    }

    #[test]
    fn newer_export_changes() {
        let old = realistic_export(4);
        let (new, diff) = newer_export(&old, 9);
        assert_eq!(new.timestamp, "20251021T101010Z");
        assert_eq!(diff.added.len(), 3);
        assert_eq!(diff.removed.len(), 2);
        assert_eq!(diff.description_changed.len(), 1);
        assert_eq!(diff.location_changed.len(), 1);
        assert_eq!(diff.favorited.len(), 1);
        assert_eq!(diff.album_added.len(), 1);
        let e = new.expected().unwrap();
        for k in &diff.removed {
            assert!(!e.files.iter().any(|f| &f.key == k));
        }
        let changed = e
            .files
            .iter()
            .find(|f| f.key == diff.description_changed[0])
            .unwrap();
        assert!(changed.description.ends_with("(edited later)"));
        let (key, album) = &diff.album_added[0];
        assert!(
            e.files
                .iter()
                .any(|f| &f.key == key && f.albums.contains(album))
        );
        assert_eq!(later("20241231T230000Z", 1), "20250101T230000Z");
    }
}
