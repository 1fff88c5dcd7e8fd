//! Numbers that must agree wherever they are printed: album counts of an account and of its
//! sources in `status`, and help texts that say what the README says.

mod common;

use common::Env;
use photobak_testkit::fake_google::{GenerateSpec, Sizes};

/// "… N albums" and ", M year folders" of a `status` line.
fn albums_of(line: &str) -> (u64, u64) {
    let num_before = |word: &str| -> u64 {
        line.split(", ")
            .find_map(|part| part.strip_suffix(word))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0)
    };
    (num_before(" albums"), num_before(" year folders"))
}

#[test]
fn status_counts_albums_once_and_year_folders_apart() {
    let env = Env::new();
    let a = "a@example.com";
    env.fake.add_account(a);
    env.fake.generate(
        a,
        &GenerateSpec {
            items: 40,
            albums: 5,
            seed: 3,
            sizes: Sizes::Tiny,
            videos: Some(0),
        },
    );
    env.auth(a);
    env.backup(&[a]);
    let out = env.ok(&["status"]);
    let account = out
        .lines()
        .find(|l| l.starts_with(&format!("{a} (")))
        .unwrap_or_else(|| panic!("{out}"));
    let library = out
        .lines()
        .find(|l| l.trim_start().starts_with("from library:"))
        .unwrap_or_else(|| panic!("{out}"));
    let (acc_albums, acc_years) = albums_of(account);
    let (lib_albums, lib_years) = albums_of(library);
    assert_eq!(acc_albums, 5, "{out}");
    assert_eq!(acc_albums, lib_albums, "{out}");
    assert!(acc_years > 0, "items in no album have year folders: {out}");
    assert_eq!(lib_years, 0, "year folders belong to no source: {out}");
    // The JSON says the same.
    let v: serde_json::Value = serde_json::from_str(&env.ok(&["status", "--json"])).unwrap();
    let acc = &v["accounts"][0];
    assert_eq!(acc["totals"]["albums"], acc["sources"]["library"]["albums"]);
    assert_eq!(acc["totals"]["year_folders"].as_u64(), Some(acc_years));
}

#[test]
fn import_help_says_what_a_reimport_does() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_photobak"))
        .args(["import", "takeout", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(!help.contains("changes nothing"), "{help}");
    assert!(
        help.contains("only restores files that are missing or that verify found damaged"),
        "{help}"
    );
}
