//! The re-hashing of `verify`: which stored files are due this time, and reading them on
//! several threads.
//!
//! The stored files are read from the index a page at a time, in the table's order, and handed
//! to the hashing threads through a short queue; each thread records the files it found whole
//! in batches, and the damaged ones are recorded at the end.
//! Nothing holds every stored file: holding them (path, digest, a lookup of each path, the
//! list of those due) grew `verify` by 0.28 MB per 1,000 files, 92 MB at 200,000
//! (BENCHMARKS.md, session 13).

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, mpsc};

use tokio_util::sync::CancellationToken;

use super::{DamagedFile, VerifyOptions};
use crate::error::Result;
use crate::index::{ContentCheck, Index, now};
use crate::progress::Progress;
use crate::repo::Repo;
use crate::repo::store::{hash_file_sized, hex};

/// Stored files read from the index at once.
const PAGE: usize = 2048;

/// Stored files handed to a hashing thread at once: a few milliseconds of small files, and few
/// enough that the threads share the end of the work.
const BATCH: usize = 32;

/// Stored files found whole that are recorded at once (one transaction each).
const RECORD_BATCH: usize = 4096;

/// Which stored files are re-hashed: `--only`, `--since`, and `--sample`'s exact share of
/// those, chosen row by row in the table's order (selection sampling: each row is taken with the
/// chance "still wanted / still to come"), so that the same choice can be made twice from the
/// same seed, once to announce the work and once to do it, with no list of the rows.
#[derive(Clone)]
pub(super) struct Due<'a> {
    only: Option<&'a BTreeSet<i64>>,
    cutoff: Option<i64>,
    sample: Option<Sample>,
}

#[derive(Clone)]
struct Sample {
    rng: fastrand::Rng,
    wanted: u64,
    to_come: u64,
}

