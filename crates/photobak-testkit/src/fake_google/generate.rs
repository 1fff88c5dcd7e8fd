//! Deterministic libraries that look like real ones.
//!
//! A backup tool meets real-world mess: camera and phone naming schemes, names with `:` or `?`
//! that are illegal on some file systems, the same file name twice in one album, duplicate and
//! empty album titles, items in no album or in several, videos still processing. The generator
//! produces all of that from a seed alone, so a failing test reproduces exactly; ids then come
//! from the fake's own seed and the order of operations.

use std::collections::BTreeSet;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::model::{Content, NewItem, PreparedItem, Sample, VideoStatus, mix};

/// Byte sizes of generated media.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sizes {
    /// Photos of a few KB (a small real sample plus padding), videos of 4–16 KB.
    #[default]
    Tiny,
    /// Photos of 1–6 MB, videos of 10–90 MB.
    Realistic,
}

/// What to generate. JSON form: `{"items":50,"albums":5,"seed":1,"sizes":"tiny","videos":null}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GenerateSpec {
    /// Number of media items.
    pub items: usize,
    /// Number of albums.
    pub albums: usize,
    /// Seed of everything generated.
    pub seed: u64,
    /// Byte sizes.
    pub sizes: Sizes,
    /// Number of videos; `None` = about 5 % of the items.
    pub videos: Option<usize>,
}

impl Default for GenerateSpec {
    fn default() -> Self {
        GenerateSpec {
            items: 50,
            albums: 5,
            seed: 1,
            sizes: Sizes::Tiny,
            videos: None,
        }
    }
}

/// A library to insert: album titles and items with the indices of their albums.
pub(crate) struct Plan {
    pub album_titles: Vec<String>,
    pub items: Vec<(NewItem, Vec<usize>)>,
}

const HUMAN_TITLES: &[&str] = &[
    "Summer in Lisbon 2019",
    "Wedding \u{2013} Anna & Tom",
    "Kids",
    "Hiking in the Alps",
    "Christmas 2021",
    "Road trip USA 2018",
    "Garden",
    "Birthday party \u{1F382}",
    "New York / Boston 2017",
    "Food",
    "Cats",
    "Work: team offsite",
    "Receipts",
    "Family",
    "Beach \u{1F3D6}\u{FE0F}",
    "Grandma's 90th",
];

const AUTO_TITLES: &[&str] = &[
    "Untitled",
    "2019-07-14",
    "Trip to Paris",
    "Sat, Jul 14",
    "Photos from 2014",
    "Best of 2016",
    "Screenshots",
    "Snapseed",
];

const ODD_NAMES: &[&str] = &[
    "Meeting notes 10:30.jpg",
    "what is this?.jpg",
    "Screenshot 2019-03-02 at 11:22:33.jpg",
    "caf\u{e9} \u{2013} Paris.jpg",
    "\u{5199}\u{771f} 2020.jpg",
    "receipt *final*.jpg",
    "image (1).jpg",
    "  leading spaces.JPG",
];

fn album_titles(rng: &mut fastrand::Rng, count: usize) -> Vec<String> {
    let mut pool: Vec<&str> = HUMAN_TITLES.iter().chain(AUTO_TITLES).copied().collect();
    rng.shuffle(&mut pool);
    let mut titles: Vec<String> = (0..count)
        .map(|i| match pool.get(i) {
            Some(t) => (*t).to_owned(),
            None => format!("Album {}", i + 1),
        })
        .collect();
    // Two albums with one title, and an untitled album, happen in real libraries.
    if count >= 6 {
        titles[5] = titles[0].clone();
    }
    if count >= 8 {
        titles[7] = String::new();
    }
    titles
}

fn ymd_hms(ts: Timestamp) -> (String, String, u32) {
    let dt = ts.to_zoned_datetime(jiff::tz::TimeZone::UTC).datetime();
    (
        format!("{:04}{:02}{:02}", dt.year(), dt.month(), dt.day()),
        format!("{:02}{:02}{:02}", dt.hour(), dt.minute(), dt.second()),
        (dt.subsec_nanosecond() / 1_000_000) as u32,
    )
}

fn photo_name(rng: &mut fastrand::Rng, ts: Timestamp) -> String {
    let (date, time, _) = ymd_hms(ts);
    let millis = rng.u32(0..1000);
    match rng.u32(0..100) {
        0..=2 => ODD_NAMES[rng.usize(0..ODD_NAMES.len())].to_owned(),
        3..=32 => format!("IMG_{:04}.JPG", rng.u32(1..10000)),
        33..=57 => format!("PXL_{date}_{time}{millis:03}.jpg"),
        58..=67 => format!("DSC_{:04}.JPG", rng.u32(1..10000)),
        68..=82 => format!("{date}_{time}.jpg"),
        83..=92 => format!("IMG-{date}-WA{:04}.jpg", rng.u32(0..200)),
        _ => format!("DSCN{:04}.JPG", rng.u32(1..10000)),
    }
}

