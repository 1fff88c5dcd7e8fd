//! The bytes pass's `syncfs`, run on a thread of its own ahead of the committer.
//!
//! A group's staged files must be durable before they are placed, and its renames durable
//! before its index rows are committed. The committer used to call `syncfs` itself when a
//! group was full and wait for it: on this machine's disk (ext4) 100 of them took 14.4 s of a
//! 55 s first import of 100,000 small photos, with the committer idle. Here a thread syncs
//! while the committer places the previous group: each staged file (and each group's renames)
//! takes a *stamp*, the number of the first `syncfs` that starts after it; the committer waits
//! only until that `syncfs` has ended, which it often has by then.
//!
//! Nothing is made durable later than before: a stamp names a `syncfs` that starts after the
//! stamped work was done, and the committer still waits for it before the step that needs it.
//! A `syncfs` that fails fails every wait after it: nothing is placed or committed on the word
//! of a sync that did not happen.

use std::sync::{Condvar, Mutex, MutexGuard};

use crate::error::{Error, Result};
use crate::repo::Repo;

/// One `syncfs` at a time, numbered from 1, started when a stamp asks for one.
pub(super) struct SyncAhead<'r> {
    repo: &'r Repo,
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Default)]
struct State {
    /// The `syncfs` calls started.
    started: u64,
    /// The number of the last `syncfs` that ended (they end in order: one thread runs them).
    ended: u64,
    /// The highest number a stamp asked for.
    wanted: u64,
    /// What the first failed `syncfs` said.
    failed: Option<String>,
    /// No more stamps will be waited for: the thread returns.
    stopping: bool,
}

impl<'r> SyncAhead<'r> {
    pub(super) fn new(repo: &'r Repo) -> Self {
        SyncAhead {
            repo,
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The number of the `syncfs` that makes durable what this thread has written (or renamed)
    /// so far: the next one to start. Asks for it.
    pub(super) fn stamp(&self) -> u64 {
        let mut s = self.lock();
        let next = s.started + 1;
        if s.wanted < next {
            s.wanted = next;
            self.changed.notify_all();
        }
        next
    }

    /// Waits until `syncfs` number `stamp` has ended (0: nothing to wait for).
    ///
    /// # Errors
    /// When a `syncfs` failed, this one or an earlier one.
    pub(super) fn wait(&self, stamp: u64) -> Result<()> {
        let mut s = self.lock();
        loop {
            if let Some(why) = &s.failed {
                return Err(Error::io(
                    format!(
                        "syncing the file system of {}",
                        self.repo.tmp_dir().display()
                    ),
                    std::io::Error::other(why.clone()),
                ));
            }
            if s.ended >= stamp {
                return Ok(());
            }
            s = self.changed.wait(s).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// The syncing thread's work: a `syncfs` whenever a stamp asks for one not started yet,
    /// until [`SyncAhead::stop`].
    pub(super) fn run(&self) {
        loop {
            let number = {
                let mut s = self.lock();
                while s.wanted <= s.started && !s.stopping {
                    s = self.changed.wait(s).unwrap_or_else(|p| p.into_inner());
                }
                if s.wanted <= s.started || s.failed.is_some() {
                    return;
                }
                s.started += 1;
                s.started
            };
            let synced = self.repo.sync_staged();
            let mut s = self.lock();
            match synced {
                Ok(()) => s.ended = number,
                Err(e) => s.failed = Some(e.to_string()),
            }
            self.changed.notify_all();
        }
    }

    /// Ends [`SyncAhead::run`] once the syncs asked for are done.
    pub(super) fn stop(&self) {
        self.lock().stopping = true;
        self.changed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamp_names_a_sync_that_starts_after_it() {
        let t = tempfile::tempdir().unwrap();
        let repo = Repo::open(t.path()).unwrap();
        let sync = SyncAhead::new(&repo);
        std::thread::scope(|scope| {
            scope.spawn(|| sync.run());
            let first = sync.stamp();
            assert_eq!(first, 1);
            sync.wait(first).unwrap();
            // Asked again after the first ended: a new one.
            let second = sync.stamp();
            assert_eq!(second, 2);
            sync.wait(second).unwrap();
            assert_eq!(sync.lock().ended, 2);
            sync.wait(0).unwrap();
            sync.stop();
        });
        // Nothing was asked for that did not run.
        let s = sync.lock();
        assert_eq!((s.started, s.ended, s.wanted), (2, 2, 2));
    }

    #[test]
    fn a_failed_sync_fails_every_wait_after_it() {
        let t = tempfile::tempdir().unwrap();
        let repo = Repo::open(t.path()).unwrap();
        let sync = SyncAhead::new(&repo);
        // The staging folder gone: its file system cannot be opened to be synced.
        std::fs::remove_dir_all(repo.tmp_dir()).unwrap();
        std::thread::scope(|scope| {
            scope.spawn(|| sync.run());
            let stamp = sync.stamp();
            let e = sync.wait(stamp).unwrap_err().to_string();
            assert!(e.contains("syncing the file system of"), "{e}");
            assert!(sync.wait(0).is_err());
            sync.stop();
        });
    }
}
