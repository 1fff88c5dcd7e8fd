//! Pass 2: stream the media bytes, part by part in archive order.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};

use crate::guard::{Capped, is_bomb};
use crate::parts::{self, validate_path};
use crate::{Catalog, Error, MediaEntry, PartFormat, Problem, ProblemKind};

/// Read buffer of a zip part, at most. The inflater asks for 32 KiB at a time; with an 8 KiB
/// buffer every one of those was a `read` of its own (some 200,000 for a 2 GB export).
const ZIP_READ_BUFFER: usize = 256 * 1024;

/// Read buffer of a zip part, at least (the standard library's default).
const ZIP_READ_BUFFER_MIN: usize = 8 * 1024;

/// The read buffer for a zip part whose wanted entries are these: about their average size.
/// An entry reached by a relative seek within the buffer costs no read, but one past it empties
/// the buffer, and the refill reads a whole buffer: 256 KiB for each 4 KB photo of a resumed
/// import that wants one entry in ten would read 64 times its bytes.
fn zip_read_buffer(wanted: &Wanted<'_>) -> usize {
    let (n, bytes) = wanted
        .values()
        .flatten()
        .fold((0u64, 0u64), |(n, b), m| (n + 1, b.saturating_add(m.size)));
    let average = usize::try_from(bytes / n.max(1)).unwrap_or(usize::MAX);
    average
        .checked_next_power_of_two()
        .unwrap_or(usize::MAX)
        .clamp(ZIP_READ_BUFFER_MIN, ZIP_READ_BUFFER)
}

/// What the callback of [`for_each_selected_media`] wants next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    /// End the pass now (e.g. the destination disk is full).
    Stop,
}

/// Streams every media entry of the catalog to `f`, part by part in archive order. An error
/// returned by `f` (or a read error) becomes a [`Problem`] for that entry; the others go on.
/// `Err` only when no part with media could be opened at all.
pub fn for_each_media<E: Display>(
    catalog: &Catalog,
    mut f: impl FnMut(&MediaEntry, &mut dyn Read) -> Result<(), E>,
) -> Result<Vec<Problem>, Error> {
    for_each_selected_media(catalog, |_| true, |m, r| f(m, r).map(|()| Flow::Continue))
}

/// Like [`for_each_media`] for the entries `select` accepts (a part without any is not opened,
/// so a resumed import skips what it already has); `f` may end the pass with [`Flow::Stop`].
/// The selected entries are read from the catalog's store ([`crate::Media`]) and held for the
/// pass: a caller that streams a large export takes its entries in lists of its own
/// ([`for_each_listed_media`]).
pub fn for_each_selected_media<E: Display>(
    catalog: &Catalog,
    mut select: impl FnMut(&MediaEntry) -> bool,
    f: impl FnMut(&MediaEntry, &mut dyn Read) -> Result<Flow, E>,
) -> Result<Vec<Problem>, Error> {
    let mut selected = Vec::new();
    for m in catalog.media.in_record_order() {
        let m = m.map_err(Error::SpillRead)?;
        if select(&m) {
            selected.push(m);
        }
    }
    let listed: Vec<&MediaEntry> = selected.iter().collect();
    for_each_listed_media(catalog, &listed, f)
}

