//! The conformance suite every [`Source`] passes, in the spirit of rclone's backend tests: the
//! same questions asked of each source, against the fake Google service (real HTTP over
//! loopback) or generated Takeout exports.
//!
//! - a complete statement is complete: `holdings` names exactly what the source holds, and
//!   says how complete it is (an API listing is full; Takeout is full only on the word of a
//!   full export, and then names exactly what that export lacks);
//! - a listing that cannot be trusted says so (a repeated page token, a page that keeps
//!   failing) instead of looking complete;
//! - `fetch` gives byte-exact bytes through expired base URLs, dropped connections (Range
//!   resume), 5xx and 429 answers; a source that cannot fetch single items says what to do;
//! - error classes: refused credentials are `Error::Credentials`, never a silent success;
//! - cancellation: a cancelled run ends with `Error::Cancelled`;
//! - `list` through the engine (the path of `backup` and `import`): every item stored
//!   byte-exact under faults, a rerun fetches nothing, a looping listing stops with its reason.
//!
//! The suite lives in the core's tests rather than in the testkit because the testkit is an
//! independent oracle: it shares no code with what it tests and does not depend on the core.
//! A new source adds a `mod` here with its own fixture and calls the shared checks.

use std::sync::Arc;
use std::time::Duration;

use photobak_core::backup::GoogleAccess;
use photobak_core::engine::{Engine, EngineOptions};
use photobak_core::error::Error;
use photobak_core::google::http::{Pacer, RetryPolicy};
use photobak_core::google::oauth::{ClientCredentials, Token};
use photobak_core::google::{Endpoints, SCOPE_LIBRARY_READ};
use photobak_core::kinds::Source as SourceKind;
use photobak_core::progress::NoProgress;
use photobak_core::repo::Repo;
use photobak_core::source::library::{LibraryOptions, LibrarySource};
use photobak_core::source::{Completeness, Fetched, Holdings, ItemRef, Listed, Source, Sources};
use photobak_core::summary::RunSummary;
use tokio_util::sync::CancellationToken;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Shared check: a cancelled run ends promptly with `Error::Cancelled`, for both questions.
fn cancellation_is_honoured(rt: &tokio::runtime::Runtime, source: &dyn Source, item: &ItemRef) {
    let cancel = CancellationToken::new();
    cancel.cancel();
    let h = rt.block_on(source.holdings(&cancel, &NoProgress));
    assert!(matches!(h, Err(Error::Cancelled)), "holdings: {h:?}");
    match rt.block_on(source.fetch(item, &cancel)) {
        Err(Error::Cancelled) | Ok(Fetched::Unavailable(_)) => {}
        other => panic!("fetch after cancellation: {other:?}"),
    }
}

fn blake3_hex(path: &std::path::Path) -> String {
    blake3::hash(&std::fs::read(path).unwrap())
        .to_hex()
        .to_string()
}

/// The BLAKE3 of every stored file, as hex (shared check of the listing tests).
fn stored_hashes(repo: &Repo) -> std::collections::BTreeSet<String> {
    let mut out = std::collections::BTreeSet::new();
    let mut stack = vec![repo.root().join("googlephotos")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().unwrap() != "others.txt" {
                out.insert(blake3_hex(&p));
            }
        }
    }
    out
}

mod library {
    use super::*;
    use photobak_testkit::fake_google::{
        FakeConfig, FakeGoogle, Faults, GenerateSpec, PagedListing,
    };

    const ACCOUNT: &str = "conformance@example.com";

    struct World {
        rt: tokio::runtime::Runtime,
        fake: FakeGoogle,
        _dir: tempfile::TempDir,
        repo: Arc<Repo>,
        google: GoogleAccess,
    }

    fn world() -> World {
        world_of(24)
    }

