//! OAuth end to end against the fake: the loopback flow with PKCE, denial, a forged state,
//! refresh, revocation, and a grant without the Photos scopes.

mod common;

use common::Env;
use photobak_testkit::fake_google::{AuthBehavior, NewItem};

const A: &str = "alice@example.com";

#[test]
fn the_loopback_flow_stores_credentials_in_the_repository() {
    let env = Env::new();
    env.fake.add_account(A);
    let out = env.ok(&["auth", "--googlephotos", A]);
    // The URL is always printed, and the authorisation request is what Google expects.
    assert!(out.contains("/o/oauth2/v2/auth?"), "{out}");
    let q = env
        .fake
        .stats()
        .last_authorize_query
        .expect("authorize was called");
    assert_eq!(q.get("access_type").map(String::as_str), Some("offline"));
    assert_eq!(q.get("prompt").map(String::as_str), Some("consent"));
    assert_eq!(
        q.get("code_challenge_method").map(String::as_str),
        Some("S256")
    );
    assert_eq!(q.get("login_hint").map(String::as_str), Some(A));
    assert!(
        q.get("redirect_uri")
            .unwrap()
            .starts_with("http://127.0.0.1:")
    );
    assert!(q.get("state").is_some_and(|s| s.len() >= 20));
    assert_eq!(env.fake.stats().token_code_exchanges, 1);
    let creds: String = env
        .db()
        .query_row(
            "SELECT credentials FROM accounts WHERE name = ?1",
            [A],
            |r| r.get(0),
        )
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&creds).unwrap();
    assert!(v["refresh_token"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(!creds.contains("client_secret") && !creds.contains("test-secret"));
    // Tokens never reach the output.
    assert!(!out.contains(v["access_token"].as_str().unwrap()));
}

#[test]
fn a_copied_repository_backs_up_headless() {
    let env = Env::new();
    env.fake.add_account(A);
    env.fake.add_item(A, NewItem::photo("IMG_1.JPG"));
    env.ok(&["auth", "--googlephotos", A]);
    let copy = env.dir.path().join("server-copy");
    copy_dir(&env.repo, &copy);
    let out = env
        .cmd_for(&copy)
        .env_remove("BROWSER")
        .args(["backup", "--googlephotos", A])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 new"));
}

#[test]
fn denial_and_a_wrong_state_are_clear_errors() {
    let env = Env::new();
    env.fake.add_account(A);
    env.fake.set_auth_behavior(AuthBehavior::Deny);
    let out = env.run(&["auth", "--googlephotos", A]);
    assert_ne!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("access_denied"), "{err}");
    env.fake.set_auth_behavior(AuthBehavior::WrongState);
    let out = env.run(&["auth", "--googlephotos", A]);
    assert_ne!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("state"), "{err}");
    env.fake.set_auth_behavior(AuthBehavior::PartialScope);
    let out = env.run(&["auth", "--googlephotos", A]);
    assert_ne!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("photoslibrary"), "{err}");
    // A sign-in that failed leaves nothing behind: no repository was created for it.
    assert!(!env.repo.exists(), "a failed auth created {:?}", env.repo);
    // Nor, in an existing repository, an account without credentials.
    env.fake.set_auth_behavior(AuthBehavior::Approve);
    env.auth("other@example.com");
    env.fake.set_auth_behavior(AuthBehavior::Deny);
    let out = env.run(&["auth", "--googlephotos", A]);
    assert_eq!(out.status.code(), Some(1));
    let accounts: Vec<String> = env
        .db()
        .prepare("SELECT name FROM accounts")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(accounts, vec!["other@example.com".to_string()]);
}

#[test]
fn expired_tokens_are_refreshed_and_revoked_ones_stop_the_account() {
    let env = Env::new();
    env.fake.add_account(A);
    env.fake.add_item(A, NewItem::photo("IMG_1.JPG"));
    env.auth(A);
    env.fake.expire_access_tokens();
    env.backup(&[A]);
    assert_eq!(
        env.fake.stats().token_refreshes,
        1,
        "exactly one refresh after a 401"
    );
    env.fake.revoke_refresh_tokens(A);
    env.fake.expire_access_tokens();
    let out = env.run(&["backup", "--googlephotos", A]);
    assert_eq!(out.status.code(), Some(1));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("invalid_grant"), "{text}");
    assert!(
        text.contains(&format!("photobak auth --googlephotos {A}")),
        "{text}"
    );
    assert!(text.contains("7 days"), "{text}");
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}
