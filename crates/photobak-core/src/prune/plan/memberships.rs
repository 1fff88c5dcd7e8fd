//! Phase 2 of the plan: the memberships left after the prune.

use std::collections::{BTreeSet, HashMap};

use super::*;
use crate::kinds::{Source, YearFolder};

/// Phase 2: memberships after the prune; Takeout and year albums that lose every member go.
pub(super) fn memberships_after(snap: &Snapshot, d: &mut Decisions) -> After {
    // Memberships after the prune.
    let mut albums_after: HashMap<i64, Vec<i64>> = HashMap::new();
    let mut albums_before: HashMap<i64, usize> = HashMap::new();
    for &(a, i) in &snap.memberships {
        *albums_before.entry(i).or_default() += 1;
        if d.gone.contains_key(&i)
            || d.removed_albums.contains_key(&a)
            || d.removed_memberships.contains(&(a, i))
        {
            continue;
        }
        albums_after.entry(i).or_default().push(a);
    }
    for v in albums_after.values_mut() {
        v.sort_by_key(|id| album_rank(snap, *id));
    }
    // Items that stay, are stored, lost every album and so join their year folder.
    let homeless: BTreeSet<i64> = snap
        .items
        .values()
        .filter(|i| {
            i.content_id.is_some()
                && !d.gone.contains_key(&i.id)
                && albums_before.get(&i.id).copied().unwrap_or(0) > 0
                && !albums_after.contains_key(&i.id)
        })
        .map(|i| i.id)
        .collect();
    // Takeout and derived (year) albums have no listing of their own: they go when every member
    // they had is d.gone (so no item that stays loses them), unless an item left in no album is
    // about to join that year folder.
    let joining: BTreeSet<(i64, String)> = homeless
        .iter()
        .map(|i| {
            let item = &snap.items[i];
            (
                item.account_id,
                YearFolder::of_time(item.taken_at).remote_id(),
            )
        })
        .collect();
    let listed_accounts: BTreeSet<i64> = d.account_plans.iter().map(|l| l.account.id).collect();
    for album in snap.albums.values().filter(|a| {
        listed_accounts.contains(&a.account_id)
            && matches!(a.source, Source::Takeout | Source::Derived)
            && !joining.contains(&(a.account_id, a.remote_id.clone()))
    }) {
        let members: Vec<i64> = snap
            .memberships
            .range((album.id, i64::MIN)..)
            .take_while(|(a, _)| *a == album.id)
            .map(|(_, i)| *i)
            .collect();
        if !members.is_empty() && members.iter().all(|i| d.gone.contains_key(i)) {
            d.removed_albums
                .insert(album.id, "every item it held is d.gone".into());
        }
    }
    After {
        albums_after,
        homeless,
    }
}
