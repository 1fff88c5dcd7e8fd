//! Durable writes: stream to a temporary file while hashing, fsync, rename, fsync the folder.
//!
//! Nothing ever appears under a final name half-written, and nothing is recorded in the index
//! before its bytes are on disk. Temporary files live in `.photobak/tmp/` inside the repository,
//! on the same file system as their destination, so the rename is atomic. A crash between the
//! rename and the index commit leaves a file that the index does not know; the next run finds it
//! under the name it would choose anyway, sees the same hash, and adopts it instead of
//! downloading again.

use std::fs::{self, File};
use std::io::{BufRead, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use super::Repo;
use super::naming::numbered;
use crate::error::{Error, IoContext, Result};
use crate::meta::{FileMeta, read_file_meta};

/// Files of one group commit ([`Repo::begin_group`]), at most: the same bounds for both
/// committers, a Takeout import's bytes pass and the engine's for fetched files.
///
/// Each group costs a `syncfs` and a commit, and a commit writes every index page the group
/// changed: the entries' rows sit at random places of the content table's hash and path
/// indexes, so 256 entries of a 100,000-item library dirtied about a thousand pages, most of
/// them again in the next group. 1,024 entries share many of those pages: a first import of
/// 100,000 small photos took 54 s instead of 60 s on this machine's disk, 29 s instead of 34 s
/// on tmpfs (BENCHMARKS.md, session 18), for under 1 MiB more memory (the queue and the group's
/// names).
pub const GROUP_ENTRIES: usize = 1024;

/// Bytes of one group commit, at most.
pub const GROUP_BYTES: u64 = 64 << 20;

/// The longest a group stays open for more files: bounds what a crash makes the next run adopt
/// (or fetch) again, and how late `status` and the progress see a file stored. Long enough for
/// a full group of small files (about 3,000 a second are stored).
pub const GROUP_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// A file being written into the repository's temporary area.
pub struct StageWriter {
    path: PathBuf,
    out: Option<BufWriter<File>>,
    hasher: blake3::Hasher,
    size: u64,
}

/// A complete, fsynced temporary file and its hash, waiting to be placed.
#[derive(Debug)]
pub struct Staged {
    path: PathBuf,
    /// BLAKE3 of the bytes.
    pub hash: [u8; 32],
    /// Length in bytes.
    pub size: u64,
    /// What the bytes say about themselves, when read ahead by [`Staged::read_meta`].
    meta: Option<Result<FileMeta, String>>,
}

impl StageWriter {
    pub(super) fn create(tmp_dir: &Path) -> Result<StageWriter> {
        let mut name = [0u8; 12];
        getrandom::fill(&mut name).map_err(|e| Error::Invalid(format!("random: {e}")))?;
        let hex = hex(&name);
        let path = tmp_dir.join(format!("{hex}.part"));
        let file = File::create_new(&path).ctx(|| format!("creating {}", path.display()))?;
        Ok(StageWriter {
            path,
            out: Some(BufWriter::with_capacity(256 * 1024, file)),
            hasher: blake3::Hasher::new(),
            size: 0,
        })
    }

    /// Appends bytes, hashing them on the way.
    pub fn write(&mut self, chunk: &[u8]) -> Result<()> {
        self.hasher.update(chunk);
        self.size += chunk.len() as u64;
        let path = &self.path;
        self.out
            .as_mut()
            .expect("writer used after finish")
            .write_all(chunk)
            .ctx(|| format!("writing {}", path.display()))
    }

    /// Copies a whole reader in; returns the number of bytes.
    ///
    /// The buffer is the thread's, kept between calls: a fresh zeroed 256 KiB per file was a
    /// `memset` and a round of `malloc` consolidation for every file, on imports of 100,000
    /// files of a few KB each.
    pub fn copy_from(&mut self, reader: &mut dyn Read) -> Result<u64> {
        thread_local! {
            static COPY_BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        COPY_BUF.with(|b| {
            // Taken, not borrowed: a reader that stages another file inside its `read` (none
            // does) would get a buffer of its own instead of a panic.
            let mut buf = b.take();
            buf.resize(256 * 1024, 0);
            let copied = self.copy_through(reader, &mut buf);
            b.replace(buf);
            copied
        })
    }

    fn copy_through(&mut self, reader: &mut dyn Read, buf: &mut [u8]) -> Result<u64> {
        let start = self.size;
        loop {
            let n = match reader.read(buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::io("reading source", e)),
            };
            self.write(&buf[..n])?;
        }
        Ok(self.size - start)
    }

    /// Bytes written so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Flushes and fsyncs; the bytes are now durable under the temporary name.
    pub fn finish(self) -> Result<Staged> {
        self.finish_with(true)
    }

    /// Flushes without an fsync: for a group of staged files made durable together by
    /// [`Repo::sync_staged`] before any of them is placed.
    pub fn finish_unsynced(self) -> Result<Staged> {
        self.finish_with(false)
    }

    fn finish_with(mut self, sync: bool) -> Result<Staged> {
        let out = self.out.take().expect("finish called twice");
        let file = out
            .into_inner()
            .map_err(|e| Error::io(format!("writing {}", self.path.display()), e.into_error()))?;
        if sync {
            file.sync_all()
                .ctx(|| format!("syncing {}", self.path.display()))?;
        }
        Ok(Staged {
            path: std::mem::take(&mut self.path),
            hash: *self.hasher.finalize().as_bytes(),
            size: self.size,
            meta: None,
        })
    }
}

impl Drop for StageWriter {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            let _ = fs::remove_file(&self.path);
        }
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            let _ = fs::remove_file(&self.path);
        }
    }
}

