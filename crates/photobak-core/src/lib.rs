//! photobak's core: the repository, its index, the Google sources and the one ingest path they
//! all feed. No terminal output here: the binary parses flags into the option structs, calls
//! these functions, and prints what they return. Progress reaches it through [`progress::Progress`];
//! errors and informational messages go through `tracing`, which the binary routes to the log.
//!
//! - [`repo`]: the folder on disk, its lock, durable writes, names, `others.txt`.
//! - [`index`]: the SQLite index and its schema.
//! - [`google`]: OAuth, Google's retry rules, the Library API.
//! - [`ingest`]: store-and-dedup, shared by every source.
//! - [`exports`]: Takeout exports as a feed: full or incremental, and what counts as gone.
//! - [`engine`]: one owner of runs for every source: recording, the download pool, storing,
//!   the run's [`summary::RunSummary`], the finishing steps.
//! - [`source`]: the sources behind one interface: what they list (for the engine), what they
//!   hold (for prune), single items fetched again (for repairs).
//! - [`backup`], [`takeout_import`]: the Library API backup and the Takeout import, on the
//!   engine; [`inbox`] and [`takeout_drive`]: Takeout exports found in a folder or fetched
//!   from Google Drive, imported through it.
//! - [`prune`], [`verify`], [`manifest`], [`status`], [`list`]: the operations commands.

pub mod backup;
pub mod engine;
pub mod error;
pub mod exports;
pub mod finish;
pub mod google;
pub mod id_set;
pub mod inbox;
pub mod index;
pub mod ingest;
pub mod kinds;
pub mod layout;
pub mod list;
pub mod manifest;
pub mod meta;
pub mod pick;
pub mod progress;
pub mod prune;
pub mod repo;
pub mod schedule;
pub mod source;
pub mod status;
pub mod summary;
pub mod takeout_drive;
pub mod takeout_import;
mod task;
pub mod time;
pub mod verify;
pub mod xmp;

pub use error::{Error, Result};
