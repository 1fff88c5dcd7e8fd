//! Pass 2 of an import: the bytes of the entries whose item has no whole file, read from the
//! archives in order and stored by groups. A group's staged files are made durable with one
//! `syncfs`, placed, their folders fsynced once, and only then are their index rows committed:
//! the index never names a file a power cut could take back, and a crash before the commit
//! leaves whole files the next run adopts (`Repo::place_new`). One fsync per file (twice, with
//! its folder) was most of an import's time.

use photobak_takeout::{Catalog, Flow};

use super::Planned;
use crate::error::{Error, Result};
use crate::progress::{Watched, is_cancelled_read};
use crate::repo::Repo;
use crate::source::{Delivery, Intake};
use crate::summary::RunSummary;

/// Entries of the bytes pass made durable and committed together, at most.
const GROUP_ENTRIES: usize = 256;

/// Bytes of the bytes pass made durable together, at most.
const GROUP_BYTES: u64 = 64 << 20;

/// The longest a group of the bytes pass stays open: bounds what a crash makes the next run
/// adopt again, and lets `status` see an import progress.
const GROUP_EVERY: std::time::Duration = std::time::Duration::from_millis(200);

/// Staged entries of the bytes pass waiting for their group's commit.
struct Group<'a> {
    pending: Vec<(&'a Planned, crate::repo::store::Staged)>,
    /// Their items (an album copy of a waiting item is not staged again).
    items: std::collections::HashSet<i64>,
    bytes: u64,
    since: std::time::Instant,
    /// Report lines of adopted picked items.
    linked: Vec<String>,
}

impl Default for Group<'_> {
    fn default() -> Self {
        Group {
            pending: Vec::new(),
            items: std::collections::HashSet::new(),
            bytes: 0,
            since: std::time::Instant::now(),
            linked: Vec::new(),
        }
    }
}

/// What storing a group needs from the pass.
struct GroupContext<'c> {
    repo: &'c Repo,
    intake: &'c dyn Intake,
    progress: &'c dyn crate::progress::Progress,
    /// Staged files are made durable by the group (`syncfs`), not one by one.
    grouped: bool,
    /// Items whose picked copy was replaced already.
    replaced: &'c std::cell::RefCell<std::collections::HashSet<i64>>,
}

