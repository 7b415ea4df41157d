//! A table of malformed requests: each gets a 4xx whose message names the problem, none gets
//! a 5xx, and storage holds exactly what it held before. Long, and better whole: most of it is
//! the one table of cases.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

/// A change to the seed document.
type Patch = Box<dyn Fn(&mut Value)>;

struct Case {
    name: String,
    request: Request<Body>,
    status: StatusCode,
    words: &'static str,
}

fn auth(user: &str) -> String {
    basic(user, &password(user))
}

fn post(
    query: &str,
    content_type: Option<&str>,
    authorization: Option<String>,
    body: Vec<u8>,
) -> Request<Body> {
    let mut builder = Request::post(format!("/telemetry?{query}"));
    if let Some(ct) = content_type {
        builder = builder.header("Content-Type", ct);
    }
    if let Some(a) = authorization {
        builder = builder.header("Authorization", a);
    }
    builder.body(Body::from(body)).expect("request")
}

fn get(path: &str, user: &str) -> Request<Body> {
    Request::get(path)
        .header("Authorization", auth(user))
        .body(Body::empty())
        .expect("request")
}

fn ok_query() -> String {
    format!("request_id={RUN_ID}-new&telemetry_group=default")
}

fn seed() -> Value {
    serde_json::from_slice(SEED).expect("seed")
}

