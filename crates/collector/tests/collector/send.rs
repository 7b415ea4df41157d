//! `krkn-telemetry send` and `run`: krkn's run output in, a filed run out (our API on moto),
//! with cluster metadata from the fake API server and alerts from the real Prometheus.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use regex::Regex;
use serde_json::{Value, json};

use crate::support::{
    TestApi, UPLOADER, cli, cluster, krkn_config, kube, kubeconfig, prometheus_url, text,
};

const SEED: &[u8] = include_bytes!("../../../model/tests/data/seed-sample.json");
const RUN_UUID: &str = "96348571-0b06-459e-b654-a1bb6fd66239";

/// The seed document with its one scenario moved to `[start, end]`.
fn seed_at(start: i64, end: i64) -> Vec<u8> {
    let mut doc: Value = serde_json::from_slice(SEED).expect("seed JSON");
    doc["scenarios"][0]["start_timestamp"] = json!(start);
    doc["scenarios"][0]["end_timestamp"] = json!(end);
    serde_json::to_vec(&doc).expect("JSON")
}

fn telemetry_lines(api: &str, extra: &str) -> String {
    format!(
        "  enabled: True\n  api_url: {api}\n  username: {}\n  password: {}\n  max_retries: 3\n  events_backup: True\n{extra}",
        UPLOADER.0, UPLOADER.1
    )
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("written");
    path.to_str().expect("utf-8").to_owned()
}

/// `krkn-telemetry send --config CONFIG --input INPUT EXTRA…` with `env`.
fn send(config: &Path, input: &str, extra: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut args = vec![
        "send",
        "--config",
        config.to_str().expect("utf-8"),
        "--input",
        input,
    ];
    args.extend_from_slice(extra);
    cli(&args, None, env)
}

fn firing_now() -> i64 {
    crate::support::critical_alert_firing(&prometheus_url())
}

