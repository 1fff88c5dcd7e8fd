//! The `photobak-fake-google` program: startup line, library per account, clean SIGTERM exit.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use photobak_testkit::fake_google::LibrarySnapshot;

#[tokio::test]
async fn program_serves_until_sigterm() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_photobak-fake-google"))
        .args([
            "--port",
            "0",
            "--items",
            "25",
            "--albums",
            "3",
            "--seed",
            "9",
            "--account",
            "a@example.com",
            "--account",
            "b@example.com",
            "--faults",
            r#"{"short_pages":true}"#,
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn program");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .expect(&line)
        .to_owned();
    assert!(url.starts_with("http://127.0.0.1:"));
    let http = crate::client();
    let snap: LibrarySnapshot = http
        .get(format!("{url}/_fake/library"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(snap.accounts.len(), 2);
    assert_eq!(snap.accounts[0].items.len(), 25);
    assert_eq!(snap.accounts[1].albums.len(), 3);
    assert_ne!(
        snap.accounts[0].items[0].blake3,
        snap.accounts[1].items[0].blake3
    );
    let faults: serde_json::Value = http
        .get(format!("{url}/_fake/faults"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(faults["short_pages"], true);

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "clean exit on SIGTERM: {exit:?}");
}
