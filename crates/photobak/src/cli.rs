//! The command line, as clap sees it after [`crate::gocompat::go_compat`].

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// The repository when `--repo` is not given.
pub const DEFAULT_REPO: &str = "./photos_backup";

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
        default_value = DEFAULT_REPO,
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
    /// Import from another source into the repository (merged, de-duplicated, incremental)
    #[command(subcommand)]
    Import(ImportCommand),
    /// Download items you choose on Google's Picker page (any item of the library): shows a link
    /// and a QR code to open on a phone, waits for the picking, stores what was picked
    Pick(PickArgs),
    /// The imported Takeout exports: list them, mark one full or incremental
    #[command(subcommand)]
    Exports(ExportsCommand),
    /// Remove from the repository what disappeared at the source (destructive: plans first,
    /// refuses incomplete listings and mass deletions, keeps removed files in a trash)
    Prune(PruneArgs),
    /// Re-hash every stored file and check the repository's structure; --repair fixes what it can
    Verify(VerifyArgs),
    /// What the archive holds per account and source, recent runs, failures, credentials
    Status(StatusArgs),
    /// One line per stored item (JSON Lines with --json)
    List(ListArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell)
    Completions(CompletionsArgs),
    /// Print the manual page (roff) to stdout
    Man,
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

/// `photobak pick`.
#[derive(Debug, Args)]
pub struct PickArgs {
    /// The Google account to pick from (authorised with `photobak auth`); default: the
    /// repository's only authorised account
    #[arg(long = "googlephotos", value_name = "ADDRESS")]
    pub account: Option<String>,

    /// The most items the user may pick in this session (1-2000; default: Google's limit)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=2000))]
    pub max_items: Option<u64>,

    /// Resume a session after Ctrl-C or a crash instead of creating one (its id is printed
    /// when it is created)
    #[arg(long, value_name = "ID")]
    pub session: Option<String>,

    /// Print the session, then the summary, as JSON lines on stdout (for scripts)
    #[arg(long)]
    pub json: bool,
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

    /// Ask for read-only access to Google Drive instead (a consent of its own, stored beside
    /// the Photos one), for `import takeout --from-drive`
    #[arg(long)]
    pub drive: bool,
}

/// `photobak import …`.
#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Import a Google Takeout export of Google Photos: every part of one export (.zip,
    /// .tgz/.tar.gz, or extracted folders) in one call, an inbox folder that parts are
    /// downloaded into (every complete export in it, oldest first; with --every it keeps
    /// watching), or with --from-drive every export Takeout delivered to Google Drive. Each
    /// newer export merges into the same repository; importing the same export again only
    /// restores files that are missing or that verify found damaged
    Takeout(TakeoutArgs),
}

/// `photobak import takeout`.
#[derive(Debug, Args)]
pub struct TakeoutArgs {
    /// The parts of one export (takeout-…-001.zip takeout-…-002.zip …), or inbox folders: a
    /// folder whose top level holds files named like Takeout parts is an inbox; a folder
    /// without any (an extracted export) is one part
    #[arg(
        required_unless_present = "from_drive",
        conflicts_with = "from_drive",
        value_name = "PATH"
    )]
    pub parts: Vec<std::path::PathBuf>,

    /// Fetch the exports Google Takeout delivered to Google Drive and import each one not
    /// imported yet, then delete the local copies (nothing in Drive is changed). Needs
    /// `photobak auth --googlephotos ADDRESS --drive` once
    #[arg(long)]
    pub from_drive: bool,

    /// The Drive folder Takeout delivers into [default: Takeout]
    #[arg(long, value_name = "NAME", requires = "from_drive")]
    pub drive_folder: Option<String>,

    /// The account to merge into (default: the address found in the export, else a name derived
    /// from the export); use the same address as for `backup` to merge with API backups. With
    /// --from-drive: the account whose Drive is read and merged into (default: every account
    /// with a Drive consent)
    #[arg(long, visible_alias = "googlephotos", value_name = "ADDRESS")]
    pub account: Option<String>,

    /// Also import what is in the export's Trash (marked as trashed)
    #[arg(long)]
    pub include_trash: bool,

    /// Write a FILE.xmp sidecar next to each stored file (capture time with offset, GPS,
    /// description, favourite as rating, people as keywords)
    #[arg(long)]
    pub xmp: bool,

    /// Leave file modification times alone (default: set them to the capture time)
    #[arg(long)]
    pub no_mtime: bool,

    /// This is a full export (the whole library when it was made, such as the first export of
    /// a schedule): items seen before it and absent from it count as deleted for `prune`
    #[arg(long, conflicts_with_all = ["incremental", "from_drive"])]
    pub full: bool,

    /// This is an incremental export (only what was added or edited since the previous one):
    /// what it lacks says nothing. Default unless it holds nearly every item seen before
    #[arg(long, conflicts_with = "from_drive")]
    pub incremental: bool,

    /// Inbox or --from-drive: run again at this interval (e.g. 1h, 1d), first run at once,
    /// importing every export that arrived; the repository is unlocked between runs
    #[arg(long, value_name = "DURATION", value_parser = parse_interval)]
    pub every: Option<std::time::Duration>,

    /// Inbox: delete an export's parts once it imported with no failed entry and the stored
    /// files of its items re-hash clean (--from-drive always deletes its local copies)
    #[arg(long, conflicts_with = "from_drive")]
    pub remove_imported: bool,

    /// Read the parts even when they are recorded as imported and unchanged (a rerun of the
    /// same parts with the same options otherwise reads nothing): to restore stored files
    /// deleted by hand, which only `verify` would tell the index about. Inbox: read every
    /// complete export again
    #[arg(long, conflicts_with = "from_drive")]
    pub reread: bool,

    /// Print the report as JSON
    #[arg(long)]
    pub json: bool,
}

