#!/usr/bin/env bash
# Collector benchmark (issue #4): `krkn-telemetry collect` against the fake API server serving
# the synthetic large cluster (5,000 nodes, 150,000 pods, 20,000 ConfigMaps, 10,000
# Deployments, 20,000 Secrets) on top of the ocp-4.7 fixture, twice per round: object counts
# from metadata-only pages (what the collector does) and from full object pages (what
# krkn-lib does). Wall time and peak RSS come from GNU time, bytes from the fake server's
# count of response bytes it sent. Release builds; writes bench/out/collector.md.
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench/out
mkdir -p "$out"
target="${CARGO_TARGET_DIR:-target}"
rounds="${ROUNDS:-3}"
fixture=../shared/fixtures/clusters/ocp-4.7
[[ -d "$fixture" ]] || { echo "bench-collector: $fixture is missing (shared/ must sit beside the repo)" >&2; exit 2; }
command -v /usr/bin/time >/dev/null || { echo "bench-collector: needs GNU time (apt-get install time)" >&2; exit 2; }

echo "bench-collector: release build…" >&2
cargo build --locked --release -p krkn-telemetry-collector -p krkn-telemetry-fake-kube >&2
work="$(mktemp -d)"
server_pid=""
cleanup() {
    [[ -n "$server_pid" ]] && kill -INT "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

# One measured collection: starts a fresh fake server, collects, stops the server (which then
# prints its request and byte counts). Prints "seconds rss_kb bytes requests pods".
measure() { # mode
    "$target/release/fake-kube" --fixture "$fixture" --large --kubeconfig "$work/kubeconfig" \
        >"$work/server.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 1 100); do
        grep -q serving "$work/server.log" 2>/dev/null && break
        sleep 0.1
    done
    /usr/bin/time -f '%e %M' -o "$work/time" \
        "$target/release/krkn-telemetry" collect --kubeconfig "$work/kubeconfig" \
        --timeout 900 --object-lists "$1" --output "$work/cluster.json"
    kill -INT "$server_pid"
    wait "$server_pid" || true
    server_pid=""
    local requests bytes pods
    read -r requests bytes < <(sed -n 's/^fake-kube: \([0-9]*\) requests, \([0-9]*\) bytes sent$/\1 \2/p' "$work/server.log")
    pods="$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert not d["warnings"], d["warnings"]; print(d["kubernetes_objects_count"]["Pod"])' "$work/cluster.json")"
    echo "$(cat "$work/time") $bytes $requests $pods"
}

results="$work/results"
: >"$results"
for round in $(seq 1 "$rounds"); do
    for mode in metadata full; do
        echo "bench-collector: round $round, $mode lists…" >&2
        echo "$mode $(measure "$mode")" >>"$results"
    done
done

python3 - "$results" "$rounds" <<'PY' | tee "$out/collector.md"
import statistics, sys, platform, os
rows = [line.split() for line in open(sys.argv[1])]
by = {}
for mode, secs, rss, nbytes, requests, pods in rows:
    by.setdefault(mode, []).append((float(secs), int(rss), int(nbytes), int(requests), int(pods)))
med = {m: [statistics.median(v[i] for v in runs) for i in range(5)] for m, runs in by.items()}
print(f"Collector on the synthetic large cluster, {sys.argv[2]} rounds, medians "
      f"({platform.machine()}, {os.cpu_count()} cores):\n")
print("| object lists | wall time | peak RSS | bytes received | requests | pods counted |")
print("|---|---|---|---|---|---|")
for mode in ("metadata", "full"):
    s, rss, b, r, p = med[mode]
    print(f"| {mode} | {s:.2f} s | {rss/1024:.1f} MiB | {b/1e6:.1f} MB | {int(r)} | {int(p)} |")
ratio = med["full"][2] / med["metadata"][2]
print(f"\nfull / metadata bytes: {ratio:.2f}x (target >= 5x); "
      f"metadata peak RSS {med['metadata'][1]/1024:.1f} MiB (target <= 100 MiB)")
print("\nEvery run:", "; ".join(f"{m} {s}s {int(rss)//1024}MiB {int(b)/1e6:.1f}MB" for m, s, rss, b, *_ in rows))
PY
