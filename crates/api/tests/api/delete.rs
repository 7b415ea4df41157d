//! Deleting a run (`DELETE /api/v1/runs/{group}/{request_id}`) on both backends: nothing of
//! the run is left (objects, run and scenario entries), other runs are untouched, only admins
//! of the group may, a second delete answers 404, a delete cut short is finished by deleting
//! again, and the name can be filed anew.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use krkn_telemetry_api::auth::new_user;
use serde_json::Value;

use crate::helpers::*;

const OTHER_ID: &str = "1745343400-0f8fd0b2-6b7e-4c4f-9a55-4b1f3f0b6d7e";

async fn delete(app: &TestApp, user: &str, group: &str, request_id: &str) -> Reply {
    let request = Request::delete(format!("/api/v1/runs/{group}/{request_id}"))
        .header("Authorization", basic(user, &password(user)))
        .body(Body::empty())
        .expect("request");
    app.send(request).await
}

/// Files `default/<id>` with the seed document and one more file of the run.
async fn file_run(app: &TestApp, request_id: &str) {
    let filed = app
        .post_telemetry(
            "uploader",
            &format!("request_id={request_id}&telemetry_group=default"),
            SEED,
        )
        .await;
    assert_eq!(filed.status, StatusCode::OK, "{}", filed.body);
    app.backend
        .objects
        .put_if_absent(
            &format!("default/{request_id}/critical-alerts-00.log"),
            b"alert".to_vec(),
        )
        .await
        .expect("a file of the run");
}

async fn listed_runs(app: &TestApp) -> Vec<String> {
    let listed = app.get("admin", "/api/v1/runs?group=default").await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    let listed: Value = serde_json::from_str(&listed.body).expect("JSON");
    listed["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .map(|r| r["request_id"].as_str().expect("request_id").to_owned())
        .collect()
}

async fn an_admin_deletes_a_run_and_nothing_of_it_is_left(kind: Kind) {
    let app = spawn(kind).await;
    file_run(&app, RUN_ID).await;
    file_run(&app, OTHER_ID).await;
    assert_eq!(app.run_counts("default", RUN_ID).await.0, 1);
    let others_before: Vec<(String, Vec<u8>)> = app
        .objects()
        .await
        .into_iter()
        .filter(|(key, _)| key.contains(OTHER_ID))
        .collect();

    let deleted = delete(&app, "admin", "default", RUN_ID).await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.body);
    let deleted: Value = serde_json::from_str(&deleted.body).expect("JSON");
    assert_eq!(deleted["group"], "default");
    assert_eq!(deleted["request_id"], RUN_ID);
    assert_eq!(deleted["index_entries_removed"], true);
    assert_eq!(deleted["objects_removed"], 2, "telemetry.json and the log");

    assert_eq!(app.run_counts("default", RUN_ID).await, (0, 0));
    let left = app.objects().await;
    assert!(
        left.iter().all(|(key, _)| !key.contains(RUN_ID)),
        "objects of the deleted run are left: {:?}",
        left.iter().map(|(k, _)| k).collect::<Vec<_>>()
    );
    let others_after: Vec<(String, Vec<u8>)> = left
        .into_iter()
        .filter(|(key, _)| key.contains(OTHER_ID))
        .collect();
    assert_eq!(others_after, others_before, "the other run is untouched");
    assert_eq!(listed_runs(&app).await, vec![OTHER_ID.to_owned()]);
    let page = app
        .get("admin", &format!("/api/v1/runs/default/{RUN_ID}"))
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND, "{}", page.body);

    // A second delete finds nothing; the name can be filed anew.
    let again = delete(&app, "admin", "default", RUN_ID).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND, "{}", again.body);
    assert!(again.body.contains("deleted already"), "{}", again.body);
    file_run(&app, RUN_ID).await;
    assert_eq!(app.run_counts("default", RUN_ID).await.0, 1);
    assert_eq!(listed_runs(&app).await.len(), 2);
}

