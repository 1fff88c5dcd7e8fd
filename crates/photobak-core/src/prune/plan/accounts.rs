//! Phase 4 of the plan: each account's plan and the `--max-delete` check.

use super::*;

/// Phase 4: the plan of each account, and the accounts over `--max-delete`.
pub(super) fn account_plans(
    rows: &Rows<'_>,
    d: &Decisions,
    after: &After,
    opts: &PruneOptions,
) -> Result<(Vec<AccountPlan>, Vec<String>)> {
    let mut accounts = Vec::new();
    let mut over = Vec::new();
    for ListedAccount {
        account,
        newest,
        evidence,
        problems: account_problems,
    } in &d.account_plans
    {
        let items_total = rows.index.account_item_count(account.id)?;
        let mut items_removed = Vec::new();
        for (&id, why) in &d.gone {
            let Some(i) = rows.item(id)?.filter(|i| i.account_id == account.id) else {
                continue;
            };
            let path = match i.content_id {
                Some(c) => rows.index.prune_content(c)?.map(|c| c.path),
                None => None,
            };
            items_removed.push(PlannedItem {
                id: i.id,
                remote_id: i.remote_id,
                filename: i.filename,
                path,
                reason: why.clone(),
            });
        }
        let of_account = |id: &i64| rows.albums.get(id).filter(|a| a.account_id == account.id);
        let albums_removed = d
            .removed_albums
            .iter()
            .filter_map(|(id, why)| {
                of_account(id).map(|a| PlannedAlbum {
                    id: a.id,
                    title: a.title.clone(),
                    folder: a.folder.clone(),
                    reason: why.clone(),
                })
            })
            .collect();
        let mut memberships_removed = Vec::new();
        for &(a, i) in &d.removed_memberships {
            let Some(album) = of_account(&a) else {
                continue;
            };
            memberships_removed.push(PlannedMembership {
                album_id: a,
                album: album.title.clone(),
                item_id: i,
                filename: rows.item(i)?.map(|i| i.filename).unwrap_or_default(),
            });
        }
        let mut items_to_year_folder = Vec::new();
        for &i in &after.homeless {
            if rows
                .item(i)?
                .is_some_and(|item| item.account_id == account.id)
            {
                items_to_year_folder.push(i);
            }
        }
        let over_limit = opts
            .max_delete
            .exceeded(items_removed.len() as u64, items_total);
        if over_limit {
            over.push(format!(
                "{}: {} of {} items would be removed, more than --max-delete {}",
                account.name,
                items_removed.len(),
                items_total,
                opts.max_delete
            ));
        }
        accounts.push(AccountPlan {
            account: account.name.clone(),
            account_id: account.id,
            items_total,
            albums_removed,
            items_removed,
            memberships_removed,
            items_to_year_folder,
            newest_export: newest.clone(),
            takeout_evidence: evidence.clone(),
            problems: account_problems.clone(),
            over_limit,
        });
    }
    Ok((accounts, over))
}
