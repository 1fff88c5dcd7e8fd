//! Pass 2 of an import: the bytes of the entries whose item has no whole file, read from the
//! archives and stored by groups. A group's staged files are made durable with one `syncfs`,
//! placed, and their index rows committed only after the next `syncfs` (which makes the renames
//! durable too): the index never names a file a power cut could take back, and a crash before
//! the commit leaves whole files the next run adopts (`Repo::place_new`). One fsync per file
//! (twice, with its folder) was most of an import's time; then one fsync per folder of a group
//! (a dozen a group) took as long as the group's `syncfs`.
//!
//! The reading runs on both cores. Inflating, hashing and writing an entry to the staging area
//! cost about as much CPU as everything else of an import together, and the group commit
//! waits on the disk with the CPU idle; so readers on worker threads (one per part, or per
//! stretch of a zip part, taken in archive order) inflate, hash and stage entries, and read
//! what each new file says about itself, while this thread alone commits: it takes the staged
//! files as they come, waits until they are durable, places them and commits their index
//! rows, as before. The `syncfs` that makes them durable runs on a thread of its own as soon
//! as there is something to sync (`sync_ahead.rs`), so this thread rarely waits for the disk.
//! The index and the placing are touched by one thread only, and a reader only ever hands over
//! a whole staged file.
//!
//! Which copy of an item is stored does not depend on the threads: the first copy of each item
//! in archive order is read first; the later copies (album folders) wait, and are read only
//! when their item still needs bytes once the first copies are stored (the first copy was
//! damaged), exactly as reading in order would have done.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use photobak_takeout::{Catalog, Flow, MediaEntry, PartFormat, Problem, ProblemKind};

use super::plan::{Plan, Planned};
use super::sync_ahead::SyncAhead;
use crate::error::{Error, Result};
use crate::id_set::IdSet;
use crate::progress::{Watched, is_cancelled_read};
use crate::repo::Repo;
use crate::repo::store::{GROUP_BYTES, GROUP_ENTRIES, GROUP_EVERY, Staged};
use crate::source::{Delivery, Intake};
use crate::summary::RunSummary;

/// Readers at most (one per core below that): each keeps a core busy reading, inflating and
/// hashing, and past a few the disk that takes the bytes sets the pace anyway.
const MAX_READERS: usize = 4;

/// The average entry size from which the entries are read on several readers. Below it the
/// work is per file, not per byte (creating the staged file, its inode, its row), and two
/// readers creating files in the same folder wait on each other in the file system: on a
/// 20,000-item export of 3.7 KB photos, two readers took 2–3 times the system time of one
/// (ext4 inode allocation, the folder's lock) for no gain in wall time. One reader still runs
/// beside the committer.
const PARALLEL_FROM_AVERAGE: u64 = 128 << 10;

/// Entry bytes a reader takes at a time from a zip part or a folder (which can be read from
/// anywhere): a single big part is shared by the readers too. A tar part is read by one reader
/// from its start, whole.
const STRETCH_BYTES: u64 = 128 << 20;

/// Entries a reader takes at a time from a zip part or a folder, at most: a reader holds its
/// stretch's media entries, read back from the catalog's store, while it reads their bytes (a
/// stretch of 128 MB of 4 KB photos was 32,000 entries, some 6 MB). A tar part is read whole,
/// its wanted entries with it (docs/architecture.md, "Not there yet").
const STRETCH_ENTRIES: usize = 4096;

/// Staged entries waiting for the committer, at least: with the group, what bounds the staging
/// area while a group is made durable (readers wait; nothing is held in memory but names and
/// hashes).
const HANDOVER: usize = 16;

/// Staged entries waiting for the committer, at most: [`handover`] sizes the queue to about a
/// group's bytes, up to a whole group of entries.
///
/// A queue of 16 made the reader and the committer take turns on an export of small photos:
/// while the committer stored a group (its `syncfs`, 256 placements and rows, the commit), the
/// reader staged 16 entries and waited; while the reader staged the next group, the committer
/// waited. Each thread sat idle about half of the bytes pass (perf, 100,000 entries of 4–12 KB:
/// committer 60 %, reader 46 % of a core). A queue as long as a group lets the reader stage
/// the next group while this one is stored.
const HANDOVER_MAX: usize = GROUP_ENTRIES;

