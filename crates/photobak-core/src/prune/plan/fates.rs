//! Phase 3 of the plan: what happens to each stored file.

use super::*;
use crate::kinds::YearFolder;

/// Phase 3: what happens to each stored file: removed when no item that stays uses it, moved
/// when the album holding it no longer holds any of its users.
pub(super) fn file_fates(
    snap: &Snapshot,
    d: &Decisions,
    after: &After,
    all_accounts: &[Account],
) -> (Vec<PlannedMove>, Vec<PlannedFile>) {
    // Each stored file's users as (file, item) pairs sorted by both: a map of vectors took
    // 15 MB of a 100,000-item library, a pair per item takes 16 bytes.
    let mut users: Vec<(i64, i64)> = Vec::with_capacity(snap.items.len());
    users.extend(
        snap.items
            .values()
            .filter_map(|i| i.content_id.map(|c| (c, i.id))),
    );
    users.sort_unstable();
    let users_of = |c: i64| {
        let from = users.partition_point(|&(x, _)| x < c);
        let to = users.partition_point(|&(x, _)| x <= c);
        &users[from..to]
    };
    let mut moves = Vec::new();
    let mut files_removed = Vec::new();
    for content in snap.contents.values() {
        let us = users_of(content.id);
        let home_removed = content
            .home
            .is_some_and(|h| d.removed_albums.contains_key(&h));
        let touched = home_removed
            || us.iter().any(|(_, u)| {
                d.gone.contains_key(u)
                    || after.homeless.contains(u)
                    || content
                        .home
                        .is_some_and(|h| d.removed_memberships.contains(&(h, *u)))
            });
        if !touched {
            continue;
        }
        let surviving: Vec<i64> = us
            .iter()
            .map(|&(_, u)| u)
            .filter(|u| !d.gone.contains_key(u))
            .collect();
        if surviving.is_empty() {
            files_removed.push(PlannedFile {
                content_id: content.id,
                path: content.path.clone(),
                size: content.size,
            });
            continue;
        }
        let home_holds_user = content.home.is_some_and(|h| {
            !home_removed
                && surviving
                    .iter()
                    .any(|u| after.albums_after.get(u).is_some_and(|v| v.contains(&h)))
        });
        if home_holds_user {
            continue;
        }
        let mut candidates: Vec<i64> = surviving
            .iter()
            .flat_map(|u| after.albums_after.get(u).cloned().unwrap_or_default())
            .collect();
        candidates.sort_by_key(|id| album_rank(snap, *id));
        match candidates.first() {
            Some(&a) => moves.push(PlannedMove {
                content_id: content.id,
                from: content.path.clone(),
                to_album: Some(a),
                to_folder: snap.albums[&a].folder.clone(),
                year_item: None,
            }),
            None => {
                let u = surviving[0];
                let item = &snap.items[&u];
                let account_folder = all_accounts
                    .iter()
                    .find(|a| a.id == item.account_id)
                    .map(|a| a.folder.clone())
                    .unwrap_or_default();
                moves.push(PlannedMove {
                    content_id: content.id,
                    from: content.path.clone(),
                    to_album: None,
                    to_folder: format!(
                        "{account_folder}/{}",
                        YearFolder::of_time(item.taken_at).title()
                    ),
                    year_item: Some(u),
                });
            }
        }
    }
    // Moves whose bytes stay where they are (the target is the folder they are in) are no moves.
    moves.retain(|m| parent_of(&m.from) != m.to_folder);
    (moves, files_removed)
}
