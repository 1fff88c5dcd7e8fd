//! `photobak import takeout`: merge one Takeout export into the repository, every complete
//! export in inbox folders (once, or as a watcher with `--every`), or, with `--from-drive`,
//! every export Takeout delivered to Google Drive (once or on a schedule).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use photobak_core::exports::ExportKind;
use photobak_core::inbox::{DEFAULT_SETTLE, InboxOptions, InboxSummary, is_inbox, run_inbox};
use photobak_core::repo::{Repo, is_repository};
use photobak_core::takeout_drive::{
    DEFAULT_FOLDER, DriveAccountSummary, DriveImportOptions, drive_accounts, import_from_drive,
};
use photobak_core::takeout_import::{ImportOptions, import_parts};
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
    if let Some(folders) = inbox_folders(args)? {
        return inbox(repo_path, args, folders, cancel).await;
    }
    for p in &args.parts {
        check_part(p)?;
    }
    let opts = import_options(args);
    let progress = crate::progress::for_terminal(args.json, "reading the export");
    #[cfg(debug_assertions)]
    if std::env::var_os("PHOTOBAK_TEST_PANIC").is_some() {
        // Testing aid of debug builds only: proves a panicked task ends as an internal error
        // (exit 70), not as a user error.
        tokio::task::spawn_blocking(|| panic!("PHOTOBAK_TEST_PANIC is set"))
            .await
            .map_err(|e| photobak_core::Error::from_join("import", &e))?;
    }
    let repo = {
        let repo_path = repo_path.to_path_buf();
        std::sync::Arc::new(tokio::task::spawn_blocking(move || Repo::open(&repo_path)).await??)
    };
    let summary = import_parts(repo, &opts, progress, cancel).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!("{}", super::summary::render(&summary));
    }
    Ok(summary.ok())
}

/// The import options the command line gives (the parts as given).
fn import_options(args: &TakeoutArgs) -> ImportOptions {
    ImportOptions {
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
        reread: args.reread,
    }
}

/// The inbox folders among the paths, when the command is an inbox run; None for the parts of
/// one export. A folder is an inbox when its top level holds files named like Takeout parts
/// ([`is_inbox`]). With `--every` or `--remove-imported`, which only an inbox has, a folder is
/// one even while it holds no part yet, unless it holds a `Takeout` folder (an extracted
/// export). Inbox folders and parts of one export are not mixed.
fn inbox_folders(args: &TakeoutArgs) -> Result<Option<Vec<PathBuf>>, CliError> {
    let inbox_only = args.every.is_some() || args.remove_imported;
    let (inboxes, others): (Vec<&PathBuf>, Vec<&PathBuf>) = args
        .parts
        .iter()
        .partition(|p| p.is_dir() && (is_inbox(p) || (inbox_only && !p.join("Takeout").is_dir())));
    if inboxes.is_empty() {
        if inbox_only {
            let flag = if args.every.is_some() {
                "--every"
            } else {
                "--remove-imported"
            };
            return Err(CliError::new(
                Exit::Usage,
                format!(
                    "{}: {flag} works on an inbox folder, and this is not one",
                    others[0].display()
                ),
            )
            .hint(
                "give the folder Takeout parts are downloaded into (its top level holds                  takeout-…-001.zip …); an extracted export or single parts are imported without it",
            ));
        }
        return Ok(None);
    }
    if args.full {
        // An inbox holds several exports, and of a schedule only the first is full: saying
        // `--full` for all of them would make prune take every item an incremental lacks for
        // gone. The kind of one export is said after its import.
        return Err(CliError::new(
            Exit::Usage,
            format!(
                "{}: --full names one export, and an inbox folder may hold several",
                inboxes[0].display()
            ),
        )
        .hint(
            "import the inbox without it, then mark the full export: \
             `photobak exports mark takeout-… --full` (or give that export's parts alone with --full)",
        ));
    }
    if let Some(other) = others.first() {
        return Err(CliError::new(
            Exit::Usage,
            format!(
                "{} is an inbox folder (it holds Takeout parts), {} is not",
                inboxes[0].display(),
                other.display()
            ),
        )
        .hint("give inbox folders alone, or the parts of one export"));
    }
    Ok(Some(inboxes.into_iter().cloned().collect()))
}

/// How long a part must be unmodified before the inbox reads it: a minute, or
/// `PHOTOBAK_SETTLE_SECS` (a testing aid).
fn settle_time() -> Duration {
    std::env::var("PHOTOBAK_SETTLE_SECS")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .map_or(DEFAULT_SETTLE, Duration::from_secs)
}

