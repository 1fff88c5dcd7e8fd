//! The command line, as clap sees it after [`crate::gocompat::go_compat`].

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// photobak keeps a complete, verified, de-duplicated local copy of your Google Photos library.
///
/// It never writes to the cloud. Run it on a schedule and it stays current; run it twice and
/// nothing changes. Old single-dash command lines (`photobak -googlephotos you@gmail.com -every
/// 1d`) still work.
#[derive(Debug, Parser)]
#[command(
    name = "photobak",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// The repository folder (created 0700 when missing)
    #[arg(
        long,
        global = true,
        default_value = "./photos_backup",
        value_name = "DIR"
    )]
    pub repo: PathBuf,

    /// Where errors are logged: stderr, stdout, a file (rotated at 100 MB, 10 kept, 90 days), or
    /// "" to discard. Only errors are logged: failures that could lose data if the backup were
    /// needed now
    #[arg(
        long,
        global = true,
        default_value = "stderr",
        value_name = "stderr|stdout|FILE"
    )]
    pub log: String,

    /// Also print informational messages on stdout (for interactive use)
    #[arg(short, long, global = true)]
    pub verbose: bool,

    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Back up Google Photos accounts through the Library API (additive: never deletes)
    Backup(BackupArgs),
    /// Authorise accounts and store their credentials in the repository, then exit (copy the
    /// repository to a headless server afterwards)
    Auth(AuthArgs),
}

/// `photobak backup`.
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// A Google account to back up (repeatable); default: every account in the repository
    #[arg(long = "googlephotos", value_name = "ADDRESS")]
    pub accounts: Vec<String>,

    /// Downloads in flight, across all accounts
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,

    /// Run again at this interval (e.g. 30m, 12h, 1d), first run at once; the repository is
    /// unlocked between runs
    #[arg(long, value_name = "DURATION", value_parser = parse_interval)]
    pub every: Option<std::time::Duration>,

    /// Stop after this many albums per account (for testing)
    #[arg(long, value_name = "N")]
    pub max_albums: Option<usize>,

    /// Stop after this many items per account (for testing)
    #[arg(long, value_name = "N")]
    pub max_photos: Option<usize>,

    /// Re-hash every known file and re-download missing or damaged ones (slower)
    #[arg(long)]
    pub integrity: bool,

    /// Also keep the raw API answer of every item and album in the index
    #[arg(long)]
    pub everything: bool,
}

/// `photobak auth`.
#[derive(Debug, Args)]
pub struct AuthArgs {
    /// The Google account to authorise (repeatable)
    #[arg(long = "googlephotos", value_name = "ADDRESS", required = true)]
    pub accounts: Vec<String>,

    /// Print the authorisation URL but do not open a browser
    #[arg(long)]
    pub no_browser: bool,

    /// How long to wait for the browser's answer
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_interval)]
    pub timeout: std::time::Duration,
}

/// Parses `1d`, `12h`, `90m`, `1h30m`… (zero is refused).
pub fn parse_interval(s: &str) -> Result<std::time::Duration, String> {
    let d = humantime::parse_duration(s.trim()).map_err(|e| format!("{s:?}: {e}"))?;
    if d.is_zero() {
        return Err(format!("{s:?}: the interval must be longer than zero"));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_parse_like_the_original_and_more() {
        assert_eq!(parse_interval("1d").unwrap().as_secs(), 86_400);
        assert_eq!(parse_interval("90m").unwrap().as_secs(), 5_400);
        assert_eq!(parse_interval("1h30m").unwrap().as_secs(), 5_400);
        assert!(parse_interval("0s").is_err());
        assert!(parse_interval("soon").is_err());
    }

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
