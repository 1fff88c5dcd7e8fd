//! Takeout exports as a feed: their ids, their kind (full or incremental), and the one rule that
//! lets an export say an item is gone.
//!
//! Since June 2026 Google makes scheduled exports of Google Photos: the first holds the whole
//! library, every later one only what was uploaded, created or edited since (google.md §4.1a).
//! An item absent from an incremental export was not deleted. So:
//!
//! - **Only a full export is evidence.** An item counts as gone on Takeout's word only when a
//!   complete *full* export, made after the item's last sighting (in any export, or by any other
//!   source), lacks it. An incremental export never makes anything gone.
//! - **The default is incremental.** Nothing inside an archive says which kind it is (see
//!   `docs/takeout-feed.md` for what was looked at), so an export is full only when the user
//!   says so (`import takeout --full`, `photobak exports mark`) or when it holds nearly every
//!   item photobak has seen since the previous full export ([`FULL_SHARE`]). A delta of two
//!   months never does; a full export of a library that lost more than a few percent needs the
//!   user's word, and gets a hint saying so. Guessing wrong in that direction costs nothing but
//!   a prune that waits; guessing wrong the other way would trash a library.
//!
//! The SQL behind this lives in `index::exports`; this module holds the types and the decision.

use std::fmt;

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::index::Index;

/// The share of the items seen since the previous full export that an export must hold to be
/// taken for a full export without the user's word.
pub const FULL_SHARE: f64 = 0.98;

/// A Takeout export id: `takeout-20250921T101010Z` (from the part names), or
/// `takeout-derived-…` for parts whose names carry no date. It holds the ordering rule: two
/// dated ids compare by the time Google made the export; an undated one has no time of its own.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct ExportId(String);

impl ExportId {
    /// Wraps an id as the Takeout reader gives it.
    pub fn new(id: impl Into<String>) -> Self {
        ExportId(id.into())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// When Google made the export (Unix seconds, UTC), read from a dated id.
    pub fn made_at(&self) -> Option<i64> {
        let t = self.0.strip_prefix("takeout-")?.get(..16)?;
        let b = t.as_bytes();
        if b[8] != b'T' || b[15] != b'Z' {
            return None;
        }
        let num = |r: std::ops::Range<usize>| -> Option<i16> {
            let s = t.get(r)?;
            if !s.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            s.parse().ok()
        };
        let dt = jiff::civil::DateTime::new(
            num(0..4)?,
            num(4..6)? as i8,
            num(6..8)? as i8,
            num(9..11)? as i8,
            num(11..13)? as i8,
            num(13..15)? as i8,
            0,
        )
        .ok()?;
        jiff::tz::Offset::UTC
            .to_timestamp(dt)
            .ok()
            .map(|t| t.as_second())
    }

    /// True for an id that carries the export's date.
    pub fn is_dated(&self) -> bool {
        self.made_at().is_some()
    }

    /// True when both ids are dated and `self` was made after `other`; None when either has no
    /// date (then only the import order says anything).
    pub fn is_newer_than(&self, other: &ExportId) -> Option<bool> {
        Some(self.made_at()? > other.made_at()?)
    }
}

impl fmt::Display for ExportId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What an export holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportKind {
    /// The whole library at the time it was made: what it lacks was deleted before.
    Full,
    /// Only what was added or edited since the previous export: what it lacks says nothing.
    Incremental,
    /// Imported before photobak told the two apart, and not known to be full: treated as
    /// incremental until the user marks it.
    Unknown,
}

impl ExportKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ExportKind::Full => "full",
            ExportKind::Incremental => "incremental",
            ExportKind::Unknown => "unknown",
        }
    }

    /// True when the export is evidence of deletions.
    pub fn is_evidence(self) -> bool {
        self == ExportKind::Full
    }
}

impl fmt::Display for ExportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ExportKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "full" => Ok(ExportKind::Full),
            "incremental" => Ok(ExportKind::Incremental),
            "unknown" => Ok(ExportKind::Unknown),
            other => Err(Error::Invalid(format!(
                "{other:?}: an export is `full` or `incremental`"
            ))),
        }
    }
}

impl ToSql for ExportKind {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl FromSql for ExportKind {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        value
            .as_str()?
            .parse()
            .map_err(|e: Error| FromSqlError::Other(e.to_string().into()))
    }
}

/// Who decided an export's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KindBy {
    /// The user: `import takeout --full/--incremental` or `photobak exports mark`. Kept until
    /// the user says otherwise.
    User,
    /// photobak, from what the export holds; decided again when the export is imported again.
    Photobak,
    /// The upgrade of an index written before kinds existed.
    Migration,
}