/// Pass 2: the bytes of the entries whose item has no whole file: none yet, or one that is
/// missing, has the wrong size, or that `verify` found damaged (it clears `verified_at`).
/// Re-importing the export is then how a Takeout-only file is repaired.
pub(super) fn store_bytes(
    repo: &Repo,
    catalog: &Catalog,
    planned: &[Option<Planned>],
    intake: &dyn Intake,
    s: &mut RunSummary,
) -> Result<()> {
    let needs_bytes = |item_id: i64| -> bool {
        match repo.index.stored_file(item_id).unwrap_or(None) {
            Some(f) if f.verified => std::fs::metadata(repo.abs(&f.path))
                .map(|m| m.len() as i64 != f.size)
                .unwrap_or(true),
            _ => true,
        }
    };
    // An entry that adopted a picked item brings the original that replaces the picked copy,
    // once per item (its album copies are the same bytes).
    let replaced = std::cell::RefCell::new(std::collections::HashSet::new());
    let wanted = |p: &Planned| {
        needs_bytes(p.item_id) || (p.adopted.is_some() && !replaced.borrow().contains(&p.item_id))
    };
    let progress = intake.progress();
    let progress = progress.as_ref();
    let cancel = intake.cancel().clone();
    let cancel = &cancel;
    // Which entries to read, decided once (a lookup and a `stat` each); everything to read is
    // queued before reading starts, with its size, so a progress bar can show the bytes left
    // and an honest time left.
    let selected: Vec<bool> = catalog
        .media
        .iter()
        .map(|entry| {
            planned
                .get(entry.id)
                .and_then(Option::as_ref)
                .is_some_and(&wanted)
        })
        .collect();
    for entry in &catalog.media {
        if selected[entry.id] {
            progress.queued(Some(entry.size));
        }
    }
    // Group commit: entries are staged without an fsync; a group (GROUP_ENTRIES entries,
    // GROUP_BYTES bytes or GROUP_EVERY, whichever comes first) is made durable with one
    // `syncfs`, placed, its folders fsynced once, and only then are its index rows committed.
    // The index never names a file a power cut could take back, and a crash before the commit
    // leaves whole files the next run adopts (`Repo::place_new`). Where the file system cannot
    // be synced at once, every entry is its own group, synced as before.
    let grouped = repo.group_commit_supported();
    let group = std::cell::RefCell::new(Group::default());
    let cx = GroupContext {
        repo,
        intake,
        progress,
        grouped,
        replaced: &replaced,
    };
    let pass = repo.index.batch(|batch| {
        let problems = photobak_takeout::for_each_selected_media(
            catalog,
            |entry| selected.get(entry.id).copied().unwrap_or(false),
            |entry, reader| -> std::result::Result<Flow, Error> {
                if cancel.is_cancelled() {
                    return Ok(Flow::Stop);
                }
                let Some(Some(p)) = planned.get(entry.id) else {
                    return Ok(Flow::Continue);
                };
                // A copy of the same item in another folder may have been stored meanwhile, or
                // be waiting in this group.
                if !wanted(p) || group.borrow().items.contains(&p.item_id) {
                    progress.dequeued(Some(entry.size));
                    return Ok(Flow::Continue);
                }
                let mut w = repo.stage()?;
                w.copy_from(&mut Watched::new(reader, progress, cancel))
                    .map_err(|e| {
                        if is_cancelled_read(&e) {
                            Error::Cancelled
                        } else {
                            e
                        }
                    })?;
                let staged = if grouped {
                    w.finish_unsynced()?
                } else {
                    w.finish()?
                };
                let mut g = group.borrow_mut();
                g.bytes += staged.size;
                g.items.insert(p.item_id);
                g.pending.push((p, staged));
                if !grouped
                    || g.pending.len() >= GROUP_ENTRIES
                    || g.bytes >= GROUP_BYTES
                    || g.since.elapsed() >= GROUP_EVERY
                {
                    store_group(&cx, &mut g, batch)?;
                }
                Ok(Flow::Continue)
            },
        )
        .map_err(|e| Error::Invalid(format!("reading the Takeout export: {e}")))?;
        // What was read before the end (or before Ctrl-C) is stored too.
        store_group(&cx, &mut group.borrow_mut(), batch)?;
        Ok(problems)
    });
    s.linked.append(&mut group.borrow_mut().linked);
    let pass_problems = pass?;
    // Interrupted: the entry cut short is not a problem of the export.
    if cancel.is_cancelled() {
        return Err(Error::Cancelled);
    }
    for p in pass_problems {
        tracing::error!("{p}");
        s.failed.push((
            format!(
                "{}: {}",
                p.part.display(),
                p.entry.clone().unwrap_or_default()
            ),
            p.message.clone(),
        ));
    }
    Ok(())
}

/// Stores a group: its staged files made durable with one `syncfs`, placed, their folders
/// synced once, and only then its index rows committed (`batch.checkpoint`).
fn store_group<'a>(
    cx: &GroupContext<'_>,
    group: &mut Group<'a>,
    batch: &crate::index::Batch<'_>,
) -> Result<()> {
    if group.pending.is_empty() {
        return Ok(());
    }
    if cx.grouped {
        cx.repo.sync_staged()?;
        cx.repo.begin_group();
    }
    let mut stored = || -> Result<()> {
        for (p, staged) in group.pending.drain(..) {
            cx.intake.store(
                &Delivery {
                    item_id: p.item_id,
                    filename: &p.filename,
                    taken_at: p.taken_at,
                    counted: p.was_stored,
                    replaces_copy: p.adopted.is_some(),
                },
                staged,
            )?;
            if let Some(line) = &p.adopted
                && cx.replaced.borrow_mut().insert(p.item_id)
            {
                group.linked.push(line.clone());
            }
            cx.progress.finished();
        }
        Ok(())
    };
    let result = stored();
    // The folders are synced even when a placement failed, so what was placed is durable.
    if cx.grouped {
        cx.repo.end_group()?;
    }
    result?;
    group.items.clear();
    group.bytes = 0;
    group.since = std::time::Instant::now();
    batch.checkpoint()
}
