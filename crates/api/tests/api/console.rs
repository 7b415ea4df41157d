//! The console's page and assets, how `/files/...` answers browsers, the quiet 401 for the
//! console's own calls, and `/openapi.json` (the browser tests drive the console itself).

use axum::body::Body;
use axum::http::{Request, StatusCode, header};

use crate::helpers::*;

async fn get_with(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> Reply {
    let mut request = Request::get(path);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    app.send(request.body(Body::empty()).expect("request"))
        .await
}

#[tokio::test]
async fn the_page_climbs_back_to_the_root_from_any_view() {
    let app = spawn_app();
    for (path, root) in [
        ("/console/", "../"),
        ("/console/runs/perf/1764-x", "../../../"),
        ("/files/default/1764-x/", "../../../"),
    ] {
        let reply = get_with(&app, path, &[("accept", "text/html")]).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.body);
        assert!(
            reply.body.contains(&format!("<base href=\"{root}\">")),
            "{path}: {}",
            reply.body
        );
        let csp = reply.headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .expect("ASCII");
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe"),
            "{csp}"
        );
    }
    let reply = get_with(&app, "/console", &[]).await;
    assert_eq!(reply.status, StatusCode::FOUND);
    assert_eq!(reply.headers[header::LOCATION], "console/");
}

#[tokio::test]
async fn assets_are_embedded_with_their_types() {
    let app = spawn_app();
    for (name, kind) in [
        ("console.js", "text/javascript; charset=utf-8"),
        ("console.css", "text/css; charset=utf-8"),
    ] {
        let reply = get_with(&app, &format!("/console/assets/{name}"), &[]).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.headers[header::CONTENT_TYPE], kind);
        assert!(reply.body.len() > 1000, "{name} is the real asset");
    }
    let reply = get_with(&app, "/console/assets/app.wasm", &[]).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert!(reply.body.contains("app.wasm"), "{}", reply.body);
}

#[tokio::test]
async fn files_urls_give_browsers_the_console_and_clients_the_listing() {
    let app = spawn_app();
    let browser = get_with(&app, "/files/default/", &[("accept", "text/html,*/*")]).await;
    assert_eq!(browser.status, StatusCode::OK);
    assert!(browser.body.contains("console/assets/console.js"));

    let curl = get_with(&app, "/files/default/", &[("accept", "*/*")]).await;
    assert_eq!(
        curl.status,
        StatusCode::UNAUTHORIZED,
        "no credentials, no page"
    );

    let signed_in = app.get("reader", "/files/default/").await;
    assert_eq!(signed_in.status, StatusCode::OK);
    assert!(!signed_in.body.contains("console.js"), "the plain listing");

    // A bad name is refused before any page is served.
    let bad = get_with(&app, "/files/.hidden/", &[("accept", "text/html")]).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
}

#[tokio::test]
async fn the_consoles_calls_get_a_401_without_a_basic_challenge() {
    let app = spawn_app();
    let quiet = get_with(
        &app,
        "/api/v1/runs",
        &[("x-requested-with", "krkn-console")],
    )
    .await;
    assert_eq!(quiet.status, StatusCode::UNAUTHORIZED);
    assert!(!quiet.headers.contains_key(header::WWW_AUTHENTICATE));
    let plain = get_with(&app, "/api/v1/runs", &[]).await;
    assert_eq!(plain.status, StatusCode::UNAUTHORIZED);
    assert!(plain.headers.contains_key(header::WWW_AUTHENTICATE));
}

#[tokio::test]
async fn the_openapi_document_lists_every_api_route() {
    let app = spawn_app();
    let reply = get_with(&app, "/openapi.json", &[]).await;
    assert_eq!(reply.status, StatusCode::OK);
    let doc: serde_json::Value = serde_json::from_str(&reply.body).expect("JSON");
    assert_eq!(doc["openapi"], "3.1.0");
    for path in [
        "/telemetry",
        "/presigned-url",
        "/api/v1/runs",
        "/api/v1/runs/{group}/{request_id}",
        "/api/v1/scenarios",
        "/navigate/{group}/{request_id}",
        "/healthz",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} is documented");
    }
    let limit = doc["paths"]["/presigned-url"]["get"]["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .find(|p| p["name"] == "content_length")
        .expect("content_length");
    assert_eq!(
        limit["schema"]["maximum"].as_u64(),
        Some(krkn_telemetry_api::ApiConfig::default().max_upload_bytes),
        "the document states this deployment's upload limit"
    );
}
