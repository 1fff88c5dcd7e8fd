//! The `photobak` binary: old Go-style flags rewritten, clap parses, the core runs, we print.
//!
//! Exit codes (the table lives in [`exit`], the README repeats it):
//! 0 success; 1 the run did not do all of its work (an item, an account or a listing failed, a
//! prune was refused, verify found damage, a disk or network error); 2 usage (a flag, argument
//! or path on the command line is wrong); 3 the repository is in use by another photobak; 4
//! `--repo` is not a photobak repository; 5 configuration (no Google OAuth client, an account
//! never authorised); 70 internal error (a bug, such as a panicked task); 130 interrupted by
//! Ctrl-C or SIGTERM.
//!
//! Errors reach a person as `error: WHAT` and `hint: WHAT TO DO` on stderr. A failed command
//! leaves nothing behind: read-only commands never create a repository, and a repository this
//! run created is removed again when the run fails before storing anything in it.

mod cli;
mod commands;
mod exit;
mod gocompat;
mod logging;
mod progress;

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use tokio_util::sync::CancellationToken;

use cli::{Cli, Command};
use exit::Exit;

/// jemalloc, returning freed pages to the system within 100 ms (`.cargo/config.toml` sets
/// `dirty_decay_ms:100,muzzy_decay_ms:0` when it is built). A large Takeout import frees much
/// at its pass boundaries (the zip listings when the scan ends, the sidecars as the record pass
/// records them) and then allocates on other threads. glibc's malloc kept those pages in the
/// arena of the thread that freed them, returned only from a heap's top: the first import of
/// 100,000 items peaked between 122 and 159 MiB of resident memory for 88 MB of live heap,
/// varying with which thread got which arena. jemalloc with its default 10 s decay held more
/// (144 MiB); with the short decay 103-105 MiB on the same code, with no more CPU
/// (BENCHMARKS.md, session 9). Its size classes also keep a long-lived small allocation from
/// pinning a large freed one, which glibc's heap did when the scan interleaved them.
#[cfg(all(feature = "jemalloc", not(target_env = "msvc")))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let args = gocompat::go_compat(std::env::args().collect());
    if let Some(word) = gocompat::unknown_single_dash(&args) {
        eprintln!("error: unexpected argument '{word}' found");
        eprintln!(
            "hint: photobak takes --long flags (and the original's single-dash ones, such as \
             -googlephotos, -repo, -every); `photobak --help` lists them"
        );
        return ExitCode::from(Exit::Usage.code());
    }
    let cli = Cli::parse_from(args);
    if let Err(e) = logging::init(&cli.log, cli.verbose) {
        eprintln!("error: cannot open the log file {:?}: {e}", cli.log);
        eprintln!("hint: --log takes stderr, stdout, \"\" or a file photobak may write");
        return ExitCode::from(Exit::Usage.code());
    }
    install_panic_hook();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start: {e}");
            return ExitCode::from(Exit::Failure.code());
        }
    };
    let fresh = FreshRepo::before(&cli);
    let cancel = CancellationToken::new();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        runtime.block_on(async {
            spawn_signal_handler(cancel.clone());
            run(&cli, cancel.clone()).await
        })
    }));
    // A blocking task still hashing or reading after an interruption must not hold the exit.
    runtime.shutdown_timeout(Duration::from_secs(2));
    let exit = match outcome {
        // The panic hook has already said what happened.
        Err(_) => Exit::Internal,
        Ok(_) if cancel.is_cancelled() => {
            eprintln!(
                "interrupted: what was stored so far is kept; run the same command again to finish"
            );
            Exit::Interrupted
        }
        Ok(Ok(true)) => Exit::Success,
        Ok(Ok(false)) => Exit::Failure,
        Ok(Err(e)) => {
            report(&cli, &e);
            exit::exit_of(&e)
        }
    };
    if exit != Exit::Success {
        fresh.remove_if_unused();
    }
    ExitCode::from(exit.code())
}

/// Prints an error for a person, and logs it when the log is a file.
fn report(cli: &Cli, e: &anyhow::Error) {
    let msg = format!("{e:#}");
    if !logging::to_terminal(&cli.log) {
        tracing::error!("{msg}");
    }
    eprintln!("error: {msg}");
    if let Some(h) = exit::hint_of(e, &cli.repo) {
        eprintln!("hint: {h}");
    }
}

