//! The `photobak` binary: old Go-style flags rewritten, clap parses, the core runs, we print.
//!
//! Exit codes: 0 success; 1 the run finished but something failed (an item, an account, a
//! listing); 2 bad usage or configuration (clap's own code for usage errors); 3 the repository is
//! in use by another photobak; 130 interrupted by SIGINT/SIGTERM.

mod cli;
mod commands;
mod gocompat;
mod logging;
mod progress;

use std::process::ExitCode;

use clap::Parser;
use tokio_util::sync::CancellationToken;

use cli::{Cli, Command};

fn main() -> ExitCode {
    let args = gocompat::go_compat(std::env::args().collect());
    let cli = Cli::parse_from(args);
    if let Err(e) = logging::init(&cli.log, cli.verbose) {
        eprintln!("photobak: cannot open log {:?}: {e}", cli.log);
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("photobak: cannot start: {e}");
            return ExitCode::from(2);
        }
    };
    let cancel = CancellationToken::new();
    let result = runtime.block_on(async {
        spawn_signal_handler(cancel.clone());
        run(&cli, cancel.clone()).await
    });
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) if cancel.is_cancelled() => ExitCode::from(130),
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            let code = exit_code_of(&e);
            let msg = format!("{e:#}");
            tracing::error!("{msg}");
            if cli.log != "stderr" {
                eprintln!("photobak: {msg}");
            }
            ExitCode::from(code)
        }
    }
}

async fn run(cli: &Cli, cancel: CancellationToken) -> anyhow::Result<bool> {
    match &cli.command {
        Command::Backup(args) => commands::backup::run(&cli.repo, args, cancel).await,
        Command::Auth(args) => commands::auth::run(&cli.repo, args).await.map(|()| true),
        Command::Import(cli::ImportCommand::Takeout(args)) => {
            commands::import::run(&cli.repo, args, cancel).await
        }
        Command::Exports(cli::ExportsCommand::List(args)) => {
            commands::exports::list(&cli.repo, args)
        }
        Command::Exports(cli::ExportsCommand::Mark(args)) => {
            commands::exports::mark(&cli.repo, args)
        }
        Command::Prune(args) => commands::prune::run(&cli.repo, args, cancel).await,
        Command::Verify(args) => commands::verify::run(&cli.repo, args, cancel).await,
        Command::Status(args) => commands::status::run(&cli.repo, args),
        Command::List(args) => commands::list::run(&cli.repo, args),
        Command::Completions(args) => commands::completions::completions(args).map(|()| true),
        Command::Man => commands::completions::man().map(|()| true),
    }
}

fn exit_code_of(e: &anyhow::Error) -> u8 {
    match e.downcast_ref::<photobak_core::Error>() {
        Some(photobak_core::Error::Locked(_)) => 3,
        Some(photobak_core::Error::Cancelled) => 130,
        Some(photobak_core::Error::Invalid(_)) => 2,
        _ => 1,
    }
}

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
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        cancel.cancel();
    });
}