    fn world_of(items: usize) -> World {
        let fake = FakeGoogle::start(FakeConfig::default()).unwrap();
        fake.add_account(ACCOUNT);
        fake.generate(
            ACCOUNT,
            &GenerateSpec {
                items,
                albums: 3,
                seed: 7,
                ..Default::default()
            },
        );
        let dir = tempfile::tempdir().unwrap();
        let repo = Arc::new(Repo::open(&dir.path().join("repo")).unwrap());
        let account = repo.ensure_account(ACCOUNT).unwrap();
        let t = fake.mint_tokens(ACCOUNT, SCOPE_LIBRARY_READ);
        let token = Token {
            access_token: t.access_token,
            refresh_token: t.refresh_token,
            expires_at: photobak_core::index::now() + 3000,
            scope: t.scope,
        };
        repo.index
            .set_credentials(account.id, Some(&serde_json::to_string(&token).unwrap()))
            .unwrap();
        let policy = RetryPolicy {
            base: Duration::from_millis(5),
            max_delay: Duration::from_millis(50),
            rate_limit_wait: Duration::from_millis(20),
            ..RetryPolicy::default()
        };
        let google = GoogleAccess {
            http: reqwest::Client::new(),
            endpoints: Endpoints::under(&fake.url()),
            client: ClientCredentials {
                client_id: "x".into(),
                client_secret: "y".into(),
            },
            policy,
        };
        World {
            rt: runtime(),
            fake,
            _dir: dir,
            repo,
            google,
        }
    }

    impl World {
        fn sources(&self) -> Sources {
            let account = self.repo.ensure_account(ACCOUNT).unwrap();
            let pacer = Arc::new(Pacer::new(CancellationToken::new()));
            Sources::for_account(&self.repo, Some(&self.google), &account, &pacer).unwrap()
        }

        fn holdings(&self) -> Holdings {
            let s = self.sources();
            let source = s
                .get(SourceKind::Library)
                .expect("an authorised account lists");
            self.rt
                .block_on(source.holdings(&CancellationToken::new(), &NoProgress))
                .unwrap()
        }

        fn item(&self, n: usize) -> (ItemRef, String) {
            let lib = self.fake.library();
            let it = &lib.account(ACCOUNT).unwrap().items[n];
            (
                ItemRef {
                    remote_id: it.id.clone(),
                    filename: it.filename.clone(),
                    source_ref: None,
                },
                it.blake3.clone(),
            )
        }

        fn fetch_exact(&self, n: usize) {
            let (item, expected) = self.item(n);
            let s = self.sources();
            let source = s.get(SourceKind::Library).unwrap();
            let fetched = self
                .rt
                .block_on(source.fetch(&item, &CancellationToken::new()))
                .unwrap();
            let Fetched::Bytes(staged) = fetched else {
                panic!("the Library API fetches single items");
            };
            assert_eq!(
                blake3::Hash::from(staged.hash).to_hex().to_string(),
                expected
            );
            // The staged file is in the repository's temporary area, whole.
            let tmp: Vec<_> = std::fs::read_dir(self.repo.tmp_dir())
                .unwrap()
                .flatten()
                .collect();
            assert!(
                tmp.iter().any(|e| blake3_hex(&e.path()) == expected),
                "staged bytes on disk"
            );
        }
    }

    #[test]
    fn a_complete_listing_names_exactly_what_the_source_holds() {
        let w = world();
        let h = w.holdings();
        assert_eq!(h.completeness, Completeness::Full);
        assert!(h.problems.is_empty(), "{:?}", h.problems);
        let lib = w.fake.library();
        let acc = lib.account(ACCOUNT).unwrap();
        let Listed::RemoteIds(ids) = &h.listed else {
            panic!("the API lists by id")
        };
        let expected: std::collections::BTreeSet<String> =
            acc.items.iter().map(|i| i.id.clone()).collect();
        assert_eq!(ids, &expected);
        let albums = h.albums.as_ref().unwrap();
        assert_eq!(albums.len(), acc.albums.len());
        for a in &acc.albums {
            assert_eq!(albums[&a.id].items.len(), a.item_ids.len(), "{}", a.title);
        }
        assert!(
            h.evidence
                .as_deref()
                .unwrap()
                .contains("Library API listing")
        );
        // An item the source no longer holds is named as such; one it holds is not.
        assert_eq!(h.absence(1, &acc.items[0].id), None);
        assert!(h.absence(2, "deleted-at-google").is_some());
    }

