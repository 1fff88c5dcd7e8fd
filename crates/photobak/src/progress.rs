//! The progress bar: items done of items queued, bytes, rate and ETA. Drawn only when stderr is a
//! terminal; scripts and logs see nothing of it.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use indicatif::{HumanBytes, ProgressBar, ProgressDrawTarget, ProgressStyle};
use photobak_core::progress::{NoProgress, Progress};

/// indicatif behind the core's progress hooks.
pub struct Bar {
    bar: ProgressBar,
    bytes: AtomicU64,
    started: Instant,
}

impl Bar {
    fn redraw(&self) {
        let bytes = self.bytes.load(Ordering::Relaxed);
        let secs = self.started.elapsed().as_secs_f64().max(0.001);
        self.bar.set_message(format!(
            "{}  {}/s",
            HumanBytes(bytes),
            HumanBytes((bytes as f64 / secs) as u64)
        ));
    }
}

impl Progress for Bar {
    fn queued(&self, _bytes: Option<u64>) {
        self.bar.inc_length(1);
    }
    fn bytes(&self, n: u64) {
        self.bytes.fetch_add(n, Ordering::Relaxed);
        self.redraw();
    }
    fn finished(&self) {
        self.bar.inc(1);
        self.redraw();
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

/// A bar when stderr is a terminal, nothing otherwise.
pub fn for_terminal() -> Arc<dyn Progress> {
    if !std::io::stderr().is_terminal() {
        return Arc::new(NoProgress);
    }
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{spinner} {pos}/{len} items  {msg}  ETA {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    Arc::new(Bar {
        bar,
        bytes: AtomicU64::new(0),
        started: Instant::now(),
    })
}
