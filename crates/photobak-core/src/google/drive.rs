//! Google Drive, read-only: the Takeout archives Google delivers into a user's Drive.
//!
//! A scheduled Takeout export can be delivered "to Drive": Google writes its parts into a
//! folder named `Takeout` in the user's My Drive. This client finds that folder by name, lists
//! its children that are named like Takeout parts (never a file in the trash, never a Google
//! Docs file, never another zip), and downloads one part into a local file: streamed, the MD5
//! computed on the way and checked against Drive's `md5Checksum` and `size`, resumed with
//! `Range` after a dropped connection, and retried by Google's rules ([`super::http`]). Drive
//! says "slow down" either with 429 or with 403 and the reason `userRateLimitExceeded` /
//! `rateLimitExceeded`; both are waited out like a 429. It only reads: photobak never changes
//! anything in the cloud.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use md5::Digest as _;
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

use super::Endpoints;
use super::http::{Pacer, RetryPolicy, network_error, retry_delay};
use super::library::PageWalk;
use super::media::range_start;
use super::oauth::TokenSource;
use crate::error::{Error, IoContext, Result};
use crate::progress::Progress;

/// MIME type of a Drive folder.
pub const FOLDER_MIME: &str = "application/vnd.google-apps.folder";
/// Google Docs, Sheets, folders…: files without bytes of their own.
const GOOGLE_TYPES: &str = "application/vnd.google-apps.";
/// Fields asked for every file: exactly what the decisions below need.
const FILE_FIELDS: &str = "id,name,size,md5Checksum,mimeType,createdTime,parents,trashed";

/// A file as `files.list` describes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DriveFile {
    /// Drive file id.
    pub id: String,
    /// File name.
    pub name: String,
    /// Size in bytes (an int64 string in JSON; absent for Google Docs files and folders).
    #[serde(default, deserialize_with = "int64_opt")]
    pub size: Option<u64>,
    /// Hex MD5 of the content (absent for Google Docs files and folders).
    #[serde(default)]
    pub md5_checksum: Option<String>,
    /// MIME type.
    #[serde(default)]
    pub mime_type: Option<String>,
    /// RFC 3339 creation time.
    #[serde(default)]
    pub created_time: Option<String>,
    /// Parent folder ids.
    #[serde(default)]
    pub parents: Vec<String>,
    /// In the Drive trash.
    #[serde(default)]
    pub trashed: bool,
}

/// A Drive file that is a Takeout part, with everything a download is checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrivePart {
    /// Drive file id.
    pub id: String,
    /// File name (`takeout-20260801T101010Z-001.zip`).
    pub name: String,
    /// The id of the folder it was listed in.
    pub folder_id: String,
    /// Export id from the name (`takeout-20260801T101010Z`).
    pub export_id: String,
    /// The middle segment of 2025+ names (`3` in `-3-009`).
    pub segment: Option<u32>,
    /// The part number.
    pub number: u32,
    /// Size in bytes.
    pub size: u64,
    /// Drive's hex MD5.
    pub md5: String,
}

impl DrivePart {
    /// The part as the index remembers it.
    pub fn record(&self) -> crate::index::DrivePartRecord {
        crate::index::DrivePartRecord {
            folder_id: self.folder_id.clone(),
            name: self.name.clone(),
            remote_id: self.id.clone(),
            export_id: self.export_id.clone(),
            size: self.size,
            md5: self.md5.clone(),
        }
    }
}

/// What a folder listing found: the parts, and the other files with why they were left alone.
#[derive(Debug, Default)]
pub struct PartListing {
    /// Takeout parts.
    pub parts: Vec<DrivePart>,
    /// `(name, why)` of files left alone.
    pub ignored: Vec<(String, String)>,
}

/// Decides whether a listed file is a Takeout part photobak may download.
///
/// # Errors
/// Why not, in words for the report.
pub fn as_part(f: &DriveFile, folder_id: &str) -> std::result::Result<DrivePart, String> {
    if f.trashed {
        return Err("in the Drive trash".into());
    }
    let mime = f.mime_type.as_deref().unwrap_or("");
    if mime.starts_with(GOOGLE_TYPES) {
        return Err(format!("a Google Docs file or folder ({mime})"));
    }
    let lower = f.name.to_ascii_lowercase();
    if !(lower.ends_with(".zip") || lower.ends_with(".tgz")) {
        return Err("not a .zip or .tgz archive".into());
    }
    let Some(name) = photobak_takeout::names::parse_part_name(&f.name) else {
        return Err("not named like a Takeout part (takeout-…Z-001.zip)".into());
    };
    let (Some(size), Some(md5)) = (f.size, f.md5_checksum.clone()) else {
        return Err("Drive gives no size or checksum for it".into());
    };
    Ok(DrivePart {
        id: f.id.clone(),
        name: f.name.clone(),
        folder_id: folder_id.to_string(),
        export_id: name.export_id,
        segment: name.segment,
        number: name.number,
        size,
        md5: md5.to_ascii_lowercase(),
    })
}

