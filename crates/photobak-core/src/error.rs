//! Errors of the core library.
//!
//! Every error says whether it is worth retrying: the download loop retries transient failures
//! with backoff, stops an account on credential or quota failures, and records everything else
//! as a failure of the one item concerned. That split is the original photobak's rule ("one bad
//! file does not stop the run, bad credentials do"), made explicit in the type.

use std::time::Duration;

/// Result type of the core library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, and therefore what the caller should do about it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A local file operation failed; `context` names the file.
    #[error("{context}: {source}")]
    Io {
        /// What was being done, naming the path.
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The index database failed.
    #[error("index database: {0}")]
    Index(#[from] rusqlite::Error),
    /// A network request failed before an answer arrived (reset, timeout, truncated body).
    #[error("network: {0}")]
    Network(String),
    /// The server answered with an error status.
    #[error("{what}: HTTP {status}: {message}")]
    Remote {
        /// The request, for the message ("listing albums", "downloading IMG_1.jpg").
        what: String,
        /// HTTP status.
        status: u16,
        /// Google's message, or the body's start.
        message: String,
        /// How long the server asked us to wait (429 `Retry-After`).
        retry_after: Option<Duration>,
    },
    /// The daily quota of the Google project is used up; the account stops for this run.
    #[error("quota exhausted: {0}")]
    QuotaExhausted(String),
    /// The stored credentials no longer work; the account stops until re-authorised.
    #[error("credentials for {account}: {message}")]
    Credentials {
        /// The account address.
        account: String,
        /// What to do about it.
        message: String,
    },
    /// Another photobak holds the repository.
    #[error("{0}")]
    Locked(String),
    /// Bad input from a file or a server (an archive entry, a JSON document, an API answer).
    #[error("{0}")]
    Invalid(String),
    /// A command-line argument names something that does not exist or cannot be used (an
    /// account the repository does not know, a part that is not a Takeout archive).
    #[error("{0}")]
    BadArgument(String),
    /// The folder is not a photobak repository (it has no index). Commands that only read or
    /// repair a repository refuse to create one.
    #[error("{}: not a photobak repository (no {})", .0.display(), crate::layout::INDEX_FILE)]
    NotARepository(std::path::PathBuf),
    /// photobak is not set up for what was asked: the Google OAuth client is missing, an account
    /// was never authorised, the index is newer than this program.
    #[error("{0}")]
    Config(String),
    /// A bug in photobak: a task panicked or broke an invariant. Nothing half-written is
    /// recorded (every write is staged, then renamed), so running again is safe.
    #[error("internal error: {0}")]
    Internal(String),
    /// Not enough free disk space for a download; it was not started. `what` names the file
    /// and where it comes from.
    #[error(
        "not enough disk space for {what} ({}): it needs {} free in {} (its size plus a margin \
         for the import), {} are free; free some space or move the repository to a larger disk",
        human_bytes(*.size), human_bytes(*.needed), .path.display(), human_bytes(*.free)
    )]
    NoSpace {
        /// The file and its origin (`takeout-…-001.zip from Google Drive`).
        what: String,
        /// Its size.
        size: u64,
        /// Free bytes it needs.
        needed: u64,
        /// Free bytes there are.
        free: u64,
        /// Where it would be written.
        path: std::path::PathBuf,
    },
    /// A Picker session cannot be used (any more): it expired or was deleted, or its picking
    /// time ran out with nothing picked.
    #[error("Picker session {session}: {end}")]
    PickerSession {
        /// The session id.
        session: String,
        /// Why it cannot be used.
        end: PickerEnd,
    },
    /// The run was asked to stop (SIGINT/SIGTERM).
    #[error("interrupted")]
    Cancelled,
}

/// Why a Picker session cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PickerEnd {
    /// Google no longer knows it: it expired (`expireTime`) or was deleted.
    Gone,
    /// Its picking time (`pollingConfig.timeoutIn`) ran out before anything was picked.
    TimedOut,
    /// Its items were listed before the user finished picking (`FAILED_PRECONDITION`).
    NotPicked,
}

impl std::fmt::Display for PickerEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PickerEnd::Gone => "it expired or was deleted at Google",
            PickerEnd::TimedOut => "nothing was picked before the session's picking time ran out",
            PickerEnd::NotPicked => "the items are not picked yet (FAILED_PRECONDITION)",
        })
    }
}

impl Error {
    /// Wraps an I/O error with the operation and path it concerns.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// A task that ended without an answer: a panic is a bug ([`Error::Internal`]); a task
    /// cancelled by the runtime shutting down is an interruption.
    pub fn from_join(what: &str, e: &tokio::task::JoinError) -> Self {
        if e.is_cancelled() {
            Error::Cancelled
        } else {
            Error::Internal(format!("{what}: {e}"))
        }
    }

    /// True when the same request may succeed if tried again later in this run.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Network(_) => true,
            Error::Remote { status, .. } => *status == 429 || *status == 408 || *status >= 500,
            Error::Io { source, .. } => matches!(
                source.kind(),
                std::io::ErrorKind::Interrupted
                    | std::io::ErrorKind::TimedOut
                    | std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::UnexpectedEof
            ),
            _ => false,
        }
    }

    /// True when the error ends the work of a whole account for this run.
    pub fn stops_account(&self) -> bool {
        matches!(
            self,
            Error::QuotaExhausted(_) | Error::Credentials { .. } | Error::Cancelled
        )
    }
}

/// `1.5 GB`, `820 KB`, `12 B`: sizes in messages, in decimal units as file managers show them.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["KB", "MB", "GB", "TB", "PB"];
    if n < 1000 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1000.0;
    let mut unit = 0;
    while v >= 1000.0 && unit + 1 < UNITS.len() {
        v /= 1000.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

/// Adds file context to `std::io::Result`.
pub trait IoContext<T> {
    /// Names the operation and path in the error.
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| Error::io(context(), e))
    }
}
