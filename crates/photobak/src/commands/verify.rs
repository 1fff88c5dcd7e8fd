//! `photobak verify`: re-hash, check the structure, and with `--repair` fix what can be fixed.

use std::path::Path;
use std::sync::Arc;

use indicatif::HumanBytes;
use photobak_core::repo::Repo;
use photobak_core::verify::{
    RepairReport, VerifyOptions, VerifyReport, default_threads, repair, verify,
};
use tokio_util::sync::CancellationToken;

use crate::cli::VerifyArgs;

/// Verifies (and repairs); true when the repository is healthy at the end.
pub async fn run(
    repo_path: &Path,
    args: &VerifyArgs,
    cancel: CancellationToken,
) -> anyhow::Result<bool> {
    let repo = Arc::new(Repo::open_existing(repo_path)?);
    let opts = VerifyOptions {
        sample_percent: args.sample,
        since: args.since,
        threads: args.threads.unwrap_or_else(default_threads).max(2),
        only: None,
        cancel: cancel.clone(),
    };
    let report = run_verify(&repo, opts.clone(), args.json).await?;
    if !args.repair || report.ok() {
        if args.json {
            println!("{}", serde_json::to_string(&report)?);
        } else {
            print!("{}", render(&report));
        }
        return Ok(report.ok());
    }
    if !args.json {
        print!("{}", render(&report));
    }
    let google = super::google_access().ok();
    let repaired = repair(&repo, google.as_ref(), &report, &cancel).await?;
    // Confirm: re-hash what was damaged, re-check the structure.
    let damaged = report
        .missing
        .iter()
        .chain(&report.corrupted)
        .map(|d| d.content_id)
        .collect();
    let after = run_verify(
        &repo,
        VerifyOptions {
            only: Some(damaged),
            sample_percent: None,
            since: None,
            ..opts
        },
        args.json,
    )
    .await?;
    if args.json {
        println!(
            "{}",
            serde_json::json!({ "before": report, "repair": repaired, "after": after })
        );
    } else {
        print!("{}", render_repair(&repaired));
        println!("after repair:");
        print!("{}", render(&after));
    }
    Ok(after.ok())
}

async fn run_verify(
    repo: &Arc<Repo>,
    opts: VerifyOptions,
    json: bool,
) -> anyhow::Result<VerifyReport> {
    let repo = repo.clone();
    let progress = crate::progress::for_terminal(json, "re-hashing");
    Ok(tokio::task::spawn_blocking(move || verify(&repo, &opts, &*progress)).await??)
}

/// Problems one per line, then the summary line.
pub fn render(r: &VerifyReport) -> String {
    let mut s = String::new();
    for d in &r.missing {
        s.push_str(&format!("missing: {}\n", d.path));
    }
    for d in &r.corrupted {
        match (&d.actual, &d.error) {
            (Some(a), _) => s.push_str(&format!(
                "corrupted: {} (BLAKE3 {a}, expected {})\n",
                d.path, d.expected
            )),
            (None, Some(e)) => s.push_str(&format!("unreadable: {}: {e}\n", d.path)),
            (None, None) => s.push_str(&format!("corrupted: {}\n", d.path)),
        }
    }
    for o in &r.orphans {
        s.push_str(&format!("orphan (not in the index): {o}\n"));
    }
    for t in &r.temp_leftovers {
        s.push_str(&format!("temporary leftover: {t}\n"));
    }
    for o in &r.others {
        s.push_str(&format!(
            "others.txt {} line: {}: {}\n",
            o.kind, o.file, o.line
        ));
    }
    for p in &r.index_problems {
        s.push_str(&format!("index: {p}\n"));
    }
    // Only files read to the end count as re-hashed: "198 re-hashed" while one of the 198 is
    // missing would claim a check that never happened.
    let head = format!(
        "verify: {} files, {} re-hashed ({}) in {:.1}s",
        r.files_total,
        r.files_checked,
        HumanBytes(r.bytes_checked),
        r.elapsed_secs
    );
    if r.ok() {
        s.push_str(&format!("{head}: OK\n"));
    } else {
        s.push_str(&format!(
            "{head}: {} problems: {} missing, {} corrupted, {} orphans, {} temporary leftovers, {} others.txt lines, {} index\n",
            r.problem_count(),
            r.missing.len(),
            r.corrupted.len(),
            r.orphans.len(),
            r.temp_leftovers.len(),
            r.others.len(),
            r.index_problems.len()
        ));
    }
    s
}

fn render_repair(r: &RepairReport) -> String {
    let mut s = String::new();
    for p in &r.restored {
        s.push_str(&format!("restored: {p}\n"));
    }
    for p in &r.updated {
        s.push_str(&format!(
            "stored the current version from the source: {p}\n"
        ));
    }
    for e in &r.elsewhere {
        s.push_str(&format!(
            "only {} had {}: {}\n",
            e.source, e.path, e.what_to_do
        ));
    }
    for (p, why) in &r.failed {
        s.push_str(&format!("cannot repair {p}: {why}\n"));
    }
    s.push_str(&format!(
        "repair: {} restored, {} updated, {} need a Takeout re-import, {} failed; {} others.txt rewritten, {} temporary files removed\n",
        r.restored.len(),
        r.updated.len(),
        r.elsewhere.len(),
        r.failed.len(),
        r.others_rewritten,
        r.temp_removed
    ));
    s
}
