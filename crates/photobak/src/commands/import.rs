//! `photobak import takeout`: merge one Takeout export into the repository, or, with
//! `--from-drive`, every export Takeout delivered to Google Drive (once or on a schedule).

use std::path::Path;
use std::sync::Arc;

use photobak_core::exports::ExportKind;
use photobak_core::repo::{Repo, is_repository};
use photobak_core::takeout_drive::{
    DEFAULT_FOLDER, DriveAccountSummary, DriveImportOptions, drive_accounts, import_from_drive,
};
use photobak_core::takeout_import::{ImportOptions, ImportSummary, import_takeout};
use tokio_util::sync::CancellationToken;

use crate::cli::TakeoutArgs;
use crate::exit::{CliError, Exit, command_prefix};

/// Runs the import on a blocking thread and prints its report. True when no entry failed.
pub async fn run(
    repo_path: &Path,
    args: &TakeoutArgs,
    cancel: CancellationToken,
) -> anyhow::Result<bool> {
    if args.from_drive {
        return from_drive(repo_path, args, cancel).await;
    }
    for p in &args.parts {
        check_part(p)?;
    }
    let opts = ImportOptions {
        parts: args.parts.clone(),
        account: args.account.clone(),
        include_trash: args.include_trash,
        xmp: args.xmp,
        no_mtime: args.no_mtime,
        kind: if args.full {
            Some(ExportKind::Full)
        } else if args.incremental {
            Some(ExportKind::Incremental)
        } else {
            None
        },
    };
    let repo_path = repo_path.to_path_buf();
    let progress = crate::progress::for_terminal(args.json, "reading the export");
    let summary = tokio::task::spawn_blocking(move || -> anyhow::Result<ImportSummary> {
        #[cfg(debug_assertions)]
        if std::env::var_os("PHOTOBAK_TEST_PANIC").is_some() {
            // Testing aid of debug builds only: proves a panicked task ends as an internal
            // error (exit 70), not as a user error.
            panic!("PHOTOBAK_TEST_PANIC is set");
        }
        let repo = Repo::open(&repo_path)?;
        let summary = import_takeout(&repo, &opts, progress.as_ref(), &cancel)?;
        photobak_core::manifest::write_manifest(&repo)?;
        Ok(summary)
    })
    .await??;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!("{}", render(&summary));
    }
    Ok(summary.ok())
}

/// `--from-drive`: once, or every `--every` with the repository unlocked between runs.
async fn from_drive(
    repo_path: &Path,
    args: &TakeoutArgs,
    cancel: CancellationToken,
) -> anyhow::Result<bool> {
    let google = super::google_access()?;
    if !is_repository(repo_path) {
        // The Drive consent lives in the repository's index: without one there is none.
        let cmd = command_prefix(repo_path);
        return Err(CliError::new(
            Exit::Config,
            format!(
                "no account has allowed photobak to read its Google Drive: {} is not a \
                 repository yet",
                repo_path.display()
            ),
        )
        .hint(format!(
            "run `{cmd} auth --googlephotos ADDRESS --drive` once (read-only Drive access), \
             then `{cmd} import takeout --from-drive`"
        ))
        .into());
    }
    let opts = DriveImportOptions {
        account: args.account.clone(),
        folder: args
            .drive_folder
            .clone()
            .unwrap_or_else(|| DEFAULT_FOLDER.to_string()),
        include_trash: args.include_trash,
        xmp: args.xmp,
        no_mtime: args.no_mtime,
    };
    let Some(interval) = args.every else {
        return drive_once(repo_path, args, &opts, &google, cancel).await;
    };
    // A schedule that cannot work would log the same error every interval: refuse it now.
    drive_accounts(&Repo::open(repo_path)?, opts.account.as_deref())?;
    let all_ok = Arc::new(std::sync::atomic::AtomicBool::new(true));
    photobak_core::schedule::every(interval, cancel.clone(), |n| {
        let (google, cancel, all_ok, opts) =
            (google.clone(), cancel.clone(), all_ok.clone(), opts.clone());
        async move {
            tracing::info!("scheduled run {n} starting");
            match drive_once(repo_path, args, &opts, &google, cancel).await {
                Ok(ok) => {
                    all_ok.fetch_and(ok, std::sync::atomic::Ordering::Relaxed);
                }
                Err(e) => {
                    // In scheduled mode an error is logged and the loop goes on.
                    tracing::error!("scheduled run {n}: {e:#}");
                    all_ok.store(false, std::sync::atomic::Ordering::Relaxed);
                }
            }
            tracing::info!("next run in {}", humantime::format_duration(interval));
        }
    })
    .await;
    Ok(all_ok.load(std::sync::atomic::Ordering::Relaxed))
}

async fn drive_once(
    repo_path: &Path,
    args: &TakeoutArgs,
    opts: &DriveImportOptions,
    google: &photobak_core::google::GoogleAccess,
    cancel: CancellationToken,
) -> anyhow::Result<bool> {
    // Opened per run so the lock is released between scheduled runs.
    let repo = Arc::new(Repo::open(repo_path)?);
    let progress = crate::progress::for_terminal(args.json, "fetching exports from Google Drive");
    let summaries = import_from_drive(repo.clone(), google, opts, progress, &cancel).await?;
    if summaries.iter().any(|s| !s.imports.is_empty()) {
        let manifest_repo = repo.clone();
        tokio::task::spawn_blocking(move || {
            photobak_core::manifest::write_manifest(&manifest_repo)
        })
        .await??;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summaries)?);
    } else {
        for s in &summaries {
            println!("{}", render_drive(s));
        }
    }
    Ok(summaries.iter().all(DriveAccountSummary::ok))
}

