//! The progress bar of long commands (backup, import, verify, prune): items done of items
//! queued, bytes, rate and time left. Drawn only when stderr is a terminal and the output is not
//! `--json`; scripts, pipes and logs see nothing of it.
//!
//! The time left is computed from bytes when every queued item announced its size (import and
//! verify know sizes up front; a bar over bytes gives an honest ETA when file sizes vary from
//! 1 KB to 4 GB), and from items otherwise (API downloads learn sizes only as they arrive).
//! Until the first item is queued it is a spinner saying what is being done (reading an
//! export's index, listing a library).

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{HumanBytes, ProgressBar, ProgressDrawTarget, ProgressStyle};
use photobak_core::progress::{NoProgress, Progress};

#[derive(Default)]
struct Counts {
    items_total: u64,
    items_done: u64,
    bytes_total: u64,
    bytes_done: u64,
    /// Some queued item had no size: the bar counts items.
    unknown_sizes: bool,
    /// Which style is on the bar (0 spinner, 1 bytes, 2 items).
    style: u8,
}

/// The bar on screen, if any, so that an error line printed meanwhile is written above it
/// instead of through it (see [`suspended`]).
static ON_SCREEN: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// Runs `f` (which writes to the terminal) with the bar, if one is drawn, lifted out of the way.
pub fn suspended<R>(f: impl FnOnce() -> R) -> R {
    let bar = ON_SCREEN.lock().unwrap_or_else(|p| p.into_inner()).clone();
    match bar {
        Some(b) => b.suspend(f),
        None => f(),
    }
}

/// indicatif behind the core's progress hooks.
pub struct Bar {
    bar: ProgressBar,
    counts: Mutex<Counts>,
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

impl Bar {
    fn update(&self, f: impl FnOnce(&mut Counts)) {
        let mut c = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut c);
        let by_bytes = !c.unknown_sizes && c.items_total > 0;
        let wanted = if c.items_total == 0 {
            0
        } else if by_bytes {
            1
        } else {
            2
        };
        if wanted != c.style {
            c.style = wanted;
            match wanted {
                1 => self.bar.set_style(style(
                    "{prefix} [{bar:25}] {msg}  {bytes}/{total_bytes}  {bytes_per_sec}  ETA {eta}",
                )),
                2 => self.bar.set_style(style(
                    "{prefix} [{bar:25}] {pos}/{len} items  {msg}  ETA {eta}",
                )),
                _ => {}
            }
        }
        if by_bytes {
            self.bar.set_length(c.bytes_total.max(1));
            self.bar.set_position(c.bytes_done.min(c.bytes_total));
            self.bar
                .set_message(format!("{}/{} items", c.items_done, c.items_total));
        } else if c.items_total > 0 {
            self.bar.set_length(c.items_total);
            self.bar.set_position(c.items_done.min(c.items_total));
            let secs = self.bar.elapsed().as_secs_f64().max(0.001);
            self.bar.set_message(format!(
                "{}  {}/s",
                HumanBytes(c.bytes_done),
                HumanBytes((c.bytes_done as f64 / secs) as u64)
            ));
        }
    }
}

impl Progress for Bar {
    fn queued(&self, bytes: Option<u64>) {
        self.update(|c| {
            c.items_total += 1;
            match bytes {
                Some(b) => c.bytes_total += b,
                None => c.unknown_sizes = true,
            }
        });
    }
    fn dequeued(&self, bytes: Option<u64>) {
        self.update(|c| {
            c.items_total = c.items_total.saturating_sub(1);
            if let Some(b) = bytes {
                c.bytes_total = c.bytes_total.saturating_sub(b);
            }
        });
    }
    fn bytes(&self, n: u64) {
        self.update(|c| c.bytes_done += n);
    }
    fn finished(&self) {
        self.update(|c| c.items_done += 1);
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        ON_SCREEN.lock().unwrap_or_else(|p| p.into_inner()).take();
        self.bar.finish_and_clear();
    }
}

/// A bar when stderr is a terminal and the output is not JSON, nothing otherwise. `doing` is
/// what the spinner says before the first item is queued ("reading the export").
pub fn for_terminal(json: bool, doing: &str) -> Arc<dyn Progress> {
    if json || !std::io::stderr().is_terminal() {
        return Arc::new(NoProgress);
    }
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    bar.set_style(style("{spinner} {prefix}… {elapsed}"));
    bar.set_prefix(doing.to_string());
    bar.enable_steady_tick(Duration::from_millis(200));
    *ON_SCREEN.lock().unwrap_or_else(|p| p.into_inner()) = Some(bar.clone());
    Arc::new(Bar {
        bar,
        counts: Mutex::new(Counts::default()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hidden() -> Bar {
        Bar {
            bar: ProgressBar::hidden(),
            counts: Mutex::new(Counts::default()),
        }
    }

    #[test]
    fn sizes_known_up_front_make_a_bar_over_bytes() {
        let b = hidden();
        b.queued(Some(100));
        b.queued(Some(300));
        b.bytes(100);
        b.finished();
        assert_eq!(b.bar.length(), Some(400));
        assert_eq!(b.bar.position(), 100);
        assert_eq!(b.bar.message(), "1/2 items");
        // An item that turned out to need no work leaves the totals.
        b.dequeued(Some(300));
        assert_eq!(b.bar.length(), Some(100));
        assert_eq!(b.bar.message(), "1/1 items");
    }

    #[test]
    fn an_unknown_size_makes_a_bar_over_items() {
        let b = hidden();
        b.queued(Some(100));
        b.queued(None);
        b.bytes(2048);
        b.finished();
        assert_eq!(b.bar.length(), Some(2));
        assert_eq!(b.bar.position(), 1);
        assert!(
            b.bar.message().starts_with("2.00 KiB"),
            "{}",
            b.bar.message()
        );
    }
}
