//! Step one: compare complete listings with the index and decide what would go.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;

use crate::error::{IoContext, Result};
use crate::index::PruneSnapshot as Snapshot;
use crate::kinds::{Source, YearFolder};
use crate::repo::Repo;

use super::*;

/// The newest Takeout export recorded for an account, of any kind (shown by `status` and
/// `prune`; what prune compares with is the newest *full* export, see
/// [`crate::exports::takeout_verdict`]). "Newest" is by the time Google made it when every id
/// carries one, otherwise the export imported last.
pub fn newest_export(repo: &Repo, account_id: i64) -> Result<Option<String>> {
    newest_export_in(&repo.index, account_id)
}

/// [`newest_export`] on an index opened without the repository (for `status`).
pub fn newest_export_in(index: &crate::index::Index, account_id: i64) -> Result<Option<String>> {
    let recorded: Vec<(String, i64)> = index
        .exports(account_id)?
        .into_iter()
        .filter(|e| e.complete)
        .map(|e| (e.export_id.to_string(), e.imported_at))
        .collect();
    if !recorded.is_empty()
        && recorded
            .iter()
            .all(|(r, _)| crate::exports::ExportId::new(r.as_str()).is_dated())
    {
        return Ok(recorded.into_iter().map(|(r, _)| r).max());
    }
    Ok(recorded
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)))
        .map(|(r, _)| r))
}

/// Compares the listings with the index. Changes nothing.
///
/// # Errors
/// Index failures.
pub fn plan(repo: &Repo, listings: &[AccountListing], opts: &PruneOptions) -> Result<PrunePlan> {
    let snap = repo.index.prune_snapshot()?;
    let all_accounts = repo.index.accounts()?;
    let mut d = compare_with_sources(repo, &snap, listings)?;
    let after = memberships_after(&snap, &mut d);
    let (moves, files_removed) = file_fates(&snap, &d, &after, &all_accounts);
    let (accounts, over) = account_plans(&snap, &d, &after, opts);
    let refused = if !d.problems.is_empty() {
        Some(format!(
            "a listing failed or looks incomplete, so nothing is removed: {}",
            d.problems.join("; ")
        ))
    } else if !over.is_empty() && !opts.force {
        Some(format!(
            "{}; check the plan, then run again with --force or a higher --max-delete",
            over.join("; ")
        ))
    } else {
        None
    };
    Ok(PrunePlan {
        accounts,
        moves,
        files_removed,
        expired_trash: expired_trash(repo, opts.trash_days)?,
        purge: opts.purge,
        refused,
    })
}

/// What comparing the sources with the index decided, before any file is considered.
#[derive(Default)]
struct Decisions {
    /// Items gone everywhere, with the reason.
    gone: BTreeMap<i64, String>,
    /// Albums gone, with the reason.
    removed_albums: BTreeMap<i64, String>,
    /// (album, item) memberships gone from items that stay.
    removed_memberships: BTreeSet<(i64, i64)>,
    /// Per listed account: the account, its newest export, the Takeout evidence in words, its
    /// listing problems.
    account_plans: Vec<ListedAccount>,
    /// Every listing problem: any refuses the plan.
    problems: Vec<String>,
}

/// User albums before the others, then the oldest: the home a file moves to.
fn album_rank(snap: &Snapshot, id: i64) -> (bool, i64) {
    let a = &snap.albums[&id];
    (!a.kind.is_user(), a.id)
}

/// One account as phase 1 saw it.
struct ListedAccount {
    account: Account,
    /// Its newest export, of any kind.
    newest: Option<String>,
    /// The full export whose absences count, in words.
    evidence: Option<String>,
    /// Its listing problems.
    problems: Vec<String>,
}

/// Which albums each item stays in, and the stored items that lose every album.
struct After {
    albums_after: HashMap<i64, Vec<i64>>,
    homeless: BTreeSet<i64>,
}

/// Phase 1: each account's sources against the index: items gone everywhere, albums and
/// memberships gone, and what makes a listing untrustworthy.
fn compare_with_sources(
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
            for p in &item.sources {
                match holdings(p.source).and_then(|h| h.absence(item.id, &item.remote_id)) {
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
                            let from_library =
                                item.sources.iter().any(|p| p.source == Source::Library);
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

/// Phase 2: memberships after the prune; Takeout and year albums that lose every member go.
fn memberships_after(snap: &Snapshot, d: &mut Decisions) -> After {
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

/// Phase 3: what happens to each stored file: removed when no item that stays uses it, moved
/// when the album holding it no longer holds any of its users.
fn file_fates(
    snap: &Snapshot,
    d: &Decisions,
    after: &After,
    all_accounts: &[Account],
) -> (Vec<PlannedMove>, Vec<PlannedFile>) {
    let mut users: HashMap<i64, Vec<i64>> = HashMap::new();
    for i in snap.items.values() {
        if let Some(c) = i.content_id {
            users.entry(c).or_default().push(i.id);
        }
    }
    let mut moves = Vec::new();
    let mut files_removed = Vec::new();
    for content in snap.contents.values() {
        let us = users.get(&content.id).map(Vec::as_slice).unwrap_or(&[]);
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
        let surviving: Vec<i64> = us
            .iter()
            .copied()
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

/// Phase 4: the plan of each account, and the accounts over `--max-delete`.
fn account_plans(
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

pub(super) fn parent_of(rel: &str) -> &str {
    rel.rsplit_once('/').map(|(p, _)| p).unwrap_or("")
}

pub(super) fn file_name_of(rel: &str) -> &str {
    rel.rsplit_once('/').map(|(_, n)| n).unwrap_or(rel)
}

/// Trash folders (`.photobak/trash/YYYY-MM-DD`) older than `days`.
pub(super) fn expired_trash(repo: &Repo, days: u32) -> Result<Vec<String>> {
    let dir = trash_dir(repo);
    let Ok(rd) = fs::read_dir(&dir) else {
        return Ok(vec![]);
    };
    let today = jiff::Timestamp::now()
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .date();
    let mut out = Vec::new();
    for e in rd {
        let e = e.ctx(|| format!("reading {}", dir.display()))?;
        let name = e.file_name().to_string_lossy().to_string();
        let Ok(date) = name.parse::<jiff::civil::Date>() else {
            continue;
        };
        let age = (today - date).get_days();
        if age > i32::try_from(days).unwrap_or(i32::MAX) {
            out.push(name);
        }
    }
    out.sort();
    Ok(out)
}

pub(super) fn trash_dir(repo: &Repo) -> std::path::PathBuf {
    repo.root().join(crate::repo::WORK_DIR).join("trash")
}