/// Every malformed request, with the answer it must get: one table read top to bottom,
/// better whole than split (a case is three lines; the order groups them by what they break).
fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    let mut add =
        |name: String, request: Request<Body>, status: StatusCode, words: &'static str| {
            cases.push(Case {
                name,
                request,
                status,
                words,
            });
        };
    let json_post = |body: Vec<u8>| {
        post(
            &ok_query(),
            Some("application/json"),
            Some(auth("uploader")),
            body,
        )
    };

    // Broken and truncated JSON.
    for (i, cut) in [1usize, 2, 10, 50, 100, 500, 1000, 2000, 3000, 3200]
        .iter()
        .enumerate()
    {
        add(
            format!("truncated seed #{i} at {cut} bytes"),
            json_post(SEED[..*cut].to_vec()),
            StatusCode::BAD_REQUEST,
            "not valid JSON",
        );
    }
    for (i, text) in [
        "",
        "{",
        "}",
        "[",
        "{]",
        "{\"scenarios\": [}",
        "nul",
        "tru",
        "{'scenarios': []}",
        "{\"scenarios\": [],}",
        "{\"scenarios\" []}",
        "\u{feff}{}",
    ]
    .iter()
    .enumerate()
    {
        add(
            format!("broken JSON #{i} {text:?}"),
            json_post(text.as_bytes().to_vec()),
            StatusCode::BAD_REQUEST,
            "invalid telemetry document",
        );
    }
    add(
        "non-UTF-8 body".into(),
        json_post(b"{\"tag\": \"\xff\xfe\"}".to_vec()),
        StatusCode::BAD_REQUEST,
        "not valid JSON",
    );
    add(
        "deeply nested body".into(),
        json_post(
            format!(
                "{{\"error_logs\": {}{}}}",
                "[".repeat(5000),
                "]".repeat(5000)
            )
            .into_bytes(),
        ),
        StatusCode::BAD_REQUEST,
        "recursion limit",
    );
    add(
        "oversized body".into(),
        json_post(vec![b' '; 11 * 1024 * 1024]),
        StatusCode::PAYLOAD_TOO_LARGE,
        "the body is over the limit of 10485760 bytes",
    );

    // Wrong types, nulls, empty scenario fields, bad parameters.
    let patches: Vec<(&str, Patch, &'static str)> = vec![
        (
            "document is a list",
            Box::new(|d| *d = json!([])),
            "expected an object",
        ),
        (
            "document is null",
            Box::new(|d| *d = Value::Null),
            "expected an object",
        ),
        (
            "scenarios null",
            Box::new(|d| d["scenarios"] = Value::Null),
            "scenarios",
        ),
        (
            "scenarios a string",
            Box::new(|d| d["scenarios"] = json!("x")),
            "scenarios",
        ),
        (
            "scenario a number",
            Box::new(|d| d["scenarios"][0] = json!(1)),
            "scenarios[0]",
        ),
        (
            "start null",
            Box::new(|d| d["scenarios"][0]["start_timestamp"] = Value::Null),
            "start_timestamp",
        ),
        (
            "start a string",
            Box::new(|d| d["scenarios"][0]["start_timestamp"] = json!("now")),
            "start_timestamp",
        ),
        (
            "end before start",
            Box::new(|d| d["scenarios"][0]["end_timestamp"] = json!(1)),
            "end_timestamp",
        ),
        (
            "scenario empty",
            Box::new(|d| d["scenarios"][0]["scenario"] = json!("")),
            "scenarios[0].scenario",
        ),
        (
            "scenario null",
            Box::new(|d| d["scenarios"][0]["scenario"] = Value::Null),
            "scenarios[0].scenario",
        ),
        (
            "scenario_type empty",
            Box::new(|d| d["scenarios"][0]["scenario_type"] = json!("")),
            "scenario_type",
        ),
        (
            "exit_status null",
            Box::new(|d| d["scenarios"][0]["exit_status"] = Value::Null),
            "exit_status",
        ),
        (
            "exit_status a float",
            Box::new(|d| d["scenarios"][0]["exit_status"] = json!(0.5)),
            "exit_status",
        ),
        (
            "parameters null",
            Box::new(|d| d["scenarios"][0]["parameters"] = Value::Null),
            "parameters",
        ),
        (
            "parameters empty",
            Box::new(|d| d["scenarios"][0]["parameters"] = json!("")),
            "parameters",
        ),
        (
            "bad base64",
            Box::new(|d| d["scenarios"][0]["parameters_base64"] = json!("***")),
            "invalid parameters format",
        ),
        (
            "bad YAML",
            Box::new(|d| d["scenarios"][0]["parameters_base64"] = json!("a2V5OiBbdW5jbG9zZWQ=")),
            "invalid parameters format",
        ),
        (
            "scalar YAML",
            Box::new(|d| d["scenarios"][0]["parameters_base64"] = json!("aGVsbG8=")),
            "invalid parameters format",
        ),
        (
            "node count a string",
            Box::new(|d| d["node_summary_infos"][0]["count"] = json!("3")),
            "node_summary_infos[0].count",
        ),
        (
            "node count negative",
            Box::new(|d| d["node_summary_infos"][0]["count"] = json!(-3)),
            "node_summary_infos[0].count",
        ),
        (
            "taints an object",
            Box::new(|d| d["node_taints"] = json!({})),
            "node_taints",
        ),
        (
            "object count negative",
            Box::new(|d| d["kubernetes_objects_count"]["Pod"] = json!(-1)),
            "kubernetes_objects_count.Pod",
        ),
        (
            "total nodes a string",
            Box::new(|d| d["total_node_count"] = json!("6")),
            "total_node_count",
        ),
        (
            "job_status a string",
            Box::new(|d| d["job_status"] = json!("true")),
            "job_status",
        ),
        (
            "network plugins a number",
            Box::new(|d| d["network_plugins"] = json!(3)),
            "network_plugins",
        ),
        (
            "timestamp garbage",
            Box::new(|d| d["timestamp"] = json!("yesterday")),
            "timestamp",
        ),
        (
            "major version an object",
            Box::new(|d| d["major_version"] = json!({})),
            "major_version",
        ),
        (
            "recovered pods a string",
            Box::new(|d| d["scenarios"][0]["affected_pods"]["recovered"] = json!("x")),
            "recovered",
        ),
        (
            "huge cluster_version",
            Box::new(|d| d["cluster_version"] = json!("v".repeat(5000))),
            "cluster_version",
        ),
        (
            "milliseconds",
            Box::new(|d| {
                d["scenarios"][0]["start_timestamp"] = json!(1_745_343_338_000_i64);
                d["scenarios"][0]["end_timestamp"] = json!(1_745_343_683_000_i64);
            }),
            "milliseconds",
        ),
        ("duplicate key", Box::new(|_| {}), "duplicate field"),
    ];
    for (name, patch, words) in patches {
        let body = if name == "duplicate key" {
            let text = String::from_utf8_lossy(SEED).replacen(
                "\"timestamp\"",
                "\"tag\": \"a\", \"tag\"",
                1,
            );
            text.into_bytes()
        } else {
            let mut doc = seed();
            patch(&mut doc);
            serde_json::to_vec(&doc).expect("json")
        };
        add(
            format!("document: {name}"),
            json_post(body),
            StatusCode::BAD_REQUEST,
            words,
        );
    }

    // Query parameters of POST /telemetry.
    let bad_ids: &[(&str, &'static str)] = &[
        ("..", "must not start with '.'"),
        ("..%2F..%2Fetc", "\"/\" is not allowed"),
        ("a%2Fb", "\"/\" is not allowed"),
        ("a%00b", "NUL"),
        ("a%FFb", "not UTF-8"),
        ("a%20b", "is not allowed"),
        ("a%5Cb", "is not allowed"),
        (".hidden", "must not start with '.'"),
        ("a..b", "must not contain"),
        ("%E2%82%AC", "is not allowed"),
    ];
    for (id, words) in bad_ids {
        add(
            format!("request id {id}"),
            post(
                &format!("request_id={id}&telemetry_group=default"),
                Some("application/json"),
                Some(auth("uploader")),
                SEED.to_vec(),
            ),
            StatusCode::BAD_REQUEST,
            words,
        );
        add(
            format!("group {id}"),
            post(
                &format!("request_id={RUN_ID}&telemetry_group={id}"),
                Some("application/json"),
                Some(auth("uploader")),
                SEED.to_vec(),
            ),
            StatusCode::BAD_REQUEST,
            words,
        );
    }
    let long = "a".repeat(300);
    add(
        "overlong request id".into(),
        post(
            &format!("request_id={long}&telemetry_group=default"),
            Some("application/json"),
            Some(auth("uploader")),
            SEED.to_vec(),
        ),
        StatusCode::BAD_REQUEST,
        "the limit is 255",
    );
    add(
        "missing request_id".into(),
        post(
            "telemetry_group=default",
            Some("application/json"),
            Some(auth("uploader")),
            SEED.to_vec(),
        ),
        StatusCode::BAD_REQUEST,
        "request_id",
    );
    add(
        "empty request_id".into(),
        post(
            "request_id=&telemetry_group=default",
            Some("application/json"),
            Some(auth("uploader")),
            SEED.to_vec(),
        ),
        StatusCode::BAD_REQUEST,
        "request_id",
    );
    add(
        "missing telemetry_group".into(),
        post(
            &format!("request_id={RUN_ID}"),
            Some("application/json"),
            Some(auth("uploader")),
            SEED.to_vec(),
        ),
        StatusCode::BAD_REQUEST,
        "telemetry_group",
    );
    add(
        "no query at all".into(),
        Request::post("/telemetry")
            .header("Content-Type", "application/json")
            .header("Authorization", auth("uploader"))
            .body(Body::from(SEED.to_vec()))
            .expect("request"),
        StatusCode::BAD_REQUEST,
        "request_id",
    );

    // Headers: content type and credentials.
    for ct in [
        "text/plain",
        "application/xml",
        "multipart/form-data; boundary=x",
        "application/jsonx",
        "json",
    ] {
        add(
            format!("content type {ct}"),
            post(&ok_query(), Some(ct), Some(auth("uploader")), SEED.to_vec()),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "content type",
        );
    }
    add(
        "no content type".into(),
        post(&ok_query(), None, Some(auth("uploader")), SEED.to_vec()),
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "(none)",
    );
    for (i, authorization) in [
        "Bearer abc",
        "Basic",
        "Basic !!!",
        "Basic YWRtaW4=",
        "Basic dXBsb2FkZXI6d3Jvbmc=",
        "basic",
    ]
    .iter()
    .enumerate()
    {
        add(
            format!("authorization #{i} {authorization:?}"),
            post(
                &ok_query(),
                Some("application/json"),
                Some((*authorization).to_owned()),
                SEED.to_vec(),
            ),
            StatusCode::UNAUTHORIZED,
            "authentication required",
        );
    }
    add(
        "no credentials".into(),
        post(&ok_query(), Some("application/json"), None, SEED.to_vec()),
        StatusCode::UNAUTHORIZED,
        "Basic",
    );
    add(
        "reader posts".into(),
        post(
            &ok_query(),
            Some("application/json"),
            Some(auth("reader")),
            SEED.to_vec(),
        ),
        StatusCode::FORBIDDEN,
        "may not upload",
    );

    // Upload links.
    let presign = |query: &str| get(&format!("/presigned-url?{query}"), "uploader");
    let run = format!("default/{RUN_ID}");
    for (name, query, status, words) in [
        (
            "no parameters",
            String::new(),
            StatusCode::BAD_REQUEST,
            "request_id",
        ),
        (
            "no file name",
            format!("request_id={run}"),
            StatusCode::BAD_REQUEST,
            "remote_filename",
        ),
        (
            "no run",
            "remote_filename=a.log".to_owned(),
            StatusCode::BAD_REQUEST,
            "request_id",
        ),
        (
            "run without group",
            format!("request_id={RUN_ID}&remote_filename=a.log"),
            StatusCode::BAD_REQUEST,
            "<group>/<request_id>",
        ),
        (
            "run with three parts",
            format!("request_id={run}/x&remote_filename=a.log"),
            StatusCode::BAD_REQUEST,
            "exactly one",
        ),
        (
            "traversal in file",
            format!("request_id={run}&remote_filename=..%2F..%2Fx"),
            StatusCode::BAD_REQUEST,
            "invalid file name",
        ),
        (
            "slash in file",
            format!("request_id={run}&remote_filename=a%2Fb"),
            StatusCode::BAD_REQUEST,
            "invalid file name",
        ),
        (
            "NUL in file",
            format!("request_id={run}&remote_filename=a%00b"),
            StatusCode::BAD_REQUEST,
            "NUL",
        ),
        (
            "non-UTF-8 file",
            format!("request_id={run}&remote_filename=a%FF"),
            StatusCode::BAD_REQUEST,
            "not UTF-8",
        ),
        (
            "telemetry.json",
            format!("request_id={run}&remote_filename=telemetry.json"),
            StatusCode::BAD_REQUEST,
            "POST /telemetry",
        ),
        (
            "traversal in run",
            "request_id=default%2F..&remote_filename=a.log".to_string(),
            StatusCode::BAD_REQUEST,
            "invalid request id",
        ),
        (
            "bad length",
            format!("request_id={run}&remote_filename=a.log&content_length=lots"),
            StatusCode::BAD_REQUEST,
            "content_length",
        ),
        (
            "huge length",
            format!("request_id={run}&remote_filename=a.log&content_length=99999999999999"),
            StatusCode::PAYLOAD_TOO_LARGE,
            "upload limit",
        ),
        (
            "bad checksum",
            format!("request_id={run}&remote_filename=a.log&sha256=xyz"),
            StatusCode::BAD_REQUEST,
            "64 hex digits",
        ),
    ] {
        add(
            format!("presigned-url: {name}"),
            presign(&query),
            status,
            words,
        );
    }
    add(
        "presigned-url: reader".into(),
        get(
            &format!("/presigned-url?request_id={run}&remote_filename=a.log"),
            "reader",
        ),
        StatusCode::FORBIDDEN,
        "may not upload",
    );
    let upload = |query: &str| {
        Request::put(format!("/upload/default/{RUN_ID}/a.log?{query}"))
            .body(Body::from("x"))
            .expect("request")
    };
    for (name, query, status, words) in [
        (
            "no signature",
            "expires=9999999999",
            StatusCode::BAD_REQUEST,
            "sig",
        ),
        ("no expiry", "sig=00", StatusCode::BAD_REQUEST, "expires"),
        (
            "bad expiry",
            "expires=soon&sig=00",
            StatusCode::BAD_REQUEST,
            "expires",
        ),
        (
            "forged signature",
            "expires=9999999999&sig=0000000000000000000000000000000000000000000000000000000000000000",
            StatusCode::FORBIDDEN,
            "signature",
        ),
        (
            "non-hex signature",
            "expires=9999999999&sig=zz",
            StatusCode::FORBIDDEN,
            "signature",
        ),
    ] {
        add(format!("upload: {name}"), upload(query), status, words);
    }
    add(
        "upload: traversal".into(),
        Request::put("/upload/default/..%2F../a.log?expires=1&sig=00")
            .body(Body::from("x"))
            .expect("request"),
        StatusCode::BAD_REQUEST,
        "invalid",
    );

    // Downloads and listings.
    for (name, path, status, words) in [
        (
            "download-url traversal",
            "/download-url/default/../x".to_owned(),
            StatusCode::BAD_REQUEST,
            "invalid path segment",
        ),
        (
            "download-url too deep",
            format!("/download-url/default/{RUN_ID}/a/b"),
            StatusCode::BAD_REQUEST,
            "use /download-url",
        ),
        (
            "download-url missing file",
            format!("/download-url/default/{RUN_ID}/nothing.log"),
            StatusCode::NOT_FOUND,
            "not found",
        ),
        (
            "download unsigned",
            format!("/download/default/{RUN_ID}/telemetry.json"),
            StatusCode::BAD_REQUEST,
            "expires",
        ),
        (
            "navigate traversal",
            "/navigate/..".to_owned(),
            StatusCode::BAD_REQUEST,
            "invalid group",
        ),
        (
            "navigate bad limit",
            "/navigate?limit=0".to_owned(),
            StatusCode::BAD_REQUEST,
            "limit",
        ),
        (
            "navigate huge limit",
            "/navigate?limit=1000000".to_owned(),
            StatusCode::BAD_REQUEST,
            "limit",
        ),
        (
            "files traversal",
            "/files/../".to_owned(),
            StatusCode::BAD_REQUEST,
            "invalid group",
        ),
        (
            "files bad run",
            "/files/default/.x/".to_owned(),
            StatusCode::BAD_REQUEST,
            "invalid request id",
        ),
    ] {
        add(name.to_string(), get(&path, "reader"), status, words);
    }

    // Wrong methods.
    for (method, path) in [
        (Method::GET, "/telemetry"),
        (Method::PUT, "/telemetry"),
        (Method::DELETE, "/telemetry"),
        (Method::POST, "/presigned-url"),
        (Method::DELETE, "/navigate"),
        (Method::POST, "/healthz"),
        (Method::POST, "/files/"),
    ] {
        add(
            format!("{method} {path}"),
            Request::builder()
                .method(method.clone())
                .uri(path)
                .header("Authorization", auth("admin"))
                .body(Body::empty())
                .expect("request"),
            StatusCode::METHOD_NOT_ALLOWED,
            "",
        );
    }
    cases
}