/// The depth of the readers' queue for entries of `bytes` in `count`: a group's bytes of the
/// average entry, within [`HANDOVER`] and [`HANDOVER_MAX`]. So the staging area holds about
/// two groups' bytes at most (the group being stored, the queue), as a queue of 16 large
/// entries did.
fn handover(bytes: u64, count: usize) -> usize {
    let average = (bytes / count.max(1) as u64).max(1);
    usize::try_from(GROUP_BYTES / average)
        .unwrap_or(usize::MAX)
        .clamp(HANDOVER, HANDOVER_MAX)
}

/// Staged entries of the bytes pass waiting for their group's commit.
struct Group {
    /// Each with its new file's name.
    pending: Vec<(Planned, String, Staged)>,
    bytes: u64,
    since: std::time::Instant,
    /// Report lines of adopted picked items.
    linked: Vec<String>,
    /// Files were placed whose rows wait for the next `syncfs` to be committed.
    placed: bool,
    /// The `syncfs` that makes the pending entries durable (a [`SyncAhead`] stamp, the
    /// highest of theirs).
    staged_by: u64,
    /// The `syncfs` that makes the placed files' renames durable.
    renamed_by: u64,
}

impl Default for Group {
    fn default() -> Self {
        Group {
            pending: Vec::new(),
            bytes: 0,
            since: std::time::Instant::now(),
            linked: Vec::new(),
            placed: false,
            staged_by: 0,
            renamed_by: 0,
        }
    }
}

impl Group {
    fn is_full(&self) -> bool {
        self.pending.len() >= GROUP_ENTRIES
            || self.bytes >= GROUP_BYTES
            || self.since.elapsed() >= GROUP_EVERY
    }
}

/// What storing a group needs from the pass (the committer's thread only).
struct GroupContext<'c> {
    repo: &'c Repo,
    intake: &'c dyn Intake,
    /// What the readers need.
    stager: Stager<'c>,
    /// Items whose picked copy was replaced already.
    replaced: &'c std::cell::RefCell<IdSet>,
    /// The entries' plans (a new file's name).
    plan: &'c Plan,
}

/// What a reader needs to stage an entry (shared by the readers' threads).
#[derive(Clone, Copy)]
struct Stager<'c> {
    repo: &'c Repo,
    progress: &'c dyn crate::progress::Progress,
    cancel: &'c tokio_util::sync::CancellationToken,
    /// Staged files are made durable by the group (`syncfs`), not one by one.
    grouped: bool,
    /// Where the group's `syncfs` runs (grouped only).
    sync: Option<&'c SyncAhead<'c>>,
}

/// What reading a list of entries found.
#[derive(Default)]
struct Reading {
    /// The export's problems, in archive order, then the committer's.
    problems: Vec<Problem>,
    /// Some part with wanted entries could be opened.
    opened_any: bool,
}

