//! `photobak pick`: the Picker page's link and QR code, the wait, then the engine's report.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::{Arc, Mutex};

use photobak_core::engine::{Engine, EngineOptions, Finishing};
use photobak_core::google::PROVIDER;
use photobak_core::pick::{PickEvents, PickOptions, SessionInfo, pick};
use photobak_core::repo::Repo;
use tokio_util::sync::CancellationToken;

use crate::cli::PickArgs;
use crate::exit::{CliError, Exit, command_prefix};

/// Runs one pick. Returns true when every picked item was handled.
pub async fn run(
    repo_path: &Path,
    args: &PickArgs,
    cancel: CancellationToken,
) -> anyhow::Result<bool> {
    let google = super::google_access()?;
    let repo = Arc::new(Repo::open_existing(repo_path)?);
    let account = account_to_pick(&repo, repo_path, args)?;
    let progress = crate::progress::for_terminal(args.json, "waiting for the picking");
    let engine = Engine::new(
        repo.clone(),
        EngineOptions {
            // The Picker keeps the file's EXIF (all but the location): its capture time, with
            // its offset, is better than the API's.
            finishing: Finishing {
                time_from_file: true,
                ..Finishing::default()
            },
            ..EngineOptions::default()
        },
        progress,
        cancel.clone(),
    )?;
    let events = Shown {
        json: args.json,
        account: account.clone(),
        cmd: command_prefix(repo_path),
        session: Mutex::new(args.session.clone()),
    };
    let opts = PickOptions {
        account,
        max_items: args.max_items,
        session: args.session.clone(),
    };
    let report = match pick(&engine, &google, &opts, &events).await {
        Ok(r) => r,
        Err(e) => {
            // Whatever stopped the run (Ctrl-C, the quota, the network), the session is kept
            // and can be finished; only a session that is gone cannot.
            if !matches!(e, photobak_core::Error::PickerSession { .. })
                && let Some(id) = events
                    .session
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .clone()
            {
                crate::progress::suspended(|| {
                    eprintln!(
                        "the Picker session is kept: resume it with `{} pick --googlephotos {} --session {id}`",
                        events.cmd, opts.account
                    );
                });
            }
            return Err(e.into());
        }
    };
    engine.finish().await?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!("{}", super::summary::render(&report.run));
    }
    if !report.session_deleted {
        // On stderr, so `--json` output stays one document per line.
        eprintln!(
            "the Picker session is kept: run `{} pick --googlephotos {} --session {}` to finish it",
            events.cmd, opts.account, report.session.id
        );
    }
    Ok(report.ok())
}

/// The named account, or the repository's only authorised one.
fn account_to_pick(repo: &Repo, repo_path: &Path, args: &PickArgs) -> anyhow::Result<String> {
    if let Some(a) = &args.account {
        return Ok(a.clone());
    }
    let authorised: Vec<String> = repo
        .index
        .accounts()?
        .into_iter()
        .filter(|a| a.provider == PROVIDER && a.credentials.is_some())
        .map(|a| a.name)
        .collect();
    let cmd = command_prefix(repo_path);
    match &authorised[..] {
        [one] => Ok(one.clone()),
        [] => Err(CliError::new(
            Exit::Config,
            format!("{} holds no authorised account", repo_path.display()),
        )
        .hint(format!(
            "authorise one with `{cmd} auth --googlephotos ADDRESS`"
        ))
        .into()),
        many => Err(CliError::new(
            Exit::Usage,
            format!(
                "which account? {} holds several: {}",
                repo_path.display(),
                many.join(", ")
            ),
        )
        .hint(format!("name one: `{cmd} pick --googlephotos ADDRESS`"))
        .into()),
    }
}

/// What the person sees while the command works.
struct Shown {
    json: bool,
    account: String,
    cmd: String,
    /// The session id, for the resume hint after Ctrl-C.
    session: Mutex<Option<String>>,
}

impl PickEvents for Shown {
    fn session(&self, s: &SessionInfo) {
        *self.session.lock().unwrap_or_else(|p| p.into_inner()) = Some(s.id.clone());
        if self.json {
            // Scripts need the link before the picking can happen, so it comes first, alone.
            println!(
                "{}",
                serde_json::json!({"session": s.id, "picker_uri": s.picker_uri, "expires_at": s.expires_at, "resumed": s.resumed})
            );
            return;
        }
        let uri = s.picker_uri.as_deref().unwrap_or("(Google gave no link)");
        let until = s
            .expires_at
            .map(|t| format!(", open until {}", photobak_core::time::rfc3339(t)))
            .unwrap_or_default();
        crate::progress::suspended(|| {
            println!(
                "Open this page signed in as {}, pick the items, then press Done:",
                self.account
            );
            println!("  {uri}");
            if std::io::stdout().is_terminal()
                && let Some(qr) = qr_code(uri)
            {
                println!("{qr}");
            }
            println!(
                "Waiting for the picking (session {}{until}; Ctrl-C keeps it for `{} pick --session {}`)",
                s.id, self.cmd, s.id
            );
        });
    }

    fn picked(&self) {
        if !self.json {
            crate::progress::suspended(|| println!("Picked; storing the items."));
        }
    }
}

/// The link as a QR code in Unicode half blocks (two rows of modules per line), light on dark
/// inverted so it scans on the usual dark terminal; None when the link is too long to encode.
fn qr_code(uri: &str) -> Option<String> {
    use qrcode::render::unicode::Dense1x2;
    let code = qrcode::QrCode::new(uri.as_bytes()).ok()?;
    Some(
        code.render::<Dense1x2>()
            .dark_color(Dense1x2::Light)
            .light_color(Dense1x2::Dark)
            .quiet_zone(true)
            .build(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_qr_code_is_half_blocks_two_rows_a_line() {
        let qr = qr_code("https://photos.google.com/picker/3318c481-9aa1-471d-bd1c-05300c5910cf")
            .unwrap();
        let lines: Vec<&str> = qr.lines().collect();
        let width = lines[0].chars().count();
        // A QR code of version v has 17 + 4v modules a side, plus its 4-module quiet zone on
        // each side; two module rows per line.
        let modules = width - 8;
        assert!(modules > 21 && (modules - 17).is_multiple_of(4), "{width}");
        assert_eq!(lines.len(), width.div_ceil(2));
        assert!(lines.iter().all(|l| l.chars().count() == width));
        assert!(
            qr.chars()
                .all(|c| matches!(c, ' ' | '▀' | '▄' | '█' | '\n')),
            "{qr}"
        );
    }
}
