//! `GET /navigate/...`: listing groups, runs and files, with paging past upstream's 13.

use axum::http::StatusCode;
use serde_json::Value;

use crate::helpers::*;

async fn groups_runs_and_files_are_listed(kind: Kind) {
    let app = spawn(kind).await;
    app.post_telemetry(
        "uploader",
        &format!("request_id={RUN_ID}&telemetry_group=default"),
        SEED,
    )
    .await;
    let groups: Value =
        serde_json::from_str(&app.get("reader", "/navigate").await.body).expect("json");
    assert_eq!(groups[0]["path"], "default");
    assert_eq!(groups[0]["type"], "folder");
    let runs: Value =
        serde_json::from_str(&app.get("reader", "/navigate/default").await.body).expect("json");
    assert_eq!(runs[0]["path"], RUN_ID);
    let files: Value = serde_json::from_str(
        &app.get("reader", &format!("/navigate/default/{RUN_ID}"))
            .await
            .body,
    )
    .expect("json");
    assert_eq!(files[0]["path"], "telemetry.json");
    assert_eq!(files[0]["type"], "file");
    assert_eq!(
        files[0]["size"].as_u64(),
        Some(app.objects().await[0].1.len() as u64)
    );
}

async fn listing_pages_past_thirteen_entries(kind: Kind) {
    let app = spawn(kind).await;
    for i in 0..20 {
        let reply = app
            .post_telemetry(
                "uploader",
                &format!("request_id=1745343{i:03}-run&telemetry_group=default"),
                SEED,
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    }
    let all: Value =
        serde_json::from_str(&app.get("reader", "/navigate/default").await.body).expect("json");
    assert_eq!(all.as_array().map(Vec::len), Some(20));

    let first = app.get("reader", "/navigate/default?limit=15").await;
    let page: Value = serde_json::from_str(&first.body).expect("json");
    assert_eq!(page.as_array().map(Vec::len), Some(15));
    let next = first
        .headers
        .get("x-next-start-after")
        .expect("more pages")
        .to_str()
        .expect("ascii")
        .to_owned();
    let second: Value = serde_json::from_str(
        &app.get(
            "reader",
            &format!("/navigate/default?limit=15&start_after={next}"),
        )
        .await
        .body,
    )
    .expect("json");
    assert_eq!(second.as_array().map(Vec::len), Some(5));
}

async fn uploaders_may_not_browse_and_traversal_is_refused(kind: Kind) {
    let app = spawn(kind).await;
    assert_eq!(
        app.get("uploader", "/navigate").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get("reader", "/navigate/..").await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        app.get("reader", "/navigate/default/..%2F..").await.status,
        StatusCode::BAD_REQUEST
    );
}

/// A reader of some groups pages through those that exist, and a page is never cut short by
/// groups the reader may not see (before, `limit=2` gave `[]` and no next page).
async fn a_restricted_reader_pages_through_its_groups(kind: Kind) {
    let app = spawn(kind).await;
    app.backend
        .users
        .put_user(
            &krkn_telemetry_api::auth::new_user(
                "perf-reader",
                "reader",
                "perf,zeta,ghost",
                "perf-reader-password",
            )
            .expect("user"),
        )
        .await
        .expect("saved");
    for group in ["alpha", "beta", "perf", "zeta"] {
        let reply = app
            .post_telemetry(
                "uploader",
                &format!("request_id={RUN_ID}&telemetry_group={group}"),
                SEED,
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
    let page = app.get("perf-reader", "/navigate?limit=1").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let names: Vec<String> = serde_json::from_str::<Vec<serde_json::Value>>(&page.body)
        .expect("json")
        .iter()
        .map(|e| e["path"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(names, ["perf"]);
    assert_eq!(
        page.headers.get("x-next-start-after").map(|v| v.as_bytes()),
        Some(&b"perf"[..])
    );
    let next = app
        .get("perf-reader", "/navigate?limit=1&start_after=perf")
        .await;
    assert!(next.body.contains("\"zeta\""), "{}", next.body);
    assert!(
        next.headers.get("x-next-start-after").is_none(),
        "ghost has nothing filed"
    );
    let all = app.get("perf-reader", "/navigate").await;
    assert!(
        !all.body.contains("alpha") && !all.body.contains("beta"),
        "{}",
        all.body
    );
}

on_both_backends!(
    a_restricted_reader_pages_through_its_groups,
    groups_runs_and_files_are_listed,
    listing_pages_past_thirteen_entries,
    uploaders_may_not_browse_and_traversal_is_refused
);
