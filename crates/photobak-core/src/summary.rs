//! The report of one run of one source for one account, whatever the source.
//!
//! One type, so the counts mean the same thing for a Library API backup, a Takeout import and a
//! Picker session ("new" is a new file, "deduplicated" is bytes already stored elsewhere, …),
//! the binary has one printer, and the `runs` table keeps the same JSON for every command. What
//! only one kind of source knows (a Takeout export's id, kind and reading problems) sits in its
//! own section.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::error::Error;
use crate::exports::KindDecision;
use crate::kinds::Source;

/// What one run of one source did for one account.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    /// Account address.
    pub account: String,
    /// The source that was read.
    pub source: Source,
    /// Albums listed.
    pub albums: u64,
    /// Distinct items the source delivered.
    pub items: u64,
    /// Items stored as a new file.
    pub new: u64,
    /// Items whose bytes were already stored (another album, account or source).
    pub deduplicated: u64,
    /// Items whose metadata, memberships or bytes changed.
    pub updated: u64,
    /// Items with nothing to do.
    pub unchanged: u64,
    /// Stored files found damaged or missing and restored.
    pub repaired: u64,
    /// Items not fetched, by reason.
    pub skipped: BTreeMap<String, u64>,
    /// Items that failed: name and reason.
    pub failed: Vec<(String, String)>,
    /// Bytes downloaded or read.
    pub bytes: u64,
    /// Problems found in what the source delivered (bad archive entries, broken JSON …).
    pub problems: Vec<String>,
    /// `.xmp` sidecars written or changed.
    pub xmp_written: u64,
    /// Wall time.
    pub elapsed_secs: f64,
    /// Why the run stopped early, if it did.
    pub stopped: Option<String>,
    /// The stop was Google's daily quota (the next day's run finishes the work).
    pub quota_exhausted: bool,
    /// What only a Takeout import knows.
    #[serde(flatten)]
    pub takeout: Option<TakeoutReport>,
    /// Picked items recorded as another source of an item already stored (the same photo from
    /// a Takeout export): `filename (takeout item)`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub linked: Vec<String>,
    /// The kind of error that stopped the run, so a lister stopped by a download's failure
    /// ends with the same kind of error rather than a string.
    #[serde(skip)]
    stop_kind: Option<StopKind>,
}

/// What a Takeout import adds to its report.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TakeoutReport {
    /// Export id (`takeout-20250921T101010Z`).
    pub export_id: String,
    /// Media entries in the export.
    pub media_entries: u64,
    /// Full or incremental, by whom and why.
    pub kind: Option<KindDecision>,
    /// Items seen before this export and absent from it, counted for a full export only (an
    /// incremental export lacks most items and says nothing about them).
    pub absent: u64,
    /// Things the user should know about the kind of the export.
    pub warnings: Vec<String>,
    /// Media with no sidecar (archive paths).
    pub without_sidecar: Vec<String>,
    /// Sidecars that matched no media.
    pub unmatched_sidecars: Vec<String>,
    /// Media left without a sidecar because several candidates fit.
    pub ambiguous: Vec<String>,
    /// Edited variants recognised by their structure, their suffix being in no table:
    /// `path (suffix)`.
    pub inferred_edits: Vec<String>,
    /// Why the export was not read at all: its parts are recorded as imported and unchanged
    /// (`import takeout PART…` run again).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub already_imported: Option<String>,
}

/// The errors that stop a run ([`Error::stops_account`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StopKind {
    Quota,
    Credentials,
    Cancelled,
}

impl RunSummary {
    /// An empty report of a run of `source` for `account`.
    pub fn new(account: &str, source: Source) -> RunSummary {
        RunSummary {
            account: account.to_string(),
            source,
            albums: 0,
            items: 0,
            new: 0,
            deduplicated: 0,
            updated: 0,
            unchanged: 0,
            repaired: 0,
            skipped: BTreeMap::new(),
            failed: vec![],
            bytes: 0,
            problems: vec![],
            xmp_written: 0,
            elapsed_secs: 0.0,
            stopped: None,
            quota_exhausted: false,
            takeout: None,
            linked: vec![],
            stop_kind: None,
        }
    }

    /// True when nothing failed and the run was not stopped.
    pub fn ok(&self) -> bool {
        self.failed.is_empty() && self.stopped.is_none()
    }

    /// True when the run stored, changed or repaired nothing and nothing went wrong.
    pub fn nothing_changed(&self) -> bool {
        self.new + self.deduplicated + self.updated + self.repaired == 0
            && self.failed.is_empty()
            && self.stopped.is_none()
    }

    /// Counts an item skipped for `reason`.
    pub fn skip(&mut self, reason: impl Into<String>) {
        *self.skipped.entry(reason.into()).or_default() += 1;
    }

    /// Records why the run stopped, keeping the first reason (a download that hit the quota
    /// cancels the lister, whose own error then only says "interrupted").
    pub fn record_stop(&mut self, e: &Error) {
        if self.stopped.is_none() {
            self.stopped = Some(e.to_string());
            self.stop_kind = match e {
                Error::QuotaExhausted(_) => Some(StopKind::Quota),
                Error::Credentials { .. } => Some(StopKind::Credentials),
                Error::Cancelled => Some(StopKind::Cancelled),
                _ => None,
            };
            self.quota_exhausted = self.stop_kind == Some(StopKind::Quota);
        }
    }

    /// The error the run stopped with, rebuilt with its kind, for a lister to end with.
    pub fn stop_error(&self) -> Option<Error> {
        let why = self.stopped.clone()?;
        Some(match self.stop_kind {
            Some(StopKind::Quota) => Error::QuotaExhausted(why),
            Some(StopKind::Credentials) => Error::Credentials {
                account: self.account.clone(),
                message: why,
            },
            Some(StopKind::Cancelled) | None => Error::Cancelled,
        })
    }
}
