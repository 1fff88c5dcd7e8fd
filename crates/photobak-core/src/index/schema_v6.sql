-- photobak index, schema version 6: a new file's number among the same-named files of its
-- folder is found by an index search. Documented in docs/index.md.
--
-- The stable numbering of files that share a name in one folder (` (2)`, ` (3)`) counts the
-- same-named items of the folder that come before the item. Walking the folder's members for
-- every new file made a large import quadratic in the size of its year folders (measured: most
-- of a 20,000-item import's CPU); this index finds the same-named items of the account at once.

CREATE INDEX items_name_nocase ON items(account_id, filename COLLATE NOCASE);
