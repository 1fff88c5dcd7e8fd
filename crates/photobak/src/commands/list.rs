//! `photobak list`: one line per stored item, or JSON Lines for scripts.

use std::io::Write;
use std::path::Path;

use photobak_core::list::{ListFilter, list};

use crate::cli::ListArgs;

/// Prints the items; reads the index without the repository lock.
pub fn run(repo_path: &Path, args: &ListArgs) -> anyhow::Result<bool> {
    let index = super::status::open_index(repo_path)?;
    let items = list(
        &index,
        &ListFilter {
            account: args.account.clone(),
            album: args.album.clone(),
        },
    )?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for i in &items {
        let line = if args.json {
            serde_json::to_string(i)?
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
        if let Err(e) = writeln!(out, "{line}") {
            // A closed pipe (`photobak list | head`) is not an error.
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                return Ok(true);
            }
            return Err(e.into());
        }
    }
    match out.flush() {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(true),
    }
}
