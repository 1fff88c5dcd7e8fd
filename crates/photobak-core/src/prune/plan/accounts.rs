//! Phase 4 of the plan: each account's plan and the `--max-delete` check.

use super::*;

/// Phase 4: the plan of each account, and the accounts over `--max-delete`.
pub(super) fn account_plans(
    snap: &Snapshot,
    d: &Decisions,
    after: &After,
    opts: &PruneOptions,
) -> (Vec<AccountPlan>, Vec<String>) {
    let mut accounts = Vec::new();
    let mut over = Vec::new();
    for ListedAccount {
        account,
        newest,
        evidence,
        problems: account_problems,
    } in &d.account_plans
    {
        let items_total = snap
            .items
            .values()
            .filter(|i| i.account_id == account.id)
            .count() as u64;
        let items_removed: Vec<PlannedItem> = d
            .gone
            .iter()
            .filter(|(id, _)| snap.items[id].account_id == account.id)
            .map(|(id, why)| {
                let i = &snap.items[id];
                PlannedItem {
                    id: i.id,
                    remote_id: i.remote_id.clone(),
                    filename: i.filename.clone(),
                    path: i
                        .content_id
                        .and_then(|c| snap.contents.get(&c))
                        .map(|c| c.path.clone()),
                    reason: why.clone(),
                }
            })
            .collect();
        let albums_removed = d
            .removed_albums
            .iter()
            .filter(|(id, _)| snap.albums[id].account_id == account.id)
            .map(|(id, why)| {
                let a = &snap.albums[id];
                PlannedAlbum {
                    id: a.id,
                    title: a.title.clone(),
                    folder: a.folder.clone(),
                    reason: why.clone(),
                }
            })
            .collect();
        let memberships_removed = d
            .removed_memberships
            .iter()
            .filter(|(a, _)| snap.albums[a].account_id == account.id)
            .map(|&(a, i)| PlannedMembership {
                album_id: a,
                album: snap.albums[&a].title.clone(),
                item_id: i,
                filename: snap.items[&i].filename.clone(),
            })
            .collect();
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
            items_to_year_folder: after
                .homeless
                .iter()
                .copied()
                .filter(|i| snap.items[i].account_id == account.id)
                .collect(),
            newest_export: newest.clone(),
            takeout_evidence: evidence.clone(),
            problems: account_problems.clone(),
            over_limit,
        });
    }
    (accounts, over)
}
