//! `photobak prune` (= `-prune`): plan, print, and only then remove.

use std::path::Path;
use std::sync::Arc;

use indicatif::HumanBytes;
use photobak_core::prune::{
    PruneOptions, PruneOutcome, PrunePlan, execute, gather, plan, record_refusal,
};
use photobak_core::repo::Repo;
use tokio_util::sync::CancellationToken;

use crate::cli::PruneArgs;
use crate::exit::{CliError, Exit, command_prefix};

/// Lists every source, prints the plan, and carries it out unless `--dry-run` or refused.
/// A refused plan is an error (exit 1) in both modes: a dry run shows the same refusals as the
/// real run would, so that "the dry run passed" means the real one will act.
pub async fn run(
    repo_path: &Path,
    args: &PruneArgs,
    cancel: CancellationToken,
) -> anyhow::Result<bool> {
    let repo = Arc::new(Repo::open_existing(repo_path)?);
    let cmd = command_prefix(repo_path);
    let accounts = repo
        .index
        .select_accounts(&args.accounts)
        .map_err(|e| match e {
            photobak_core::Error::BadArgument(m) => {
                anyhow::Error::new(CliError::new(Exit::Usage, m).hint(format!(
                    "`{cmd} status` lists the accounts of the repository"
                )))
            }
            other => other.into(),
        })?;
    if accounts.is_empty() {
        return Err(CliError::new(
            Exit::Usage,
            format!(
                "{}: the repository has no account to prune",
                repo_path.display()
            ),
        )
        .into());
    }
    let google = match super::google_access() {
        Ok(g) => Some(g),
        Err(e) => {
            tracing::info!("Google client not configured ({e:#}); only Takeout data can be pruned");
            None
        }
    };
    let opts = PruneOptions {
        accounts: args.accounts.clone(),
        max_delete: args.max_delete,
        force: args.force,
        trash_days: args.trash_days,
        purge: args.purge,
    };
    let listings = {
        // Dropped (and cleared from the screen) before the plan is printed.
        let progress = crate::progress::for_terminal(args.json, "listing the library");
        gather(
            &repo,
            google.as_ref(),
            &accounts,
            &cancel,
            progress.as_ref(),
        )
        .await?
    };
    let plan = plan(&repo, &listings, &opts)?;
    if !args.json {
        print!("{}", render_plan(&plan, args.trash_days));
    }
    if let Some(why) = &plan.refused {
        if args.dry_run {
            if args.json {
                println!(
                    "{}",
                    serde_json::json!({ "plan": plan, "dry_run": true, "refused": why })
                );
            } else {
                println!("dry run: nothing was changed");
            }
        } else {
            record_refusal(&repo, &plan)?;
            if args.json {
                println!("{}", serde_json::json!({ "plan": plan, "refused": why }));
            }
        }
        let mut err = CliError::new(Exit::Failure, format!("prune refused: {why}"));
        if google.is_none() && plan.accounts.iter().any(|a| !a.problems.is_empty()) {
            err = err.hint(
                "set GOOGLEPHOTOS_CLIENT_ID and GOOGLEPHOTOS_CLIENT_SECRET so the Library API can \
                 be listed (see the README, \"Google OAuth client\"), or prune only Takeout-fed \
                 accounts with --account ADDRESS",
            );
        }
        return Err(err.into());
    }
    if args.dry_run {
        if args.json {
            println!("{}", serde_json::json!({ "plan": plan, "dry_run": true }));
        } else {
            println!("dry run: nothing was changed");
        }
        return Ok(true);
    }
    let outcome = execute(&repo, &plan)?;
    if args.json {
        println!(
            "{}",
            serde_json::json!({ "plan": plan, "outcome": outcome })
        );
    } else {
        print!("{}", render_outcome(&outcome, &plan));
    }
    Ok(true)
}

/// The plan: counts first, then every path concerned.
pub fn render_plan(plan: &PrunePlan, trash_days: u32) -> String {
    let mut s = String::from("prune plan:\n");
    for a in &plan.accounts {
        s.push_str(&format!(
            "  {}: {} of {} items removed, {} albums removed, {} album memberships removed, {} items to their year folder{}\n",
            a.account,
            a.items_removed.len(),
            a.items_total,
            a.albums_removed.len(),
            a.memberships_removed.len(),
            a.items_to_year_folder.len(),
            if a.over_limit { " (over --max-delete)" } else { "" }
        ));
        // The evidence for Takeout items, so a person can check it before anything goes.
        match &a.takeout_evidence {
            Some(ev) => s.push_str(&format!("    Takeout evidence: {ev}
")),
            None if a.newest_export.is_some() => s.push_str(
                "    Takeout evidence: none (no full export imported; incremental exports never make items gone)\n",
            ),
            None => {}
        }
    }
    let fate = if plan.purge {
        "deleted at once".to_string()
    } else {
        format!("moved to the trash for {trash_days} days")
    };
    s.push_str(&format!(
        "  files: {} removed ({}, {fate}), {} moved to an album that still holds them; {} expired trash folders emptied\n",
        plan.files_removed.len(),
        HumanBytes(plan.bytes_removed().max(0) as u64),
        plan.moves.len(),
        plan.expired_trash.len()
    ));
    let removed: std::collections::HashSet<&str> =
        plan.files_removed.iter().map(|f| f.path.as_str()).collect();
    for a in &plan.accounts {
        for al in &a.albums_removed {
            s.push_str(&format!(
                "  album removed: {} ({}): {}\n",
                al.folder, al.title, al.reason
            ));
        }
        for i in &a.items_removed {
            let kept = match i.path.as_deref() {
                Some(p) if !removed.contains(p) => "; its file stays for the items still using it",
                _ => "",
            };
            s.push_str(&format!(
                "  item removed: {} ({}): {}{kept}\n",
                i.path.as_deref().unwrap_or("(no file)"),
                i.filename,
                i.reason
            ));
        }
        for m in &a.memberships_removed {
            s.push_str(&format!(
                "  membership removed: {} from album {}\n",
                m.filename, m.album
            ));
        }
    }
    for m in &plan.moves {
        s.push_str(&format!("  file moved: {} -> {}/\n", m.from, m.to_folder));
    }
    for f in &plan.files_removed {
        s.push_str(&format!("  file removed: {}\n", f.path));
    }
    for t in &plan.expired_trash {
        s.push_str(&format!("  trash emptied: .photobak/trash/{t}\n"));
    }
    if plan.is_empty() {
        s.push_str("  nothing to prune\n");
    }
    s
}

/// What was done, in one summary line plus the folders concerned.
pub fn render_outcome(o: &PruneOutcome, plan: &PrunePlan) -> String {
    let mut s = format!(
        "pruned: {} items, {} albums, {} memberships removed; {} files to the trash, {} deleted, {} moved; {} folders removed, {} others.txt rewritten\n",
        o.items_removed,
        o.albums_removed,
        o.memberships_removed,
        o.files_trashed,
        o.files_deleted,
        o.files_moved,
        o.folders_removed.len(),
        o.others_rewritten
    );
    for f in &o.folders_kept {
        s.push_str(&format!(
            "  kept folder {f}: it still holds files photobak does not manage\n"
        ));
    }
    for f in &o.already_missing {
        s.push_str(&format!("  already missing: {f}\n"));
    }
    if !plan.purge && o.files_trashed > 0 {
        s.push_str("  removed files are in .photobak/trash/ inside the repository\n");
    }
    s
}
