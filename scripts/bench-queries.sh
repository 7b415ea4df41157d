#!/usr/bin/env bash
# Query benchmark: crates/api/benches/queries.rs against the release server on the embedded
# store (10,000 runs, 100,000 scenarios). Writes bench/out/queries.md.
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench/out
mkdir -p "$out"
echo "bench-queries: filing 10,000 runs, then pages and exports (release build)…" >&2
cargo bench --locked -p krkn-telemetry-api --bench queries >"$out/queries.md"
cat "$out/queries.md"