    #[test]
    fn a_repeated_page_token_makes_the_listing_untrustworthy() {
        // More items than one page holds, so the listing asks with a page token.
        let w = world_of(130);
        w.fake.set_faults(Faults {
            repeat_page_token: Some(PagedListing::MediaItems),
            max_faults: Some(50),
            ..Faults::default()
        });
        let h = w.holdings();
        assert!(
            h.problems.iter().any(|p| p.contains("page token")),
            "{:?}",
            h.problems
        );
    }

    #[test]
    fn a_listing_whose_pages_keep_failing_says_so() {
        let w = world();
        w.fake.set_faults(Faults {
            api_5xx_rate: 1.0,
            ..Faults::default()
        });
        let h = w.holdings();
        assert!(
            !h.problems.is_empty(),
            "a failed listing must not look whole"
        );
    }

    #[test]
    fn fetch_is_byte_exact_through_expired_urls_resets_and_retries() {
        let w = world();
        w.fetch_exact(0);
        // Base URLs expire (the fake's clock moves past their lifetime).
        w.fake.advance_clock(Duration::from_secs(2 * 3600));
        w.fetch_exact(1);
        // Dropped connections mid-body (Range resume), 5xx and 429 answers.
        w.fake.set_faults(Faults {
            reset_rate: 0.5,
            media_5xx_rate: 0.3,
            media_429_rate: 0.2,
            max_faults: Some(12),
            ..Faults::default()
        });
        for n in 2..8 {
            w.fetch_exact(n);
        }
        assert!(w.fake.stats().faults_injected.values().sum::<u64>() > 0);
    }

    #[test]
    fn refused_credentials_are_a_credentials_error() {
        let w = world();
        let (item, _) = w.item(0);
        w.fake.revoke_refresh_tokens(ACCOUNT);
        w.fake.expire_access_tokens();
        let s = w.sources();
        let source = s.get(SourceKind::Library).unwrap();
        let r =
            w.rt.block_on(source.fetch(&item, &CancellationToken::new()));
        assert!(matches!(r, Err(Error::Credentials { .. })), "{r:?}");
    }

    /// Runs the Library source through the engine (the path `backup` takes).
    fn run_listing(w: &World, cancel: CancellationToken) -> (RunSummary, Option<Error>) {
        let account = w.repo.ensure_account(ACCOUNT).unwrap();
        let engine = Engine::new(
            w.repo.clone(),
            EngineOptions {
                concurrency: 4,
                ..EngineOptions::default()
            },
            Arc::new(NoProgress),
            cancel,
        )
        .unwrap();
        let source = LibrarySource::new(
            &w.repo,
            &w.google,
            &account,
            engine.pacer(),
            LibraryOptions::default(),
        )
        .unwrap();
        w.rt.block_on(engine.run(&account, "backup", &source))
    }

    #[test]
    fn listing_through_the_engine_stores_every_item_byte_exact_under_faults() {
        let w = world_of(60);
        w.fake.set_faults(Faults {
            reset_rate: 0.2,
            media_5xx_rate: 0.1,
            media_429_rate: 0.1,
            api_5xx_rate: 0.1,
            // Fewer faults than the 8 attempts an item gets, so every item is stored
            // whatever order the faults land in: the test checks bytes, not luck.
            max_faults: Some(7),
            ..Faults::default()
        });
        let (s, err) = run_listing(&w, CancellationToken::new());
        assert!(err.is_none(), "{err:?}");
        assert!(s.ok(), "{s:?}");
        let lib = w.fake.library();
        let acc = lib.account(ACCOUNT).unwrap();
        let expected = acc.hashes();
        // Videos Google is still processing are skipped, to be fetched by a later run.
        let skipped: u64 = s.skipped.values().sum();
        let stored = stored_hashes(&w.repo);
        assert!(stored.is_subset(&expected), "only the library's bytes");
        assert_eq!(
            stored.len() as u64 + skipped,
            expected.len() as u64,
            "{s:?}"
        );
        assert_eq!(s.items as usize, acc.items.len());
        assert_eq!(s.new + s.deduplicated + skipped, s.items, "{s:?}");
        // Base URLs expire; a second run lists again and fetches nothing.
        w.fake.advance_clock(Duration::from_secs(2 * 3600));
        w.fake.set_faults(Faults::default());
        let (again, err) = run_listing(&w, CancellationToken::new());
        assert!(err.is_none(), "{err:?}");
        assert_eq!((again.new, again.bytes), (0, 0), "{again:?}");
        assert_eq!(again.unchanged + skipped, again.items, "{again:?}");
    }

