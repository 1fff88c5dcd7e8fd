//! Test support for photobak.
//!
//! [`fake_google`] is a local, scriptable stand-in for Google's OAuth endpoints, the Photos
//! Library API and its media hosts, used by photobak's integration tests and available as the
//! `photobak-fake-google` program.

pub mod fake_google;
pub mod takeout_gen;
