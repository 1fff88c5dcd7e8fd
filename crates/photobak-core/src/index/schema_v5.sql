-- photobak index, schema version 5: a picked item finds its Takeout twin by an index search.
-- Documented in docs/index.md.
--
-- The Picker strips the location from its downloads, so a picked photo's bytes never equal the
-- Takeout original's; the two are known to be one photo by file name and capture time (and
-- dimensions where known). Without this index each picked item would scan the account's items.

CREATE INDEX items_name_time ON items(account_id, filename, taken_at);
