//! Operating the standalone server: its metrics scraped by the real Prometheus binary and
//! holding what happened, an `x-request-id` on every answer and in every log line of its
//! request, `/readyz` touching the store, and a stop on SIGTERM that lets a request in flight
//! finish (its filing indexed) while new requests get a 503.

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use base64::Engine;
use krkn_telemetry_api::store::{AwsStore, Backend};
use krkn_telemetry_api::{ApiConfig, AppState, router};
use serde_json::Value;

use crate::helpers::*;
use crate::process::free_port;

const ADMIN_PASSWORD: &str = "admin-password-operations";

/// `krkn-telemetry-api serve` with JSON logs into a file, `--metrics-listen` on its own port.
struct Served {
    child: Child,
    url: String,
    metrics: String,
    log: std::path::PathBuf,
    dir: tempfile::TempDir,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve() -> Served {
    let dir = tempfile::tempdir().expect("dir");
    let (api, metrics) = (free_port(), free_port());
    let log = dir.path().join("server.log");
    let child = Command::new(env!("CARGO_BIN_EXE_krkn-telemetry-api"))
        .args(["--log-format", "json", "serve", "--listen"])
        .arg(format!("127.0.0.1:{api}"))
        .arg("--metrics-listen")
        .arg(format!("127.0.0.1:{metrics}"))
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .env("KRKN_TELEMETRY_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log file"))
        .spawn()
        .expect("the server starts");
    let served = Served {
        child,
        url: format!("http://127.0.0.1:{api}"),
        metrics: format!("127.0.0.1:{metrics}"),
        log,
        dir,
    };
    let started = Instant::now();
    while !reqwest::blocking::get(format!("{}/healthz", served.url))
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the server never got ready"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    served
}

fn admin() -> String {
    basic("admin", ADMIN_PASSWORD)
}

fn post_seed(
    served: &Served,
    request_id: &str,
    request_header: Option<&str>,
) -> reqwest::blocking::Response {
    let mut request = reqwest::blocking::Client::new()
        .post(format!(
            "{}/telemetry?request_id={request_id}&telemetry_group=default",
            served.url
        ))
        .header("Authorization", admin())
        .header("Content-Type", "application/json")
        .body(SEED.to_vec());
    if let Some(id) = request_header {
        request = request.header("x-request-id", id);
    }
    request.send().expect("the server answers")
}

/// The real Prometheus, scraping `target` every second, on a free port; killed on drop.
struct Scraper {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Scraper {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn scrape(target: &str) -> Scraper {
    let binary = std::env::var("KRKN_TEST_PROMETHEUS_BIN").unwrap_or_else(|_| {
        panic!(
            "this test needs KRKN_TEST_PROMETHEUS_BIN (the Debian prometheus binary): run \
             `scripts/test-services.sh start && . .tools/services.env` (make test does both)"
        )
    });
    let dir = tempfile::tempdir().expect("dir");
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: krkn-telemetry\n    static_configs:\n      - targets: ['{target}']\n"
        ),
    )
    .expect("config");
    let port = free_port();
    let child = Command::new(binary)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("prometheus starts");
    Scraper {
        child,
        url: format!("http://127.0.0.1:{port}"),
        _dir: dir,
    }
}

/// The value of `query` in Prometheus (its one sample), once a scrape has it.
fn value(scraper: &Scraper, query: &str) -> Option<f64> {
    let answer: Value = reqwest::blocking::Client::new()
        .get(format!("{}/api/v1/query", scraper.url))
        .query(&[("query", query)])
        .send()
        .ok()?
        .json()
        .ok()?;
    let results = answer["data"]["result"].as_array()?;
    assert!(
        results.len() <= 1,
        "{query}: more than one series: {answer}"
    );
    results.first()?["value"][1].as_str()?.parse().ok()
}

