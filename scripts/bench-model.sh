#!/usr/bin/env bash
# Model benchmark: our parse + validate + serialize (criterion) next to krkn-lib's own model
# (ChaosRunTelemetry(json) then to_json(), from PyPI) on the same two inputs, in the same run.
# Prints a markdown table for BENCHMARKS.md and keeps it in bench/out/model.md.
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench/out
mkdir -p "$out"
target="${CARGO_TARGET_DIR:-target}"

echo "bench-model: criterion (release, thin LTO)…" >&2
KRKN_BENCH_WRITE_LARGE="$PWD/$out/large-1000x50.json" \
    cargo bench --locked -p krkn-telemetry-model --bench model -- --noplot >"$out/criterion.txt"

echo "bench-model: krkn-lib peer…" >&2
python="$(scripts/python-venv.sh bench/python/requirements.txt | tail -n1)"
"$python" bench/python/krkn_lib_model_bench.py \
    crates/model/tests/data/seed-sample.json "$out/large-1000x50.json" >"$out/krkn-lib.json"

"$python" - "$target/criterion" "$out/krkn-lib.json" "$out/large-1000x50.json" <<'PY' | tee "$out/model.md"
import json, os, platform, subprocess, sys
crit, peer_file, large_file = sys.argv[1:4]
peer = json.load(open(peer_file))
def median_ns(name):
    est = json.load(open(os.path.join(crit, "parse_validate_serialize", name, "new", "estimates.json")))
    return est["median"]["point_estimate"]
seed_bytes = os.path.getsize("crates/model/tests/data/seed-sample.json")
large_bytes = os.path.getsize(large_file)
seed_us = median_ns("seed") / 1e3
large_mbs = large_bytes / (median_ns("large_1000x50") / 1e9) / 1e6
py_seed_us = peer["seed"]["us_per_doc_median"]
py_large_mbs = peer["large"]["mb_per_s_median"]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.machine())
rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
print(f"Machine: {cpu}, {os.cpu_count()} cores; {rustc}; Python {peer['python_version']}, krkn-lib {peer['krkn_lib_version']}")
print()
print("| input | ours (Rust) | krkn-lib | ratio | target | met |")
print("|---|---|---|---|---|---|")
print(f"| seed sample ({seed_bytes} B) | {seed_us:.2f} µs/doc | {py_seed_us:.1f} µs/doc | {py_seed_us/seed_us:.0f}× | ≤ 10 µs | {'yes' if seed_us <= 10 else 'NO'} |")
print(f"| 1,000 scenarios × 50 events ({large_bytes/1e6:.1f} MB) | {large_mbs:.0f} MB/s | {py_large_mbs:.1f} MB/s | {large_mbs/py_large_mbs:.0f}× | ≥ 250 MB/s | {'yes' if large_mbs >= 250 else 'NO'} |")
PY
