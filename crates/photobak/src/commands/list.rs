//! `photobak list`: one line per stored item, or JSON Lines for scripts.

use std::io::Write;
use std::ops::ControlFlow;
use std::path::Path;

use photobak_core::list::{ListFilter, list};

use crate::cli::ListArgs;

/// Prints the items; reads the index without the repository lock.
pub fn run(repo_path: &Path, args: &ListArgs) -> anyhow::Result<bool> {
    let index = super::status::open_index(repo_path)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    // Each item is written as the index yields it; the first write error stops the walk.
    let mut failed: Option<anyhow::Error> = None;
    list(
        &index,
        &ListFilter {
            account: args.account.clone(),
            album: args.album.clone(),
        },
        |i| {
            let line = if args.json {
                match serde_json::to_string(&i) {
                    Ok(l) => l,
                    Err(e) => {
                        failed = Some(e.into());
                        return ControlFlow::Break(());
                    }
                }
            } else {
                let albums = if i.albums.is_empty() {
                    String::new()
                } else {
                    format!("  [{}]", i.albums.join(", "))
                };
                format!(
                    "{}  {:>10}  {}{albums}",
                    i.taken_at.as_deref().unwrap_or("-------------------- "),
                    i.size,
                    i.path
                )
            };
            match writeln!(out, "{line}") {
                Ok(()) => ControlFlow::Continue(()),
                Err(e) => {
                    failed = Some(e.into());
                    ControlFlow::Break(())
                }
            }
        },
    )?;
    if let Some(e) = failed {
        // A closed pipe (`photobak list | head`) is not an error.
        if e.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
        {
            return Ok(true);
        }
        return Err(e);
    }
    match out.flush() {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(true),
    }
}
