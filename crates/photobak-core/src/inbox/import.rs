//! An export the inbox decided to import: every part opened, the import on the engine, its
//! parts recorded, and their removal when asked and proven safe.

use super::*;

/// Checks that every part opens, imports the export, records its parts, and removes them when
/// asked and safe.
pub(super) fn import_export(
    repo: &Arc<Repo>,
    opts: &InboxOptions,
    report: &mut ExportReport,
    chosen: &[Chosen],
    progress: &Arc<dyn Progress>,
    cancel: &CancellationToken,
) -> Result<()> {
    let waiting = |report: &mut ExportReport, name: &str| {
        report.decision = Decision::Waiting;
        report.why = format!("still being written: {name} changed during this run");
    };
    // Fingerprints of parts seen for the first time (two MiB each): what the record keeps.
    let mut fps = Vec::with_capacity(chosen.len());
    for c in chosen {
        let fp = match c.fingerprint {
            Some(fp) => fp,
            None => match fingerprint(&c.found.path, c.found.size) {
                Ok(fp) => fp,
                Err(e) => {
                    report.decision = Decision::Incomplete;
                    report.why = format!("cannot read {}: {e}", c.found.name);
                    return Ok(());
                }
            },
        };
        fps.push(fp);
    }
    if let Some(f) = changed_on_disk(chosen) {
        waiting(report, &f.name);
        return Ok(());
    }
    let seen: Vec<PartSeen<'_>> = chosen
        .iter()
        .zip(&fps)
        .flat_map(|(c, fp)| c.files().map(|f| f.seen(*fp)))
        .collect();
    if report.decision != Decision::AlreadyImported {
        repo.index.note_parts_seen(&seen)?;
    }
    // Every part must open as an archive before anything is recorded of the export: a
    // truncated download would otherwise be imported as an export lacking items. (For a zip
    // this reads its directory, twice, and its JSON; a tgz is streamed once more.)
    let paths: Vec<PathBuf> = chosen.iter().map(|c| c.found.path.clone()).collect();
    let catalog = match crate::takeout_import::scan_with_scratch(repo, &paths)? {
        Ok(c) => c,
        // Listed otherwise the second time: still being written or synced.
        Err(photobak_takeout::Error::Changed(part)) => {
            let name = part.file_name().map_or_else(
                || part.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            );
            waiting(report, &name);
            return Ok(());
        }
        Err(e) => {
            report.decision = Decision::Incomplete;
            report.why = format!("no part can be read as an archive: {e}");
            return Ok(());
        }
    };
    let broken: Vec<String> = catalog
        .parts
        .iter()
        .filter(|p| !p.readable)
        .map(|p| p.path.display().to_string())
        .chain(
            catalog
                .problems
                .iter()
                .filter(|p| {
                    p.entry.is_none()
                        && matches!(p.kind, ProblemKind::Corrupt | ProblemKind::Unreadable)
                })
                .map(ToString::to_string),
        )
        .collect();
    if !broken.is_empty() {
        report.decision = Decision::Incomplete;
        report.why = format!(
            "a part cannot be read as an archive (a truncated download?): {}; imported once \
             it can",
            broken.join("; ")
        );
        return Ok(());
    }
    let costly = catalog
        .problems
        .iter()
        .filter(|p| !harmless(p.kind))
        .count();
    drop(catalog);

    let import_opts = ImportOptions {
        parts: paths,
        ..opts.import.clone()
    };
    let s = match import(repo, &import_opts, progress, cancel) {
        Ok(s) => s,
        Err(Error::Cancelled) => return Err(Error::Cancelled),
        Err(e) => {
            // A part that changed while the import read it (its scan stops on a part listed
            // otherwise the second time) is still being written: read again next run.
            match changed_on_disk(chosen) {
                Some(f) => waiting(report, &f.name),
                None => report.error = Some(e.to_string()),
            }
            return Ok(());
        }
    };
    let ok = s.ok();
    let account = repo.ensure_account(&s.account)?;
    report.import = Some(s);
    if let Some(f) = changed_on_disk(chosen) {
        // Read while it changed: not recorded, so the next run reads it again.
        report.why = format!(
            "{}; {} changed while it was read, so it is read again on the next run",
            report.why, f.name
        );
        return Ok(());
    }
    if !ok {
        // Not recorded as imported: the next run tries again (reading only what is missing).
        if opts.remove_imported {
            let failed = report.import.as_ref().map_or(0, |s| s.failed.len());
            report.removal = Some(format!(
                "parts kept: {failed} entries failed; the next run reads them again"
            ));
        }
        return Ok(());
    }
    repo.index
        .mark_parts_imported(&seen, account.id, &opts.import.store_options().to_record())?;
    report.imported = true;
    if opts.remove_imported {
        remove_parts(repo, report, chosen, account.id, costly, cancel)?;
    }
    Ok(())
}

