//! `import takeout PART…` of an export already imported: decided from `stat` and the index,
//! without opening a part.
//!
//! Reading a 100,000-item export again to find that nothing changed took 13.6 s (every part's
//! directory and JSON parsed, every entry matched and checked against the index). The inbox
//! never did that: it records its parts and compares `stat` with the record. Parts named on
//! the command line now get records of their own (origin `explicit`: the part's folder and
//! file name, see `index/parts.rs`), written only after an import with no failed entry, and a
//! rerun skips the export only on all of this evidence:
//!
//! - every part is a file (an extracted folder's time says nothing of what is inside it, so
//!   folders are always read), recorded as imported, in the same set of parts as now (a part
//!   imported with others, named now with fewer or more, is read: the sidecars of one part's
//!   photos may be in another);
//! - each has the recorded size and modification time; a part with another time and the same
//!   size is compared by fingerprint (BLAKE3 of its first and last MiB and its size, the zip's
//!   directory with every entry's CRC-32 being at its end): same, a touched file, its new time
//!   remembered; different, read;
//! - one export id and one account for all, and that export's import finished;
//! - the earlier import stored at least what this one asks for
//!   ([`super::StoreOptions::not_covered_by`]: the same `--account`, Trash, XMP, file times,
//!   the kind when said);
//! - no Takeout item of the account lacks a whole stored file as the index knows it (none
//!   stored, or `verify` found it damaged): a re-import is how such a file is restored.
//!
//! Anything else is read exactly as before. `--reread` reads regardless (a file deleted from
//! the repository by hand is not in the index's knowledge until `verify` runs). A no-op keeps
//! the export's kind as it was decided at its import.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use tokio_util::sync::CancellationToken;

use super::{ImportOptions, import_takeout};
use crate::error::Result;
use crate::exports::KindBy;
use crate::inbox::fingerprint;
use crate::index::{PartRecord, PartSeen};
use crate::kinds::Source as SourceKind;
use crate::progress::Progress;
use crate::repo::Repo;
use crate::summary::{RunSummary, TakeoutReport};
use crate::task::blocking;

/// A part named on the command line, as `stat` saw it before the import.
#[derive(Debug, Clone)]
struct Named {
    location: String,
    name: String,
    path: PathBuf,
    size: u64,
    mtime_ns: i64,
}

/// What the index says about the parts named.
enum Check {
    /// Nothing to read.
    Already(Box<RunSummary>),
    /// Read them.
    Read,
}

/// Imports the parts of one export unless the index shows it imported already (see the module
/// doc), and records them after an import with no failed entry.
///
/// # Errors
/// As [`import_takeout`]; and when the index fails.
pub async fn import_parts(
    repo: Arc<Repo>,
    opts: &ImportOptions,
    progress: Arc<dyn Progress>,
    cancel: CancellationToken,
) -> Result<RunSummary> {
    let started = Instant::now();
    let (r, o) = (repo.clone(), opts.clone());
    let (named, check) = blocking(move || {
        let Some(named) = stat_parts(&o.parts) else {
            return Ok((None, Check::Read));
        };
        let check = check(&r, &o, &named)?;
        Ok((Some(named), check))
    })
    .await?;
    if let Check::Already(mut s) = check {
        s.elapsed_secs = started.elapsed().as_secs_f64();
        return Ok(*s);
    }
    // The fingerprints the records keep, of the parts as they are before reading (two MiB
    // each); a part that cannot be read here is simply not recorded.
    let named = match named {
        Some(named) => {
            blocking(move || {
                Ok(named
                    .into_iter()
                    .map(|n| fingerprint(&n.path, n.size).ok().map(|fp| (n, fp)))
                    .collect::<Option<Vec<_>>>())
            })
            .await?
        }
        None => None,
    };
    let summary = import_takeout(repo.clone(), opts, progress, cancel).await?;
    if let (true, Some(named), Some(t)) = (summary.ok(), named, summary.takeout.as_ref()) {
        let (export_id, account) = (t.export_id.clone(), summary.account.clone());
        let options = opts.store_options().to_record();
        blocking(move || record(&repo, &named, &export_id, &account, &options)).await?;
    }
    Ok(summary)
}

