#!/usr/bin/env bash
# API benchmark: the load bench (crates/api/benches/load.rs) against the release server, then
# the size of the Lambda deployment zip (bootstrap = the release krkn-telemetry-lambda binary,
# built for this machine's architecture). Writes bench/out/api.md.
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench/out
mkdir -p "$out"
target="${CARGO_TARGET_DIR:-target}"

echo "bench-api: load (release build)…" >&2
cargo bench --locked -p krkn-telemetry-api --bench load >"$out/api.md"

echo "bench-api: Lambda zip…" >&2
cargo build --locked --release -p krkn-telemetry-api --bin krkn-telemetry-lambda
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$target/release/krkn-telemetry-lambda" "$work/bootstrap"
strip "$work/bootstrap"
python3 - "$work" <<'PY' >>"$out/api.md"
import os, sys, zipfile, platform
work = sys.argv[1]
z = os.path.join(work, "lambda.zip")
with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as f:
    f.write(os.path.join(work, "bootstrap"), "bootstrap")
print(f"Lambda zip (stripped bootstrap, {platform.machine()}): {os.path.getsize(z) / 1e6:.2f} MB "
      f"(binary {os.path.getsize(os.path.join(work, 'bootstrap')) / 1e6:.2f} MB)")
PY
cat "$out/api.md"
