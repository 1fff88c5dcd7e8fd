-- photobak index, schema version 1. Documented in docs/index.md.
-- All paths are repository-relative with '/' separators. Times are Unix seconds (UTC).

CREATE TABLE accounts (
    id           INTEGER PRIMARY KEY,
    provider     TEXT NOT NULL,              -- 'googlephotos'
    name         TEXT NOT NULL,              -- the address as given: you@gmail.com
    folder       TEXT NOT NULL UNIQUE,       -- googlephotos/you_at_gmail.com
    credentials  TEXT,                       -- OAuth token JSON; NULL until authorised
    created_at   INTEGER NOT NULL,
    UNIQUE (provider, name)
);

CREATE TABLE albums (
    id           INTEGER PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES accounts(id),
    remote_id    TEXT NOT NULL,              -- API album id; 'year:2019' for year folders; 'takeout:<title>'
    source       TEXT NOT NULL,              -- library | picker | takeout | derived
    title        TEXT NOT NULL,
    description  TEXT,
    folder       TEXT NOT NULL,              -- googlephotos/<account>/<Album>
    kind         TEXT NOT NULL,              -- user | auto (year folders and automatic albums sort last)
    raw_json     TEXT,                       -- with --everything
    first_seen   INTEGER NOT NULL,
    last_seen    INTEGER NOT NULL,
    seen_run     INTEGER,                    -- last run that listed it
    UNIQUE (account_id, remote_id),
    UNIQUE (account_id, folder)
);

-- One row per physical file. Items share a row when their bytes are identical.
CREATE TABLE content (
    id            INTEGER PRIMARY KEY,
    blake3        BLOB NOT NULL UNIQUE,       -- 32 bytes
    size          INTEGER NOT NULL,
    path          TEXT NOT NULL UNIQUE,       -- the one physical file
    home_album_id INTEGER REFERENCES albums(id),
    home_reason   TEXT NOT NULL,              -- why the file lives where it does
    stored_at     INTEGER NOT NULL,
    verified_at   INTEGER,                    -- last full re-hash that matched
    -- what the file itself says (EXIF / QuickTime), read after download
    file_taken_at INTEGER,                    -- UTC
    file_offset   TEXT,                       -- '+02:00' when the file records one
    file_local    TEXT,                       -- the local wall-clock time as written
    file_lat      REAL,
    file_lon      REAL,
    file_alt      REAL,
    file_make     TEXT,
    file_model    TEXT,
    meta_error    TEXT                        -- why metadata could not be read, if so
);

CREATE TABLE items (
    id            INTEGER PRIMARY KEY,
    account_id    INTEGER NOT NULL REFERENCES accounts(id),
    remote_id     TEXT NOT NULL,              -- per-account id (API id, or 'takeout:...')
    content_id    INTEGER REFERENCES content(id), -- NULL until stored
    version       TEXT,                       -- fingerprint of the fields that change on edits
    filename      TEXT NOT NULL,              -- name as the source gave it
    mime_type     TEXT,
    description   TEXT,
    taken_at      INTEGER,                    -- capture time, UTC
    taken_source  TEXT,                       -- api | exif | takeout
    width         INTEGER,
    height        INTEGER,
    camera_make   TEXT,
    camera_model  TEXT,
    latitude      REAL,
    longitude     REAL,
    altitude      REAL,
    gps_source    TEXT,                       -- exif | takeout-geoData | takeout-geoDataExif
    is_video      INTEGER NOT NULL DEFAULT 0,
    favorite      INTEGER NOT NULL DEFAULT 0,
    archived      INTEGER NOT NULL DEFAULT 0,
    trashed       INTEGER NOT NULL DEFAULT 0,
    raw_json      TEXT,                       -- with --everything
    first_seen    INTEGER NOT NULL,
    last_seen     INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    seen_run      INTEGER,                    -- last run that listed it
    UNIQUE (account_id, remote_id)
);
CREATE INDEX items_content ON items(content_id);

CREATE TABLE memberships (
    album_id  INTEGER NOT NULL REFERENCES albums(id),
    item_id   INTEGER NOT NULL REFERENCES items(id),
    added_at  INTEGER NOT NULL,
    PRIMARY KEY (album_id, item_id)
) WITHOUT ROWID;
CREATE INDEX memberships_item ON memberships(item_id);

-- Which sources have delivered an item, and when last.
CREATE TABLE provenance (
    item_id     INTEGER NOT NULL REFERENCES items(id),
    source      TEXT NOT NULL,                -- library | picker | takeout
    source_ref  TEXT,                         -- e.g. the Takeout export id and entry
    first_seen  INTEGER NOT NULL,
    last_seen   INTEGER NOT NULL,
    PRIMARY KEY (item_id, source)
) WITHOUT ROWID;

-- One row per run of a command, with its summary as JSON.
CREATE TABLE runs (
    id           INTEGER PRIMARY KEY,
    command      TEXT NOT NULL,               -- backup | import | prune | verify
    account_id   INTEGER REFERENCES accounts(id),
    started_at   INTEGER NOT NULL,
    finished_at  INTEGER,
    ok           INTEGER,
    summary      TEXT
);

-- Items that failed, so status can show what keeps failing and why.
CREATE TABLE failures (
    account_id  INTEGER NOT NULL REFERENCES accounts(id),
    remote_id   TEXT NOT NULL,
    filename    TEXT,
    error       TEXT NOT NULL,
    count       INTEGER NOT NULL,
    first_at    INTEGER NOT NULL,
    last_at     INTEGER NOT NULL,
    PRIMARY KEY (account_id, remote_id)
) WITHOUT ROWID;
