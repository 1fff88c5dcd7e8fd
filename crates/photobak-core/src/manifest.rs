//! `photobak.b3`: the archive's checksums in exactly the format `b3sum` writes, so the archive
//! can be verified with no photobak installed:
//!
//! ```text
//! cd REPO && b3sum -c photobak.b3
//! ```
//!
//! One line per stored file, `HEX  PATH` (two spaces), paths relative to the repository root
//! with `/` separators, sorted by path. Like `b3sum`, a path holding a backslash or a newline is
//! escaped (`\\`, `\n`) and its line starts with a backslash; photobak's own names never need it,
//! but a hand-made album folder might. The file is a projection of the index, regenerated whole
//! and atomically after every command that changes the tree.

use std::io::{BufWriter, IntoInnerError, Write};

use crate::error::{IoContext, Result};
use crate::repo::Repo;
use crate::repo::store::{ReplaceWriter, push_hex};

/// File name of the manifest at the repository root.
pub const MANIFEST_FILE: &str = "photobak.b3";

/// One manifest line for a digest and a repository-relative path, with its newline.
pub fn manifest_line(hash: &[u8; 32], path: &str) -> String {
    let mut line = String::with_capacity(64 + 3 + path.len());
    push_manifest_line(&mut line, hash, path);
    line
}

/// Appends [`manifest_line`] to `out` (the manifest's writer reuses one buffer for every line).
fn push_manifest_line(out: &mut String, hash: &[u8; 32], path: &str) {
    let escape = path.contains(['\\', '\n']);
    if escape {
        out.push('\\');
    }
    push_hex(out, hash);
    out.push_str("  ");
    if escape {
        out.push_str(&path.replace('\\', "\\\\").replace('\n', "\\n"));
    } else {
        out.push_str(path);
    }
    out.push('\n');
}

/// Rewrites `photobak.b3` from the index (atomically, and only when it changed). Returns the
/// number of files it lists.
///
/// # Errors
/// Index or file-system failures.
pub fn write_manifest(repo: &Repo) -> Result<u64> {
    write_lines(repo, |line| repo.index.each_content_by_path(line))
}

/// Streams the lines `each` gives (it returns their number) through a [`ReplaceWriter`].
fn write_lines(
    repo: &Repo,
    each: impl FnOnce(&mut dyn FnMut(&[u8; 32], &str)) -> Result<u64>,
) -> Result<u64> {
    let path = repo.root().join(MANIFEST_FILE);
    // Streamed: the text of a large library's manifest is tens of megabytes, and `verify`
    // must stay in bounded memory whatever the number of files.
    let mut out = BufWriter::with_capacity(64 * 1024, ReplaceWriter::new(&repo.tmp_dir(), &path));
    let mut failed = None;
    let mut line = String::with_capacity(256);
    let n = each(&mut |hash, rel| {
        line.clear();
        push_manifest_line(&mut line, hash, rel);
        if failed.is_none()
            && let Err(e) = out.write_all(line.as_bytes())
        {
            failed = Some(e);
        }
    })?;
    let flushed = match failed {
        Some(e) => Err(e),
        None => out.into_inner().map_err(IntoInnerError::into_error),
    };
    flushed
        .ctx(|| format!("writing {}", path.display()))?
        .finish()?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_follow_b3sum() {
        let h = *blake3::hash(b"x").as_bytes();
        assert_eq!(
            manifest_line(&h, "g/a/IMG 1.jpg"),
            format!("{}  g/a/IMG 1.jpg\n", blake3::hash(b"x").to_hex())
        );
        assert_eq!(
            manifest_line(&h, "a\\b"),
            format!("\\{}  a\\\\b\n", blake3::hash(b"x").to_hex())
        );
    }

    #[test]
    fn manifest_lists_every_content_row_sorted() {
        let t = tempfile::tempdir().unwrap();
        let repo = Repo::open(t.path()).unwrap();
        for (p, b) in [("g/b.jpg", b"b"), ("g/a.jpg", b"a")] {
            repo.index.test_content(p, b, None, None);
        }
        assert_eq!(write_manifest(&repo).unwrap(), 2);
        let text = std::fs::read_to_string(t.path().join(MANIFEST_FILE)).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].ends_with("  g/a.jpg"));
        assert!(lines[1].ends_with("  g/b.jpg"));
        // Written again from the same index: the same manifest, left as it is.
        let before = std::fs::metadata(t.path().join(MANIFEST_FILE)).unwrap();
        assert_eq!(write_manifest(&repo).unwrap(), 2);
        let after = std::fs::metadata(t.path().join(MANIFEST_FILE)).unwrap();
        assert_eq!(
            std::fs::read_to_string(t.path().join(MANIFEST_FILE)).unwrap(),
            text
        );
        assert_eq!(before.modified().unwrap(), after.modified().unwrap());
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            assert_eq!(
                before.ino(),
                after.ino(),
                "an unchanged manifest is not rewritten"
            );
        }
    }
}
