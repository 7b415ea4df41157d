//! Query benchmark of the standalone server on the embedded store (`make bench-queries`).
//!
//! Starts the release `krkn-telemetry-api serve` on a free loopback port with a fresh data
//! directory, files 10,000 runs of 10 scenarios each through `POST /telemetry` (as krkn does,
//! 8 at a time), then measures:
//! - `GET /api/v1/runs` pages (50 runs) from one client: the first page, four filtered first
//!   pages and pages deep in the listing through cursors; p50 / p99 / max of each;
//! - `GET /api/v1/scenarios` (all 100,000 scenarios, NDJSON and CSV, and a 10,000-row group for
//!   comparison): rows, bytes, time to the last byte, rows/s, and the server's RSS sampled
//!   every 10 ms during each export, against its RSS before.
//!
//! Prints a markdown report; the figures go to BENCHMARKS.md. Under `cargo test` (no `--bench`
//! argument) it runs as a quick smoke check: 200 runs, one round of everything.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{Value, json};

mod support;

use support::{PASSWORD, Server, rss_kib};

const SCENARIOS_PER_RUN: usize = 10;
const GROUPS: usize = 10;
const TYPES: [&str; 5] = [
    "pod_disruption_scenarios",
    "node_scenarios",
    "network_chaos_ng_scenarios",
    "time_scenarios",
    "container_scenarios",
];
const CLOUDS: [&str; 3] = ["AWS", "GCP", "Azure"];
const VERSIONS: [&str; 3] = ["4.17", "4.18", "4.19"];

/// Starts the server and waits until the admin can log in.
async fn start(client: &reqwest::Client) -> Server {
    let server = Server::spawn();
    let started = Instant::now();
    loop {
        let ready = client
            .get(format!("{}/api/v1/runs?limit=1", server.base))
            .basic_auth("admin", Some(PASSWORD))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200);
        if ready {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "server did not answer within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server
}

/// Run `i`: a krkn document of 10 scenarios (the model's synthetic sample: parameters, five
/// recovered pods and five cluster events each), its types, cluster and outcome varied.
fn document(template: &Value, i: usize) -> (String, String, Vec<u8>) {
    let mut doc = template.clone();
    let uuid = format!("00000000-0000-4000-8000-{i:012}");
    if let Some(scenarios) = doc["scenarios"].as_array_mut() {
        for (s, scenario) in scenarios.iter_mut().enumerate() {
            scenario["scenario_type"] = json!(TYPES[(i + s) % TYPES.len()]);
            scenario["exit_status"] = json!(u8::from((i + s).is_multiple_of(7)));
            scenario["end_timestamp"] = json!(
                scenario["start_timestamp"].as_i64().unwrap_or(0) + 60 + ((i * 7 + s) % 300) as i64
            );
        }
    }
    doc["run_uuid"] = json!(uuid);
    doc["cloud_infrastructure"] = json!(CLOUDS[i % CLOUDS.len()]);
    doc["major_version"] = json!(VERSIONS[i % VERSIONS.len()]);
    doc["cluster_version"] = json!(format!("{}.{}", VERSIONS[i % VERSIONS.len()], i % 20));
    doc["job_status"] = json!(!i.is_multiple_of(4));
    let group = format!("group-{}", i % GROUPS);
    let request_id = format!("{}-{uuid}-nightly", 1_764_000_000 + i);
    (group, request_id, serde_json::to_vec(&doc).expect("JSON"))
}

async fn file_runs(client: &reqwest::Client, base: &str, runs: usize) -> (Duration, u64) {
    let template = serde_json::to_value(krkn_telemetry_model::samples::large_document(
        SCENARIOS_PER_RUN,
        5,
    ))
    .expect("sample");
    let template = Arc::new(template);
    let next = Arc::new(AtomicUsize::new(0));
    let bytes = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (client, base, template, next, bytes) = (
            client.clone(),
            base.to_owned(),
            Arc::clone(&template),
            Arc::clone(&next),
            Arc::clone(&bytes),
        );
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= runs {
                    break;
                }
                let (group, request_id, body) = document(&template, i);
                bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
                let response = client
                    .post(format!("{base}/telemetry"))
                    .query(&[("request_id", request_id), ("telemetry_group", group)])
                    .basic_auth("admin", Some(PASSWORD))
                    .header("Content-Type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .expect("answered");
                let status = response.status();
                assert_eq!(
                    status,
                    200,
                    "run {i}: {}",
                    response.text().await.unwrap_or_default()
                );
            }
        }));
    }
    for task in tasks {
        task.await.expect("filing task");
    }
    (started.elapsed(), bytes.load(Ordering::Relaxed))
}