/// Like [`for_each_selected_media`] for a list of the catalog's entries, in any order (they are
/// read part by part in archive order). Several calls may run at once on different threads,
/// each with its own list (e.g. one part, or one stretch of a zip part, each): every call opens
/// the parts it needs itself.
pub fn for_each_listed_media<E: Display>(
    catalog: &Catalog,
    listed: &[&MediaEntry],
    mut f: impl FnMut(&MediaEntry, &mut dyn Read) -> Result<Flow, E>,
) -> Result<Vec<Problem>, Error> {
    let mut per_part: BTreeMap<usize, BTreeMap<usize, Vec<&MediaEntry>>> = BTreeMap::new();
    for &m in listed {
        per_part
            .entry(m.part())
            .or_default()
            .entry(m.entry_index as usize)
            .or_default()
            .push(m);
    }
    let mut s = Streamer {
        catalog,
        problems: Vec::new(),
        opened_any: false,
        stop: false,
    };
    let wanted_parts = per_part.len();
    for (part, wanted) in per_part {
        let format = catalog
            .parts
            .get(part)
            .map_or(PartFormat::Unknown, |p| p.format);
        match format {
            PartFormat::Zip => s.zip(part, &wanted, &mut f),
            PartFormat::Tgz | PartFormat::Tar => s.tar(part, format, &wanted, &mut f),
            PartFormat::Folder => s.folder(part, &wanted, &mut f),
            PartFormat::Unknown => s.lost(part, &wanted, "the part's format is unknown"),
        }
        if s.stop {
            break;
        }
    }
    if wanted_parts > 0 && !s.opened_any {
        return Err(Error::Unreadable(s.problems));
    }
    Ok(s.problems)
}

struct Streamer<'a> {
    catalog: &'a Catalog,
    problems: Vec<Problem>,
    opened_any: bool,
    stop: bool,
}

type Wanted<'a> = BTreeMap<usize, Vec<&'a MediaEntry>>;

