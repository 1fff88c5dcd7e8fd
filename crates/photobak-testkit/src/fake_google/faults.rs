//! Fault injection: the misbehaviour a robust client must survive.
//!
//! Every decision ("does this request fail?") is drawn from one RNG seeded from the fake's
//! seed, reseeded whenever the faults are replaced, so a client that issues the same requests
//! in the same order sees the same faults. `max_faults` bounds the number of injected faults
//! so tests that retry until success always terminate. Quotas are not faults: they are
//! deterministic counters that stay exhausted until [`crate::fake_google::FakeGoogle::reset_quota`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Fault switches; all off by default. JSON form is the same field names (all optional).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Probability that a Library API call answers 503 UNAVAILABLE or 500 INTERNAL.
    pub api_5xx_rate: f64,
    /// Probability that a media fetch answers 503 or 500.
    pub media_5xx_rate: f64,
    /// Probability that a Library API call answers 429 RESOURCE_EXHAUSTED (per-minute quota).
    pub api_429_rate: f64,
    /// Probability that a media fetch answers 429.
    pub media_429_rate: f64,
    /// When set, 429 answers (faults and quota) carry `Retry-After: N`.
    pub retry_after_secs: Option<u64>,
    /// Probability that a media body aborts after about half its bytes (connection dropped).
    pub reset_rate: f64,
    /// Probability that a media body ends early although `Content-Length` promised more.
    pub truncate_rate: f64,
    /// Probability that a `Range` request starting past byte 0 is answered 206 from byte 0
    /// (whole file, `Content-Range: bytes 0-…` says so) instead of the range asked for: a client
    /// that appends a 206 body without reading `Content-Range` splices the wrong bytes.
    pub wrong_range_rate: f64,
    /// Probability that a media answer's `Content-Length` claims more bytes than the body has:
    /// every real byte is sent, then the connection closes short of the promise.
    pub wrong_length_rate: f64,
    /// Probability that a media body stops after about half its bytes and sends nothing more
    /// for `stall_secs` (the connection stays open), then drops the connection.
    pub stall_rate: f64,
    /// How long a stalled body stays silent; `None` is an hour (longer than any client's read
    /// timeout should be).
    pub stall_secs: Option<u64>,
    /// Delay before every 64 KiB chunk of a media body.
    pub slow_body_ms_per_chunk: u64,
    /// Listing pages are often shorter than asked, sometimes empty while still carrying a token.
    pub short_pages: bool,
    /// This listing answers every request that carries a page token with that same token as
    /// `nextPageToken`: a listing that never ends for a client that does not notice.
    pub repeat_page_token: Option<PagedListing>,
    /// After this many Library API calls (counted while a quota is set) since the last quota
    /// reset, every call answers 429
    /// RESOURCE_EXHAUSTED with Google's daily-quota message.
    pub daily_quota: Option<u64>,
    /// The same for media fetches (`baseUrl` requests).
    pub media_daily_quota: Option<u64>,
    /// Probability that a Drive API call (listing, metadata or content) answers 403 with
    /// Drive's `userRateLimitExceeded` or `rateLimitExceeded` reason, which clients must retry
    /// like a 429.
    pub drive_rate_limit_403_rate: f64,
    /// Stop injecting faults (not quota rejections) after this many since `set_faults`.
    pub max_faults: Option<u64>,
}

/// A paged listing, for [`Faults::repeat_page_token`]. JSON: `"albums"`, `"media_items"`
/// (`GET mediaItems`), `"album_items"` (`mediaItems:search` with `albumId`), `"drive_files"`
/// (Drive's `files.list`), `"picked_items"` (the Picker's `GET mediaItems?sessionId=…`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PagedListing {
    /// `GET albums`.
    Albums,
    /// `GET mediaItems`.
    MediaItems,
    /// `POST mediaItems:search` with an `albumId`.
    AlbumItems,
    /// Drive's `files.list`.
    DriveFiles,
    /// The Picker API's `GET mediaItems` of a session.
    PickedItems,
}

/// The kinds of injected faults, as counted in [`crate::fake_google::Stats::faults_injected`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FaultKind {
    Api5xx,
    Api429,
    Media5xx,
    Media429,
    Reset,
    Truncate,
    ShortPage,
    WrongRange,
    RepeatedPageToken,
    WrongLength,
    Stall,
    Drive403,
}

impl FaultKind {
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Api5xx => "api_5xx",
            FaultKind::Api429 => "api_429",
            FaultKind::Media5xx => "media_5xx",
            FaultKind::Media429 => "media_429",
            FaultKind::Reset => "reset",
            FaultKind::Truncate => "truncate",
            FaultKind::ShortPage => "short_page",
            FaultKind::WrongRange => "wrong_range",
            FaultKind::RepeatedPageToken => "repeated_page_token",
            FaultKind::WrongLength => "wrong_length",
            FaultKind::Stall => "stall",
            FaultKind::Drive403 => "drive_403",
        }
    }
}