    #[test]
    fn a_repeated_page_token_stops_the_listing_with_its_reason() {
        let w = world_of(130);
        w.fake.set_faults(Faults {
            repeat_page_token: Some(PagedListing::MediaItems),
            max_faults: Some(50),
            ..Faults::default()
        });
        let (s, err) = run_listing(&w, CancellationToken::new());
        let err = err.expect("a looping listing is an error, not a finished run");
        assert!(err.to_string().contains("page token"), "{err}");
        assert!(s.stopped.as_deref().unwrap().contains("page token"));
    }

    #[test]
    fn a_cancelled_listing_ends_as_cancelled_and_stores_nothing_half_way() {
        let w = world();
        let cancel = CancellationToken::new();
        cancel.cancel();
        let (s, err) = run_listing(&w, cancel);
        assert!(matches!(err, Some(Error::Cancelled)), "{err:?}");
        assert!(!s.ok());
        let tmp = std::fs::read_dir(w.repo.tmp_dir())
            .map(|d| d.count())
            .unwrap_or(0);
        assert_eq!(tmp, 0, "nothing staged is left behind");
    }

    #[test]
    fn cancellation_ends_both_questions() {
        let w = world();
        let (item, _) = w.item(0);
        let s = w.sources();
        cancellation_is_honoured(&w.rt, s.get(SourceKind::Library).unwrap(), &item);
    }
}

mod takeout {
    use super::*;
    use photobak_core::exports::ExportKind;
    use photobak_core::takeout_import::{ImportOptions, import_takeout};
    use photobak_testkit::takeout_gen::{ExportSpec, ItemSpec, write_export};

    const ACCOUNT: &str = "takeout-conformance@example.com";

    fn spec(ts: &str, items: &[ItemSpec]) -> ExportSpec {
        let mut s = ExportSpec::new(ts).account(ACCOUNT);
        s.items = items.to_vec();
        s
    }

    fn import(
        repo: &Arc<Repo>,
        dir: &std::path::Path,
        spec: &ExportSpec,
        kind: Option<ExportKind>,
    ) {
        let out = dir.join(&spec.timestamp);
        std::fs::create_dir_all(&out).unwrap();
        let parts = write_export(spec, &out).unwrap();
        runtime()
            .block_on(import_takeout(
                repo.clone(),
                &ImportOptions {
                    parts,
                    account: Some(ACCOUNT.into()),
                    kind,
                    ..Default::default()
                },
                Arc::new(NoProgress),
                CancellationToken::new(),
            ))
            .unwrap();
    }

    fn holdings(rt: &tokio::runtime::Runtime, repo: &Arc<Repo>) -> Holdings {
        let account = repo.ensure_account(ACCOUNT).unwrap();
        let pacer = Arc::new(Pacer::new(CancellationToken::new()));
        let s = Sources::for_account(repo, None, &account, &pacer).unwrap();
        let source = s
            .get(SourceKind::Takeout)
            .expect("an imported export makes a source");
        rt.block_on(source.holdings(&CancellationToken::new(), &NoProgress))
            .unwrap()
    }

    #[test]
    fn complete_only_on_the_word_of_a_full_export_and_then_exactly() {
        let rt = runtime();
        let dir = tempfile::tempdir().unwrap();
        let repo = Arc::new(Repo::open(&dir.path().join("repo")).unwrap());
        let lib: Vec<ItemSpec> = (0..10)
            .map(|i| ItemSpec::new(&format!("k{i}"), &format!("IMG_{i:04}.jpg")))
            .collect();
        // An incremental export says nothing of absences.
        import(&repo, dir.path(), &spec("20260101T000000Z", &lib), None);
        let h = holdings(&rt, &repo);
        assert_eq!(h.completeness, Completeness::Unknown);
        assert!(matches!(h.listed, Listed::Nothing));
        // A full export lacking two items names exactly those two, with its evidence.
        import(
            &repo,
            dir.path(),
            &spec("20260301T000000Z", &lib[2..]),
            Some(ExportKind::Full),
        );
        let h = holdings(&rt, &repo);
        assert_eq!(h.completeness, Completeness::Full);
        assert!(
            h.evidence
                .as_deref()
                .unwrap()
                .contains("takeout-20260301T000000Z")
        );
        let Listed::Gone(gone) = &h.listed else {
            panic!("Takeout names what is gone")
        };
        assert_eq!(gone.len(), 2);
        assert!(
            gone.values()
                .all(|why| why.contains("absent from full export"))
        );
        // A later incremental export changes nothing of that.
        import(
            &repo,
            dir.path(),
            &spec("20260501T000000Z", &lib[5..6]),
            None,
        );
        let Listed::Gone(after) = holdings(&rt, &repo).listed else {
            panic!()
        };
        assert_eq!(after.len(), 2);
    }

