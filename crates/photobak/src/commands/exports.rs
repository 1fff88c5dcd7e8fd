//! `photobak exports list|mark`: the imported Takeout exports and their kinds. The kind decides
//! what prune may do (only a full export's absences count), so the user can always see it and
//! correct it.

use std::path::Path;

use photobak_core::exports::{ExportId, ExportKind, ExportRecord, TakeoutFeed, takeout_feed};
use photobak_core::index::{Account, Index};
use photobak_core::repo::Repo;
use photobak_core::status::rfc3339;

use crate::cli::{ExportsListArgs, ExportsMarkArgs};
use crate::commands::status::{feed_lines, open_index};

struct AccountExports {
    account: String,
    feed: TakeoutFeed,
}

fn accounts(index: &Index, only: Option<&str>) -> anyhow::Result<Vec<Account>> {
    let all = index.accounts()?;
    match only {
        None => Ok(all),
        Some(name) => match all.into_iter().find(|a| a.name == name) {
            Some(a) => Ok(vec![a]),
            None => Err(photobak_core::Error::BadArgument(format!(
                "{name}: no such account in the repository"
            ))
            .into()),
        },
    }
}

/// Lists the exports of each account (oldest first) and what prune compares with.
pub fn list(repo_path: &Path, args: &ExportsListArgs) -> anyhow::Result<bool> {
    let index = open_index(repo_path)?;
    let mut out = Vec::new();
    for a in accounts(&index, args.account.as_deref())? {
        if let Some(feed) = takeout_feed(&index, a.id)? {
            out.push(AccountExports {
                account: a.name,
                feed,
            });
        }
    }
    if args.json {
        let json: Vec<serde_json::Value> = out
            .iter()
            .map(|a| serde_json::json!({"account": a.account, "takeout": a.feed}))
            .collect();
        println!("{}", serde_json::to_string_pretty(&json)?);
        return Ok(true);
    }
    if out.is_empty() {
        println!("no Takeout export imported yet");
    }
    for a in &out {
        println!("{}:", a.account);
        for e in &a.feed.exports {
            println!("  {}", export_line(e));
        }
        print!("{}", feed_lines(&a.feed, "  "));
    }
    Ok(true)
}

/// One export: id, kind, when made and imported, counts, who decided and why.
pub fn export_line(e: &ExportRecord) -> String {
    let items = e
        .items
        .map(|n| format!("{n} items"))
        .unwrap_or_else(|| format!("{} media files", e.media_entries));
    let state = if e.complete {
        ""
    } else {
        " (import not finished)"
    };
    format!(
        "{} {}{state}: made {}, imported {}, {items}; {} by {}: {}",
        e.export_id,
        e.kind.kind,
        rfc3339(e.exported_at),
        rfc3339(e.imported_at),
        e.kind.kind,
        e.kind.by.as_str(),
        e.kind.reason
    )
}

/// Marks an export full or incremental by the user's word.
pub fn mark(repo_path: &Path, args: &ExportsMarkArgs) -> anyhow::Result<bool> {
    // Refuse a folder that is not a repository before `Repo::open` would create one.
    drop(open_index(repo_path)?);
    let repo = Repo::open(repo_path)?;
    let export = ExportId::new(args.export.trim());
    let all = repo.index.accounts()?;
    let account = match &args.account {
        Some(name) => all.into_iter().find(|a| &a.name == name).ok_or_else(|| {
            photobak_core::Error::BadArgument(format!("{name}: no such account in the repository"))
        })?,
        None => {
            let mut holding = Vec::new();
            for a in all {
                if repo
                    .index
                    .exports(a.id)?
                    .iter()
                    .any(|e| e.export_id == export)
                {
                    holding.push(a);
                }
            }
            match holding.len() {
                1 => holding.remove(0),
                0 => {
                    return Err(photobak_core::Error::BadArgument(format!(
                        "no export {export} was imported into {} \
                         (`photobak exports list` shows what was)",
                        repo_path.display()
                    ))
                    .into());
                }
                _ => {
                    return Err(photobak_core::Error::BadArgument(format!(
                        "{export} was imported into several accounts; say which with --account"
                    ))
                    .into());
                }
            }
        }
    };
    let kind = if args.full {
        ExportKind::Full
    } else {
        ExportKind::Incremental
    };
    let decision = photobak_core::exports::mark_export(&repo.index, &account, &export, kind)?;
    println!("{}: {export} is now {}", account.name, decision.kind);
    if let Some(feed) = takeout_feed(&repo.index, account.id)? {
        print!("{}", feed_lines(&feed, "  "));
    }
    Ok(true)
}