/// The inbox, once or every `--every`; the repository is opened (and locked) per run only.
async fn inbox(
    repo_path: &Path,
    args: &TakeoutArgs,
    folders: Vec<PathBuf>,
    cancel: CancellationToken,
) -> anyhow::Result<bool> {
    let opts = InboxOptions {
        folders,
        import: import_options(args),
        remove_imported: args.remove_imported,
        settle: settle_time(),
    };
    let Some(interval) = args.every else {
        return inbox_once(repo_path, args.json, &opts, cancel).await;
    };
    Ok(super::scheduled(interval, cancel.clone(), || {
        inbox_once(repo_path, args.json, &opts, cancel.clone())
    })
    .await)
}

/// One inbox run on a blocking thread, its report printed. True when no import failed.
async fn inbox_once(
    repo_path: &Path,
    json: bool,
    opts: &InboxOptions,
    cancel: CancellationToken,
) -> anyhow::Result<bool> {
    let repo_path = repo_path.to_path_buf();
    let opts = opts.clone();
    let progress = crate::progress::for_terminal(json, "reading the export");
    let summary = tokio::task::spawn_blocking(move || -> anyhow::Result<InboxSummary> {
        let repo = Arc::new(Repo::open(&repo_path)?);
        // Each import writes the manifest as it ends (`Engine::finish`); removing parts does
        // not touch the repository.
        Ok(run_inbox(&repo, &opts, &progress, &cancel)?)
    })
    .await??;
    if json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!("{}", render_inbox(&summary));
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
    Ok(super::scheduled(interval, cancel.clone(), || {
        drive_once(repo_path, args, &opts, &google, cancel.clone())
    })
    .await)
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
        out.push_str(&super::summary::render(i));
    }
    out
}

/// The inbox report: a line per export (its decision and why), the import report of each
/// export imported, what was removed and why that was safe, and a closing count.
pub fn render_inbox(s: &InboxSummary) -> String {
    use photobak_core::inbox::Decision;
    let mut out = String::new();
    for e in &s.exports {
        out.push_str(&format!(
            "{} ({} part{}): {}: {}\n",
            e.export_id,
            e.parts.len(),
            if e.parts.len() == 1 { "" } else { "s" },
            e.decision.as_str(),
            e.why
        ));
        if let Some(i) = &e.import {
            for l in super::summary::render(i).lines() {
                out.push_str(&format!("  {l}\n"));
            }
        }
        if let Some(err) = &e.error {
            out.push_str(&format!("  import failed: {err}\n"));
        }
        if let Some(r) = &e.removal {
            let bytes = if e.removed.is_empty() {
                String::new()
            } else {
                format!(" ({})", indicatif::HumanBytes(e.removed_bytes))
            };
            out.push_str(&format!("  {r}{bytes}\n"));
        }
    }
    for u in &s.unnamed_downloads {
        out.push_str(&format!(
            "a download in progress names no export yet: {u}\n"
        ));
    }
    let count = |d: Decision| s.exports.iter().filter(|e| e.decision == d).count();
    // An export imported before and read again (for --remove-imported) counts as already
    // imported.
    let imported = s
        .exports
        .iter()
        .filter(|e| e.imported && e.decision != Decision::AlreadyImported)
        .count();
    let failed = s.exports.iter().filter(|e| !e.ok()).count();
    let removed: usize = s.exports.iter().map(|e| e.removed.len()).sum();
    let mut parts = Vec::new();
    for (n, what) in [
        (imported, "imported"),
        (failed, "failed"),
        (count(Decision::Waiting), "waiting"),
        (count(Decision::Incomplete), "incomplete"),
        (count(Decision::AlreadyImported), "already imported"),
    ] {
        if n > 0 {
            parts.push(format!("{n} {what}"));
        }
    }
    if removed > 0 {
        parts.push(format!("{removed} parts removed"));
    }
    let folders = s.folders.join(", ");
    if s.exports.is_empty() {
        out.push_str(&format!("inbox {folders}: no Takeout parts; nothing to do"));
    } else {
        out.push_str(&format!(
            "inbox {folders}: {} export{}: {}",
            s.exports.len(),
            if s.exports.len() == 1 { "" } else { "s" },
            parts.join(", ")
        ));
        if s.nothing_done() {
            out.push_str("; nothing to do");
        }
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
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let named = [".zip", ".tgz", ".tar.gz", ".tar"]
        .iter()
        .any(|e| name.ends_with(e));
    // A name that says archive is enough: the part is not opened here (a rerun of an export
    // imported already opens no part at all), and the importer says what is wrong with it.
    if named {
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
    if magic {
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