#[test]
fn send_files_the_run_with_metadata_and_alerts_on_s3_and_dynamodb() {
    let api = TestApi::start();
    let server = kube(cluster("ocp-4.4"));
    let kube_config = kubeconfig(&server);
    let dir = kube_config.dir.path();
    let start = firing_now();
    std::thread::sleep(Duration::from_secs(2));
    let end = chrono::Utc::now().timestamp();
    let config = krkn_config(
        dir,
        &telemetry_lines(&api.url, "  telemetry_group: perf\n  run_tag: nightly\n"),
        &format!(
            "performance_monitoring:\n  prometheus_url: {}\n",
            prometheus_url()
        ),
    );
    let input = write(dir, "output.json", &seed_at(start, end));
    let out = send(
        &config,
        &input,
        &["--kubeconfig", kube_config.path.to_str().expect("utf-8")],
        &[],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    // krkn's folder name and link: <api>/files/<group>/<unix seconds>-<run_uuid>-<run_tag>.
    let link = text(&out.stdout).trim().to_owned();
    let pattern = format!(
        r"^{}/files/perf/(\d+-{RUN_UUID}-nightly)$",
        regex::escape(&api.url)
    );
    let request_id = Regex::new(&pattern)
        .expect("regex")
        .captures(&link)
        .unwrap_or_else(|| panic!("link {link:?} does not match {pattern}"))[1]
        .to_owned();

    let stored = api
        .object(&format!("perf/{request_id}/telemetry.json"))
        .expect("telemetry.json in the bucket");
    let doc: Value = serde_json::from_slice(&stored).expect("JSON");
    // Cluster metadata from the fake ocp-4.4 cluster replaced the sample's.
    assert_eq!(doc["cluster_version"], "4.4.0-0.nightly-2020-03-18-092817");
    assert_eq!(doc["major_version"], "4.4");
    assert_eq!(doc["total_node_count"], 6);
    assert_eq!(doc["cloud_infrastructure"], "AWS");
    // A critical alert fired after the chaos: the job failed, as krkn decides.
    assert_eq!(doc["job_status"], false);
    assert_eq!(doc["run_uuid"], RUN_UUID);

    let alerts = api
        .object(&format!("perf/{request_id}/critical-alerts-00.log"))
        .expect("critical-alerts-00.log in the bucket");
    let alerts: Value = serde_json::from_slice(&alerts).expect("JSON");
    assert_eq!(
        alerts["post_chaos_alerts"][0]["alertname"],
        "KrknTestCriticalAlert"
    );
    assert_eq!(
        alerts["chaos_alerts"][0]["alertname"],
        "KrknTestCriticalAlert"
    );
    assert_eq!(alerts["run_id"], RUN_UUID);
    assert_eq!(alerts["scenario"], "pod_disruption_scenarios");
    assert_eq!(api.index_counts("perf", &request_id), (1, 1));
    assert_eq!(
        api.keys(&format!("perf/{request_id}/")),
        ["critical-alerts-00.log", "telemetry.json"]
    );
}

#[test]
fn events_inside_each_scenario_window_go_into_that_scenario() {
    let server = kube(cluster("eks-1.31"));
    let kube_config = kubeconfig(&server);
    let dir = kube_config.dir.path();
    // eks-1.31's README: events 1-6 lie in 10:00:00-10:05:00 on 2025-03-10; 4 and 5 have
    // reasons krkn does not keep; the second scenario names namespace `shop`.
    let start = chrono::DateTime::parse_from_rfc3339("2025-03-10T10:00:00Z")
        .expect("time")
        .timestamp();
    let mut doc: Value = serde_json::from_slice(SEED).expect("seed");
    let mut scenario = doc["scenarios"][0].clone();
    scenario["start_timestamp"] = json!(start);
    scenario["end_timestamp"] = json!(start + 300);
    let mut shop = scenario.clone();
    shop["parameters"] = json!({"config": {"namespace": "shop", "label_selector": "app=frontend"}});
    doc["scenarios"] = json!([scenario, shop]);
    let input = write(dir, "output.json", &serde_json::to_vec(&doc).expect("JSON"));
    let archive = dir.join("archive");
    let config = krkn_config(
        dir,
        &format!(
            "  events_backup: true\n  archive_path: {}\n",
            archive.display()
        ),
        "",
    );
    let out = send(
        &config,
        &input,
        &[
            "--kubeconfig",
            kube_config.path.to_str().expect("utf-8"),
            "--request-id",
            "events-run",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let written = std::fs::read(archive.join("events-run/telemetry.json")).expect("archived");
    let doc: Value = serde_json::from_slice(&written).expect("JSON");
    let reasons = |i: usize| -> Vec<String> {
        doc["scenarios"][i]["cluster_events"]
            .as_array()
            .expect("events")
            .iter()
            .map(|e| e["reason"].as_str().expect("reason").to_owned())
            .collect()
    };
    assert_eq!(
        reasons(0),
        ["Killing", "BackOff", "Unhealthy", "NodeNotReady"]
    );
    assert_eq!(reasons(1), ["Killing", "BackOff", "Unhealthy"]);
    let killing = &doc["scenarios"][1]["cluster_events"][0];
    assert_eq!(killing["involved_object_name"], "frontend-5c9d8b7f64-abcde");
    assert_eq!(killing["creation"], "2025-03-10T10:00:05Z");
    assert_eq!(killing["namespace"], "shop");
    // Plain Kubernetes: krkn-lib's defaults for the OpenShift-only fields.
    assert_eq!(doc["cluster_version"], "v1.31.4-eks-2d5f260");
    assert_eq!(doc["network_plugins"], json!(["Unknown"]));
}

#[test]
fn disabled_telemetry_builds_nothing_and_says_so() {
    let dir = tempfile::tempdir().expect("temp dir");
    let archive = dir.path().join("archive");
    let config = krkn_config(
        dir.path(),
        &format!("  enabled: false\n  archive_path: {}\n", archive.display()),
        "",
    );
    let input = write(dir.path(), "output.json", SEED);
    let out = send(&config, &input, &[], &[]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text(&out.stderr).contains("telemetry.enabled is false"),
        "{}",
        text(&out.stderr)
    );
    assert!(!archive.exists(), "nothing may be built");
}

#[test]
fn without_api_url_the_document_is_written_locally_only() {
    let dir = tempfile::tempdir().expect("temp dir");
    let archive = dir.path().join("archive");
    let config = krkn_config(
        dir.path(),
        &format!("  archive_path: {}\n", archive.display()),
        "",
    );
    let out = cli(
        &[
            "send",
            "--config",
            config.to_str().expect("utf-8"),
            "--input",
            "-",
            "--no-collect",
            "--request-id",
            "local-run",
        ],
        Some(SEED),
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("telemetry.api_url is not set"),
        "{}",
        text(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(
        &std::fs::read(archive.join("local-run/telemetry.json")).expect("written"),
    )
    .expect("JSON");
    assert_eq!(doc["run_uuid"], RUN_UUID);
    assert!(archive.join("local-run/run-output.json").exists());
}

#[test]
fn a_krkn_report_is_read_from_its_last_chaos_data() {
    let dir = tempfile::tempdir().expect("temp dir");
    let archive = dir.path().join("archive");
    let config = krkn_config(
        dir.path(),
        &format!("  archive_path: {}\n", archive.display()),
        "",
    );
    // What krkn's `-o kraken.report` holds: log lines, the run output after "Chaos data:".
    let wrapper = include_bytes!("../../../model/tests/data/seed-output.json");
    let mut report = b"2025-04-22 17:35:38,101 [INFO] Starting kraken\n".to_vec();
    report.extend_from_slice(b"2025-04-22 17:41:23,456 [INFO] Chaos data:\n");
    report.extend_from_slice(wrapper);
    report.extend_from_slice(
        b"\n2025-04-22 17:41:23,460 [INFO] telemetry data will be stored on s3 bucket folder\n",
    );
    let input = write(dir.path(), "kraken.report", &report);
    let out = send(
        &config,
        &input,
        &["--no-collect", "--request-id", "from-report"],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let doc: Value = serde_json::from_slice(
        &std::fs::read(archive.join("from-report/telemetry.json")).expect("written"),
    )
    .expect("JSON");
    assert_eq!(doc["run_uuid"], RUN_UUID);
}

#[test]
fn dry_run_masks_passwords_and_tokens() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = krkn_config(
        dir.path(),
        "  api_url: http://127.0.0.1:9\n  username: krkn\n  password: hunter2-password\n",
        "performance_monitoring:\n  prometheus_url: http://127.0.0.1:9\n  prometheus_bearer_token: tok3n-value\n",
    );
    let input = write(dir.path(), "output.json", SEED);
    let out = send(
        &config,
        &input,
        &["--dry-run", "--no-collect"],
        &[("RUST_LOG", "debug")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let everything = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(!everything.contains("hunter2-password"), "{everything}");
    assert!(!everything.contains("tok3n-value"), "{everything}");
    let plan: Value = serde_json::from_slice(&out.stdout).expect("JSON plan");
    assert_eq!(plan["password"], "***");
    assert_eq!(plan["api_url"], "http://127.0.0.1:9");
    assert_eq!(plan["telemetry"]["run_uuid"], RUN_UUID);
}

#[test]
fn config_errors_are_reported_all_at_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = krkn_config(
        dir.path(),
        "  api_url: ftp://nowhere\n  backup_threads: lots\n  telemetry_group: ../etc\n",
        "",
    );
    let input = write(dir.path(), "output.json", SEED);
    let out = send(&config, &input, &[], &[]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    for path in [
        "telemetry.api_url",
        "telemetry.backup_threads",
        "telemetry.telemetry_group",
    ] {
        assert!(stderr.contains(path), "{path} missing from: {stderr}");
    }
}

#[test]
fn an_invalid_document_is_refused_before_anything_is_sent() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = krkn_config(
        dir.path(),
        "  api_url: http://127.0.0.1:9\n  username: u\n  password: p\n",
        "",
    );
    let mut doc: Value = serde_json::from_slice(SEED).expect("seed");
    doc["scenarios"][0]["scenario_type"] = json!("");
    let input = write(
        dir.path(),
        "output.json",
        &serde_json::to_vec(&doc).expect("JSON"),
    );
    let out = send(&config, &input, &["--no-collect"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("scenarios[0].scenario_type: must not be empty"),
        "{}",
        text(&out.stderr)
    );
}

/// A proxy in front of our API that answers the first `fail_first` POSTs to `/telemetry` with
/// `status`, and counts the POSTs it saw.
struct Flaky {
    url: String,
    posts: Arc<AtomicUsize>,
    _runtime: tokio::runtime::Runtime,
}

fn flaky(upstream: &str, status: StatusCode, fail_first: usize) -> Flaky {
    #[derive(Clone)]
    struct Shared {
        upstream: String,
        status: StatusCode,
        fail_first: usize,
        posts: Arc<AtomicUsize>,
    }
    async fn forward(State(shared): State<Shared>, request: Request) -> Response {
        let (parts, body) = request.into_parts();
        if parts.method == "POST" && parts.uri.path() == "/telemetry" {
            let n = shared.posts.fetch_add(1, Ordering::SeqCst);
            if n < shared.fail_first {
                return (shared.status, "injected failure").into_response();
            }
        }
        let bytes = axum::body::to_bytes(body, usize::MAX)
            .await
            .unwrap_or_default();
        crate::support::forward(&shared.upstream, &parts, bytes)
            .await
            .unwrap_or_else(|error| (StatusCode::BAD_GATEWAY, error.to_string()).into_response())
    }
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let posts = Arc::new(AtomicUsize::new(0));
    let shared = Shared {
        upstream: upstream.to_owned(),
        status,
        fail_first,
        posts: Arc::clone(&posts),
    };
    let url = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let app = axum::Router::new().fallback(forward).with_state(shared);
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        url
    });
    Flaky {
        url,
        posts,
        _runtime: runtime,
    }
}

#[test]
fn server_errors_are_retried_until_the_run_is_filed() {
    let api = TestApi::start();
    let proxy = flaky(&api.url, StatusCode::SERVICE_UNAVAILABLE, 2);
    let dir = tempfile::tempdir().expect("temp dir");
    let config = krkn_config(dir.path(), &telemetry_lines(&proxy.url, ""), "");
    let input = write(dir.path(), "output.json", SEED);
    let out = cli(
        &[
            "send",
            "--config",
            config.to_str().expect("utf-8"),
            "--input",
            &input,
            "--no-collect",
            "--request-id",
            "retried-run",
        ],
        None,
        // The most verbose logging there is must still not show the password.
        &[("RUST_LOG", "trace")],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let basic = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        format!("{}:{}", UPLOADER.0, UPLOADER.1),
    );
    assert!(
        !stderr.contains(UPLOADER.1) && !stderr.contains(&basic),
        "{stderr}"
    );
    assert_eq!(
        proxy.posts.load(Ordering::SeqCst),
        3,
        "two 503s, then success"
    );
    assert!(stderr.contains("attempt 1 failed (503"), "{stderr}");
    assert!(api.object("default/retried-run/telemetry.json").is_some());
}

#[test]
fn a_refusal_is_not_retried_and_the_copy_is_kept_for_resending() {
    let api = TestApi::start();
    let proxy = flaky(&api.url, StatusCode::FORBIDDEN, 1);
    let dir = tempfile::tempdir().expect("temp dir");
    let archive = dir.path().join("archive");
    let config = krkn_config(
        dir.path(),
        &telemetry_lines(
            &proxy.url,
            &format!("  archive_path: {}\n", archive.display()),
        ),
        "",
    );
    let input = write(dir.path(), "output.json", SEED);
    let out = send(
        &config,
        &input,
        &["--no-collect", "--request-id", "refused-run"],
        &[],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(proxy.posts.load(Ordering::SeqCst), 1, "a 403 is final");
    assert!(stderr.contains("403"), "{stderr}");
    let resend = archive.join("refused-run/run-output.json");
    assert!(
        stderr.contains(&format!(
            "--input {} --request-id refused-run --no-collect",
            resend.display()
        )),
        "{stderr}"
    );
    assert!(api.object("default/refused-run/telemetry.json").is_none());

    // The printed command, pointed at the service, files exactly the archived document.
    let out = cli(
        &[
            "send",
            "--config",
            config.to_str().expect("utf-8"),
            "--input",
            resend.to_str().expect("utf-8"),
            "--request-id",
            "refused-run",
            "--no-collect",
            "--api-url",
            &api.url,
        ],
        None,
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let archived = std::fs::read(archive.join("refused-run/telemetry.json")).expect("archived");
    let stored = api
        .object("default/refused-run/telemetry.json")
        .expect("filed");
    let as_json = |b: &[u8]| serde_json::from_slice::<Value>(b).expect("JSON");
    assert_eq!(as_json(&stored), as_json(&archived));
}

#[test]
fn an_unreachable_service_gives_up_at_the_deadline() {
    let dir = tempfile::tempdir().expect("temp dir");
    // Port 9 (discard) is closed on loopback: every attempt is refused at once.
    let config = krkn_config(dir.path(), &telemetry_lines("http://127.0.0.1:9", ""), "");
    let input = write(dir.path(), "output.json", SEED);
    let started = Instant::now();
    let out = send(
        &config,
        &input,
        &["--no-collect", "--max-retries", "0", "--deadline", "3"],
        &[],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the deadline was not honoured"
    );
    assert!(stderr.contains("the deadline passed after"), "{stderr}");
    assert!(
        stderr.contains("attempt 2 failed"),
        "retried before the deadline: {stderr}"
    );
    // No archive_path: the private folder is kept after the failure and named.
    let kept = Regex::new(r"the run is kept in (\S+);")
        .expect("regex")
        .captures(&stderr)
        .map(|c| c[1].to_owned())
        .unwrap_or_else(|| panic!("no folder named: {stderr}"));
    assert!(Path::new(&kept).join("telemetry.json").exists());
    std::fs::remove_dir_all(kept).expect("cleaned up");
}
