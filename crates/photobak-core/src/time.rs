//! Times as photobak prints them: every stored time is Unix seconds, UTC; people and scripts
//! read RFC 3339.

/// RFC 3339 (UTC, seconds) of a Unix time.
pub fn rfc3339(t: i64) -> String {
    jiff::Timestamp::from_second(t)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|_| t.to_string())
}