impl KindBy {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            KindBy::User => "user",
            KindBy::Photobak => "photobak",
            KindBy::Migration => "migration",
        }
    }
}

impl ToSql for KindBy {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl FromSql for KindBy {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        match value.as_str()? {
            "user" => Ok(KindBy::User),
            "photobak" => Ok(KindBy::Photobak),
            "migration" => Ok(KindBy::Migration),
            other => Err(FromSqlError::Other(
                format!("unknown kind_by {other:?}").into(),
            )),
        }
    }
}

/// An export's kind, who decided it and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KindDecision {
    /// Full, incremental or unknown.
    pub kind: ExportKind,
    /// Who decided.
    pub by: KindBy,
    /// Why, in words a person reads in `status` and `prune`.
    pub reason: String,
}

/// What an import learned about the items an export holds, for [`infer_kind`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Coverage {
    /// Items of the export that photobak had seen in an earlier export.
    pub held_known: u64,
    /// Items seen since the previous full export (or ever, without one), last seen before this
    /// export was made, and not in it.
    pub absent: u64,
}

impl Coverage {
    /// The share of the items known before this export that it holds; None when nothing was
    /// known (a first export).
    pub fn share(&self) -> Option<f64> {
        let known = self.held_known + self.absent;
        (known > 0).then(|| self.held_known as f64 / known as f64)
    }
}

/// The kind of an export the user said nothing about: full when it holds at least
/// [`FULL_SHARE`] of what photobak has seen since the previous full export, else incremental.
pub fn infer_kind(export: &ExportId, c: Coverage) -> KindDecision {
    let known = c.held_known + c.absent;
    match c.share() {
        Some(share) if share >= FULL_SHARE => KindDecision {
            kind: ExportKind::Full,
            by: KindBy::Photobak,
            reason: format!(
                "holds {} of the {known} items seen since the previous full export ({:.1}%)",
                c.held_known,
                share * 100.0
            ),
        },
        Some(share) => KindDecision {
            kind: ExportKind::Incremental,
            by: KindBy::Photobak,
            reason: format!(
                "holds {} of the {known} items seen before it ({:.1}%): an incremental export, \
                 or a full one of a library that lost {} items; if it is full, run \
                 `photobak exports mark {export} --full`",
                c.held_known,
                share * 100.0,
                c.absent
            ),
        },
        None => KindDecision {
            kind: ExportKind::Incremental,
            by: KindBy::Photobak,
            reason: format!(
                "nothing imported before it to compare with; if it is a full export, run \
                 `photobak exports mark {export} --full` (or import with --full)"
            ),
        },
    }
}

/// The kind the user stated for an export.
pub fn stated_kind(kind: ExportKind, how: &str) -> KindDecision {
    KindDecision {
        kind,
        by: KindBy::User,
        reason: format!("{kind} by your word ({how})"),
    }
}

/// One recorded export of an account.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExportRecord {
    /// The id.
    pub export_id: ExportId,
    /// Full, incremental or unknown, by whom and why.
    pub kind: KindDecision,
    /// When Google made it (from the id), else when it was first imported (Unix seconds).
    pub exported_at: i64,
    /// When its last import finished or began (Unix seconds).
    pub imported_at: i64,
    /// Distinct items it delivered (None for exports recorded before schema 3).
    pub items: Option<u64>,
    /// Media entries in its archives.
    pub media_entries: u64,
    /// Items seen before it and absent from it (counted for full exports only).
    pub absent: u64,
    /// False while its import runs, or after an import that died.
    pub complete: bool,
}

impl ExportRecord {
    /// True for an export whose absences count: complete and full.
    pub fn is_evidence(&self) -> bool {
        self.complete && self.kind.kind.is_evidence()
    }
}

/// An item that the newest full export says is gone, as far as Takeout knows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TakeoutGone {
    /// Item row id.
    pub item_id: i64,
    /// The newest export that held it, if any.
    pub last_export: Option<String>,
    /// Its last sighting by any source (Unix seconds).
    pub last_seen: i64,
    /// The reason, in words: where it was last seen and which full export lacks it.
    pub reason: String,
    /// The Library API delivered it too: prune asks the API before removing it.
    pub also_library: bool,
    /// A source that cannot list (the Picker) delivered it too: it is never removed.
    pub also_unlisted: bool,
}

/// What Takeout says of an account's items now.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TakeoutVerdict {
    /// The newest complete full export: the only export whose absences count.
    pub evidence: Option<ExportRecord>,
    /// Items last seen before that export was made: it lacks them.
    pub gone: Vec<TakeoutGone>,
}

