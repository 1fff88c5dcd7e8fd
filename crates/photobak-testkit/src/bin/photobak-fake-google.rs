//! `photobak-fake-google`: the fake Google service as a stand-alone program, for manual testing
//! of photobak and for tests written in other languages.
//!
//! It generates a library per account, prints `listening on http://127.0.0.1:PORT` as its first
//! stdout line (flushed, so a parent process can wait for it), then serves until SIGTERM or
//! SIGINT. Everything else is driven through the `/_fake/` control interface.

use std::io::Write as _;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, ValueEnum};
use photobak_testkit::fake_google::{FakeConfig, FakeGoogle, Faults, GenerateSpec, Sizes};

#[derive(Clone, Copy, Debug, ValueEnum)]
enum SizesArg {
    Tiny,
    Realistic,
}

/// A local fake of Google OAuth, the Photos Library and Picker APIs and their media hosts.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Port on 127.0.0.1 (0 picks a free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Media items generated per account.
    #[arg(long, default_value_t = 50)]
    items: usize,
    /// Albums generated per account.
    #[arg(long, default_value_t = 5)]
    albums: usize,
    /// Seed of the generated libraries, ids, tokens and fault decisions.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Account to create (repeatable); each gets its own library.
    #[arg(long = "account", value_name = "ADDR")]
    accounts: Vec<String>,
    /// Size of generated media.
    #[arg(long, value_enum, default_value = "tiny")]
    sizes: SizesArg,
    /// Number of videos per account (default about 5 % of the items).
    #[arg(long)]
    videos: Option<usize>,
    /// Lifetime of baseUrls in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 3600)]
    base_url_ttl: u64,
    /// `expires_in` of access tokens in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 3599)]
    token_lifetime: u64,
    /// Refresh tokens stop working after this many seconds (like Google's 7-day limit for
    /// apps in "Testing" status).
    #[arg(long, value_name = "SECS")]
    refresh_token_lifetime: Option<u64>,
    /// Required OAuth client id (default: accept any).
    #[arg(long)]
    client_id: Option<String>,
    /// Required OAuth client secret (default: accept any).
    #[arg(long)]
    client_secret: Option<String>,
    /// Lifetime of Picker API sessions in seconds (`expireTime`).
    #[arg(long, value_name = "SECS", default_value_t = 86400)]
    picker_session_ttl: u64,
    /// `pollingConfig.timeoutIn` of new Picker API sessions in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 1800)]
    picker_poll_timeout: u64,
    /// Initial fault switches as JSON, e.g. '{"api_5xx_rate":0.1,"max_faults":20}'.
    #[arg(long, value_name = "JSON")]
    faults: Option<String>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let faults: Option<Faults> = args
        .faults
        .as_deref()
        .map(serde_json::from_str)
        .transpose()
        .context("parsing --faults")?;
    let fake = FakeGoogle::start(FakeConfig {
        port: args.port,
        seed: args.seed,
        base_url_ttl: Duration::from_secs(args.base_url_ttl),
        access_token_lifetime: Duration::from_secs(args.token_lifetime),
        client_id: args.client_id,
        client_secret: args.client_secret,
        refresh_token_lifetime: args.refresh_token_lifetime.map(Duration::from_secs),
        picker_session_ttl: Duration::from_secs(args.picker_session_ttl),
        picker_poll_timeout: Duration::from_secs(args.picker_poll_timeout),
    })?;
    let accounts = if args.accounts.is_empty() {
        vec!["demo@example.com".to_owned()]
    } else {
        args.accounts
    };
    for (i, account) in accounts.iter().enumerate() {
        fake.generate(
            account,
            &GenerateSpec {
                items: args.items,
                albums: args.albums,
                // Each account gets its own library.
                seed: args.seed.wrapping_add(i as u64),
                sizes: match args.sizes {
                    SizesArg::Tiny => Sizes::Tiny,
                    SizesArg::Realistic => Sizes::Realistic,
                },
                videos: args.videos,
            },
        );
    }
    if let Some(f) = faults {
        fake.set_faults(f);
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "listening on {}", fake.url())?;
    out.flush()?;
    drop(out);

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(wait_for_signal())?;
    drop(fake);
    Ok(())
}

/// SIGTERM or SIGINT (Ctrl-C elsewhere than Unix).
#[cfg(unix)]
async fn wait_for_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    Ok(())
}

/// SIGTERM or SIGINT (Ctrl-C elsewhere than Unix).
#[cfg(not(unix))]
async fn wait_for_signal() -> anyhow::Result<()> {
    tokio::signal::ctrl_c().await?;
    Ok(())
}
