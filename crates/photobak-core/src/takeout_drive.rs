//! `import takeout --from-drive`: the Takeout exports Google delivers into a user's Drive,
//! fetched and imported with no hand work.
//!
//! One run, per account with a Drive consent: find the Drive folder (named `Takeout` unless the
//! user says otherwise), list the Takeout parts in it ([`crate::google::drive`]), remember each
//! in the index (`takeout_parts`, origin `drive`), group them by export, and for every export
//! not imported yet, oldest first: check that all its parts are there (numbers 1…N without a
//! gap, per naming segment), download them into the repository's temporary area (checking the
//! free disk space before each), import them through the same importer as a local export, mark
//! the parts imported, and delete the local copies. A rerun finds every part imported and
//! downloads nothing.
//!
//! Safety: an export is imported only when every part is downloaded and matches Drive's size
//! and MD5, so a missing or damaged part never becomes a half import. An export whose import
//! reports failed entries is not marked imported: the next run fetches and imports it again
//! (importing an export twice changes nothing that is already stored). Nothing in Drive is ever
//! written, moved or deleted. The local copies live in `.photobak/tmp`, which every run empties
//! first, so a crash leaves nothing behind either.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::error::{Error, IoContext, Result};
use crate::google::drive::{DriveClient, DrivePart};
use crate::google::http::Pacer;
use crate::google::oauth::{Token, TokenSource, TokenStore};
use crate::google::{GoogleAccess, PROVIDER};
use crate::index::DriveAccount;
use crate::progress::Progress;
use crate::repo::Repo;
use crate::summary::RunSummary;
use crate::takeout_import::{ImportOptions, import_takeout};
use crate::task::blocking;

/// The folder Takeout delivers into.
pub const DEFAULT_FOLDER: &str = "Takeout";

/// Free space kept beyond a part's size: room for the index and the first files the import
/// stores while the next part is not downloaded yet.
pub const SPACE_MARGIN: u64 = 100_000_000;

/// Testing aid: the free-space figure, in bytes, instead of the file system's.
pub const FREE_BYTES_ENV: &str = "PHOTOBAK_TEST_FREE_BYTES";

/// What `import takeout --from-drive` should do.
#[derive(Debug, Clone)]
pub struct DriveImportOptions {
    /// Only this account; default every account with a Drive consent.
    pub account: Option<String>,
    /// The Drive folder's name.
    pub folder: String,
    /// Import items from the exports' Trash too.
    pub include_trash: bool,
    /// Write `.xmp` sidecars.
    pub xmp: bool,
    /// Leave file modification times alone.
    pub no_mtime: bool,
}

impl Default for DriveImportOptions {
    fn default() -> Self {
        DriveImportOptions {
            account: None,
            folder: DEFAULT_FOLDER.to_string(),
            include_trash: false,
            xmp: false,
            no_mtime: false,
        }
    }
}

/// An export found in Drive and left for later.
#[derive(Debug, Clone, Serialize)]
pub struct Waiting {
    /// Export id.
    pub export_id: String,
    /// Why it was not imported.
    pub reason: String,
}

/// What one account's run did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DriveAccountSummary {
    /// The account.
    pub account: String,
    /// The folder name looked for.
    pub folder: String,
    /// Folders of that name found in Drive.
    pub folders_found: usize,
    /// Takeout parts listed.
    pub parts_listed: usize,
    /// Files in the folder left alone, with why (`name: why`).
    pub ignored: Vec<String>,
    /// Exports all of whose parts were imported before.
    pub already_imported: Vec<String>,
    /// Exports left for a later run (incomplete in Drive).
    pub waiting: Vec<Waiting>,
    /// Parts downloaded in this run.
    pub parts_downloaded: usize,
    /// Bytes downloaded in this run.
    pub bytes_downloaded: u64,
    /// The imports of this run, oldest export first.
    pub imports: Vec<RunSummary>,
}

impl DriveAccountSummary {
    /// True when every import of this run finished with no failed entry.
    pub fn ok(&self) -> bool {
        self.imports.iter().all(RunSummary::ok)
    }
}

