-- photobak index, schema version 2: what Takeout exports add. Documented in docs/index.md.

ALTER TABLE items ADD COLUMN people TEXT;            -- JSON array of names (Takeout `people`)
ALTER TABLE items ADD COLUMN origin TEXT;            -- mobile:<device>:<folder> | web | partner | shared-album | creation:<kind>
ALTER TABLE items ADD COLUMN sidecar_rule TEXT;      -- how the Takeout sidecar was found, or why none was applied
ALTER TABLE items ADD COLUMN sidecar_taken_at INTEGER; -- photoTakenTime from the sidecar, kept beside taken_at
ALTER TABLE items ADD COLUMN linked_to INTEGER REFERENCES items(id); -- original of an edited variant, still of a live companion
ALTER TABLE items ADD COLUMN link_kind TEXT;         -- edited | live

-- One row per imported Takeout export. A Takeout is a full snapshot: items whose takeout
-- provenance names an older export than the newest one here were absent from it.
CREATE TABLE takeout_exports (
    account_id   INTEGER NOT NULL REFERENCES accounts(id),
    export_id    TEXT NOT NULL,
    imported_at  INTEGER NOT NULL,
    media_count  INTEGER NOT NULL,
    absent_count INTEGER NOT NULL,
    complete     INTEGER NOT NULL DEFAULT 0,  -- 0 while the import runs (or after it died)
    PRIMARY KEY (account_id, export_id)
) WITHOUT ROWID;
