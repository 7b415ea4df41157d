//! `POST /telemetry`: filing, idempotency, conflicts, access control and bad input.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use krkn_telemetry_api::ApiConfig;
use serde_json::{Value, json};

use crate::helpers::*;

fn query(group: &str, id: &str) -> String {
    format!("request_id={id}&telemetry_group={group}")
}

async fn seed_document_is_filed_and_indexed(kind: Kind) {
    let app = spawn(kind).await;
    let reply = app
        .post_telemetry("uploader", &query("default", RUN_ID), SEED)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert!(
        reply
            .body
            .contains(&format!("default/{RUN_ID}/telemetry.json"))
    );

    let objects = app.objects().await;
    assert_eq!(objects.len(), 1);
    assert_eq!(objects[0].0, format!("default/{RUN_ID}/telemetry.json"));
    let stored: Value = serde_json::from_slice(&objects[0].1).expect("stored JSON");
    let sent: Value = serde_json::from_slice(SEED).expect("seed JSON");
    assert_eq!(
        stored["scenarios"][0]["parameters"],
        sent["scenarios"][0]["parameters"]
    );
    assert_eq!(
        stored["scenarios"][0]["start_timestamp"],
        sent["scenarios"][0]["start_timestamp"]
    );
    // krkn-lib's parser adds an empty affected_vmis; filing does the same.
    assert_eq!(
        stored["scenarios"][0]["affected_vmis"]["recovered"],
        json!([])
    );
    assert_eq!(stored["cluster_version"], sent["cluster_version"]);
    assert_eq!(
        stored["build_url"], "manual",
        "krkn-lib defaults are filled in"
    );
    assert_eq!(app.run_counts("default", RUN_ID).await, (1, 1));
}

async fn duplicate_post_is_idempotent(kind: Kind) {
    let app = spawn(kind).await;
    for _ in 0..2 {
        let reply = app
            .post_telemetry("uploader", &query("default", RUN_ID), SEED)
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    }
    assert_eq!(app.objects().await.len(), 1);
    assert_eq!(app.run_counts("default", RUN_ID).await, (1, 1));
}

