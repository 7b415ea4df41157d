//! `krkn-telemetry alerts` against the real Prometheus of the test services, whose rules keep
//! `KrknTestCriticalAlert` (critical) and `KrknTestWarningAlert` (warning) firing.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::support::{cli, critical_alert_firing, prometheus_url, text};

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn run_alerts(url: &str, start: i64, end: i64, extra: &[&str], env: &[(&str, &str)]) -> Value {
    let (start, end) = (start.to_string(), end.to_string());
    let mut args = vec![
        "alerts",
        "--prometheus-url",
        url,
        "--start",
        &start,
        "--end",
        &end,
    ];
    args.extend_from_slice(extra);
    let out = cli(&args, None, env);
    assert!(out.status.success(), "alerts failed: {}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("a JSON summary")
}

#[test]
fn only_the_critical_alert_is_reported_in_both_windows_once() {
    let url = prometheus_url();
    let firing_since = critical_alert_firing(&url);
    // Let a few evaluations happen inside the window, so duplicates would show.
    std::thread::sleep(Duration::from_secs(3));
    let end = now();
    let summary = run_alerts(
        &url,
        firing_since,
        end,
        &[
            "--run-id",
            "run-1",
            "--scenario",
            "pod_disruption_scenarios",
        ],
        &[],
    );
    let expected = json!([{"alertname": "KrknTestCriticalAlert", "alertstate": "firing",
        "namespace": "openshift-etcd", "severity": "critical"}]);
    assert_eq!(summary["chaos_alerts"], expected, "{summary}");
    assert_eq!(summary["post_chaos_alerts"], expected, "{summary}");
    assert_eq!(summary["run_id"], "run-1");
    assert_eq!(summary["scenario"], "pod_disruption_scenarios");
}

#[test]
fn a_window_before_prometheus_started_has_no_alerts() {
    let url = prometheus_url();
    critical_alert_firing(&url);
    // A year ago, Prometheus (a few minutes old) knew nothing; 60 s after that, neither.
    let start = now() - 365 * 24 * 3600;
    let summary = run_alerts(&url, start, start + 600, &["--post-window", "60"], &[]);
    assert_eq!(summary["chaos_alerts"], json!([]));
    assert_eq!(summary["post_chaos_alerts"], json!([]));
}

#[test]
fn a_bad_window_and_an_unreachable_prometheus_are_errors() {
    let out = cli(
        &[
            "alerts",
            "--prometheus-url",
            "http://127.0.0.1:9",
            "--start",
            "20",
            "--end",
            "10",
        ],
        None,
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--end (10) is before --start (20)"));

    let out = cli(
        &[
            "alerts",
            "--prometheus-url",
            "http://127.0.0.1:9",
            "--start",
            "10",
            "--end",
            "20",
        ],
        None,
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("cannot query Prometheus at http://127.0.0.1:9/api/v1/"),
        "{}",
        text(&out.stderr)
    );
}

/// An auth proxy in front of the real Prometheus, as OpenShift puts one: it refuses requests
/// without `Authorization: Bearer <token>` and forwards the rest.
async fn bearer_proxy(
    State((upstream, token)): State<(String, String)>,
    request: Request,
) -> Response {
    let wanted = format!("Bearer {token}");
    let sent = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok());
    if sent != Some(wanted.as_str()) {
        return (StatusCode::UNAUTHORIZED, "missing or wrong bearer token").into_response();
    }
    let (parts, _) = request.into_parts();
    crate::support::forward(&upstream, &parts, bytes::Bytes::new())
        .await
        .unwrap_or_else(|error| (StatusCode::BAD_GATEWAY, error.to_string()).into_response())
}

#[test]
fn the_bearer_token_is_sent() {
    let upstream = prometheus_url();
    let firing_since = critical_alert_firing(&upstream);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let proxy = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        let app = axum::Router::new()
            .fallback(bearer_proxy)
            .with_state((upstream.clone(), "s3cret-token".to_owned()));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        format!("http://{address}")
    });
    let end = now();
    let without = cli(
        &[
            "alerts",
            "--prometheus-url",
            &proxy,
            "--start",
            &firing_since.to_string(),
            "--end",
            &end.to_string(),
        ],
        None,
        &[],
    );
    assert_eq!(without.status.code(), Some(2));
    assert!(
        text(&without.stderr).contains("401"),
        "{}",
        text(&without.stderr)
    );

    let summary = run_alerts(
        &proxy,
        firing_since,
        end,
        &[],
        &[("KRKN_TELEMETRY_PROMETHEUS_TOKEN", "s3cret-token")],
    );
    assert_eq!(
        summary["chaos_alerts"][0]["alertname"],
        "KrknTestCriticalAlert"
    );
    drop(runtime);
}