/// What the metrics test counts: one run filed, the same document again, two wrong passwords,
/// one request without credentials, two scanner paths and one anonymous `/metrics`.
fn make_things_happen(served: &Served) {
    // What happens: one run filed, the same document again, two wrong passwords and one
    // request without credentials.
    assert_eq!(post_seed(served, RUN_ID, None).status(), 200);
    assert_eq!(post_seed(served, RUN_ID, None).status(), 200);
    let client = reqwest::blocking::Client::new();
    for _ in 0..2 {
        let refused = client
            .get(format!("{}/api/v1/runs", served.url))
            .header("Authorization", basic("admin", "not-the-password"))
            .send()
            .expect("answers");
        assert_eq!(refused.status(), 401);
    }
    let anonymous = client
        .get(format!("{}/api/v1/runs", served.url))
        .send()
        .expect("answers");
    assert_eq!(anonymous.status(), 401);
    // A scanner's paths: counted under one label, never as labels of their own.
    for path in ["/scan/wp-login.php", "/scan/.env"] {
        client
            .get(format!("{}{path}", served.url))
            .send()
            .expect("answers");
    }
    // The API's own /metrics is for admins.
    assert_eq!(
        client
            .get(format!("{}/metrics", served.url))
            .send()
            .expect("answers")
            .status(),
        401
    );
}