impl<'a> Due<'a> {
    /// These filters with `--sample`'s share of the `eligible` files, how many they leave
    /// (counted with these very filters: `--since` is one time, taken once).
    pub(super) fn sampled(mut self, percent: Option<f64>, eligible: u64) -> Due<'a> {
        self.sample = percent.map(|p| Sample {
            rng: fastrand::Rng::new(),
            wanted: ((eligible as f64) * p.clamp(0.0, 100.0) / 100.0).ceil() as u64,
            to_come: eligible,
        });
        self
    }

    /// `--only` and `--since` alone (`--since` counted from now).
    pub(super) fn filters(opts: &'a VerifyOptions) -> Due<'a> {
        Due {
            only: opts.only.as_ref(),
            // Files verified within `--since` are not re-hashed.
            cutoff: opts
                .since
                .map(|d| now() - i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
            sample: None,
        }
    }

    /// Whether `--only` and `--since` leave this file.
    pub(super) fn eligible(&self, row: &ContentCheck) -> bool {
        self.only.is_none_or(|o| o.contains(&row.id))
            && self
                .cutoff
                .is_none_or(|cut| row.verified_at.is_none_or(|v| v < cut))
    }

    /// Whether this file is re-hashed; called once per stored file, in the table's order.
    pub(super) fn take(&mut self, row: &ContentCheck) -> bool {
        if !self.eligible(row) {
            return false;
        }
        let Some(s) = &mut self.sample else {
            return true;
        };
        if s.to_come == 0 {
            return false;
        }
        let taken = s.rng.u64(0..s.to_come) < s.wanted;
        s.to_come -= 1;
        if taken {
            s.wanted -= 1;
        }
        taken
    }
}

/// Calls `each` with every stored file, in the table's order, a page at a time, until it
/// returns false.
pub(super) fn each_stored_file(
    index: &Index,
    mut each: impl FnMut(&ContentCheck) -> Result<bool>,
) -> Result<()> {
    let mut after = i64::MIN;
    loop {
        let page = index.content_checks_after(after, PAGE)?;
        let Some(last) = page.last() else {
            return Ok(());
        };
        after = last.id;
        for row in &page {
            if !each(row)? {
                return Ok(());
            }
        }
    }
}

/// What the re-hashing found.
pub(super) struct Hashed {
    pub(super) damaged: Vec<DamagedFile>,
    /// Files read to the end (good or corrupted).
    pub(super) files: u64,
    /// Bytes read.
    pub(super) bytes: u64,
}

/// Re-hashes the stored files `due` takes on `threads` threads, stopping between files when
/// `cancel` fires, and records on `index` what it found as it goes: `verified_at` for the
/// files found whole, cleared for the damaged ones (see `Index::record_verification`).
pub(super) fn hash_due(
    repo: &Repo,
    index: &Index,
    mut due: Due<'_>,
    threads: usize,
    progress: &dyn Progress,
    cancel: &CancellationToken,
) -> Result<Hashed> {
    hash_fed(repo, index, threads, progress, cancel, |send| {
        each_stored_file(index, |row| {
            if cancel.is_cancelled() {
                return Ok(false);
            }
            Ok(!due.take(row) || send(row.clone()))
        })
    })
}

/// Re-hashes the files `feed` hands to its argument (which returns false once nothing more is
/// read) on `threads` threads, as [`hash_due`] does.
pub(super) fn hash_fed(
    repo: &Repo,
    index: &Index,
    threads: usize,
    progress: &dyn Progress,
    cancel: &CancellationToken,
    feed: impl FnOnce(&mut dyn FnMut(ContentCheck) -> bool) -> Result<()>,
) -> Result<Hashed> {
    // A short queue of small batches: the reader stays a few batches ahead of the hashing, no
    // more. A queue of single files cost four futex calls per file, and doubled the system
    // time of `verify` at 100,000 small files (BENCHMARKS.md, session 13).
    let threads = threads.max(1);
    let (send, receive) = mpsc::sync_channel::<Vec<ContentCheck>>(2 * threads);
    let queue = Queue {
        receive: Mutex::new(Some(receive)),
        live: AtomicUsize::new(threads),
    };
    let pool = Pool::default();
    let fed = std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                let _leaving = Leaving(&queue);
                let mut buf = Vec::new();
                let mut good = Vec::new();
                // Until the reader is done: after a cancel the rest of the queue is let go
                // unread, so that the reader is never left waiting for room. The queue's lock
                // is let go before the batch is hashed (`Queue::next`).
                while let Some(batch) = queue.next() {
                    for row in batch {
                        if cancel.is_cancelled() {
                            break;
                        }
                        if let Some(id) = pool.check(repo, &row, &mut buf, progress) {
                            good.push(id);
                            if good.len() == RECORD_BATCH {
                                pool.record(index, &mut good);
                            }
                        }
                    }
                }
                pool.record(index, &mut good);
            });
        }
        // A send fails only once every hashing thread has ended (the last one to leave, after
        // a panic too, lets the queue go: see `Leaving`); the scope then reports the panic.
        let mut batch = Vec::with_capacity(BATCH);
        let fed = feed(&mut |row| {
            batch.push(row);
            batch.len() < BATCH
                || send
                    .send(std::mem::replace(&mut batch, Vec::with_capacity(BATCH)))
                    .is_ok()
        });
        if !batch.is_empty() {
            let _ = send.send(batch);
        }
        drop(send);
        fed
    });
    // What was found is recorded even when the reading failed: a damaged file loses its
    // verification whatever stopped the run.
    let hashed = pool.finish(index);
    fed?;
    hashed
}

/// The queue the hashing threads take their batches from.
struct Queue {
    /// Taken out and dropped by the last thread to leave.
    receive: Mutex<Option<mpsc::Receiver<Vec<ContentCheck>>>>,
    live: AtomicUsize,
}

impl Queue {
    /// The next batch; None once the reader is done. The lock is held only while waiting for
    /// it: held through the hashing (as the condition of a `while let` holds a temporary
    /// through the loop's body), one thread would hash at a time.
    fn next(&self) -> Option<Vec<ContentCheck>> {
        let receive = self.receive.lock().unwrap_or_else(|p| p.into_inner());
        receive.as_ref()?.recv().ok()
    }
}

/// A hashing thread's presence: the last to leave (returning or unwinding) drops the queue's
/// receiving end, so that a reader waiting for room wakes up with an error instead of waiting
/// forever for threads that are gone.
struct Leaving<'a>(&'a Queue);

impl Drop for Leaving<'_> {
    fn drop(&mut self) {
        if self.0.live.fetch_sub(1, Ordering::AcqRel) == 1 {
            let mut receive = self.0.receive.lock().unwrap_or_else(|p| p.into_inner());
            drop(receive.take());
        }
    }
}

