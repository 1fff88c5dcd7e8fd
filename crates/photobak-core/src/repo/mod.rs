//! The repository: a folder holding the media tree, the index and photobak's working area.
//!
//! ```text
//! REPO/                              0700
//!   photobak.db                      the index (0600), with its -wal/-shm companions
//!   photobak.b3                      BLAKE3 manifest of every stored file, in b3sum's format
//!   .photobak/lock                   one instance per repository
//!   .photobak/tmp/                   downloads in progress (emptied at the start of every run)
//!   .photobak/trash/<date>/          files removed by prune or replaced by an update
//!   googlephotos/<account>/<Album>/  the media, one physical file per content
//!   googlephotos/<account>/<Album>/others.txt  members of the album stored in another folder
//! ```
//!
//! Every path the index stores is relative to REPO with `/` separators, so a repository can be
//! moved or copied whole.

pub mod lock;
pub mod naming;
pub mod others;
pub mod store;

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{IoContext, Result};
use crate::index::{INDEX_FILE, Index};
use lock::RepoLock;

/// Folder of photobak's own working files inside the repository.
pub const WORK_DIR: &str = ".photobak";

/// An open, locked repository.
pub struct Repo {
    root: PathBuf,
    /// The index.
    pub index: Index,
    /// Serialises the store-and-dedup step (hash lookup, placement, insert) so two downloads of
    /// the same bytes cannot both decide they are new.
    pub(crate) ingest_lock: std::sync::Mutex<()>,
    /// The folders of the files placed in an open group commit (`Repo::begin_group`), synced
    /// together when it ends; None outside a group.
    group: std::sync::Mutex<Option<std::collections::BTreeSet<PathBuf>>>,
    _lock: RepoLock,
}

impl Repo {
    /// Opens the repository at `root`, creating it (mode 0700) when missing, taking the
    /// single-instance lock, migrating the index and clearing leftover temporary files.
    ///
    /// # Errors
    /// When the folder cannot be created, another photobak holds it, or the index is unusable.
    pub fn open(root: &Path) -> Result<Repo> {
        create_private_dir(root)?;
        let work = root.join(WORK_DIR);
        create_private_dir(&work)?;
        let lock = RepoLock::acquire(&work.join("lock"), root)?;
        let tmp = work.join("tmp");
        // We hold the lock, so anything in tmp/ is the leftover of a run that died.
        if tmp.exists() {
            fs::remove_dir_all(&tmp).ctx(|| format!("clearing {}", tmp.display()))?;
        }
        create_private_dir(&tmp)?;
        let index = Index::open(&root.join(INDEX_FILE))?;
        let repo = Repo {
            root: root.to_path_buf(),
            index,
            ingest_lock: std::sync::Mutex::new(()),
            group: std::sync::Mutex::new(None),
            _lock: lock,
        };
        // A prune killed while removing files: finish what its committed transaction decided.
        repo.finish_removals()?;
        Ok(repo)
    }

    /// Opens a repository that must already exist: commands that check, repair or prune an
    /// archive have nothing to do in an empty folder and must not leave one behind.
    ///
    /// # Errors
    /// [`Error::NotARepository`](crate::Error::NotARepository) when `root` holds no index;
    /// otherwise as [`Repo::open`].
    pub fn open_existing(root: &Path) -> Result<Repo> {
        if !is_repository(root) {
            return Err(crate::Error::NotARepository(root.to_path_buf()));
        }
        Repo::open(root)
    }

    /// Registers an account (no network): its row in the index and its folder name, derived
    /// from the address as the original photobak did (`you+x@Gmail.com` → `you_x_at_gmail.com`).
    pub fn ensure_account(&self, address: &str) -> Result<crate::index::Account> {
        use crate::google::PROVIDER;
        self.index.ensure_account(
            PROVIDER,
            address,
            &format!("{PROVIDER}/{}", naming::account_folder_name(address)),
        )
    }

    /// The repository folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Absolute path of a repository-relative path.
    pub fn abs(&self, rel: &str) -> PathBuf {
        let mut p = self.root.clone();
        for part in rel.split('/').filter(|s| !s.is_empty()) {
            p.push(part);
        }
        p
    }

    /// Where downloads are staged.
    pub fn tmp_dir(&self) -> PathBuf {
        self.root.join(WORK_DIR).join("tmp")
    }

    /// A scratch file in [`Self::tmp_dir`] (the Takeout scan's spill): on the repository's
    /// disk, not in a `/tmp` that may be a small RAM disk. On Unix its name is removed as soon
    /// as it is open, so it is gone once closed (the open file lives on without a name); a run
    /// killed before that, or any run elsewhere, leaves it in `tmp/`, which the next `open`
    /// clears.
    ///
    /// # Errors
    /// When the file cannot be created there.
    pub fn scratch_file(&self) -> Result<fs::File> {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = self
            .tmp_dir()
            .join(format!("scratch-{}-{n}", std::process::id()));
        let file = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .ctx(|| format!("creating a scratch file {}", path.display()))?;
        #[cfg(unix)]
        fs::remove_file(&path).ctx(|| format!("removing the name of {}", path.display()))?;
        Ok(file)
    }
}

