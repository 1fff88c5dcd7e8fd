//! Phase 2 of the plan: the memberships left after the prune.

use std::collections::BTreeSet;

use super::*;
use crate::kinds::{Source, YearFolder};

/// Phase 2: the stored items that stay and lose every album (they join their year folder);
/// Takeout and year albums that lose every member go.
pub(super) fn memberships_after(rows: &Rows<'_>, d: &mut Decisions) -> Result<After> {
    // Only an item that loses a membership can lose every album: a member of a removed album,
    // or an item with a removed membership.
    let mut losing: BTreeSet<i64> = d.removed_memberships.iter().map(|&(_, i)| i).collect();
    for &album in d.removed_albums.keys() {
        rows.index.for_each_member_id(album, |i| {
            losing.insert(i);
            true
        })?;
    }
    let mut homeless = BTreeSet::new();
    for i in losing {
        if d.gone.contains_key(&i) {
            continue;
        }
        let stored = rows.item(i)?.is_some_and(|item| item.content_id.is_some());
        if stored && rows.albums_after(i, d)?.is_empty() {
            homeless.insert(i);
        }
    }
    // Takeout and derived (year) albums have no listing of their own: they go when every member
    // they had is gone (so no item that stays loses them), unless an item left in no album is
    // about to join that year folder.
    let mut joining: BTreeSet<(i64, String)> = BTreeSet::new();
    for &i in &homeless {
        if let Some(item) = rows.item(i)? {
            joining.insert((
                item.account_id,
                YearFolder::of_time(item.taken_at).remote_id(),
            ));
        }
    }
    let listed_accounts: BTreeSet<i64> = d.account_plans.iter().map(|l| l.account.id).collect();
    let candidates: Vec<i64> = rows
        .albums
        .values()
        .filter(|a| {
            listed_accounts.contains(&a.account_id)
                && matches!(a.source, Source::Takeout | Source::Derived)
                && !joining.contains(&(a.account_id, a.remote_id.clone()))
        })
        .map(|a| a.id)
        .collect();
    for album in candidates {
        let (mut any, mut all_gone) = (false, true);
        // Stops at the first member that stays: most albums are read no further. A membership
        // naming a missing item is one that stays (the album is kept).
        rows.index.for_each_member_id(album, |i| {
            any = true;
            all_gone = d.gone.contains_key(&i);
            all_gone
        })?;
        if any && all_gone {
            d.removed_albums
                .insert(album, "every item it held is gone".into());
        }
    }
    Ok(After { homeless })
}