/// What the hashing threads share.
#[derive(Default)]
struct Pool {
    damaged: Mutex<Vec<DamagedFile>>,
    files: AtomicU64,
    bytes: AtomicU64,
    /// The first failure to record files found whole.
    failed_records: Mutex<Option<crate::error::Error>>,
}

impl Pool {
    /// Hashes one stored file; its id when it is whole.
    fn check(
        &self,
        repo: &Repo,
        row: &ContentCheck,
        buf: &mut Vec<u8>,
        progress: &dyn Progress,
    ) -> Option<i64> {
        let outcome = check_file(repo, row, buf);
        if let Some(n) = outcome.read {
            progress.bytes(n);
            self.files.fetch_add(1, Ordering::Relaxed);
            self.bytes.fetch_add(n, Ordering::Relaxed);
        }
        progress.finished();
        match outcome.damage {
            None => Some(row.id),
            Some(d) => {
                self.damaged
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(d);
                None
            }
        }
    }

    /// Records `good` as found whole now; a failure is kept for [`Pool::finish`].
    fn record(&self, index: &Index, good: &mut Vec<i64>) {
        if good.is_empty() {
            return;
        }
        if let Err(e) = index.record_verification(good, &[], now()) {
            let mut first = self
                .failed_records
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            first.get_or_insert(e);
        }
        good.clear();
    }

    /// Records the damaged files, and says what was found (or the first failure to record).
    fn finish(self, index: &Index) -> Result<Hashed> {
        let damaged = self.damaged.into_inner().unwrap_or_else(|p| p.into_inner());
        let ids: Vec<i64> = damaged.iter().map(|d| d.content_id).collect();
        let recorded = index.record_verification(&[], &ids, now());
        let failed = self.failed_records.into_inner();
        if let Some(e) = failed.unwrap_or_else(|p| p.into_inner()) {
            return Err(e);
        }
        recorded?;
        Ok(Hashed {
            damaged,
            files: self.files.into_inner(),
            bytes: self.bytes.into_inner(),
        })
    }
}

/// What reading one stored file found.
struct Checked {
    /// Bytes read, when the file was read to the end.
    read: Option<u64>,
    /// How it differs from the record, if it does.
    damage: Option<DamagedFile>,
}

