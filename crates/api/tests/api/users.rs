//! First-start admin, and users as the CLI manages them.

use axum::http::StatusCode;
use krkn_telemetry_api::auth::{AdminBootstrap, ensure_admin, new_user};
use krkn_telemetry_api::store::{Backend, LocalStore};
use krkn_telemetry_api::{ApiConfig, AppState, router};

use crate::helpers::*;

#[tokio::test]
async fn first_start_creates_an_admin_that_can_log_in() {
    let dir = tempfile::tempdir().expect("dir");
    let backend = Backend::local(LocalStore::open(dir.path()).expect("store"));
    // An empty KRKN_TELEMETRY_ADMIN_PASSWORD counts as unset.
    let AdminBootstrap::Generated(password) = ensure_admin(
        backend.users.as_ref(),
        backend.audit.as_ref(),
        Some(""),
        true,
    )
    .await
    .expect("bootstrap") else {
        panic!("an admin is generated on an empty store");
    };
    assert_eq!(
        ensure_admin(backend.users.as_ref(), backend.audit.as_ref(), None, true)
            .await
            .expect("again"),
        AdminBootstrap::Unchanged
    );
    let stored = backend
        .users
        .get_user("admin")
        .await
        .expect("read")
        .expect("admin exists");
    assert!(
        stored.password_hash.starts_with("$argon2id$"),
        "only a hash is stored"
    );
    assert!(!stored.password_hash.contains(&password));

    let app = TestApp {
        router: router(AppState::new(backend.clone(), ApiConfig::default())),
        backend,
        dir,
        aws: None,
    };
    let request = axum::http::Request::get("/navigate")
        .header("Authorization", basic("admin", &password))
        .body(axum::body::Body::empty())
        .expect("request");
    assert_eq!(app.send(request).await.status, StatusCode::OK);
}

#[test]
fn bad_user_definitions_are_refused_with_reasons() {
    assert!(
        new_user("bob", "superuser", "*", "long-enough")
            .expect_err("role")
            .contains("unknown role")
    );
    assert!(
        new_user("bob", "reader", "*", "short")
            .expect_err("password")
            .contains("at least 8")
    );
    assert!(
        new_user("../bob", "reader", "*", "long-enough")
            .expect_err("name")
            .contains("user name")
    );
    assert!(
        new_user("bob", "reader", "a/b", "long-enough")
            .expect_err("group")
            .contains("group")
    );
}