    #[test]
    fn single_items_cannot_be_fetched_and_the_way_to_restore_them_is_named() {
        let rt = runtime();
        let dir = tempfile::tempdir().unwrap();
        let repo = Arc::new(Repo::open(&dir.path().join("repo")).unwrap());
        let lib = [ItemSpec::new("k", "IMG_1.jpg")];
        import(&repo, dir.path(), &spec("20260101T000000Z", &lib), None);
        let account = repo.ensure_account(ACCOUNT).unwrap();
        let pacer = Arc::new(Pacer::new(CancellationToken::new()));
        let s = Sources::for_account(&repo, None, &account, &pacer).unwrap();
        let source = s.get(SourceKind::Takeout).unwrap();
        let item = ItemRef {
            remote_id: "takeout:x".into(),
            filename: "IMG_1.jpg".into(),
            source_ref: Some("takeout-20260101T000000Z".into()),
        };
        match rt.block_on(source.fetch(&item, &CancellationToken::new())) {
            Ok(Fetched::Unavailable(what)) => {
                assert!(
                    what.contains("import takeout-20260101T000000Z again"),
                    "{what}"
                )
            }
            other => panic!("{other:?}"),
        }
        cancellation_is_honoured(&rt, source, &item);
    }
}

mod picker {
    use super::*;
    use photobak_core::google::SCOPE_PICKER;
    use photobak_core::source::picker::{PickerSource, picker_client};
    use photobak_testkit::fake_google::{
        FakeConfig, FakeGoogle, Faults, GenerateSpec, PagedListing, Sizes,
    };

    const ACCOUNT: &str = "picker-conformance@example.com";

    struct World {
        rt: tokio::runtime::Runtime,
        fake: FakeGoogle,
        _dir: tempfile::TempDir,
        repo: Arc<Repo>,
        google: GoogleAccess,
        /// The picked items' ids, in picking order.
        picked: Vec<String>,
        session: String,
    }

    /// An account of `items` (a few videos among them, some still processing), all picked in
    /// one session.
    fn world_of(items: usize) -> World {
        let fake = FakeGoogle::start(FakeConfig::default()).unwrap();
        fake.add_account(ACCOUNT);
        fake.generate(
            ACCOUNT,
            &GenerateSpec {
                items,
                albums: 0,
                seed: 5,
                sizes: Sizes::Tiny,
                videos: Some(3),
            },
        );
        let dir = tempfile::tempdir().unwrap();
        let repo = Arc::new(Repo::open(&dir.path().join("repo")).unwrap());
        let account = repo.ensure_account(ACCOUNT).unwrap();
        let t = fake.mint_tokens(ACCOUNT, SCOPE_PICKER);
        let token = Token {
            access_token: t.access_token,
            refresh_token: t.refresh_token,
            expires_at: photobak_core::index::now() + 3000,
            scope: t.scope,
        };
        repo.index
            .set_credentials(account.id, Some(&serde_json::to_string(&token).unwrap()))
            .unwrap();
        let google = GoogleAccess {
            http: reqwest::Client::new(),
            endpoints: Endpoints::under(&fake.url()),
            client: ClientCredentials {
                client_id: "x".into(),
                client_secret: "y".into(),
            },
            policy: RetryPolicy {
                base: Duration::from_millis(5),
                max_delay: Duration::from_millis(50),
                rate_limit_wait: Duration::from_millis(20),
                ..RetryPolicy::default()
            },
        };
        let rt = runtime();
        let picked: Vec<String> = fake
            .library()
            .account(ACCOUNT)
            .unwrap()
            .items
            .iter()
            .map(|i| i.id.clone())
            .collect();
        let session = {
            let account = repo.ensure_account(ACCOUNT).unwrap();
            let pacer = Arc::new(Pacer::new(CancellationToken::new()));
            let client = picker_client(&repo, &google, &account, pacer).unwrap();
            rt.block_on(client.create_session(None)).unwrap().id
        };
        let ids: Vec<&str> = picked.iter().map(String::as_str).collect();
        fake.complete_picking(&session, &ids);
        World {
            rt,
            fake,
            _dir: dir,
            repo,
            google,
            picked,
            session,
        }
    }