/// `photobak exports …`.
#[derive(Debug, Subcommand)]
pub enum ExportsCommand {
    /// List the imported Takeout exports of each account: full or incremental, who decided and
    /// why, and which one prune compares with
    List(ExportsListArgs),
    /// Say whether an imported export is full or incremental (prune compares Takeout items
    /// only with the newest full export)
    Mark(ExportsMarkArgs),
}

/// `photobak exports list`.
#[derive(Debug, Args)]
pub struct ExportsListArgs {
    /// Only this account
    #[arg(long, visible_alias = "googlephotos", value_name = "ADDRESS")]
    pub account: Option<String>,

    /// Print as JSON
    #[arg(long)]
    pub json: bool,
}

/// `photobak exports mark`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("kind").required(true).args(["full", "incremental"])))]
pub struct ExportsMarkArgs {
    /// The export id, as `photobak exports list` shows it (takeout-20260801T101010Z)
    #[arg(value_name = "EXPORT")]
    pub export: String,

    /// The account the export was imported into (needed when the repository has several)
    #[arg(long, visible_alias = "googlephotos", value_name = "ADDRESS")]
    pub account: Option<String>,

    /// It is a full export: what it lacks was deleted before it was made
    #[arg(long)]
    pub full: bool,

    /// It is an incremental export: what it lacks says nothing
    #[arg(long)]
    pub incremental: bool,
}

/// `photobak prune`.
#[derive(Debug, Args)]
pub struct PruneArgs {
    /// An account to prune (repeatable); default: every account in the repository
    #[arg(
        long = "googlephotos",
        visible_alias = "account",
        value_name = "ADDRESS"
    )]
    pub accounts: Vec<String>,

    /// Print the plan and stop; nothing is changed
    #[arg(long, short = 'n')]
    pub dry_run: bool,

    /// Refuse to remove more items than this per account: a number (50) or a percentage of the
    /// account's items (25%)
    #[arg(long, value_name = "N|PERCENT%", default_value = "10%", value_parser = parse_max_delete)]
    pub max_delete: photobak_core::prune::MaxDelete,

    /// Carry out a plan that removes more than --max-delete
    #[arg(long)]
    pub force: bool,

    /// Days removed files stay in .photobak/trash before a later prune empties it
    #[arg(long, value_name = "DAYS", default_value_t = 30)]
    pub trash_days: u32,

    /// Delete removed files at once instead of moving them to the trash
    #[arg(long)]
    pub purge: bool,

    /// Print the plan (and the outcome) as JSON
    #[arg(long)]
    pub json: bool,

    /// Accepted from old command lines (`-prune -concurrency 5`) and ignored
    #[arg(long, hide = true, value_name = "N")]
    pub concurrency: Option<u16>,

    /// Accepted from old command lines and ignored
    #[arg(long, hide = true)]
    pub everything: bool,

    /// Accepted from old command lines and ignored
    #[arg(long, hide = true)]
    pub integrity: bool,
}

/// `photobak verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Fetch missing or corrupted files again where a source can provide them, rewrite
    /// others.txt files, remove temporary leftovers
    #[arg(long)]
    pub repair: bool,

    /// Re-hash only this percentage of the files, chosen at random (e.g. 5)
    #[arg(long, value_name = "PERCENT", value_parser = parse_percent)]
    pub sample: Option<f64>,

    /// Re-hash only files not verified within this long (e.g. 30d)
    #[arg(long, value_name = "DURATION", value_parser = parse_interval)]
    pub since: Option<std::time::Duration>,

    /// Hashing threads (at least 2)
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,

    /// Print the report as JSON
    #[arg(long)]
    pub json: bool,
}

/// `photobak status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print as JSON
    #[arg(long)]
    pub json: bool,
}

/// `photobak list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only items of this account
    #[arg(long, visible_alias = "googlephotos", value_name = "ADDRESS")]
    pub account: Option<String>,

    /// Only items in the album with this title
    #[arg(long, value_name = "TITLE")]
    pub album: Option<String>,

    /// One JSON object per line
    #[arg(long)]
    pub json: bool,
}

/// `photobak completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

fn parse_max_delete(s: &str) -> Result<photobak_core::prune::MaxDelete, String> {
    s.parse()
}

fn parse_percent(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .trim_end_matches('%')
        .parse()
        .map_err(|_| format!("{s:?}: expected a percentage such as 5"))?;
    if !(v > 0.0 && v <= 100.0) {
        return Err(format!(
            "{s:?}: the percentage must be above 0 and at most 100"
        ));
    }
    Ok(v)
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
