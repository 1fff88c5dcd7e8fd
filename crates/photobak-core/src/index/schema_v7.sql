-- photobak index, schema version 7: parts named on the command line are remembered like an
-- inbox's, with what their import was asked to store. Documented in docs/index.md.
--
-- `import takeout PART…` read, parsed and matched a 100,000-item export again on every rerun
-- (13.6 s) because only inbox and Drive parts had records. Parts named on the command line get
-- rows of origin 'explicit' (location: the part's folder; name: its file name), and every
-- imported part now keeps the options that change what an import stores (account,
-- --include-trash, --xmp, --no-mtime, --full/--incremental): an export imported without
-- --include-trash and offered again with it must be read again. Rows recorded before this
-- version have no options: unknown, so their export is read once more, then recorded with them.

ALTER TABLE takeout_parts ADD COLUMN import_options TEXT;   -- what the import stored (StoreOptions)
ALTER TABLE takeout_parts ADD COLUMN part_set BLOB;         -- explicit: BLAKE3 of the set of parts imported together
