//! The decision for one export of an inbox, from `stat` and the index alone: waiting,
//! incomplete, new, changed or already imported.

use super::*;

/// What a part is compared with its record.
pub(super) enum PartState {
    New,
    Unchanged,
    /// Same content, another modification time.
    Touched,
    Changed(&'static str),
}

/// Decides what to do with one export; the parts to import when it is to be imported.
pub(super) fn decide(
    repo: &Repo,
    export_id: &str,
    parts: Vec<Found>,
    records: &BTreeMap<(String, String), PartRecord>,
    opts: &InboxOptions,
) -> Result<(ExportReport, Option<Vec<Chosen>>)> {
    let names: Vec<String> = parts.iter().map(|p| p.name.clone()).collect();
    let with_parts = |mut r: ExportReport| {
        r.parts.clone_from(&names);
        r
    };
    if let Some(p) = parts.iter().find(|p| p.partial) {
        let why = format!("still being written: {}", p.name);
        return Ok((
            with_parts(ExportReport::new(export_id, Decision::Waiting, why)),
            None,
        ));
    }
    let settle_ns = i64::try_from(opts.settle.as_nanos()).unwrap_or(i64::MAX);
    let now = now_ns();
    // A file being written has a time of about now. A time in the future beyond the settle
    // window comes from a sync client keeping the remote time, or a skewed clock, not from a
    // write in progress: waiting for it would wait forever.
    let fresh = |p: &&Found| {
        let age = now.saturating_sub(p.mtime_ns);
        age < settle_ns && age > -settle_ns
    };
    if let Some(p) = parts.iter().find(fresh) {
        let why = format!(
            "still being written: {} was modified less than {} s ago",
            p.name,
            opts.settle.as_secs()
        );
        return Ok((
            with_parts(ExportReport::new(export_id, Decision::Waiting, why)),
            None,
        ));
    }

    // One file per part number. A browser's second download of a part (`… (1).zip`) with the
    // same content is the same part; two different files for one number need a person.
    let mut by_slot: BTreeMap<Slot, Vec<Found>> = BTreeMap::new();
    for p in parts {
        by_slot.entry(p.slot).or_default().push(p);
    }
    let mut chosen: Vec<Chosen> = Vec::new();
    for (slot, mut files) in by_slot {
        files.sort_by(|a, b| (a.name.len(), &a.name).cmp(&(b.name.len(), &b.name)));
        let mut fps = Vec::new();
        // Copies recorded as imported and unchanged were compared when they were imported:
        // a rerun reads neither again.
        let all_recorded = files.iter().all(|f| {
            records
                .get(&(f.location.clone(), f.name.clone()))
                .is_some_and(|r| {
                    r.imported_at.is_some()
                        && r.export_id == export_id
                        && r.size == f.size
                        && r.mtime_ns == Some(f.mtime_ns)
                })
        });
        if files.len() > 1 && !all_recorded {
            for f in &files {
                match fingerprint(&f.path, f.size) {
                    Ok(fp) => fps.push((f.size, fp)),
                    Err(e) => {
                        let why = format!("cannot read {}: {e}", f.name);
                        let r = ExportReport::new(export_id, Decision::Incomplete, why);
                        return Ok((with_parts(r), None));
                    }
                }
            }
            if fps.iter().any(|x| *x != fps[0]) {
                let list: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
                let why = format!(
                    "two different files for part {}: {}; remove the wrong one",
                    slot_text(slot),
                    list.join(", ")
                );
                let r = ExportReport::new(export_id, Decision::Incomplete, why);
                return Ok((with_parts(r), None));
            }
        }
        let first = files.remove(0);
        chosen.push(Chosen {
            found: first,
            fingerprint: fps.first().map(|x| x.1),
            copies: files,
        });
    }

    // Each part against what the index remembers of it.
    let mut states = Vec::with_capacity(chosen.len());
    for c in &mut chosen {
        let key = (c.found.location.clone(), c.found.name.clone());
        let state = match records.get(&key) {
            Some(r) if r.imported_at.is_some() && r.export_id == export_id => {
                if r.size != c.found.size {
                    PartState::Changed(if c.found.size > r.size {
                        "grew"
                    } else {
                        "was replaced"
                    })
                } else if r.mtime_ns == Some(c.found.mtime_ns) {
                    PartState::Unchanged
                } else {
                    let fp = match fingerprint(&c.found.path, c.found.size) {
                        Ok(fp) => fp,
                        Err(e) => {
                            let why = format!("cannot read {}: {e}", c.found.name);
                            let r = ExportReport::new(export_id, Decision::Incomplete, why);
                            return Ok((with_parts(r), None));
                        }
                    };
                    c.fingerprint = Some(fp);
                    if r.fingerprint == Some(fp) {
                        PartState::Touched
                    } else {
                        PartState::Changed("was replaced")
                    }
                }
            }
            _ => PartState::New,
        };
        states.push(state);
    }
    let imported_slots: BTreeSet<Slot> = records
        .values()
        .filter(|r| r.export_id == export_id && r.imported_at.is_some())
        .filter_map(|r| part_name(&r.name).map(|(p, _)| (p.segment, p.number)))
        .collect();
    let pending = states
        .iter()
        .any(|s| matches!(s, PartState::New | PartState::Changed(_)));
    // Parts as imported are read again when asked (`--reread`), or when their import stored
    // less than this run asks for (no Trash then, `--include-trash` now, …).
    let forced: Option<String> = if pending {
        None
    } else if opts.import.reread {
        Some("read again as asked (--reread)".into())
    } else {
        let wanted = opts.import.store_options();
        chosen.iter().find_map(|c| {
            records
                .get(&(c.found.location.clone(), c.found.name.clone()))
                .and_then(|r| wanted.not_covered_by(r.import_options.as_deref()))
                .map(|why| format!("{why}: read again"))
        })
    };
    if !pending && forced.is_none() {
        for (c, s) in chosen.iter().zip(&states) {
            if matches!(s, PartState::Touched) {
                repo.index
                    .touch_part(&c.found.location, &c.found.name, c.found.mtime_ns)?;
            }
        }
        let why = if opts.remove_imported {
            format!(
                "{} parts as imported; read again to check it before its parts are removed",
                chosen.len()
            )
        } else {
            format!("{} parts as imported: nothing to do", chosen.len())
        };
        let r = with_parts(ExportReport::new(export_id, Decision::AlreadyImported, why));
        // Removing its parts needs the list of items it delivered: the export is read again
        // (directories and JSON; no entry's bytes, as every item has its file).
        let again = opts.remove_imported;
        return Ok((r, again.then_some(chosen)));
    }

    // An export is read whole: every number from 001 to the highest one seen must be here.
    let present: BTreeSet<Slot> = chosen.iter().map(|c| c.found.slot).collect();
    let (missing, gone) = missing_parts(&present, &imported_slots);
    if !missing.is_empty() {
        let mut why = format!(
            "part{} {} missing (found {}); imported once every part is here",
            if missing.len() == 1 { "" } else { "s" },
            missing.join(", "),
            present
                .iter()
                .map(|s| slot_text(*s))
                .collect::<Vec<_>>()
                .join(", ")
        );
        if !gone.is_empty() {
            why.push_str(&format!(
                "; {} imported before and no longer here: a changed export is read whole, so \
                 put {} back",
                gone.join(", "),
                if gone.len() == 1 { "it" } else { "them" }
            ));
        }
        let mut r = with_parts(ExportReport::new(export_id, Decision::Incomplete, why));
        r.missing = missing;
        return Ok((r, None));
    }
    let changes: Vec<String> = chosen
        .iter()
        .zip(&states)
        .filter_map(|(c, s)| match s {
            PartState::New if !imported_slots.is_empty() => Some(format!("{} added", c.found.name)),
            PartState::Changed(how) => Some(format!("{} {how}", c.found.name)),
            _ => None,
        })
        .collect();
    let r = if imported_slots.is_empty() {
        let why = format!("{} parts, not imported before", chosen.len());
        ExportReport::new(export_id, Decision::New, why)
    } else if let (true, Some(why)) = (changes.is_empty(), forced) {
        ExportReport::new(export_id, Decision::Changed, why)
    } else {
        let why = format!("{} since its import", changes.join(", "));
        ExportReport::new(export_id, Decision::Changed, why)
    };
    Ok((with_parts(r), Some(chosen)))
}

/// Problems of a Takeout scan that never cost an item (the importer logs them as warnings):
/// other products skipped, a sidecar without a time, Google's failed videos and the Locked
/// Folder, both imported and reported.
pub(super) fn harmless(kind: ProblemKind) -> bool {
    matches!(
        kind,
        ProblemKind::Ignored
            | ProblemKind::MissingTime
            | ProblemKind::FailedVideo
            | ProblemKind::LockedFolder
    )
}