fn video_name(rng: &mut fastrand::Rng, ts: Timestamp) -> String {
    let (date, time, _) = ymd_hms(ts);
    match rng.u32(0..3) {
        0 => format!("VID_{date}_{time}.mp4"),
        1 => format!("PXL_{date}_{time}{:03}.mp4", rng.u32(0..1000)),
        _ => format!("MVI_{:04}.MP4", rng.u32(1..10000)),
    }
}

const DESCRIPTIONS: &[&str] = &[
    "Sunset from the hotel balcony",
    "First day of school",
    "Us \u{2764}\u{FE0F}",
    "Don't forget: the blue one",
    "Line 1\nLine 2",
];

/// The whole library as data; no ids yet.
pub(crate) fn plan(spec: &GenerateSpec) -> Plan {
    let mut rng = fastrand::Rng::with_seed(mix(spec.seed, 0x67_656e));
    let album_titles = album_titles(&mut rng, spec.albums);
    let n = spec.items;
    let n_videos = spec
        .videos
        .unwrap_or_else(|| (n as f64 * 0.05).round() as usize)
        .min(n);
    let mut order: Vec<usize> = (0..n).collect();
    rng.shuffle(&mut order);
    let videos: BTreeSet<usize> = order[..n_videos].iter().copied().collect();
    // The first video is still processing in libraries of 20+ items; the second failed in
    // libraries of 200+.
    let processing = videos.iter().next().copied().filter(|_| n >= 20);
    let failed = videos.iter().nth(1).copied().filter(|_| n >= 200);

    let start = Timestamp::from_second(1_325_376_000).expect("2012-01-01"); // 2012-01-01T00:00:00Z
    let span = 1_767_225_600 - 1_325_376_000; // up to 2026-01-01
    let tiny_samples = [Sample::Canon40D, Sample::NikonD70, Sample::SonyHdrHc3];
    let gps_samples = [Sample::CoolpixGps10, Sample::CoolpixGps21];

    let mut items = Vec::with_capacity(n);
    for i in 0..n {
        let ts = Timestamp::from_second(start.as_second() + rng.i64(0..span)).expect("in range");
        let is_video = videos.contains(&i);
        let content_seed = mix(spec.seed, i as u64 + 1);
        let mut item = if is_video {
            let size = match spec.sizes {
                Sizes::Tiny => rng.u64(4096..16_384),
                Sizes::Realistic => rng.u64(10_000_000..90_000_000),
            };
            let status = if Some(i) == processing {
                VideoStatus::Processing
            } else if Some(i) == failed {
                VideoStatus::Failed
            } else {
                VideoStatus::Ready
            };
            NewItem {
                filename: video_name(&mut rng, ts),
                mime_type: "video/mp4".to_owned(),
                content: Content::mp4(content_seed, size),
                video_status: Some(status),
                fps: Some([24.0, 29.97, 30.0, 60.0][rng.usize(0..4)]),
                width: Some(1920),
                height: Some(1080),
                camera_make: Some("Google".to_owned()),
                camera_model: Some("Pixel 7".to_owned()),
                ..NewItem::default()
            }
        } else {
            let (sample, size) = match spec.sizes {
                Sizes::Tiny => {
                    let s = if rng.u32(0..12) == 0 {
                        gps_samples[rng.usize(0..gps_samples.len())]
                    } else {
                        tiny_samples[rng.usize(0..tiny_samples.len())]
                    };
                    (s, s.bytes().len() as u64 + rng.u64(512..4096))
                }
                Sizes::Realistic => (
                    Sample::ALL[rng.usize(0..Sample::ALL.len())],
                    rng.u64(1_000_000..6_000_000),
                ),
            };
            NewItem {
                filename: photo_name(&mut rng, ts),
                content: Content::jpeg(sample, content_seed, size),
                ..NewItem::default()
            }
        };
        item.creation_time = ts;
        if rng.u32(0..10) == 0 {
            item.description = DESCRIPTIONS[rng.usize(0..DESCRIPTIONS.len())].to_owned();
        }
        // ~70 % in one album, ~10 % in two, ~20 % in none.
        let r = rng.f64();
        let mut albums = Vec::new();
        if spec.albums > 0 && r < 0.8 {
            let a = rng.usize(0..spec.albums);
            albums.push(a);
            if r >= 0.7 && spec.albums > 1 {
                let mut b = rng.usize(0..spec.albums - 1);
                if b >= a {
                    b += 1;
                }
                albums.push(b);
            }
        }
        items.push((item, albums));
    }

    // The same file name twice inside one album (one pair per 50 items, at least one).
    if n >= 10 {
        let pairs = (n / 50).max(1);
        let mut made = 0;
        for album in 0..spec.albums {
            if made == pairs {
                break;
            }
            let members: Vec<usize> = (0..n)
                .filter(|i| items[*i].1.contains(&album) && items[*i].0.video_status.is_none())
                .collect();
            if let [first, second, ..] = members[..] {
                let name = items[first].0.filename.clone();
                items[second].0.filename = name;
                made += 1;
            }
        }
    }
    Plan {
        album_titles,
        items,
    }
}

