//! One instance per repository: ten invocations at once, exactly one works and the others stop
//! within about two seconds with the lock message; a scheduled `--every` loop and a cron-style
//! run started while it works never corrupt anything.

mod common;
mod reliability;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{Env, assert_matches_library};
use photobak_testkit::fake_google::{Faults, GenerateSpec, Sizes};
use reliability::*;

const A: &str = "alice@example.com";

fn env_with_library(items: usize) -> Env {
    let env = Env::new();
    env.fake.add_account(A);
    env.fake.generate(
        A,
        &GenerateSpec {
            items,
            albums: 5,
            seed: 61,
            sizes: Sizes::Tiny,
            videos: None,
        },
    );
    env.auth(A);
    env
}

#[test]
fn ten_runs_at_once_one_works_nine_stop_fast_with_the_lock_message() {
    let env = env_with_library(60);
    // Slow enough that the winner still runs when the others give up waiting (the lock is
    // waited for two seconds, so a short run would let them all work one after another).
    env.fake.set_faults(Faults {
        slow_body_ms_per_chunk: 400,
        ..Faults::default()
    });
    let mut children = Vec::new();
    for _ in 0..10 {
        let start = Instant::now();
        let child = env
            .cmd()
            .args(["backup", "--googlephotos", A])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        children.push((start, child));
    }
    // Each child's own end time: polled together, not one after another.
    let mut ok = 0;
    let mut refused = 0;
    let mut pending: Vec<(Instant, std::process::Child)> = children;
    while !pending.is_empty() {
        let mut still = Vec::new();
        for (start, mut child) in pending {
            if child.try_wait().unwrap().is_none() {
                still.push((start, child));
                continue;
            }
            let took = start.elapsed();
            let out = child.wait_with_output().unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            match out.status.code() {
                Some(0) => ok += 1,
                Some(3) => {
                    assert!(err.contains("in use by another photobak"), "{err}");
                    assert!(took < Duration::from_secs(3), "refusal took {took:?}");
                    refused += 1;
                }
                c => panic!("unexpected exit {c:?}: {err}"),
            }
        }
        pending = still;
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!((ok, refused), (1, 9));
    assert_matches_library(&env, &env.fake.library(), A);
    assert_verify_clean(&env, &env.repo);
    figure(
        "concurrency: 10 simultaneous runs, 1 worked, 9 refused with the lock message in under 3 s",
    );
}

#[test]
fn an_every_loop_and_cron_runs_beside_it_never_corrupt_anything() {
    let env = env_with_library(80);
    // The loop's first run lasts longer than the two seconds a refused run waits.
    env.fake.set_faults(Faults {
        slow_body_ms_per_chunk: 200,
        ..Faults::default()
    });
    let mut looping = env
        .cmd()
        .args(["backup", "--googlephotos", A, "--every", "1s"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // "cron": a plain run every 300 ms while the loop goes on; each either works (between two
    // ticks of the loop) or is refused with the lock message, never anything else.
    let mut worked = 0;
    let mut refused = 0;
    // Let the loop take the lock first, as a daemon started long before cron would have.
    std::thread::sleep(Duration::from_millis(300));
    let deadline = Instant::now() + Duration::from_secs(if long_run() { 60 } else { 6 });
    let mut round = 0;
    while Instant::now() < deadline {
        round += 1;
        if round % 4 == 0 {
            env.fake.add_item(
                A,
                photobak_testkit::fake_google::NewItem::photo(&format!("CRON_{round}.JPG")),
            );
        }
        let out = env.run(&["backup", "--googlephotos", A]);
        match out.status.code() {
            Some(0) => worked += 1,
            Some(3) => refused += 1,
            c => panic!(
                "cron-style run ended with {c:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            ),
        }
        assert!(
            looping.try_wait().unwrap().is_none(),
            "the --every loop died"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    // SIGTERM ends the loop between runs (or interrupts one cleanly).
    std::process::Command::new("kill")
        .args(["-TERM", &looping.id().to_string()])
        .status()
        .unwrap();
    let st = looping.wait().unwrap();
    assert!(matches!(st.code(), Some(0) | Some(130)), "{st:?}");
    env.backup(&[A]);
    assert_matches_library(&env, &env.fake.library(), A);
    assert_verify_clean(&env, &env.repo);
    assert!(
        refused > 0,
        "no cron run met the loop; the test proved nothing"
    );
    figure(&format!(
        "concurrency: --every loop beside {} cron-style runs ({worked} worked, {refused} refused), repository clean",
        worked + refused
    ));
}
