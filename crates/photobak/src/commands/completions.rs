//! `photobak completions SHELL` and `photobak man`, generated from the CLI definition.

use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs};

/// Prints the completion script of a shell.
pub fn completions(args: &CompletionsArgs) -> anyhow::Result<()> {
    let mut cmd = Cli::command();
    clap_complete::generate(args.shell, &mut cmd, "photobak", &mut std::io::stdout());
    Ok(())
}

/// Prints the manual page in roff (`photobak man > photobak.1`).
pub fn man() -> anyhow::Result<()> {
    match clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout()) {
        // `photobak man | head` closes the pipe early; that is not an error.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}
