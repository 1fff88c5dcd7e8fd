//! Crash consistency: every command that writes (`backup`, `import takeout`, `prune`,
//! `verify --repair`) is killed with SIGKILL at random moments and restarted until it completes,
//! again and again. After every kill the index must name only bytes that are there; after the
//! last run the repository must equal one made without any kill, `verify` must be clean, no
//! temporary file may be left, and nothing the index had recorded may have been downloaded
//! again (the fake counts media requests per item).
//!
//! CI runs 5 kill points per command; `PHOTOBAK_LONG=1` runs 30 (RELIABILITY.md has the figures
//! of the last long run). `PHOTOBAK_CHAOS_SEED` replays a run; the seed is printed.

mod common;
mod reliability;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{Env, assert_matches_library};
use photobak_testkit::fake_google::{Faults, GenerateSpec, NewItem, Sizes, VideoStatus};
use photobak_testkit::takeout_gen::{ExportSpec, newer_export, realistic_export, write_export};
use reliability::*;

const A: &str = "alice@example.com";
const T: &str = "jane.doe@example.com";

/// Fields of `list --json` that differ between two repositories of the same library made at
/// different times (none of them describe what is stored).
const VOLATILE: &[&str] = &[];

fn generated(env: &Env, items: usize, albums: usize, seed: u64) {
    env.fake.add_account(A);
    env.fake.generate(
        A,
        &GenerateSpec {
            items,
            albums,
            seed,
            sizes: Sizes::Tiny,
            videos: None,
        },
    );
}

/// Slows every media body a little so a run lasts long enough to be hit in the middle.
fn slow_media(env: &Env) {
    env.fake.set_faults(Faults {
        slow_body_ms_per_chunk: 4,
        ..Faults::default()
    });
}

/// The kill loop. `run` builds the command; `refill` gives the next completed run something
/// to do again; `after_kill` checks the repository after each kill. Returns (kill points that
/// hit a running process, completed runs).
fn kill_loop(
    what: &str,
    rng: &mut Rng,
    window: Duration,
    mut run: impl FnMut() -> std::process::Command,
    mut refill: impl FnMut(usize),
    mut before_run: impl FnMut(),
    mut after_run: impl FnMut(&Ending),
) -> (usize, usize) {
    let want = kill_points();
    let (mut kills, mut completed, mut tries) = (0, 0, 0);
    while kills < want {
        tries += 1;
        assert!(
            tries < want * 20 + 20,
            "{what}: only {kills} kills landed in {tries} tries"
        );
        before_run();
        let ending = run_and_kill(&mut run(), rng.upto(window));
        after_run(&ending);
        match ending {
            Ending::Killed => kills += 1,
            Ending::Exited(code) => {
                assert!(
                    matches!(code, Some(0) | Some(1)),
                    "{what} exited with {code:?} instead of finishing"
                );
                completed += 1;
                refill(completed);
            }
        }
    }
    (kills, completed)
}

/// A run to completion (must exit 0).
fn complete(env: &Env, repo: &Path, args: &[&str]) -> String {
    let out = env.cmd_for(repo).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?} failed ({:?}):\n{}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn auth(env: &Env, repo: &Path) {
    complete(env, repo, &["auth", "--googlephotos", A]);
}

fn assert_clean_end(env: &Env, repo: &Path) {
    assert_index_names_only_real_bytes(repo, &BTreeSet::new());
    assert_verify_clean(env, repo);
    assert_others_consistent(repo);
    assert_eq!(
        temp_files(repo),
        Vec::<PathBuf>::new(),
        "temporary files left"
    );
}

/// Adds items (some in a new album) so a completed backup has work again.
fn add_items(env: &Env, round: usize, n: usize) {
    let album = env.fake.add_album(A, &format!("Added in round {round}"));
    for i in 0..n {
        let mut item = NewItem::photo(&format!("IMG_{round:02}{i:03}.JPG"));
        if i % 2 == 0 {
            item = item.in_album(&album);
        }
        env.fake.add_item(A, item);
    }
}