/// The parts as `stat` sees them (symbolic links followed), or None when one is not a plain
/// file or cannot be read.
fn stat_parts(parts: &[PathBuf]) -> Option<Vec<Named>> {
    parts
        .iter()
        .map(|p| {
            let abs = std::fs::canonicalize(p).ok()?;
            let meta = std::fs::metadata(&abs).ok()?;
            if !meta.is_file() {
                return None;
            }
            Some(Named {
                location: abs.parent()?.to_str()?.to_owned(),
                name: abs.file_name()?.to_str()?.to_owned(),
                size: meta.len(),
                mtime_ns: crate::inbox::mtime_ns(&meta),
                path: abs,
            })
        })
        .collect()
}

/// BLAKE3 of the set of parts (folder and name, sorted): which parts were imported together.
fn set_of(named: &[Named]) -> [u8; 32] {
    let mut keys: Vec<(&str, &str)> = named
        .iter()
        .map(|n| (n.location.as_str(), n.name.as_str()))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    let mut h = blake3::Hasher::new();
    for (location, name) in keys {
        h.update(location.as_bytes());
        h.update(b"\0");
        h.update(name.as_bytes());
        h.update(b"\0");
    }
    *h.finalize().as_bytes()
}

/// The evidence of the module doc, from the index and `stat` (and a fingerprint of a part
/// whose time alone changed).
fn check(repo: &Repo, opts: &ImportOptions, named: &[Named]) -> Result<Check> {
    if opts.reread {
        return Ok(Check::Read);
    }
    let keys: Vec<(String, String)> = named
        .iter()
        .map(|n| (n.location.clone(), n.name.clone()))
        .collect();
    let records = repo.index.explicit_parts(&keys)?;
    let find = |n: &Named| -> Option<&PartRecord> {
        records
            .iter()
            .find(|r| r.location == n.location && r.name == n.name)
    };
    let set = set_of(named);
    let wanted = opts.store_options();
    let mut touched = Vec::new();
    let mut first: Option<&PartRecord> = None;
    for n in named {
        let Some(r) = find(n).filter(|r| r.imported_at.is_some()) else {
            return Ok(Check::Read);
        };
        let first = *first.get_or_insert(r);
        let same_import = r.part_set == Some(set)
            && r.export_id == first.export_id
            && r.account_id.is_some()
            && r.account_id == first.account_id;
        if !same_import
            || r.size != n.size
            || wanted.not_covered_by(r.import_options.as_deref()).is_some()
        {
            return Ok(Check::Read);
        }
        if r.mtime_ns != Some(n.mtime_ns) {
            match fingerprint(&n.path, n.size) {
                Ok(fp) if r.fingerprint == Some(fp) => touched.push(n),
                _ => return Ok(Check::Read),
            }
        }
    }
    let Some(first) = first else {
        return Ok(Check::Read);
    };
    let Some(account_id) = first.account_id else {
        return Ok(Check::Read);
    };
    let Some(account) = repo
        .index
        .accounts()?
        .into_iter()
        .find(|a| a.id == account_id)
    else {
        return Ok(Check::Read);
    };
    let Some(export) = repo
        .index
        .exports(account_id)?
        .into_iter()
        .find(|e| e.export_id.as_str() == first.export_id && e.complete)
    else {
        return Ok(Check::Read);
    };
    if let Some(k) = opts.kind
        && (export.kind.kind != k || export.kind.by != KindBy::User)
    {
        return Ok(Check::Read);
    }
    if repo.index.takeout_items_lack_whole_files(account_id)? {
        return Ok(Check::Read);
    }
    for n in &touched {
        repo.index
            .touch_explicit_part(&n.location, &n.name, n.mtime_ns)?;
    }
    let mut why = format!(
        "its {} part{} {} recorded as imported with no failed entry and {} unchanged \
         (same size and time",
        named.len(),
        if named.len() == 1 { "" } else { "s" },
        if named.len() == 1 { "is" } else { "are" },
        if named.len() == 1 { "is" } else { "are" },
    );
    if !touched.is_empty() {
        why.push_str(&format!(
            "; {} touched, same content by fingerprint",
            touched.len()
        ));
    }
    why.push_str("), with options that stored as much; nothing read (--reread reads it again)");
    let mut s = RunSummary::new(&account.name, SourceKind::Takeout);
    s.items = export.items.unwrap_or(0);
    s.unchanged = s.items;
    s.takeout = Some(TakeoutReport {
        export_id: first.export_id.clone(),
        media_entries: export.media_entries,
        kind: Some(export.kind.clone()),
        already_imported: Some(why),
        ..Default::default()
    });
    Ok(Check::Already(Box::new(s)))
}