async fn only_admins_of_the_group_may_delete_a_run(kind: Kind) {
    let app = spawn(kind).await;
    file_run(&app, RUN_ID).await;
    let perf_admin =
        new_user("perf-admin", "admin", "perf", &password("perf-admin")).expect("user");
    app.backend
        .users
        .put_user(&perf_admin)
        .await
        .expect("saved");
    for user in ["reader", "uploader", "perf-admin"] {
        let refused = delete(&app, user, "default", RUN_ID).await;
        assert_eq!(
            refused.status,
            StatusCode::FORBIDDEN,
            "{user}: {}",
            refused.body
        );
        assert!(refused.body.contains(user), "{}", refused.body);
    }
    let anonymous = app
        .send(
            Request::delete(format!("/api/v1/runs/default/{RUN_ID}"))
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    let bad = delete(&app, "admin", "default", "..").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    assert_eq!(app.run_counts("default", RUN_ID).await.0, 1, "still filed");
    assert!(
        app.objects().await.iter().any(|(k, _)| k.contains(RUN_ID)),
        "its objects are still there"
    );
    // The run page tells the console whether to offer the delete.
    for (user, may) in [("admin", true), ("reader", false)] {
        let page = app
            .get(user, &format!("/api/v1/runs/default/{RUN_ID}"))
            .await;
        let page: Value = serde_json::from_str(&page.body).expect("JSON");
        assert_eq!(page["may_delete"], may, "{user}");
    }
}

async fn a_delete_cut_short_after_the_index_is_finished_by_deleting_again(kind: Kind) {
    let app = spawn(kind).await;
    file_run(&app, RUN_ID).await;
    // What a crash between the two steps leaves: no index entries, the objects still there.
    assert!(
        app.backend
            .index
            .remove_run("default", RUN_ID)
            .await
            .expect("entries removed")
    );
    assert!(
        listed_runs(&app).await.is_empty(),
        "no list names it any more"
    );
    let finished = delete(&app, "admin", "default", RUN_ID).await;
    assert_eq!(finished.status, StatusCode::OK, "{}", finished.body);
    let finished: Value = serde_json::from_str(&finished.body).expect("JSON");
    assert_eq!(finished["index_entries_removed"], false);
    assert_eq!(finished["objects_removed"], 2);
    assert!(app.objects().await.is_empty());
}

on_both_backends!(
    an_admin_deletes_a_run_and_nothing_of_it_is_left,
    only_admins_of_the_group_may_delete_a_run,
    a_delete_cut_short_after_the_index_is_finished_by_deleting_again,
);

/// On the embedded store a filed document is first kept in the index's log until the file
/// system is synced, and the store's start rewrites logged documents whose file is missing:
/// a deleted run must not come back at the next start, nor through a read that falls back
/// to the log.
#[tokio::test]
async fn a_deleted_run_stays_deleted_when_the_embedded_store_opens_again() {
    let app = spawn(Kind::Local).await;
    file_run(&app, RUN_ID).await;
    let deleted = delete(&app, "admin", "default", RUN_ID).await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.body);
    let key = format!("default/{RUN_ID}/telemetry.json");
    assert!(
        app.backend.objects.get(&key).await.expect("read").is_none(),
        "the deleted document is read back (from the index's log)"
    );
    let reopened = krkn_telemetry_api::store::LocalStore::open(app.dir.path()).expect("reopens");
    let reopened = krkn_telemetry_api::store::Backend::local(reopened);
    assert!(
        reopened.objects.get(&key).await.expect("read").is_none(),
        "the deleted document came back when the store opened again"
    );
    assert!(
        !app.dir.path().join("objects/default").exists(),
        "the emptied group folder is gone, as a group is on S3"
    );
}

async fn the_run_delete_command_deletes_a_run(kind: Kind) {
    let app = spawn(kind).await;
    file_run(&app, RUN_ID).await;
    file_run(&app, OTHER_ID).await;
    let run = format!("default/{RUN_ID}");
    let out = crate::cli::run(kind, app.dir.path(), &["run", "delete", &run], "", &app.aws);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "run {run} deleted: 2 object(s) and its index entries"
        )),
        "{stderr}"
    );
    assert_eq!(app.run_counts("default", RUN_ID).await, (0, 0));
    assert_eq!(listed_runs(&app).await, vec![OTHER_ID.to_owned()]);
    assert!(app.objects().await.iter().all(|(k, _)| !k.contains(RUN_ID)));

    let again = crate::cli::run(kind, app.dir.path(), &["run", "delete", &run], "", &app.aws);
    assert_eq!(again.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&again.stderr).into_owned();
    assert!(
        stderr.contains("(never filed, or deleted already)"),
        "{stderr}"
    );
    let unnamed = crate::cli::run(
        kind,
        app.dir.path(),
        &["run", "delete", RUN_ID],
        "",
        &app.aws,
    );
    assert_eq!(unnamed.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&unnamed.stderr).into_owned();
    assert!(stderr.contains("GROUP/REQUEST_ID"), "{stderr}");
}

on_both_backends!(the_run_delete_command_deletes_a_run);
