//! `import takeout PART…` of an export already imported (issue 12, target 4): parts named on
//! the command line are recorded like an inbox's, so the same command again decides "already
//! imported" from `stat` and the index and opens no part; a touched part (same bytes) is not
//! read, a changed one is; an import with a failed entry is not recorded; asking for more than
//! the earlier import stored (`--include-trash`) reads again, here and in the inbox; and
//! `--reread` reads regardless. Every test runs the real binary on generated exports.

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, SystemTime};

use common::{Env, TAKEOUT_ACCOUNT, corrupt_entry, write_parts};
use photobak_testkit::takeout_gen::{ExportSpec, ItemSpec, Place, write_export};

/// A small export of `items` photos, one per part, and one more photo in its Trash.
fn export(timestamp: &str, tag: &str, items: usize) -> ExportSpec {
    common::one_per_part_export(timestamp, tag, items).item(
        ItemSpec::new(&format!("{tag}-trash"), &format!("IMG_{tag}_T.jpg")).places(&[Place::Trash]),
    )
}

fn import_cmd(env: &Env, parts: &[String], extra: &[&str]) -> Command {
    let mut c = env.cmd();
    c.args(["import", "takeout", "--account", TAKEOUT_ACCOUNT])
        .args(extra)
        .args(parts);
    c
}

fn import(env: &Env, parts: &[String], extra: &[&str]) -> Output {
    import_cmd(env, parts, extra)
        .output()
        .expect("photobak runs")
}

