//! `run`, the whole post-run pipeline (document, critical alerts, Prometheus backup, logs),
//! against our API directly and through an API Gateway stage (`https://…/production`): every
//! step must reach the service under the URL the collector was given.

use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::prometheus::{
    RUN, assert_restores, openshift_with_prometheus, part_kb, prometheus_copy, stored_backup,
};
use crate::support::{TestApi, UPLOADER, cli, krkn_config, kubeconfig, text};

/// `run` with the document, critical alerts, the WAL backup and the logs, the service at
/// `api_url` (our API directly, or behind a proxy); every step must land in `api`.
fn run_everything(api: &TestApi, api_url: &str) {
    let data = prometheus_copy();
    let server = openshift_with_prometheus(data.path());
    let kube = kubeconfig(&server);
    let dir = kube.dir.path();
    let archive = dir.join("archive");
    let config = krkn_config(
        dir,
        &format!(
            "  api_url: {api_url}\n  username: {}\n  password: {}\n  archive_size: {}\n  backup_threads: 2\n  prometheus_backup: true\n  logs_backup: true\n  archive_path: {}\n",
            UPLOADER.0,
            UPLOADER.1,
            part_kb(data.path()),
            archive.display()
        ),
        "",
    );
    // A run inside the must-gather sample's time span, so its logs have lines to keep, with
    // the critical alerts krkn found.
    let mut doc: Value =
        serde_json::from_slice(include_bytes!("../../../model/tests/data/seed-sample.json"))
            .expect("seed");
    let start = chrono::DateTime::parse_from_rfc3339("2023-09-11T18:48:00Z")
        .expect("time")
        .timestamp();
    doc["scenarios"][0]["start_timestamp"] = start.into();
    doc["scenarios"][0]["end_timestamp"] = (start + 120).into();
    let alert = serde_json::json!({"alertname": "etcdNoLeader", "alertstate": "firing",
        "namespace": "openshift-etcd", "severity": "critical"});
    let output = serde_json::json!({"telemetry": doc, "critical_alerts": {"run_id": RUN,
        "scenario": "pod_disruption_scenarios", "chaos_alerts": [alert], "post_chaos_alerts": []}});
    let input = dir.join("output.json");
    std::fs::write(&input, output.to_string()).expect("input");
    let gather = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/must-gather/must-gather.local.380795299248362313");
    let out = cli(
        &[
            "run",
            "--config",
            config.to_str().expect("utf-8"),
            "--input",
            input.to_str().expect("utf-8"),
            "--kubeconfig",
            kube.path.to_str().expect("utf-8"),
            "--request-id",
            RUN,
            "--must-gather-dir",
            gather.to_str().expect("utf-8"),
        ],
        None,
        &[],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        text(&out.stdout)
            .lines()
            .all(|l| l.starts_with(&format!("{api_url}/files/default/{RUN}"))),
        "every link is under the URL the collector was given: {}",
        text(&out.stdout)
    );
    let keys = api.keys(&format!("default/{RUN}/"));
    for wanted in [
        "telemetry.json",
        "critical-alerts-00.log",
        "prometheus-00.tar",
        "prometheus-manifest.json",
        "logs-00.tar.gz",
    ] {
        assert!(
            keys.iter().any(|k| k == wanted),
            "{wanted} missing from {keys:?}"
        );
    }
    let (parts, manifest) = stored_backup(api, RUN);
    assert_eq!(manifest["run_window"]["start"], start);
    // krkn's default: only the WAL.
    assert_eq!(manifest["source"]["path"], "/prometheus/wal");
    assert_restores(&parts, &manifest, &data.path().join("wal"));
}

#[test]
fn run_files_the_document_then_the_prometheus_backup_and_the_logs() {
    let api = TestApi::start();
    run_everything(&api, &api.url);
}

/// What API Gateway does with a named stage: the API exists only under `/<stage>`, and every
/// other path is 403 `{"message":"Missing Authentication Token"}`. It records the paths asked.
struct StageGateway {
    url: String,
    paths: Arc<Mutex<Vec<String>>>,
    _runtime: tokio::runtime::Runtime,
}

fn stage_gateway(upstream: String, stage: &'static str) -> StageGateway {
    #[derive(Clone)]
    struct Gateway {
        upstream: String,
        stage: &'static str,
        paths: Arc<Mutex<Vec<String>>>,
    }
    async fn handle(State(gateway): State<Gateway>, request: Request) -> Response {
        let (mut parts, body) = request.into_parts();
        gateway
            .paths
            .lock()
            .expect("lock")
            .push(parts.uri.path().to_owned());
        let prefix = format!("/{}/", gateway.stage);
        let Some(rest) = parts
            .uri
            .path_and_query()
            .and_then(|p| p.as_str().strip_prefix(&prefix))
        else {
            return (
                StatusCode::FORBIDDEN,
                r#"{"message":"Missing Authentication Token"}"#,
            )
                .into_response();
        };
        parts.uri = format!("/{rest}").parse().expect("a path");
        let Ok(body) = axum::body::to_bytes(body, 64 << 20).await else {
            return StatusCode::PAYLOAD_TOO_LARGE.into_response();
        };
        crate::support::forward(&gateway.upstream, &parts, body)
            .await
            .unwrap_or_else(|_| StatusCode::BAD_GATEWAY.into_response())
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let paths = Arc::new(Mutex::new(Vec::new()));
    let gateway = Gateway {
        upstream,
        stage,
        paths: Arc::clone(&paths),
    };
    let url = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        let app = axum::Router::new().fallback(handle).with_state(gateway);
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{address}/{stage}")
    });
    StageGateway {
        url,
        paths,
        _runtime: runtime,
    }
}

#[test]
fn every_step_works_through_an_api_gateway_stage() {
    let api = TestApi::start();
    let gateway = stage_gateway(api.url.clone(), "production");
    run_everything(&api, &gateway.url);
    let paths = gateway.paths.lock().expect("lock").clone();
    let outside: Vec<&String> = paths
        .iter()
        .filter(|p| !p.starts_with("/production/"))
        .collect();
    assert_eq!(outside, Vec::<&String>::new(), "asked outside the stage");
    for wanted in ["/production/telemetry", "/production/presigned-url"] {
        assert!(
            paths.iter().any(|p| p == wanted),
            "{wanted} never asked: {paths:?}"
        );
    }
}