#[tokio::test]
async fn malformed_requests_get_a_4xx_naming_the_problem_and_change_nothing() {
    let app = spawn_app();
    let filed = app
        .post_telemetry(
            "uploader",
            &format!("request_id={RUN_ID}&telemetry_group=default"),
            SEED,
        )
        .await;
    assert_eq!(filed.status, StatusCode::OK);
    let before = app.objects().await;
    let index_before = app.run_counts("default", RUN_ID).await;

    let cases = cases();
    assert!(
        cases.len() >= 100,
        "the table holds {} cases; at least 100 are required",
        cases.len()
    );
    let mut failures = Vec::new();
    for case in cases {
        let reply = app.send(case.request).await;
        let ok = reply.status == case.status
            && reply.status.is_client_error()
            && reply.body.contains(case.words);
        if !ok {
            failures.push(format!(
                "{}: wanted {} with {:?}, got {} {:?}",
                case.name,
                case.status,
                case.words,
                reply.status,
                reply.body.trim()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(
        app.objects().await,
        before,
        "storage holds exactly what it held before"
    );
    assert_eq!(app.run_counts("default", RUN_ID).await, index_before);
    assert_eq!(
        app.run_counts("default", &format!("{RUN_ID}-new")).await,
        (0, 0)
    );
}
