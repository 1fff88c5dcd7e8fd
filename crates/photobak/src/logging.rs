//! Logging as the original did it: only errors go to the log (stderr by default, or a file that
//! rotates at 100 MB, keeps at most 10 old files and deletes them after 90 days); `-v` adds
//! informational messages on stdout. No crate does size + count + age rotation together, so the
//! rotating writer is ours; it is small.
//!
//! On a terminal (`--log stderr`, the default, or `stdout`) an error reads `error: WHAT`, as
//! cargo, rg and git print theirs; a log file gets the timestamped, levelled form that is
//! searched later.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, filter::LevelFilter};

/// Rotation limits.
#[derive(Debug, Clone, Copy)]
pub struct Rotation {
    /// Rotate when the active file would exceed this.
    pub max_bytes: u64,
    /// Rotated files kept.
    pub keep: usize,
    /// Rotated files older than this are deleted.
    pub max_age: Duration,
}

impl Rotation {
    /// 100 MB, 10 files, 90 days; `PHOTOBAK_LOG_MAX_BYTES` overrides the size (a testing aid).
    pub fn standard() -> Rotation {
        Rotation {
            max_bytes: std::env::var("PHOTOBAK_LOG_MAX_BYTES")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(100 * 1024 * 1024),
            keep: 10,
            max_age: Duration::from_secs(90 * 24 * 3600),
        }
    }
}

/// A log file that rotates to `NAME.1` … `NAME.keep`.
pub struct RotatingFile {
    path: PathBuf,
    file: File,
    size: u64,
    rotation: Rotation,
}

impl RotatingFile {
    /// Opens (appending) and prunes old rotated files.
    pub fn open(path: &Path, rotation: Rotation) -> io::Result<RotatingFile> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let size = file.metadata()?.len();
        let f = RotatingFile {
            path: path.to_path_buf(),
            file,
            size,
            rotation,
        };
        f.prune_old();
        Ok(f)
    }

    fn rotated(&self, n: usize) -> PathBuf {
        let mut s = self.path.clone().into_os_string();
        s.push(format!(".{n}"));
        PathBuf::from(s)
    }

    fn rotate(&mut self) -> io::Result<()> {
        self.file.flush()?;
        let _ = fs::remove_file(self.rotated(self.rotation.keep));
        for n in (1..self.rotation.keep).rev() {
            let from = self.rotated(n);
            if from.exists() {
                fs::rename(&from, self.rotated(n + 1))?;
            }
        }
        fs::rename(&self.path, self.rotated(1))?;
        self.file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        self.size = 0;
        self.prune_old();
        Ok(())
    }

    fn prune_old(&self) {
        let now = SystemTime::now();
        for n in 1..=self.rotation.keep + 5 {
            let p = self.rotated(n);
            let old = fs::metadata(&p)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|m| now.duration_since(m).ok())
                .is_some_and(|age| age > self.rotation.max_age);
            if old || n > self.rotation.keep {
                let _ = fs::remove_file(p);
            }
        }
    }
}

impl Write for RotatingFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.size > 0 && self.size + buf.len() as u64 > self.rotation.max_bytes {
            self.rotate()?;
        }
        let n = self.file.write(buf)?;
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

#[derive(Clone)]
struct SharedWriter(Arc<Mutex<Box<dyn Write + Send>>>);

impl Write for SharedWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // An error line while a progress bar is drawn goes above the bar, not through it.
        crate::progress::suspended(|| self.0.lock().unwrap_or_else(|p| p.into_inner()).write(buf))
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).flush()
    }
}

impl<'a> MakeWriter<'a> for SharedWriter {
    type Writer = SharedWriter;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// `error: MESSAGE`, for a person reading a terminal.
struct PersonFormat;

impl<S, N> FormatEvent<S, N> for PersonFormat
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let label = match *event.metadata().level() {
            tracing::Level::ERROR => "error",
            tracing::Level::WARN => "warning",
            _ => "note",
        };
        write!(writer, "{label}: ")?;
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

/// True when `--log` sends errors to the terminal rather than to a file (or nowhere).
pub fn to_terminal(dest: &str) -> bool {
    matches!(dest, "stderr" | "stdout")
}

/// Installs the global subscriber: errors to `dest`, and with `verbose` info messages to stdout.
pub fn init(dest: &str, verbose: bool) -> io::Result<()> {
    let sink: Box<dyn Write + Send> = match dest {
        "stderr" => Box::new(io::stderr()),
        "stdout" => Box::new(io::stdout()),
        "" => Box::new(io::sink()),
        path => Box::new(RotatingFile::open(Path::new(path), Rotation::standard())?),
    };
    let writer = SharedWriter(Arc::new(Mutex::new(sink)));
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .with_ansi(false)
        .with_target(false);
    let layer = if to_terminal(dest) {
        layer.event_format(PersonFormat).boxed()
    } else {
        layer.boxed()
    };
    let errors = layer
        .with_filter(LevelFilter::ERROR)
        // Only photobak's own errors: a dependency's internal complaint (a metadata parser
        // giving up on a truncated file) is not a failure that could lose data.
        .with_filter(tracing_subscriber::filter::filter_fn(|m| {
            m.target().starts_with("photobak")
        }));
    let info = verbose.then(|| {
        tracing_subscriber::fmt::layer()
            .with_writer(io::stdout)
            .with_ansi(false)
            .with_target(false)
            .without_time()
            .with_level(false)
            .with_filter(tracing_subscriber::filter::filter_fn(|m| {
                m.target().starts_with("photobak")
                    && (*m.level() == tracing::Level::INFO || *m.level() == tracing::Level::WARN)
            }))
    });
    // Both layers take photobak's own messages only, at INFO and above; saying so once for the
    // whole subscriber lets every other callsite be switched off when it is first seen. Without
    // it a dependency's `#[instrument]` span was created and closed at each call: the EXIF
    // parser makes one per tag, a tenth of the CPU of a large Takeout import.
    let only_ours =
        tracing_subscriber::filter::Targets::new().with_target("photobak", tracing::Level::INFO);
    tracing_subscriber::registry()
        .with(errors)
        .with(info)
        .with(only_ours)
        .try_init()
        .map_err(io::Error::other)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotates_by_size_and_keeps_at_most_n() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("photobak.log");
        let rot = Rotation {
            max_bytes: 100,
            keep: 3,
            max_age: Duration::from_secs(3600),
        };
        let mut f = RotatingFile::open(&p, rot).unwrap();
        for i in 0..50 {
            writeln!(f, "error line number {i:04} ......").unwrap();
        }
        f.flush().unwrap();
        assert!(fs::metadata(&p).unwrap().len() <= 100);
        for n in 1..=3 {
            let r = t.path().join(format!("photobak.log.{n}"));
            assert!(r.exists(), "{n}");
            assert!(fs::metadata(&r).unwrap().len() <= 100);
        }
        assert!(!t.path().join("photobak.log.4").exists());
        let last = fs::read_to_string(&p).unwrap();
        assert!(last.contains("0049"));
    }

    #[test]
    fn deletes_rotated_files_older_than_max_age() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("x.log");
        let old = t.path().join("x.log.2");
        fs::write(&old, "old").unwrap();
        let f = File::options().write(true).open(&old).unwrap();
        f.set_modified(SystemTime::now() - Duration::from_secs(100 * 24 * 3600))
            .unwrap();
        drop(f);
        let _ = RotatingFile::open(&p, Rotation::standard()).unwrap();
        assert!(!old.exists());
    }
}
