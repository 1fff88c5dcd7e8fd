//! `photobak-fake-takeout`: writes a realistic Google Takeout export of Google Photos, so that
//! the Takeout path (photobak's only complete route to a library) can be tried without a Google
//! account, and the next exports of the same account after it.
//!
//! The export is [`realistic_export`] (every naming and sidecar quirk photobak must handle,
//! localised folders, live photos, edited variants, albums with every metadata style, parts
//! split so sidecars land in other parts than their media) grown by `--items` ordinary photos.
//! Everything is derived from `--seed`, so the same command writes the same bytes, and
//! `--next incremental` can re-derive the first export in memory and write the one that follows
//! it without keeping any state between runs.
//!
//! stdout lists the written parts, one path per line (so a script can pass them on); a summary
//! goes to stderr.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, ValueEnum};
use photobak_testkit::takeout_gen::{
    ArchiveFormat, ExportSpec, ItemSpec, Place, SidecarStyle, TakenAt, incremental_export,
    newer_export, realistic_export, write_export,
};

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Format {
    /// `takeout-…-001.zip` … (what Takeout offers by default)
    Zip,
    /// `takeout-…-001.tgz` …
    Tgz,
    /// Parts already extracted into folders
    Folder,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Next {
    /// The next scheduled export: only what was added or edited since the first one
    Incremental,
    /// A complete export made a month later: items added, edited, removed
    Full,
}

/// Writes a realistic Google Takeout export of Google Photos (multi-part, with every naming
/// quirk of real exports) for trying `photobak import takeout` without a Google account.
///
/// The same --seed always gives the same export. Run it again with --next incremental for the
/// next scheduled export of the same account (only what changed), or --next full for a later
/// complete one. stdout lists the written parts, one per line.
#[derive(Debug, Parser)]
#[command(version, max_term_width = 100)]
struct Args {
    /// Folder the parts are written to (created when missing)
    #[arg(long, value_name = "DIR", default_value = "takeout")]
    out: PathBuf,
    /// Seed of everything generated: language, part names, which items change later
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// How the parts are stored
    #[arg(long, value_enum, default_value = "zip")]
    format: Format,
    /// Ordinary photos added to the quirk collection (about 60 files), spread over years and
    /// albums
    #[arg(long, value_name = "N", default_value_t = 40)]
    items: usize,
    /// Sizes of the ordinary photos, `MIN-MAX` or `N` bytes (default: a few KB each), drawn
    /// per photo from the seed and padded with incompressible bytes; the whole export is built
    /// in memory, so keep it well under the RAM
    #[arg(long, value_name = "MIN-MAX", value_parser = parse_size_range)]
    item_bytes: Option<(u64, u64)>,
    /// Media bytes per part before a new part starts
    #[arg(long, value_name = "BYTES", default_value_t = 256 * 1024)]
    part_size: u64,
    /// The account the export belongs to (named in its archive_browser.html)
    #[arg(long, value_name = "ADDRESS", default_value = "jane.doe@example.com")]
    account: String,
    /// Write the export that follows the first one instead of the first one
    #[arg(long, value_enum, value_name = "KIND")]
    next: Option<Next>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let first = first_export(&args);
    let (spec, what) = match args.next {
        None => (first, "complete export".to_string()),
        Some(Next::Incremental) => {
            let (spec, diff) = incremental_export(&first, args.seed);
            let what = format!(
                "incremental export after {}: {} new, {} edited, {} favourited, {} not carried \
                 (unchanged, not deleted)",
                first.export_id(),
                diff.added.len(),
                diff.edited_added.len(),
                diff.favorited.len(),
                diff.not_carried.len()
            );
            (spec, what)
        }
        Some(Next::Full) => {
            let (spec, diff) = newer_export(&first, args.seed);
            let what = format!(
                "complete export after {}: {} new, {} removed, {} edited",
                first.export_id(),
                diff.added.len(),
                diff.removed.len(),
                diff.description_changed.len() + diff.location_changed.len()
            );
            (spec, what)
        }
    };
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let parts = write_export(&spec, &args.out)
        .with_context(|| format!("writing the export into {}", args.out.display()))?;
    let expected = spec.expected()?;
    let bytes: u64 = expected.files.iter().map(|f| f.size).sum();
    for p in &parts {
        println!("{}", p.display());
    }
    eprintln!(
        "{} for {}, {what}; {} parts, {} media files, {:.1} MB",
        spec.export_id(),
        args.account,
        parts.len(),
        expected.files.len(),
        bytes as f64 / 1e6
    );
    Ok(())
}

/// The first export: the quirk collection plus `--items` ordinary photos.
fn first_export(args: &Args) -> ExportSpec {
    let mut spec = realistic_export(args.seed);
    spec.account = Some(args.account.clone());
    spec.part_size = args.part_size.max(1);
    spec.format = match args.format {
        Format::Zip => ArchiveFormat::Zip,
        Format::Tgz => ArchiveFormat::Tgz,
        Format::Folder => ArchiveFormat::Folder,
    };
    let mut rng = fastrand::Rng::with_seed(args.seed);
    // Sizes come from their own generator, so --item-bytes changes nothing else of the export.
    let mut size_rng = fastrand::Rng::with_seed(args.seed ^ 0x0051_23e5);
    let albums = spec.albums.len();
    for i in 0..args.items {
        // 2013–2024, a camera-roll name that is unique within the export.
        let t = 1_357_000_000 + rng.i64(0..378_000_000);
        let stamp = jiff::Timestamp::from_second(t)
            .map(|ts| ts.strftime("%Y%m%d_%H%M%S").to_string())
            .unwrap_or_else(|_| t.to_string());
        let key = format!("extra-{}-{i}", args.seed);
        let mut it = ItemSpec::new(&key, &format!("IMG_{stamp}_{i:03}.jpg")).taken(TakenAt::At(t));
        if let Some((lo, hi)) = args.item_bytes {
            it = it.sized(size_rng.u64(lo..=hi));
        }
        if rng.bool() {
            it = it.sidecar(SidecarStyle::Supplemental);
        }
        if i % 10 == 0 {
            it = it.description("from the camera roll").favorite();
        }
        // About a third also sit in an album, as in a real library.
        if albums > 0 && rng.u8(0..3) == 0 {
            it.places.push(Place::Album(rng.usize(0..albums)));
        }
        spec.items.push(it);
    }
    spec
}

/// `N` or `MIN-MAX` (bytes).
fn parse_size_range(s: &str) -> Result<(u64, u64), String> {
    let num = |t: &str| {
        t.trim()
            .parse::<u64>()
            .map_err(|e| format!("{t:?} is not a number of bytes: {e}"))
    };
    let (lo, hi) = match s.split_once('-') {
        Some((a, b)) => (num(a)?, num(b)?),
        None => (num(s)?, num(s)?),
    };
    if lo > hi {
        return Err(format!("{lo} is more than {hi}"));
    }
    Ok((lo, hi))
}
