//! Names of the repository's own files, shared by the index, the error messages and the
//! commands that look for them.

/// File name of the index inside the repository.
pub const INDEX_FILE: &str = "photobak.db";
