#!/usr/bin/env bash
# Lambda benchmark: the release krkn-telemetry-lambda under the Lambda Runtime API
# (cargo-lambda's emulator) on the AWS store (the shared moto): cold init (process start to
# the first invocation answered, a fresh emulator and function each round) and warm
# invocations (client-side latency and the function's CPU time per invocation, read from
# /proc); then the zip `sam build` made, when infra/.aws-sam holds one (make deploy-check).
# Writes bench/out/lambda.md.
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench/out
mkdir -p "$out"
target="${CARGO_TARGET_DIR:-target}"

scripts/test-services.sh start
trap 'scripts/test-services.sh stop' EXIT
. .tools/services.env
echo "bench-lambda: release build…" >&2
cargo build --locked --release -p krkn-telemetry-api --bins
python3 scripts/bench_lambda.py "$target/release" >"$out/lambda.md"
cat "$out/lambda.md"
