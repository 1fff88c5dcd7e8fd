//! `--every`: run, wait, run again.
//!
//! The first run starts at once; later runs are due at fixed intervals measured from the start.
//! A run that takes longer than the interval is followed at once by the next one, and missed
//! ticks are not replayed (no burst). The caller opens and closes the repository inside each
//! run, so the lock is free between runs. Cancellation (SIGINT/SIGTERM) ends the loop between
//! runs; inside a run the run itself watches the same token.

use std::future::Future;
use std::time::Duration;

use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

/// Calls `run(n)` for n = 1, 2, … every `interval` until `cancel` fires. Returns the number of
/// runs made.
pub async fn every<F, Fut>(interval: Duration, cancel: CancellationToken, mut run: F) -> u64
where
    F: FnMut(u64) -> Fut,
    Fut: Future<Output = ()>,
{
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut n = 0;
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = cancel.cancelled() => return n,
        }
        n += 1;
        run(n).await;
        if cancel.is_cancelled() {
            return n;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use tokio::time::Instant;

    #[tokio::test(start_paused = true)]
    async fn runs_at_fixed_intervals_without_bursts() {
        let starts = Arc::new(Mutex::new(Vec::new()));
        let cancel = CancellationToken::new();
        let t0 = Instant::now();
        let s = starts.clone();
        let c = cancel.clone();
        let n = every(Duration::from_secs(10), cancel.clone(), move |n| {
            let s = s.clone();
            let c = c.clone();
            async move {
                s.lock().unwrap().push(t0.elapsed().as_secs());
                // The second run is slow (25 s): the third must follow at once, not twice.
                if n == 2 {
                    tokio::time::sleep(Duration::from_secs(25)).await;
                }
                if n == 4 {
                    c.cancel();
                }
            }
        })
        .await;
        assert_eq!(n, 4);
        assert_eq!(*starts.lock().unwrap(), vec![0, 10, 35, 45]);
    }
}
