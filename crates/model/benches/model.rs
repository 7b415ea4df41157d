//! parse + validate + serialize, the work the API does for every POST /telemetry.
//!
//! `make bench-model` runs this and krkn-lib's own model on the same inputs; figures go to
//! BENCHMARKS.md.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use krkn_telemetry_model::{ChaosRunTelemetry, samples};

const SEED: &[u8] = include_bytes!("../tests/data/seed-sample.json");

fn round_trip(bytes: &[u8]) -> Vec<u8> {
    let doc = ChaosRunTelemetry::from_json(bytes).expect("sample parses");
    doc.validate().expect("sample is valid");
    // As the API does: the output buffer is sized from the request body.
    doc.to_json_with_capacity(bytes.len())
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse_validate_serialize");
    group.throughput(Throughput::Bytes(SEED.len() as u64));
    group.bench_function("seed", |b| b.iter(|| round_trip(black_box(SEED))));

    let large = serde_json::to_vec(&samples::large_document(1000, 50)).expect("serializes");
    if let Ok(path) = std::env::var("KRKN_BENCH_WRITE_LARGE") {
        std::fs::write(&path, &large).expect("write large sample");
    }
    group.throughput(Throughput::Bytes(large.len() as u64));
    group.sample_size(20);
    group.bench_function("large_1000x50", |b| {
        b.iter(|| round_trip(black_box(&large)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
