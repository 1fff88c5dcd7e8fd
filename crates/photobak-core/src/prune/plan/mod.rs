//! Step one: compare complete listings with the index and decide what would go, in four
//! phases, each a file of its own: `compare.rs` (each source against the index),
//! `memberships.rs` (the memberships after), `fates.rs` (what happens to each stored file),
//! `accounts.rs` (each account's plan and the `--max-delete` check). Nothing here writes.
//!
//! The plan's memory follows what it removes, not the library: every item of a listed account
//! is read once, one row at a time, to compare it with its sources; the members of the albums
//! that may go are read up to the first that stays, and the stored files' homes once when an
//! album goes; after that only the items and stored files that a removal touches are read
//! again, by index ([`Rows`] keeps the items). With a snapshot of every item, stored file and
//! membership held instead, `prune --dry-run`'s peak grew by 0.57 MB per 1,000 items (135 MB
//! at 200,000; BENCHMARKS.md, session 13). Nothing else writes the index while a plan is made:
//! prune holds the repository's lock. A row that names a missing one (which the index's
//! foreign keys forbid) makes the plan fail rather than guess.

mod accounts;
mod compare;
mod fates;
mod memberships;

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;

use crate::error::{IoContext, Result};
use crate::index::{Index, PruneAlbum, PruneItem};
use crate::repo::Repo;

use super::*;
use accounts::account_plans;
use compare::compare_with_sources;
use fates::file_fates;
use memberships::memberships_after;

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
    // The plan reads every item once: a full page cache of those pages was a quarter of the
    // plan's heap at its peak at 100,000 items (17.5 of 66.5 MB; BENCHMARKS.md, session 11).
    repo.index.with_page_cache(PLAN_PAGE_CACHE_KIB, || {
        plan_from_index(repo, listings, opts)
    })
}

/// The index's page cache while a plan is made (see [`plan`]).
const PLAN_PAGE_CACHE_KIB: i64 = 2048;

fn plan_from_index(
    repo: &Repo,
    listings: &[AccountListing],
    opts: &PruneOptions,
) -> Result<PrunePlan> {
    let rows = Rows::new(&repo.index)?;
    let all_accounts = repo.index.accounts()?;
    let mut d = compare_with_sources(repo, &rows, listings)?;
    let after = memberships_after(&rows, &mut d)?;
    let (moves, files_removed) = file_fates(&rows, &d, &after, &all_accounts)?;
    let (accounts, over) = account_plans(&rows, &d, &after, opts)?;
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

/// The index as the plan reads it: every album at once (a few thousand at most), the items it
/// touches once each, and each touched item's albums after the prune.
struct Rows<'a> {
    index: &'a Index,
    albums: BTreeMap<i64, PruneAlbum>,
    items: RefCell<HashMap<i64, Option<PruneItem>>>,
    albums_after: RefCell<HashMap<i64, Vec<i64>>>,
}

impl<'a> Rows<'a> {
    fn new(index: &'a Index) -> Result<Rows<'a>> {
        Ok(Rows {
            index,
            albums: index.prune_albums()?,
            items: RefCell::default(),
            albums_after: RefCell::default(),
        })
    }

    /// An item, read from the index once.
    fn item(&self, id: i64) -> Result<Option<PruneItem>> {
        if let Some(known) = self.items.borrow().get(&id) {
            return Ok(known.clone());
        }
        let read = self.index.prune_item(id)?;
        self.items.borrow_mut().insert(id, read.clone());
        Ok(read)
    }

    /// The albums an item that stays is in after the prune, the home a file moves to first
    /// ([`album_rank`]). Asked only once the memberships the sources removed are decided
    /// (phase 1): the albums phase 2 removes held no item that stays.
    fn albums_after(&self, item: i64, d: &Decisions) -> Result<Vec<i64>> {
        if let Some(known) = self.albums_after.borrow().get(&item) {
            return Ok(known.clone());
        }
        let mut after = Vec::new();
        for a in self.index.item_album_ids(item)? {
            if !self.albums.contains_key(&a) {
                return Err(missing_row("album", a, "a membership of item", item));
            }
            if !d.removed_albums.contains_key(&a) && !d.removed_memberships.contains(&(a, item)) {
                after.push(a);
            }
        }
        after.sort_by_key(|id| album_rank(&self.albums, *id));
        self.albums_after.borrow_mut().insert(item, after.clone());
        Ok(after)
    }
}

/// The plan's refusal of an index whose rows name missing ones (the foreign keys forbid it;
/// an index edited by hand can hold them): planning around one could move or remove files on
/// a wrong premise.
fn missing_row(what: &str, id: i64, named_by: &str, by: i64) -> crate::error::Error {
    crate::error::Error::Internal(format!(
        "the index names {what} {id} in {named_by} {by}, and has no such {what}; nothing is \
         pruned (photobak verify checks the index)"
    ))
}

/// User albums before the others, then the oldest: the home a file moves to.
fn album_rank(albums: &BTreeMap<i64, PruneAlbum>, id: i64) -> (bool, i64) {
    let user = albums.get(&id).is_some_and(|a| a.kind.is_user());
    (!user, id)
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

/// The stored items that stay and lose every album.
struct After {
    homeless: BTreeSet<i64>,
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