/// Runs the Drive feed once for the chosen accounts.
///
/// # Errors
/// [`Error::Config`] when no account (or not the named one) has a Drive consent;
/// [`Error::NoSpace`] when a part cannot fit; credential, quota, network and I/O errors;
/// [`Error::Cancelled`].
pub async fn import_from_drive(
    repo: Arc<Repo>,
    google: &GoogleAccess,
    opts: &DriveImportOptions,
    progress: Arc<dyn Progress>,
    cancel: &CancellationToken,
) -> Result<Vec<DriveAccountSummary>> {
    let accounts = drive_accounts(&repo, opts.account.as_deref())?;
    let pacer = Arc::new(Pacer::new(cancel.clone()));
    let mut out = Vec::new();
    for account in accounts {
        let client = drive_client(&repo, google, &account, pacer.clone(), cancel)?;
        out.push(run_account(&repo, &client, &account, opts, &progress, cancel).await?);
    }
    Ok(out)
}

/// The accounts to read, each with its Drive consent: the named one, or every one that has it.
///
/// # Errors
/// [`Error::Config`] when there is none, saying how to give the consent.
pub fn drive_accounts(repo: &Repo, named: Option<&str>) -> Result<Vec<DriveAccount>> {
    let with_drive = repo.index.drive_accounts(PROVIDER)?;
    match named {
        Some(name) => match with_drive.into_iter().find(|a| a.name == name) {
            Some(a) => Ok(vec![a]),
            None => Err(Error::Config(format!(
                "{name} has not allowed photobak to read its Google Drive; run `photobak auth \
                 --googlephotos {name} --drive` once (it asks for read-only Drive access), then \
                 run this again"
            ))),
        },
        None if with_drive.is_empty() => Err(Error::Config(
            "no account has allowed photobak to read its Google Drive; run `photobak auth \
             --googlephotos ADDRESS --drive` once (it asks for read-only Drive access), then \
             run this again"
                .into(),
        )),
        None => Ok(with_drive),
    }
}

/// A Drive client on the account's Drive consent; refreshed tokens are saved back there.
fn drive_client(
    repo: &Arc<Repo>,
    google: &GoogleAccess,
    account: &DriveAccount,
    pacer: Arc<Pacer>,
    cancel: &CancellationToken,
) -> Result<DriveClient> {
    let token: Token =
        serde_json::from_str(&account.credentials).map_err(|e| Error::Credentials {
            account: account.name.clone(),
            message: format!(
                "the stored Google Drive consent is unreadable ({e}); run `photobak auth \
                 --googlephotos {} --drive`",
                account.name
            ),
        })?;
    struct DriveTokens(Arc<Repo>);
    impl TokenStore for DriveTokens {
        fn save(&self, account_id: i64, json: &str) -> Result<()> {
            self.0.index.set_drive_credentials(account_id, Some(json))
        }
    }
    let tokens = Arc::new(TokenSource::new(
        &account.name,
        account.id,
        token,
        google.http.clone(),
        google.endpoints.clone(),
        google.client.clone(),
        Arc::new(DriveTokens(repo.clone())),
    ));
    Ok(DriveClient::new(
        google.http.clone(),
        google.endpoints.clone(),
        tokens,
        google.policy.clone(),
        pacer,
        cancel.clone(),
    ))
}

