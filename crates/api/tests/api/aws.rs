//! What only the S3 + DynamoDB store does, checked on moto: what its presigned links bind,
//! conditional writes, an unreachable S3, and `init`.
//!
//! moto does not verify presigned signatures (KRKN-PROTOCOL.md section 7), so what a link
//! binds is checked in its `X-Amz-SignedHeaders`; the embedded store proves the binding end to
//! end in `protocol.rs`.

use std::sync::Arc;

use axum::http::StatusCode;
use krkn_telemetry_api::ApiConfig;
use krkn_telemetry_api::store::{AwsStore, Backend};

use crate::helpers::*;

fn signed_headers(url: &str) -> Vec<String> {
    let query = url.split_once('?').map(|(_, q)| q).unwrap_or_default();
    let value = query
        .split('&')
        .find_map(|pair| pair.strip_prefix("X-Amz-SignedHeaders="))
        .expect("a SigV4 presigned URL");
    value
        .split("%3B")
        .flat_map(|h| h.split(';'))
        .map(str::to_owned)
        .collect()
}

async fn presign(app: &TestApp, extra: &str) -> String {
    let reply = app
        .get("uploader", &format!("/presigned-url?request_id=default/{RUN_ID}&remote_filename=prometheus-00.tar{extra}"))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body
}

#[tokio::test]
async fn old_client_links_bind_only_the_host_new_ones_bind_what_they_announced() {
    let app = spawn(Kind::Moto).await;
    assert_eq!(signed_headers(&presign(&app, "").await), ["host"]);
    let sha = "5994471abb01112afcc18159f6cc74b4f511b99806da59b3caf5a9c173cacfc5";
    let headers = signed_headers(&presign(&app, &format!("&content_length=5&sha256={sha}")).await);
    for header in [
        "host",
        "content-length",
        "if-none-match",
        "x-amz-checksum-sha256",
    ] {
        assert!(
            headers.iter().any(|h| h == header),
            "{header} is not signed: {headers:?}"
        );
    }
}

#[tokio::test]
async fn a_new_client_link_cannot_replace_a_stored_file() {
    let app = spawn(Kind::Moto).await;
    let link = presign(&app, "&content_length=5").await;
    let client = reqwest::Client::new();
    let put = |body: &'static str| {
        client
            .put(&link)
            .header("If-None-Match", "*")
            .body(body)
            .send()
    };
    assert_eq!(
        put("12345").await.expect("PUT answers").status(),
        StatusCode::OK
    );
    assert_eq!(
        put("54321").await.expect("PUT answers").status(),
        StatusCode::PRECONDITION_FAILED
    );
    let stored = app.objects().await;
    assert_eq!(
        stored,
        vec![(
            format!("default/{RUN_ID}/prometheus-00.tar"),
            b"12345".to_vec()
        )]
    );
}

#[tokio::test]
async fn unreachable_s3_is_503_and_leaves_no_index_entry() {
    // DynamoDB on moto, S3 on a port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr");
    let mut settings = moto_settings();
    let healthy = AwsStore::connect(&settings).await;
    healthy.init().await.expect("init");
    settings.s3_endpoint = Some(format!("http://{closed}"));
    let broken = Arc::new(AwsStore::connect(&settings).await);
    let backend = Backend::aws(broken);
    for (name, role, groups) in USERS {
        backend
            .users
            .put_user(
                &krkn_telemetry_api::auth::new_user(name, role, groups, &password(name))
                    .expect("user"),
            )
            .await
            .expect("users live in DynamoDB, which is up");
    }
    let app = TestApp {
        router: krkn_telemetry_api::router(krkn_telemetry_api::AppState::new(
            backend.clone(),
            ApiConfig::default(),
        )),
        backend,
        dir: tempfile::tempdir().expect("dir"),
        aws: Some(settings),
    };
    let reply = app
        .post_telemetry(
            "uploader",
            &format!("request_id={RUN_ID}&telemetry_group=default"),
            SEED,
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        reply.body
    );
    assert!(reply.body.contains("S3 PutObject"), "{}", reply.body);
    assert_eq!(
        app.run_counts("default", RUN_ID).await,
        (0, 0),
        "no index entry without its document"
    );
}

#[tokio::test]
async fn init_is_idempotent() {
    let settings = moto_settings();
    let store = AwsStore::connect(&settings).await;
    let first = store.init().await.expect("first init");
    assert!(
        first.iter().any(|l| l.starts_with("created bucket")),
        "{first:?}"
    );
    let second = store.init().await.expect("second init");
    assert!(second.iter().all(|l| l.ends_with("exists")), "{second:?}");
}

/// The run item of `run` as DynamoDB holds it, read with the SDK directly.
async fn raw_run_item(
    settings: &krkn_telemetry_api::store::aws::AwsSettings,
    run: &str,
) -> std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue> {
    crate::helpers::table_client(settings)
        .await
        .query()
        .table_name(&settings.table)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(
            ":pk",
            aws_sdk_dynamodb::types::AttributeValue::S("GROUP#default".into()),
        )
        .send()
        .await
        .expect("query")
        .items()
        .iter()
        .find(|item| {
            item.get("request_id")
                .and_then(|v| v.as_s().ok())
                .is_some_and(|id| id == run)
        })
        .cloned()
        .expect("the run item")
}

#[tokio::test]
async fn index_items_expire_with_their_documents_and_are_never_listed_past_it() {
    for (expiry, listed) in [
        (Some(std::time::Duration::from_secs(86_400)), true),
        (Some(std::time::Duration::ZERO), false),
        (None, true),
    ] {
        let mut settings = moto_settings();
        settings.index_expiry = expiry;
        let store = Arc::new(AwsStore::connect(&settings).await);
        let init = store.init().await.expect("init");
        assert!(
            init.iter()
                .any(|line| line == "enabled time to live on expires_at"),
            "{init:?}"
        );
        let app = aws_app(Backend::aws(store), settings.clone(), ApiConfig::default()).await;
        let filed = app
            .post_telemetry(
                "uploader",
                &format!("request_id={RUN_ID}&telemetry_group=default"),
                SEED,
            )
            .await;
        assert_eq!(filed.status, StatusCode::OK, "{}", filed.body);
        let runs = app.get("reader", "/api/v1/runs?group=default").await;
        let runs: serde_json::Value = serde_json::from_str(&runs.body).expect("JSON");
        let count = runs["runs"].as_array().map_or(0, Vec::len);
        assert_eq!(count, usize::from(listed), "{expiry:?}: {runs}");
        let all = app.get("reader", "/api/v1/runs").await;
        let all: serde_json::Value = serde_json::from_str(&all.body).expect("JSON");
        assert_eq!(
            all["runs"].as_array().map_or(0, Vec::len),
            usize::from(listed)
        );
        let item = raw_run_item(&settings, RUN_ID).await;
        let filed_at = item["filed_at"].as_s().expect("filed_at");
        let filed_at = chrono::DateTime::parse_from_rfc3339(filed_at)
            .expect("RFC 3339")
            .timestamp();
        match expiry {
            Some(after) => assert_eq!(
                item.get("expires_at").and_then(|v| v.as_n().ok()),
                Some(&(filed_at + after.as_secs() as i64).to_string()),
                "the run item expires {after:?} after filing"
            ),
            None => assert!(!item.contains_key("expires_at"), "{item:?}"),
        }
    }
}
