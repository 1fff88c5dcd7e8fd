//! Pairing media files with sidecars inside one folder (§4.5–§4.10).
//!
//! The mapping is only deterministic from a media name to a sidecar name, so every candidate is
//! generated from the media side and then confirmed against the sidecar's `title`. When more
//! than one sidecar remains, none is applied.
//!
//! Every pairing here is between names of one [`crate::names::slice_key`] (a sidecar's is its
//! title's), which is what lets the scan match a large folder a slice of keys at a time
//! (`scan/slices.rs`). A rule added here must keep that true:
//! `a_folder_matched_in_slices_of_its_keys_is_matched_as_a_whole` checks it on random folders.

use std::collections::{HashMap, HashSet};

use crate::names::{
    self, MEDIA_BASE_UNITS, SIDECAR_STEM_UNITS, StemStyle, classify_stem, clips, counter_text,
    fold_key, relaxed_eq, split_ext, strip_counter, strip_edited_suffix,
};

/// The rule that paired a media file with its sidecar (or why none was).
///
/// `counter` is the `(N)` Google added to resolve a name collision, when the rule used one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MatchRule {
    /// Old generation: `title[:46](N).json` (also either generation when the title has ≥ 46
    /// UTF-16 units, where both give the same name).
    Legacy { counter: Option<u32> },
    /// New generation, suffix complete: `title.supplemental-metadata(N).json`.
    Supplemental { counter: Option<u32> },
    /// New generation clipped at 46 units: `….supplemental-me(N).json`, `…..json`.
    SupplementalClipped { counter: Option<u32> },
    /// New generation longer than the 46-unit clip (2026 exports).
    SupplementalUnclipped { counter: Option<u32> },
    /// Sidecar named after the title without its extension: `IMG_1.json` for `IMG_1.jpg`.
    SidecarWithoutExtension { counter: Option<u32> },
    /// The counter written inside the title: `IMG(1).jpg.json` for the 2nd `IMG.jpg`.
    CounterInTitle { counter: u32 },
    /// The title has no extension and Google added one to the media (`20030616` →
    /// `20030616.jpg` with `20030616.json`).
    TitleWithoutExtension { counter: Option<u32> },
    /// An edited variant (`-edited`, `-bearbeitet` …) sharing its original's sidecar.
    EditedVariant,
    /// An edited variant recognised by its structure, its suffix being in no table (§4.7: the
    /// set is open): `NAME-SUFFIX.EXT` without a sidecar of its own, beside `NAME.EXT` (same
    /// counter, same kind of media) that has one. `suffix` is the inferred one, dash included
    /// (`-redigeret`).
    EditedVariantInferred { suffix: Box<str> },
    /// The video of a live/motion photo sharing the still's sidecar.
    LiveCompanion,
    /// The sidecar's name fits no rule but its title (and counter) do, and no other media
    /// claims it.
    TitleOnly,
    /// No sidecar. The reason is one of a few fixed texts: a heap copy per media entry was
    /// 133,000 small allocations at the scan's peak, most of them freed again by the matching.
    None { reason: &'static str },
    /// Several sidecars fit (or one sidecar fits several media): none is applied.
    Ambiguous { candidates: Box<[String]> },
}

/// Every reason of [`MatchRule::None`] (a media entry in a spill file keeps its index).
pub(crate) const NONE_REASONS: [&str; 3] = [
    "no sidecar with a matching name and title",
    "its original has no sidecar",
    "its still has no sidecar",
];

impl MatchRule {
    /// A stable kebab-case name of the rule, without its data.
    pub fn code(&self) -> &'static str {
        match self {
            MatchRule::Legacy { .. } => "legacy",
            MatchRule::Supplemental { .. } => "supplemental",
            MatchRule::SupplementalClipped { .. } => "supplemental-clipped",
            MatchRule::SupplementalUnclipped { .. } => "supplemental-unclipped",
            MatchRule::SidecarWithoutExtension { .. } => "sidecar-without-extension",
            MatchRule::CounterInTitle { .. } => "counter-in-title",
            MatchRule::TitleWithoutExtension { .. } => "title-without-extension",
            MatchRule::EditedVariant => "edited-variant",
            MatchRule::EditedVariantInferred { .. } => "edited-variant-inferred",
            MatchRule::LiveCompanion => "live-companion",
            MatchRule::TitleOnly => "title-only",
            MatchRule::None { .. } => "none",
            MatchRule::Ambiguous { .. } => "ambiguous",
        }
    }

    /// The collision counter the rule used.
    pub fn counter(&self) -> Option<u32> {
        match self {
            MatchRule::Legacy { counter }
            | MatchRule::Supplemental { counter }
            | MatchRule::SupplementalClipped { counter }
            | MatchRule::SupplementalUnclipped { counter }
            | MatchRule::SidecarWithoutExtension { counter }
            | MatchRule::TitleWithoutExtension { counter } => *counter,
            MatchRule::CounterInTitle { counter } => Some(*counter),
            _ => None,
        }
    }

    /// The suffix of an edited variant recognised by structure.
    pub fn inferred_suffix(&self) -> Option<&str> {
        match self {
            MatchRule::EditedVariantInferred { suffix } => Some(suffix),
            _ => None,
        }
    }

    /// Whether a sidecar was applied.
    pub fn is_matched(&self) -> bool {
        !matches!(self, MatchRule::None { .. } | MatchRule::Ambiguous { .. })
    }
}

/// A sidecar as the matcher sees it.
#[derive(Debug, Clone)]
pub struct SidecarIn<'a> {
    /// File name of the JSON (`IMG_1.jpg.supplemental-metadata.json`).
    pub name: &'a str,
    /// Its `title`.
    pub title: &'a str,
    /// A hash of its content: byte-identical sidecars count as one candidate.
    pub content: u64,
}

/// Variant links, as indices into the folder's media list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocalVariant {
    Original,
    Edited(Option<usize>),
    LiveCompanion(Option<usize>),
    Creation,
}

/// The matcher's answer for one media file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Index into the folder's sidecar list.
    pub sidecar: Option<usize>,
    pub rule: MatchRule,
    pub variant: LocalVariant,
}

/// The answer for a whole folder.
#[derive(Debug, Clone)]
pub struct FolderMatch {
    pub outcomes: Vec<Outcome>,
    /// Sidecars applied to no media.
    pub unmatched: Vec<usize>,
}

struct Interp<'a> {
    base: &'a str,
    ext: &'a str,
    counter: Option<u32>,
}

fn interps(name: &str) -> Vec<Interp<'_>> {
    let (b0, ext) = split_ext(name);
    let mut v = vec![Interp {
        base: b0,
        ext,
        counter: None,
    }];
    if let Some((b1, k)) = strip_counter(b0) {
        v.push(Interp {
            base: b1,
            ext,
            counter: Some(k),
        });
    }
    v
}

/// Title consistency (§4.10 step 6): the media base is the title's base clipped to 47 units,
/// and the extensions agree; or the title has no (media) extension and Google added one.
fn title_fits(base: &str, ext: &str, title: &str) -> (bool, bool) {
    let (tb, te) = split_ext(title);
    let std = ((te.is_empty() && ext.is_empty())
        || (!te.is_empty() && ext.eq_ignore_ascii_case(te)))
        && clips(tb, MEDIA_BASE_UNITS)
            .iter()
            .any(|c| relaxed_eq(base, c));
    let no_ext = !ext.is_empty()
        && (te.is_empty() || !names::is_media_ext(te))
        && clips(title, MEDIA_BASE_UNITS)
            .iter()
            .any(|c| relaxed_eq(base, c));
    (std, no_ext)
}

fn style_rule(style: StemStyle, counter: Option<u32>) -> MatchRule {
    match style {
        StemStyle::Legacy => MatchRule::Legacy { counter },
        StemStyle::Supplemental => MatchRule::Supplemental { counter },
        StemStyle::SupplementalClipped => MatchRule::SupplementalClipped { counter },
        StemStyle::SupplementalUnclipped => MatchRule::SupplementalUnclipped { counter },
    }
}

/// `(stem, counter)` readings of a sidecar file name.
fn sidecar_stems(name: &str) -> Vec<(&str, Option<u32>)> {
    let stem = strip_json(name).unwrap_or(name);
    let mut v = vec![(stem, None)];
    if let Some((s, k)) = strip_counter(stem) {
        v.push((s, Some(k)));
    }
    v
}

