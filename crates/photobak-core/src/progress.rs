//! Progress reporting without terminal code: the core calls these hooks and the binary draws
//! (or not, when output is not a terminal).
//!
//! [`Watched`] wraps a reader for sources that copy one long stream (a Takeout entry): bytes are
//! reported as they flow and a cancelled run stops mid-copy.

/// Receives progress events. Every method has a no-op default.
pub trait Progress: Send + Sync {
    /// An item was queued for download (its size, when known).
    fn queued(&self, _bytes: Option<u64>) {}
    /// A queued item turned out to need no work (its bytes were stored meanwhile): it leaves
    /// the totals, so a bar still ends full.
    fn dequeued(&self, _bytes: Option<u64>) {}
    /// Bytes arrived.
    fn bytes(&self, _n: u64) {}
    /// An item finished (stored, unchanged, skipped or failed).
    fn finished(&self) {}
}

/// A reader that reports its bytes as they are read and stops with an error when the run is
/// cancelled, so that copying one 4 GB archive entry neither freezes a progress bar nor keeps a
/// Ctrl-C waiting. The I/O error it returns carries [`CancelledRead`]; the caller maps it back to
/// [`crate::Error::Cancelled`] with [`is_cancelled_read`].
pub struct Watched<'a, R> {
    inner: R,
    progress: &'a dyn Progress,
    cancel: &'a tokio_util::sync::CancellationToken,
}

/// What a [`Watched`] reader's I/O error carries when the run was cancelled.
#[derive(Debug, thiserror::Error)]
#[error("interrupted")]
pub struct CancelledRead;

impl<'a, R> Watched<'a, R> {
    /// Watches `inner`.
    pub fn new(
        inner: R,
        progress: &'a dyn Progress,
        cancel: &'a tokio_util::sync::CancellationToken,
    ) -> Self {
        Watched {
            inner,
            progress,
            cancel,
        }
    }
}

impl<R: std::io::Read> std::io::Read for Watched<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.cancel.is_cancelled() {
            return Err(std::io::Error::other(CancelledRead));
        }
        let n = self.inner.read(buf)?;
        self.progress.bytes(n as u64);
        Ok(n)
    }
}

/// True when `e` is a [`Watched`] reader's cancellation, wherever it was wrapped.
pub fn is_cancelled_read(e: &crate::Error) -> bool {
    match e {
        crate::Error::Io { source, .. } => source
            .get_ref()
            .is_some_and(|inner| inner.is::<CancelledRead>()),
        _ => false,
    }
}

/// Reports nothing.
pub struct NoProgress;

impl Progress for NoProgress {}