#[test]
fn backup_killed_at_random_moments_loses_nothing_and_downloads_nothing_twice() {
    let mut rng = chaos_rng("backup");
    let env = Env::new();
    generated(&env, 150, 8, 11);
    env.auth(A);
    slow_media(&env);

    // The window: how long a complete backup of this library takes, measured on a twin
    // repository backed up from the same fake (its requests are not counted below).
    let twin = env.dir.path().join("twin");
    auth(&env, &twin);
    let (full, out) = timed(env.cmd_for(&twin).args(["backup", "--googlephotos", A]));
    assert!(out.status.success());
    let window = full + full / 5;

    let repo = env.repo.clone();
    let recorded = std::cell::RefCell::new(BTreeSet::new());
    let counts_before = std::cell::RefCell::new(Default::default());
    let fake = &env.fake;
    let (kills, completed) = kill_loop(
        "backup",
        &mut rng,
        window,
        || {
            let mut c = env.cmd();
            c.args(["backup", "--googlephotos", A]);
            c
        },
        |round| add_items(&env, round, 25),
        || {
            *recorded.borrow_mut() = recorded_items(&repo);
            *counts_before.borrow_mut() = fake.stats().media_requests_by_item;
        },
        |_| {
            // Nothing the index had recorded before this run was fetched again by it.
            let after = fake.stats().media_requests_by_item;
            for id in recorded.borrow().iter() {
                assert_eq!(
                    after.get(id),
                    counts_before.borrow().get(id),
                    "item {id} was recorded and then downloaded again"
                );
            }
            assert_index_names_only_real_bytes(&repo, &BTreeSet::new());
        },
    );
    let recorded = recorded_items(&repo);
    let counts_before = fake.stats().media_requests_by_item;
    complete(&env, &repo, &["backup", "--googlephotos", A]);
    let after = fake.stats().media_requests_by_item;
    for id in &recorded {
        assert_eq!(
            after.get(id),
            counts_before.get(id),
            "{id} downloaded again"
        );
    }

    let snap = env.fake.library();
    let n = assert_matches_library(&env, &snap, A);
    assert_clean_end(&env, &repo);
    // The same library backed up once, without kills, gives the same repository.
    complete(&env, &twin, &["backup", "--googlephotos", A]);
    assert_eq!(
        listing(&env, &repo, VOLATILE),
        listing(&env, &twin, VOLATILE)
    );
    figure(&format!(
        "crash backup: {kills} kill points survived, {completed} runs completed between them, {n} items byte-exact, 0 lost"
    ));
}

fn export_parts(spec: &ExportSpec, dir: &Path) -> Vec<String> {
    write_export(spec, dir)
        .unwrap()
        .into_iter()
        .map(|p| p.display().to_string())
        .collect()
}