async fn run_account(
    repo: &Arc<Repo>,
    client: &DriveClient,
    account: &DriveAccount,
    opts: &DriveImportOptions,
    progress: &Arc<dyn Progress>,
    cancel: &CancellationToken,
) -> Result<DriveAccountSummary> {
    let mut s = DriveAccountSummary {
        account: account.name.clone(),
        folder: opts.folder.clone(),
        ..DriveAccountSummary::default()
    };
    let folders = client.folders_named(&opts.folder).await?;
    s.folders_found = folders.len();
    let mut parts: Vec<DrivePart> = Vec::new();
    for f in &folders {
        let listing = client.takeout_parts(&f.id).await?;
        parts.extend(listing.parts);
        s.ignored.extend(
            listing
                .ignored
                .into_iter()
                .map(|(name, why)| format!("{name}: {why}")),
        );
    }
    s.parts_listed = parts.len();
    let records: Vec<_> = parts.iter().map(DrivePart::record).collect();
    let account_id = account.id;
    let index_repo = repo.clone();
    let imported =
        blocking(move || index_repo.index.drive_parts_seen(account_id, &records)).await?;

    let mut exports: BTreeMap<String, Vec<(DrivePart, bool)>> = BTreeMap::new();
    for (p, done) in parts.into_iter().zip(imported) {
        exports
            .entry(p.export_id.clone())
            .or_default()
            .push((p, done));
    }
    // Export ids carry the time Google made them: in id order is oldest first.
    for (export_id, mut parts) in exports {
        if parts.iter().all(|(_, done)| *done) {
            s.already_imported.push(export_id);
            continue;
        }
        parts.sort_by(|a, b| {
            (a.0.segment, a.0.number, &a.0.name).cmp(&(b.0.segment, b.0.number, &b.0.name))
        });
        let parts: Vec<DrivePart> = parts.into_iter().map(|(p, _)| p).collect();
        if let Err(reason) = complete(&parts) {
            tracing::info!("{}: {export_id}: {reason}", account.name);
            s.waiting.push(Waiting { export_id, reason });
            continue;
        }
        let summary = fetch_and_import(
            repo, client, account, opts, &parts, progress, cancel, &mut s,
        )
        .await?;
        s.imports.push(summary);
    }
    Ok(s)
}

/// Downloads every part of one export, imports it, records it and removes the local copies.
#[allow(clippy::too_many_arguments)]
async fn fetch_and_import(
    repo: &Arc<Repo>,
    client: &DriveClient,
    account: &DriveAccount,
    opts: &DriveImportOptions,
    parts: &[DrivePart],
    progress: &Arc<dyn Progress>,
    cancel: &CancellationToken,
    s: &mut DriveAccountSummary,
) -> Result<RunSummary> {
    let export_id = &parts[0].export_id;
    // A folder of its own, so the importer sees the parts under their own names (the export
    // id comes from them).
    let dir = LocalCopies::create(&repo.tmp_dir().join(format!("drive-{export_id}")))?;
    let mut paths = Vec::with_capacity(parts.len());
    for part in parts {
        let dest = dir.0.join(&part.name);
        check_space(&dir.0, part)?;
        progress.queued(Some(part.size));
        client.download(part, &dest, progress.as_ref()).await?;
        progress.finished();
        s.parts_downloaded += 1;
        s.bytes_downloaded += part.size;
        paths.push(dest);
    }
    let summary = import_parts(repo.clone(), paths, &account.name, opts, progress, cancel).await?;
    dir.remove()?;
    if summary.ok() {
        let records: Vec<_> = parts.iter().map(DrivePart::record).collect();
        let index_repo = repo.clone();
        blocking(move || index_repo.index.drive_parts_imported(&records)).await?;
    } else {
        tracing::error!(
            "{}: {export_id} from Google Drive: {} entries failed to import; the export is \
             fetched and imported again on the next run",
            account.name,
            summary.failed.len()
        );
    }
    Ok(summary)
}

/// The one place a Drive export meets the importer: the same call as `import takeout PARTS…`
/// for a local export (on the engine; it writes the manifest too).
async fn import_parts(
    repo: Arc<Repo>,
    parts: Vec<PathBuf>,
    account: &str,
    opts: &DriveImportOptions,
    progress: &Arc<dyn Progress>,
    cancel: &CancellationToken,
) -> Result<RunSummary> {
    let io = ImportOptions {
        parts,
        account: Some(account.to_string()),
        include_trash: opts.include_trash,
        xmp: opts.xmp,
        no_mtime: opts.no_mtime,
        kind: None,
        reread: false,
    };
    import_takeout(repo, &io, progress.clone(), cancel.clone()).await
}

