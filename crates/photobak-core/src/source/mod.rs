//! Sources: where items come from (the Library API, Takeout exports; next the Picker and
//! Takeout fetched from Drive), behind one interface.
//!
//! A [`Source`] answers the three questions every command asks of any source, so the engine,
//! `prune` and `verify --repair` know nothing of Google types:
//!
//! - [`Source::list`]: hand everything you have for this run to the engine's [`Intake`] (albums,
//!   then items with a way to fetch their bytes). The engine records them, decides what needs
//!   bytes, runs the fetches on its one download pool, stores, counts and finishes
//!   ([`crate::engine`]).
//! - [`Source::holdings`]: what does it hold now, and how complete is that statement
//!   ([`Completeness`]: a full listing, a delta, or unknown)? Only a full statement can make an
//!   item gone; prune names the evidence it came from.
//! - [`Source::fetch`]: give me this item's bytes again (into the repository's staging area,
//!   hashed and fsynced, ready for the one ingest path), or say what the user must do instead
//!   (import an export again).
//!
//! Which sources an account has is decided in one place, [`Sources::for_account`]: adding a
//! source is a new module here and one line there (docs/architecture.md).

pub mod library;
pub mod picker;
pub mod takeout;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use futures::future::BoxFuture;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::error::{Error, Result};
use crate::google::GoogleAccess;
use crate::google::http::Pacer;
use crate::index::{Account, ItemMeta};
use crate::ingest::Stored;
use crate::kinds::{AlbumKind, Source as SourceKind};
use crate::progress::Progress;
use crate::repo::Repo;
use crate::repo::store::Staged;
use crate::summary::RunSummary;

pub use library::ListedAlbum;

/// How much of what a source holds a statement covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Completeness {
    /// Everything the source holds now: what it does not hold is gone from it.
    Full,
    /// Only what changed since an earlier statement (an incremental export): what it does not
    /// hold says nothing.
    Delta,
    /// The source cannot say (it cannot list, or nothing complete was seen yet).
    Unknown,
}

/// Which items a statement names, in the form the source knows them.
#[derive(Debug, Clone, Default)]
pub enum Listed {
    /// Nothing: the statement says nothing about single items.
    #[default]
    Nothing,
    /// Every item the source holds, by the source's own id (a complete API listing).
    RemoteIds(BTreeSet<String>),
    /// The items the source no longer holds, by index row id, each with its evidence (a full
    /// Takeout export made after the item was last seen lacks it).
    Gone(HashMap<i64, String>),
}

/// What one source of one account holds now.
#[derive(Debug, Clone)]
pub struct Holdings {
    /// The source.
    pub source: SourceKind,
    /// How complete the statement is.
    pub completeness: Completeness,
    /// The items it names.
    pub listed: Listed,
    /// Its albums by the source's id, when the source has albums of its own and listed them.
    pub albums: Option<BTreeMap<String, ListedAlbum>>,
    /// Why the statement cannot be trusted; any problem makes prune refuse.
    pub problems: Vec<String>,
    /// What the statement rests on, in words (shown by prune).
    pub evidence: Option<String>,
}

impl Holdings {
    /// A statement that says nothing (the source cannot tell).
    pub fn unknown(source: SourceKind) -> Holdings {
        Holdings {
            source,
            completeness: Completeness::Unknown,
            listed: Listed::Nothing,
            albums: None,
            problems: vec![],
            evidence: None,
        }
    }

    /// Why the source no longer holds an item, when its statement is complete enough to say
    /// so; None when it holds the item or cannot tell.
    pub fn absence(&self, item_id: i64, remote_id: &str) -> Option<String> {
        // A statement with problems still names its absences: prune shows them in its plan
        // and refuses to act on any of them.
        if self.completeness != Completeness::Full {
            return None;
        }
        match &self.listed {
            Listed::Nothing => None,
            Listed::RemoteIds(ids) => (!ids.contains(remote_id))
                .then(|| format!("no longer in the {}", source_name(self.source))),
            Listed::Gone(gone) => gone.get(&item_id).cloned(),
        }
    }
}

/// The source as people call it.
pub fn source_name(s: SourceKind) -> &'static str {
    match s {
        SourceKind::Library => "Library API",
        SourceKind::Picker => "Picker",
        SourceKind::Takeout => "Takeout",
        SourceKind::Derived => "repository",
    }
}

