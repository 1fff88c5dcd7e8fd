//! Takeout as a [`Source`]: what the imported exports say an account holds. Its statement is
//! complete only on the word of a full export ([`crate::exports`]): then the items last seen
//! before that export was made are gone from it; without a full export it says nothing. It
//! cannot deliver single items: a damaged Takeout-only file is restored by importing its export
//! again.

use std::sync::Arc;

use futures::future::BoxFuture;
use tokio_util::sync::CancellationToken;

use super::{Completeness, Fetched, Holdings, ItemRef, Listed, Source, Sources};
use crate::error::Result;
use crate::exports::{evidence_text, takeout_verdict};
use crate::index::Account;
use crate::kinds::Source as SourceKind;
use crate::progress::Progress;
use crate::repo::Repo;

/// The imported Takeout exports of one account.
pub struct TakeoutSource {
    repo: Arc<Repo>,
    account: Account,
}

/// Adds Takeout to an account's sources when an export was imported into it.
pub(super) fn register(repo: &Arc<Repo>, account: &Account, out: &mut Sources) -> Result<()> {
    if !repo.index.exports(account.id)?.is_empty()
        || repo.index.account_uses(account.id, SourceKind::Takeout)?
    {
        out.sources.push(Box::new(TakeoutSource {
            repo: repo.clone(),
            account: account.clone(),
        }));
    }
    Ok(())
}

impl Source for TakeoutSource {
    fn kind(&self) -> SourceKind {
        SourceKind::Takeout
    }

    fn holdings<'a>(
        &'a self,
        cancel: &'a CancellationToken,
        _progress: &'a dyn Progress,
    ) -> BoxFuture<'a, Result<Holdings>> {
        Box::pin(async move {
            if cancel.is_cancelled() {
                return Err(crate::error::Error::Cancelled);
            }
            holdings(&self.repo.index, &self.account)
        })
    }

    fn fetch<'a>(
        &'a self,
        item: &'a ItemRef,
        _cancel: &'a CancellationToken,
    ) -> BoxFuture<'a, Result<Fetched>> {
        Box::pin(async move {
            Ok(Fetched::Unavailable(format!(
                "import {} again (photobak import takeout PARTS…)",
                item.source_ref
                    .clone()
                    .unwrap_or_else(|| "the Takeout export".into())
            )))
        })
    }
}

/// What the imported exports say the account holds (see the module docs).
///
/// # Errors
/// Index failures.
pub fn holdings(index: &crate::index::Index, account: &Account) -> Result<Holdings> {
    // An import that did not finish has stamped some items with its export id and not
    // others: comparing with it (or with the one before) would call present items gone.
    let problems = index
        .exports(account.id)?
        .into_iter()
        .filter(|e| !e.complete)
        .map(|e| {
            format!(
                "{}: the import of {} did not finish; import that export again first",
                account.name, e.export_id
            )
        })
        .collect();
    let verdict = takeout_verdict(index, account.id)?;
    let Some(ev) = &verdict.evidence else {
        return Ok(Holdings {
            problems,
            ..Holdings::unknown(SourceKind::Takeout)
        });
    };
    Ok(Holdings {
        source: SourceKind::Takeout,
        completeness: Completeness::Full,
        evidence: Some(evidence_text(ev)),
        listed: Listed::Gone(
            verdict
                .gone
                .into_iter()
                .map(|g| (g.item_id, g.reason))
                .collect(),
        ),
        albums: None,
        problems,
    })
}
