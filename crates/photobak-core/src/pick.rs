//! `photobak pick`: the items a user chooses on Google's Picker page, stored like any other.
//!
//! One session's life: create it (or resume one with `--session`, after a crash or Ctrl-C),
//! show its `pickerUri` (the binary prints it and a QR code, so someone at a headless server
//! can pick on a phone), poll it as its `pollingConfig` says until the user has picked or its
//! picking time runs out, hand the picked items to the engine (the one path every source's
//! items take: de-duplication across accounts and sources, `Photos from YYYY` folders by
//! capture time, the file's own EXIF, provenance `picker`), then delete it at Google. Every
//! step is recorded in `picker_sessions`, so an interrupted pick is resumed, not repeated, and
//! a session that cannot go on says why ([`crate::error::PickerEnd`]).

use std::sync::Arc;

use serde::Serialize;

use crate::engine::Engine;
use crate::error::{Error, PickerEnd, Result};
use crate::google::picker::{PickerClient, PickingSession, Poll};
use crate::google::{GoogleAccess, PROVIDER};
use crate::index::{Account, SessionState};
use crate::source::picker::{PickerSource, picker_client};
use crate::summary::RunSummary;
use crate::task::blocking;

/// What `photobak pick` should do.
#[derive(Debug, Clone, Default)]
pub struct PickOptions {
    /// The account whose library is picked from.
    pub account: String,
    /// The most items the user may pick (`maxItemCount`); None leaves Google's limit.
    pub max_items: Option<u64>,
    /// Resume this session instead of creating one.
    pub session: Option<String>,
}

/// A session as the user needs to see it.
#[derive(Debug, Clone, Serialize)]
pub struct SessionInfo {
    /// Google's session id (for `--session`).
    pub id: String,
    /// The page to open, signed in to the same account.
    pub picker_uri: Option<String>,
    /// When the session and its items expire, Unix seconds.
    pub expires_at: Option<i64>,
    /// True when an existing session was resumed.
    pub resumed: bool,
    /// True when the user had already finished picking.
    pub picked: bool,
}

/// What the command shows while it works.
pub trait PickEvents: Send + Sync {
    /// The session is ready: show where to pick (not called again when it was picked already).
    fn session(&self, _session: &SessionInfo) {}
    /// The user finished picking: the items are being listed and stored.
    fn picked(&self) {}
}

/// The report of a pick.
#[derive(Debug, Clone, Serialize)]
pub struct PickReport {
    /// The session.
    pub session: SessionInfo,
    /// The engine's report of the run.
    pub run: RunSummary,
    /// True when the session was deleted at Google (every item handled); false keeps it for
    /// `--session` (an item failed, or the run stopped).
    pub session_deleted: bool,
}

impl PickReport {
    /// True when every picked item was handled.
    pub fn ok(&self) -> bool {
        self.run.ok()
    }
}