fn import_args(parts: &[String]) -> Vec<String> {
    let mut v: Vec<String> = ["import", "takeout", "--account", T, "--xmp"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    v.extend(parts.iter().cloned());
    v
}

#[test]
fn import_killed_at_random_moments_equals_an_uninterrupted_import() {
    let mut rng = chaos_rng("import");
    let env = Env::new();
    let mut spec = realistic_export(21);
    let mut parts = export_parts(&spec, &env.dir.path().join("export-0"));
    let twin = env.dir.path().join("twin");
    let (full, out) = timed(env.cmd_for(&twin).args(import_args(&parts)));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let window = full + full / 5;

    let repo = env.repo.clone();
    let current = std::cell::RefCell::new(parts.clone());
    let (kills, completed) = kill_loop(
        "import takeout",
        &mut rng,
        window,
        || {
            let mut c = env.cmd();
            c.args(import_args(&current.borrow()));
            c
        },
        |round| {
            // The next export of the same library (edits, additions, album changes), imported
            // once into the twin too.
            let (next, _) = newer_export(&spec, round as u64);
            spec = next;
            parts = export_parts(&spec, &env.dir.path().join(format!("export-{round}")));
            complete(
                &env,
                &twin,
                &import_args(&parts)
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>(),
            );
            *current.borrow_mut() = parts.clone();
        },
        || {},
        |_| {
            if repo.join("photobak.db").exists() {
                assert_index_names_only_real_bytes(&repo, &BTreeSet::new());
            }
        },
    );
    let args = import_args(&current.borrow());
    complete(
        &env,
        &repo,
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert_clean_end(&env, &repo);
    let got = listing(&env, &repo, VOLATILE);
    let want = listing(&env, &twin, VOLATILE);
    assert_eq!(got.len(), want.len(), "item counts differ");
    assert_eq!(
        got, want,
        "a killed import differs from an uninterrupted one"
    );
    // Kills may land between the end of an import and the record of its parts (explicit
    // parts are recorded after an import with no failed entry): a part is recorded only
    // after its import completed, so the completed import's parts are recorded now and the
    // same command reads nothing.
    let again = env.ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(again.contains("already imported"), "{again}");
    assert_eq!(listing(&env, &repo, VOLATILE), want);
    figure(&format!(
        "crash import takeout: {kills} kill points survived, {completed} exports completed between them, {} items equal to an uninterrupted import, 0 lost",
        got.len()
    ));
}

#[test]
fn prune_killed_at_random_moments_removes_exactly_what_is_gone() {
    let mut rng = chaos_rng("prune");
    let env = Env::new();
    generated(&env, 200, 10, 12);
    env.auth(A);
    env.backup(&[A]);

    // Deletes a few items and one album at the fake, so the next prune has work.
    let gone_items: std::cell::RefCell<Vec<String>> = Default::default();
    let delete_some = |round: usize| {
        let snap = env.fake.library();
        let acc = snap.account(A).unwrap();
        for item in acc.items.iter().skip(round * 3).take(6) {
            // Videos that never became READY were never stored, so have nothing to trash.
            if item.video_status.is_none_or(|s| s == VideoStatus::Ready) {
                gone_items.borrow_mut().push(item.blake3.clone());
            }
            env.fake.delete_item(&item.id);
        }
        if let Some(album) = acc.albums.get(round % acc.albums.len().max(1)) {
            env.fake.delete_album(&album.id);
        }
        add_items(&env, round + 100, 4);
        // Everything new is stored before the next prune: prune only removes.
        env.backup(&[A]);
    };
    delete_some(0);
    let twin_env_time = {
        // Measure a prune on a copy of the repository.
        let copy = env.dir.path().join("measure");
        copy_dir(&env.repo, &copy);
        let (d, out) = timed(env.cmd_for(&copy).args(["prune", "--force"]));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        d
    };
    let window = twin_env_time + twin_env_time / 5;
    let repo = env.repo.clone();
    let (kills, completed) = kill_loop(
        "prune",
        &mut rng,
        window,
        || {
            let mut c = env.cmd();
            c.args(["prune", "--force"]);
            c
        },
        delete_some,
        || {},
        |_| {
            assert_index_names_only_real_bytes(&repo, &BTreeSet::new());
        },
    );
    complete(&env, &repo, &["prune", "--force"]);
    let snap = env.fake.library();
    let n = assert_matches_library(&env, &snap, A);
    assert_clean_end(&env, &repo);
    // Nothing but what the fake deleted left the index, and every removed file is in the
    // trash (prune never destroys without --purge).
    let db = env.db();
    let items: i64 = db
        .query_row("SELECT COUNT(*) FROM items", [], |r| r.get(0))
        .unwrap();
    assert_eq!(items as usize, snap.account(A).unwrap().items.len());
    let mut trashed = BTreeSet::new();
    common::walk(&repo.join(".photobak/trash"), &mut |p| {
        trashed.insert(common::hash_hex(p));
    });
    let live = snap.account(A).unwrap().hashes();
    for h in gone_items.borrow().iter() {
        assert!(
            trashed.contains(h) || live.contains(h),
            "the file of a deleted item ({h}) is neither in the trash nor still used"
        );
    }
    figure(&format!(
        "crash prune: {kills} kill points survived, {completed} prunes completed between them, {n} remaining items byte-exact, {} removed items all in the trash, 0 lost",
        gone_items.borrow().len()
    ));
}

#[test]
fn verify_repair_killed_at_random_moments_still_repairs_and_fetches_only_the_damage() {
    let mut rng = chaos_rng("verify --repair");
    let env = Env::new();
    generated(&env, 150, 8, 13);
    env.auth(A);
    env.backup(&[A]);
    slow_media(&env);
    let repo = env.repo.clone();

    let damaged: std::cell::RefCell<BTreeSet<String>> = Default::default();
    let damaged_ids: std::cell::RefCell<BTreeSet<String>> = Default::default();
    let damage = |round: usize| {
        let db = env.db();
        let rows: Vec<(String, String)> = db
            .prepare(
                "SELECT c.path, i.remote_id FROM content c JOIN items i ON i.content_id = c.id
                 ORDER BY c.id",
            )
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        for (k, (path, id)) in rows.iter().skip(round * 7).take(6).enumerate() {
            let abs = repo.join(path);
            if k % 2 == 0 {
                std::fs::remove_file(&abs).unwrap();
            } else {
                let mut b = std::fs::read(&abs).unwrap();
                let mid = b.len() / 2;
                b[mid] ^= 0xff;
                std::fs::write(&abs, b).unwrap();
            }
            damaged.borrow_mut().insert(path.clone());
            damaged_ids.borrow_mut().insert(id.clone());
        }
        std::fs::write(
            repo.join(".photobak/../googlephotos/.x.tmp-99"),
            b"leftover",
        )
        .ok();
    };
    damage(0);
    let before = env.fake.stats().media_requests_by_item;
    let copy = env.dir.path().join("measure");
    copy_dir(&repo, &copy);
    let (d, _) = timed(env.cmd_for(&copy).args(["verify", "--repair"]));
    let window = d + d / 5;
    let measured = env.fake.stats().media_requests_by_item;
    let (kills, completed) = kill_loop(
        "verify --repair",
        &mut rng,
        window,
        || {
            let mut c = env.cmd();
            c.args(["verify", "--repair"]);
            c
        },
        |round| {
            assert_index_names_only_real_bytes(&repo, &BTreeSet::new());
            damaged.borrow_mut().clear();
            damage(round);
        },
        || {},
        |_| {
            assert_index_names_only_real_bytes(&repo, &damaged.borrow());
        },
    );
    complete(&env, &repo, &["verify", "--repair"]);
    let snap = env.fake.library();
    let n = assert_matches_library(&env, &snap, A);
    assert_clean_end(&env, &repo);
    // Only damaged items were fetched (by the measuring copy or by the repairs).
    let after = env.fake.stats().media_requests_by_item;
    for (id, c) in &after {
        if before.get(id) != Some(c) && measured.get(id) == before.get(id) {
            assert!(
                damaged_ids.borrow().contains(id),
                "verify --repair fetched intact item {id}"
            );
        }
    }
    figure(&format!(
        "crash verify --repair: {kills} kill points survived, {completed} repairs completed between them, {} damaged files restored, {n} items byte-exact, 0 lost",
        damaged_ids.borrow().len()
    ));
}

fn copy_dir(from: &Path, to: &Path) {
    let st = std::process::Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(st.success());
}