struct Latency {
    p50: f64,
    p99: f64,
    max: f64,
    n: usize,
}

fn latency(mut all: Vec<Duration>) -> Latency {
    all.sort();
    let at = |q: f64| all[((all.len() as f64 * q) as usize).min(all.len() - 1)].as_secs_f64() * 1e3;
    Latency {
        p50: at(0.50),
        p99: at(0.99),
        max: all.last().map_or(0.0, |d| d.as_secs_f64() * 1e3),
        n: all.len(),
    }
}

async fn get_json(client: &reqwest::Client, url: &str) -> (Duration, Value) {
    let sent = Instant::now();
    let response = client
        .get(url)
        .basic_auth("admin", Some(PASSWORD))
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), 200, "{url}");
    let body: Value = response.json().await.expect("JSON");
    (sent.elapsed(), body)
}

/// `rounds` requests of one first page.
async fn first_pages(client: &reqwest::Client, base: &str, query: &str, rounds: usize) -> Latency {
    let url = format!("{base}/api/v1/runs?limit=50{query}");
    let mut all = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let (took, body) = get_json(client, &url).await;
        let listed = body["runs"].as_array().map_or(0, Vec::len);
        assert!((1..=50).contains(&listed), "{url}: {listed} runs");
        all.push(took);
    }
    latency(all)
}