/// Measures (hashes) every item's content, on a few threads since realistic libraries hold
/// gigabytes of generated bytes.
pub(crate) fn prepare_all(items: Vec<(NewItem, Vec<usize>)>) -> Vec<(PreparedItem, Vec<usize>)> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 4);
    let total: u64 = items.iter().map(|(i, _)| i.content.len()).sum();
    if threads == 1 || items.len() < 2 || total < 8 << 20 {
        return items
            .into_iter()
            .map(|(i, a)| (PreparedItem::prepare(i), a))
            .collect();
    }
    let mut chunks: Vec<Vec<(NewItem, Vec<usize>)>> = (0..threads).map(|_| Vec::new()).collect();
    // Round-robin so big videos spread over threads; restore order afterwards.
    for (idx, it) in items.into_iter().enumerate() {
        chunks[idx % threads].push(it);
    }
    let results: Vec<Vec<(PreparedItem, Vec<usize>)>> = std::thread::scope(|s| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                s.spawn(move || {
                    chunk
                        .into_iter()
                        .map(|(i, a)| (PreparedItem::prepare(i), a))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("hashing thread panicked"))
            .collect()
    });
    let mut iters: Vec<_> = results.into_iter().map(Vec::into_iter).collect();
    let mut out = Vec::new();
    'outer: loop {
        for it in iters.iter_mut() {
            match it.next() {
                Some(x) => out.push(x),
                None => break 'outer,
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_is_deterministic_and_realistic() {
        let spec = GenerateSpec {
            items: 400,
            albums: 10,
            seed: 42,
            ..GenerateSpec::default()
        };
        let a = plan(&spec);
        let b = plan(&spec);
        assert_eq!(a.album_titles, b.album_titles);
        assert_eq!(
            a.items.iter().map(|(i, _)| i).collect::<Vec<_>>(),
            b.items.iter().map(|(i, _)| i).collect::<Vec<_>>()
        );
        let videos: Vec<_> = a.items.iter().filter_map(|(i, _)| i.video_status).collect();
        assert_eq!(videos.len(), 20);
        assert!(videos.contains(&VideoStatus::Processing));
        assert!(videos.contains(&VideoStatus::Failed));
        let none = a.items.iter().filter(|(_, a)| a.is_empty()).count();
        let two = a.items.iter().filter(|(_, a)| a.len() == 2).count();
        assert!((50..=110).contains(&none), "{none} items in no album");
        assert!((20..=65).contains(&two), "{two} items in two albums");
        assert_eq!(a.album_titles[5], a.album_titles[0]);
        assert_eq!(a.album_titles[7], "");
        assert!(
            a.items
                .iter()
                .any(|(i, _)| i.filename.contains(':') || i.filename.contains('?'))
        );
        let years: BTreeSet<i16> = a
            .items
            .iter()
            .map(|(i, _)| {
                i.creation_time
                    .to_zoned_datetime(jiff::tz::TimeZone::UTC)
                    .year()
            })
            .collect();
        assert!(years.iter().all(|y| (2012..=2025).contains(y)));
        assert!(years.len() >= 12);
        // A duplicate name inside one album.
        let dup = (0..10).any(|album| {
            let names: Vec<&str> = a
                .items
                .iter()
                .filter(|(_, al)| al.contains(&album))
                .map(|(i, _)| i.filename.as_str())
                .collect();
            let unique: BTreeSet<&str> = names.iter().copied().collect();
            unique.len() < names.len()
        });
        assert!(dup);
        assert_ne!(
            plan(&GenerateSpec { seed: 43, ..spec }).items[0].0,
            a.items[0].0
        );
    }

    #[test]
    fn small_and_empty_specs() {
        let p = plan(&GenerateSpec {
            items: 3,
            albums: 0,
            ..GenerateSpec::default()
        });
        assert_eq!(p.items.len(), 3);
        assert!(p.items.iter().all(|(_, a)| a.is_empty()));
        let p = plan(&GenerateSpec {
            items: 0,
            albums: 2,
            ..GenerateSpec::default()
        });
        assert!(p.items.is_empty());
        assert_eq!(p.album_titles.len(), 2);
    }

    #[test]
    fn parallel_preparation_keeps_order() {
        let items: Vec<(NewItem, Vec<usize>)> = (0..9)
            .map(|i| {
                (
                    NewItem::default().content(Content::mp4(i, 2 << 20)),
                    vec![i as usize],
                )
            })
            .collect();
        let prepared = prepare_all(items);
        assert_eq!(prepared.len(), 9);
        for (i, (p, a)) in prepared.iter().enumerate() {
            assert_eq!(a, &vec![i]);
            assert_eq!(p.hash, Content::mp4(i as u64, 2 << 20).measure().1);
        }
    }
}