/// One item, as a source is asked to fetch it.
#[derive(Debug, Clone)]
pub struct ItemRef {
    /// The source's id of the item.
    pub remote_id: String,
    /// Its file name, for messages.
    pub filename: String,
    /// The source's reference recorded in its provenance (a Takeout export id).
    pub source_ref: Option<String>,
}

/// What a fetch gave.
#[derive(Debug)]
pub enum Fetched {
    /// The item's current bytes, staged in the repository.
    Bytes(Staged),
    /// The source cannot deliver single items; what the user can do instead.
    Unavailable(String),
}

/// Whether a lister should go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Go on.
    Continue,
    /// The run's limit (`--max-photos`) is reached: stop listing, finish what is queued.
    Stop,
}

/// An album as a source lists it.
#[derive(Debug, Clone)]
pub struct NewAlbum {
    /// The source's album id (Takeout: `takeout:FOLDER`).
    pub remote_id: String,
    /// Title.
    pub title: String,
    /// Description, when the source has one.
    pub description: Option<String>,
    /// User or automatic album.
    pub kind: AlbumKind,
    /// Raw source JSON (with `--everything`).
    pub raw_json: Option<String>,
}

/// Fetches one listed item's bytes into the repository's staging area. Run by the engine on
/// its download pool, only when the item needs bytes.
pub type FetchBytes =
    Box<dyn FnOnce(FetchContext) -> BoxFuture<'static, Result<Staged>> + Send + Sync>;

/// What a fetch gets from the engine.
#[derive(Clone)]
pub struct FetchContext {
    /// The run's cancellation (a quota or credentials stop cancels it too).
    pub cancel: CancellationToken,
    /// Where bytes are reported.
    pub progress: Arc<dyn Progress>,
    /// Fsync the staged file before handing it over (true), or leave that to the engine, which
    /// makes a group of fetched files durable with one `syncfs` before it places any of them
    /// (false: [`crate::repo::Repo::sync_staged`]).
    pub sync: bool,
}

/// How the engine gets a listed item's bytes.
pub enum Bytes {
    /// Fetch them on the download pool when the item needs them.
    Fetch(FetchBytes),
    /// Not available yet (a video Google is still processing): counted as skipped for this
    /// reason, fetched on a later run.
    NotReady(String),
}

/// One item as a source lists it.
pub struct ListedItem {
    /// The source's id of the item.
    pub remote_id: String,
    /// Its metadata.
    pub meta: ItemMeta,
    /// The album it was listed in (an id from [`Intake::album`]), if any.
    pub album: Option<i64>,
    /// The source's reference kept in its provenance (a Takeout export id).
    pub source_ref: Option<String>,
    /// How to get its bytes.
    pub bytes: Bytes,
}

/// Bytes a source delivers itself, for [`Intake::store`].
#[derive(Debug, Clone)]
pub struct Delivery<'a> {
    /// Index row of the item.
    pub item_id: i64,
    /// File name for a new file.
    pub filename: &'a str,
    /// Capture time, for the year folder of items in no album.
    pub taken_at: Option<i64>,
    /// The source already counted the item as updated or unchanged (it had a stored file);
    /// storing it now can only be a repair.
    pub counted: bool,
    /// The bytes replace another source's copy of the same photo on purpose (a Takeout
    /// original replacing a picked copy): reported by the source, not counted as a repair.
    pub replaces_copy: bool,
}

/// What a source hands its listing to: the engine, for one account's run. Obtained only from
/// [`crate::engine::Engine::run`].
pub trait Intake: Send + Sync {
    /// The account of the run.
    fn account(&self) -> &Account;
    /// The run's id (the index marks items seen by it).
    fn run_id(&self) -> i64;
    /// The run's cancellation.
    fn cancel(&self) -> &CancellationToken;
    /// Where progress is reported.
    fn progress(&self) -> Arc<dyn Progress>;
    /// Records an album of this source; the id is for [`ListedItem::album`].
    fn album(&self, album: NewAlbum) -> BoxFuture<'_, Result<i64>>;
    /// Records a listed item and, when it needs bytes (new, changed, or damaged with
    /// `--integrity`), fetches them on the engine's pool. Waits for a free download slot, so a
    /// listing never runs far ahead of the downloads.
    fn item(&self, item: ListedItem) -> BoxFuture<'_, Result<Flow>>;
    /// A page of listed items, as [`Intake::item`] each, in order. The engine records a page
    /// in one index transaction (a transaction per item cost more than its statements), so a
    /// lister that gets items by pages hands them over by pages.
    fn items(&self, items: Vec<ListedItem>) -> BoxFuture<'_, Result<Flow>> {
        Box::pin(async move {
            for item in items {
                if self.item(item).await? == Flow::Stop {
                    return Ok(Flow::Stop);
                }
            }
            Ok(Flow::Continue)
        })
    }
    /// Stores bytes the source delivers itself (the one ingest path) and counts them.
    /// Blocking: call it from a blocking thread.
    fn store(&self, delivery: &Delivery<'_>, staged: Staged) -> Result<Stored>;
    /// Marks an item for the finishing steps at the end of the run (capture time from the
    /// file, `.xmp`, modification time), whether or not its bytes were stored now.
    fn touched(&self, item_id: i64);
    /// Adds to the run's report what only the source knows.
    fn report(&self, f: &mut dyn FnMut(&mut RunSummary));
}

