//! How Google names files in a Photos Takeout, written from google.md §4.5–§4.8 (the forward
//! direction: title → archive names). Independent of the reader in `photobak-takeout`.

/// Characters Google writes as `_` in archive names.
const REPLACED: &[char] = &['/', '\\', ':', '*', '?', '"', '<', '>', '|', '&'];

pub const SUPPLEMENTAL: &str = ".supplemental-metadata";

/// How the sidecar of an item is named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SidecarStyle {
    /// Old generation: `title[:46](N).json`.
    Legacy,
    /// New generation: `(title.supplemental-metadata)[:46](N).json`.
    Supplemental,
    /// 2026: `title.supplemental-metadata(N).json`, not clipped.
    Unclipped,
    /// The counter inside the title: `IMG(1).jpg.json`.
    CounterInTitle,
    /// Named after the title without its extension: `IMG_1.json`.
    WithoutExtension,
    /// A name no rule explains (extension case changed): only the title can pair it.
    CaseChanged,
    /// Two sidecars (both generations) with different content: readers must apply neither.
    Double,
    /// No sidecar at all.
    None,
}

pub fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if REPLACED.contains(&c) || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect()
}

pub fn units(s: &str) -> usize {
    s.encode_utf16().count()
}

/// Cut to `max` UTF-16 units; a character straddling the limit is kept whole (seen for media).
pub fn cut(s: &str, max: usize) -> String {
    let mut out = String::new();
    let mut n = 0;
    for c in s.chars() {
        if n >= max {
            break;
        }
        out.push(c);
        n += c.len_utf16();
    }
    out
}

/// `(base, ext)` split at the last dot.
pub fn split(title: &str) -> (&str, &str) {
    match title.rfind('.') {
        Some(i) if i > 0 => (&title[..i], &title[i..]),
        _ => (title, ""),
    }
}

fn counter(n: Option<u32>) -> String {
    n.map(|n| format!("({n})")).unwrap_or_default()
}

/// The media base before counter and extension: the title's base (or the whole title when
/// Google added the extension) with characters replaced, cut to 47 units.
pub fn media_stem(title: &str, added_ext: Option<&str>) -> String {
    let base = if added_ext.is_some() {
        title
    } else {
        split(title).0
    };
    cut(&sanitize(base), 47)
}

pub fn media_ext(title: &str, added_ext: Option<&str>) -> String {
    added_ext.map_or_else(|| split(title).1.to_owned(), str::to_owned)
}

/// The media name with an optional collision counter.
pub fn media_name(title: &str, added_ext: Option<&str>, n: Option<u32>) -> String {
    format!(
        "{}{}{}",
        media_stem(title, added_ext),
        counter(n),
        media_ext(title, added_ext)
    )
}

/// An edited variant's name: the suffix joins the base before the 47-unit cut.
pub fn edited_name(title: &str, added_ext: Option<&str>, suffix: &str, n: Option<u32>) -> String {
    let base = if added_ext.is_some() {
        title
    } else {
        split(title).0
    };
    format!(
        "{}{}{}",
        cut(&format!("{}{suffix}", sanitize(base)), 47),
        counter(n),
        media_ext(title, added_ext)
    )
}

/// The sidecar name(s) of an item in a folder.
pub fn sidecar_names(title: &str, style: SidecarStyle, n: Option<u32>) -> Vec<String> {
    let t = sanitize(title);
    let (tb, te) = split(&t);
    let legacy = format!("{}{}.json", cut(&t, 46), counter(n));
    let supplemental = format!(
        "{}{}.json",
        cut(&format!("{t}{SUPPLEMENTAL}"), 46),
        counter(n)
    );
    match style {
        SidecarStyle::Legacy => vec![legacy],
        SidecarStyle::Supplemental => vec![supplemental],
        SidecarStyle::Unclipped => vec![format!("{t}{SUPPLEMENTAL}{}.json", counter(n))],
        SidecarStyle::CounterInTitle => match n {
            Some(_) => vec![format!(
                "{}.json",
                cut(&format!("{tb}{}{te}", counter(n)), 46)
            )],
            None => vec![legacy],
        },
        SidecarStyle::WithoutExtension => vec![format!("{}{}.json", cut(tb, 46), counter(n))],
        SidecarStyle::CaseChanged => {
            let upper = format!("{tb}{}", te.to_uppercase());
            vec![format!("{}{}.json", cut(&upper, 46), counter(n))]
        }
        SidecarStyle::Double => vec![legacy, supplemental],
        SidecarStyle::None => vec![],
    }
}