/// Every part of an export is in Drive: per naming segment, the numbers 1…N with no gap.
/// Takeout numbers its parts from 001; a gap or a missing first part means Google is still
/// writing the export, or a part was deleted.
///
/// # Errors
/// What is missing, in words for the report.
pub fn complete(parts: &[DrivePart]) -> std::result::Result<(), String> {
    let mut present = std::collections::BTreeSet::new();
    for p in parts {
        if !present.insert((p.segment, p.number)) {
            return Err(format!(
                "two files in Drive are part {:03}{}; remove the copy",
                p.number,
                seg(p.segment)
            ));
        }
    }
    let missing: Vec<String> = crate::inbox::gaps(&present, &Default::default())
        .into_iter()
        .map(|(segment, n)| format!("{n:03}{}", seg(segment)))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "incomplete in Drive: part {} missing (Google may still be writing it); it is \
             imported once every part is there",
            missing.join(", ")
        ));
    }
    Ok(())
}

fn seg(segment: Option<u32>) -> String {
    segment
        .map(|s| format!(" of segment {s}"))
        .unwrap_or_default()
}

/// Refuses a download that cannot fit, before it starts.
fn check_space(dir: &Path, part: &DrivePart) -> Result<()> {
    let free = free_bytes(dir)?;
    let needed = part.size.saturating_add(SPACE_MARGIN);
    if free < needed {
        return Err(Error::NoSpace {
            what: format!("{} from Google Drive", part.name),
            size: part.size,
            needed,
            free,
            path: dir.to_path_buf(),
        });
    }
    Ok(())
}

/// Bytes an unprivileged process may still write on the file system of `dir`
/// (`PHOTOBAK_TEST_FREE_BYTES` overrides it: a testing aid).
pub fn free_bytes(dir: &Path) -> Result<u64> {
    if let Some(v) = std::env::var(FREE_BYTES_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
    {
        return Ok(v);
    }
    let st = rustix::fs::statvfs(dir).map_err(|e| {
        Error::io(
            format!("reading the free space of {}", dir.display()),
            e.into(),
        )
    })?;
    Ok(st.f_bavail.saturating_mul(st.f_frsize))
}

/// The local copies of one export's parts: removed when dropped (an error or Ctrl-C on the
/// way), or by [`LocalCopies::remove`] once imported.
struct LocalCopies(PathBuf);

impl LocalCopies {
    fn create(dir: &Path) -> Result<LocalCopies> {
        if dir.exists() {
            std::fs::remove_dir_all(dir).ctx(|| format!("clearing {}", dir.display()))?;
        }
        crate::repo::create_private_dir(dir)?;
        Ok(LocalCopies(dir.to_path_buf()))
    }

    fn remove(self) -> Result<()> {
        let dir = self.0.clone();
        std::fs::remove_dir_all(&dir).ctx(|| format!("removing {}", dir.display()))?;
        std::mem::forget(self);
        Ok(())
    }
}

impl Drop for LocalCopies {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(segment: Option<u32>, number: u32) -> DrivePart {
        DrivePart {
            id: format!("1{number}"),
            name: format!("takeout-20260801T101010Z-{number:03}.zip"),
            folder_id: "F".into(),
            export_id: "takeout-20260801T101010Z".into(),
            segment,
            number,
            size: 1,
            md5: "00".into(),
        }
    }

    #[test]
    fn an_export_is_complete_when_its_numbers_have_no_gap() {
        assert!(complete(&[part(None, 1), part(None, 2)]).is_ok());
        assert!(complete(&[part(None, 1), part(Some(1), 1), part(Some(1), 2)]).is_ok());
        let e = complete(&[part(None, 1), part(None, 3)]).unwrap_err();
        assert!(e.contains("part 002 missing"), "{e}");
        let e = complete(&[part(Some(2), 2)]).unwrap_err();
        assert!(e.contains("001 of segment 2"), "{e}");
        let e = complete(&[part(None, 1), part(None, 1)]).unwrap_err();
        assert!(e.contains("two files"), "{e}");
    }

    #[test]
    fn free_space_is_read_from_the_file_system() {
        if std::env::var_os(FREE_BYTES_ENV).is_some() {
            return; // the testing aid is in force
        }
        let t = tempfile::tempdir().unwrap();
        assert!(free_bytes(t.path()).unwrap() > 0);
        assert!(free_bytes(&t.path().join("missing")).is_err());
    }
}