#[test]
fn a_real_prometheus_scrapes_the_metrics_and_they_count_what_happened() {
    let served = serve();
    make_things_happen(&served);
    let scraper = scrape(&served.metrics);
    let started = Instant::now();
    while value(&scraper, "up{job=\"krkn-telemetry\"}") != Some(1.0) {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "Prometheus never scraped {} successfully",
            served.metrics
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let expected = [
        ("krkn_telemetry_filings_total{kind=\"filed\"}", 1.0),
        ("krkn_telemetry_filings_total{kind=\"same\"}", 1.0),
        ("krkn_telemetry_auth_failures_total{kind=\"wrong\"}", 2.0),
        ("krkn_telemetry_auth_failures_total{kind=\"missing\"}", 2.0),
        (
            "krkn_telemetry_http_requests_total{method=\"POST\",route=\"/telemetry\",status=\"200\"}",
            2.0,
        ),
        (
            "krkn_telemetry_http_requests_total{method=\"GET\",route=\"/api/v1/runs\",status=\"401\"}",
            3.0,
        ),
        (
            "krkn_telemetry_http_request_duration_seconds_count{method=\"POST\",route=\"/telemetry\"}",
            2.0,
        ),
        // Through the group commit: the first filing logged its document and wrote the run's
        // entries, the second (the same document) wrote the entries again.
        ("sum(krkn_telemetry_group_commit_batch_size_sum)", 3.0),
        ("krkn_telemetry_store_errors_total", 0.0),
        (
            "sum(krkn_telemetry_http_requests_total{route=\"unmatched\"})",
            2.0,
        ),
    ];
    for (query, wanted) in expected {
        assert_eq!(value(&scraper, query), Some(wanted), "{query}");
    }
    assert_eq!(
        value(
            &scraper,
            "count(krkn_telemetry_http_requests_total{route=~\".*scan.*\"})"
        ),
        None,
        "a requested path became a label"
    );
    // A latency quantile can be computed from the buckets.
    let p99 = value(
        &scraper,
        "histogram_quantile(0.99, sum by (le) (krkn_telemetry_http_request_duration_seconds_bucket{route=\"/telemetry\"}))",
    )
    .expect("a p99 of the filings");
    assert!(p99 > 0.0 && p99 < 20.0, "p99 {p99}");
    // The metrics never name a requested path, only route patterns.
    let text = reqwest::blocking::get(format!("http://{}/metrics", served.metrics))
        .expect("metrics")
        .text()
        .expect("text");
    assert!(
        !text.contains(RUN_ID),
        "a request's path leaked into a label"
    );
    assert!(
        text.trim_end().ends_with("# EOF"),
        "OpenMetrics text ends with # EOF"
    );
}

#[test]
fn every_answer_and_every_log_line_of_a_request_carry_its_request_id() {
    let served = serve();
    let mine = post_seed(&served, RUN_ID, Some("ops-test-42"));
    assert_eq!(mine.status(), 200);
    assert_eq!(
        mine.headers()["x-request-id"],
        "ops-test-42",
        "the client's id is kept"
    );
    let made = post_seed(&served, RUN_ID, None);
    let made_id = made.headers()["x-request-id"]
        .to_str()
        .expect("text")
        .to_owned();
    assert!(
        uuid::Uuid::parse_str(&made_id).is_ok(),
        "a new id is a UUID: {made_id}"
    );
    // An id that is not plain (spaces, quotes) is replaced, not logged as sent.
    let odd = post_seed(&served, RUN_ID, Some("a b \"c\""));
    let odd_id = odd.headers()["x-request-id"]
        .to_str()
        .expect("text")
        .to_owned();
    assert!(uuid::Uuid::parse_str(&odd_id).is_ok(), "{odd_id}");

    // The lines of the first request: the handler's own and the access line, both with the id.
    let started = Instant::now();
    let lines = loop {
        let log = std::fs::read_to_string(&served.log).expect("log");
        let lines: Vec<Value> = log
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .filter(|l: &Value| l["span"]["id"] == "ops-test-42")
            .collect();
        if lines.len() >= 2 || started.elapsed() > Duration::from_secs(10) {
            break lines;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let messages: Vec<&str> = lines
        .iter()
        .filter_map(|l| l["fields"]["message"].as_str())
        .collect();
    assert!(messages.contains(&"telemetry filed"), "{lines:?}");
    let access = lines
        .iter()
        .find(|l| l["fields"]["message"] == "request")
        .expect("an access line");
    assert_eq!(access["fields"]["status"], 200);
    assert_eq!(access["fields"]["route"], "/telemetry");
    assert_eq!(
        access["span"]["path"], "/telemetry",
        "the path, without its query"
    );
    let log = std::fs::read_to_string(&served.log).expect("log");
    assert!(
        !log.contains(ADMIN_PASSWORD) && !log.contains("request_id="),
        "{log}"
    );
}

#[test]
fn sigterm_lets_a_filing_in_flight_finish_and_answers_new_requests_503() {
    let served = serve();
    let address = served.url.trim_start_matches("http://").to_owned();
    // A filing whose body is half sent when the stop comes.
    let mut slow = std::net::TcpStream::connect(&address).expect("connect");
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("admin:{ADMIN_PASSWORD}"));
    write!(
        slow,
        "POST /telemetry?request_id={RUN_ID}&telemetry_group=default HTTP/1.1\r\nHost: {address}\r\nAuthorization: Basic {auth}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        SEED.len()
    )
    .expect("headers");
    let half = SEED.len() / 2;
    slow.write_all(&SEED[..half]).expect("half the body");
    std::thread::sleep(Duration::from_millis(500));
    let killed = Command::new("kill")
        .args(["-TERM", &served.child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    std::thread::sleep(Duration::from_millis(300));

    let refused = reqwest::blocking::get(format!("{}/healthz", served.url)).expect("answered");
    assert_eq!(refused.status(), 503);
    assert!(refused.headers().contains_key("retry-after"));
    let text = refused.text().expect("text");
    assert!(text.contains("shutting down"), "{text}");

    slow.write_all(&SEED[half..]).expect("the rest of the body");
    let mut answer = String::new();
    slow.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let _ = slow.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    let mut served = served;
    let started = Instant::now();
    let status = loop {
        if let Some(status) = served.child.try_wait().expect("wait") {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the server did not stop"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
    // The filing that finished during the stop is indexed.
    let store = krkn_telemetry_api::store::LocalStore::open(&served.dir.path().join("data"))
        .expect("the store opens");
    let backend = Backend::local(store);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let (runs, _) = runtime
        .block_on(backend.index.run_counts("default", RUN_ID))
        .expect("counts");
    assert_eq!(runs, 1);
}

#[tokio::test]
async fn readyz_answers_503_naming_the_store_when_it_cannot_reach_it() {
    let settings = moto_settings();
    // No bucket, no table: what a deleted or unreachable store looks like.
    let missing = Arc::new(AwsStore::connect(&settings).await);
    let app = router(AppState::new(
        Backend::aws(Arc::clone(&missing)),
        ApiConfig::default(),
    ));
    let reply = TestApp {
        router: app,
        backend: Backend::aws(Arc::clone(&missing)),
        dir: tempfile::tempdir().expect("dir"),
        aws: None,
    };
    let unready = reply.get("nobody", "/readyz").await;
    assert_eq!(
        unready.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        unready.body
    );
    assert!(
        unready.body.starts_with("storage unavailable: "),
        "{}",
        unready.body
    );
    assert!(
        !unready.body.contains(&settings.bucket),
        "no account names: {}",
        unready.body
    );
    missing.init().await.expect("bucket and table");
    let ready = reply.get("nobody", "/readyz").await;
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.body);
    assert_eq!(ready.body, "ready\n");
}
