//! Phase 1 of the plan: each account's sources against the index.

use super::*;
use crate::kinds::Source;

/// Phase 1: each account's sources against the index: items gone everywhere, albums and
/// memberships gone, and what makes a listing untrustworthy.
pub(super) fn compare_with_sources(
    repo: &Repo,
    snap: &Snapshot,
    listings: &[AccountListing],
) -> Result<Decisions> {
    let mut d = Decisions::default();
    for listing in listings {
        let Some(account) = &listing.account else {
            continue;
        };
        let listing_problems = listing.problems.clone();
        d.problems.extend(listing_problems.iter().cloned());
        let newest = newest_export(repo, account.id)?;
        let holdings = |kind: Source| listing.holdings.iter().find(|h| h.source == kind);
        let evidence = holdings(Source::Takeout).and_then(|h| h.evidence.clone());
        for item in snap.items.values().filter(|i| i.account_id == account.id) {
            if item.sources.is_empty() {
                continue;
            }
            let mut reasons = Vec::new();
            let mut present = false;
            // A source that made no statement, or one too incomplete to tell, keeps the item.
            for &source in &item.sources {
                match holdings(source).and_then(|h| h.absence(item.id, &item.remote_id)) {
                    Some(why) => reasons.push(why),
                    None => present = true,
                }
            }
            if !present {
                d.gone.insert(item.id, reasons.join("; "));
            }
        }
        if let Some(listed_albums) = holdings(Source::Library).and_then(|h| h.albums.as_ref()) {
            for album in snap
                .albums
                .values()
                .filter(|a| a.account_id == account.id && a.source == Source::Library)
            {
                match listed_albums.get(&album.remote_id) {
                    None => {
                        d.removed_albums
                            .insert(album.id, "no longer in the Library API".into());
                    }
                    Some(listed) => {
                        for &(a, i) in snap.memberships.range((album.id, i64::MIN)..) {
                            if a != album.id {
                                break;
                            }
                            let Some(item) = snap.items.get(&i) else {
                                continue;
                            };
                            let from_library = item.sources.contains(&Source::Library);
                            if from_library
                                && !d.gone.contains_key(&i)
                                && !listed.items.contains(&item.remote_id)
                            {
                                d.removed_memberships.insert((a, i));
                            }
                        }
                    }
                }
            }
        }
        d.account_plans.push(ListedAccount {
            account: account.clone(),
            newest,
            evidence,
            problems: listing_problems,
        });
    }
    Ok(d)
}
