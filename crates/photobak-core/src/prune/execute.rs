//! Step two: carry out an allowed plan (trash, relocate shared files, regenerate others.txt).

use std::collections::HashMap;
use std::fs;
use std::path::Path;

use crate::error::{Error, IoContext, Result};
use crate::index::{Account, ForgottenItem, PruneForget};
use crate::ingest::ensure_year_album;
use crate::manifest::write_manifest;
use crate::repo::Repo;
use crate::repo::naming::numbered;
use crate::repo::others::OTHERS_FILE;
use crate::repo::store::{Removed, rename_durably, sync_dir};

use super::plan::{file_name_of, trash_dir};
use super::*;

/// Carries out a plan that was not refused.
///
/// # Errors
/// [`Error::Invalid`] when the plan was refused; file-system or index failures (a prune
/// interrupted half-way is completed by running prune again).
pub fn execute(repo: &Repo, plan: &PrunePlan) -> Result<PruneOutcome> {
    if let Some(why) = &plan.refused {
        return Err(Error::Invalid(format!("prune refused: {why}")));
    }
    let mut out = PruneOutcome::default();
    let accounts: HashMap<i64, Account> = repo
        .index
        .accounts()?
        .into_iter()
        .map(|a| (a.id, a))
        .collect();
    let item_year = |item_id: i64| repo.index.item_account_and_time(item_id);
    let runs: Vec<(i64, i64)> = plan
        .accounts
        .iter()
        .map(|a| {
            Ok((
                a.account_id,
                repo.index.begin_run("prune", Some(a.account_id))?,
            ))
        })
        .collect::<Result<_>>()?;

    // 1. Items left in no album join their year folder.
    let mut year_album_of: HashMap<i64, (i64, String)> = HashMap::new();
    for a in &plan.accounts {
        for &item_id in &a.items_to_year_folder {
            let (account_id, taken_at) = item_year(item_id)?;
            let Some(account) = accounts.get(&account_id) else {
                continue;
            };
            let album = ensure_year_album(repo, account, taken_at)?;
            repo.index.add_membership(album.id, item_id)?;
            year_album_of.insert(item_id, (album.id, album.folder));
        }
    }

    // 2. Shared files move to an album that still holds one of their users.
    for m in &plan.moves {
        let (album_id, folder) = match (m.to_album, m.year_item) {
            (Some(a), _) => (a, m.to_folder.clone()),
            (None, Some(item)) => match year_album_of.get(&item) {
                Some(x) => x.clone(),
                None => {
                    let (account_id, taken_at) = item_year(item)?;
                    let Some(account) = accounts.get(&account_id) else {
                        continue;
                    };
                    let album = ensure_year_album(repo, account, taken_at)?;
                    repo.index.add_membership(album.id, item)?;
                    (album.id, album.folder)
                }
            },
            (None, None) => continue,
        };
        relocate(repo, m, album_id, &folder, &mut out)?;
    }

    // 3. Files no item uses any more leave the tree: journaled, forgotten by the index, then
    // moved (see `Repo::begin_removals`: a kill anywhere in between neither leaves the index
    // naming a file that is gone nor leaves an orphan behind).
    let journaled: Vec<String> = plan
        .files_removed
        .iter()
        .flat_map(|f| [f.path.clone(), format!("{}.xmp", f.path)])
        .collect();
    repo.begin_removals(&journaled, plan.purge)?;
    let removed_contents: Vec<i64> = plan.files_removed.iter().map(|f| f.content_id).collect();
    repo.index.forget_contents(&removed_contents)?;
    for (rel, state) in repo.finish_removals()? {
        if rel.ends_with(".xmp") {
            continue;
        }
        match state {
            Removed::Missing => out.already_missing.push(rel),
            Removed::Deleted => out.files_deleted += 1,
            Removed::Trashed => out.files_trashed += 1,
            Removed::Kept => {}
        }
    }

    // The others.txt of an album about to be forgotten goes before the index forgets it: once
    // the album is gone from the index nothing rewrites or removes that file, so a kill between
    // the two left it behind, listing files its album no longer had. Removed first, a kill
    // leaves an album the index still knows, whose others.txt the next run writes again.
    for a in &plan.accounts {
        for al in &a.albums_removed {
            let others = repo.abs(&al.folder).join(OTHERS_FILE);
            if others.exists() {
                fs::remove_file(&others).ctx(|| format!("removing {}", others.display()))?;
                out.others_rewritten += 1;
            }
        }
    }

    // 4. The index forgets, in one transaction.
    let forget = PruneForget {
        memberships: plan
            .accounts
            .iter()
            .flat_map(|a| {
                a.memberships_removed
                    .iter()
                    .map(|m| (m.album_id, m.item_id))
            })
            .collect(),
        contents: removed_contents,
        items: plan
            .accounts
            .iter()
            .flat_map(|a| {
                a.items_removed.iter().map(|i| ForgottenItem {
                    id: i.id,
                    account_id: a.account_id,
                    remote_id: i.remote_id.clone(),
                })
            })
            .collect(),
        albums: plan
            .accounts
            .iter()
            .flat_map(|a| a.albums_removed.iter().map(|al| al.id))
            .collect(),
    };
    repo.index.forget_pruned(&forget)?;
    out.memberships_removed += forget.memberships.len() as u64;
    out.items_removed += forget.items.len() as u64;
    out.albums_removed += forget.albums.len() as u64;

    // 5. others.txt files follow the index; folders of removed albums go when empty.
    for account in accounts.values() {
        out.others_rewritten += repo.refresh_all_others(account.id)?;
    }
    for a in &plan.accounts {
        for al in &a.albums_removed {
            let dir = repo.abs(&al.folder);
            if !dir.exists() {
                continue;
            }
            if remove_dir_if_empty(&dir)? {
                out.folders_removed.push(al.folder.clone());
            } else {
                out.folders_kept.push(al.folder.clone());
            }
        }
    }

    // 6. Old trash goes.
    for name in &plan.expired_trash {
        let dir = trash_dir(repo).join(name);
        if dir.exists() {
            fs::remove_dir_all(&dir).ctx(|| format!("emptying {}", dir.display()))?;
            out.trash_emptied.push(name.clone());
        }
    }

    write_manifest(repo)?;
    for (account_id, run) in runs {
        let a = plan
            .accounts
            .iter()
            .find(|a| a.account_id == account_id)
            .expect("run of a planned account");
        // Files are counted for the account whose folder they left.
        let folder = accounts
            .get(&account_id)
            .map(|x| format!("{}/", x.folder))
            .unwrap_or_default();
        let summary = serde_json::json!({
            "items_removed": a.items_removed.len(),
            "albums_removed": a.albums_removed.len(),
            "memberships_removed": a.memberships_removed.len(),
            "files_moved": plan.moves.iter().filter(|m| m.from.starts_with(&folder)).count(),
            "files_removed": plan.files_removed.iter().filter(|f| f.path.starts_with(&folder)).count(),
            "purged": plan.purge,
        });
        repo.index.finish_run(run, true, &summary.to_string())?;
    }
    Ok(out)
}