/// Records the parts of an import that finished with no failed entry, as they were before it
/// read them; not when one changed meanwhile (the next run reads it again).
fn record(
    repo: &Repo,
    named: &[(Named, [u8; 32])],
    export_id: &str,
    account: &str,
    options: &str,
) -> Result<()> {
    let unchanged = |n: &Named| {
        std::fs::metadata(&n.path)
            .is_ok_and(|m| m.len() == n.size && crate::inbox::mtime_ns(&m) == n.mtime_ns)
    };
    if !named.iter().all(|(n, _)| unchanged(n)) {
        return Ok(());
    }
    let account = repo.ensure_account(account)?;
    let set = set_of(&named.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>());
    let seen: Vec<PartSeen<'_>> = named
        .iter()
        .map(|(n, fp)| PartSeen {
            location: &n.location,
            name: &n.name,
            export_id,
            size: n.size,
            mtime_ns: n.mtime_ns,
            fingerprint: *fp,
        })
        .collect();
    repo.index
        .mark_explicit_parts_imported(&seen, account.id, options, set)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::exports::ExportKind;
    use crate::takeout_import::StoreOptions;

    #[test]
    fn store_options_round_trip_and_cover() {
        let base = StoreOptions {
            account: None,
            include_trash: false,
            xmp: false,
            mtime: true,
            kind: None,
        };
        let rec = base.to_record();
        assert_eq!(rec, "trash=0;xmp=0;mtime=1;kind=-");
        assert_eq!(StoreOptions::from_record(&rec), Some(base.clone()));
        let odd = StoreOptions {
            account: Some("a;b=c@x".into()),
            kind: Some(ExportKind::Full),
            ..base.clone()
        };
        assert_eq!(
            StoreOptions::from_record(&odd.to_record()),
            Some(odd.clone())
        );
        assert_eq!(StoreOptions::from_record("trash=2"), None);
        // The same options are covered; unknown ones never are.
        assert_eq!(base.not_covered_by(Some(&rec)), None);
        assert!(base.not_covered_by(None).is_some());
        // Asking for more than before reads again; asking for less does not.
        let trash = StoreOptions {
            include_trash: true,
            ..base.clone()
        };
        let why = trash.not_covered_by(Some(&rec)).unwrap();
        assert!(why.contains("--include-trash"), "{why}");
        assert_eq!(base.not_covered_by(Some(&trash.to_record())), None);
        let no_mtime = StoreOptions {
            mtime: false,
            ..base.clone()
        };
        assert!(base.not_covered_by(Some(&no_mtime.to_record())).is_some());
        assert!(odd.not_covered_by(Some(&rec)).is_some());
        let xmp = StoreOptions { xmp: true, ..base };
        assert!(xmp.not_covered_by(Some(&rec)).is_some());
    }

    #[test]
    fn the_set_of_parts_ignores_order_and_sees_a_missing_part() {
        let n = |name: &str| Named {
            location: "/p".into(),
            name: name.into(),
            path: Path::new("/p").join(name),
            size: 1,
            mtime_ns: 1,
        };
        let ab = set_of(&[n("a.zip"), n("b.zip")]);
        assert_eq!(ab, set_of(&[n("b.zip"), n("a.zip")]));
        assert_ne!(ab, set_of(&[n("a.zip")]));
    }
}