    impl World {
        /// The Picker source of the session, on `pacer`.
        fn source(&self, pacer: &Arc<Pacer>) -> PickerSource {
            let account = self.repo.ensure_account(ACCOUNT).unwrap();
            let client = picker_client(&self.repo, &self.google, &account, pacer.clone()).unwrap();
            PickerSource::new(&self.repo, &account, Arc::new(client), &self.session)
        }

        fn run(&self, cancel: CancellationToken) -> (RunSummary, Option<Error>) {
            let account = self.repo.ensure_account(ACCOUNT).unwrap();
            let engine = Engine::new(
                self.repo.clone(),
                EngineOptions {
                    concurrency: 4,
                    ..EngineOptions::default()
                },
                Arc::new(NoProgress),
                cancel,
            )
            .unwrap();
            let source = self.source(engine.pacer());
            self.rt.block_on(engine.run(&account, "pick", &source))
        }

        fn item(&self, n: usize) -> (ItemRef, String) {
            let lib = self.fake.library();
            let it = lib
                .account(ACCOUNT)
                .unwrap()
                .items
                .iter()
                .find(|i| i.id == self.picked[n])
                .unwrap()
                .clone();
            (
                ItemRef {
                    remote_id: it.id.clone(),
                    filename: it.filename.clone(),
                    source_ref: Some(self.session.clone()),
                },
                it.blake3.clone(),
            )
        }

        /// The first picked photo at or after `n` (videos may still be processing).
        fn photo_at(&self, n: usize) -> usize {
            let lib = self.fake.library();
            let items = &lib.account(ACCOUNT).unwrap().items;
            (n..self.picked.len())
                .find(|&k| {
                    items
                        .iter()
                        .any(|i| i.id == self.picked[k] && !i.mime_type.starts_with("video/"))
                })
                .unwrap()
        }

        fn fetch_exact(&self, n: usize) {
            let (item, expected) = self.item(self.photo_at(n));
            let pacer = Arc::new(Pacer::new(CancellationToken::new()));
            let source = self.source(&pacer);
            let fetched = self
                .rt
                .block_on(source.fetch(&item, &CancellationToken::new()))
                .unwrap();
            let Fetched::Bytes(staged) = fetched else {
                panic!("a live session fetches single items");
            };
            assert_eq!(
                blake3::Hash::from(staged.hash).to_hex().to_string(),
                expected
            );
        }
    }

    #[test]
    fn listing_through_the_engine_stores_every_picked_item_byte_exact_under_faults() {
        let w = world_of(150);
        w.fake.set_faults(Faults {
            reset_rate: 0.2,
            media_5xx_rate: 0.1,
            media_429_rate: 0.1,
            api_5xx_rate: 0.1,
            // Fewer faults than the 8 attempts an item gets, so every item is stored
            // whatever order the faults land in: the test checks bytes, not luck.
            max_faults: Some(7),
            ..Faults::default()
        });
        let (s, err) = w.run(CancellationToken::new());
        assert!(err.is_none(), "{err:?}");
        assert!(s.ok(), "{s:?}");
        let lib = w.fake.library();
        let expected = lib.account(ACCOUNT).unwrap().hashes();
        let skipped: u64 = s.skipped.values().sum();
        let stored = stored_hashes(&w.repo);
        assert!(stored.is_subset(&expected), "only the picked bytes");
        assert_eq!(
            stored.len() as u64 + skipped,
            expected.len() as u64,
            "{s:?}"
        );
        assert_eq!(s.items as usize, w.picked.len());
        // A second run over the same session fetches nothing.
        w.fake.set_faults(Faults::default());
        let (again, err) = w.run(CancellationToken::new());
        assert!(err.is_none(), "{err:?}");
        assert_eq!((again.new, again.bytes), (0, 0), "{again:?}");
    }