impl Staged {
    /// Reads the file's metadata now, on the thread that staged it, for ingest to record
    /// instead of reading the placed file again.
    ///
    /// Ingest runs on the one committing thread, and reading a new file's EXIF there was a
    /// third of its work in a Takeout import of small photos (perf: `read_file_meta` 12.8 % of
    /// all samples against 32.5 % for the whole of `ingest`); the readers and fetches that
    /// stage the bytes run beside it, and the file is still in the page cache. The bytes are
    /// the ones hashed and placed (a staged file is never written again), so what is read is
    /// what reading the placed file would give. Wasted for bytes ingest links to an identical
    /// file instead, which costs the staging thread, not the committer.
    pub fn read_meta(&mut self) {
        self.meta = Some(read_file_meta(&self.path));
    }

    /// Sets what [`Staged::read_meta`] would have read, for tests of its use.
    #[cfg(test)]
    pub(crate) fn set_meta_for_test(&mut self, meta: Result<FileMeta, String>) {
        self.meta = Some(meta);
    }

    /// The metadata read ahead, if it was.
    pub(crate) fn take_meta(&mut self) -> Option<Result<FileMeta, String>> {
        self.meta.take()
    }

    /// Hex form of the hash.
    pub fn hash_hex(&self) -> String {
        hex(&self.hash)
    }
}

/// Lower-case hex of a digest.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    push_hex(&mut out, bytes);
    out
}

/// Appends `bytes` in lowercase hexadecimal to `out`. Without a `format!` per byte: this runs
/// for every listed item (its version fingerprint) and every manifest line.
pub fn push_hex(out: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
}

/// Hashes a file with BLAKE3, streaming.
pub fn hash_file(path: &Path) -> std::io::Result<([u8; 32], u64)> {
    let f = File::open(path)?;
    let len = f.metadata().map_or(0, |m| m.len());
    hash_open(f, len, &mut Vec::new())
}

/// [`hash_file`] with the buffer sized from `size_hint` (a recorded size: no `statx` to ask the
/// file system, 100,000 of them for `verify` at 100,000 files) and reused from `buf`: a file
/// that grew is still read to its end, and its length then differs from the record.
pub fn hash_file_sized(
    path: &Path,
    size_hint: u64,
    buf: &mut Vec<u8>,
) -> std::io::Result<([u8; 32], u64)> {
    hash_open(File::open(path)?, size_hint, buf)
}

