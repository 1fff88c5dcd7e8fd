-- photobak index, schema version 3: Takeout exports are full or incremental. Documented in
-- docs/index.md and docs/takeout-feed.md.
--
-- Since June 2026 Google makes scheduled incremental exports (only what was added or edited
-- since the last one), so an export's absence of an item is evidence of deletion only when the
-- export is full. Exports recorded before this version were imported as full snapshots; only
-- those made before Google offered incremental exports (2026-06-01) are known to be full.

ALTER TABLE takeout_exports ADD COLUMN kind TEXT NOT NULL DEFAULT 'unknown'; -- full | incremental | unknown
ALTER TABLE takeout_exports ADD COLUMN kind_by TEXT NOT NULL DEFAULT 'migration'; -- user | photobak | migration
ALTER TABLE takeout_exports ADD COLUMN kind_reason TEXT;
ALTER TABLE takeout_exports ADD COLUMN exported_at INTEGER;   -- when Google made it (from the id), else first import
ALTER TABLE takeout_exports ADD COLUMN item_count INTEGER;    -- distinct items it delivered

UPDATE takeout_exports SET exported_at = CAST(strftime('%s',
        substr(export_id, 9, 4) || '-' || substr(export_id, 13, 2) || '-' || substr(export_id, 15, 2) || ' ' ||
        substr(export_id, 18, 2) || ':' || substr(export_id, 20, 2) || ':' || substr(export_id, 22, 2)) AS INTEGER)
 WHERE export_id GLOB 'takeout-[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]T[0-9][0-9][0-9][0-9][0-9][0-9]Z*';
UPDATE takeout_exports SET exported_at = imported_at WHERE exported_at IS NULL;

-- The name under which a stored file's path collides on macOS and Windows (NFC, case folded;
-- photobak computes it, filled in for existing rows when the index is opened). Checking a new
-- name against it keeps a repository portable, and the index makes the check a lookup instead
-- of a scan of every stored path per new file.
ALTER TABLE content ADD COLUMN path_key TEXT;
CREATE INDEX content_path_key ON content(path_key);

-- Year folders get a kind of their own (they were `auto`): `list`, `status` and prune tell them
-- from albums by kind, not by the shape of their id.
UPDATE albums SET kind = 'year' WHERE source = 'derived' AND remote_id GLOB 'year:*';

UPDATE takeout_exports SET kind = 'full',
       kind_reason = 'made before Google offered incremental exports (June 2026), so a full export'
 WHERE complete = 1 AND exported_at < 1780272000
   AND export_id GLOB 'takeout-[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]T*';
UPDATE takeout_exports SET
       kind_reason = 'imported before photobak told full from incremental exports; if it was full, run `photobak exports mark ' || export_id || ' --full`'
 WHERE kind = 'unknown';
