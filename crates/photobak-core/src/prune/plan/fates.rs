//! Phase 3 of the plan: what happens to each stored file.

use super::*;
use crate::kinds::YearFolder;

/// Phase 3: what happens to each stored file: removed when no item that stays uses it, moved
/// when the album holding it no longer holds any of its users.
pub(super) fn file_fates(
    rows: &Rows<'_>,
    d: &Decisions,
    after: &After,
    all_accounts: &[Account],
) -> Result<(Vec<PlannedMove>, Vec<PlannedFile>)> {
    // The stored files the plan may touch, by id (the order of the plan): those at home in a
    // removed album, and those of an item that is gone, left in no album or removed from an
    // album. Every other file keeps its users and its home.
    let removed_albums: BTreeSet<i64> = d.removed_albums.keys().copied().collect();
    let mut candidates: BTreeSet<i64> = rows
        .index
        .contents_homed_in(&removed_albums)?
        .into_iter()
        .collect();
    let affected = d
        .gone
        .keys()
        .chain(&after.homeless)
        .chain(d.removed_memberships.iter().map(|(_, i)| i));
    for &i in affected {
        if let Some(c) = rows.item(i)?.and_then(|item| item.content_id) {
            candidates.insert(c);
        }
    }
    let mut moves = Vec::new();
    let mut files_removed = Vec::new();
    for id in candidates {
        let Some(content) = rows.index.prune_content(id)? else {
            continue;
        };
        let us = rows.index.content_user_ids(id)?;
        let home_removed = content
            .home
            .is_some_and(|h| d.removed_albums.contains_key(&h));
        let touched = home_removed
            || us.iter().any(|u| {
                d.gone.contains_key(u)
                    || after.homeless.contains(u)
                    || content
                        .home
                        .is_some_and(|h| d.removed_memberships.contains(&(h, *u)))
            });
        if !touched {
            continue;
        }
        let surviving: Vec<i64> = us.into_iter().filter(|u| !d.gone.contains_key(u)).collect();
        if surviving.is_empty() {
            files_removed.push(PlannedFile {
                content_id: content.id,
                path: content.path.clone(),
                size: content.size,
            });
            continue;
        }
        let mut homes: Vec<i64> = Vec::new();
        for &u in &surviving {
            homes.extend(rows.albums_after(u, d)?);
        }
        if content
            .home
            .is_some_and(|h| !home_removed && homes.contains(&h))
        {
            continue;
        }
        homes.sort_by_key(|id| album_rank(&rows.albums, *id));
        match homes.first() {
            Some(&a) => moves.push(PlannedMove {
                content_id: content.id,
                from: content.path.clone(),
                to_album: Some(a),
                // An album of `albums_after`: one the index has.
                to_folder: rows.albums[&a].folder.clone(),
                year_item: None,
            }),
            None => {
                let u = surviving[0];
                let item = rows
                    .item(u)?
                    .ok_or_else(|| missing_row("item", u, "the users of stored file", id))?;
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
    Ok((moves, files_removed))
}
