//! Exit codes, and how an error reaches a person.
//!
//! The table is decided here once; the README's "Exit codes" section and `main.rs` repeat it,
//! and `tests/exit_codes.rs` runs the real binary into every row:
//!
//! | code | meaning |
//! | --- | --- |
//! | 0 | success |
//! | 1 | the run did not do all of its work: an item, an account or a listing failed, a prune was refused, verify found damage, a disk or network error stopped it |
//! | 2 | usage: a flag, an argument or a path on the command line is wrong |
//! | 3 | locked: another photobak is using the repository |
//! | 4 | not a repository: `--repo` names a folder without a photobak index |
//! | 5 | configuration: the Google OAuth client is not set, an account was never authorised, the index is newer than this photobak |
//! | 70 | internal error: a bug in photobak (a task panicked); running again is safe |
//! | 130 | interrupted by Ctrl-C or SIGTERM; what was stored so far is kept |
//!
//! Codes are decided by the kind of the error (the core's [`photobak_core::Error`] variants,
//! [`CliError`] for what the binary itself checks, `JoinError` for a panicked task), never by
//! its text. A person sees `error: WHAT` on stderr and, where there is one, `hint: WHAT TO DO`,
//! the way cargo, rg and git report; the timestamped form is for `--log FILE`.

use std::path::Path;

/// What a run ended as. The discriminant is the process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Everything asked was done.
    Success = 0,
    /// The run did not do all of its work.
    Failure = 1,
    /// The command line is wrong.
    Usage = 2,
    /// Another photobak holds the repository.
    Locked = 3,
    /// `--repo` is not a repository.
    NotARepository = 4,
    /// photobak is not set up for this.
    Config = 5,
    /// A bug.
    Internal = 70,
    /// Ctrl-C or SIGTERM.
    Interrupted = 130,
}

impl Exit {
    /// The process exit code.
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// An error the binary detects itself, with its exit code and advice.
#[derive(Debug)]
pub struct CliError {
    /// The exit code it ends the run with.
    pub exit: Exit,
    /// What went wrong.
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
}

impl CliError {
    /// An error of kind `exit`.
    pub fn new(exit: Exit, message: impl Into<String>) -> CliError {
        CliError {
            exit,
            message: message.into(),
            hint: None,
        }
    }

    /// Adds advice.
    pub fn hint(mut self, hint: impl Into<String>) -> CliError {
        self.hint = Some(hint.into());
        self
    }
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

/// The exit code an error ends the run with.
pub fn exit_of(e: &anyhow::Error) -> Exit {
    for cause in e.chain() {
        if let Some(c) = cause.downcast_ref::<CliError>() {
            return c.exit;
        }
        if let Some(c) = cause.downcast_ref::<photobak_core::Error>() {
            use photobak_core::Error as E;
            return match c {
                E::Locked(_) => Exit::Locked,
                E::Cancelled => Exit::Interrupted,
                E::BadArgument(_) => Exit::Usage,
                E::NotARepository(_) => Exit::NotARepository,
                E::Config(_) => Exit::Config,
                E::Internal(_) => Exit::Internal,
                E::Io { .. }
                | E::Index(_)
                | E::Network(_)
                | E::Remote { .. }
                | E::QuotaExhausted(_)
                | E::Credentials { .. }
                | E::PickerSession { .. }
                | E::Invalid(_)
                | E::NoSpace { .. } => Exit::Failure,
            };
        }
        if let Some(j) = cause.downcast_ref::<tokio::task::JoinError>() {
            return if j.is_panic() {
                Exit::Internal
            } else {
                Exit::Interrupted
            };
        }
    }
    Exit::Failure
}

/// `photobak` as the person typed it, with `--repo` when it is not the default, for hints that
/// can be pasted.
pub fn command_prefix(repo: &Path) -> String {
    if repo == Path::new(crate::cli::DEFAULT_REPO) {
        "photobak".to_string()
    } else {
        format!(
            "photobak --repo {}",
            shell_word(&repo.display().to_string())
        )
    }
}

/// Quotes a word for a POSIX shell when it needs it.
fn shell_word(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+@:,=~".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// What to do about an error, when photobak knows.
pub fn hint_of(e: &anyhow::Error, repo: &Path) -> Option<String> {
    let cmd = command_prefix(repo);
    for cause in e.chain() {
        if let Some(c) = cause.downcast_ref::<CliError>() {
            return c.hint.clone();
        }
        if let Some(c) = cause.downcast_ref::<photobak_core::Error>() {
            use photobak_core::Error as E;
            return match c {
                E::NotARepository(_) => Some(format!(
                    "check --repo (default {}); a repository is created by `{cmd} import takeout \
                     PARTS…` or `{cmd} auth --googlephotos ADDRESS`",
                    crate::cli::DEFAULT_REPO
                )),
                E::Locked(_) => Some(
                    "wait for the other photobak to finish, or stop it; the lock is released as \
                     soon as it exits"
                        .into(),
                ),
                E::Internal(_) => Some(
                    "this is a bug in photobak; please report it with the command line. Nothing \
                     half-written was recorded, so running again is safe"
                        .into(),
                ),
                E::PickerSession { session, end } => Some(match end {
                    photobak_core::error::PickerEnd::NotPicked => format!(
                        "finish picking on the Picker page, then run `{cmd} pick --session \
                         {session}` again"
                    ),
                    _ => format!(
                        "start a new session with `{cmd} pick --googlephotos ADDRESS`; what was \
                         stored from this one is kept"
                    ),
                }),
                E::QuotaExhausted(_) => Some(
                    "the Google project's daily quota is used up; run again tomorrow (what was \
                     stored so far is kept)"
                        .into(),
                ),
                _ => None,
            };
        }
        if let Some(j) = cause.downcast_ref::<tokio::task::JoinError>()
            && j.is_panic()
        {
            return Some(
                "this is a bug in photobak; please report it with the command line. Nothing \
                 half-written was recorded, so running again is safe"
                    .into(),
            );
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_decide_codes_through_context() {
        let e =
            anyhow::Error::new(photobak_core::Error::NotARepository("x".into())).context("opening");
        assert_eq!(exit_of(&e), Exit::NotARepository);
        let e = anyhow::Error::new(CliError::new(Exit::Usage, "bad"));
        assert_eq!(exit_of(&e), Exit::Usage);
        let e = anyhow::anyhow!("something else");
        assert_eq!(exit_of(&e), Exit::Failure);
        assert_eq!(Exit::Interrupted.code(), 130);
        assert_eq!(Exit::Internal.code(), 70);
    }

    #[test]
    fn hints_name_the_repository_when_it_is_not_the_default() {
        assert_eq!(command_prefix(Path::new("./photos_backup")), "photobak");
        assert_eq!(
            command_prefix(Path::new("/srv/my photos")),
            "photobak --repo '/srv/my photos'"
        );
        assert_eq!(
            command_prefix(Path::new("demo_backup")),
            "photobak --repo demo_backup"
        );
    }
}
