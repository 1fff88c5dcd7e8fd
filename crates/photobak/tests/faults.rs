//! Network faults: one backup per switch of the fake (and a mix of all of them). Each run ends
//! byte-exact, or stops cleanly with a message that says what to do; then the next run, with
//! the fault gone, completes. Nothing stored is ever wrong: every file the index names holds
//! the bytes it records.

mod common;
mod reliability;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::{Env, assert_matches_library};
use photobak_testkit::fake_google::{FakeConfig, Faults, GenerateSpec, Sizes};
use reliability::*;

const A: &str = "alice@example.com";

fn env_with(items: usize, cfg: FakeConfig) -> Env {
    let env = Env::with_config(cfg);
    env.fake.add_account(A);
    env.fake.generate(
        A,
        &GenerateSpec {
            items,
            albums: 4,
            seed: 41,
            sizes: Sizes::Tiny,
            videos: None,
        },
    );
    env.auth(A);
    env
}

fn backup(env: &Env) -> (Option<i32>, String) {
    let out = env.run(&["backup", "--googlephotos", A]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

/// Runs one fault case: a backup under `faults`, then one without.
/// `must_complete`: the faulty run itself must succeed (retries absorb the fault).
/// `advice`: words the message of a stopped run must contain.
fn case(name: &str, faults: Faults, must_complete: bool, advice: &[&str]) -> (u64, bool) {
    let env = env_with(40, FakeConfig::default());
    env.fake.set_faults(faults);
    let (code, text) = backup(&env);
    let injected: u64 =
        env.fake.stats().faults_injected.values().sum::<u64>() + env.fake.stats().quota_rejections;
    assert_index_names_only_real_bytes(&env.repo, &BTreeSet::new());
    assert_eq!(
        temp_files(&env.repo),
        Vec::<std::path::PathBuf>::new(),
        "{name}"
    );
    if must_complete {
        assert_eq!(code, Some(0), "{name}: the faulty run failed:\n{text}");
        assert!(injected > 0, "{name}: no fault was injected");
    } else if code != Some(0) {
        assert_eq!(code, Some(1), "{name}: unexpected exit code:\n{text}");
        let lower = text.to_lowercase();
        for w in advice {
            assert!(
                lower.contains(&w.to_lowercase()),
                "{name}: the stop does not say {w:?}:\n{text}"
            );
        }
    }
    env.fake.set_faults(Faults::default());
    env.fake.reset_quota();
    let (code2, text2) = backup(&env);
    assert_eq!(code2, Some(0), "{name}: the next run failed:\n{text2}");
    assert_matches_library(&env, &env.fake.library(), A);
    assert_verify_clean(&env, &env.repo);
    (injected, code == Some(0))
}

#[test]
fn every_fault_switch_ends_byte_exact_or_with_advice_and_the_next_run_completes() {
    let bounded = |f: Faults| Faults {
        max_faults: Some(12),
        ..f
    };
    let cases: Vec<(&str, Faults, bool, &[&str])> = vec![
        (
            "5xx bursts",
            bounded(Faults {
                api_5xx_rate: 0.3,
                media_5xx_rate: 0.3,
                ..Faults::default()
            }),
            true,
            &[],
        ),
        (
            "429 with Retry-After",
            bounded(Faults {
                api_429_rate: 0.2,
                media_429_rate: 0.2,
                retry_after_secs: Some(0),
                ..Faults::default()
            }),
            true,
            &[],
        ),
        (
            "429 without Retry-After",
            bounded(Faults {
                api_429_rate: 0.2,
                media_429_rate: 0.2,
                ..Faults::default()
            }),
            true,
            &[],
        ),
        (
            "resets mid-body",
            bounded(Faults {
                reset_rate: 0.4,
                ..Faults::default()
            }),
            true,
            &[],
        ),
        (
            "truncations mid-body",
            bounded(Faults {
                truncate_rate: 0.4,
                ..Faults::default()
            }),
            true,
            &[],
        ),
        (
            "wrong Content-Length",
            bounded(Faults {
                wrong_length_rate: 0.4,
                ..Faults::default()
            }),
            true,
            &[],
        ),
        (
            "server stops sending",
            Faults {
                stall_rate: 0.3,
                stall_secs: Some(2),
                max_faults: Some(3),
                ..Faults::default()
            },
            true,
            &[],
        ),
        (
            "short pages",
            bounded(Faults {
                short_pages: true,
                ..Faults::default()
            }),
            true,
            &[],
        ),
        (
            "API daily quota exhausted",
            Faults {
                daily_quota: Some(3),
                ..Faults::default()
            },
            false,
            &["quota"],
        ),
        (
            "media daily quota exhausted",
            Faults {
                media_daily_quota: Some(10),
                ..Faults::default()
            },
            false,
            &["quota"],
        ),
        (
            "everything at once",
            Faults {
                api_5xx_rate: 0.1,
                media_5xx_rate: 0.1,
                api_429_rate: 0.05,
                media_429_rate: 0.05,
                retry_after_secs: Some(0),
                reset_rate: 0.1,
                truncate_rate: 0.1,
                wrong_length_rate: 0.1,
                short_pages: true,
                max_faults: Some(25),
                ..Faults::default()
            },
            true,
            &[],
        ),
    ];
    let rounds = if long_run() { 10 } else { 1 };
    let (mut runs, mut injected) = (0, 0);
    for _ in 0..rounds {
        for (name, f, complete, advice) in &cases {
            let (n, _) = case(name, f.clone(), *complete, advice);
            injected += n;
            runs += 1;
        }
    }
    figure(&format!(
        "faults: {runs} fault runs over {} switches, {injected} faults injected, every next run complete, 0 lost",
        cases.len()
    ));
}

#[test]
fn expired_base_urls_are_refreshed() {
    // Base URLs live one second; the media host slows down so they expire mid-run.
    let env = env_with(
        30,
        FakeConfig {
            base_url_ttl: Duration::from_secs(1),
            ..FakeConfig::default()
        },
    );
    env.fake.set_faults(Faults {
        slow_body_ms_per_chunk: 150,
        ..Faults::default()
    });
    let (code, text) = backup(&env);
    assert_eq!(code, Some(0), "{text}");
    assert_matches_library(&env, &env.fake.library(), A);
}

#[test]
fn access_tokens_expiring_mid_run_are_refreshed() {
    let env = env_with(120, FakeConfig::default());
    let before = env.fake.stats();
    // Every token expires after three accepted requests: several times in one run, at points
    // that do not depend on the machine's speed. (Expiring every token each 60 ms, as this test
    // once did, also expired tokens between their refresh and the retry they were refreshed
    // for on a loaded machine; a fresh token refused again is an account's stop, rightly.)
    env.fake.expire_access_tokens_after_uses(Some(3));
    let out = env
        .cmd()
        .args(["backup", "--googlephotos", A])
        .output()
        .unwrap();
    env.fake.expire_access_tokens_after_uses(None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after = env.fake.stats();
    let (calls, refreshes) = (
        after.api_requests - before.api_requests,
        after.token_refreshes - before.token_refreshes,
    );
    // Each token was accepted three times at most, so the requests accepted (those not
    // answered 401, one per refresh) needed a fresh token every three.
    assert!(
        refreshes >= 2 && calls.saturating_sub(refreshes) <= 3 * (refreshes + 1),
        "{refreshes} refreshes for {calls} API requests"
    );
    assert_matches_library(&env, &env.fake.library(), A);
}

#[test]
fn a_revoked_refresh_token_stops_with_the_auth_advice_and_reauth_completes() {
    let env = env_with(20, FakeConfig::default());
    env.fake.revoke_refresh_tokens(A);
    env.fake.expire_access_tokens();
    let (code, text) = backup(&env);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("photobak auth"),
        "the stop does not say to run photobak auth:\n{text}"
    );
    assert_eq!(recorded_items(&env.repo).len(), 0);
    env.ok(&["auth", "--googlephotos", A]);
    let (code, text) = backup(&env);
    assert_eq!(code, Some(0), "{text}");
    assert_matches_library(&env, &env.fake.library(), A);
}

/// The 120 s read timeout of the HTTP client against a body that never resumes. Two minutes
/// per stall, so only in the long run.
#[test]
fn a_body_that_never_resumes_hits_the_read_timeout_and_the_run_completes() {
    let env = env_with(5, FakeConfig::default());
    env.fake.set_faults(Faults {
        stall_rate: 1.0,
        stall_secs: Some(60),
        max_faults: Some(1),
        ..Faults::default()
    });
    let t = Instant::now();
    // The read timeout shrunk from 120 s so the stall is waited out in seconds.
    let out = env
        .cmd()
        .env("PHOTOBAK_READ_TIMEOUT_SECS", "2")
        .args(["backup", "--googlephotos", A])
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "{text}");
    let waited = t.elapsed();
    assert!(
        waited >= Duration::from_secs(2) && waited < Duration::from_secs(50),
        "{waited:?}"
    );
    assert_eq!(env.fake.stats().faults("stall"), 1);
    assert_matches_library(&env, &env.fake.library(), A);
}