/// Pass 2: the bytes of the entries whose item has no whole file: none yet, or one that is
/// missing, has the wrong size, or that `verify` found damaged (it clears `verified_at`).
/// Re-importing the export is then how a Takeout-only file is repaired.
pub(super) fn store_bytes(
    repo: &Repo,
    catalog: &Catalog,
    plan: &Plan,
    intake: &dyn Intake,
    s: &mut RunSummary,
) -> Result<()> {
    // An entry that adopted a picked item brings the original that replaces the picked copy,
    // once per item (its album copies are the same bytes).
    let replaced = std::cell::RefCell::new(IdSet::new());
    let wanted = |p: &Planned| {
        needs_bytes(repo, p.item_id) || (p.adopted() && !replaced.borrow().contains(p.item_id))
    };
    let progress = intake.progress();
    let progress = progress.as_ref();
    let cancel = intake.cancel().clone();
    let cancel = &cancel;
    let mut todo = entries_to_read(repo, catalog, plan, progress, &wanted)?;
    let any_wanted = !todo.is_empty();
    // Group commit: entries are staged without an fsync; a group (GROUP_ENTRIES entries,
    // GROUP_BYTES bytes or GROUP_EVERY, whichever comes first) is made durable with one
    // `syncfs` and placed; its index rows are committed after the next `syncfs`. Where the file
    // system cannot be synced at once, every entry is its own group, synced as before.
    // The `syncfs` runs on a thread of its own, ahead of the committer (`sync_ahead.rs`).
    let grouped = repo.group_commit_supported();
    let sync_ahead = SyncAhead::new(repo);
    let cx = GroupContext {
        repo,
        intake,
        stager: Stager {
            repo,
            progress,
            cancel,
            grouped,
            sync: grouped.then_some(&sync_ahead),
        },
        replaced: &replaced,
        plan,
    };
    let mut group = Group::default();
    let mut found = Reading::default();
    /// Stops the syncing thread however the pass ends (a panic included), so that the scope
    /// can join it.
    struct Stop<'a, 'r>(&'a SyncAhead<'r>);
    impl Drop for Stop<'_, '_> {
        fn drop(&mut self) {
            self.0.stop();
        }
    }
    let pass = std::thread::scope(|scope| {
        if grouped {
            let syncing = std::thread::Builder::new().name("takeout-sync".into());
            syncing
                .spawn_scoped(scope, || sync_ahead.run())
                .expect("spawning the syncing thread");
        }
        let _stop = Stop(&sync_ahead);
        repo.index.batch(|batch| {
            let mut round = Round {
                cx: &cx,
                catalog,
                group: &mut group,
                batch,
                found: &mut found,
            };
            while !todo.is_empty() && !cancel.is_cancelled() {
                todo = round.store(todo, &wanted)?;
            }
            Ok(())
        })
    });
    s.linked.append(&mut group.linked);
    pass?;
    // Interrupted: the entry cut short is not a problem of the export.
    if cancel.is_cancelled() {
        return Err(Error::Cancelled);
    }
    report_problems(found, any_wanted, s)
}

/// Whether an item has no whole file: none, or one that `verify` did not pass, or whose size
/// on disk is not the recorded one.
fn needs_bytes(repo: &Repo, item_id: i64) -> bool {
    match repo.index.stored_file(item_id).unwrap_or(None) {
        Some(f) if f.verified => std::fs::metadata(repo.abs(&f.path))
            .map(|m| m.len() as i64 != f.size)
            .unwrap_or(true),
        _ => true,
    }
}

/// Which entries to read, decided once (a lookup and a `stat` each); everything to read is
/// queued before reading starts, with its size, so a progress bar can show the bytes left and
/// an honest time left. A bit per entry, by id (the ids are in archive order: part order, then
/// each part's): a list of the entries with their part and size (16 bytes each) was among what
/// a first import still held per item (session 15); the readers read the entries back from the
/// catalog's store anyway.
fn entries_to_read(
    repo: &Repo,
    catalog: &Catalog,
    plan: &Plan,
    progress: &dyn crate::progress::Progress,
    wanted: &dyn Fn(&Planned) -> bool,
) -> Result<IdSet> {
    let mut todo = IdSet::new();
    for entry in catalog.media.in_record_order() {
        let entry = entry.map_err(|e| super::scratch_unreadable(repo, e))?;
        if plan
            .get(entry.index())
            .map_err(|e| super::plan_io(repo, e))?
            .is_some_and(|p| wanted(&p))
        {
            progress.queued(Some(entry.size));
            todo.insert(entry.id.into());
        }
    }
    Ok(todo)
}

/// One round of the bytes pass, inside its index batch: the first copy of every item still to
/// read, then which later copies are still wanted.
struct Round<'a, 'c> {
    cx: &'a GroupContext<'c>,
    catalog: &'a Catalog,
    group: &'a mut Group,
    batch: &'a crate::index::Batch<'a>,
    found: &'a mut Reading,
}

