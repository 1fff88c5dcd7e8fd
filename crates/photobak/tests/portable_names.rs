//! Names that are one file on macOS and Windows but two on Linux: a portable repository must
//! not hold both. NFC and NFD spellings of one name (`Café.jpg` typed on Windows, the same name
//! uploaded from a Mac), and names that differ only by the case of a non-ASCII letter
//! (`Été.jpg`, `été.jpg`), stored side by side in one album folder, would overwrite each other
//! when the repository is copied to APFS, NTFS or exFAT. `Index::path_in_use` compares the
//! portable key of names (`repo::naming::portable_key`: NFC, case folded), so the second of
//! two such names gets a numbered suffix.

mod common;

use std::collections::BTreeMap;

use common::Env;
use photobak_testkit::fake_google::{Content, GenerateSpec, NewItem, Sizes};

const A: &str = "alice@example.com";

/// The key under which macOS and Windows would see a name, for the names this test uses:
/// NFD `e` + U+0301 composes to `é` (NFC), then case is folded.
fn portable_key(name: &str) -> String {
    name.replace("e\u{301}", "\u{e9}")
        .replace("E\u{301}", "\u{c9}")
        .to_lowercase()
}

#[test]
fn names_that_collide_on_macos_or_windows_are_never_stored_side_by_side() {
    let env = Env::new();
    env.fake.add_account(A);
    env.fake.generate(
        A,
        &GenerateSpec {
            items: 1,
            albums: 0,
            seed: 81,
            sizes: Sizes::Tiny,
            videos: None,
        },
    );
    let album = env.fake.add_album(A, "Noms");
    let names = [
        "Caf\u{e9}.jpg",         // NFC
        "Cafe\u{301}.jpg",       // NFD
        "\u{c9}t\u{e9}.jpg",     // Été
        "\u{e9}t\u{e9}.jpg",     // été
        "E\u{301}te\u{301}.jpg", // Été, NFD
    ];
    for (i, n) in names.iter().enumerate() {
        env.fake.add_item(
            A,
            NewItem::photo(n)
                .content(Content::bytes(format!("bytes of item {i}").into_bytes()))
                .in_album(&album),
        );
    }
    env.auth(A);
    env.backup(&[A]);
    let folder = env.repo.join("googlephotos/alice_at_example.com/Noms");
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for e in std::fs::read_dir(&folder).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        if let Some(other) = seen.insert(portable_key(&name), name.clone()) {
            panic!("{name:?} and {other:?} are one file on macOS and Windows");
        }
    }
    assert_eq!(seen.len(), names.len(), "{seen:?}");
}