/// BLAKE3 and length of an open file, read to its end through `buf`. The buffer fits the file
/// (one read and the end-of-file read for a small one), up to 1 MiB: a fresh 1 MiB buffer per
/// file was zeroed for every file, and that memset was 28 % of `verify`'s samples on 100,000
/// small photos.
fn hash_open(mut f: File, size_hint: u64, buf: &mut Vec<u8>) -> std::io::Result<([u8; 32], u64)> {
    let want = usize::try_from(size_hint.saturating_add(1))
        .unwrap_or(usize::MAX)
        .clamp(4096, 1024 * 1024);
    if buf.len() < want {
        buf.resize(want, 0);
    }
    let mut hasher = blake3::Hasher::new();
    let mut size = 0u64;
    loop {
        let n = match f.read(&mut buf[..want]) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok((*hasher.finalize().as_bytes(), size))
}

impl Repo {
    /// Starts a new temporary file.
    pub fn stage(&self) -> Result<StageWriter> {
        StageWriter::create(&self.tmp_dir())
    }

    /// Moves a staged file into `folder` (repository-relative) under `name (rank)` (plain `name`
    /// for rank 1), or the next free number when the index or the disk already has that name.
    /// Returns the repository-relative path.
    ///
    /// The caller's rank makes the numbering stable: it is the item's place among the items of
    /// that folder with that name, so the same library yields the same names whatever order
    /// concurrent downloads or archive parts deliver the bytes in.
    pub fn place_new(
        &self,
        mut staged: Staged,
        folder: &str,
        name: &str,
        rank: u32,
    ) -> Result<String> {
        let dir = self.abs(folder);
        create_dir_durably(&dir)?;
        let mut n = rank.max(1);
        loop {
            let rel = format!("{folder}/{}", numbered(name, n));
            n += 1;
            if self.index.path_in_use(&rel)? {
                continue;
            }
            let abs = self.abs(&rel);
            match fs::symlink_metadata(&abs) {
                Ok(meta) => {
                    // A file the index does not know: the leftover of a run that crashed between
                    // rename and commit. Adopt it when it holds exactly these bytes.
                    if meta.is_file()
                        && hash_file(&abs)
                            .map(|(h, _)| h == staged.hash)
                            .unwrap_or(false)
                    {
                        return Ok(rel);
                    }
                    continue;
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(format!("checking {}", abs.display()), e)),
            }
            self.rename_placed(&staged.path, &abs)?;
            staged.path = PathBuf::new();
            return Ok(rel);
        }
    }

    /// Atomically replaces the file at `rel` with a staged one (same path, new bytes).
    pub fn replace(&self, mut staged: Staged, rel: &str) -> Result<()> {
        let abs = self.abs(rel);
        if let Some(parent) = abs.parent() {
            create_dir_durably(parent)?;
        }
        self.rename_placed(&staged.path, &abs)?;
        staged.path = PathBuf::new();
        Ok(())
    }

    /// Renames a staged file into the tree; its folder is fsynced now, or at the end of the
    /// group when a group commit is open ([`Repo::begin_group`]).
    fn rename_placed(&self, from: &Path, to: &Path) -> Result<()> {
        let mut group = self.group.lock().unwrap_or_else(|p| p.into_inner());
        match group.as_mut() {
            Some(dirs) => {
                fs::rename(from, to)
                    .ctx(|| format!("renaming {} to {}", from.display(), to.display()))?;
                if let Some(parent) = to.parent() {
                    dirs.insert(parent.to_path_buf());
                }
                Ok(())
            }
            None => rename_durably(from, to),
        }
    }

    /// True where a group of staged files can be made durable with one call (`syncfs`).
    pub fn group_commit_supported(&self) -> bool {
        cfg!(target_os = "linux")
    }

    /// Makes every staged file durable at once (`syncfs` of the repository's file system):
    /// one journal commit for a group instead of one per file.
    ///
    /// # Errors
    /// When the file system cannot be synced.
    pub fn sync_staged(&self) -> Result<()> {
        let tmp = self.tmp_dir();
        #[cfg(target_os = "linux")]
        {
            let d = File::open(&tmp).ctx(|| format!("opening folder {}", tmp.display()))?;
            rustix::fs::syncfs(&d).map_err(|e| {
                Error::io(
                    format!("syncing the file system of {}", tmp.display()),
                    e.into(),
                )
            })?;
        }
        #[cfg(not(target_os = "linux"))]
        let _ = tmp;
        Ok(())
    }

    /// Opens a group commit: files placed from now on have their folders synced together by
    /// [`Repo::end_group`]. The caller makes their bytes durable before placing them
    /// ([`Repo::sync_staged`]) and commits their index rows only after `end_group`, so the
    /// index never names a file that a power cut could take back.
    pub fn begin_group(&self) {
        *self.group.lock().unwrap_or_else(|p| p.into_inner()) = Some(Default::default());
    }

    /// Closes the group: every folder a file was placed in is fsynced, once.
    ///
    /// # Errors
    /// When a folder cannot be synced.
    pub fn end_group(&self) -> Result<()> {
        let dirs = self
            .group
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .unwrap_or_default();
        for d in &dirs {
            sync_dir(d)?;
        }
        Ok(())
    }

    /// Closes the group without syncing its folders, for a caller whose next step is
    /// [`Repo::sync_staged`]: a `syncfs` makes every change of the file system durable, the
    /// renames into those folders included, at the cost of one journal commit where fsyncing
    /// the folders costs one each (a group of a Takeout import places files in a dozen folders,
    /// and those fsyncs took as long as the `syncfs` of the group's bytes). The caller commits
    /// the index rows of the group's files only after that `sync_staged`.
    pub fn end_group_unsynced(&self) {
        self.group.lock().unwrap_or_else(|p| p.into_inner()).take();
    }

    /// Moves a stored file out of the tree into `.photobak/trash/<date>/`, keeping its relative
    /// path, so nothing is lost by mistake; prune empties the trash later.
    pub fn move_to_trash(&self, rel: &str) -> Result<PathBuf> {
        let date = jiff::Timestamp::now().strftime("%Y-%m-%d").to_string();
        let dest = self.root.join(".photobak/trash").join(date).join(rel);
        if let Some(parent) = dest.parent() {
            create_dir_durably(parent)?;
        }
        let mut target = dest.clone();
        let mut n = 2;
        while target.exists() {
            target = dest.with_file_name(numbered(
                &dest.file_name().unwrap_or_default().to_string_lossy(),
                n,
            ));
            n += 1;
        }
        rename_durably(&self.abs(rel), &target)?;
        Ok(target)
    }
}

/// Renames and fsyncs the destination folder so the new name survives a power cut.
pub fn rename_durably(from: &Path, to: &Path) -> Result<()> {
    fs::rename(from, to).ctx(|| format!("renaming {} to {}", from.display(), to.display()))?;
    if let Some(parent) = to.parent() {
        sync_dir(parent)?;
    }
    Ok(())
}

/// Creates a folder and its missing parents, each one's entry fsynced in its parent.
pub fn create_dir_durably(dir: &Path) -> Result<()> {
    // The folders this call creates, deepest first: each one's entry lives in its parent, and
    // a power cut can lose an entry that was never synced (ext4's journal hides this; XFS and
    // btrfs do not), taking every file stored under the new folder with it.
    let mut created = Vec::new();
    let mut d = dir;
    while !d.exists() {
        created.push(d.to_path_buf());
        match d.parent() {
            Some(p) => d = p,
            None => break,
        }
    }
    if created.is_empty() {
        return Ok(());
    }
    fs::create_dir_all(dir).ctx(|| format!("creating folder {}", dir.display()))?;
    for c in created.iter().rev() {
        if let Some(parent) = c.parent() {
            sync_dir(parent)?;
        }
    }
    Ok(())
}

/// Fsyncs a directory (a no-op where directories cannot be opened).
pub fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        let d = File::open(dir).ctx(|| format!("opening folder {}", dir.display()))?;
        d.sync_all()
            .ctx(|| format!("syncing folder {}", dir.display()))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Writes a small file atomically (temp name, fsync, rename). Returns false, writing nothing,
/// when the file already has exactly these bytes.
///
/// The temporary file is made in `tmp_dir` (the repository's `.photobak/tmp/`, on the same file
/// system, so the rename stays atomic), never next to `path`: a run killed between create and
/// rename then leaves nothing in the tree, because every run empties `.photobak/tmp/` when it
/// takes the lock (crash consistency: "no temporary file left").
pub fn write_atomic_if_changed(tmp_dir: &Path, path: &Path, bytes: &[u8]) -> Result<bool> {
    let mut w = ReplaceWriter::new(tmp_dir, path);
    w.write_all(bytes)
        .ctx(|| format!("writing {}", path.display()))?;
    w.finish()
}

/// [`write_atomic_if_changed`] for a file written in pieces: the manifest of a large library
/// (15 MB at 100,000 files) was built as one string and compared with the whole old file read
/// into memory, a third of `verify`'s peak memory. This writer compares each piece with the old
/// file as it comes, and only at the first difference starts the temporary file, copying the
/// equal prefix from the old file. An unchanged file is read once and nothing is written.
pub struct ReplaceWriter {
    tmp_dir: PathBuf,
    path: PathBuf,
    /// The old file, while everything written so far equals its start.
    old: Option<std::io::BufReader<File>>,
    /// Bytes written so far that equal the old file's first bytes.
    same: u64,
    /// The temporary file's name, from the first difference on; removed on drop unless placed.
    tmp: Option<PathBuf>,
    out: Option<BufWriter<File>>,
    scratch: Vec<u8>,
}

impl ReplaceWriter {
    /// A writer that will replace `path`, staging in `tmp_dir`.
    pub fn new(tmp_dir: &Path, path: &Path) -> ReplaceWriter {
        ReplaceWriter {
            tmp_dir: tmp_dir.to_path_buf(),
            path: path.to_path_buf(),
            old: File::open(path)
                .ok()
                .map(|f| std::io::BufReader::with_capacity(64 * 1024, f)),
            same: 0,
            tmp: None,
            out: None,
            scratch: Vec::new(),
        }
    }

    /// The temporary file, started with the old file's first `same` bytes when there is none.
    fn out(&mut self) -> std::io::Result<&mut BufWriter<File>> {
        if self.out.is_none() {
            self.old = None;
            let mut rnd = [0u8; 8];
            getrandom::fill(&mut rnd).map_err(std::io::Error::other)?;
            let tmp = self.tmp_dir.join(format!(
                "{}.{}.tmp",
                self.path.file_name().unwrap_or_default().to_string_lossy(),
                hex(&rnd)
            ));
            let file = File::create_new(&tmp)?;
            self.tmp = Some(tmp);
            let mut out = BufWriter::with_capacity(256 * 1024, file);
            if self.same > 0 {
                let mut old = File::open(&self.path)?.take(self.same);
                if std::io::copy(&mut old, &mut out)? != self.same {
                    return Err(std::io::Error::other(format!(
                        "{} changed while it was being replaced",
                        self.path.display()
                    )));
                }
            }
            self.out = Some(out);
        }
        Ok(self.out.as_mut().expect("set above"))
    }

    /// Ends the write: nothing happens when the bytes equal the old file's, else the new file
    /// is fsynced and renamed over the old one (and its folder synced). Returns whether the
    /// file was replaced.
    ///
    /// # Errors
    /// File-system failures, naming the file; the temporary file is removed.
    pub fn finish(self) -> Result<bool> {
        match self.finish_written()? {
            Some(r) => r.place().map(|()| true),
            None => Ok(false),
        }
    }

    /// [`Self::finish`] without waiting on the disk: the new file written (not yet synced),
    /// to be synced and placed by [`Replacement::place`], by a caller that must not wait on
    /// the disk while it holds something (the index's connection); None when the bytes equal
    /// the old file's. Holds no buffer: what it returns is two paths.
    ///
    /// # Errors
    /// File-system failures, naming the file; the temporary file is removed.
    pub fn finish_written(mut self) -> Result<Option<Replacement>> {
        let path = self.path.clone();
        if let Some(old) = self.old.as_mut()
            && old.fill_buf().is_ok_and(<[u8]>::is_empty)
        {
            return Ok(None);
        }
        self.out()
            .and_then(|out| out.flush())
            .ctx(|| format!("writing {}", path.display()))?;
        self.out = None;
        Ok(Some(Replacement {
            tmp: Some(self.tmp.take().expect("made by out()")),
            path,
        }))
    }
}

/// A file written beside the one it replaces ([`ReplaceWriter::finish_written`]); removed
/// unless placed.
pub struct Replacement {
    /// Until placed.
    tmp: Option<PathBuf>,
    path: PathBuf,
}

impl Replacement {
    /// Syncs the new file and renames it over the old one (its folder made first if need be,
    /// and synced).
    ///
    /// # Errors
    /// File-system failures, naming the file; the temporary file is removed.
    pub fn place(mut self) -> Result<()> {
        let tmp = self.tmp.as_ref().expect("placed once");
        File::open(tmp)
            .and_then(|f| f.sync_all())
            .ctx(|| format!("writing {}", self.path.display()))?;
        create_dir_durably(self.path.parent().unwrap_or(Path::new(".")))?;
        let tmp = self.tmp.take().expect("placed once");
        rename_durably(&tmp, &self.path).inspect_err(|_| {
            let _ = fs::remove_file(&tmp);
        })
    }
}

impl Drop for Replacement {
    fn drop(&mut self) {
        if let Some(tmp) = self.tmp.take() {
            let _ = fs::remove_file(tmp);
        }
    }
}

impl Write for ReplaceWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Some(old) = self.old.as_mut() {
            self.scratch.resize(buf.len(), 0);
            let mut got = 0;
            while got < buf.len() {
                // A failed read of the old file only means it gets replaced.
                match old.read(&mut self.scratch[got..]) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => got += n,
                }
            }
            if got == buf.len() && self.scratch[..] == *buf {
                self.same += buf.len() as u64;
                return Ok(buf.len());
            }
        }
        self.out()?.write_all(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for ReplaceWriter {
    fn drop(&mut self) {
        // Only an unfinished or failed write still holds its temporary file.
        self.out = None;
        if let Some(tmp) = self.tmp.take() {
            let _ = fs::remove_file(tmp);
        }
    }
}

/// Journal of files a prune is removing: `.photobak/removing`, one repository-relative path a
/// line, after a first line `trash` or `purge`.
const REMOVAL_JOURNAL: &str = "removing";

/// What became of one journaled path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Removed {
    Trashed,
    Deleted,
    /// Already gone from the tree.
    Missing,
    /// The index still names it: the removal was not committed, so the file stays.
    Kept,
}

