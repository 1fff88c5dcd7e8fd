//! Requests the way Google asks for them.
//!
//! Google's guidance: retry 5xx with exponential backoff starting at 1 s, retry 429 after at
//! least 30 s, add jitter, do not retry other 4xx. A 429 also means the whole project is going
//! too fast, so it pauses every request of the run for a while (the [`Pacer`]), not just the one
//! that was refused. A daily quota cannot be waited out within a run: it is reported as
//! [`Error::QuotaExhausted`] so the caller stops that account cleanly.
//!
//! Every wait here (a 429 pause can be an hour long, a backoff a minute) goes through the
//! [`Pacer`], which carries the run's cancellation token: Ctrl-C or SIGTERM ends a wait at once
//! with [`Error::Cancelled`] instead of after it.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use tokio_util::sync::CancellationToken;

use crate::error::{Error, Result};

/// Retry timing. The defaults are Google's; tests shrink `base` through
/// `PHOTOBAK_RETRY_BASE_MS` so fault-injection runs take seconds, not minutes.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// First backoff delay for transient errors.
    pub base: Duration,
    /// Longest single backoff.
    pub max_delay: Duration,
    /// Wait after a 429 without `Retry-After`.
    pub rate_limit_wait: Duration,
    /// Attempts per request before giving up on a transient error.
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            base: Duration::from_secs(1),
            max_delay: Duration::from_secs(64),
            rate_limit_wait: Duration::from_secs(30),
            max_attempts: 8,
        }
    }
}

impl RetryPolicy {
    /// Google's timings, with the base delay scaled by `PHOTOBAK_RETRY_BASE_MS` when set (a
    /// testing aid: the 429 wait scales with it, 30 × base).
    pub fn from_env() -> RetryPolicy {
        let mut p = RetryPolicy::default();
        if let Some(ms) = std::env::var("PHOTOBAK_RETRY_BASE_MS")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
        {
            p.base = Duration::from_millis(ms);
            p.max_delay = Duration::from_millis(ms * 64);
            p.rate_limit_wait = Duration::from_millis(ms * 30);
        }
        p
    }

    /// Delay before attempt `attempt` (1-based) after a transient error: base·2^(n-1), capped,
    /// with ±25 % jitter so parallel workers do not retry in lockstep.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .base
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let capped = exp.min(self.max_delay);
        let jitter = 0.75 + fastrand::f64() * 0.5;
        capped.mul_f64(jitter)
    }
}

/// Shared brake: after a 429, every request of the run waits until the pause is over. It also
/// owns the run's cancellation, so no wait outlives a Ctrl-C.
#[derive(Debug, Default)]
pub struct Pacer {
    pause_until: Mutex<Option<Instant>>,
    cancel: CancellationToken,
}

impl Pacer {
    /// A pacer whose waits end early, with [`Error::Cancelled`], when `cancel` fires.
    pub fn new(cancel: CancellationToken) -> Pacer {
        Pacer {
            pause_until: Mutex::new(None),
            cancel,
        }
    }

    /// Waits out any pause in force.
    ///
    /// # Errors
    /// [`Error::Cancelled`] when the run is interrupted (before or during the wait).
    pub async fn wait(&self) -> Result<()> {
        loop {
            if self.cancel.is_cancelled() {
                return Err(Error::Cancelled);
            }
            let until = *self.pause_until.lock().unwrap_or_else(|p| p.into_inner());
            match until {
                Some(t) if t > Instant::now() => self.sleep_until(t).await?,
                _ => return Ok(()),
            }
        }
    }

    /// Sleeps `d` (a retry backoff), ending early when the run is interrupted.
    ///
    /// # Errors
    /// [`Error::Cancelled`] when the run is interrupted.
    pub async fn sleep(&self, d: Duration) -> Result<()> {
        self.sleep_until(Instant::now() + d).await
    }

    async fn sleep_until(&self, t: Instant) -> Result<()> {
        tokio::select! {
            () = tokio::time::sleep_until(t.into()) => Ok(()),
            () = self.cancel.cancelled() => Err(Error::Cancelled),
        }
    }

    /// Pauses everyone for `d` (extending, never shortening, a pause in force).
    pub fn pause(&self, d: Duration) {
        let mut g = self.pause_until.lock().unwrap_or_else(|p| p.into_inner());
        let t = Instant::now() + d;
        if g.is_none_or(|cur| cur < t) {
            *g = Some(t);
        }
    }
}

/// Google's JSON error body.
#[derive(Debug, serde::Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Debug, serde::Deserialize)]
#[serde(untagged)]
enum ErrorDetail {
    Rpc {
        message: Option<String>,
        status: Option<String>,
    },
    OAuth(String),
}