/// Live fault configuration with its RNG and counters.
pub(crate) struct FaultState {
    pub faults: Faults,
    rng: fastrand::Rng,
    seed: u64,
    generation: u64,
    injected_since_set: u64,
    pub injected: BTreeMap<String, u64>,
    pub api_used: u64,
    pub media_used: u64,
}

impl FaultState {
    pub fn new(seed: u64) -> FaultState {
        FaultState {
            faults: Faults::default(),
            rng: fastrand::Rng::with_seed(seed),
            seed,
            generation: 0,
            injected_since_set: 0,
            injected: BTreeMap::new(),
            api_used: 0,
            media_used: 0,
        }
    }

    pub fn set(&mut self, faults: Faults) {
        self.generation += 1;
        self.rng = fastrand::Rng::with_seed(super::model::mix(self.seed, self.generation));
        self.injected_since_set = 0;
        self.faults = faults;
    }

    fn budget_left(&self) -> bool {
        self.faults
            .max_faults
            .is_none_or(|m| self.injected_since_set < m)
    }

    /// Draws a decision with probability `rate`; counts it as an injected fault when true.
    /// A zero rate draws nothing, so switching one fault on does not shift the others' draws.
    pub fn roll(&mut self, rate: f64, kind: FaultKind) -> bool {
        if rate <= 0.0 || !self.budget_left() {
            return false;
        }
        if self.rng.f64() < rate {
            self.record(kind);
            true
        } else {
            false
        }
    }

    pub fn record(&mut self, kind: FaultKind) {
        self.injected_since_set += 1;
        *self.injected.entry(kind.name().to_owned()).or_default() += 1;
    }

    /// For `short_pages`: `Some(len)` with `len < available` when this page is to be short.
    pub fn short_page(&mut self, available: usize) -> Option<usize> {
        if !self.faults.short_pages || available == 0 || !self.budget_left() {
            return None;
        }
        if self.rng.bool() {
            let len = self.rng.usize(0..available);
            self.record(FaultKind::ShortPage);
            Some(len)
        } else {
            None
        }
    }

    /// For `repeat_page_token`: true (and counted) when a request of `listing` that carried a
    /// page token is to get that token back as its next one.
    pub fn repeat_page_token(&mut self, listing: PagedListing) -> bool {
        if self.faults.repeat_page_token != Some(listing) || !self.budget_left() {
            return false;
        }
        self.record(FaultKind::RepeatedPageToken);
        true
    }

    /// 503 or 500, drawn from the RNG.
    pub fn pick_5xx(&mut self) -> bool {
        self.rng.bool()
    }

    /// Counts one API call against the daily quota; false when the quota is exhausted.
    pub fn take_api_quota(&mut self) -> bool {
        take(&mut self.api_used, self.faults.daily_quota)
    }

    /// Counts one media fetch against the media quota; false when exhausted.
    pub fn take_media_quota(&mut self) -> bool {
        take(&mut self.media_used, self.faults.media_daily_quota)
    }

    pub fn reset_quota(&mut self) {
        self.api_used = 0;
        self.media_used = 0;
    }
}

/// Usage is only counted while a quota is configured, so switching a quota on mid-test starts
/// from whatever was used under quotas before (zero after a reset), not from every request ever.
fn take(used: &mut u64, limit: Option<u64>) -> bool {
    let Some(limit) = limit else {
        return true;
    };
    if *used >= limit {
        return false;
    }
    *used += 1;
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rolls_are_reproducible_and_bounded() {
        let draw = || {
            let mut f = FaultState::new(9);
            f.set(Faults {
                api_5xx_rate: 0.5,
                max_faults: Some(5),
                ..Faults::default()
            });
            (0..100)
                .map(|_| f.roll(0.5, FaultKind::Api5xx))
                .collect::<Vec<_>>()
        };
        let a = draw();
        assert_eq!(a, draw());
        assert_eq!(a.iter().filter(|b| **b).count(), 5);
    }

    #[test]
    fn quota_counts_and_resets() {
        let mut f = FaultState::new(1);
        f.set(Faults {
            daily_quota: Some(2),
            ..Faults::default()
        });
        assert!(f.take_api_quota());
        assert!(f.take_api_quota());
        assert!(!f.take_api_quota());
        f.reset_quota();
        assert!(f.take_api_quota());
    }

    #[test]
    fn faults_json_accepts_partial_objects() {
        let f: Faults =
            serde_json::from_str(r#"{"short_pages":true,"retry_after_secs":3}"#).unwrap();
        assert!(f.short_pages);
        assert_eq!(f.retry_after_secs, Some(3));
        assert!(serde_json::from_str::<Faults>(r#"{"nope":1}"#).is_err());
        let f: Faults =
            serde_json::from_str(r#"{"repeat_page_token":"album_items","wrong_range_rate":1}"#)
                .unwrap();
        assert_eq!(f.repeat_page_token, Some(PagedListing::AlbumItems));
        assert_eq!(f.wrong_range_rate, 1.0);
    }
}
