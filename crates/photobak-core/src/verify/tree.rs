//! The structural checks of `verify`: the tree walked for files the index does not know and
//! for leftovers of interrupted writes, and every album's `others.txt` compared with what the
//! index says it must hold. Each folder's files are looked up in the index as the walk
//! reaches it, instead of in a set of every stored file's path held for the whole walk, and
//! each album's `others.txt` is made from its own members: what is held is one folder's names
//! or one album's lines, not every stored file's.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::{Error, Result};
use crate::index::{INDEX_FILE, Index};
use crate::manifest::MANIFEST_FILE;
use crate::repo::others::{OTHERS_FILE, others_lines_on};
use crate::repo::{Repo, WORK_DIR};

use super::OthersProblem;

/// Files that belong to the tree without being stored content.
pub(super) fn ignored(rel: &str) -> bool {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    let top_level = !rel.contains('/');
    (top_level && (name.starts_with(INDEX_FILE) || name == MANIFEST_FILE || is_log(name)))
        || name == OTHERS_FILE
        || name.to_ascii_lowercase().ends_with(".xmp")
        || name.eq_ignore_ascii_case("Thumbs.db")
        || name == ".DS_Store"
        || name.eq_ignore_ascii_case("desktop.ini")
}

/// A log kept at the repository root (`--log REPO/photobak.log`, rotated to `photobak.log.1`…).
fn is_log(name: &str) -> bool {
    match name.rsplit_once(".log") {
        Some((stem, rest)) => {
            !stem.is_empty()
                && (rest.is_empty()
                    || rest
                        .strip_prefix('.')
                        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())))
        }
        None => false,
    }
}

/// Temporary files of photobak's atomic writes (`.<name>.tmp-<pid>`) and staged downloads.
fn is_temp(name: &str) -> bool {
    (name.starts_with('.') && name.contains(".tmp-")) || name.ends_with(".part")
}

/// What the walk found: orphans, temporary leftovers and every `others.txt`, each sorted.
pub(super) type Walked = (Vec<String>, Vec<String>, Vec<String>);

/// Walks the repository: orphans, temporary leftovers, and every `others.txt`. Each folder's
/// files are looked up on `index` together ([`Stored`]).
pub(super) fn walk_tree(repo: &Repo, index: &Index) -> Result<Walked> {
    let mut orphans = Vec::new();
    let mut temps = Vec::new();
    let mut others = Vec::new();
    let mut stack = vec![String::new()];
    while let Some(rel_dir) = stack.pop() {
        let dir = repo.abs(&rel_dir);
        let reading = |e| Error::io(format!("reading {}", dir.display()), e);
        let rel_of = |name: &str| {
            if rel_dir.is_empty() {
                name.to_string()
            } else {
                format!("{rel_dir}/{name}")
            }
        };
        let mut files = Vec::new();
        for e in std::fs::read_dir(&dir).map_err(reading)? {
            let e = e.map_err(reading)?;
            let name = e.file_name().to_string_lossy().to_string();
            let ft = e
                .file_type()
                .map_err(|err| Error::io(format!("reading {}", e.path().display()), err))?;
            if !ft.is_dir() {
                files.push(name);
                continue;
            }
            let rel = rel_of(&name);
            if rel == WORK_DIR {
                // Only the staging area of downloads matters here; the lock and the trash are
                // photobak's own.
                if let Ok(rd) = std::fs::read_dir(repo.tmp_dir()) {
                    for t in rd.flatten() {
                        temps.push(format!(
                            "{WORK_DIR}/tmp/{}",
                            t.file_name().to_string_lossy()
                        ));
                    }
                }
                continue;
            }
            stack.push(rel);
        }
        let stored = Stored::of(index, &rel_dir, &files)?;
        for name in files {
            let rel = rel_of(&name);
            if stored.contains(index, &name, &rel)? {
                // A stored file, whatever its name looks like (a photo named `x.part`).
                continue;
            } else if is_temp(&name) {
                temps.push(rel);
            } else if name == OTHERS_FILE {
                others.push(rel);
            } else if !ignored(&rel) {
                orphans.push(rel);
            }
        }
    }
    orphans.sort();
    temps.sort();
    others.sort();
    Ok((orphans, temps, others))
}

