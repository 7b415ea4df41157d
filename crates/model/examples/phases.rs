//! Times each phase of parse + validate + serialize (profiling aid for `make bench-model`).
//! `cargo run --release -p krkn-telemetry-model --example phases`
use std::time::Instant;

use krkn_telemetry_model::{ChaosRunTelemetry, samples};

fn phases(label: &str, bytes: &[u8], n: usize) {
    let per = |t: Instant| t.elapsed().as_secs_f64() * 1e6 / n as f64;
    let t = Instant::now();
    for _ in 0..n {
        std::hint::black_box(serde_json::from_slice::<serde_json::Value>(bytes).expect("value"));
    }
    let value_us = per(t);
    let t = Instant::now();
    for _ in 0..n {
        std::hint::black_box(ChaosRunTelemetry::from_json(bytes).expect("parse"));
    }
    let parse_us = per(t);
    let doc = ChaosRunTelemetry::from_json(bytes).expect("parse");
    let t = Instant::now();
    for _ in 0..n {
        doc.validate().expect("valid");
    }
    let validate_us = per(t);
    let t = Instant::now();
    for _ in 0..n {
        std::hint::black_box(doc.to_json_with_capacity(bytes.len()));
    }
    let ser_us = per(t);
    let total = parse_us + validate_us + ser_us;
    println!(
        "{label} ({} B): Value parse {value_us:.1} µs; typed parse {parse_us:.1} µs; validate {validate_us:.1} µs; serialize {ser_us:.1} µs; total {total:.1} µs = {:.0} MB/s",
        bytes.len(),
        bytes.len() as f64 / total
    );
}

fn main() {
    let seed = include_bytes!("../tests/data/seed-sample.json");
    if let Some(n) = std::env::args().nth(1).and_then(|a| a.parse().ok()) {
        // Parse only, n times: for `valgrind --tool=callgrind`.
        for _ in 0..n {
            std::hint::black_box(ChaosRunTelemetry::from_json(seed).expect("parse"));
        }
        return;
    }
    phases("seed", seed, 20_000);
    let large = samples::large_document(1000, 50).to_json();
    phases("large", &large, 10);
}