/// One account's Drive run: what was found, then each import's own report.
pub fn render_drive(s: &DriveAccountSummary) -> String {
    if s.folders_found == 0 {
        return format!(
            "{}: Google Drive has no folder named {:?} (Takeout creates it when it delivers an \
             export to Drive); nothing to import",
            s.account, s.folder
        );
    }
    let mut out = format!(
        "{}: Google Drive folder {:?}: {}; imported {} ({}, {} downloaded), {} imported before",
        s.account,
        s.folder,
        plural(s.parts_listed, "Takeout part"),
        plural(s.imports.len(), "export"),
        plural(s.parts_downloaded, "part"),
        indicatif::HumanBytes(s.bytes_downloaded),
        s.already_imported.len()
    );
    if s.imports.is_empty() && s.waiting.is_empty() {
        out.push_str(" (nothing new)");
    }
    for w in &s.waiting {
        out.push_str(&format!("\n  waiting: {}: {}", w.export_id, w.reason));
    }
    if !s.ignored.is_empty() {
        out.push_str(&format!(
            "\n  left alone: {}",
            plural(s.ignored.len(), "file")
        ));
        for i in s.ignored.iter().take(10) {
            out.push_str(&format!("\n    {i}"));
        }
        if s.ignored.len() > 10 {
            out.push_str(&format!("\n    … and {} more", s.ignored.len() - 10));
        }
    }
    for i in &s.imports {
        out.push('\n');
        out.push_str(&render(i));
    }
    out
}

fn plural(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

/// Refuses, before any repository is created, a part that cannot be a Takeout export: a path
/// that does not exist, or a file that is neither a zip nor a gzip or tar archive by its first
/// bytes or its name. The importer would find out too, but only after creating the repository.
fn check_part(p: &Path) -> Result<(), CliError> {
    let meta = std::fs::metadata(p).map_err(|e| {
        CliError::new(Exit::Usage, format!("{}: {e}", p.display()))
            .hint("give every part of one export: takeout-…-001.zip takeout-…-002.zip …")
    })?;
    if meta.is_dir() {
        return Ok(());
    }
    let mut head = [0u8; 262];
    let n = std::fs::File::open(p)
        .and_then(|mut f| {
            use std::io::Read;
            let mut n = 0;
            while n < head.len() {
                match f.read(&mut head[n..])? {
                    0 => break,
                    k => n += k,
                }
            }
            Ok(n)
        })
        .map_err(|e| CliError::new(Exit::Usage, format!("{}: {e}", p.display())))?;
    let head = &head[..n];
    let magic = head.starts_with(b"PK\x03\x04")
        || head.starts_with(b"PK\x05\x06")
        || head.starts_with(&[0x1f, 0x8b])
        || (head.len() >= 262 && &head[257..262] == b"ustar");
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let named = [".zip", ".tgz", ".tar.gz", ".tar"]
        .iter()
        .any(|e| name.ends_with(e));
    if magic || named {
        return Ok(());
    }
    Err(CliError::new(
        Exit::Usage,
        format!(
            "{}: not a Takeout archive (neither zip, tgz nor tar)",
            p.display()
        ),
    )
    .hint("give the .zip or .tgz parts Google Takeout made, or the folders they were extracted to"))
}

/// The import report: one summary line, then the details a person should look at.
pub fn render(s: &ImportSummary) -> String {
    let mut out = format!(
        "{}: Takeout {}: {} media files, {} items: {} new, {} deduplicated, {} updated, {} unchanged",
        s.account,
        s.export_id,
        s.media_entries,
        s.items,
        s.new,
        s.deduplicated,
        s.updated,
        s.unchanged
    );
    let skipped: u64 = s.skipped.values().sum();
    if skipped > 0 {
        let why: Vec<String> = s.skipped.iter().map(|(k, v)| format!("{v} {k}")).collect();
        out.push_str(&format!(", {skipped} skipped ({})", why.join(", ")));
    }
    out.push_str(&format!(
        ", {} failed; {} read in {:.1}s",
        s.failed.len(),
        indicatif::HumanBytes(s.bytes_read),
        s.elapsed_secs
    ));
    if s.repaired > 0 {
        out.push_str(&format!(
            "\n  {} damaged or missing files restored from the export",
            s.repaired
        ));
    }
    if let Some(k) = &s.kind {
        match k.kind {
            ExportKind::Full => out.push_str(&format!("\n  full export: {}", k.reason)),
            _ => out.push_str(&format!(
                "\n  incremental export: items it lacks are kept ({})",
                k.reason
            )),
        }
    }
    if s.absent > 0 {
        out.push_str(&format!(
            "\n  {} previously imported items are absent from this full export \
             (`photobak prune --dry-run` shows what would go)",
            s.absent
        ));
    }
    for w in &s.warnings {
        out.push_str(&format!("\n  warning: {w}"));
    }
    if s.xmp_written > 0 {
        out.push_str(&format!("\n  {} XMP sidecars written", s.xmp_written));
    }
    let list = |out: &mut String, title: &str, items: &[String]| {
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
    };
    list(&mut out, "media without a sidecar", &s.without_sidecar);
    list(&mut out, "sidecars without media", &s.unmatched_sidecars);
    list(&mut out, "ambiguous sidecars (none applied)", &s.ambiguous);
    list(&mut out, "problems in the export", &s.problems);
    let failed: Vec<String> = s
        .failed
        .iter()
        .map(|(e, why)| format!("{e}: {why}"))
        .collect();
    list(&mut out, "failed", &failed);
    out
}
