//! One photobak per repository.
//!
//! Two runs writing the same index and tree would race on names and `others.txt`. The lock is an
//! advisory `flock` on `.photobak/lock`, held for the whole run and released by the kernel if the
//! process dies, so a killed run never leaves a stale lock. The holder writes its pid into the
//! file so the loser can name it. Advisory locks may not work on some network file systems.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::error::{Error, IoContext, Result};

/// How long a second instance waits for the lock before giving up.
pub const LOCK_WAIT: Duration = Duration::from_secs(2);

/// The held lock; dropping it releases the repository.
#[derive(Debug)]
pub struct RepoLock {
    file: File,
}

impl RepoLock {
    /// Takes the lock at `path`, waiting up to [`LOCK_WAIT`].
    ///
    /// # Errors
    /// [`Error::Locked`] naming the repository and the holder's pid when another process holds it.
    pub fn acquire(path: &Path, repo_display: &Path) -> Result<RepoLock> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .ctx(|| format!("opening lock file {}", path.display()))?;
        let deadline = Instant::now() + LOCK_WAIT;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(std::fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    let mut holder = String::new();
                    let _ = file.read_to_string(&mut holder);
                    let holder = holder.trim();
                    let who = if holder.is_empty() {
                        "another process".to_string()
                    } else {
                        format!("pid {holder}")
                    };
                    return Err(Error::Locked(format!(
                        "repository {} is in use by another photobak ({who})",
                        repo_display.display()
                    )));
                }
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(Error::io(format!("locking {}", path.display()), e));
                }
            }
        }
        file.set_len(0)
            .ctx(|| format!("writing {}", path.display()))?;
        file.seek(SeekFrom::Start(0))
            .and_then(|_| write!(file, "{}", std::process::id()))
            .and_then(|_| file.flush())
            .ctx(|| format!("writing {}", path.display()))?;
        Ok(RepoLock { file })
    }
}

impl Drop for RepoLock {
    fn drop(&mut self) {
        // Still holding the lock: forget our pid so nobody reads a stale one (the kernel releases
        // the lock itself when the file closes, also after a crash).
        let _ = self.file.set_len(0);
    }
}