/// The rows recorded for parts named on the command line: (name, imported).
fn explicit_records(env: &Env) -> Vec<(String, bool)> {
    env.db()
        .prepare(
            "SELECT name, imported_at IS NOT NULL FROM takeout_parts
             WHERE origin = 'explicit' ORDER BY name",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn items(env: &Env) -> i64 {
    env.db()
        .query_row("SELECT count(*) FROM items", [], |r| r.get(0))
        .unwrap()
}

/// Sets a file's modification time `secs` seconds into the past (its bytes untouched).
fn age(path: &Path, secs: u64) {
    let f = std::fs::File::options().write(true).open(path).unwrap();
    f.set_modified(SystemTime::now() - Duration::from_secs(secs))
        .unwrap();
}

#[test]
fn the_same_parts_again_open_nothing_and_say_already_imported() {
    let env = Env::new();
    let dir = env.dir.path().join("parts");
    let spec = export("20261001T080000Z", "a", 3);
    let parts = write_parts(&spec, &dir);
    let first = env.import_takeout(&parts, &[]);
    assert!(!first.contains("already imported"), "{first}");
    assert!(first.contains("3 new"), "{first}");
    let recorded = explicit_records(&env);
    assert_eq!(recorded.len(), parts.len(), "{recorded:?}");
    assert!(recorded.iter().all(|r| r.1), "{recorded:?}");
    let before = env.tree_state();

    let again = env.import_takeout(&parts, &[]);
    assert!(again.contains("already imported"), "{again}");
    assert!(again.contains(&spec.export_id()), "{again}");
    assert!(again.contains("nothing read"), "{again}");
    assert_eq!(again.trim().lines().count(), 1, "{again}");
    assert_eq!(env.tree_state(), before);
    // The report as JSON says it too.
    let out = import(&env, &parts, &["--json"]);
    assert!(out.status.success(), "{}", common::described(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["already_imported"].is_string(), "{v:#}");
    assert_eq!(v["export_id"], spec.export_id(), "{v:#}");

    // Parts in another order are the same set; the same parts with one left out are not.
    let mut reversed = parts.clone();
    reversed.reverse();
    assert!(
        env.import_takeout(&reversed, &[])
            .contains("already imported")
    );
    let fewer = env.import_takeout(&parts[..parts.len() - 1], &[]);
    assert!(!fewer.contains("already imported"), "{fewer}");
    assert!(
        env.import_takeout(&parts[..parts.len() - 1], &[])
            .contains("already imported")
    );
    assert!(!env.import_takeout(&parts, &[]).contains("already imported"));

    if common::tool_available(
        "strace",
        "-V",
        "strace",
        "the_same_parts_again_open_nothing_and_say_already_imported",
    ) {
        let log = env.dir.path().join("strace.log");
        let cmd = import_cmd(&env, &parts, &[]);
        let (o, opened) = common::opens_under(&cmd, &log, &dir.display().to_string());
        assert!(String::from_utf8_lossy(&o.stdout).contains("already imported"));
        assert!(opened.is_empty(), "the rerun opened parts: {opened:#?}");
    }
}

#[test]
fn a_touched_part_is_not_read_a_changed_one_is() {
    let env = Env::new();
    let dir = env.dir.path().join("parts");
    let spec = export("20261001T080000Z", "a", 3);
    let parts = write_parts(&spec, &dir);
    env.import_takeout(&parts, &[]);

    // Same bytes, another time (copied again, synced again): compared by fingerprint.
    age(Path::new(&parts[1]), 7200);
    let out = env.import_takeout(&parts, &[]);
    assert!(out.contains("already imported"), "{out}");
    assert!(out.contains("1 touched"), "{out}");
    // The new time is remembered: the next run decides from stat alone.
    let out = env.import_takeout(&parts, &[]);
    assert!(
        out.contains("already imported") && !out.contains("touched"),
        "{out}"
    );

    // Another export written over the same names: other bytes, read and imported.
    let other = export("20261001T080000Z", "b", 3);
    std::fs::remove_dir_all(&dir).unwrap();
    let again = write_parts(&other, &dir);
    assert_eq!(again, parts);
    let before = items(&env);
    let out = env.import_takeout(&parts, &[]);
    assert!(!out.contains("already imported"), "{out}");
    assert!(out.contains("3 new"), "{out}");
    assert_eq!(items(&env), before + 3);
    assert!(env.import_takeout(&parts, &[]).contains("already imported"));
}

#[test]
fn an_import_with_a_failed_entry_is_not_recorded() {
    let env = Env::new();
    let dir = env.dir.path().join("parts");
    let spec = export("20261001T080000Z", "a", 3);
    let parts = write_parts(&spec, &dir);
    corrupt_entry(Path::new(&parts[1]), ".jpg");
    let out = import(&env, &parts, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", common::described(&out));
    assert!(
        explicit_records(&env).is_empty(),
        "{:?}",
        explicit_records(&env)
    );
    // Read again, and failing again.
    let out = import(&env, &parts, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", common::described(&out));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("already imported"));

    // Repaired (a good copy downloaded again): imported, then recorded.
    std::fs::remove_dir_all(&dir).unwrap();
    write_parts(&spec, &dir);
    let out = env.import_takeout(&parts, &[]);
    assert!(!out.contains("already imported"), "{out}");
    assert_eq!(explicit_records(&env).len(), parts.len());
    assert!(env.import_takeout(&parts, &[]).contains("already imported"));
}

#[test]
fn include_trash_on_a_rerun_reads_again_and_less_than_before_does_not() {
    let env = Env::new();
    let dir = env.dir.path().join("parts");
    let spec = export("20261001T080000Z", "a", 2);
    let parts = write_parts(&spec, &dir);
    let out = env.import_takeout(&parts, &[]);
    assert!(out.contains("1 in Trash"), "{out}");
    let without = items(&env);
    let out = env.import_takeout(&parts, &["--include-trash"]);
    assert!(!out.contains("already imported"), "{out}");
    assert_eq!(items(&env), without + 1, "{out}");
    assert!(
        env.import_takeout(&parts, &["--include-trash"])
            .contains("already imported")
    );
    // Without it now: the earlier import stored more; nothing to read.
    assert!(env.import_takeout(&parts, &[]).contains("already imported"));
    // --xmp asks for sidecars the earlier import did not write.
    let out = env.import_takeout(&parts, &["--xmp"]);
    assert!(!out.contains("already imported"), "{out}");
    assert!(out.contains("XMP sidecars written"), "{out}");
}

#[test]
fn include_trash_on_an_inbox_rerun_reads_again() {
    let env = Env::new();
    let inbox = env.dir.path().join("inbox");
    let spec = export("20261001T080000Z", "a", 2);
    for p in write_export(&spec, &inbox).unwrap() {
        age(&p, 3600);
    }
    let run = |extra: &[&str]| -> String {
        let out = env
            .cmd()
            .env("PHOTOBAK_SETTLE_SECS", "5")
            .args(["import", "takeout", "--account", TAKEOUT_ACCOUNT])
            .args(extra)
            .arg(&inbox)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", common::described(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    run(&[]);
    let without = items(&env);
    assert!(run(&[]).contains("nothing to do"));
    let out = run(&["--include-trash"]);
    assert!(
        out.contains("imported before without --include-trash"),
        "{out}"
    );
    assert_eq!(items(&env), without + 1, "{out}");
    assert!(run(&["--include-trash"]).contains("nothing to do"));
    assert!(run(&[]).contains("nothing to do"));
    // --reread: read again as asked.
    let out = run(&["--reread"]);
    assert!(out.contains("read again as asked (--reread)"), "{out}");
}

#[test]
fn reread_reads_parts_recorded_as_imported() {
    let env = Env::new();
    let dir = env.dir.path().join("parts");
    let spec = export("20261001T080000Z", "a", 2);
    let parts = write_parts(&spec, &dir);
    env.import_takeout(&parts, &[]);
    assert!(env.import_takeout(&parts, &[]).contains("already imported"));
    // A stored file deleted by hand: the index does not know, so the no-op stands; --reread
    // restores it.
    let stored = env.first_stored_file();
    std::fs::remove_file(&stored).unwrap();
    assert!(env.import_takeout(&parts, &[]).contains("already imported"));
    let out = env.import_takeout(&parts, &["--reread"]);
    assert!(!out.contains("already imported"), "{out}");
    assert!(stored.exists(), "{out}");
    assert!(out.contains("restored"), "{out}");
}

#[test]
fn a_file_verify_found_damaged_makes_the_rerun_read() {
    let env = Env::new();
    let dir = env.dir.path().join("parts");
    let spec = export("20261001T080000Z", "a", 2);
    let parts = write_parts(&spec, &dir);
    env.import_takeout(&parts, &[]);
    let stored = env.first_stored_file();
    let mut bytes = std::fs::read(&stored).unwrap();
    let n = bytes.len() / 2;
    bytes[n] ^= 0xff;
    std::fs::write(&stored, &bytes).unwrap();
    // verify finds it (exit non-zero) and clears its verification.
    let v = env.run(&["verify"]);
    assert!(!v.status.success(), "{}", common::described(&v));
    let out = env.import_takeout(&parts, &[]);
    assert!(!out.contains("already imported"), "{out}");
    assert!(out.contains("restored"), "{out}");
    assert!(env.import_takeout(&parts, &[]).contains("already imported"));
}

#[test]
fn kills_at_the_end_of_an_import_never_leave_parts_recorded_that_it_did_not_finish() {
    if !common::tool_available(
        "strace",
        "-V",
        "strace",
        "kills_at_the_end_of_an_import_never_leave_parts_recorded_that_it_did_not_finish",
    ) {
        return;
    }
    let env = Env::new();
    let spec = export("20261001T080000Z", "a", 3);
    let parts = write_parts(&spec, &env.dir.path().join("parts"));
    let import_into = |repo: &Path| {
        let mut c = env.cmd_for(repo);
        c.args(["import", "takeout", "--account", TAKEOUT_ACCOUNT])
            .args(&parts);
        c
    };
    let items_of = |repo: &Path| -> i64 {
        rusqlite::Connection::open(repo.join("photobak.db"))
            .unwrap()
            .query_row("SELECT count(*) FROM items", [], |r| r.get(0))
            .unwrap()
    };
    // An uninterrupted import, its index writes counted: the part records are its last
    // transaction, after the manifest.
    let twin = env.dir.path().join("twin");
    std::fs::create_dir_all(&twin).unwrap();
    let log = env.dir.path().join("wal.log");
    let wal = twin.join("photobak.db-wal");
    let o = common::under_strace(
        &import_into(&twin),
        &[
            "-f",
            "-o",
            log.to_str().unwrap(),
            "-P",
            wal.to_str().unwrap(),
            "-e",
            "trace=pwrite64",
        ],
    );
    assert!(o.status.success(), "{}", common::described(&o));
    let writes = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .filter(|l| l.contains("pwrite64("))
        .count();
    assert!(writes > 10, "strace saw {writes} index writes");
    let want = items_of(&twin);

    // Kill points: the first touch of the manifest (the import's index work is committed, its
    // parts not yet recorded: this one always kills), and the K-th write to the index's WAL
    // for every 10th K and each of the last 8 (the export's finish and the part records'
    // transaction). strace counts K per thread, and which thread writes varies, so a point
    // past a thread's writes does not kill: every point must end the same either way.
    let mut points: Vec<(String, Vec<String>)> = Vec::new();
    points.push(("the manifest".into(), vec![]));
    let last = writes.saturating_sub(8);
    for k in (1..last).step_by(10).chain(last..=writes) {
        points.push((format!("index write {k} of {writes}"), vec![k.to_string()]));
    }
    let mut killed = 0;
    for (round, (what, k)) in points.iter().enumerate() {
        let repo = env.dir.path().join(format!("repo-{round}"));
        std::fs::create_dir_all(&repo).unwrap();
        let args: Vec<String> = match k.first() {
            None => vec![
                "-f".into(),
                "-o".into(),
                "/dev/null".into(),
                "-P".into(),
                repo.join("photobak.b3").display().to_string(),
                "-e".into(),
                "inject=all:signal=KILL".into(),
            ],
            Some(k) => vec![
                "-f".into(),
                "-o".into(),
                "/dev/null".into(),
                "-P".into(),
                repo.join("photobak.db-wal").display().to_string(),
                "-e".into(),
                format!("inject=pwrite64:signal=KILL:when={k}"),
            ],
        };
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = common::under_strace(&import_into(&repo), &args);
        if !o.status.success() {
            killed += 1;
        }
        // The next run completes the import (reading the parts unless they were recorded,
        // which only a finished import does), and the one after reads nothing.
        let o = import_into(&repo).output().unwrap();
        assert!(o.status.success(), "{what}: {}", common::described(&o));
        let o = import_into(&repo).output().unwrap();
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(
            out.contains("already imported"),
            "{what}: {}",
            common::described(&o)
        );
        assert_eq!(items_of(&repo), want, "{what}");
        let v = env.cmd_for(&repo).arg("verify").output().unwrap();
        assert!(v.status.success(), "{what}: {}", common::described(&v));
    }
    assert!(
        killed >= points.len() / 2,
        "only {killed} of {} runs were killed",
        points.len()
    );
    eprintln!(
        "FIGURE rerun records: {killed} of {} kill points hit (the manifest, index writes through the import and its last ones), each import completed by the next run, its parts recorded only then, 0 lost",
        points.len()
    );
}
