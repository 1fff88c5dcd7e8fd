//! `photobak status`: what the archive holds and what needs attention. Reads the index without
//! taking the repository lock, so it works while a backup runs.

use std::path::Path;

use indicatif::HumanBytes;
use photobak_core::index::{INDEX_FILE, Index};
use photobak_core::status::{Counts, RunInfo, Status, status};

use crate::cli::StatusArgs;

/// Prints the status; true unless some account needs attention (credentials to renew).
pub fn run(repo_path: &Path, args: &StatusArgs) -> anyhow::Result<bool> {
    let index = open_index(repo_path)?;
    let st = status(&index, repo_path)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&st)?);
    } else {
        print!("{}", render(&st));
    }
    Ok(true)
}

/// Opens an existing repository's index without the lock (SQLite's WAL lets readers and one
/// writer work side by side). Never creates one: a read-only command on a wrong `--repo` says
/// so and leaves no empty repository behind.
pub fn open_index(repo_path: &Path) -> anyhow::Result<Index> {
    if !photobak_core::repo::is_repository(repo_path) {
        return Err(photobak_core::Error::NotARepository(repo_path.to_path_buf()).into());
    }
    Ok(Index::open(&repo_path.join(INDEX_FILE))?)
}

fn counts(c: &Counts) -> String {
    let mut s = format!(
        "{} items ({} stored), {} files, {}, {} albums",
        c.items,
        c.stored,
        c.files,
        HumanBytes(c.bytes),
        c.albums
    );
    if c.year_folders > 0 {
        s.push_str(&format!(", {} year folders", c.year_folders));
    }
    s
}

fn run_line(label: &str, r: &Option<RunInfo>) -> String {
    match r {
        None => format!("  {label}: never\n"),
        Some(r) => {
            let when = r.finished_at.as_deref().unwrap_or(&r.started_at);
            let outcome = match r.ok {
                Some(true) => "ok",
                Some(false) => "FAILED",
                None => "unfinished",
            };
            let summary = summarize(&r.summary);
            format!("  {label}: {when} {outcome}{summary}\n")
        }
    }
}

/// The interesting numbers of a run summary, `key value` pairs.
fn summarize(v: &serde_json::Value) -> String {
    let Some(m) = v.as_object() else {
        return String::new();
    };
    let parts: Vec<String> = m
        .iter()
        .filter_map(|(k, v)| match v {
            serde_json::Value::Number(n) if n.as_f64() != Some(0.0) && k != "elapsed_secs" => {
                Some(format!("{} {k}", n))
            }
            serde_json::Value::String(s) => Some(format!("{k}: {s}")),
            serde_json::Value::Array(a) if !a.is_empty() => Some(format!("{} {k}", a.len())),
            _ => None,
        })
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join(", ").replace('_', " "))
    }
}

/// Human form.
pub fn render(st: &Status) -> String {
    let mut s = format!(
        "repository {}: {}; manifest photobak.b3 {}\n",
        st.repository,
        counts(&st.totals),
        if st.manifest { "present" } else { "missing" }
    );
    s.push_str(&run_line("last verify", &st.last_verify));
    if st.files_not_verified_30d > 0 {
        s.push_str(&format!(
            "  {} files not verified in the last 30 days\n",
            st.files_not_verified_30d
        ));
    }
    for a in &st.accounts {
        s.push_str(&format!(
            "{} ({}): {}\n",
            a.account,
            a.folder,
            counts(&a.totals)
        ));
        for (source, c) in &a.sources {
            s.push_str(&format!("  from {source}: {}\n", counts(c)));
        }
        s.push_str(&run_line("last successful backup", &a.last_backup));
        if a.last_failed_backup.is_some() {
            s.push_str(&run_line("last backup", &a.last_failed_backup));
        }
        s.push_str(&run_line("last import", &a.last_import));
        if let Some(e) = &a.newest_export {
            s.push_str(&format!("  newest Takeout export: {e}\n"));
        }
        if let Some(feed) = &a.takeout {
            s.push_str(&feed_lines(feed, "  "));
        }
        s.push_str(&run_line("last prune", &a.last_prune));
        match &a.renewal {
            Some(r) => s.push_str(&format!("  credentials: {}: {r}\n", a.credentials)),
            None => s.push_str(&format!("  credentials: {}\n", a.credentials)),
        }
        if !a.failures.is_empty() {
            s.push_str(&format!("  failing items: {}\n", a.failures.len()));
            for f in &a.failures {
                s.push_str(&format!(
                    "    {} ({}): failed {} times since {}, last {}: {}\n",
                    f.filename.as_deref().unwrap_or("?"),
                    f.remote_id,
                    f.count,
                    f.first_at,
                    f.last_at,
                    f.error
                ));
            }
        }
    }
    if st.accounts.is_empty() {
        s.push_str("no accounts yet\n");
    }
    s
}

/// What prune would do on the feed's word, for `status` and `exports list`.
pub fn feed_lines(f: &photobak_core::exports::TakeoutFeed, indent: &str) -> String {
    let mut s = String::new();
    match &f.last_full {
        Some(id) => s.push_str(&format!("{indent}last full export: {id}\n")),
        None => s.push_str(&format!(
            "{indent}last full export: none, so prune removes nothing on Takeout's word\n"
        )),
    }
    if !f.since_last_full.is_empty() {
        let ids: Vec<String> = f.since_last_full.iter().map(ToString::to_string).collect();
        s.push_str(&format!(
            "{indent}incremental exports since: {} ({})\n",
            ids.len(),
            ids.join(", ")
        ));
    }
    for id in &f.unknown {
        s.push_str(&format!(
            "{indent}kind unknown: {id} (imported before photobak told full from incremental \
             exports); if it was full: photobak exports mark {id} --full\n"
        ));
    }
    for id in &f.unfinished {
        s.push_str(&format!(
            "{indent}import not finished: {id}; import it again (prune refuses until then)\n"
        ));
    }
    if let Some(ev) = &f.evidence {
        s.push_str(&format!(
            "{indent}prune would take {} items for gone on the word of {ev}",
            f.gone
        ));
        if f.gone_if_library_lacks > 0 {
            s.push_str(&format!(
                ", and {} more if the Library API no longer lists them",
                f.gone_if_library_lacks
            ));
        }
        s.push('\n');
    }
    s
}
