//! `photobak exports list|mark`: the imported Takeout exports and their kinds. The kind decides
//! what prune may do (only a full export's absences count), so the user can always see it and
//! correct it.

use std::path::Path;

use photobak_core::exports::{
    ExportId, ExportKind, ExportRecord, TakeoutFeed, export_owner, takeout_feed,
};
use photobak_core::repo::Repo;
use photobak_core::status::rfc3339;

use crate::cli::{ExportsListArgs, ExportsMarkArgs};
use crate::commands::status::{feed_lines, open_index};

struct AccountExports {
    account: String,
    feed: TakeoutFeed,
}

/// Lists the exports of each account (oldest first) and what prune compares with.
pub fn list(repo_path: &Path, args: &ExportsListArgs) -> anyhow::Result<bool> {
    let index = open_index(repo_path)?;
    let mut out = Vec::new();
    for a in index.select_accounts(args.account.as_slice())? {
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
    let repo = Repo::open_existing(repo_path)?;
    let export = ExportId::new(args.export.trim());
    let account = export_owner(&repo.index, args.account.as_deref(), &export)?;
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