/// The items of an account that the newest complete full export says are gone: those last
/// seen (in any export, or by any source) before it was made. Nothing without a full export.
///
/// # Errors
/// Index failures.
pub fn takeout_verdict(index: &Index, account_id: i64) -> Result<TakeoutVerdict> {
    verdict_over(index, account_id, &index.exports(account_id)?)
}

/// [`takeout_verdict`] over the account's exports as already read.
fn verdict_over(
    index: &Index,
    account_id: i64,
    exports: &[ExportRecord],
) -> Result<TakeoutVerdict> {
    let evidence = exports
        .iter()
        .filter(|e| e.is_evidence())
        .max_by(|a, b| (a.exported_at, &a.export_id).cmp(&(b.exported_at, &b.export_id)))
        .cloned();
    let Some(ev) = evidence else {
        return Ok(TakeoutVerdict::default());
    };
    let gone = index
        .takeout_sightings_between(account_id, i64::MIN, ev.exported_at)?
        .into_iter()
        .map(|s| {
            let place = match (s.last_seen_by.as_str(), &s.last_export) {
                ("takeout", Some(e)) => format!("in {e}"),
                ("takeout", None) => "in Takeout".to_string(),
                ("library", _) => "by the Library API".to_string(),
                (other, _) => format!("by the {other}"),
            };
            TakeoutGone {
                item_id: s.item_id,
                reason: format!(
                    "last seen {place} ({}), absent from full export {} (made {})",
                    crate::time::rfc3339(s.last_seen),
                    ev.export_id,
                    crate::time::rfc3339(ev.exported_at)
                ),
                last_export: s.last_export,
                last_seen: s.last_seen,
                also_library: s.also_library,
                also_unlisted: s.also_unlisted,
            }
        })
        .collect();
    Ok(TakeoutVerdict {
        evidence: Some(ev),
        gone,
    })
}

/// The Takeout feed of one account, for `status`.
#[derive(Debug, Clone, Serialize)]
pub struct TakeoutFeed {
    /// Every recorded export, oldest first.
    pub exports: Vec<ExportRecord>,
    /// The newest complete full export.
    pub last_full: Option<ExportId>,
    /// Exports made after it (incremental, or of unknown kind).
    pub since_last_full: Vec<ExportId>,
    /// Exports whose kind is unknown (imported before photobak told kinds apart).
    pub unknown: Vec<ExportId>,
    /// Exports whose import did not finish: prune refuses until they are imported again.
    pub unfinished: Vec<ExportId>,
    /// Items prune would remove on Takeout's word (no other source keeps them).
    pub gone: u64,
    /// Items the full export lacks that the Library API delivered too: prune asks the API.
    pub gone_if_library_lacks: u64,
    /// The full export prune would compare with, in words.
    pub evidence: Option<String>,
}

/// The Takeout feed of an account; None when it has no export.
///
/// # Errors
/// Index failures.
pub fn takeout_feed(index: &Index, account_id: i64) -> Result<Option<TakeoutFeed>> {
    let exports = index.exports(account_id)?;
    if exports.is_empty() {
        return Ok(None);
    }
    let verdict = verdict_over(index, account_id, &exports)?;
    let last_full_at = verdict.evidence.as_ref().map(|e| e.exported_at);
    let ids = |keep: &dyn Fn(&ExportRecord) -> bool| -> Vec<ExportId> {
        exports
            .iter()
            .filter(|e| keep(e))
            .map(|e| e.export_id.clone())
            .collect()
    };
    // A Picker sighting keeps an item whatever Takeout says; a Library API one leaves it to
    // the API's listing.
    let gone = |library: bool| -> u64 {
        verdict
            .gone
            .iter()
            .filter(|g| g.also_library == library && !g.also_unlisted)
            .count() as u64
    };
    Ok(Some(TakeoutFeed {
        last_full: verdict.evidence.as_ref().map(|e| e.export_id.clone()),
        since_last_full: ids(&|e| {
            e.complete && !e.is_evidence() && last_full_at.is_none_or(|t| e.exported_at > t)
        }),
        unknown: ids(&|e| e.kind.kind == ExportKind::Unknown),
        unfinished: ids(&|e| !e.complete),
        gone: gone(false),
        gone_if_library_lacks: gone(true),
        evidence: verdict.evidence.as_ref().map(evidence_text),
        exports,
    }))
}

