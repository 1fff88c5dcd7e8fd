-- photobak index, schema version 4: the Takeout feed runs itself, and the Picker remembers its
-- sessions. Documented in docs/index.md.
--
-- An inbox folder or a Google Drive folder is read again on every run; remembering each part
-- (its name, size, time and a fingerprint of its content, or Drive's id and md5) lets a rerun
-- over many gigabytes of old parts decide "nothing to do" from the directory listing alone.

CREATE TABLE takeout_parts (
    id          INTEGER PRIMARY KEY,
    origin      TEXT NOT NULL,              -- folder | drive
    location    TEXT NOT NULL,              -- the folder's absolute path, or the Drive folder's id
    name        TEXT NOT NULL,              -- the part's file name (takeout-…Z-001.zip)
    remote_id   TEXT,                       -- Drive file id
    export_id   TEXT NOT NULL,              -- takeout-20260921T101010Z
    account_id  INTEGER REFERENCES accounts(id) ON DELETE CASCADE,
    size        INTEGER NOT NULL,
    mtime_ns    INTEGER,                    -- local parts: modification time
    fingerprint BLOB,                       -- local parts: BLAKE3 of its first and last MiB and size
    md5         TEXT,                       -- Drive parts: md5Checksum
    seen_at     INTEGER NOT NULL,           -- first seen
    imported_at INTEGER,                    -- its export's import finished with this part in it
    removed_at  INTEGER,                    -- the local copy was removed (--remove-imported)
    UNIQUE (origin, location, name)
);
CREATE INDEX takeout_parts_export ON takeout_parts(export_id);

-- The Drive read-only consent is asked only when Drive is used, and kept beside the Photos
-- tokens of the same account.
ALTER TABLE accounts ADD COLUMN drive_credentials TEXT;

-- Picker sessions, so `photobak pick --session ID` resumes one after a crash or Ctrl-C.
CREATE TABLE picker_sessions (
    session_id  TEXT PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    picker_uri  TEXT,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER,
    state       TEXT NOT NULL DEFAULT 'open',   -- open | picked | done | expired | deleted
    items       INTEGER NOT NULL DEFAULT 0,     -- picked items stored from it
    finished_at INTEGER
);
