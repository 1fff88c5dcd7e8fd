//! The one printer of a run's report, whatever the source: a headline with the counts every
//! source shares, then what only its source knows (a Takeout export's kind and reading
//! problems), then failures.

use photobak_core::exports::ExportKind;
use photobak_core::summary::{RunSummary, TakeoutReport};

/// The report of one run, for a person.
pub fn render(s: &RunSummary) -> String {
    if let Some(t) = &s.takeout
        && let Some(why) = &t.already_imported
    {
        // Nothing was read: one line naming the export and why.
        return format!(
            "{}: Takeout {}: already imported ({} items): {why}; {:.1}s",
            s.account, t.export_id, s.items, s.elapsed_secs
        );
    }
    let mut out = match &s.takeout {
        Some(t) => format!(
            "{}: Takeout {}: {} media files, {} items: ",
            s.account, t.export_id, t.media_entries, s.items
        ),
        None => format!(
            "{}: {} albums, {} items seen: ",
            s.account, s.albums, s.items
        ),
    };
    out.push_str(&format!(
        "{} new, {} deduplicated, {} updated, {} unchanged",
        s.new, s.deduplicated, s.updated, s.unchanged
    ));
    // A Takeout repair is a line of its own below: it says where the bytes came from.
    if s.repaired > 0 && s.takeout.is_none() {
        out.push_str(&format!(", {} repaired", s.repaired));
    }
    let skipped: u64 = s.skipped.values().sum();
    if skipped > 0 {
        let why: Vec<String> = s
            .skipped
            .iter()
            .map(|(k, v)| format!("{v} {}", skip_reason(k)))
            .collect();
        out.push_str(&format!(", {skipped} skipped ({})", why.join(", ")));
    }
    let moved = if s.takeout.is_some() {
        "read"
    } else {
        "downloaded"
    };
    out.push_str(&format!(
        ", {} failed; {} {moved} in {:.1}s",
        s.failed.len(),
        indicatif::HumanBytes(s.bytes),
        s.elapsed_secs
    ));
    if s.takeout.is_none() && s.nothing_changed() {
        out.push_str(" (nothing changed)");
    }
    match &s.takeout {
        Some(t) => takeout_details(&mut out, s, t),
        None => {
            for (name, why) in &s.failed {
                out.push_str(&format!("\n  failed: {name}: {why}"));
            }
        }
    }
    for l in &s.linked {
        out.push_str(&format!("\n  linked: {l}"));
    }
    if let Some(why) = &s.stopped {
        out.push_str(&format!("\n  stopped: {why}"));
    }
    out
}

/// A skip reason in words that cannot be read as a failure of photobak: Google's video status
/// `FAILED` next to "0 failed" read as a contradiction.
fn skip_reason(key: &str) -> String {
    match key.strip_prefix("video ") {
        Some("FAILED") => "video Google could not process".into(),
        Some("PROCESSING") => "video still processing at Google".into(),
        Some(other) => format!("video not ready at Google ({})", other.to_lowercase()),
        None => key.to_string(),
    }
}

/// What a Takeout import adds: repairs, the export's kind, warnings, and what to look at.
fn takeout_details(out: &mut String, s: &RunSummary, t: &TakeoutReport) {
    if s.repaired > 0 {
        out.push_str(&format!(
            "\n  {} damaged or missing files restored from the export",
            s.repaired
        ));
    }
    if let Some(k) = &t.kind {
        match k.kind {
            ExportKind::Full => out.push_str(&format!("\n  full export: {}", k.reason)),
            _ => out.push_str(&format!(
                "\n  incremental export: items it lacks are kept ({})",
                k.reason
            )),
        }
    }
    if t.absent > 0 {
        out.push_str(&format!(
            "\n  {} previously imported items are absent from this full export \
             (`photobak prune --dry-run` shows what would go)",
            t.absent
        ));
    }
    for w in &t.warnings {
        out.push_str(&format!("\n  warning: {w}"));
    }
    if s.xmp_written > 0 {
        out.push_str(&format!("\n  {} XMP sidecars written", s.xmp_written));
    }
    list(out, "media without a sidecar", &t.without_sidecar);
    list(out, "sidecars without media", &t.unmatched_sidecars);
    list(out, "ambiguous sidecars (none applied)", &t.ambiguous);
    list(out, "problems in the export", &s.problems);
    let failed: Vec<String> = s
        .failed
        .iter()
        .map(|(e, why)| format!("{e}: {why}"))
        .collect();
    list(out, "failed", &failed);
}

/// A titled list, the first 20 lines of it.
fn list(out: &mut String, title: &str, items: &[String]) {
    if items.is_empty() {
        return;
    }
    out.push_str(&format!("\n  {title}: {}", items.len()));
    for i in items.iter().take(20) {
        out.push_str(&format!("\n    {i}"));
    }
    if items.len() > 20 {
        out.push_str(&format!(
            "\n    … and {} more (see --json)",
            items.len() - 20
        ));
    }
}
