//! Blocking work (SQLite, files) run off the async threads. A leaf module, so that every layer
//! with async paths (the Google clients, the engine, the commands' core functions) can use it
//! without depending on the layers above it.

use crate::error::{Error, Result};

/// Runs `f` on a blocking thread and returns its result; a panic in `f` is an error naming
/// index work.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::from_join("index work", &e))?
}