/// The account an export was imported into: the named one, else the only one holding it.
///
/// # Errors
/// [`Error::BadArgument`] for an unknown account, an export no account holds, or one several
/// hold without a name to choose; index failures.
pub fn export_owner(
    index: &Index,
    name: Option<&str>,
    export: &ExportId,
) -> Result<crate::index::Account> {
    if let Some(name) = name {
        return Ok(index.select_accounts(&[name.to_string()])?.remove(0));
    }
    let mut holding = Vec::new();
    for a in index.accounts()? {
        if index.exports(a.id)?.iter().any(|e| &e.export_id == export) {
            holding.push(a);
        }
    }
    match holding.len() {
        1 => Ok(holding.remove(0)),
        0 => Err(Error::BadArgument(format!(
            "no export {export} was imported (`photobak exports list` shows what was)"
        ))),
        _ => Err(Error::BadArgument(format!(
            "{export} was imported into several accounts; say which with --account"
        ))),
    }
}

/// Sets the kind of a recorded export by the user's word (`photobak exports mark`).
///
/// # Errors
/// [`Error::BadArgument`] when the account has no such export; index failures.
pub fn mark_export(
    index: &Index,
    account: &crate::index::Account,
    export: &ExportId,
    kind: ExportKind,
) -> Result<KindDecision> {
    let decision = stated_kind(
        kind,
        &format!(
            "`photobak exports mark` on {}",
            crate::time::rfc3339(crate::index::now())
        ),
    );
    if !index.set_export_kind(account.id, export, &decision)? {
        let known: Vec<String> = index
            .exports(account.id)?
            .iter()
            .map(|e| e.export_id.to_string())
            .collect();
        return Err(Error::BadArgument(format!(
            "{}: no export {export} was imported (known: {})",
            account.name,
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        )));
    }
    Ok(decision)
}

/// The full export prune compares Takeout items with, in words: `takeout-X (made
/// 2026-04-01T…Z; full: …)`.
pub fn evidence_text(e: &ExportRecord) -> String {
    format!(
        "full export {} (made {}; {})",
        e.export_id,
        crate::time::rfc3339(e.exported_at),
        e.kind.reason
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dated_ids_carry_their_time_and_order() {
        let a = ExportId::new("takeout-20250921T101010Z");
        assert_eq!(a.made_at(), Some(1_758_449_410));
        let b = ExportId::new("takeout-20251121T101010Z");
        assert_eq!(b.is_newer_than(&a), Some(true));
        assert_eq!(a.is_newer_than(&b), Some(false));
        let d = ExportId::new("takeout-derived-0123456789abcdef");
        assert_eq!(d.made_at(), None);
        assert_eq!(d.is_newer_than(&a), None);
        assert!(!ExportId::new("takeout-2025092XT101010Z").is_dated());
        assert!(!ExportId::new("takeout-20251321T101010Z").is_dated());
        assert!(!ExportId::new("takeout-").is_dated());
    }

    #[test]
    fn an_export_is_full_only_when_it_holds_nearly_everything_seen_before() {
        let id = ExportId::new("takeout-20260801T000000Z");
        // A first export: nothing to compare with.
        let first = infer_kind(&id, Coverage::default());
        assert_eq!(first.kind, ExportKind::Incremental);
        assert!(first.reason.contains("--full"), "{}", first.reason);
        // A two-month delta: a handful of edited items, thousands absent.
        let delta = infer_kind(
            &id,
            Coverage {
                held_known: 2,
                absent: 2998,
            },
        );
        assert_eq!(delta.kind, ExportKind::Incremental);
        assert!(delta.reason.contains("exports mark"), "{}", delta.reason);
        // A full export of a library that lost 1 %.
        let full = infer_kind(
            &id,
            Coverage {
                held_known: 2970,
                absent: 30,
            },
        );
        assert_eq!(full.kind, ExportKind::Full);
        assert_eq!(full.by, KindBy::Photobak);
        // One that lost 3 % needs the user's word.
        let lost = infer_kind(
            &id,
            Coverage {
                held_known: 2910,
                absent: 90,
            },
        );
        assert_eq!(lost.kind, ExportKind::Incremental);
    }

    #[test]
    fn kinds_round_trip_through_text() {
        for k in [
            ExportKind::Full,
            ExportKind::Incremental,
            ExportKind::Unknown,
        ] {
            assert_eq!(k.as_str().parse::<ExportKind>().unwrap(), k);
        }
        assert!("partial".parse::<ExportKind>().is_err());
        assert!(ExportKind::Full.is_evidence());
        assert!(!ExportKind::Unknown.is_evidence());
        assert!(!ExportKind::Incremental.is_evidence());
    }
}