/// The rule name `photobak_takeout::MatchRule::code` must report for this sidecar.
pub fn expected_rule(
    title: &str,
    added_ext: Option<&str>,
    style: SidecarStyle,
    n: Option<u32>,
) -> &'static str {
    if style == SidecarStyle::None {
        return "none";
    }
    if style == SidecarStyle::Double {
        return "ambiguous";
    }
    if style == SidecarStyle::CaseChanged {
        return "title-only";
    }
    if added_ext.is_some() {
        return "title-without-extension";
    }
    let t = sanitize(title);
    let legacy = cut(&t, 46);
    let full = format!("{t}{SUPPLEMENTAL}");
    match style {
        SidecarStyle::WithoutExtension => "sidecar-without-extension",
        SidecarStyle::CounterInTitle if n.is_some() => "counter-in-title",
        SidecarStyle::Legacy | SidecarStyle::CounterInTitle => "legacy",
        SidecarStyle::Supplemental => {
            let stem = cut(&full, 46);
            if stem == legacy {
                "legacy"
            } else if stem == full {
                "supplemental"
            } else {
                "supplemental-clipped"
            }
        }
        SidecarStyle::Unclipped => {
            if units(&full) <= 46 {
                "supplemental"
            } else {
                "supplemental-unclipped"
            }
        }
        SidecarStyle::CaseChanged | SidecarStyle::Double | SidecarStyle::None => {
            unreachable!("handled above")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The §4.6 table, produced by the forward rules.
    #[test]
    fn table_4_6_forward() {
        let t = "PXL_20230809_203449253.LONG_EXPOSURE-02.ORIGINAL.jpg";
        assert_eq!(
            media_name(t, None, None),
            "PXL_20230809_203449253.LONG_EXPOSURE-02.ORIGINA.jpg"
        );
        assert_eq!(
            sidecar_names(t, SidecarStyle::Legacy, None),
            ["PXL_20230809_203449253.LONG_EXPOSURE-02.ORIGIN.json"]
        );
        let t = "05yqt21kruxwwlhhgrwrdyb6chhwszi9bqmzu16w0 2.jpg";
        assert_eq!(
            sidecar_names(t, SidecarStyle::Supplemental, None),
            ["05yqt21kruxwwlhhgrwrdyb6chhwszi9bqmzu16w0 2.jp.json"]
        );
        let t = "alignment-temple-5D-32-temple-V-reconstructed.png";
        assert_eq!(
            sidecar_names(t, SidecarStyle::Supplemental, None),
            ["alignment-temple-5D-32-temple-V-reconstructed..json"]
        );
        let t = "PXL_20230814_201154491.LONG_EXPOSURE-01.COVER.jpg";
        assert_eq!(
            sidecar_names(t, SidecarStyle::Supplemental, None),
            ["PXL_20230814_201154491.LONG_EXPOSURE-01.COVER..json"]
        );
        let t = "original_1d4caa6f-16bb-4c1b-b1a4-9387de10e528_PXL_20220516_164814158.jpg";
        assert_eq!(
            media_name(t, None, Some(1)),
            "original_1d4caa6f-16bb-4c1b-b1a4-9387de10e528_P(1).jpg"
        );
        assert_eq!(
            sidecar_names(t, SidecarStyle::Legacy, None),
            ["original_1d4caa6f-16bb-4c1b-b1a4-9387de10e528_.json"]
        );
        let t = "Backyard_ceremony_wedding_photography_xxxxxxx_markham_magnoliastudios-19.jpg";
        assert_eq!(
            media_name(t, None, Some(494)),
            "Backyard_ceremony_wedding_photography_xxxxxxx_m(494).jpg"
        );
        assert_eq!(
            sidecar_names(t, SidecarStyle::Legacy, Some(494)),
            ["Backyard_ceremony_wedding_photography_xxxxxxx_(494).json"]
        );
        let t = "13039_327707840323_537645323_9470255_27214_n.jpg";
        assert_eq!(
            media_name(t, None, Some(1)),
            "13039_327707840323_537645323_9470255_27214_n(1).jpg"
        );
        assert_eq!(
            sidecar_names(t, SidecarStyle::Legacy, Some(1)),
            ["13039_327707840323_537645323_9470255_27214_n.j(1).json"]
        );
        assert_eq!(
            sidecar_names("DSC_0101.JPG", SidecarStyle::Legacy, Some(1)),
            ["DSC_0101.JPG(1).json"]
        );
        assert_eq!(
            sidecar_names("20161105_170829.jpg", SidecarStyle::Supplemental, None),
            ["20161105_170829.jpg.supplemental-metadata.json"]
        );
        assert_eq!(
            sidecar_names(
                "MVIMG_20191230_232926.jpg",
                SidecarStyle::Supplemental,
                None
            ),
            ["MVIMG_20191230_232926.jpg.supplemental-metadat.json"]
        );
        assert_eq!(
            sidecar_names(
                "Screenshot_20200301-161151.png",
                SidecarStyle::Supplemental,
                None
            ),
            ["Screenshot_20200301-161151.png.supplemental-me.json"]
        );
        assert_eq!(
            sidecar_names(
                "Screenshot_20231027_123303_Facebook.jpg",
                SidecarStyle::Supplemental,
                Some(1)
            ),
            ["Screenshot_20231027_123303_Facebook.jpg.supple(1).json"]
        );
        assert_eq!(
            sidecar_names("Scan35.jpg", SidecarStyle::Supplemental, Some(1)),
            ["Scan35.jpg.supplemental-metadata(1).json"]
        );
        assert_eq!(
            sidecar_names("CLIP0001.AVI", SidecarStyle::Supplemental, Some(10)),
            ["CLIP0001.AVI.supplemental-metadata(10).json"]
        );
        assert_eq!(
            sidecar_names(
                "Screenshot_2024-08-31-00-53-48-647_com.snapchat.jpg",
                SidecarStyle::Supplemental,
                None
            ),
            ["Screenshot_2024-08-31-00-53-48-647_com.snapcha.json"]
        );
        assert_eq!(
            media_name("Negative0-36-35(1).jpg", None, Some(1)),
            "Negative0-36-35(1)(1).jpg"
        );
        assert_eq!(
            sidecar_names(
                "Negative0-36-35(1).jpg",
                SidecarStyle::Supplemental,
                Some(1)
            ),
            ["Negative0-36-35(1).jpg.supplemental-metadata(1).json"]
        );
        assert_eq!(
            edited_name("Negative0-36-35(1).jpg", None, "-editat", Some(1)),
            "Negative0-36-35(1)-editat(1).jpg"
        );
    }

    #[test]
    fn other_forward_rules() {
        assert_eq!(
            media_name("27/06/12 - 1", Some(".mov"), None),
            "27_06_12 - 1.mov"
        );
        assert_eq!(
            sidecar_names("27/06/12 - 1", SidecarStyle::Legacy, None),
            ["27_06_12 - 1.json"]
        );
        assert_eq!(media_name("20030616", Some(".jpg"), None), "20030616.jpg");
        let emoji = format!("ab{}.jpg", "🎉".repeat(30));
        assert_eq!(units(split(&media_name(&emoji, None, None)).0), 48);
        assert_eq!(
            units(sidecar_names(&emoji, SidecarStyle::Legacy, None)[0].trim_end_matches(".json")),
            46
        );
        let long = format!("{}.JPG", "L".repeat(42));
        assert_eq!(
            edited_name(&long, None, "-ha editado", None),
            format!("{}-ha e.JPG", "L".repeat(42))
        );
        assert_eq!(
            expected_rule(
                "MVIMG_20191230_232926.jpg",
                None,
                SidecarStyle::Supplemental,
                None
            ),
            "supplemental-clipped"
        );
        assert_eq!(
            expected_rule(
                "20161105_170829.jpg",
                None,
                SidecarStyle::Supplemental,
                None
            ),
            "supplemental"
        );
        assert_eq!(
            expected_rule(
                "Screenshot_2024-08-31-00-53-48-647_com.snapchat.jpg",
                None,
                SidecarStyle::Supplemental,
                None
            ),
            "legacy"
        );
        assert_eq!(
            sidecar_names("IMG_1.jpg", SidecarStyle::CounterInTitle, Some(1)),
            ["IMG_1(1).jpg.json"]
        );
        assert_eq!(
            sidecar_names("IMG_1.jpg", SidecarStyle::WithoutExtension, None),
            ["IMG_1.json"]
        );
        assert_eq!(
            sidecar_names("IMG_1.jpg", SidecarStyle::CaseChanged, None),
            ["IMG_1.JPG.json"]
        );
    }
}
