//! One module per subcommand: build the core's options, call it, print the outcome.

pub mod auth;
pub mod backup;
pub mod completions;
pub mod exports;
pub mod import;
pub mod list;
pub mod pick;
pub mod prune;
pub mod status;
pub mod summary;
pub mod verify;

use photobak_core::google::Endpoints;
use photobak_core::google::http::RetryPolicy;
use photobak_core::google::oauth::ClientCredentials;

/// Google endpoints: `PHOTOBAK_GOOGLE_ENDPOINT` (a testing aid pointing every call at a fake
/// service) or the real ones.
pub fn endpoints() -> Endpoints {
    match std::env::var("PHOTOBAK_GOOGLE_ENDPOINT") {
        Ok(e) if !e.trim().is_empty() => Endpoints::under(e.trim()),
        _ => Endpoints::google(),
    }
}

/// The shared HTTP client: connect and idle-read timeouts, never a total timeout (a 4 GB video
/// may take an hour).
pub fn http_client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .user_agent(concat!("photobak/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(std::time::Duration::from_secs(30))
        .read_timeout(read_timeout())
        .build()?)
}

/// Everything needed to talk to Google.
pub fn google_access() -> anyhow::Result<photobak_core::backup::GoogleAccess> {
    Ok(photobak_core::backup::GoogleAccess {
        http: http_client()?,
        endpoints: endpoints(),
        client: ClientCredentials::from_env()?,
        policy: RetryPolicy::from_env(),
    })
}

/// How long a connection may stay silent mid-answer before it counts as dropped (and the
/// download resumes with `Range`): 120 s, or `PHOTOBAK_READ_TIMEOUT_SECS` (a testing aid, so a
/// stalled server can be tested in seconds).
fn read_timeout() -> std::time::Duration {
    let secs = std::env::var("PHOTOBAK_READ_TIMEOUT_SECS")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|&s| s > 0)
        .unwrap_or(120);
    std::time::Duration::from_secs(secs)
}

/// Runs `once` every `interval` until cancelled (`--every`). In scheduled mode an error of one
/// run is logged and the loop goes on; the result is true when every run succeeded.
pub async fn scheduled<F, Fut>(
    interval: std::time::Duration,
    cancel: tokio_util::sync::CancellationToken,
    mut once: F,
) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<bool>>,
{
    use std::sync::atomic::{AtomicBool, Ordering};
    let all_ok = AtomicBool::new(true);
    let all_ok = &all_ok;
    photobak_core::schedule::every(interval, cancel, |n| {
        let run = once();
        async move {
            tracing::info!("scheduled run {n} starting");
            match run.await {
                Ok(ok) => {
                    all_ok.fetch_and(ok, Ordering::Relaxed);
                }
                Err(e) => {
                    tracing::error!("scheduled run {n}: {e:#}");
                    all_ok.store(false, Ordering::Relaxed);
                }
            }
            tracing::info!("next run in {}", humantime::format_duration(interval));
        }
    })
    .await;
    all_ok.load(Ordering::Relaxed)
}
