//! Progress reporting without terminal code: the core calls these hooks and the binary draws
//! (or not, when output is not a terminal).

/// Receives progress events. Every method has a no-op default.
pub trait Progress: Send + Sync {
    /// An item was queued for download (its size, when known).
    fn queued(&self, _bytes: Option<u64>) {}
    /// Bytes arrived.
    fn bytes(&self, _n: u64) {}
    /// An item finished (stored, unchanged, skipped or failed).
    fn finished(&self) {}
}

/// Reports nothing.
pub struct NoProgress;

impl Progress for NoProgress {}