/// Hashes one stored file with `buf` (one per thread, grown to the largest file up to 1 MiB:
/// a buffer per file was allocated and zeroed 100,000 times) and compares it with the record.
fn check_file(repo: &Repo, row: &ContentCheck, buf: &mut Vec<u8>) -> Checked {
    let damaged_as = |actual: Option<String>, error: Option<String>| DamagedFile {
        content_id: row.id,
        path: row.path.clone(),
        expected: hex(&row.hash),
        actual,
        size: row.size,
        error,
    };
    let size = u64::try_from(row.size).unwrap_or(0);
    match hash_file_sized(&repo.abs(&row.path), size, buf) {
        Ok((h, n)) => Checked {
            read: Some(n),
            damage: (h != row.hash).then(|| damaged_as(Some(hex(&h)), None)),
        },
        Err(e) => {
            let error = if e.kind() == std::io::ErrorKind::NotFound {
                "missing".to_string()
            } else {
                e.to_string()
            };
            Checked {
                read: None,
                damage: Some(damaged_as(None, Some(error))),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// More stored files than two pages: each is read once, in the table's order; a sample takes its
    /// exact share, spread over every page, and a copy of the choice makes the same one (what
    /// `verify` announces is what it hashes).
    #[test]
    fn pages_read_every_file_once_and_a_sample_chooses_the_same_twice() {
        let t = tempfile::tempdir().unwrap();
        let repo = Repo::open(t.path()).unwrap();
        let n = 2 * PAGE + 5;
        repo.index
            .batch(|_| {
                for i in 0..n {
                    let path = format!("g/{i:05}.jpg");
                    repo.index.test_content(&path, path.as_bytes(), None, None);
                }
                Ok(())
            })
            .unwrap();
        let mut seen = Vec::new();
        each_stored_file(&repo.index, |row| {
            seen.push(row.path.clone());
            Ok(true)
        })
        .unwrap();
        let expected: Vec<String> = (0..n).map(|i| format!("g/{i:05}.jpg")).collect();
        assert_eq!(seen, expected);

        let opts = VerifyOptions {
            sample_percent: Some(10.0),
            ..Default::default()
        };
        let chosen = |mut due: Due<'_>| {
            let mut paths = Vec::new();
            each_stored_file(&repo.index, |row| {
                if due.take(row) {
                    paths.push(row.path.clone());
                }
                Ok(true)
            })
            .unwrap();
            paths
        };
        let due = Due::filters(&opts).sampled(opts.sample_percent, n as u64);
        let first = chosen(due.clone());
        assert_eq!(first, chosen(due));
        assert_eq!(first.len(), (n as f64 * 0.1).ceil() as usize);
        // The first paths of the second and the third page.
        let (second, third) = (&expected[PAGE], &expected[2 * PAGE]);
        assert!(first.iter().any(|p| p < second));
        assert!(first.iter().any(|p| p >= second && p < third));
        // Another run chooses again.
        let again = Due::filters(&opts).sampled(opts.sample_percent, n as u64);
        assert_ne!(first, chosen(again));
    }

    /// The hashing threads hash at the same time: with two batches' worth of files and two
    /// threads, both are inside a file at once (a thread that kept the queue's lock while
    /// hashing its batch left the other waiting); every file is read and recorded whole.
    #[test]
    fn the_threads_hash_side_by_side() {
        use std::sync::atomic::AtomicUsize;
        struct Overlap {
            inside: AtomicUsize,
            most: AtomicUsize,
        }
        impl Progress for Overlap {
            fn bytes(&self, _n: u64) {
                let now = self.inside.fetch_add(1, Ordering::SeqCst) + 1;
                self.most.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(std::time::Duration::from_millis(5));
                self.inside.fetch_sub(1, Ordering::SeqCst);
            }
        }
        let t = tempfile::tempdir().unwrap();
        let repo = Repo::open(t.path()).unwrap();
        let mut rows = Vec::new();
        for i in 0..2 * BATCH {
            let rel = format!("g/{i:03}.jpg");
            std::fs::create_dir_all(repo.abs("g")).unwrap();
            std::fs::write(repo.abs(&rel), rel.as_bytes()).unwrap();
            let id = repo.index.test_content(&rel, rel.as_bytes(), None, None);
            rows.push(ContentCheck {
                id,
                path: rel.clone(),
                hash: *blake3::hash(rel.as_bytes()).as_bytes(),
                size: rel.len() as i64,
                verified_at: None,
            });
        }
        let overlap = Overlap {
            inside: AtomicUsize::new(0),
            most: AtomicUsize::new(0),
        };
        let cancel = CancellationToken::new();
        let hashed = hash_fed(&repo, &repo.index, 2, &overlap, &cancel, |send| {
            for row in rows {
                send(row);
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(hashed.files, 2 * BATCH as u64);
        assert!(hashed.damaged.is_empty());
        assert_eq!(repo.index.test_unverified_count(), 0);
        assert_eq!(
            overlap.most.load(Ordering::SeqCst),
            2,
            "one thread hashed at a time"
        );
    }

    /// A hashing thread that panics on every file does not leave the reader waiting for room
    /// in the queue forever: the last thread to go lets the queue go, and the panic comes
    /// through.
    #[test]
    fn hashing_threads_that_panic_do_not_hang_the_reader() {
        struct Panics;
        impl Progress for Panics {
            fn finished(&self) {
                panic!("a progress display that fails");
            }
        }
        let t = tempfile::tempdir().unwrap();
        let repo = Repo::open(t.path()).unwrap();
        let cancel = CancellationToken::new();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            hash_fed(&repo, &repo.index, 2, &Panics, &cancel, |send| {
                // Far more batches than the queue holds.
                for i in 0..100 * BATCH as i64 {
                    let row = ContentCheck {
                        id: i,
                        path: format!("missing/{i}.jpg"),
                        hash: [0; 32],
                        size: 1,
                        verified_at: None,
                    };
                    if !send(row) {
                        break;
                    }
                }
                Ok(())
            })
        }));
        assert!(outcome.is_err(), "the panic comes through");
    }
}