impl Round<'_, '_> {
    /// Reads and stores the first copy of every item in `todo`; returns the other copies whose
    /// item still needs them (its first copy could not be read or stored, or it brings the
    /// original of a picked item), for the next round.
    fn store(&mut self, todo: IdSet, wanted: &dyn Fn(&Planned) -> bool) -> Result<IdSet> {
        let (repo, plan, catalog) = (self.cx.repo, self.cx.plan, self.catalog);
        let unplanned = |e| super::plan_io(repo, e);
        let (mut first, mut later, mut items) = (IdSet::new(), IdSet::new(), IdSet::new());
        for id in todo.iter() {
            let p = plan.get(id as usize).map_err(unplanned)?;
            if p.is_some_and(|p| items.insert(p.item_id)) {
                first.insert(id);
            } else {
                later.insert(id);
            }
        }
        drop((todo, items));
        read_and_store(
            self.cx, catalog, plan, &first, self.group, self.batch, self.found,
        )?;
        drop(first);
        let mut next = IdSet::new();
        for id in later.iter() {
            if plan
                .get(id as usize)
                .map_err(unplanned)?
                .is_some_and(|p| wanted(&p))
            {
                next.insert(id);
            } else {
                let entry = catalog
                    .media
                    .get(id as usize)
                    .map_err(|e| super::scratch_unreadable(repo, e))?;
                self.cx.stager.progress.dequeued(Some(entry.size));
            }
        }
        Ok(next)
    }
}