impl Repo {
    /// First step of removing files from the tree (crash consistency of `prune`): the paths are
    /// journaled durably, then the caller makes the index forget them in one transaction, then
    /// [`Repo::finish_removals`] moves them out. A run killed after the journal and before the
    /// commit leaves the index naming files that are all still there; one killed after the
    /// commit leaves files the index no longer names, which the next [`Repo::open`] finishes
    /// moving (it replays the journal under the lock). So the index never names a file that is
    /// not there, and no file is left behind as an orphan.
    pub fn begin_removals(&self, rels: &[String], purge: bool) -> Result<()> {
        let mut text = String::from(if purge { "purge\n" } else { "trash\n" });
        for r in rels {
            text.push_str(r);
            text.push('\n');
        }
        let path = self.root.join(super::WORK_DIR).join(REMOVAL_JOURNAL);
        write_atomic_if_changed(&self.tmp_dir(), &path, text.as_bytes())?;
        Ok(())
    }

    /// Moves (or deletes) every journaled path the index no longer names, then drops the
    /// journal. Returns each path with what became of it; empty without a journal.
    pub fn finish_removals(&self) -> Result<Vec<(String, Removed)>> {
        let path = self.root.join(super::WORK_DIR).join(REMOVAL_JOURNAL);
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io(format!("reading {}", path.display()), e)),
        };
        let mut lines = text.lines();
        let purge = lines.next() == Some("purge");
        let mut out = Vec::new();
        for rel in lines.filter(|l| !l.is_empty()) {
            // `.xmp` sidecars are never in the index; their media file decides.
            let owner = rel.strip_suffix(".xmp").unwrap_or(rel);
            let state = if self.index.path_in_use(owner)? {
                Removed::Kept
            } else if fs::symlink_metadata(self.abs(rel)).is_err() {
                Removed::Missing
            } else if purge {
                let abs = self.abs(rel);
                fs::remove_file(&abs).ctx(|| format!("deleting {}", abs.display()))?;
                Removed::Deleted
            } else {
                self.move_to_trash(rel)?;
                Removed::Trashed
            };
            out.push((rel.to_string(), state));
        }
        fs::remove_file(&path).ctx(|| format!("removing {}", path.display()))?;
        if let Some(parent) = path.parent() {
            sync_dir(parent)?;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    /// Writes `pieces` through a [`ReplaceWriter`] over `old` (absent when `None`); returns
    /// whether it replaced the file, the file's bytes after, and what the temporary folder held.
    fn replace(old: Option<&[u8]>, pieces: &[&[u8]]) -> (bool, Vec<u8>, usize, bool) {
        let t = tempfile::tempdir().unwrap();
        let tmp = t.path().join("tmp");
        fs::create_dir(&tmp).unwrap();
        let path = t.path().join("f");
        if let Some(b) = old {
            fs::write(&path, b).unwrap();
        }
        let ino = fs::metadata(&path).map(|m| m.ino()).ok();
        let mut w = ReplaceWriter::new(&tmp, &path);
        for p in pieces {
            w.write_all(p).unwrap();
        }
        let replaced = w.finish().unwrap();
        let same_inode = fs::metadata(&path).map(|m| m.ino()).ok() == ino;
        let left = fs::read_dir(&tmp).unwrap().count();
        (replaced, fs::read(&path).unwrap(), left, same_inode)
    }

    #[test]
    fn an_unchanged_file_is_left_alone_whatever_the_pieces() {
        let (replaced, bytes, left, same_inode) = replace(Some(b"abcdef"), &[b"ab", b"", b"cdef"]);
        assert!(!replaced);
        assert_eq!(bytes, b"abcdef");
        assert_eq!(left, 0);
        assert!(same_inode, "an unchanged file must not be rewritten");
    }

    #[test]
    fn a_difference_anywhere_replaces_the_file_whole() {
        for (old, pieces, want) in [
            (&b"abcdef"[..], &[&b"ab"[..], b"cXef"][..], &b"abcXef"[..]),
            (b"abcdef", &[b"abc"], b"abc"),
            (b"abc", &[b"abc", b"def"], b"abcdef"),
            (b"abc", &[], b""),
            (b"abcdef", &[b"abcdef", b"g"], b"abcdefg"),
        ] {
            let (replaced, bytes, left, same_inode) = replace(Some(old), pieces);
            assert!(replaced, "{old:?} → {want:?}");
            assert_eq!(bytes, want);
            assert_eq!(left, 0, "no temporary file is left");
            assert!(
                !same_inode,
                "the old file is replaced by a rename, not rewritten"
            );
        }
    }

    #[test]
    fn a_missing_file_is_created() {
        let (replaced, bytes, left, _) = replace(None, &[b"new"]);
        assert!(replaced);
        assert_eq!(bytes, b"new");
        assert_eq!(left, 0);
    }

    #[test]
    fn an_unfinished_write_leaves_the_old_file_and_no_temporary_file() {
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join("f");
        fs::write(&path, b"old").unwrap();
        let mut w = ReplaceWriter::new(t.path(), &path);
        w.write_all(b"different").unwrap();
        drop(w);
        assert_eq!(fs::read(&path).unwrap(), b"old");
        assert_eq!(fs::read_dir(t.path()).unwrap().count(), 1);
    }
}