/// Records a refused prune so `status` can show it.
///
/// # Errors
/// Index failures.
pub fn record_refusal(repo: &Repo, plan: &PrunePlan) -> Result<()> {
    let Some(why) = &plan.refused else {
        return Ok(());
    };
    for a in &plan.accounts {
        let run = repo.index.begin_run("prune", Some(a.account_id))?;
        let summary = serde_json::json!({ "refused": why });
        repo.index.finish_run(run, false, &summary.to_string())?;
    }
    Ok(())
}

/// Moves a file to `folder` under a free name: hard link at the new name, record it, then
/// unlink the old name, so a crash at any point leaves the bytes reachable (at worst an extra
/// name that `verify` reports as an orphan). Falls back to a rename where links are unsupported.
fn relocate(
    repo: &Repo,
    m: &PlannedMove,
    album_id: i64,
    folder: &str,
    out: &mut PruneOutcome,
) -> Result<()> {
    let name = file_name_of(&m.from).to_string();
    let from_abs = repo.abs(&m.from);
    crate::repo::store::create_dir_durably(&repo.abs(folder))?;
    let mut n = 1;
    let to = loop {
        let candidate = format!("{folder}/{}", numbered(&name, n));
        n += 1;
        if candidate.eq_ignore_ascii_case(&m.from) {
            return Ok(());
        }
        if repo.index.path_in_use(&candidate)? {
            continue;
        }
        if let Ok(meta) = fs::symlink_metadata(repo.abs(&candidate)) {
            // The link a killed prune made before it could record it: adopt it, or it would
            // stay behind as an orphan.
            if same_file(&meta, &from_abs) {
                break candidate;
            }
            continue;
        }
        break candidate;
    };
    let to_abs = repo.abs(&to);
    let record = |reason: &str| repo.index.record_move(m.content_id, &to, album_id, reason);
    let reason = "moved by prune: its previous album no longer holds it";
    if !from_abs.exists() {
        record(reason)?;
        out.already_missing.push(m.from.clone());
        return Ok(());
    }
    let linked = if to_abs.exists() {
        Ok(())
    } else {
        fs::hard_link(&from_abs, &to_abs)
    };
    match linked {
        Ok(()) => {
            if let Some(p) = to_abs.parent() {
                sync_dir(p)?;
            }
            // The old name goes through the removal journal: a kill after the record deletes
            // it at the next open instead of leaving it as an orphan.
            repo.begin_removals(std::slice::from_ref(&m.from), true)?;
            record(reason)?;
            repo.finish_removals()?;
        }
        Err(_) => {
            rename_durably(&from_abs, &to_abs)?;
            record(reason)?;
        }
    }
    let sidecar = repo.abs(&format!("{}.xmp", m.from));
    if sidecar.exists() {
        rename_durably(&sidecar, &repo.abs(&format!("{to}.xmp")))?;
    }
    out.files_moved += 1;
    Ok(())
}

/// Whether `meta` and `other` are one file (hard links of one inode).
fn same_file(meta: &fs::Metadata, other: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        fs::symlink_metadata(other).is_ok_and(|o| o.dev() == meta.dev() && o.ino() == meta.ino())
    }
    #[cfg(not(unix))]
    {
        let _ = (meta, other);
        false
    }
}

/// Deletes an album folder when nothing but dot files and `Thumbs.db` is left in it.
fn remove_dir_if_empty(dir: &Path) -> Result<bool> {
    let mut junk = Vec::new();
    for e in fs::read_dir(dir).ctx(|| format!("reading {}", dir.display()))? {
        let e = e.ctx(|| format!("reading {}", dir.display()))?;
        let name = e.file_name().to_string_lossy().to_string();
        let is_file = e.file_type().map(|t| !t.is_dir()).unwrap_or(false);
        if is_file && (name.starts_with('.') || name.eq_ignore_ascii_case("Thumbs.db")) {
            junk.push(e.path());
        } else {
            return Ok(false);
        }
    }
    for j in junk {
        fs::remove_file(&j).ctx(|| format!("removing {}", j.display()))?;
    }
    fs::remove_dir(dir).ctx(|| format!("removing {}", dir.display()))?;
    if let Some(p) = dir.parent() {
        sync_dir(p)?;
    }
    Ok(true)
}