/// True when `root` holds a photobak index (a repository, possibly in use by another run).
pub fn is_repository(root: &Path) -> bool {
    root.join(INDEX_FILE).is_file()
}

/// Creates a folder readable only by its owner (the photos are private).
pub fn create_private_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .ctx(|| format!("creating {}", dir.display()))
    }
    #[cfg(not(unix))]
    fs::create_dir_all(dir).ctx(|| format!("creating {}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_private_repository_and_index() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("repo");
        let repo = Repo::open(&root).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&root).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o700);
            let mode = fs::metadata(root.join(INDEX_FILE))
                .unwrap()
                .permissions()
                .mode()
                & 0o777;
            assert_eq!(mode, 0o600);
        }
        assert!(repo.index.schema_version().unwrap() >= 1);
    }

    /// Two scratch files at once are two files, usable, and leave no name in `tmp/`.
    #[test]
    fn scratch_files_are_apart_and_leave_nothing_behind() {
        use std::io::{Read, Seek, Write};
        let t = tempfile::tempdir().unwrap();
        let repo = Repo::open(t.path()).unwrap();
        let (mut a, mut b) = (repo.scratch_file().unwrap(), repo.scratch_file().unwrap());
        a.write_all(b"one").unwrap();
        b.write_all(b"two").unwrap();
        let mut got = String::new();
        a.rewind().unwrap();
        a.read_to_string(&mut got).unwrap();
        assert_eq!(got, "one");
        #[cfg(unix)]
        assert_eq!(fs::read_dir(repo.tmp_dir()).unwrap().count(), 0);
    }

    #[test]
    fn staged_file_is_placed_with_collision_suffix_and_adopted_after_crash() {
        let t = tempfile::tempdir().unwrap();
        let repo = Repo::open(t.path()).unwrap();
        let mut w = repo.stage().unwrap();
        w.write(b"hello").unwrap();
        let staged = w.finish().unwrap();
        assert_eq!(staged.hash, *blake3::hash(b"hello").as_bytes());
        // A foreign file already sits at the name: the new one gets " (2)".
        fs::create_dir_all(t.path().join("g/a")).unwrap();
        fs::write(t.path().join("g/a/x.jpg"), b"other").unwrap();
        let rel = repo.place_new(staged, "g/a", "x.jpg", 1).unwrap();
        assert_eq!(rel, "g/a/x (2).jpg");
        assert_eq!(fs::read(repo.abs(&rel)).unwrap(), b"hello");
        // Same bytes staged again while the index does not know the file: adopted, not copied.
        let mut w = repo.stage().unwrap();
        w.write(b"hello").unwrap();
        let rel2 = repo
            .place_new(w.finish().unwrap(), "g/a", "x.jpg", 1)
            .unwrap();
        assert_eq!(rel2, "g/a/x (2).jpg");
        assert_eq!(fs::read_dir(repo.tmp_dir()).unwrap().count(), 0);
        // A higher rank starts at its own number, whatever arrives first.
        let mut w = repo.stage().unwrap();
        w.write(b"third").unwrap();
        let rel3 = repo
            .place_new(w.finish().unwrap(), "g/a", "y.jpg", 3)
            .unwrap();
        assert_eq!(rel3, "g/a/y (3).jpg");
    }

    #[test]
    fn open_existing_refuses_a_folder_without_index_and_creates_nothing() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("nothing here");
        match Repo::open_existing(&root) {
            Err(crate::Error::NotARepository(p)) => assert_eq!(p, root),
            other => panic!("expected NotARepository, got {:?}", other.err()),
        }
        assert!(!root.exists());
        drop(Repo::open(&root).unwrap());
        assert!(Repo::open_existing(&root).is_ok());
    }

    #[test]
    fn second_open_is_refused_with_pid() {
        let t = tempfile::tempdir().unwrap();
        let _a = Repo::open(t.path()).unwrap();
        let start = std::time::Instant::now();
        let err = Repo::open(t.path())
            .err()
            .expect("second open must fail")
            .to_string();
        assert!(err.contains(&std::process::id().to_string()), "{err}");
        assert!(start.elapsed() < std::time::Duration::from_secs(4));
        // Released: no stale pid left behind, and the next run gets in.
        drop(_a);
        assert_eq!(
            fs::read_to_string(t.path().join(".photobak/lock")).unwrap(),
            ""
        );
        assert!(Repo::open(t.path()).is_ok());
    }
}