/// Runs one pick for an account: session, polling, storing through `engine`, deletion.
///
/// # Errors
/// [`Error::BadArgument`] for an account the repository does not know, [`Error::Credentials`]
/// when it is not authorised or lacks the Picker scope, [`Error::PickerSession`] when the
/// session expired, was deleted or timed out with nothing picked, [`Error::Cancelled`] on
/// Ctrl-C (the session is kept for `--session`), quota and network errors.
pub async fn pick(
    engine: &Engine,
    google: &GoogleAccess,
    opts: &PickOptions,
    events: &dyn PickEvents,
) -> Result<PickReport> {
    let repo = engine.repo().clone();
    let account = {
        let (repo, name) = (repo.clone(), opts.account.clone());
        blocking(move || repo.index.account(PROVIDER, &name)).await?
    }
    .ok_or_else(|| {
        Error::Config(format!(
            "{}: not in this repository; authorise it first with `photobak auth --googlephotos {}`",
            opts.account, opts.account
        ))
    })?;
    let client = Arc::new(picker_client(
        &repo,
        google,
        &account,
        engine.pacer().clone(),
    )?);
    let (mut session, resumed) = match &opts.session {
        Some(id) => (resume(engine, &client, &account, id).await?, true),
        None => {
            let s = client.create_session(opts.max_items).await?;
            tracing::info!("{}: Picker session {} created", account.name, s.id);
            (s, false)
        }
    };
    let info = SessionInfo {
        id: session.id.clone(),
        picker_uri: session.picker_uri.clone(),
        expires_at: session.expires_at(),
        resumed,
        picked: session.media_items_set,
    };
    {
        let (repo, s) = (repo.clone(), info.clone());
        let account_id = account.id;
        blocking(move || {
            repo.index.record_picker_session(
                &s.id,
                account_id,
                s.picker_uri.as_deref(),
                s.expires_at,
            )
        })
        .await?;
    }
    if !session.media_items_set {
        events.session(&info);
    }
    loop {
        match session.poll() {
            Poll::Picked => break,
            Poll::Wait(d) => {
                engine.pacer().sleep(d).await?;
                session = match client.session(&info.id).await {
                    Ok(s) => s,
                    Err(e) => {
                        if let Error::PickerSession { .. } = e {
                            mark_gone(engine, &info.id, info.expires_at).await?;
                        }
                        return Err(e);
                    }
                };
            }
            Poll::TimedOut => {
                // Nothing can be picked in it any more: it is of no use to anyone.
                if let Err(e) = client.delete_session(&info.id).await {
                    tracing::debug!("deleting timed-out session {}: {e}", info.id);
                }
                set_state(engine, &info.id, SessionState::Expired, None).await?;
                return Err(Error::PickerSession {
                    session: info.id.clone(),
                    end: PickerEnd::TimedOut,
                });
            }
        }
    }
    set_state(engine, &info.id, SessionState::Picked, None).await?;
    events.picked();
    let source = PickerSource::new(&repo, &account, client.clone(), &info.id);
    let (run, error) = engine.run(&account, "pick", &source).await;
    if let Some(e) = error {
        if let Error::PickerSession {
            end: PickerEnd::Gone,
            ..
        } = &e
        {
            mark_gone(engine, &info.id, info.expires_at).await?;
        }
        return Err(e);
    }
    let handled = (run.new + run.deduplicated + run.updated + run.unchanged + run.repaired) as i64
        + run.linked.len() as i64;
    // A failed item or a stopped run (quota) keeps the session, so `--session` can finish it
    // while it lives.
    let session_deleted = run.ok();
    if session_deleted {
        match client.delete_session(&info.id).await {
            Ok(()) | Err(Error::PickerSession { .. }) => {}
            Err(e) => return Err(e),
        }
        set_state(engine, &info.id, SessionState::Done, Some(handled)).await?;
    } else {
        set_state(engine, &info.id, SessionState::Picked, Some(handled)).await?;
    }
    Ok(PickReport {
        session: SessionInfo {
            picked: true,
            ..info
        },
        run,
        session_deleted,
    })
}

/// A session named by `--session`: known to Google and, when photobak recorded it, of this
/// account and not finished.
async fn resume(
    engine: &Engine,
    client: &PickerClient,
    account: &Account,
    id: &str,
) -> Result<PickingSession> {
    let recorded = {
        let (repo, id) = (engine.repo().clone(), id.to_string());
        blocking(move || repo.index.picker_session(&id)).await?
    };
    if let Some(r) = &recorded {
        if r.account_id != account.id {
            return Err(Error::BadArgument(format!(
                "Picker session {id} belongs to another account than {}",
                account.name
            )));
        }
        match r.state {
            SessionState::Done => {
                return Err(Error::BadArgument(format!(
                    "Picker session {id} is done: its items are stored and it was deleted"
                )));
            }
            SessionState::Expired | SessionState::Deleted => {
                return Err(Error::PickerSession {
                    session: id.to_string(),
                    end: PickerEnd::Gone,
                });
            }
            _ => {}
        }
    }
    match client.session(id).await {
        Ok(s) => Ok(s),
        Err(e @ Error::PickerSession { .. }) => {
            if recorded.is_some() {
                mark_gone(engine, id, recorded.and_then(|r| r.expires_at)).await?;
            }
            Err(e)
        }
        Err(e) => Err(e),
    }
}

/// Records that Google no longer knows a session: expired when its `expireTime` has passed,
/// else deleted.
async fn mark_gone(engine: &Engine, id: &str, expires_at: Option<i64>) -> Result<()> {
    let state = match expires_at {
        Some(t) if t > crate::index::now() => SessionState::Deleted,
        _ => SessionState::Expired,
    };
    set_state(engine, id, state, None).await
}

async fn set_state(
    engine: &Engine,
    id: &str,
    state: SessionState,
    items: Option<i64>,
) -> Result<()> {
    let (repo, id) = (engine.repo().clone(), id.to_string());
    blocking(move || repo.index.set_picker_session_state(&id, state, items)).await
}
