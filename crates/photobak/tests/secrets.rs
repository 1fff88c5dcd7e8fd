//! Secrets and permissions: no token, code or client secret in any output (stdout, stderr,
//! `--json`, the log file, panic messages); the repository is private; the OAuth listener
//! listens on 127.0.0.1 only, takes one redirect, refuses a wrong `state` and anything else, and
//! the redirect URI photobak sends is always a loopback one.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use common::Env;
use photobak_testkit::fake_google::{Faults, GenerateSpec, Sizes};

const A: &str = "alice@example.com";
const SECRET: &str = "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secret";

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn no_output_of_a_whole_session_contains_a_token_a_code_or_the_client_secret() {
    let env = Env::new();
    env.fake.add_account(A);
    env.fake.generate(
        A,
        &GenerateSpec {
            items: 30,
            albums: 3,
            seed: 51,
            sizes: Sizes::Tiny,
            videos: None,
        },
    );
    let log = env.dir.path().join("photobak.log");
    let mut outputs: Vec<(String, String)> = Vec::new();
    let mut run = |args: &[&str]| {
        let out = env
            .cmd()
            .env("GOOGLEPHOTOS_CLIENT_SECRET", SECRET)
            .env("RUST_BACKTRACE", "1")
            .arg("--log")
            .arg(&log)
            .arg("-v")
            .args(args)
            .output()
            .unwrap();
        outputs.push((
            format!("{args:?}"),
            format!(
                "{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        ));
    };
    run(&["auth", "--googlephotos", A]);
    // Errors are where secrets leak: faults, an expired token, a revoked one.
    env.fake.set_faults(Faults {
        api_5xx_rate: 0.2,
        api_429_rate: 0.1,
        retry_after_secs: Some(0),
        reset_rate: 0.2,
        max_faults: Some(10),
        ..Faults::default()
    });
    run(&["backup", "--googlephotos", A]);
    env.fake.set_faults(Faults::default());
    env.fake.expire_access_tokens();
    run(&["backup", "--googlephotos", A, "--integrity"]);
    run(&["status", "--json"]);
    run(&["status"]);
    run(&["list", "--json"]);
    run(&["verify", "--json"]);
    run(&["prune", "--dry-run", "--json"]);
    env.fake.revoke_refresh_tokens(A);
    env.fake.expire_access_tokens();
    run(&["backup", "--googlephotos", A]);
    run(&["status", "--json"]);
    run(&["prune", "--dry-run"]);
    env.fake
        .set_auth_behavior(photobak_testkit::fake_google::AuthBehavior::WrongState);
    run(&["auth", "--googlephotos", A]);
    let log_text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        !log_text.is_empty(),
        "the failing runs logged nothing, so the log check would prove nothing"
    );
    outputs.push(("log file".into(), log_text));

    let mut secrets = env.fake.issued_secrets();
    assert!(
        secrets.len() >= 4,
        "the fake issued too few secrets: {secrets:?}"
    );
    secrets.push(SECRET.to_string());
    // The stored credentials hold the refresh token; it is a secret whatever the fake says.
    for (what, text) in &outputs {
        for s in &secrets {
            assert!(
                !text.contains(s.as_str()),
                "{what} reveals a secret ({}…)",
                &s[..8]
            );
        }
    }
}

#[test]
fn the_repository_is_private() {
    let env = Env::new();
    env.fake.add_account(A);
    env.fake.generate(
        A,
        &GenerateSpec {
            items: 5,
            albums: 1,
            seed: 52,
            sizes: Sizes::Tiny,
            videos: None,
        },
    );
    env.auth(A);
    env.backup(&[A]);
    assert_eq!(mode(&env.repo), 0o700, "repository folder");
    assert_eq!(mode(&env.repo.join(".photobak")), 0o700, ".photobak");
    assert_eq!(
        mode(&env.repo.join(".photobak/tmp")),
        0o700,
        ".photobak/tmp"
    );
    for f in ["photobak.db", "photobak.db-wal", "photobak.db-shm"] {
        let p = env.repo.join(f);
        if p.exists() {
            assert_eq!(mode(&p), 0o600, "{f}");
        }
    }
}

/// Starts `photobak auth` with a browser that only records the URL; returns the child and the
/// URL it would have opened.
fn auth_without_browser(env: &Env) -> (std::process::Child, reqwest::Url) {
    let seen = env.dir.path().join("url.txt");
    let script = env.dir.path().join("browser.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nprintf '%s' \"$1\" > {}.tmp && mv {0}.tmp {0}\n",
            seen.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    env.fake.add_account(A);
    let child = env
        .cmd()
        .env("BROWSER", &script)
        .args(["auth", "--googlephotos", A])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !seen.exists() {
        assert!(start.elapsed() < Duration::from_secs(20), "no browser call");
        std::thread::sleep(Duration::from_millis(20));
    }
    let url = reqwest::Url::parse(&std::fs::read_to_string(&seen).unwrap()).unwrap();
    (child, url)
}

fn query(url: &reqwest::Url, key: &str) -> String {
    url.query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

fn get(port: u16, target: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

/// Addresses of this machine other than loopback.
fn other_addresses() -> Vec<std::net::IpAddr> {
    let out = std::process::Command::new("hostname").arg("-I").output();
    out.map(|o| {
        String::from_utf8_lossy(&o.stdout)
            .split_whitespace()
            .filter_map(|a| a.parse().ok())
            .filter(|a: &std::net::IpAddr| !a.is_loopback())
            .collect()
    })
    .unwrap_or_default()
}

#[test]
fn the_oauth_listener_is_loopback_only_and_refuses_everything_but_its_redirect() {
    let env = Env::new();
    let (mut child, url) = auth_without_browser(&env);
    let redirect = reqwest::Url::parse(&query(&url, "redirect_uri")).unwrap();
    assert_eq!(redirect.host_str(), Some("127.0.0.1"), "{redirect}");
    assert_eq!(redirect.scheme(), "http");
    let port = redirect.port().unwrap();
    let state = query(&url, "state");
    assert!(state.len() >= 16, "state too guessable: {state:?}");
    // Not reachable on any other address of the machine.
    let others = other_addresses();
    for a in &others {
        assert!(
            TcpStream::connect_timeout(&(*a, port).into(), Duration::from_secs(1)).is_err(),
            "the OAuth listener answers on {a}"
        );
    }
    if others.is_empty() {
        eprintln!("no non-loopback address on this machine: the other-interface check was skipped");
    }
    // Anything but the redirect path is refused, and the flow goes on.
    assert!(get(port, "/").starts_with("HTTP/1.1 404"));
    assert!(get(port, "/favicon.ico").starts_with("HTTP/1.1 404"));
    assert!(
        child.try_wait().unwrap().is_none(),
        "a stray request ended the flow"
    );
    // A redirect with another state is refused and ends the flow without credentials.
    let answer = get(port, "/oauth2callback?state=forged&code=4/0Aforged");
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    let out = child.wait_with_output().unwrap();
    assert_ne!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("state"));
    // A failed authorisation stores nothing: no credentials, and (issue 11) no repository
    // created for nothing.
    if env.repo.join("photobak.db").exists() {
        let creds: Option<String> = env
            .db()
            .query_row(
                "SELECT credentials FROM accounts WHERE name = ?1",
                [A],
                |r| r.get(0),
            )
            .unwrap_or(None);
        assert!(creds.is_none());
    }
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "listener left open"
    );
}

#[test]
fn the_oauth_listener_takes_one_redirect_and_closes() {
    let env = Env::new();
    let (child, url) = auth_without_browser(&env);
    let redirect = reqwest::Url::parse(&query(&url, "redirect_uri")).unwrap();
    let port = redirect.port().unwrap();
    // Play the browser: the fake's consent page redirects to the listener.
    let ok = std::process::Command::new("curl")
        .args(["-sL", url.as_str()])
        .output()
        .unwrap();
    assert!(ok.status.success());
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "the listener still accepts after its one redirect"
    );
    let q = env.fake.stats().last_authorize_query.unwrap();
    let sent = reqwest::Url::parse(&q["redirect_uri"]).unwrap();
    assert_eq!(
        sent.host_str(),
        Some("127.0.0.1"),
        "non-loopback redirect sent: {sent}"
    );
}