/// A string literal of Drive's query language.
fn q_string(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FileList {
    #[serde(default)]
    files: Vec<DriveFile>,
    #[serde(default)]
    next_page_token: Option<String>,
}

/// An authorised Drive client for one account.
pub struct DriveClient {
    http: reqwest::Client,
    endpoints: Endpoints,
    tokens: Arc<TokenSource>,
    policy: RetryPolicy,
    pacer: Arc<Pacer>,
    cancel: CancellationToken,
}

impl DriveClient {
    /// Builds a client. `tokens` holds the account's Drive consent (not its Photos one).
    pub fn new(
        http: reqwest::Client,
        endpoints: Endpoints,
        tokens: Arc<TokenSource>,
        policy: RetryPolicy,
        pacer: Arc<Pacer>,
        cancel: CancellationToken,
    ) -> DriveClient {
        DriveClient {
            http,
            endpoints,
            tokens,
            policy,
            pacer,
            cancel,
        }
    }

    /// The folders called `name` in the user's Drive, not in the trash.
    pub async fn folders_named(&self, name: &str) -> Result<Vec<DriveFile>> {
        let q = format!(
            "name = {} and mimeType = {} and trashed = false",
            q_string(name),
            q_string(FOLDER_MIME)
        );
        self.list(&q, &format!("looking for the Drive folder {name:?}"))
            .await
    }

    /// The Takeout parts directly inside folder `folder_id`. Drive is asked only for files
    /// outside the trash whose name starts like a part's; every answer is checked again here.
    pub async fn takeout_parts(&self, folder_id: &str) -> Result<PartListing> {
        let q = format!(
            "{} in parents and trashed = false and name contains 'takeout-' and mimeType != {}",
            q_string(folder_id),
            q_string(FOLDER_MIME)
        );
        let files = self.list(&q, "listing the Takeout folder in Drive").await?;
        let mut out = PartListing::default();
        for f in &files {
            match as_part(f, folder_id) {
                Ok(p) => out.parts.push(p),
                Err(why) => out.ignored.push((f.name.clone(), why)),
            }
        }
        Ok(out)
    }

    /// Every page of `files.list` for `q`.
    async fn list(&self, q: &str, what: &str) -> Result<Vec<DriveFile>> {
        let url = format!("{}/files", self.endpoints.drive);
        let fields = format!("nextPageToken,files({FILE_FIELDS})");
        let mut walk = PageWalk::default();
        let mut files = Vec::new();
        while let Some(page) = walk.next(&self.cancel)? {
            let mut query = vec![
                ("q", q.to_string()),
                ("fields", fields.clone()),
                ("pageSize", "1000".to_string()),
                ("spaces", "drive".to_string()),
            ];
            if let Some(t) = page.token() {
                query.push(("pageToken", t.to_string()));
            }
            let list: FileList = self
                .call_json(what, |bearer| {
                    self.http.get(&url).query(&query).bearer_auth(bearer)
                })
                .await?;
            files.extend(list.files);
            walk.advance(list.next_page_token.filter(|t| !t.is_empty()))?;
        }
        Ok(files)
    }

    /// A JSON call with the bearer token, retried by Google's rules, the token refreshed once
    /// after a 401.
    async fn call_json<T: serde::de::DeserializeOwned>(
        &self,
        what: &str,
        build: impl Fn(&str) -> reqwest::RequestBuilder,
    ) -> Result<T> {
        let mut attempt = 0;
        let mut refreshed = false;
        loop {
            attempt += 1;
            let Sent::Answer(sent) = self.send(&build, &mut refreshed).await? else {
                attempt -= 1;
                continue;
            };
            let failure = match sent {
                Err(e) => Failure::plain(network_error(what, &e)),
                Ok(resp) if !resp.status().is_success() => self.error_of(what, resp).await,
                Ok(resp) => {
                    let bytes = resp.bytes().await;
                    match bytes {
                        Err(e) => Failure::plain(network_error(what, &e)),
                        Ok(b) => {
                            return serde_json::from_slice(&b).map_err(|e| {
                                Error::Invalid(format!(
                                    "{what}: unexpected answer from Google Drive ({e})"
                                ))
                            });
                        }
                    }
                }
            };
            self.wait_or_fail(failure, attempt).await?;
        }
    }

    /// One request with the bearer token, after the pacer, abandoned when the run is cancelled.
    /// The first 401 of a call (`refreshed` is the call's) drops the token, and the caller
    /// sends again at once with a fresh one; a second 401 is Drive's answer.
    async fn send(
        &self,
        build: impl Fn(&str) -> reqwest::RequestBuilder,
        refreshed: &mut bool,
    ) -> Result<Sent> {
        self.pacer.wait().await?;
        let bearer = self.bearer().await?;
        let sent = tokio::select! {
            r = build(&bearer).send() => r,
            () = self.cancel.cancelled() => return Err(Error::Cancelled),
        };
        if let Ok(resp) = &sent
            && resp.status() == reqwest::StatusCode::UNAUTHORIZED
            && !*refreshed
        {
            *refreshed = true;
            self.tokens
                .invalidate(&bearer)
                .await
                .map_err(drive_consent)?;
            return Ok(Sent::Refreshed);
        }
        Ok(Sent::Answer(sent))
    }

    async fn bearer(&self) -> Result<String> {
        self.tokens.bearer().await.map_err(drive_consent)
    }

    /// Waits before the next attempt, or returns the error when it must not be retried.
    async fn wait_or_fail(&self, f: Failure, attempt: u32) -> Result<()> {
        // Drive's 403 rate limits are waited out like a 429 (Google's advice for both is
        // backoff); the error reported stays what Drive said.
        let delay = if f.rate_limited {
            let as_429 = Error::Remote {
                what: String::new(),
                status: 429,
                message: String::new(),
                retry_after: f.retry_after,
            };
            retry_delay(&self.policy, &as_429, attempt, &self.pacer)
        } else {
            retry_delay(&self.policy, &f.error, attempt, &self.pacer)
        };
        match delay {
            Some(d) => {
                tracing::debug!("{}; retrying in {d:?}", f.error);
                self.pacer.sleep(d).await
            }
            None => Err(f.error),
        }
    }

    /// Reads Drive's error body: its `errors[0].reason` says what to do.
    async fn error_of(&self, what: &str, resp: reqwest::Response) -> Failure {
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = resp.text().await.unwrap_or_default();
        let parsed: Option<DriveErrorBody> = serde_json::from_str(&body).ok();
        let (message, reason) = match &parsed {
            Some(b) => (
                b.error.message.clone().unwrap_or_default(),
                b.error
                    .errors
                    .first()
                    .and_then(|e| e.reason.clone())
                    .unwrap_or_default(),
            ),
            None => (body.chars().take(200).collect(), String::new()),
        };
        let address = self.tokens.address().to_string();
        let scope_missing = status == 403
            && (reason == "insufficientPermissions"
                || body.contains("ACCESS_TOKEN_SCOPE_INSUFFICIENT"));
        if scope_missing {
            return Failure::plain(Error::Credentials {
                account: address.clone(),
                message: format!(
                    "{what}: the stored Google Drive consent does not allow reading Drive \
                     ({message}); run `photobak auth --googlephotos {address} --drive`"
                ),
            });
        }
        if matches!(reason.as_str(), "dailyLimitExceeded" | "quotaExceeded") {
            return Failure::plain(Error::QuotaExhausted(format!("{what}: {message}")));
        }
        let rate_limited = status == 403
            && matches!(
                reason.as_str(),
                "userRateLimitExceeded" | "rateLimitExceeded"
            );
        let message = if reason.is_empty() {
            message
        } else {
            format!("{reason}: {message}")
        };
        Failure {
            error: Error::Remote {
                what: what.to_string(),
                status,
                message: message.trim().to_string(),
                retry_after,
            },
            rate_limited,
            retry_after,
        }
    }

    /// Downloads `part` into `dest` (created, or replaced when it exists), checking its size
    /// and MD5 against Drive's. A dropped connection resumes with `Range` from the bytes
    /// already written; a server that ignores or misanswers the range makes it start over.
    /// The file is fsynced before this returns; on any error it is removed.
    ///
    /// # Errors
    /// Permanent HTTP errors, transient ones that outlived the retries, local I/O failures, a
    /// size or MD5 that differs from Drive's (naming the file), or [`Error::Cancelled`].
    pub async fn download(
        &self,
        part: &DrivePart,
        dest: &Path,
        progress: &dyn Progress,
    ) -> Result<()> {
        let result = self.download_inner(part, dest, progress).await;
        if result.is_err() {
            let _ = std::fs::remove_file(dest);
        }
        result
    }

    async fn download_inner(
        &self,
        part: &DrivePart,
        dest: &Path,
        progress: &dyn Progress,
    ) -> Result<()> {
        let what = format!("downloading {} from Google Drive", part.name);
        let url = format!(
            "{}/files/{}",
            self.endpoints.drive,
            url::form_urlencoded::byte_serialize(part.id.as_bytes()).collect::<String>()
        );
        let mut out: Option<PartWriter> = None;
        let mut attempt = 0u32;
        let mut refreshed = false;
        loop {
            if self.cancel.is_cancelled() {
                return Err(Error::Cancelled);
            }
            attempt += 1;
            if out.is_none() {
                out = Some(PartWriter::create(dest)?);
            }
            let offset = out.as_ref().map_or(0, PartWriter::size);
            let request = |bearer: &str| {
                let req = self
                    .http
                    .get(&url)
                    .query(&[("alt", "media")])
                    .bearer_auth(bearer);
                if offset > 0 {
                    req.header(reqwest::header::RANGE, format!("bytes={offset}-"))
                } else {
                    req
                }
            };
            let Sent::Answer(sent) = self.send(request, &mut refreshed).await? else {
                attempt -= 1;
                continue;
            };
            let failure = match sent {
                Err(e) => Failure::plain(network_error(&what, &e)),
                Ok(resp)
                    if resp.status() == reqwest::StatusCode::RANGE_NOT_SATISFIABLE
                        && offset == part.size =>
                {
                    // Every byte arrived before the connection broke.
                    break;
                }
                Ok(resp) if !resp.status().is_success() => self.error_of(&what, resp).await,
                Ok(resp)
                    if resp.status() == reqwest::StatusCode::PARTIAL_CONTENT
                        && range_start(&resp) != Some(offset) =>
                {
                    // Not the range asked for: start over rather than splice the wrong bytes.
                    out = None;
                    Failure::plain(Error::Network(format!(
                        "{what}: Drive answered another range than requested"
                    )))
                }
                Ok(mut resp) => {
                    if offset > 0 && resp.status() != reqwest::StatusCode::PARTIAL_CONTENT {
                        // The range was ignored: the whole file comes again.
                        out = Some(PartWriter::create(dest)?);
                    }
                    let w = out.as_mut().expect("writer exists");
                    let expected = resp.content_length().map(|l| l + w.size());
                    let mut failure = None;
                    loop {
                        let chunk = tokio::select! {
                            c = resp.chunk() => c,
                            () = self.cancel.cancelled() => return Err(Error::Cancelled),
                        };
                        match chunk {
                            Ok(Some(c)) => {
                                w.write(&c)?;
                                progress.bytes(c.len() as u64);
                            }
                            Ok(None) => break,
                            Err(e) => {
                                failure = Some(network_error(&what, &e));
                                break;
                            }
                        }
                    }
                    if w.size() > offset {
                        // Bytes arrived: a connection that breaks now and then while the file
                        // still grows is no reason to give up, only a streak of failed attempts.
                        attempt = 1;
                    }
                    match failure {
                        Some(e) => Failure::plain(e),
                        None if expected.is_some_and(|x| x != w.size()) => {
                            Failure::plain(Error::Network(format!(
                                "{what}: body ended after {} of {} bytes",
                                w.size(),
                                expected.unwrap_or(0)
                            )))
                        }
                        None => break,
                    }
                }
            };
            self.wait_or_fail(failure, attempt).await?;
        }
        let w = out.take().expect("a finished download has its writer");
        let (size, md5) = tokio::task::spawn_blocking(move || w.finish())
            .await
            .map_err(|e| Error::from_join(&what, &e))??;
        if size != part.size || md5 != part.md5 {
            return Err(Error::Invalid(format!(
                "{}: the download from Google Drive has {size} bytes with MD5 {md5}, Drive \
                 says {} bytes with MD5 {}; the local copy was removed and the part is \
                 downloaded again on the next run",
                part.name, part.size, part.md5
            )));
        }
        Ok(())
    }
}

/// What [`DriveClient::send`] got.
enum Sent {
    Answer(reqwest::Result<reqwest::Response>),
    /// The token was refused and dropped: send again.
    Refreshed,
}

/// A Drive error the retry step decides on.
struct Failure {
    error: Error,
    /// A 403 that means "slow down".
    rate_limited: bool,
    retry_after: Option<Duration>,
}

impl Failure {
    fn plain(error: Error) -> Failure {
        Failure {
            error,
            rate_limited: false,
            retry_after: None,
        }
    }
}

/// A refused Drive consent names the command that grants it again.
fn drive_consent(e: Error) -> Error {
    match e {
        Error::Credentials { account, message } => Error::Credentials {
            message: format!(
                "Google Drive consent: {message} (for Drive: `photobak auth --googlephotos \
                 {account} --drive`)"
            ),
            account,
        },
        other => other,
    }
}

#[derive(Deserialize)]
struct DriveErrorBody {
    error: DriveErrorDetail,
}

#[derive(Deserialize)]
struct DriveErrorDetail {
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    errors: Vec<DriveErrorItem>,
}

#[derive(Deserialize)]
struct DriveErrorItem {
    #[serde(default)]
    reason: Option<String>,
}

/// A part being written: MD5 and length computed as the bytes pass.
struct PartWriter {
    path: PathBuf,
    out: std::io::BufWriter<std::fs::File>,
    md5: md5::Md5,
    size: u64,
}

impl PartWriter {
    fn create(path: &Path) -> Result<PartWriter> {
        let file = std::fs::File::create(path).ctx(|| format!("creating {}", path.display()))?;
        Ok(PartWriter {
            path: path.to_path_buf(),
            out: std::io::BufWriter::with_capacity(256 * 1024, file),
            md5: md5::Md5::new(),
            size: 0,
        })
    }

    fn write(&mut self, chunk: &[u8]) -> Result<()> {
        use std::io::Write as _;
        self.md5.update(chunk);
        self.size += chunk.len() as u64;
        let path = &self.path;
        self.out
            .write_all(chunk)
            .ctx(|| format!("writing {}", path.display()))
    }

    fn size(&self) -> u64 {
        self.size
    }

    /// Flushes and fsyncs; returns the length and the hex MD5.
    fn finish(self) -> Result<(u64, String)> {
        let path = self.path;
        let file = self
            .out
            .into_inner()
            .map_err(|e| Error::io(format!("writing {}", path.display()), e.into_error()))?;
        file.sync_all()
            .ctx(|| format!("syncing {}", path.display()))?;
        let md5 = crate::repo::store::hex(&self.md5.finalize());
        Ok((self.size, md5))
    }
}

fn int64_opt<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum N {
        S(String),
        I(u64),
    }
    Ok(match Option::<N>::deserialize(d)? {
        None => None,
        Some(N::S(s)) => s.trim().parse().ok(),
        Some(N::I(i)) => Some(i),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, mime: &str, trashed: bool, size: Option<u64>) -> DriveFile {
        DriveFile {
            id: "1x".into(),
            name: name.into(),
            size,
            md5_checksum: size.map(|_| "ABCDEF".into()),
            mime_type: Some(mime.into()),
            created_time: None,
            parents: vec!["F".into()],
            trashed,
        }
    }

    #[test]
    fn only_takeout_parts_are_parts() {
        let p = as_part(
            &file(
                "takeout-20260801T101010Z-3-002.tgz",
                "application/x-gzip",
                false,
                Some(5),
            ),
            "F",
        )
        .unwrap();
        assert_eq!(p.export_id, "takeout-20260801T101010Z");
        assert_eq!((p.segment, p.number, p.size), (Some(3), 2, 5));
        assert_eq!(p.md5, "abcdef");
        assert!(
            as_part(
                &file(
                    "takeout-20260801T101010Z-001.zip",
                    "application/zip",
                    false,
                    Some(1)
                ),
                "F"
            )
            .is_ok()
        );
        for (f, why) in [
            (
                file(
                    "takeout-20260801T101010Z-001.zip",
                    "application/zip",
                    true,
                    Some(1),
                ),
                "trash",
            ),
            (
                file(
                    "takeout-20260801T101010Z-001.zip",
                    "application/vnd.google-apps.document",
                    false,
                    None,
                ),
                "Google Docs",
            ),
            (
                file("holiday.zip", "application/zip", false, Some(1)),
                "named",
            ),
            (
                file(
                    "takeout-20260801T101010Z-001.pdf",
                    "application/pdf",
                    false,
                    Some(1),
                ),
                ".zip or .tgz",
            ),
            (
                file(
                    "takeout-20260801T101010Z-001.zip",
                    "application/zip",
                    false,
                    None,
                ),
                "checksum",
            ),
        ] {
            let e = as_part(&f, "F").unwrap_err();
            assert!(e.contains(why), "{}: {e}", f.name);
        }
    }

    /// Against the fake Drive: a download whose bytes do not match Drive's MD5 is an error
    /// naming the part, and its file is gone; a listing pages through every part.
    #[tokio::test]
    async fn a_checksum_mismatch_names_the_part_and_removes_the_copy() {
        use photobak_testkit::fake_google::{
            DRIVE_READONLY_SCOPE, DriveFileSpec, FakeConfig, FakeGoogle,
        };
        struct Nowhere;
        impl super::super::oauth::TokenStore for Nowhere {
            fn save(&self, _: i64, _: &str) -> Result<()> {
                Ok(())
            }
        }
        let fake = FakeGoogle::start(FakeConfig::default()).unwrap();
        let folder = fake.drive_add("a@example.com", DriveFileSpec::folder("Takeout"));
        for n in 1..=3 {
            fake.drive_add(
                "a@example.com",
                DriveFileSpec::file(
                    &format!("takeout-20260801T101010Z-{n:03}.zip"),
                    vec![n as u8; 70_000],
                )
                .in_folder(&folder),
            );
        }
        let pair = fake.mint_tokens("a@example.com", DRIVE_READONLY_SCOPE);
        let endpoints = Endpoints::under(&fake.url());
        let http = reqwest::Client::new();
        let client = super::super::oauth::ClientCredentials {
            client_id: "c".into(),
            client_secret: "s".into(),
        };
        let token = super::super::oauth::Token {
            access_token: pair.access_token,
            refresh_token: pair.refresh_token,
            expires_at: crate::index::now() + 3000,
            scope: pair.scope,
        };
        let tokens = Arc::new(TokenSource::new(
            "a@example.com",
            1,
            token,
            http.clone(),
            endpoints.clone(),
            client,
            Arc::new(Nowhere),
        ));
        let cancel = CancellationToken::new();
        let drive = DriveClient::new(
            http,
            endpoints,
            tokens,
            RetryPolicy::default(),
            Arc::new(Pacer::new(cancel.clone())),
            cancel,
        );
        let folders = drive.folders_named("Takeout").await.unwrap();
        assert_eq!(folders.len(), 1);
        // Short and empty pages that still carry a token: every part is still found.
        fake.set_faults(photobak_testkit::fake_google::Faults {
            short_pages: true,
            ..Default::default()
        });
        for _ in 0..8 {
            let listing = drive.takeout_parts(&folders[0].id).await.unwrap();
            assert_eq!(listing.parts.len(), 3);
        }
        assert!(fake.stats().faults("short_page") > 0);
        // A listing that hands back the token it was asked with is refused, not looped on.
        fake.set_faults(photobak_testkit::fake_google::Faults {
            short_pages: true,
            repeat_page_token: Some(photobak_testkit::fake_google::PagedListing::DriveFiles),
            ..Default::default()
        });
        let mut refused = 0;
        for _ in 0..8 {
            if let Err(e) = drive.takeout_parts(&folders[0].id).await {
                assert!(e.to_string().contains("same page token"), "{e}");
                refused += 1;
            }
        }
        assert!(refused > 0);
        fake.set_faults(Default::default());
        let listing = drive.takeout_parts(&folders[0].id).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut part = listing.parts[0].clone();
        let dest = dir.path().join(&part.name);
        drive
            .download(&part, &dest, &crate::progress::NoProgress)
            .await
            .unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), vec![1u8; 70_000]);
        part.md5 = "0123456789abcdef0123456789abcdef".into();
        let e = drive
            .download(&part, &dest, &crate::progress::NoProgress)
            .await
            .unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.starts_with("takeout-20260801T101010Z-001.zip: "),
            "{msg}"
        );
        assert!(msg.contains("MD5"), "{msg}");
        assert!(!dest.exists());
    }

    #[test]
    fn query_strings_are_escaped() {
        assert_eq!(q_string("Take'out\\"), "'Take\\'out\\\\'");
    }

    #[test]
    fn sizes_arrive_as_strings() {
        let f: DriveFile = serde_json::from_str(
            r#"{"id":"1","name":"a.zip","size":"12345678901","md5Checksum":"00"}"#,
        )
        .unwrap();
        assert_eq!(f.size, Some(12_345_678_901));
        assert!(!f.trashed);
    }
}