impl Streamer<'_> {
    fn problem(&mut self, m: &MediaEntry, kind: ProblemKind, msg: impl Into<String>) {
        let part = &self.catalog.parts[m.part()].path;
        self.problems
            .push(Problem::new(part, Some(&m.path), kind, msg));
    }

    fn part_problem(&mut self, part: usize, kind: ProblemKind, msg: String) {
        let path = self.catalog.parts[part].path.clone();
        self.problems.push(Problem::new(&path, None, kind, msg));
    }

    /// Reports every wanted entry not delivered.
    fn lost(&mut self, part: usize, wanted: &Wanted<'_>, why: &str) {
        let _ = part;
        for list in wanted.values() {
            for m in list {
                self.problem(m, ProblemKind::Read, format!("not read: {why}"));
            }
        }
    }

    fn deliver<E: Display>(
        &mut self,
        m: &MediaEntry,
        r: &mut dyn Read,
        f: &mut impl FnMut(&MediaEntry, &mut dyn Read) -> Result<Flow, E>,
    ) {
        // An entry never yields more than its listed size.
        let mut capped = Capped::new(r, m.size);
        match f(m, &mut capped) {
            Ok(Flow::Continue) => {}
            Ok(Flow::Stop) => self.stop = true,
            Err(e) => self.problem(m, ProblemKind::Callback, e.to_string()),
        }
    }

    /// A zip part's wanted entries, each read through its local header ([`parts::zip_entry`]),
    /// in archive order from one buffered handle: entries that follow each other in the part
    /// cost no seek, and the part's central directory is not read again.
    fn zip<E: Display>(
        &mut self,
        part: usize,
        wanted: &Wanted<'_>,
        f: &mut impl FnMut(&MediaEntry, &mut dyn Read) -> Result<Flow, E>,
    ) {
        let path = self.catalog.parts[part].path.clone();
        let mut file = match File::open(&path) {
            Ok(file) => BufReader::with_capacity(zip_read_buffer(wanted), file),
            Err(e) => {
                self.part_problem(part, ProblemKind::Unreadable, format!("cannot open: {e}"));
                return self.lost(part, wanted, "the part cannot be opened");
            }
        };
        self.opened_any = true;
        for m in wanted.values().flatten() {
            if self.stop {
                return;
            }
            let Some(loc) = m.zip else {
                self.problem(
                    m,
                    ProblemKind::Read,
                    "not read: the listing has no place for it",
                );
                continue;
            };
            // Relative to where the handle stands, which keeps what is buffered: the next
            // entry's header usually follows the last entry's bytes.
            let moved = file.stream_position().and_then(|pos| {
                match i64::try_from(loc.header_start)
                    .ok()
                    .zip(i64::try_from(pos).ok())
                {
                    Some((to, from)) => file.seek_relative(to - from),
                    None => file.seek(SeekFrom::Start(loc.header_start)).map(drop),
                }
            });
            if let Err(e) = moved {
                self.problem(m, ProblemKind::Read, format!("cannot read: {e}"));
                continue;
            }
            match parts::zip_entry(&mut file, &loc, m.size, &m.path) {
                Ok(mut r) => self.deliver(m, &mut r, f),
                Err(e) => self.problem(m, ProblemKind::Read, format!("cannot read: {e}")),
            }
        }
    }

    fn tar<E: Display>(
        &mut self,
        part: usize,
        format: PartFormat,
        wanted: &Wanted<'_>,
        f: &mut impl FnMut(&MediaEntry, &mut dyn Read) -> Result<Flow, E>,
    ) {
        let path = self.catalog.parts[part].path.clone();
        let mut ar = match parts::open_tar(&path, format, &self.catalog.limits) {
            Ok(a) => a,
            Err(e) => {
                self.part_problem(part, ProblemKind::Unreadable, format!("cannot open: {e}"));
                return self.lost(part, wanted, "the part cannot be opened");
            }
        };
        self.opened_any = true;
        let mut pending: Wanted<'_> = wanted.clone();
        let last = wanted.keys().next_back().copied().unwrap_or(0);
        match ar.entries() {
            Ok(entries) => {
                for (ordinal, res) in entries.enumerate() {
                    if pending.is_empty() || ordinal > last || self.stop {
                        break;
                    }
                    let mut entry = match res {
                        Ok(e) => e,
                        Err(e) => {
                            let kind = if is_bomb(&e) {
                                ProblemKind::Bomb
                            } else {
                                ProblemKind::Corrupt
                            };
                            self.part_problem(
                                part,
                                kind,
                                format!("archive broken after {ordinal} entries: {e}"),
                            );
                            break;
                        }
                    };
                    let Some(list) = pending.remove(&ordinal) else {
                        continue;
                    };
                    let name = String::from_utf8(entry.path_bytes().into_owned()).ok();
                    for m in list {
                        if name
                            .as_deref()
                            .and_then(|n| validate_path(n).ok())
                            .as_deref()
                            != Some(&*m.path)
                        {
                            self.problem(
                                m,
                                ProblemKind::Read,
                                "the part changed since the scan (entry not at its position)",
                            );
                            continue;
                        }
                        self.deliver(m, &mut entry, f);
                    }
                }
            }
            Err(e) => self.part_problem(
                part,
                ProblemKind::Corrupt,
                format!("not a readable tar stream: {e}"),
            ),
        }
        if !self.stop {
            self.lost(part, &pending, "the archive ended before this entry");
        }
    }

    fn folder<E: Display>(
        &mut self,
        part: usize,
        wanted: &Wanted<'_>,
        f: &mut impl FnMut(&MediaEntry, &mut dyn Read) -> Result<Flow, E>,
    ) {
        let root = self.catalog.parts[part].path.clone();
        if root.is_dir() {
            self.opened_any = true;
        }
        for list in wanted.values() {
            for m in list {
                if self.stop {
                    return;
                }
                let mut p = root.clone();
                p.extend(m.path.split('/'));
                match std::fs::symlink_metadata(&p) {
                    Ok(meta) if meta.file_type().is_symlink() => {
                        self.problem(
                            m,
                            ProblemKind::Link,
                            "became a symbolic link since the scan; skipped",
                        );
                        continue;
                    }
                    _ => {}
                }
                match File::open(&p) {
                    Ok(file) => self.deliver(m, &mut BufReader::new(file), f),
                    Err(e) => self.problem(m, ProblemKind::Read, format!("cannot open: {e}")),
                }
            }
        }
    }
}