async fn run(cli: &Cli, cancel: CancellationToken) -> anyhow::Result<bool> {
    match &cli.command {
        Command::Backup(args) => commands::backup::run(&cli.repo, args, cancel).await,
        Command::Auth(args) => commands::auth::run(&cli.repo, args, cancel)
            .await
            .map(|()| true),
        Command::Import(cli::ImportCommand::Takeout(args)) => {
            commands::import::run(&cli.repo, args, cancel).await
        }
        Command::Exports(cli::ExportsCommand::List(args)) => {
            commands::exports::list(&cli.repo, args)
        }
        Command::Exports(cli::ExportsCommand::Mark(args)) => {
            commands::exports::mark(&cli.repo, args)
        }
        Command::Pick(args) => commands::pick::run(&cli.repo, args, cancel).await,
        Command::Prune(args) => commands::prune::run(&cli.repo, args, cancel).await,
        Command::Verify(args) => commands::verify::run(&cli.repo, args, cancel).await,
        Command::Status(args) => commands::status::run(&cli.repo, args),
        Command::List(args) => commands::list::run(&cli.repo, args),
        Command::Completions(args) => commands::completions::completions(args).map(|()| true),
        Command::Man => commands::completions::man().map(|()| true),
    }
}

/// A panic is a bug: say so in the same form as every other error (the default hook's "thread
/// 'main' panicked at" reads like a crash report, not like advice).
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic".into());
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        tracing::error!("internal error: {what}{at}");
        eprintln!("error: internal error: {what}{at}");
        eprintln!(
            "hint: this is a bug in photobak; please report it with the command line. Nothing \
             half-written was recorded, so running again is safe"
        );
    }));
}

/// A repository this run is about to create, so that a failure can take it back.
struct FreshRepo<'a> {
    root: &'a Path,
    /// The folder did not exist before the run (so it may go as a whole).
    folder_is_new: bool,
    /// The command may create a repository and there was none.
    applies: bool,
}

impl<'a> FreshRepo<'a> {
    fn before(cli: &'a Cli) -> FreshRepo<'a> {
        let creates = matches!(
            cli.command,
            Command::Backup(_) | Command::Auth(_) | Command::Import(_)
        );
        FreshRepo {
            root: &cli.repo,
            folder_is_new: !cli.repo.exists(),
            applies: creates && !photobak_core::repo::is_repository(&cli.repo),
        }
    }

    /// Removes the repository this run created when it holds no account and no file: a failed
    /// command leaves nothing behind. Only photobak's own files go, and folders only when
    /// empty, so nothing a person put there can be lost.
    fn remove_if_unused(&self) {
        if !self.applies || !photobak_core::repo::is_repository(self.root) {
            return;
        }
        let db = self.root.join(photobak_core::index::INDEX_FILE);
        let unused = photobak_core::index::Index::open(&db)
            .and_then(|i| i.holds_nothing())
            .unwrap_or(false);
        if !unused {
            return;
        }
        let name = photobak_core::index::INDEX_FILE;
        for f in [
            name.to_string(),
            format!("{name}-wal"),
            format!("{name}-shm"),
            format!("{name}-journal"),
            photobak_core::manifest::MANIFEST_FILE.to_string(),
        ] {
            let _ = std::fs::remove_file(self.root.join(f));
        }
        let work = self.root.join(photobak_core::repo::WORK_DIR);
        let _ = std::fs::remove_file(work.join("lock"));
        for d in ["tmp", "trash"] {
            let _ = std::fs::remove_dir(work.join(d));
        }
        let _ = std::fs::remove_dir(&work);
        let _ = std::fs::remove_dir(self.root.join("googlephotos"));
        if self.folder_is_new {
            let _ = std::fs::remove_dir(self.root);
        }
    }
}

/// The first SIGINT or SIGTERM cancels the run: every long wait (the browser, a 429 pause, a
/// download, the `--every` sleep, hashing) watches the token and ends at once, and the
/// command unwinds through its normal cleanup. A second signal exits at once: every write is
/// staged and renamed, so even that leaves nothing half-stored.
fn spawn_signal_handler(cancel: CancellationToken) {
    tokio::spawn(async move {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let (Ok(mut int), Ok(mut term)) = (
                signal(SignalKind::interrupt()),
                signal(SignalKind::terminate()),
            ) else {
                return;
            };
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            cancel.cancel();
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            cancel.cancel();
            let _ = tokio::signal::ctrl_c().await;
        }
        eprintln!("interrupted twice: stopping now");
        std::process::exit(i32::from(Exit::Interrupted.code()));
    });
}