/// The export's problems the pass met: the run fails when no part with wanted entries could be
/// opened at all; otherwise each is logged and reported with the run.
fn report_problems(found: Reading, any_wanted: bool, s: &mut RunSummary) -> Result<()> {
    let mut problems = found.problems;
    // A part that cannot be opened is said once, not once per stretch read from it.
    let mut said = HashSet::new();
    problems.retain(|p| p.entry.is_some() || said.insert((p.part.clone(), p.message.clone())));
    if any_wanted && !found.opened_any {
        return Err(Error::Invalid(format!(
            "reading the Takeout export: {}",
            photobak_takeout::Error::Unreadable(problems)
        )));
    }
    for p in problems {
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

/// Reads `entries` (in archive order, at most one per item) on the readers and stores them by
/// groups on this thread; everything read is stored and committed before it returns.
///
/// # Errors
/// When the last group cannot be stored or its rows cannot be committed safely (its `syncfs`
/// failed).
fn read_and_store(
    cx: &GroupContext<'_>,
    catalog: &Catalog,
    plan: &Plan,
    entries: &IdSet,
    group: &mut Group,
    batch: &crate::index::Batch<'_>,
    found: &mut Reading,
) -> Result<()> {
    let Stretches {
        stretches,
        bytes,
        count,
    } = stretches(catalog, entries).map_err(|e| super::scratch_unreadable(cx.repo, e))?;
    let readers = if bytes / (count.max(1) as u64) < PARALLEL_FROM_AVERAGE {
        1
    } else {
        std::thread::available_parallelism()
            .map_or(1, std::num::NonZeroUsize::get)
            .clamp(1, MAX_READERS)
    }
    .min(stretches.len());
    let next = AtomicUsize::new(0);
    let stager = cx.stager;
    let cancel = stager.cancel;
    let mut store_problems = Vec::new();
    // A failed group is the problem of the entry whose arrival stored it (or of the last one).
    let mut failed = |e: Error, id: u32| {
        let (part, entry) = match catalog.media.get(id as usize) {
            Ok(m) => (catalog.parts[m.part()].path.clone(), m.path.into()),
            Err(_) => (std::path::PathBuf::new(), format!("media entry {id}")),
        };
        store_problems.push(Problem {
            part,
            entry: Some(entry),
            kind: ProblemKind::Callback,
            message: e.to_string(),
        });
    };
    let (settled, read) = std::thread::scope(|scope| {
        let (tx, rx) = mpsc::sync_channel::<Handed>(handover(bytes, count));
        let readers: Vec<_> = (0..readers)
            .map(|_| {
                let tx = tx.clone();
                let (next, stretches) = (&next, &stretches);
                // Named for `top -H` and profiles; a failed spawn panics, as `scope.spawn` does.
                let reader = std::thread::Builder::new().name("takeout-reader".into());
                let spawned = reader.spawn_scoped(scope, move || {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(stretch) = stretches.get(i) else {
                            break;
                        };
                        if cancel.is_cancelled() {
                            break;
                        }
                        let ids = entries.range(stretch.clone());
                        let r = read_stretch(catalog, plan, &stager, ids, &tx);
                        done.push((i, r));
                    }
                    done
                });
                spawned.expect("spawning a reader thread")
            })
            .collect();
        drop(tx);
        // The committer: takes staged entries as they come, stores them by groups; a group
        // open for GROUP_EVERY is stored even while a big entry is still being read.
        let mut last: Option<u32> = None;
        loop {
            let wait = GROUP_EVERY.saturating_sub(group.since.elapsed());
            let Handed {
                plan: p,
                name,
                entry,
                staged,
                staged_by,
            } = match rx.recv_timeout(wait) {
                Ok(got) => got,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if let (Err(e), Some(entry)) = (store_group(cx, group, batch), last) {
                        failed(e, entry);
                    }
                    group.since = std::time::Instant::now();
                    continue;
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            };
            last = Some(entry);
            group.bytes += staged.size;
            group.staged_by = group.staged_by.max(staged_by);
            group.pending.push((p, name, staged));
            if (!stager.grouped || group.is_full())
                && let Err(e) = store_group(cx, group, batch)
            {
                failed(e, entry);
            }
        }
        // What was read before the end (or before Ctrl-C) is stored too. When the last group
        // cannot be stored, or its rows not committed safely (the `syncfs` failed), the pass
        // fails and the uncommitted rows roll back: the next run adopts the placed files.
        let settled = settle(cx, group, batch);
        let read = readers
            .into_iter()
            .flat_map(|r| r.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect::<Vec<_>>();
        (settled, read)
    });
    settled?;
    found.gather(cx.repo, read, store_problems)
}

impl Reading {
    /// Adds what the readers found, stretch by stretch in archive order, then the committer's
    /// problems.
    ///
    /// # Errors
    /// When the plan or the catalog's store could not be read back for some stretch (the
    /// plan's failure first): the repository's own files, never the export; the run fails
    /// once what was read is stored.
    fn gather(
        &mut self,
        repo: &Repo,
        mut read: Vec<(usize, std::result::Result<Vec<Problem>, StretchFailure>)>,
        mut store_problems: Vec<Problem>,
    ) -> Result<()> {
        let (mut unplanned, mut scratch) = (None, None);
        read.sort_by_key(|(i, _)| *i);
        for (_, r) in read {
            match r {
                Ok(problems) => {
                    self.opened_any = true;
                    self.problems.extend(problems);
                }
                Err(StretchFailure::Plan(e)) => unplanned = unplanned.or(Some(e)),
                Err(StretchFailure::Takeout(photobak_takeout::Error::Unreadable(problems))) => {
                    self.problems.extend(problems);
                }
                Err(StretchFailure::Takeout(photobak_takeout::Error::SpillRead(e))) => {
                    scratch = scratch.or(Some(e));
                }
                Err(StretchFailure::Takeout(e)) => self.problems.push(Problem {
                    part: Default::default(),
                    entry: None,
                    kind: ProblemKind::Unreadable,
                    message: e.to_string(),
                }),
            }
        }
        self.problems.append(&mut store_problems);
        match (unplanned, scratch) {
            (Some(e), _) => Err(super::plan_io(repo, e)),
            (None, Some(e)) => Err(super::scratch_unreadable(repo, e)),
            (None, None) => Ok(()),
        }
    }
}

impl Stager<'_> {
    /// One entry's bytes into the staging area, hashed on the way (on a reader's thread).
    fn stage(&self, reader: &mut dyn std::io::Read) -> Result<Staged> {
        let mut w = self.repo.stage()?;
        w.copy_from(&mut Watched::new(reader, self.progress, self.cancel))
            .map_err(|e| {
                if is_cancelled_read(&e) {
                    Error::Cancelled
                } else {
                    e
                }
            })?;
        let mut staged = if self.grouped {
            w.finish_unsynced()?
        } else {
            w.finish()?
        };
        staged.read_meta();
        Ok(staged)
    }
}

/// What a reader hands the committer: a staged entry, with its plan and its new file's name.
struct Handed {
    plan: Planned,
    name: String,
    /// The entry's id in the catalog.
    entry: u32,
    staged: Staged,
    /// The `syncfs` that makes it durable (grouped only).
    staged_by: u64,
}

/// Why a reader could not read (all of) a stretch.
enum StretchFailure {
    /// The export's failure (no part of it could be read), or the catalog's store's.
    Takeout(photobak_takeout::Error),
    /// The import's plan could not be read back: the repository's failure, never an entry's.
    Plan(std::io::Error),
}

/// One stretch, on a reader's thread: its entries read back from the catalog's store (in
/// archive order, near each other in it: few reads) with their plans and file names, then
/// their bytes staged and handed to the committer. The plans are read before any byte: a
/// plan that cannot be read fails the run, where a failure inside the reading of the bytes
/// would be taken for a problem of the entry.
fn read_stretch(
    catalog: &Catalog,
    plan: &Plan,
    stager: &Stager<'_>,
    ids: impl Iterator<Item = i64>,
    tx: &mpsc::SyncSender<Handed>,
) -> std::result::Result<Vec<Problem>, StretchFailure> {
    let listed = ids
        .map(|id| catalog.media.get(id as usize))
        .collect::<std::io::Result<Vec<MediaEntry>>>()
        .map_err(|e| StretchFailure::Takeout(photobak_takeout::Error::SpillRead(e)))?;
    let planned = listed
        .iter()
        .map(|m| match plan.get(m.index())? {
            Some(p) => Ok(Some((p, plan.filename(&p)?))),
            None => Ok(None),
        })
        .collect::<std::io::Result<Vec<_>>>()
        .map_err(StretchFailure::Plan)?;
    let refs: Vec<&MediaEntry> = listed.iter().collect();
    let cancel = stager.cancel;
    photobak_takeout::for_each_listed_media(
        catalog,
        &refs,
        |entry, reader| -> std::result::Result<Flow, Error> {
            if cancel.is_cancelled() {
                return Ok(Flow::Stop);
            }
            // `listed` is in id order (the set's).
            let Some((p, name)) = listed
                .binary_search_by_key(&entry.id, |m| m.id)
                .ok()
                .and_then(|k| planned[k].as_ref())
            else {
                return Ok(Flow::Continue);
            };
            let staged = stager.stage(reader)?;
            let staged_by = stager.sync.map_or(0, SyncAhead::stamp);
            // The committer outlives every reader; a closed handover means it is gone, and
            // the run with it.
            tx.send(Handed {
                plan: *p,
                name: name.clone(),
                entry: entry.id,
                staged,
                staged_by,
            })
            .map_err(|_| Error::Cancelled)?;
            Ok(Flow::Continue)
        },
    )
    .map_err(StretchFailure::Takeout)
}

/// The entries of a reading cut into what one reader takes at a time.
struct Stretches {
    /// Ranges of entry ids, in archive order.
    stretches: Vec<std::ops::RangeInclusive<i64>>,
    /// The entries' bytes.
    bytes: u64,
    /// The entries.
    count: usize,
}

/// The entries cut into what one reader takes at a time, in archive order: a tar part whole
/// (it can only be read from its start), a zip part or a folder in stretches of about
/// STRETCH_BYTES, and of STRETCH_ENTRIES at most. Each entry's part and size are read back
/// from the catalog's store (in id order: few reads).
///
/// # Errors
/// When the store cannot be read back.
fn stretches(catalog: &Catalog, entries: &IdSet) -> std::io::Result<Stretches> {
    let mut out = Stretches {
        stretches: Vec::new(),
        bytes: 0,
        count: 0,
    };
    let (mut bytes, mut len) = (0u64, 0usize);
    let mut part = None;
    for id in entries.iter() {
        let entry = catalog.media.get(id as usize)?;
        let splittable = matches!(
            catalog.parts.get(entry.part()).map(|p| p.format),
            Some(PartFormat::Zip | PartFormat::Folder)
        );
        if part != Some(entry.part_index)
            || (splittable && (bytes >= STRETCH_BYTES || len >= STRETCH_ENTRIES))
        {
            out.stretches.push(id..=id);
            part = Some(entry.part_index);
            (bytes, len) = (0, 0);
        }
        bytes += entry.size;
        len += 1;
        out.bytes += entry.size;
        out.count += 1;
        let last = out.stretches.last_mut().expect("pushed above");
        *last = *last.start()..=id;
    }
    Ok(out)
}

/// Stores a group. Where the file system can be synced at once: one `syncfs` makes the
/// group's staged files durable, and with them the placing of the group before (its renames),
/// whose index rows are committed now (`batch.checkpoint`); then the group's files are placed
/// and their rows written, to be committed after the next `syncfs` ([`settle`] ends the pass
/// with one). So the index never names a file whose bytes or name a power cut could take back,
/// and each group costs one journal commit instead of one per folder. Elsewhere every file is
/// synced, placed and its folder synced on its own, and its row committed at once.
fn store_group(
    cx: &GroupContext<'_>,
    group: &mut Group,
    batch: &crate::index::Batch<'_>,
) -> Result<()> {
    if group.pending.is_empty() && !group.placed {
        return Ok(());
    }
    if cx.stager.grouped {
        // The group's bytes durable before they are placed, the previous group's renames
        // before its rows are committed.
        match cx.stager.sync {
            Some(sync) => sync.wait(group.staged_by.max(group.renamed_by))?,
            None => cx.repo.sync_staged()?,
        }
        if std::mem::take(&mut group.placed) {
            batch.checkpoint()?;
        }
        if group.pending.is_empty() {
            return Ok(());
        }
        cx.repo.begin_group();
    }
    let mut stored = || -> Result<()> {
        for (p, filename, staged) in group.pending.drain(..) {
            cx.intake.store(
                &Delivery {
                    item_id: p.item_id,
                    filename: &filename,
                    taken_at: p.taken_at(),
                    counted: p.was_stored(),
                    replaces_copy: p.adopted(),
                },
                staged,
            )?;
            // The line is the item's; only the copy that adopted the picked item reports it.
            if p.adopted()
                && let Some(line) = cx.plan.adopted_line(&p)
                && cx.replaced.borrow_mut().insert(p.item_id)
            {
                group.linked.push(line.to_string());
            }
            cx.stager.progress.finished();
        }
        Ok(())
    };
    let result = stored();
    // What a failed placement left of the group is gone (its staged files are removed).
    group.pending.clear();
    group.bytes = 0;
    group.staged_by = 0;
    group.since = std::time::Instant::now();
    if cx.stager.grouped {
        // Even when a placement failed: what was placed is committed after the next `syncfs`.
        cx.repo.end_group_unsynced();
        group.placed = true;
        group.renamed_by = cx.stager.sync.map_or(0, SyncAhead::stamp);
        result
    } else {
        result?;
        batch.checkpoint()
    }
}

/// Stores what is left: the open group, then the `syncfs` that lets its rows be committed.
fn settle(cx: &GroupContext<'_>, group: &mut Group, batch: &crate::index::Batch<'_>) -> Result<()> {
    store_group(cx, group, batch)?;
    store_group(cx, group, batch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_readers_queue_holds_about_a_group_of_bytes() {
        // Small photos: a whole group waits, so the reader stages the next one meanwhile.
        assert_eq!(handover(100_000 * 8_000, 100_000), GROUP_ENTRIES);
        // Photos of 1 MiB: a group's bytes.
        assert_eq!(handover(1_000 << 20, 1_000), 64);
        // Videos: never fewer than before.
        assert_eq!(handover(10 << 30, 10), HANDOVER);
        assert_eq!(handover(0, 0), GROUP_ENTRIES);
    }
}
