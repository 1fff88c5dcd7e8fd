//! Phase 1 of the plan: each account's sources against the index.

use super::*;
use crate::kinds::Source;

/// Phase 1: each account's sources against the index: items gone everywhere, albums and
/// memberships gone, and what makes a listing untrustworthy. Every item of a listed account is
/// read here, one row at a time; only the decisions are kept.
pub(super) fn compare_with_sources(
    repo: &Repo,
    rows: &Rows<'_>,
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
        // Items no source delivered are not read: nothing can say they are gone.
        rows.index
            .for_each_sourced_item(account.id, |id, remote_id, sources| {
                let mut reasons = Vec::new();
                let mut present = false;
                // A source that made no statement, or one too incomplete to tell, keeps the
                // item.
                for &source in sources {
                    match holdings(source).and_then(|h| h.absence(id, remote_id)) {
                        Some(why) => reasons.push(why),
                        None => present = true,
                    }
                }
                if !present {
                    d.gone.insert(id, reasons.join("; "));
                }
                Ok(())
            })?;
        if let Some(listed_albums) = holdings(Source::Library).and_then(|h| h.albums.as_ref()) {
            for album in rows
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
                        let (gone, removed) = (&d.gone, &mut d.removed_memberships);
                        rows.index.for_each_album_member(album.id, |m| {
                            if m.from_library
                                && !gone.contains_key(&m.item_id)
                                && !listed.items.contains(&m.remote_id)
                            {
                                removed.insert((album.id, m.item_id));
                            }
                            true
                        })?;
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