    #[test]
    fn the_picker_cannot_list_a_library_so_its_holdings_are_unknown() {
        let w = world_of(6);
        let (s, _) = w.run(CancellationToken::new());
        assert!(s.ok(), "{s:?}");
        // Registered for the account now that it has picked items.
        let account = w.repo.ensure_account(ACCOUNT).unwrap();
        let pacer = Arc::new(Pacer::new(CancellationToken::new()));
        let sources = Sources::for_account(&w.repo, Some(&w.google), &account, &pacer).unwrap();
        let source = sources
            .get(SourceKind::Picker)
            .expect("picked items make a source");
        let h =
            w.rt.block_on(source.holdings(&CancellationToken::new(), &NoProgress))
                .unwrap();
        assert_eq!(h.completeness, Completeness::Unknown);
        assert!(h.problems.is_empty());
        assert!(matches!(h.listed, Listed::Nothing));
        // Nothing it delivered is ever taken for gone.
        assert_eq!(h.absence(1, &w.picked[0]), None);
        assert_eq!(h.absence(2, "deleted-at-google"), None);
        // Without a session single items cannot be fetched; what to do is named.
        let (item, _) = w.item(0);
        match w
            .rt
            .block_on(source.fetch(&item, &CancellationToken::new()))
        {
            Ok(Fetched::Unavailable(why)) => {
                assert!(why.contains("photobak pick --googlephotos"), "{why}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_repeated_page_token_stops_the_listing_with_its_reason() {
        let w = world_of(130);
        w.fake.set_faults(Faults {
            repeat_page_token: Some(PagedListing::PickedItems),
            max_faults: Some(50),
            ..Faults::default()
        });
        let (s, err) = w.run(CancellationToken::new());
        let err = err.expect("a looping listing is an error, not a finished run");
        assert!(err.to_string().contains("page token"), "{err}");
        assert!(s.stopped.as_deref().unwrap().contains("page token"));
    }

    #[test]
    fn fetch_is_byte_exact_through_expired_urls_resets_and_retries() {
        let w = world_of(24);
        w.fetch_exact(0);
        // Base URLs expire; the session lives on (a day): the page is listed again.
        w.fake.advance_clock(Duration::from_secs(2 * 3600));
        w.fetch_exact(1);
        w.fake.set_faults(Faults {
            reset_rate: 0.5,
            media_5xx_rate: 0.3,
            media_429_rate: 0.2,
            max_faults: Some(12),
            ..Faults::default()
        });
        for n in 2..8 {
            w.fetch_exact(n);
        }
        assert!(w.fake.stats().faults_injected.values().sum::<u64>() > 0);
    }

    #[test]
    fn refused_credentials_are_a_credentials_error() {
        let w = world_of(4);
        let (item, _) = w.item(w.photo_at(0));
        w.fake.revoke_refresh_tokens(ACCOUNT);
        w.fake.expire_access_tokens();
        let pacer = Arc::new(Pacer::new(CancellationToken::new()));
        let source = w.source(&pacer);
        let r =
            w.rt.block_on(source.fetch(&item, &CancellationToken::new()));
        assert!(matches!(r, Err(Error::Credentials { .. })), "{r:?}");
    }

    #[test]
    fn cancellation_ends_both_questions_and_the_listing() {
        let w = world_of(4);
        let (item, _) = w.item(0);
        let pacer = Arc::new(Pacer::new(CancellationToken::new()));
        cancellation_is_honoured(&w.rt, &w.source(&pacer), &item);
        let cancel = CancellationToken::new();
        cancel.cancel();
        let (s, err) = w.run(cancel);
        assert!(matches!(err, Some(Error::Cancelled)), "{err:?}");
        assert!(!s.ok());
    }
}