/// Which files of one folder are stored files. A folder of many files reads the names of its
/// stored files in one range of the path index (every stored file below it, of which it keeps
/// its own: held for one folder at a time); a folder of a few files, and the repository's
/// root (whose range is the whole table), looks each up. A lookup per file cost a descent of
/// the index each, the walk's whole time at 100,000 files.
enum Stored {
    /// The names of the folder's stored files.
    Names(std::collections::HashSet<String>),
    /// Each file is looked up.
    Lookup,
}

/// Files in a folder above which its stored files are read in one range.
const FEW_FILES: usize = 32;

impl Stored {
    fn of(index: &Index, rel_dir: &str, files: &[String]) -> Result<Stored> {
        if rel_dir.is_empty() || files.len() <= FEW_FILES {
            return Ok(Stored::Lookup);
        }
        let prefix = format!("{rel_dir}/");
        let mut names = std::collections::HashSet::new();
        index.each_content_path_under(rel_dir, |path| {
            if let Some(name) = path.strip_prefix(&prefix)
                && !name.contains('/')
            {
                names.insert(name.to_string());
            }
        })?;
        Ok(Stored::Names(names))
    }

    fn contains(&self, index: &Index, name: &str, rel: &str) -> Result<bool> {
        match self {
            Stored::Names(names) => Ok(names.contains(name)),
            Stored::Lookup => index.content_at(rel),
        }
    }
}

/// The `others.txt` of every album, by file: its album's id and folder.
fn album_others_files(index: &Index) -> Result<BTreeMap<String, (i64, String)>> {
    let mut out = BTreeMap::new();
    for account in index.accounts()? {
        for album in index.albums(account.id)? {
            out.insert(
                format!("{}/{OTHERS_FILE}", album.folder),
                (album.id, album.folder),
            );
        }
    }
    Ok(out)
}

/// Compares every `others.txt` (those on disk, and those the index says must exist) with what
/// it must hold ([`others_lines_on`], the rule of `Repo::refresh_all_others`), one album at a
/// time.
pub(super) fn check_others(
    repo: &Repo,
    index: &Index,
    on_disk: &[String],
) -> Result<Vec<OthersProblem>> {
    let albums = album_others_files(index)?;
    let mut problems = Vec::new();
    let mut files: BTreeSet<&String> = on_disk.iter().collect();
    files.extend(albums.keys());
    for file in files {
        let want: BTreeSet<String> = match albums.get(file) {
            Some((id, folder)) => others_lines_on(index, *id, folder)?.into_iter().collect(),
            None => BTreeSet::new(),
        };
        let exists = on_disk.binary_search(file).is_ok();
        if want.is_empty() && !exists {
            continue;
        }
        let text = std::fs::read_to_string(repo.abs(file)).unwrap_or_default();
        let actual: BTreeSet<String> = text
            .lines()
            .map(|l| l.trim_end_matches('\r').to_string())
            .filter(|l| !l.is_empty())
            .collect();
        for line in &actual {
            // A line the album must hold names a stored file (that is how it was made); any
            // other is looked up.
            let stored = want.contains(line) || index.content_at(line)?;
            let is_file = stored && repo.abs(line).is_file();
            let kind = if !is_file {
                "dangling"
            } else if want.contains(line) {
                continue;
            } else {
                "unexpected"
            };
            problems.push(OthersProblem {
                file: file.clone(),
                line: line.clone(),
                kind: kind.into(),
            });
        }
        for line in &want {
            if !actual.contains(line) {
                problems.push(OthersProblem {
                    file: file.clone(),
                    line: line.clone(),
                    kind: "missing".into(),
                });
            }
        }
    }
    Ok(problems)
}