/// A place items come from.
pub trait Source: Send + Sync {
    /// Which source this is.
    fn kind(&self) -> SourceKind;

    /// Hands what the source has for this run to the engine. A source that can only be read
    /// in another way (Takeout items registered for prune come from an import) says so with an
    /// error.
    fn list(&self, _intake: Arc<dyn Intake>) -> BoxFuture<'_, Result<()>> {
        let kind = self.kind();
        Box::pin(async move {
            Err(Error::Invalid(format!(
                "the {} cannot be listed this way",
                source_name(kind)
            )))
        })
    }

    /// What the source holds now. Failures that make the statement untrustworthy are
    /// [`Holdings::problems`], not errors; errors are for the run as a whole (cancellation,
    /// the index).
    fn holdings<'a>(
        &'a self,
        cancel: &'a CancellationToken,
        progress: &'a dyn Progress,
    ) -> BoxFuture<'a, Result<Holdings>>;

    /// Fetches one item's current bytes into the repository's staging area.
    fn fetch<'a>(
        &'a self,
        item: &'a ItemRef,
        cancel: &'a CancellationToken,
    ) -> BoxFuture<'a, Result<Fetched>>;
}

/// The sources of an account, and why some could not be reached.
pub struct Sources {
    /// The sources, Library API first (it can fetch single items).
    pub sources: Vec<Box<dyn Source>>,
    /// Sources the account uses that cannot be reached (not authorised, no Google client).
    pub problems: Vec<String>,
}

impl Sources {
    /// The sources an account uses. One line per kind of source: this is where a new source
    /// registers.
    ///
    /// # Errors
    /// Index failures.
    pub fn for_account(
        repo: &Arc<Repo>,
        google: Option<&GoogleAccess>,
        account: &Account,
        pacer: &Arc<Pacer>,
    ) -> Result<Sources> {
        let mut out = Sources {
            sources: vec![],
            problems: vec![],
        };
        library::register(repo, google, account, pacer, &mut out)?;
        takeout::register(repo, account, &mut out)?;
        picker::register(repo, google, account, pacer, &mut out)?;
        Ok(out)
    }

    /// The source of a kind, if the account has it.
    pub fn get(&self, kind: SourceKind) -> Option<&dyn Source> {
        self.sources
            .iter()
            .find(|s| s.kind() == kind)
            .map(AsRef::as_ref)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_full_trustworthy_statement_makes_an_item_gone() {
        let mut h = Holdings {
            source: SourceKind::Library,
            completeness: Completeness::Full,
            listed: Listed::RemoteIds(["a".to_string()].into()),
            albums: None,
            problems: vec![],
            evidence: None,
        };
        assert_eq!(h.absence(1, "a"), None);
        assert_eq!(
            h.absence(2, "b").as_deref(),
            Some("no longer in the Library API")
        );
        h.completeness = Completeness::Delta;
        assert_eq!(h.absence(2, "b"), None, "a delta says nothing of absences");
        let t = Holdings {
            source: SourceKind::Takeout,
            completeness: Completeness::Full,
            listed: Listed::Gone([(7, "absent from full export X".to_string())].into()),
            albums: None,
            problems: vec![],
            evidence: None,
        };
        assert_eq!(
            t.absence(7, "takeout:x").as_deref(),
            Some("absent from full export X")
        );
        assert_eq!(t.absence(8, "takeout:y"), None);
        assert_eq!(Holdings::unknown(SourceKind::Picker).absence(1, "p"), None);
    }
}