/// Walks the whole listing 50 runs at a time through cursors, `rounds` times.
async fn deep_pages(client: &reqwest::Client, base: &str, rounds: usize) -> (Latency, usize) {
    let mut all = Vec::new();
    let mut seen = 0;
    for _ in 0..rounds {
        let mut cursor: Option<String> = None;
        seen = 0;
        loop {
            let url = match &cursor {
                Some(c) => format!("{base}/api/v1/runs?limit=50&cursor={c}"),
                None => format!("{base}/api/v1/runs?limit=50"),
            };
            let (took, body) = get_json(client, &url).await;
            all.push(took);
            seen += body["runs"].as_array().map_or(0, Vec::len);
            match body["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
    }
    (latency(all), seen)
}

struct Export {
    rows: usize,
    bytes: u64,
    seconds: f64,
    peak_rss_kib: u64,
}

async fn export(client: &reqwest::Client, server: &Server, query: &str) -> Export {
    let pid = server.child.id();
    let sampling = Arc::new(AtomicBool::new(true));
    let peak = Arc::new(AtomicU64::new(rss_kib(pid)));
    let sampler = {
        let (sampling, peak) = (Arc::clone(&sampling), Arc::clone(&peak));
        tokio::spawn(async move {
            while sampling.load(Ordering::Relaxed) {
                peak.fetch_max(rss_kib(pid), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };
    let started = Instant::now();
    let response = client
        .get(format!("{}/api/v1/scenarios?{query}", server.base))
        .basic_auth("admin", Some(PASSWORD))
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), 200, "{query}");
    let mut stream = response.bytes_stream();
    let (mut lines, mut bytes) = (0usize, 0u64);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.expect("chunk");
        lines += chunk.iter().filter(|b| **b == b'\n').count();
        bytes += chunk.len() as u64;
    }
    let seconds = started.elapsed().as_secs_f64();
    sampling.store(false, Ordering::Relaxed);
    sampler.await.expect("sampler");
    let header = usize::from(query.contains("format=csv"));
    Export {
        rows: lines - header,
        bytes,
        seconds,
        peak_rss_kib: peak.load(Ordering::Relaxed),
    }
}

#[tokio::main]
async fn main() {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(16)
        .build()
        .expect("client");
    let full = std::env::args().any(|a| a == "--bench");
    let (runs, rounds, export_rounds) = if full { (10_000, 500, 3) } else { (200, 10, 1) };
    let server = start(&client).await;
    let base = server.base.clone();
    let (filing, filed_bytes) = file_runs(&client, &base, runs).await;
    let rss_after_filing = rss_kib(server.child.id());

    let mut pages = Vec::new();
    for (name, query) in [
        ("first page, no filter", ""),
        ("first page, group=group-3", "&group=group-3"),
        (
            "first page, scenario_type=node_scenarios",
            "&scenario_type=node_scenarios",
        ),
        (
            "first page, job_status=false&cloud=AWS",
            "&job_status=false&cloud=AWS",
        ),
        (
            "first page, major_version=4.18&run_tag=nightly",
            "&major_version=4.18&run_tag=nightly",
        ),
    ] {
        // Warm up, then measure.
        first_pages(&client, &base, query, 20).await;
        pages.push((
            name.to_owned(),
            first_pages(&client, &base, query, rounds).await,
        ));
    }
    let walks = export_rounds;
    let (deep, listed) = deep_pages(&client, &base, walks).await;
    assert_eq!(listed, runs, "the cursor walk lists every run once");
    pages.push((
        format!(
            "every page of the listing through cursors ({} pages × {walks})",
            runs.div_ceil(50)
        ),
        deep,
    ));

    let rss_before_export = rss_kib(server.child.id());
    let mut exports = Vec::new();
    let rows = runs * SCENARIOS_PER_RUN;
    for (name, query, expected) in [
        (
            "NDJSON, group=group-3",
            "format=ndjson&group=group-3",
            rows / GROUPS,
        ),
        ("NDJSON, everything", "format=ndjson", rows),
        (
            "CSV, group=group-3",
            "format=csv&group=group-3",
            rows / GROUPS,
        ),
        ("CSV, everything", "format=csv", rows),
    ] {
        let mut measured: Vec<Export> = Vec::new();
        for _ in 0..export_rounds {
            let export = export(&client, &server, query).await;
            assert_eq!(export.rows, expected, "{query}: one row per scenario");
            measured.push(export);
        }
        measured.sort_by(|a, b| a.seconds.total_cmp(&b.seconds));
        let median = measured.swap_remove(measured.len() / 2);
        exports.push((name, median));
    }

    report(Report {
        runs,
        filing,
        filed_bytes,
        rss_after_filing,
        pages,
        export_rounds,
        exports,
        rss_before_export,
    });
}

/// What one run of the benchmark measured.
struct Report {
    runs: usize,
    filing: std::time::Duration,
    filed_bytes: u64,
    rss_after_filing: u64,
    pages: Vec<(String, Latency)>,
    export_rounds: usize,
    exports: Vec<(&'static str, Export)>,
    rss_before_export: u64,
}

/// Prints the figures as BENCHMARKS.md shows them.
fn report(r: Report) {
    let Report {
        runs,
        filing,
        filed_bytes,
        rss_after_filing,
        pages,
        export_rounds,
        exports,
        rss_before_export,
    } = r;
    println!(
        "Filed {runs} runs × {SCENARIOS_PER_RUN} scenarios ({:.1} MB of documents) in {:.1} s \
         ({:.0} runs/s, 8 clients); server RSS after filing {:.1} MiB.",
        filed_bytes as f64 / 1e6,
        filing.as_secs_f64(),
        runs as f64 / filing.as_secs_f64(),
        rss_after_filing as f64 / 1024.0
    );
    println!();
    println!("| `GET /api/v1/runs?limit=50` (1 client) | requests | p50 | p99 | max |");
    println!("|---|---|---|---|---|");
    for (name, l) in &pages {
        println!(
            "| {name} | {} | {:.2} ms | {:.2} ms | {:.2} ms |",
            l.n, l.p50, l.p99, l.max
        );
    }
    println!();
    println!(
        "| `GET /api/v1/scenarios` (median of {export_rounds}) | rows | MB | seconds | rows/s | server peak RSS |"
    );
    println!("|---|---|---|---|---|---|");
    for (name, e) in &exports {
        println!(
            "| {name} | {} | {:.1} | {:.2} | {:.0} | {:.1} MiB |",
            e.rows,
            e.bytes as f64 / 1e6,
            e.seconds,
            e.rows as f64 / e.seconds,
            e.peak_rss_kib as f64 / 1024.0
        );
    }
    println!();
    println!(
        "Server RSS before the exports: {:.1} MiB.",
        rss_before_export as f64 / 1024.0
    );
}
