//! Load benchmark of the standalone server on the embedded store (`make bench-api`).
//!
//! Starts the release `krkn-telemetry-api serve` on a free loopback port with a fresh data
//! directory, measures process start to the first 200, idle RSS, then requests per second and
//! p50/p99 latency of `POST /telemetry` (the seed sample, a new run each time) and
//! `GET /presigned-url` with 1 and 32 concurrent clients. Prints a markdown table.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

mod support;

use support::{PASSWORD, Server, rss_kib};

const SEED: &[u8] = include_bytes!("../../model/tests/data/seed-sample.json");
/// Starts the server; returns it and the time from spawn to the first 200 from /healthz.
async fn start(client: &reqwest::Client) -> (Server, Duration) {
    let started = Instant::now();
    let server = Server::spawn();
    loop {
        if let Ok(response) = client.get(format!("{}/healthz", server.base)).send().await
            && response.status() == 200
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "server did not answer within 20 s"
        );
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
    (server, started.elapsed())
}

struct Figures {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
}

/// Runs `total` requests with `clients` concurrent clients; `make(i)` builds request `i`.
async fn load<F>(clients: usize, total: usize, make: F) -> Figures
where
    F: Fn(usize) -> reqwest::RequestBuilder + Send + Sync + 'static,
{
    let make = Arc::new(make);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (make, next) = (Arc::clone(&make), Arc::clone(&next));
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let sent = Instant::now();
                let response = make(i).send().await.expect("request answered");
                assert_eq!(response.status(), 200, "request {i} failed");
                let _ = response.bytes().await;
                latencies.push(sent.elapsed());
            }
            latencies
        }));
    }
    let mut all = Vec::with_capacity(total);
    for task in tasks {
        all.extend(task.await.expect("client task"));
    }
    let elapsed = started.elapsed();
    all.sort();
    let at = |q: f64| all[((all.len() as f64 * q) as usize).min(all.len() - 1)].as_secs_f64() * 1e3;
    Figures {
        rps: total as f64 / elapsed.as_secs_f64(),
        p50_ms: at(0.50),
        p99_ms: at(0.99),
    }
}

#[tokio::main]
async fn main() {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .expect("client");
    let mut starts = Vec::new();
    for _ in 0..5 {
        let (server, to_first_200) = start(&client).await;
        starts.push(to_first_200);
        drop(server);
    }
    starts.sort();
    let (server, _) = start(&client).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let idle_rss = rss_kib(server.child.id());

    let base = server.base.clone();
    // Wait for the admin (set up just after start) and warm the credential cache: the first
    // check pays argon2 on purpose.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let warm = client
            .get(format!("{base}/navigate"))
            .basic_auth("admin", Some(PASSWORD))
            .send()
            .await;
        if warm.is_ok_and(|r| r.status() == 200) {
            break;
        }
        assert!(Instant::now() < deadline, "admin never became usable");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let mut rows = Vec::new();
    for clients in [1usize, 32] {
        let total = if clients == 1 { 2_000 } else { 8_000 };
        let (c, b) = (client.clone(), base.clone());
        let post = load(clients, total, move |i| {
            c.post(format!("{b}/telemetry"))
                .query(&[
                    ("request_id", format!("1745343338-bench-{clients}-{i}")),
                    ("telemetry_group", "bench".to_owned()),
                ])
                .basic_auth("admin", Some(PASSWORD))
                .header("Content-Type", "application/json")
                .body(SEED)
        })
        .await;
        rows.push(("POST /telemetry (seed sample)", clients, post));
        let (c, b) = (client.clone(), base.clone());
        let presign = load(clients, total, move |i| {
            c.get(format!("{b}/presigned-url"))
                .query(&[
                    ("request_id", "bench/1745343338-bench-1-0".to_owned()),
                    ("remote_filename", format!("prometheus-{i:02}.tar")),
                ])
                .basic_auth("admin", Some(PASSWORD))
        })
        .await;
        rows.push(("GET /presigned-url", clients, presign));
    }
    let loaded_rss = rss_kib(server.child.id());

    println!("| request | clients | requests/s | p50 | p99 |");
    println!("|---|---|---|---|---|");
    for (name, clients, f) in &rows {
        println!(
            "| {name} | {clients} | {:.0} | {:.2} ms | {:.2} ms |",
            f.rps, f.p50_ms, f.p99_ms
        );
    }
    println!();
    println!(
        "Process start to first 200 (5 starts): median {:.1} ms, min {:.1} ms, max {:.1} ms",
        starts[2].as_secs_f64() * 1e3,
        starts[0].as_secs_f64() * 1e3,
        starts[4].as_secs_f64() * 1e3
    );
    println!(
        "Idle RSS after start: {:.1} MiB; RSS after the load: {:.1} MiB",
        idle_rss as f64 / 1024.0,
        loaded_rss as f64 / 1024.0
    );
}