/// `name` without a (case-insensitive) `.json` extension.
pub fn strip_json(name: &str) -> Option<&str> {
    let n = name.len();
    (n > 5 && name.is_char_boundary(n - 5) && name[n - 5..].eq_ignore_ascii_case(".json"))
        .then(|| &name[..n - 5])
}

/// Does the sidecar (name + title) belong to a media reading (base, ext, counter)? Returns the
/// rule that says so.
pub fn check(
    base: &str,
    ext: &str,
    counter: Option<u32>,
    sidecar_name: &str,
    title: &str,
) -> Option<MatchRule> {
    let (std, no_ext) = title_fits(base, ext, title);
    if !std && !no_ext {
        return None;
    }
    let (tb, te) = split_ext(title);
    for (stem, sc) in sidecar_stems(sidecar_name) {
        if std {
            if sc == counter {
                if let Some(style) = classify_stem(stem, title) {
                    return Some(style_rule(style, counter));
                }
                if !te.is_empty()
                    && clips(tb, SIDECAR_STEM_UNITS)
                        .iter()
                        .any(|c| relaxed_eq(stem, c))
                {
                    return Some(MatchRule::SidecarWithoutExtension { counter });
                }
            }
            if let (Some(k), None) = (counter, sc) {
                let q = format!("{tb}({k}){te}");
                // Only when the counter survived the clipping.
                if names::relaxed_starts_with(stem, &format!("{tb}({k})"))
                    && classify_stem(stem, &q).is_some()
                {
                    return Some(MatchRule::CounterInTitle { counter: k });
                }
            }
        }
        if no_ext && sc == counter && classify_stem(stem, title).is_some() {
            return Some(MatchRule::TitleWithoutExtension { counter });
        }
    }
    None
}

enum Own {
    One(usize, MatchRule),
    Many(Vec<usize>),
    Nothing,
}

/// A folder's names, indexed for the lookups the matching makes.
///
/// The indexes hold 64-bit hashes of their keys, sorted beside the index they name, not the
/// keys: with a `String` key and a `Vec` of indices per key they were some 700 bytes per file
/// of the folder being matched, held beside a large export's whole catalog (the scan's peak
/// rose by 6 MB while a year folder of 8,500 photos was matched). A hash names candidates
/// only: each is confirmed against the names themselves, so two keys of equal hashes cost a
/// comparison, never a wrong match.
struct Ctx<'a> {
    media: &'a [&'a str],
    sidecars: &'a [SidecarIn<'a>],
    /// Folded clips of each sidecar's title (with and without its extension) → the sidecar.
    /// Confirmed by [`title_fits`], which every candidate goes through.
    index: Vec<(u64, usize)>,
    /// The same clips, each with a counter written in the sidecar's name (`(N)`, anywhere in
    /// it) → the sidecar: the candidates of a media reading with counter N. Every rule that
    /// pairs such a reading with a sidecar reads N in the sidecar's name (after its stem,
    /// or inside it for [`MatchRule::CounterInTitle`]), so these are all of them; through
    /// [`Self::index`], a folder of thousands of `image(N).jpg` checked each against every
    /// sidecar titled `image.jpg`, quadratic: 5 s for 3,000 of them.
    by_counter: Vec<(u64, usize)>,
    by_name: HashMap<&'a str, usize>,
    /// Lower-case name → media.
    by_lower: Vec<(u64, usize)>,
    /// Lower-case name without extension → media.
    by_stem: Vec<(u64, usize)>,
}

/// A 64-bit hash of `bytes`, the same in every run: what tells byte-identical sidecars apart
/// ([`SidecarIn::content`]), and the keys of [`Ctx`]'s indexes.
pub(crate) fn content_hash(bytes: &[u8]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    h.finish()
}

/// The hash an index of [`Ctx`] keeps of a key.
fn key_hash(key: &str) -> u64 {
    content_hash(key.as_bytes())
}

/// The hash [`Ctx::by_counter`] keeps of a key with a counter.
fn counted_hash(key: &str, counter: u32) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    key.as_bytes().hash(&mut h);
    counter.hash(&mut h);
    h.finish()
}

/// An index of [`Ctx`] from (key hash, value) pairs: sorted, without repeats.
fn hash_index(mut pairs: Vec<(u64, usize)>) -> Vec<(u64, usize)> {
    pairs.sort_unstable();
    pairs.dedup();
    pairs.shrink_to_fit();
    pairs
}

/// The values under `key`'s hash in an index of [`Ctx`], in ascending order.
fn lookup<'i>(index: &'i [(u64, usize)], key: &str) -> impl Iterator<Item = usize> + 'i {
    lookup_hash(index, key_hash(key))
}

/// The values under the hash `h` in an index of [`Ctx`], in ascending order.
fn lookup_hash(index: &[(u64, usize)], h: u64) -> impl Iterator<Item = usize> + '_ {
    let from = index.partition_point(|&(k, _)| k < h);
    index[from..]
        .iter()
        .take_while(move |&&(k, _)| k == h)
        .map(|&(_, v)| v)
}

impl<'a> Ctx<'a> {
    fn new(media: &'a [&'a str], sidecars: &'a [SidecarIn<'a>]) -> Self {
        // Two clips of the title with and two without its extension, at most.
        let mut index = Vec::with_capacity(sidecars.len() * 4);
        let mut by_counter = Vec::new();
        for (i, s) in sidecars.iter().enumerate() {
            let (tb, _) = split_ext(s.title);
            for c in clips(tb, MEDIA_BASE_UNITS)
                .into_iter()
                .chain(clips(s.title, MEDIA_BASE_UNITS))
            {
                let key = fold_key(c);
                index.push((key_hash(&key), i));
                // Every counter of the name, a superset of those the rules read (each
                // candidate is confirmed by them).
                for k in names::counters_in(s.name) {
                    by_counter.push((counted_hash(&key, k), i));
                }
            }
        }
        let by_name = media.iter().enumerate().map(|(i, m)| (*m, i)).collect();
        let by_lower = media
            .iter()
            .enumerate()
            .map(|(i, m)| (key_hash(&m.to_lowercase()), i))
            .collect();
        let by_stem = media
            .iter()
            .enumerate()
            .map(|(i, m)| (key_hash(&split_ext(m).0.to_lowercase()), i))
            .collect();
        Ctx {
            media,
            sidecars,
            index: hash_index(index),
            by_counter: hash_index(by_counter),
            by_name,
            by_lower: hash_index(by_lower),
            by_stem: hash_index(by_stem),
        }
    }

    /// Media whose lower-case name is `lower`, in ascending order.
    fn media_by_lower<'s>(&'s self, lower: &'s str) -> impl Iterator<Item = usize> + 's {
        lookup(&self.by_lower, lower).filter(move |&i| self.media[i].to_lowercase() == lower)
    }

    /// Media whose lower-case name without extension is `stem`, in ascending order.
    fn media_by_stem<'s>(&'s self, stem: &'s str) -> impl Iterator<Item = usize> + 's {
        lookup(&self.by_stem, stem)
            .filter(move |&i| split_ext(self.media[i]).0.to_lowercase() == stem)
    }

    /// Distinct sidecars (identical content counted once) with the rule that found each.
    fn candidates(&self, name: &str, title_only: bool) -> Vec<(usize, MatchRule)> {
        let mut out: Vec<(usize, MatchRule)> = Vec::new();
        for it in interps(name) {
            let key = fold_key(it.base);
            let (index, h) = match it.counter {
                None => (&self.index, key_hash(&key)),
                Some(k) => (&self.by_counter, counted_hash(&key, k)),
            };
            for si in lookup_hash(index, h) {
                if out.iter().any(|(o, _)| *o == si) {
                    continue;
                }
                let s = &self.sidecars[si];
                #[cfg(test)]
                tests::CHECKED.with(|c| c.set(c.get() + 1));
                let rule = if title_only {
                    let (std, no_ext) = title_fits(it.base, it.ext, s.title);
                    let counter_ok = sidecar_stems(s.name)
                        .iter()
                        .any(|(_, sc)| *sc == it.counter)
                        && (it.counter.is_some()
                            || strip_counter(strip_json(s.name).unwrap_or(s.name)).is_none());
                    ((std || no_ext) && counter_ok).then_some(MatchRule::TitleOnly)
                } else {
                    check(it.base, it.ext, it.counter, s.name, s.title)
                };
                if let Some(rule) = rule {
                    out.push((si, rule));
                }
            }
        }
        let mut seen = HashSet::new();
        out.retain(|(si, _)| seen.insert(self.sidecars[*si].content));
        out
    }

    fn own(&self, name: &str) -> Own {
        let c = self.candidates(name, false);
        match c.len() {
            0 => Own::Nothing,
            1 => {
                let (si, rule) = c.into_iter().next().expect("one candidate");
                Own::One(si, rule)
            }
            _ => Own::Many(c.into_iter().map(|(si, _)| si).collect()),
        }
    }

    fn find_media(&self, name: &str, not: usize) -> Option<usize> {
        if let Some(&i) = self.by_name.get(name)
            && i != not
        {
            return Some(i);
        }
        self.media_by_lower(&name.to_lowercase())
            .find(|&i| i != not)
    }

    /// Names of the original an edited variant was made from.
    fn edited_original_names(&self, name: &str) -> Vec<String> {
        let (b0, ext) = split_ext(name);
        let mut out = Vec::new();
        if let Some(orig) = strip_edited_suffix(b0) {
            out.push(format!("{orig}{ext}"));
        }
        if let Some((b1, k)) = strip_counter(b0)
            && let Some(orig) = strip_edited_suffix(b1)
        {
            out.push(format!("{orig}{}{ext}", counter_text(Some(k))));
        }
        out
    }

    fn companion_stills(&self, i: usize) -> Vec<usize> {
        let name = self.media[i];
        if !names::is_companion_candidate(name) {
            return Vec::new();
        }
        let mut out = Vec::new();
        for s in names::still_names_for_companion(name) {
            if let Some(j) = self.find_media(&s, i)
                && !out.contains(&j)
            {
                out.push(j);
            }
        }
        out
    }
}