/// Turns an error response into an [`Error`], reading Google's message and `Retry-After`.
pub async fn error_from_response(what: &str, resp: reqwest::Response) -> Error {
    let status = resp.status();
    let retry_after = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let body = resp.text().await.unwrap_or_default();
    let (message, rpc_status) = match serde_json::from_str::<ErrorBody>(&body) {
        Ok(ErrorBody {
            error: ErrorDetail::Rpc { message, status },
        }) => (message.unwrap_or_default(), status.unwrap_or_default()),
        Ok(ErrorBody {
            error: ErrorDetail::OAuth(code),
        }) => (code, String::new()),
        Err(_) => (body.chars().take(200).collect::<String>(), String::new()),
    };
    if status == StatusCode::TOO_MANY_REQUESTS && is_daily_quota(&message) {
        return Error::QuotaExhausted(message);
    }
    let message = if rpc_status.is_empty() {
        message
    } else {
        format!("{rpc_status}: {message}")
    };
    Error::Remote {
        what: what.to_string(),
        status: status.as_u16(),
        message: message.trim().to_string(),
        retry_after,
    }
}

/// A 429 whose message names a per-day limit cannot be waited out within a run.
fn is_daily_quota(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("per day") || m.contains("perday")
}

/// Maps a reqwest failure (no response) to a transient network error.
pub fn network_error(what: &str, e: &reqwest::Error) -> Error {
    // reqwest's Display hides the cause ("error sending request"); the chain says what happened.
    let mut msg = format!("{what}: {e}");
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        msg.push_str(&format!(": {s}"));
        src = s.source();
    }
    Error::Network(msg)
}

/// How long to wait before retrying `err`, or None when it must not be retried.
pub fn retry_delay(
    policy: &RetryPolicy,
    err: &Error,
    attempt: u32,
    pacer: &Pacer,
) -> Option<Duration> {
    if attempt >= policy.max_attempts || !err.is_transient() {
        return None;
    }
    match err {
        Error::Remote {
            status: 429,
            retry_after,
            ..
        } => {
            // Honour Retry-After, but an hour at most: a server asking for a day is a quota.
            let wait = retry_after
                .unwrap_or(policy.rate_limit_wait)
                .min(Duration::from_secs(3600));
            pacer.pause(wait);
            Some(wait)
        }
        _ => Some(policy.backoff(attempt)),
    }
}

/// Reads a JSON answer, classifying failures.
pub async fn read_json<T: DeserializeOwned>(what: &str, resp: reqwest::Response) -> Result<T> {
    if !resp.status().is_success() {
        return Err(error_from_response(what, resp).await);
    }
    let bytes = resp.bytes().await.map_err(|e| network_error(what, &e))?;
    serde_json::from_slice(&bytes).map_err(|e| {
        Error::Invalid(format!(
            "{what}: unexpected answer ({e}): {}",
            String::from_utf8_lossy(&bytes[..bytes.len().min(200)])
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy::default();
        let d1 = p.backoff(1);
        assert!(d1 >= Duration::from_millis(750) && d1 <= Duration::from_millis(1250));
        let d4 = p.backoff(4);
        assert!(d4 >= Duration::from_secs(6) && d4 <= Duration::from_secs(10));
        assert!(p.backoff(30) <= Duration::from_secs(80));
    }

    #[test]
    fn daily_quota_is_recognised() {
        assert!(is_daily_quota(
            "Quota exceeded for quota metric 'All requests' and limit 'All requests per day' of service"
        ));
        assert!(!is_daily_quota(
            "Quota exceeded for 'Write requests per minute per user'"
        ));
    }

    #[test]
    fn only_transient_errors_are_retried() {
        let p = RetryPolicy::default();
        let pacer = Pacer::default();
        let e404 = Error::Remote {
            what: "x".into(),
            status: 404,
            message: String::new(),
            retry_after: None,
        };
        assert!(retry_delay(&p, &e404, 1, &pacer).is_none());
        let e429 = Error::Remote {
            what: "x".into(),
            status: 429,
            message: String::new(),
            retry_after: None,
        };
        assert_eq!(
            retry_delay(&p, &e429, 1, &pacer),
            Some(Duration::from_secs(30))
        );
        let e429b = Error::Remote {
            what: "x".into(),
            status: 429,
            message: String::new(),
            retry_after: Some(Duration::from_secs(3)),
        };
        assert_eq!(
            retry_delay(&p, &e429b, 1, &pacer),
            Some(Duration::from_secs(3))
        );
        assert!(retry_delay(&p, &Error::Network("reset".into()), p.max_attempts, &pacer).is_none());
    }

    /// Regression: a `Retry-After` of two days paused every request of the run for two days.
    /// (Not observable through the binary: the capped wait is still an hour.)
    #[test]
    fn retry_after_is_capped_at_one_hour() {
        let p = RetryPolicy::default();
        let pacer = Pacer::default();
        let two_days = Error::Remote {
            what: "x".into(),
            status: 429,
            message: String::new(),
            retry_after: Some(Duration::from_secs(2 * 86_400)),
        };
        let hour = Duration::from_secs(3600);
        assert_eq!(retry_delay(&p, &two_days, 1, &pacer), Some(hour));
        // The shared pause is capped too.
        let until = pacer.pause_until.lock().unwrap().expect("paused");
        assert!(until <= Instant::now() + hour, "{until:?}");
    }
}