async fn different_document_for_an_existing_run_is_a_conflict(kind: Kind) {
    let app = spawn(kind).await;
    app.post_telemetry("uploader", &query("default", RUN_ID), SEED)
        .await;
    let before = app.objects().await;
    let mut other: Value = serde_json::from_slice(SEED).expect("json");
    other["cluster_version"] = json!("4.19.0");
    let reply = app
        .post_telemetry(
            "uploader",
            &query("default", RUN_ID),
            other.to_string().as_bytes(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.body);
    assert_eq!(
        app.objects().await,
        before,
        "the first document is untouched"
    );
}

async fn parameters_base64_is_decoded_and_kubeconfig_anonymized_on_filing(kind: Kind) {
    use base64::Engine;
    let app = spawn(kind).await;
    let mut doc: Value = serde_json::from_slice(SEED).expect("json");
    let yaml = "config:\n  kubeconfig: secret-token-123\n  namespace: etcd\n";
    doc["scenarios"][0]["parameters_base64"] =
        json!(base64::engine::general_purpose::STANDARD.encode(yaml));
    let reply = app
        .post_telemetry(
            "uploader",
            &query("default", RUN_ID),
            doc.to_string().as_bytes(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let stored = String::from_utf8(app.objects().await[0].1.clone()).expect("utf-8");
    assert!(!stored.contains("secret-token-123"));
    let stored: Value = serde_json::from_str(&stored).expect("json");
    assert_eq!(
        stored["scenarios"][0]["parameters"]["config"]["kubeconfig"],
        "anonymized"
    );
    assert_eq!(stored["scenarios"][0]["parameters_base64"], "");
}

async fn missing_or_wrong_credentials_are_401_with_a_challenge(kind: Kind) {
    let app = spawn(kind).await;
    let anonymous = Request::post(format!("/telemetry?{}", query("default", RUN_ID)))
        .header("Content-Type", "application/json")
        .body(Body::from(SEED.to_vec()))
        .expect("request");
    let wrong = Request::post(format!("/telemetry?{}", query("default", RUN_ID)))
        .header("Content-Type", "application/json")
        .header("Authorization", basic("uploader", "not-the-password"))
        .body(Body::from(SEED.to_vec()))
        .expect("request");
    for request in [anonymous, wrong] {
        let reply = app.send(request).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.body);
        let challenge = reply
            .headers
            .get("www-authenticate")
            .expect("challenge")
            .to_str()
            .expect("ascii");
        assert!(challenge.starts_with("Basic "), "{challenge}");
        assert!(!reply.body.contains("not-the-password"));
    }
    assert!(app.objects().await.is_empty());
}

async fn wrong_role_or_group_is_403(kind: Kind) {
    let app = spawn(kind).await;
    let reply = app
        .post_telemetry("reader", &query("default", RUN_ID), SEED)
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
    let reply = app
        .post_telemetry("perf-uploader", &query("default", RUN_ID), SEED)
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
    assert!(reply.body.contains("group default"), "{}", reply.body);
    assert!(app.objects().await.is_empty());
    let reply = app
        .post_telemetry("perf-uploader", &query("perf", RUN_ID), SEED)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
}

async fn bad_requests_name_the_problem_and_store_nothing(kind: Kind) {
    let app = spawn(kind).await;
    let cases: Vec<(&str, String, &[u8], StatusCode, &str)> = vec![
        ("missing request_id", "telemetry_group=default".into(), SEED, StatusCode::BAD_REQUEST, "request_id"),
        ("missing group", format!("request_id={RUN_ID}"), SEED, StatusCode::BAD_REQUEST, "telemetry_group"),
        ("traversal in request id", query("default", "..%2F..%2Fetc"), SEED, StatusCode::BAD_REQUEST, "invalid request id"),
        ("slash in group", query("a%2Fb", RUN_ID), SEED, StatusCode::BAD_REQUEST, "invalid group"),
        ("NUL in request id", query("default", "a%00b"), SEED, StatusCode::BAD_REQUEST, "NUL"),
        ("broken JSON", query("default", RUN_ID), b"{\"scenarios\": [", StatusCode::BAD_REQUEST, "not valid JSON"),
        ("empty scenario type", query("default", RUN_ID), br#"{"scenarios":[{"start_timestamp":1,"end_timestamp":2,"scenario":"s","scenario_type":"","exit_status":0,"parameters":{}}]}"#, StatusCode::BAD_REQUEST, "scenarios[0].scenario_type: must not be empty"),
        ("bad base64", query("default", RUN_ID), br#"{"scenarios":[{"start_timestamp":1,"end_timestamp":2,"scenario":"s","scenario_type":"t","exit_status":0,"parameters_base64":"!!!"}]}"#, StatusCode::BAD_REQUEST, "invalid parameters format"),
    ];
    for (name, q, body, status, words) in cases {
        let reply = app.post_telemetry("uploader", &q, body).await;
        assert_eq!(reply.status, status, "{name}: {}", reply.body);
        assert!(
            reply.body.contains(words),
            "{name}: wanted {words:?} in {:?}",
            reply.body
        );
    }
    assert!(app.objects().await.is_empty());
    assert_eq!(app.run_counts("default", RUN_ID).await, (0, 0));
}

async fn content_type_other_than_json_is_415(kind: Kind) {
    let app = spawn(kind).await;
    for (content_type, status) in [
        ("text/plain", StatusCode::UNSUPPORTED_MEDIA_TYPE),
        (
            "application/x-www-form-urlencoded",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        ("application/json; charset=utf-8", StatusCode::OK),
        ("Application/JSON", StatusCode::OK),
    ] {
        let request = Request::post(format!("/telemetry?{}", query("default", RUN_ID)))
            .header("Authorization", basic("uploader", &password("uploader")))
            .header("Content-Type", content_type)
            .body(Body::from(SEED.to_vec()))
            .expect("request");
        let reply = app.send(request).await;
        assert_eq!(reply.status, status, "{content_type}: {}", reply.body);
    }
}

async fn body_over_the_limit_is_413(kind: Kind) {
    let app = spawn_with(
        kind,
        ApiConfig {
            max_body_bytes: 1024,
            ..ApiConfig::default()
        },
    )
    .await;
    let reply = app
        .post_telemetry("uploader", &query("default", RUN_ID), SEED)
        .await;
    assert_eq!(
        reply.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        reply.body
    );
    assert!(app.objects().await.is_empty());
}

async fn a_document_over_the_filed_size_limit_is_413(kind: Kind) {
    let app = spawn_with(
        kind,
        ApiConfig {
            max_document_bytes: 2048,
            ..ApiConfig::default()
        },
    )
    .await;
    let reply = app
        .post_telemetry("uploader", &query("default", RUN_ID), SEED)
        .await;
    assert_eq!(
        reply.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        reply.body
    );
    assert!(
        reply.body.contains("over the limit of 2048 bytes"),
        "{}",
        reply.body
    );
    assert!(app.objects().await.is_empty());
    assert_eq!(app.run_counts("default", RUN_ID).await, (0, 0));
}

/// A list krkn-lib cannot read back as `null` is refused with the path; left out, it is fine.
async fn null_node_lists_are_refused_naming_the_path(kind: Kind) {
    let app = spawn(kind).await;
    for field in ["node_summary_infos", "node_taints"] {
        let before = app.objects().await.len();
        let mut document: serde_json::Value = serde_json::from_slice(SEED).expect("seed");
        document[field] = serde_json::Value::Null;
        let reply = app
            .post_telemetry(
                "uploader",
                &query("default", RUN_ID),
                &serde_json::to_vec(&document).expect("json"),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{field}: {}",
            reply.body
        );
        assert!(
            reply
                .body
                .contains(&format!("{field}: must be a list, not null")),
            "{}",
            reply.body
        );
        assert_eq!(app.objects().await.len(), before, "something was filed");
        document.as_object_mut().expect("object").remove(field);
        let reply = app
            .post_telemetry(
                "uploader",
                &query("default", &format!("{RUN_ID}-{field}")),
                &serde_json::to_vec(&document).expect("json"),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "{field} left out: {}",
            reply.body
        );
    }
}

/// A scenario whose export row is too long for a DynamoDB item is filed without a stored
/// row, and the export renders it from the document.
async fn a_huge_export_row_is_rendered_from_the_document(kind: Kind) {
    let app = spawn(kind).await;
    let mut document: serde_json::Value = serde_json::from_slice(SEED).expect("seed");
    let big: serde_json::Map<String, serde_json::Value> = (0..6000)
        .map(|i| {
            (
                format!("key_{i:05}"),
                serde_json::Value::from("x".repeat(60)),
            )
        })
        .collect();
    document["scenarios"][0]["parameters"] = serde_json::Value::Object(big);
    document["scenarios"][0]["parameters_base64"] = "".into();
    let reply = app
        .post_telemetry(
            "uploader",
            &query("default", RUN_ID),
            &serde_json::to_vec(&document).expect("json"),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let runs = app
        .backend
        .index
        .query_runs(&krkn_telemetry_api::store::RunQuery {
            limit: 10,
            ..Default::default()
        })
        .await
        .expect("runs");
    let stored = app
        .backend
        .index
        .export_rows(&runs.runs)
        .await
        .expect("rows");
    assert_eq!(stored, vec![None], "the long row was kept in the index");
    let export = app.get("reader", "/api/v1/scenarios?format=ndjson").await;
    assert_eq!(export.status, StatusCode::OK, "{}", export.body);
    let first = export.body.lines().next().expect("a row");
    assert!(first.contains("key_05999"), "the row lacks its parameters");
}

#[tokio::test]
async fn healthz_needs_no_credentials() {
    let app = spawn(Kind::Local).await;
    let reply = app
        .send(
            Request::get("/healthz")
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
}

on_both_backends!(
    seed_document_is_filed_and_indexed,
    duplicate_post_is_idempotent,
    different_document_for_an_existing_run_is_a_conflict,
    parameters_base64_is_decoded_and_kubeconfig_anonymized_on_filing,
    missing_or_wrong_credentials_are_401_with_a_challenge,
    wrong_role_or_group_is_403,
    bad_requests_name_the_problem_and_store_nothing,
    content_type_other_than_json_is_415,
    body_over_the_limit_is_413,
    a_document_over_the_filed_size_limit_is_413,
    null_node_lists_are_refused_naming_the_path,
    a_huge_export_row_is_rendered_from_the_document
);

/// While the service starts, `/healthz` says so and other requests wait for it, then are
/// served as usual (here: a wrong password is a 401 once the store is ready).
#[tokio::test]
async fn requests_wait_for_the_service_to_be_ready() {
    let app = spawn(Kind::Local).await;
    let (readiness, ready) = krkn_telemetry_api::routes::guards::Readiness::starting();
    let router = krkn_telemetry_api::router(krkn_telemetry_api::AppState::with_readiness(
        app.backend.clone(),
        ApiConfig::default(),
        readiness,
    ));
    let send = |path: &'static str| {
        let router = router.clone();
        async move {
            use tower::ServiceExt;
            let request = Request::get(path)
                .header("Authorization", basic("reader", &password("reader")))
                .body(Body::empty())
                .expect("request");
            let response = router.oneshot(request).await.expect("answers");
            (
                response.status(),
                response.headers().get("retry-after").cloned(),
            )
        }
    };
    let (status, retry) = send("/healthz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(retry.is_some());
    let waiting = tokio::spawn(send("/navigate"));
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(
        !waiting.is_finished(),
        "a request was answered before the service was ready"
    );
    ready.ready();
    let (status, _) = waiting.await.expect("request");
    assert_eq!(status, StatusCode::OK);
    assert_eq!(send("/healthz").await.0, StatusCode::OK);
}