fn names_of(sidecars: &[SidecarIn<'_>], list: &[usize]) -> Box<[String]> {
    list.iter().map(|&i| sidecars[i].name.to_owned()).collect()
}

/// Matches all media of one folder with the folder's sidecars.
pub fn match_folder(media: &[&str], sidecars: &[SidecarIn<'_>]) -> FolderMatch {
    let ctx = Ctx::new(media, sidecars);
    let n = media.len();
    let none = |reason: &'static str| MatchRule::None { reason };
    let mut out: Vec<Outcome> = (0..n)
        .map(|_| Outcome {
            sidecar: None,
            rule: none(NONE_REASONS[0]),
            variant: LocalVariant::Original,
        })
        .collect();
    // Media still waiting for a decision.
    let mut open = vec![true; n];

    // Phase A: each file's own sidecar by the name rules.
    // (sidecar, file) pairs, grouped by sidecar below: a map to a vector per sidecar was an
    // allocation per matched file, the largest thing a year folder's matching held.
    let mut claims: Vec<(usize, usize)> = Vec::with_capacity(n);
    // Sidecars that fit several files: the title-only fallback must not take them either.
    let mut contested: HashSet<usize> = HashSet::new();
    for i in 0..n {
        match ctx.own(media[i]) {
            Own::One(si, rule) => {
                out[i].sidecar = Some(si);
                out[i].rule = rule;
                open[i] = false;
                claims.push((si, i));
            }
            Own::Many(list) => {
                contested.extend(list.iter().copied());
                out[i].rule = MatchRule::Ambiguous {
                    candidates: names_of(sidecars, &list),
                };
                open[i] = false;
            }
            Own::Nothing => {}
        }
    }
    // One sidecar claimed by several files: a still and its companions (a title without
    // extension gives both the same candidate) keep it on the still; anything else is ambiguous.
    claims.sort_unstable();
    for run in claims.chunk_by(|a, b| a.0 == b.0) {
        if run.len() < 2 {
            continue;
        }
        let si = run[0].0;
        let who: Vec<usize> = run.iter().map(|&(_, i)| i).collect();
        let stills: Vec<usize> = who
            .iter()
            .copied()
            .filter(|&m| {
                who.iter()
                    .all(|&o| o == m || ctx.companion_stills(o).contains(&m))
            })
            .collect();
        if let [still] = stills.as_slice() {
            for &o in who.iter().filter(|&&o| o != *still) {
                out[o].sidecar = None;
                out[o].rule = none(NONE_REASONS[0]);
                open[o] = true;
            }
        } else {
            contested.insert(si);
            for &o in &who {
                out[o].sidecar = None;
                out[o].rule = MatchRule::Ambiguous {
                    candidates: names_of(sidecars, &[si]),
                };
            }
        }
    }

    // Phase B: variants without a sidecar of their own.
    let mut links: Vec<Option<Vec<usize>>> = vec![None; n];
    for i in 0..n {
        if !open[i] {
            continue;
        }
        let originals = ctx.edited_original_names(media[i]);
        if let Some(o) = originals.iter().find_map(|name| ctx.find_media(name, i)) {
            out[i].variant = LocalVariant::Edited(Some(o));
            links[i] = Some(vec![o]);
            open[i] = false;
            continue;
        }
        if !originals.is_empty() {
            let mut found: Vec<(usize, MatchRule)> = Vec::new();
            for name in &originals {
                for c in ctx.candidates(name, false) {
                    if !found.iter().any(|(f, _)| *f == c.0) {
                        found.push(c);
                    }
                }
            }
            match found.len() {
                0 => {}
                1 => {
                    out[i].variant = LocalVariant::Edited(None);
                    out[i].sidecar = Some(found[0].0);
                    out[i].rule = MatchRule::EditedVariant;
                    open[i] = false;
                    continue;
                }
                _ => {
                    out[i].variant = LocalVariant::Edited(None);
                    let list: Vec<usize> = found.iter().map(|f| f.0).collect();
                    out[i].rule = MatchRule::Ambiguous {
                        candidates: names_of(sidecars, &list),
                    };
                    open[i] = false;
                    continue;
                }
            }
        }
        let stills = ctx.companion_stills(i);
        if !stills.is_empty() {
            out[i].variant = LocalVariant::LiveCompanion(Some(stills[0]));
            links[i] = Some(stills);
            open[i] = false;
        }
    }

    // Phase C: title-only fallback for the rest, never taking a sidecar another file has.
    // A flag per sidecar: a set of the taken ones (most of them) grew by rehashing.
    let mut taken = vec![false; sidecars.len()];
    for si in out
        .iter()
        .filter_map(|o| o.sidecar)
        .chain(contested.iter().copied())
    {
        taken[si] = true;
    }
    let mut late: HashMap<usize, Vec<usize>> = HashMap::new();
    for i in 0..n {
        if !open[i] {
            continue;
        }
        let c: Vec<usize> = ctx
            .candidates(media[i], true)
            .into_iter()
            .map(|(si, _)| si)
            .filter(|&si| !taken[si])
            .collect();
        match c.len() {
            0 => {}
            1 => {
                out[i].sidecar = Some(c[0]);
                out[i].rule = MatchRule::TitleOnly;
                late.entry(c[0]).or_default().push(i);
            }
            _ => {
                out[i].rule = MatchRule::Ambiguous {
                    candidates: names_of(sidecars, &c),
                }
            }
        }
    }
    for (si, who) in late {
        if who.len() > 1 {
            for o in who {
                out[o].sidecar = None;
                out[o].rule = MatchRule::Ambiguous {
                    candidates: names_of(sidecars, &[si]),
                };
            }
        }
    }

    // Phase C2: edited variants by structure (§4.7), for suffixes no table knows. A file left
    // with no sidecar at all (not even a contested or title-only one) whose name reads
    // `NAME-WORD[(N)].EXT`, beside `NAME[(N)].EXT` of the same media kind that has a sidecar
    // (or candidates) of its own. Runs after the title-only fallback so an original found only
    // by its title counts, and a file some sidecar's title fits is never taken for an edit.
    // Digits are no word (`IMG-2.jpg`), and a file with its own sidecar is an item of its own.
    let mut inferred: Vec<Option<String>> = vec![None; n];
    for i in 0..n {
        let bare = out[i].sidecar.is_none()
            && matches!(out[i].rule, MatchRule::None { .. })
            && out[i].variant == LocalVariant::Original
            && links[i].is_none();
        if !bare || names::has_creation_suffix(split_ext(media[i]).0) {
            continue;
        }
        let ext = split_ext(media[i]).1;
        let mut hits: Vec<(usize, String)> = Vec::new();
        for (orig_name, suffix) in names::inferred_edit_readings(media[i]) {
            // The same name, else the one file with that stem and another extension of the same
            // kind (an edit of a HEIC saved as JPEG); two such files: no guess.
            let o = ctx.find_media(&orig_name, i).or_else(|| {
                let stem = split_ext(&orig_name).0.to_lowercase();
                let same_kind: Vec<usize> = ctx
                    .media_by_stem(&stem)
                    .filter(|&o| o != i && names::same_media_kind(ext, split_ext(media[o]).1))
                    .collect();
                match same_kind.as_slice() {
                    [one] => Some(*one),
                    _ => None,
                }
            });
            let Some(o) = o else {
                continue;
            };
            let has_own = out[o].variant == LocalVariant::Original
                && links[o].is_none()
                && (out[o].sidecar.is_some() || matches!(out[o].rule, MatchRule::Ambiguous { .. }));
            if has_own
                && names::same_media_kind(ext, split_ext(media[o]).1)
                && !hits.iter().any(|(h, _)| *h == o)
            {
                hits.push((o, suffix));
            }
        }
        // Two readings naming two different originals: no guess.
        if let [(o, suffix)] = hits.as_slice() {
            out[i].variant = LocalVariant::Edited(Some(*o));
            links[i] = Some(vec![*o]);
            inferred[i] = Some(suffix.clone());
        }
    }

    // Phase D: variants take their original's (or still's) sidecar.
    for _ in 0..2 {
        for i in 0..n {
            let Some(from) = &links[i] else { continue };
            let mut sc: Vec<usize> = Vec::new();
            let mut ambiguous: Option<Box<[String]>> = None;
            for &o in from {
                match (&out[o].sidecar, &out[o].rule) {
                    (Some(s), _)
                        if !sc
                            .iter()
                            .any(|x| sidecars[*x].content == sidecars[*s].content) =>
                    {
                        sc.push(*s);
                    }
                    (None, MatchRule::Ambiguous { candidates }) => {
                        ambiguous = Some(candidates.clone())
                    }
                    _ => {}
                }
            }
            let edited = matches!(out[i].variant, LocalVariant::Edited(_));
            let (sidecar, rule) = match (sc.as_slice(), ambiguous) {
                ([one], None) => (
                    Some(*one),
                    match (&inferred[i], edited) {
                        (Some(suffix), _) => MatchRule::EditedVariantInferred {
                            suffix: suffix.as_str().into(),
                        },
                        (None, true) => MatchRule::EditedVariant,
                        (None, false) => MatchRule::LiveCompanion,
                    },
                ),
                ([], None) => (
                    None,
                    none(if edited {
                        NONE_REASONS[1]
                    } else {
                        NONE_REASONS[2]
                    }),
                ),
                (_, Some(c)) => (None, MatchRule::Ambiguous { candidates: c }),
                (many, None) => (
                    None,
                    MatchRule::Ambiguous {
                        candidates: names_of(sidecars, many),
                    },
                ),
            };
            out[i].sidecar = sidecar;
            out[i].rule = rule;
        }
    }

    for (i, o) in out.iter_mut().enumerate() {
        if o.variant == LocalVariant::Original && names::has_creation_suffix(split_ext(media[i]).0)
        {
            o.variant = LocalVariant::Creation;
        }
    }
    let used: HashSet<usize> = out.iter().filter_map(|o| o.sidecar).collect();
    let unmatched = (0..sidecars.len()).filter(|s| !used.contains(s)).collect();
    FolderMatch {
        outcomes: out,
        unmatched,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sc<'a>(name: &'a str, title: &'a str) -> SidecarIn<'a> {
        let content = {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            (name, title).hash(&mut h);
            h.finish()
        };
        SidecarIn {
            name,
            title,
            content,
        }
    }

    /// Runs the matcher and returns, per media, (sidecar name, rule code, counter).
    fn run(
        media: &[&str],
        sidecars: &[(&str, &str)],
    ) -> Vec<(Option<String>, &'static str, Option<u32>)> {
        let s: Vec<SidecarIn> = sidecars.iter().map(|(n, t)| sc(n, t)).collect();
        let m = match_folder(media, &s);
        m.outcomes
            .iter()
            .map(|o| {
                (
                    o.sidecar.map(|i| sidecars[i].0.to_owned()),
                    o.rule.code(),
                    o.rule.counter(),
                )
            })
            .collect()
    }

    fn pair(media: &str, sidecar: &str, title: &str) -> (&'static str, Option<u32>) {
        let r = run(&[media], &[(sidecar, title)]);
        assert_eq!(
            r[0].0.as_deref(),
            Some(sidecar),
            "{media} ↔ {sidecar} ({title}): {r:?}"
        );
        (r[0].1, r[0].2)
    }

    /// The indexes keep hashes of their keys: entries of equal hashes but other keys (forged
    /// here: finding a 64-bit collision is impractical for a test) are candidates only, never
    /// matches.
    #[test]
    fn equal_key_hashes_are_confirmed_by_the_names() {
        let media = ["IMG_1.jpg", "other.jpg", "IMG_1.png"];
        let sidecars = [
            sc("IMG_1.jpg.supplemental-metadata.json", "IMG_1.jpg"),
            sc("other.jpg.supplemental-metadata.json", "other.jpg"),
        ];
        let mut ctx = Ctx::new(&media, &sidecars);
        // Every key also names every media entry and every sidecar.
        let forge = |index: &mut Vec<(u64, usize)>, n: usize| {
            let keys: Vec<u64> = index.iter().map(|&(k, _)| k).collect();
            index.extend(keys.iter().flat_map(|&k| (0..n).map(move |i| (k, i))));
            *index = hash_index(std::mem::take(index));
        };
        forge(&mut ctx.index, sidecars.len());
        forge(&mut ctx.by_lower, media.len());
        forge(&mut ctx.by_stem, media.len());
        let own: Vec<usize> = ctx
            .candidates("IMG_1.jpg", false)
            .into_iter()
            .map(|(si, _)| si)
            .collect();
        assert_eq!(own, [0]);
        assert_eq!(ctx.find_media("img_1.JPG", 9), Some(0));
        assert_eq!(ctx.find_media("img_1.JPG", 0), None);
        assert_eq!(ctx.find_media("OTHER.jpg", 1), None);
        assert_eq!(ctx.media_by_stem("img_1").collect::<Vec<_>>(), [0, 2]);
        assert_eq!(ctx.media_by_stem("other").collect::<Vec<_>>(), [1]);
    }

    const UUID: &str = "original_1d4caa6f-16bb-4c1b-b1a4-9387de10e528_";

    /// Every row of the §4.6 worked-examples table.
    #[test]
    fn table_4_6() {
        assert_eq!(
            pair(
                "PXL_20230809_203449253.LONG_EXPOSURE-02.ORIGINA.jpg",
                "PXL_20230809_203449253.LONG_EXPOSURE-02.ORIGIN.json",
                "PXL_20230809_203449253.LONG_EXPOSURE-02.ORIGINAL.jpg"
            ),
            ("legacy", None)
        );
        assert_eq!(
            pair(
                "05yqt21kruxwwlhhgrwrdyb6chhwszi9bqmzu16w0 2.jpg",
                "05yqt21kruxwwlhhgrwrdyb6chhwszi9bqmzu16w0 2.jp.json",
                "05yqt21kruxwwlhhgrwrdyb6chhwszi9bqmzu16w0 2.jpg"
            ),
            ("legacy", None)
        );
        assert_eq!(
            pair(
                "alignment-temple-5D-32-temple-V-reconstructed.png",
                "alignment-temple-5D-32-temple-V-reconstructed..json",
                "alignment-temple-5D-32-temple-V-reconstructed.png"
            ),
            ("legacy", None)
        );
        assert_eq!(
            pair(
                "PXL_20230814_201154491.LONG_EXPOSURE-01.COVER.jpg",
                "PXL_20230814_201154491.LONG_EXPOSURE-01.COVER..json",
                "PXL_20230814_201154491.LONG_EXPOSURE-01.COVER.jpg"
            ),
            ("legacy", None)
        );
        // Two truncated media sharing one 46-unit prefix, told apart by the counter.
        let t1 = format!("{UUID}PXL_20220516_164814158.jpg");
        let t2 = format!("{UUID}PXL_20220517_101010101.jpg");
        let m1 = format!("{UUID}P.jpg");
        let m2 = format!("{UUID}P(1).jpg");
        let s1 = format!("{UUID}.json");
        let s2 = format!("{UUID}(1).json");
        let r = run(&[&m1, &m2], &[(&s1, &t1), (&s2, &t2)]);
        assert_eq!(r[0], (Some(s1.clone()), "legacy", None));
        assert_eq!(r[1], (Some(s2.clone()), "legacy", Some(1)));
        assert_eq!(
            pair(
                "Backyard_ceremony_wedding_photography_xxxxxxx_m(494).jpg",
                "Backyard_ceremony_wedding_photography_xxxxxxx_(494).json",
                "Backyard_ceremony_wedding_photography_xxxxxxx_markham_magnoliastudios-19.jpg"
            ),
            ("legacy", Some(494))
        );
        assert_eq!(
            pair(
                "13039_327707840323_537645323_9470255_27214_n(1).jpg",
                "13039_327707840323_537645323_9470255_27214_n.j(1).json",
                "13039_327707840323_537645323_9470255_27214_n.jpg"
            ),
            ("legacy", Some(1))
        );
        assert_eq!(
            pair("DSC_0101(1).JPG", "DSC_0101.JPG(1).json", "DSC_0101.JPG"),
            ("legacy", Some(1))
        );
        assert_eq!(
            pair("IMG_2710(1).HEIC", "IMG_2710.HEIC(1).json", "IMG_2710.HEIC"),
            ("legacy", Some(1))
        );
        assert_eq!(
            pair(
                "20161105_170829.jpg",
                "20161105_170829.jpg.supplemental-metadata.json",
                "20161105_170829.jpg"
            ),
            ("supplemental", None)
        );
        assert_eq!(
            pair(
                "MVIMG_20191230_232926.jpg",
                "MVIMG_20191230_232926.jpg.supplemental-metadat.json",
                "MVIMG_20191230_232926.jpg"
            ),
            ("supplemental-clipped", None)
        );
        assert_eq!(
            pair(
                "Screenshot_20200301-161151.png",
                "Screenshot_20200301-161151.png.supplemental-me.json",
                "Screenshot_20200301-161151.png"
            ),
            ("supplemental-clipped", None)
        );
        let r = run(
            &[
                "Screenshot_20231027_123303_Facebook.jpg",
                "Screenshot_20231027_123303_Facebook(1).jpg",
            ],
            &[
                (
                    "Screenshot_20231027_123303_Facebook.jpg.supple.json",
                    "Screenshot_20231027_123303_Facebook.jpg",
                ),
                (
                    "Screenshot_20231027_123303_Facebook.jpg.supple(1).json",
                    "Screenshot_20231027_123303_Facebook.jpg",
                ),
            ],
        );
        assert_eq!(
            r[0].0.as_deref(),
            Some("Screenshot_20231027_123303_Facebook.jpg.supple.json")
        );
        assert_eq!(
            r[1].0.as_deref(),
            Some("Screenshot_20231027_123303_Facebook.jpg.supple(1).json")
        );
        assert_eq!((r[1].1, r[1].2), ("supplemental-clipped", Some(1)));
        assert_eq!(
            pair(
                "Scan35(1).jpg",
                "Scan35.jpg.supplemental-metadata(1).json",
                "Scan35.jpg"
            ),
            ("supplemental", Some(1))
        );
        assert_eq!(
            pair(
                "CLIP0001(10).AVI",
                "CLIP0001.AVI.supplemental-metadata(10).json",
                "CLIP0001.AVI"
            ),
            ("supplemental", Some(10))
        );
        assert_eq!(
            pair(
                "Screenshot_2024-08-31-00-53-48-647_com.snapchat.jpg",
                "Screenshot_2024-08-31-00-53-48-647_com.snapcha.json",
                "Screenshot_2024-08-31-00-53-48-647_com.snapchat.jpg"
            ),
            ("legacy", None)
        );
        // The 2nd item whose own name ends in (1), next to the 2nd `Negative0-36-35.jpg`.
        let r = run(
            &[
                "Negative0-36-35.jpg",
                "Negative0-36-35(1).jpg",
                "Negative0-36-35(1)(1).jpg",
            ],
            &[
                (
                    "Negative0-36-35.jpg.supplemental-metadata.json",
                    "Negative0-36-35.jpg",
                ),
                (
                    "Negative0-36-35.jpg.supplemental-metadata(1).json",
                    "Negative0-36-35.jpg",
                ),
                (
                    "Negative0-36-35(1).jpg.supplemental-metadata(1).json",
                    "Negative0-36-35(1).jpg",
                ),
            ],
        );
        assert_eq!(
            r[0].0.as_deref(),
            Some("Negative0-36-35.jpg.supplemental-metadata.json")
        );
        assert_eq!(
            r[1].0.as_deref(),
            Some("Negative0-36-35.jpg.supplemental-metadata(1).json")
        );
        assert_eq!(
            r[2].0.as_deref(),
            Some("Negative0-36-35(1).jpg.supplemental-metadata(1).json")
        );
        assert_eq!((r[2].1, r[2].2), ("supplemental", Some(1)));
    }

    #[test]
    fn counters_three_way() {
        let r = run(
            &["IMG_3479.JPG", "IMG_3479(1).JPG", "IMG_3479(2).JPG"],
            &[
                ("IMG_3479.JPG.json", "IMG_3479.JPG"),
                ("IMG_3479.JPG(1).json", "IMG_3479.JPG"),
                ("IMG_3479.JPG(2).json", "IMG_3479.JPG"),
            ],
        );
        assert_eq!(r[0], (Some("IMG_3479.JPG.json".into()), "legacy", None));
        assert_eq!(
            r[1],
            (Some("IMG_3479.JPG(1).json".into()), "legacy", Some(1))
        );
        assert_eq!(
            r[2],
            (Some("IMG_3479.JPG(2).json".into()), "legacy", Some(2))
        );
    }

    #[test]
    fn counter_inside_the_title_position() {
        assert_eq!(
            pair("IMG_1(1).jpg", "IMG_1(1).jpg.json", "IMG_1.jpg"),
            ("counter-in-title", Some(1))
        );
        assert_eq!(
            pair(
                "IMG_1(2).jpg",
                "IMG_1(2).jpg.supplemental-metadata.json",
                "IMG_1.jpg"
            ),
            ("counter-in-title", Some(2))
        );
    }

    #[test]
    fn unclipped_2026_names() {
        let t = "Screenshot_20231027_123303_Facebook.jpg";
        assert_eq!(
            pair(t, &format!("{t}.supplemental-metadata.json"), t),
            ("supplemental-unclipped", None)
        );
        let m = "Screenshot_20231027_123303_Facebook(1).jpg";
        assert_eq!(
            pair(m, &format!("{t}.supplemental-metadata(1).json"), t),
            ("supplemental-unclipped", Some(1))
        );
        // A 53-character name: clipped elsewhere than 46.
        let t2 = "PXL_20250101_101010101.LONG_EXPOSURE-01.COVER.jpg";
        let s2 = format!("{}.json", &format!("{t2}.supplemental-metadata")[..53]);
        assert_eq!(pair(t2, &s2, t2), ("supplemental-unclipped", None));
    }

    #[test]
    fn utf16_lengths() {
        let title = format!("ab{}.jpg", "🎉".repeat(30));
        let media = format!("ab{}.jpg", "🎉".repeat(23)); // 48 units: the 47 cut split a pair
        let stem = format!("ab{}", "🎉".repeat(22)); // 46 units, 24 code points
        assert_eq!(names::utf16_len(&stem), 46);
        assert_eq!(stem.chars().count(), 24);
        assert_eq!(
            pair(&media, &format!("{stem}.json"), &title),
            ("legacy", None)
        );
        // A stem cut at 46 bytes is shorter than any name rule allows: only the title fallback
        // (no other file claims it) takes it.
        let by_bytes = &title[..title.floor_char_boundary(46)];
        let r = run(&[&media], &[(&format!("{by_bytes}.json"), &title)]);
        assert_eq!(r[0].1, "title-only");
        // A media name cut at 47 code points instead of 47 units is not this title's.
        let by_chars: String = title.chars().take(47).collect();
        let r = run(
            &[&format!("{by_chars}.jpg")],
            &[(&format!("{stem}.json"), &title)],
        );
        assert_eq!(r[0].1, "none");
    }

    #[test]
    fn replaced_characters() {
        assert_eq!(
            pair("27_06_12 - 1.mov", "27_06_12 - 1.json", "27/06/12 - 1"),
            ("title-without-extension", None)
        );
        assert_eq!(
            pair(
                "Tom _ Jerry_.jpg",
                "Tom _ Jerry_.jpg.json",
                "Tom & Jerry?.jpg"
            ),
            ("legacy", None)
        );
    }

    #[test]
    fn titles_without_extension() {
        assert_eq!(
            pair("20030616.jpg", "20030616.json", "20030616"),
            ("title-without-extension", None)
        );
        assert_eq!(
            pair(
                "20030616.jpg",
                "20030616.supplemental-metadata.json",
                "20030616"
            ),
            ("title-without-extension", None)
        );
        assert_eq!(
            pair(
                "PXL_1.NIGHT.jpg",
                "PXL_1.NIGHT.supplemental-metadata.json",
                "PXL_1.NIGHT"
            ),
            ("title-without-extension", None)
        );
        assert_eq!(
            pair("IMG_5.jpg", "IMG_5.json", "IMG_5.jpg"),
            ("sidecar-without-extension", None)
        );
    }

    #[test]
    fn tilde_names_are_distinct() {
        let r = run(
            &["IMG20240221145914.jpg", "IMG20240221145914~2.jpg"],
            &[
                (
                    "IMG20240221145914.jpg.supplemental-metadata.json",
                    "IMG20240221145914.jpg",
                ),
                (
                    "IMG20240221145914~2.jpg.supplemental-metadata.json",
                    "IMG20240221145914~2.jpg",
                ),
            ],
        );
        assert_eq!(
            r[0].0.as_deref(),
            Some("IMG20240221145914.jpg.supplemental-metadata.json")
        );
        assert_eq!(
            r[1].0.as_deref(),
            Some("IMG20240221145914~2.jpg.supplemental-metadata.json")
        );
    }

    #[test]
    fn edited_variants_share_the_original() {
        for suffix in names::EDITED_SUFFIXES {
            let edited = format!("IMG_7{suffix}.jpg");
            let s = [sc("IMG_7.jpg.json", "IMG_7.jpg")];
            let media = ["IMG_7.jpg", edited.as_str()];
            let m = match_folder(&media, &s);
            assert_eq!(m.outcomes[1].sidecar, Some(0), "{suffix}");
            assert_eq!(m.outcomes[1].rule, MatchRule::EditedVariant);
            assert_eq!(m.outcomes[1].variant, LocalVariant::Edited(Some(0)));
        }
        // Counter after the suffix.
        let s = [
            sc(
                "Negative0-36-35.jpg.supplemental-metadata(1).json",
                "Negative0-36-35.jpg",
            ),
            sc(
                "Negative0-36-35(1).jpg.supplemental-metadata(1).json",
                "Negative0-36-35(1).jpg",
            ),
        ];
        let media = [
            "Negative0-36-35(1).jpg",
            "Negative0-36-35(1)(1).jpg",
            "Negative0-36-35(1)-editat(1).jpg",
        ];
        let m = match_folder(&media, &s);
        assert_eq!(m.outcomes[2].variant, LocalVariant::Edited(Some(1)));
        assert_eq!(m.outcomes[2].sidecar, Some(1));
        // Suffix cut by the 47-unit truncation, original absent from the folder.
        let title = format!("{}.JPG", "L".repeat(42));
        let edited = format!("{}-ha e.JPG", "L".repeat(42));
        let sname = format!("{}.JPG.json", "L".repeat(42));
        let s = [sc(&sname, &title)];
        let m = match_folder(&[edited.as_str()], &s);
        assert_eq!(m.outcomes[0].sidecar, Some(0));
        assert_eq!(m.outcomes[0].rule, MatchRule::EditedVariant);
        assert_eq!(m.outcomes[0].variant, LocalVariant::Edited(None));
    }

    #[test]
    fn edited_variants_inferred_by_structure() {
        for suffix in [
            "-redigeret",
            "-muokattu",
            "-upraveno",
            "-szerkesztett",
            "-ha retocado",
            "-編集",
            "-glorpified",
        ] {
            let edited = format!("IMG_7{suffix}.jpg");
            let s = [sc("IMG_7.jpg.supplemental-metadata.json", "IMG_7.jpg")];
            let media = ["IMG_7.jpg", edited.as_str()];
            let m = match_folder(&media, &s);
            assert_eq!(m.outcomes[1].sidecar, Some(0), "{suffix}");
            assert_eq!(
                m.outcomes[1].rule,
                MatchRule::EditedVariantInferred {
                    suffix: suffix.into()
                }
            );
            assert_eq!(m.outcomes[1].rule.code(), "edited-variant-inferred");
            assert_eq!(m.outcomes[1].rule.inferred_suffix(), Some(suffix));
            assert_eq!(m.outcomes[1].variant, LocalVariant::Edited(Some(0)));
            assert_eq!(m.outcomes[0].rule.code(), "supplemental");
        }
        // Counter after the suffix; the original found by its title only; a HEIC edited as JPEG.
        let s = [
            sc("IMG_8.jpg.json", "IMG_8.jpg"),
            sc("IMG_8.jpg(1).json", "IMG_8.jpg"),
            sc("IMG_9.JPG.json", "IMG_9.jpg"),
            sc("IMG_10.HEIC.json", "IMG_10.HEIC"),
        ];
        // (IMG_10.MP4 is the live companion of IMG_10.HEIC, not a candidate original.)
        let media = [
            "IMG_8.jpg",
            "IMG_8(1).jpg",
            "IMG_8-upraveno(1).jpg",
            "IMG_9.jpg",
            "IMG_9-muokattu.jpg",
            "IMG_10.HEIC",
            "IMG_10-redigeret.jpg",
            "IMG_10.MP4",
        ];
        let m = match_folder(&media, &s);
        assert_eq!(m.outcomes[2].variant, LocalVariant::Edited(Some(1)));
        assert_eq!(m.outcomes[2].sidecar, Some(1));
        assert_eq!(m.outcomes[3].rule.code(), "title-only");
        assert_eq!(m.outcomes[4].variant, LocalVariant::Edited(Some(3)));
        assert_eq!(m.outcomes[4].sidecar, Some(2));
        assert_eq!(m.outcomes[6].variant, LocalVariant::Edited(Some(5)));
        assert_eq!(m.outcomes[6].rule.inferred_suffix(), Some("-redigeret"));
        assert!(m.unmatched.is_empty());
    }

    #[test]
    fn no_edited_variant_is_inferred_without_the_structure() {
        // `IMG-2.jpg` with a sidecar of its own is an item of its own.
        let s = [
            sc("IMG.jpg.json", "IMG.jpg"),
            sc("IMG-2.jpg.json", "IMG-2.jpg"),
        ];
        let m = match_folder(&["IMG.jpg", "IMG-2.jpg"], &s);
        assert_eq!(m.outcomes[1].sidecar, Some(1));
        assert_eq!(m.outcomes[1].variant, LocalVariant::Original);
        // So is a word suffix with its own sidecar.
        let s = [
            sc("Trip.jpg.json", "Trip.jpg"),
            sc("Trip-beach.jpg.json", "Trip-beach.jpg"),
        ];
        let m = match_folder(&["Trip.jpg", "Trip-beach.jpg"], &s);
        assert_eq!(m.outcomes[1].sidecar, Some(1));
        assert_eq!(m.outcomes[1].rule.code(), "legacy");
        // Digits are no suffix, even without a sidecar.
        let s = [sc("IMG.jpg.json", "IMG.jpg")];
        let m = match_folder(&["IMG.jpg", "IMG-2.jpg"], &s);
        assert_eq!(m.outcomes[1].sidecar, None);
        assert_eq!(m.outcomes[1].rule.code(), "none");
        assert_eq!(m.outcomes[1].variant, LocalVariant::Original);
        // A video is no edit of a photo.
        let m = match_folder(&["IMG.jpg", "IMG-clip.mp4"], &s);
        assert_eq!(m.outcomes[1].sidecar, None);
        assert_eq!(m.outcomes[1].variant, LocalVariant::Original);
        // An original without a sidecar of its own gives nothing to infer from.
        let m = match_folder(&["A.jpg", "A-redigeret.jpg"], &[]);
        assert_eq!(m.outcomes[1].variant, LocalVariant::Original);
        assert_eq!(m.outcomes[1].rule.code(), "none");
        // No original beside it.
        let m = match_folder(&["IMG-redigeret.jpg"], &s);
        assert_eq!(m.outcomes[0].variant, LocalVariant::Original);
        assert_eq!(m.outcomes[0].sidecar, None);
        // An original whose sidecar is ambiguous passes the ambiguity on.
        let s = [sc("X.json", "X"), sc("X.jpg.json", "X.jpg")];
        let m = match_folder(&["X.jpg", "X-redigeret.jpg"], &s);
        assert_eq!(m.outcomes[1].variant, LocalVariant::Edited(Some(0)));
        assert_eq!(m.outcomes[1].rule.code(), "ambiguous");
        assert_eq!(m.outcomes[1].sidecar, None);
    }

    #[test]
    fn live_photos() {
        let s = [
            sc("IMG_4573.HEIC.supplemental-metadata.json", "IMG_4573.HEIC"),
            sc(
                "PXL_20230101_123456789.MP.jpg.supplemental-metadata.json",
                "PXL_20230101_123456789.MP.jpg",
            ),
            sc(
                "PXL_20230101_123456789.MP~2.jpg.supplemental-metad.json",
                "PXL_20230101_123456789.MP~2.jpg",
            ),
            sc(
                "MVIMG_20191230_232926.jpg.json",
                "MVIMG_20191230_232926.jpg",
            ),
            sc("IMG_0001.JPG.json", "IMG_0001.JPG"),
            sc("IMG_4574.HEIC(1).json", "IMG_4574.HEIC"),
            sc("IMG_4574.HEIC.json", "IMG_4574.HEIC"),
        ];
        let media = [
            "IMG_4573.HEIC",
            "IMG_4573.MP4",
            "PXL_20230101_123456789.MP.jpg",
            "PXL_20230101_123456789.MP",
            "PXL_20230101_123456789.MP~2.jpg",
            "PXL_20230101_123456789.MP~2",
            "MVIMG_20191230_232926.jpg",
            "MVIMG_20191230_232926",
            "IMG_0001.JPG",
            "IMG_0001.MOV",
            "IMG_4574(1).HEIC",
            "IMG_4574(1).MP4",
            "IMG_4574.HEIC",
            "IMG_4574",
        ];
        let m = match_folder(&media, &s);
        let expect = [
            (1, 0, 0),
            (3, 2, 1),
            (5, 4, 2),
            (7, 6, 3),
            (9, 8, 4),
            (11, 10, 5),
            (13, 12, 6),
        ];
        for (video, still, sidecar) in expect {
            let o = &m.outcomes[video];
            assert_eq!(
                o.variant,
                LocalVariant::LiveCompanion(Some(still)),
                "{}",
                media[video]
            );
            assert_eq!(o.sidecar, Some(sidecar), "{}", media[video]);
            assert_eq!(o.rule, MatchRule::LiveCompanion);
            assert_eq!(m.outcomes[still].sidecar, Some(sidecar));
        }
        assert!(m.unmatched.is_empty());
    }

    #[test]
    fn still_and_companion_of_an_extensionless_title() {
        let s = [sc("IMG_9.json", "IMG_9")];
        let m = match_folder(&["IMG_9.jpg", "IMG_9.mp4"], &s);
        assert_eq!(m.outcomes[0].sidecar, Some(0));
        assert_eq!(m.outcomes[0].rule.code(), "title-without-extension");
        assert_eq!(m.outcomes[1].variant, LocalVariant::LiveCompanion(Some(0)));
        assert_eq!(m.outcomes[1].sidecar, Some(0));
    }

    #[test]
    fn ambiguity_applies_nothing() {
        // Two items titled `X` and `X.jpg` both become `X.jpg`; a third file could be either.
        let s = [sc("X.json", "X"), sc("X.jpg.json", "X.jpg")];
        let m = match_folder(&["X.jpg"], &s);
        assert_eq!(m.outcomes[0].sidecar, None);
        assert!(
            matches!(&m.outcomes[0].rule, MatchRule::Ambiguous { candidates } if candidates.len() == 2)
        );
        assert_eq!(m.unmatched, vec![0, 1]);
        // Identical sidecars under two names count as one.
        let s = [
            SidecarIn {
                name: "Y.jpg.json",
                title: "Y.jpg",
                content: 7,
            },
            SidecarIn {
                name: "Y.jpg.supplemental-metadata.json",
                title: "Y.jpg",
                content: 7,
            },
        ];
        let m = match_folder(&["Y.jpg"], &s);
        assert_eq!(m.outcomes[0].sidecar, Some(0));
    }

    #[test]
    fn contested_sidecars_are_not_taken_by_the_fallback() {
        // Two files fit the same two sidecars: neither file gets one, by rule or by fallback.
        let s = [sc("X.json", "X"), sc("X.jpg.json", "X.jpg")];
        let m = match_folder(&["X.jpg", "X.JPG"], &s);
        assert_eq!(m.outcomes[0].rule.code(), "ambiguous");
        assert_eq!(m.outcomes[1].sidecar, None);
    }

    #[test]
    fn title_confirms_every_match() {
        // The name fits but the title belongs to another file.
        let r = run(&["IMG_1.jpg"], &[("IMG_1.jpg.json", "IMG_2.jpg")]);
        assert_eq!(r[0].1, "none");
        // Name unrelated, title fits, counter consistent: title-only.
        let r = run(&["IMG_1.jpg"], &[("IMG_1.JPG.json", "IMG_1.jpg")]);
        assert_eq!(r[0].1, "title-only");
        // Counter inconsistent: refused (it is another item's sidecar).
        let r = run(&["IMG_1.jpg"], &[("weird(1).json", "IMG_1.jpg")]);
        assert_eq!(r[0].1, "none");
    }

    #[test]
    fn creations_have_their_own_sidecars() {
        let s = [sc("IMG_1-COLLAGE.jpg.json", "IMG_1-COLLAGE.jpg")];
        let m = match_folder(&["IMG_1-COLLAGE.jpg"], &s);
        assert_eq!(m.outcomes[0].variant, LocalVariant::Creation);
        assert_eq!(m.outcomes[0].sidecar, Some(0));
        assert_eq!(m.outcomes[0].rule.code(), "legacy");
    }

    #[test]
    fn unmatched_both_ways() {
        let s = [sc("lonely.jpg.json", "lonely.jpg")];
        let m = match_folder(&["other.jpg"], &s);
        assert_eq!(m.outcomes[0].sidecar, None);
        assert_eq!(m.outcomes[0].rule.code(), "none");
        assert_eq!(m.unmatched, vec![0]);
    }

    thread_local! {
        /// Sidecars looked at as candidates on this thread (each then checked by the rules).
        pub(super) static CHECKED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }

    /// Thousands of files of one title told apart by their counters (`unnamed(N).jpg`, as
    /// Google names attachments saved from Gmail or Chat) are each matched by looking at
    /// the sidecars with their counter, not at every sidecar of the title: the candidates
    /// looked at grow with the folder, not with its square. Every sidecar generation that
    /// writes the counter, where it writes it.
    #[test]
    fn files_of_one_title_are_matched_by_their_counters() {
        let n = 2_000;
        for style in 0..3 {
            let (mut media, mut side) = (Vec::new(), Vec::new());
            for i in 0..n {
                let c = counter_text((i > 0).then_some(i as u32));
                media.push(format!("unnamed{c}.jpg"));
                let name = match style {
                    0 => format!("unnamed.jpg{c}.json"),
                    1 => format!("unnamed.jpg{}{c}.json", names::SUPPLEMENTAL),
                    _ => format!("unnamed{c}.jpg.json"),
                };
                side.push((name, "unnamed.jpg".to_owned()));
            }
            let names: Vec<&str> = media.iter().map(String::as_str).collect();
            let ins: Vec<SidecarIn> = side.iter().map(|(n, t)| sc(n, t)).collect();
            CHECKED.with(|c| c.set(0));
            let m = match_folder(&names, &ins);
            let checked = CHECKED.with(std::cell::Cell::get);
            for (i, o) in m.outcomes.iter().enumerate() {
                assert_eq!(
                    o.sidecar,
                    Some(i),
                    "style {style}: {} {:?}",
                    media[i],
                    o.rule
                );
            }
            assert!(
                checked <= 4 * n,
                "style {style}: {checked} candidates for {n} files"
            );
        }
    }

    #[test]
    fn large_folders_stay_fast() {
        // 20 000 files, a quarter of them sharing a title with counters.
        let mut media = Vec::new();
        let mut side: Vec<(String, String)> = Vec::new();
        for i in 0..15_000 {
            media.push(format!("PXL_2023{i:07}.jpg"));
            side.push((
                format!("PXL_2023{i:07}.jpg.supplemental-metadata.json"),
                format!("PXL_2023{i:07}.jpg"),
            ));
        }
        for i in 0..5_000u32 {
            let n = i % 10;
            let base = format!("IMG_{:04}", i / 10);
            media.push(if n == 0 {
                format!("{base}.JPG")
            } else {
                format!("{base}({n}).JPG")
            });
            let c = if n == 0 {
                String::new()
            } else {
                format!("({n})")
            };
            side.push((format!("{base}.JPG{c}.json"), format!("{base}.JPG")));
        }
        let names: Vec<&str> = media.iter().map(String::as_str).collect();
        let ins: Vec<SidecarIn> = side
            .iter()
            .enumerate()
            .map(|(i, (n, t))| SidecarIn {
                name: n,
                title: t,
                content: i as u64,
            })
            .collect();
        let start = std::time::Instant::now();
        let m = match_folder(&names, &ins);
        assert!(
            m.outcomes
                .iter()
                .enumerate()
                .all(|(i, o)| o.sidecar == Some(i))
        );
        assert!(m.unmatched.is_empty());
        assert!(
            start.elapsed() < std::time::Duration::from_secs(20),
            "{:?}",
            start.elapsed()
        );
    }

    /// A small deterministic generator for the slicing test (no dependency for one test).
    use crate::names::clip_utf16;

    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            // xorshift64*
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        fn pick<'a, T>(&mut self, of: &'a [T]) -> &'a T {
            &of[(self.next() % of.len() as u64) as usize]
        }

        fn chance(&mut self, percent: u64) -> bool {
            self.next() % 100 < percent
        }
    }

    /// A folder of related and unrelated names: stems that share beginnings, cases and
    /// replaced characters, counters, both sidecar generations, clipped long titles, edits
    /// (known and inferred suffixes), live companions, titles without extension, and
    /// sidecars whose names fit no rule.
    fn random_folder(rng: &mut Rng) -> (Vec<String>, Vec<(String, String)>) {
        // Titles whose media names are clipped at 47 units: past the clip, at a `-` before a
        // digit, inside an emoji.
        let long = format!("{}-x", "L".repeat(44));
        let longer = "M".repeat(50);
        let dash_digit = format!("{}-5abc", "N".repeat(46));
        let emoji = format!("{}😀😀-trip", "E".repeat(29));
        let emoji_clip = format!("{}😀{}", "F".repeat(46), "G".repeat(8));
        // Equal in lower case only as whole names (a final sigma), or longer in lower case.
        let dotted = format!("İ{}", "x".repeat(31));
        let undotted = format!("i\u{307}{}", "x".repeat(31));
        let stems: Vec<&str> = vec![
            "IMG_7",
            "IMG_70",
            "img_7",
            "IMG-7",
            "IMG-2",
            "IMG",
            "2023-01-01 12.00.00",
            "2023-01-01 12.00.01",
            "PXL_20230101_123456789.MP",
            "MVIMG_1",
            "X",
            "Tom & Jerry?",
            "Tom _ Jerry_",
            "A-",
            "A--b",
            "Trip-beach",
            "Trip",
            &long,
            &longer,
            &dash_digit,
            &emoji,
            &emoji_clip,
            "ΟΔΟΣ 1",
            "Οδος 1",
            &dotted,
            &undotted,
            "Negative0-36-35(1)",
        ];
        let exts = [".jpg", ".JPG", ".heic", ".mp4", ".png", ""];
        let suffixes = ["-edited", "-bearbeitet", "-redigeret", "-ha e", "-glorp"];
        let (mut media, mut sidecars) = (Vec::new(), Vec::new());
        let items = 3 + rng.next() % 20;
        for _ in 0..items {
            let stem = *rng.pick(&stems);
            let ext = *rng.pick(&exts);
            let title = format!("{stem}{ext}");
            let base = clip_utf16(stem, MEDIA_BASE_UNITS, true);
            let counter = rng.chance(25).then(|| 1 + rng.next() % 3);
            let c = counter_text(counter.map(|k| k as u32));
            let shown = if rng.chance(20) {
                base.replace(['&', '?'], "_")
            } else {
                base.to_owned()
            };
            let media_ext = if ext.is_empty() && rng.chance(50) {
                ".jpg"
            } else {
                ext
            };
            media.push(format!("{shown}{c}{media_ext}"));
            if rng.chance(85) {
                let name = match rng.next() % 6 {
                    0 => format!("{}{c}.json", clip_utf16(&title, SIDECAR_STEM_UNITS, false)),
                    1 => format!(
                        "{}{c}.json",
                        clip_utf16(
                            &format!("{title}{}", names::SUPPLEMENTAL),
                            SIDECAR_STEM_UNITS,
                            false
                        )
                    ),
                    2 => format!("{title}{}{c}.json", names::SUPPLEMENTAL),
                    3 => format!("{}{c}.json", split_ext(&title).0),
                    4 => format!("odd-{}.json", rng.next() % 1000),
                    _ => format!("{stem}{c}{ext}.json"),
                };
                sidecars.push((name, title.clone()));
            }
            if rng.chance(30) {
                let suffix = *rng.pick(&suffixes);
                let edited =
                    clip_utf16(&format!("{base}{suffix}"), MEDIA_BASE_UNITS, true).to_owned();
                media.push(format!("{edited}{c}{media_ext}"));
            }
            if rng.chance(20) {
                let companion = *rng.pick(&[".MP4", ".mov", ""]);
                media.push(format!("{shown}{c}{companion}"));
            }
        }
        (media, sidecars)
    }

    #[test]
    fn a_folder_matched_in_slices_of_its_keys_is_matched_as_a_whole() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        // Every rule is met, so that the comparison is of pairings, not of misses.
        let mut rules = HashSet::new();
        for round in 0..400 {
            let (media, side) = random_folder(&mut rng);
            let names: Vec<&str> = media.iter().map(String::as_str).collect();
            let ins: Vec<SidecarIn> = side.iter().map(|(n, t)| sc(n, t)).collect();
            let whole = match_folder(&names, &ins);
            rules.extend(whole.outcomes.iter().map(|o| o.rule.code()));
            // By key, as a folder is sliced; and by key and counter, as a crowded slice is
            // parted (scan/crowded.rs).
            for (slices, by_counter) in [
                (2u64, false),
                (3, false),
                (5, false),
                (16, false),
                (3, true),
                (16, true),
            ] {
                // A media entry by its name; a sidecar by its title's key and the counter of
                // its name, else of its title.
                let slice = |name: &str, named: &str| {
                    let key = content_hash(names::slice_key(name).as_bytes());
                    let counter = names::last_counter(named)
                        .or_else(|| names::last_counter(name))
                        .filter(|_| by_counter);
                    (key ^ content_hash(&counter.unwrap_or(u32::MAX).to_le_bytes())) % slices
                };
                let mut outcomes: Vec<Option<Outcome>> = vec![None; media.len()];
                let mut unmatched = Vec::new();
                for k in 0..slices {
                    let m: Vec<usize> = (0..media.len())
                        .filter(|&i| slice(&media[i], &media[i]) == k)
                        .collect();
                    let s: Vec<usize> = (0..side.len())
                        .filter(|&i| slice(&side[i].1, &side[i].0) == k)
                        .collect();
                    let m_names: Vec<&str> = m.iter().map(|&i| names[i]).collect();
                    let s_ins: Vec<SidecarIn> = s.iter().map(|&i| ins[i].clone()).collect();
                    let part = match_folder(&m_names, &s_ins);
                    for (j, o) in part.outcomes.into_iter().enumerate() {
                        let global = |l: Option<usize>| l.map(|l| m[l]);
                        outcomes[m[j]] = Some(Outcome {
                            sidecar: o.sidecar.map(|x| s[x]),
                            rule: o.rule,
                            variant: match o.variant {
                                LocalVariant::Edited(l) => LocalVariant::Edited(global(l)),
                                LocalVariant::LiveCompanion(l) => {
                                    LocalVariant::LiveCompanion(global(l))
                                }
                                other => other,
                            },
                        });
                    }
                    unmatched.extend(part.unmatched.into_iter().map(|x| s[x]));
                }
                unmatched.sort_unstable();
                let outcomes: Vec<Outcome> = outcomes.into_iter().map(Option::unwrap).collect();
                assert_eq!(
                    outcomes, whole.outcomes,
                    "round {round}, {slices} slices, by counter: {by_counter}: {media:?} {side:?}"
                );
                assert_eq!(unmatched, whole.unmatched, "round {round}, {slices} slices");
            }
        }
        let mut rules: Vec<&str> = rules.into_iter().collect();
        rules.sort_unstable();
        assert_eq!(
            rules,
            [
                "ambiguous",
                "counter-in-title",
                "edited-variant",
                "edited-variant-inferred",
                "legacy",
                "live-companion",
                "none",
                "sidecar-without-extension",
                "supplemental",
                "supplemental-clipped",
                "supplemental-unclipped",
                "title-only",
                "title-without-extension",
            ]
        );
    }

    #[test]
    fn strip_json_is_case_insensitive() {
        assert_eq!(strip_json("a.JSON"), Some("a"));
        assert_eq!(strip_json(".json"), None);
        assert_eq!(strip_json("a.jso"), None);
    }
}
