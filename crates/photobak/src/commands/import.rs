//! `photobak import takeout`: merge one Takeout export into the repository.

use std::path::Path;

use photobak_core::exports::ExportKind;
use photobak_core::repo::Repo;
use photobak_core::takeout_import::{ImportOptions, import_takeout};
use tokio_util::sync::CancellationToken;

use crate::cli::TakeoutArgs;
use crate::exit::{CliError, Exit};

/// Runs the import on a blocking thread and prints its report. True when no entry failed.
pub async fn run(
    repo_path: &Path,
    args: &TakeoutArgs,
    cancel: CancellationToken,
) -> anyhow::Result<bool> {
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
    let summary = import_takeout(repo, &opts, progress, cancel).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!("{}", super::summary::render(&summary));
    }
    Ok(summary.ok())
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