/// The one call into the Takeout importer.
pub(super) fn import(
    repo: &Arc<Repo>,
    opts: &ImportOptions,
    progress: &Arc<dyn Progress>,
    cancel: &CancellationToken,
) -> Result<RunSummary> {
    // The inbox runs on a blocking thread of the runtime; the import is the engine's, async.
    tokio::runtime::Handle::current().block_on(import_takeout(
        repo.clone(),
        opts,
        progress.clone(),
        cancel.clone(),
    ))
}

/// Removes the parts of an export just imported with no failed entry, when nothing in the
/// import may have cost an item and every stored file its items name re-hashes clean.
pub(super) fn remove_parts(
    repo: &Repo,
    report: &mut ExportReport,
    chosen: &[Chosen],
    account_id: i64,
    costly_problems: usize,
    cancel: &CancellationToken,
) -> Result<()> {
    let Some(s) = report.import.as_ref() else {
        return Ok(());
    };
    let mut blockers = Vec::new();
    if !s.failed.is_empty() {
        blockers.push(format!("{} entries failed", s.failed.len()));
    }
    if costly_problems > 0 {
        blockers.push(format!(
            "{costly_problems} problems in the export may have cost an item"
        ));
    }
    let trash: u64 = s
        .skipped
        .iter()
        .filter(|(k, _)| k.starts_with("in Trash"))
        .map(|(_, n)| n)
        .sum();
    if trash > 0 {
        blockers.push(format!(
            "{trash} items in its Trash were not imported (--include-trash)"
        ));
    }
    let items = s.items;
    let mut files_checked = 0;
    if let Some(run) = repo.index.last_import_run(account_id)? {
        let (without_file, files) = repo.index.files_seen_by_run(run)?;
        if without_file > 0 {
            blockers.push(format!("{without_file} of its items have no stored file"));
        }
        let (read, damaged) = crate::verify::rehash_files(repo, &files, cancel)?;
        files_checked = read;
        if !damaged.is_empty() {
            let paths: Vec<&str> = damaged.iter().take(5).map(|d| d.path.as_str()).collect();
            blockers.push(format!(
                "{} stored files did not verify ({})",
                damaged.len(),
                paths.join(", ")
            ));
        }
    } else {
        blockers.push("its import run is not recorded".into());
    }
    if !blockers.is_empty() {
        report.removal = Some(format!("parts kept: {}", blockers.join("; ")));
        return Ok(());
    }
    let mut kept = Vec::new();
    for f in chosen.iter().flat_map(Chosen::files) {
        if !f.unchanged_on_disk() {
            kept.push(format!("{} changed since it was read", f.name));
            continue;
        }
        match std::fs::remove_file(&f.path) {
            Ok(()) => {
                repo.index.mark_part_removed(&f.location, &f.name)?;
                report.removed.push(f.name.clone());
                report.removed_bytes += f.size;
            }
            Err(e) => kept.push(format!("{}: {e}", f.name)),
        }
    }
    let mut why = format!(
        "removed {} parts: imported with no failed entry and no problem that could cost an \
         item, and the {files_checked} stored files of its {items} items re-hashed clean",
        report.removed.len()
    );
    if !kept.is_empty() {
        why.push_str(&format!("; kept {}", kept.join("; ")));
    }
    report.removal = Some(why);
    Ok(())
}

/// The first file of the chosen parts that changed on disk since it was found (still being
/// written: the export is read again on the next run).
fn changed_on_disk(chosen: &[Chosen]) -> Option<&Found> {
    chosen
        .iter()
        .flat_map(Chosen::files)
        .find(|f| !f.unchanged_on_disk())
}
