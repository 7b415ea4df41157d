#!/usr/bin/env bash
# Prometheus backup benchmark (issue #5): a generated 2 GiB Prometheus data folder (WAL
# segments, head chunks, one compacted block; random bytes, so nothing compresses) copied into
# moto two ways, in the same run:
#   - ours: krkn-telemetry prometheus-backup --config … --request-id … (release), the folder
#     served as /prometheus of openshift-monitoring/prometheus-k8s-0 by fake-kube's pods/exec,
#     parts uploaded through our API (release, --store aws) to moto; krkn's defaults for part
#     size (archive_size 500000 KB) and threads (backup_threads 5);
#   - the pipe: tar cf - DIR | curl -T - <presigned URL from the same API>, one object.
# Every upload is checked in moto (object sizes add up to the tar stream) and deleted after.
# MB/s is the folder's bytes over wall time; peak RSS is the collector's alone (GNU time).
# Environment: ROUNDS (default 3), BENCH_DATA (default ~/.cache/krkn-telemetry/bench),
# PROFILE_WITH (a command put before ours, e.g. "perf record -g -o /tmp/backup.perf").
# Needs moto: started here with scripts/test-services.sh when not running. Writes
# bench/out/backup.md.
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench/out
mkdir -p "$out"
target="${CARGO_TARGET_DIR:-target}"
rounds="${ROUNDS:-3}"
data="${BENCH_DATA:-$HOME/.cache/krkn-telemetry/bench}"
size_mib=2048
tsdb="$data/prometheus-2g"
fixture=../shared/fixtures/clusters/ocp-4.4
[[ -d "$fixture" ]] || { echo "bench-backup: $fixture is missing (shared/ must sit beside the repo)" >&2; exit 2; }
for tool in /usr/bin/time curl tar; do
    command -v "$tool" >/dev/null || { echo "bench-backup: needs $tool" >&2; exit 2; }
done

echo "bench-backup: release build…" >&2
cargo build --locked --release -p krkn-telemetry-collector -p krkn-telemetry-fake-kube >&2
cargo build --locked --release -p krkn-telemetry-api --bin krkn-telemetry-api >&2
scripts/test-services.sh start >&2
# shellcheck disable=SC1091
. .tools/services.env
python="$(scripts/python-venv.sh scripts/requirements-test.txt | tail -n1)"

if [[ ! -f "$tsdb/.complete-$size_mib" ]]; then
    echo "bench-backup: generating a $size_mib MiB Prometheus data folder in $tsdb…" >&2
    rm -rf "$tsdb"
    block="$tsdb/01HBENCH0000000000000000AA"
    mkdir -p "$tsdb/wal" "$tsdb/chunks_head" "$block/chunks"
    for i in 0 1 2 3; do head -c $((128 << 20)) /dev/urandom >"$tsdb/wal/0000000$i"; done
    for i in 1 2 3; do head -c $((128 << 20)) /dev/urandom >"$tsdb/chunks_head/00000$i"; done
    head -c $((512 << 20)) /dev/urandom >"$block/chunks/000001"
    head -c $((490 << 20)) /dev/urandom >"$block/chunks/000002"
    head -c $((150 << 20)) /dev/urandom >"$block/index"
    head -c $((2 << 20)) /dev/urandom >"$tsdb/queries.active"
    echo '{"ulid":"01HBENCH0000000000000000AA","minTime":0,"maxTime":7200000,"version":1}' >"$block/meta.json"
    printf '\0\0\0\0' >"$block/tombstones"
    touch "$tsdb/lock" "$tsdb/.complete-$size_mib"
fi
bytes="$(du -sb --exclude=".complete-*" "$tsdb" | cut -f1)"

work="$(mktemp -d)"
api_pid="" kube_pid=""
cleanup() {
    for pid in $api_pid $kube_pid; do kill -INT "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; done
    rm -rf "$work"
}
trap cleanup EXIT

# Our API on moto, with an uploader.
export BUCKET_NAME="bench-backup-$$" TABLE_NAME="bench-backup-$$" AWS_ENDPOINT_URL="$KRKN_TEST_MOTO_URL"
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
api="$target/release/krkn-telemetry-api"
"$api" init --store aws >&2
echo bench-password | "$api" user add bench --role uploader --store aws >&2
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
KRKN_TELEMETRY_ADMIN_PASSWORD=bench-admin "$api" serve --store aws --listen "127.0.0.1:$port" \
    >"$work/api.log" 2>&1 &
api_pid=$!
api_url="http://127.0.0.1:$port"
for _ in $(seq 1 100); do curl -sf "$api_url/health" >/dev/null 2>&1 && break; sleep 0.1; done

"$target/release/fake-kube" --fixture "$fixture" --https --kubeconfig "$work/kubeconfig" \
    --exec-mount "openshift-monitoring/prometheus-k8s-0/prometheus:/prometheus=$tsdb" \
    >"$work/kube.log" 2>&1 &
kube_pid=$!
for _ in $(seq 1 100); do grep -q serving "$work/kube.log" 2>/dev/null && break; sleep 0.1; done

cat >"$work/config.yaml" <<YAML
kraken:
  distribution: openshift
  kubeconfig_path: $work/kubeconfig
telemetry:
  enabled: true
  api_url: $api_url
  username: bench
  password: bench-password
  prometheus_backup: true
  full_prometheus_backup: true
  backup_threads: 5
  archive_size: 500000
  archive_path: $work/archive
  max_retries: 0
YAML

# Object sizes under a run folder, then deletes them (moto keeps objects in memory).
stored_and_delete() { # prefix
    "$python" - "$KRKN_TEST_MOTO_URL" "$BUCKET_NAME" "$1" <<'PY'
import sys, boto3
endpoint, bucket, prefix = sys.argv[1:4]
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                  aws_access_key_id="testing", aws_secret_access_key="testing")
objects = s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
tar_bytes = sum(o["Size"] for o in objects if o["Key"].endswith(".tar"))
print(f"{len(objects)} {tar_bytes}")
for o in objects:
    s3.delete_object(Bucket=bucket, Key=o["Key"])
PY
}

tar_bytes="$(tar cf - -C "$tsdb" --exclude='.complete-*' . | wc -c)"
results="$work/results"
: >"$results"
for round in $(seq 1 "$rounds"); do
    echo "bench-backup: round $round: ours…" >&2
    id="ours-$round"
    rm -rf "$work/archive"
    /usr/bin/time -f '%e %M' -o "$work/time" ${PROFILE_WITH:-} "$target/release/krkn-telemetry" prometheus-backup \
        --config "$work/config.yaml" --request-id "$id" --kubeconfig "$work/kubeconfig" \
        >"$work/ours.log" 2>&1 || { cat "$work/ours.log" >&2; exit 1; }
    read -r objects stored < <(stored_and_delete "default/$id/")
    echo "ours $(cat "$work/time") $objects $stored" >>"$results"

    echo "bench-backup: round $round: tar | curl…" >&2
    id="pipe-$round"
    url="$(curl -sf -u bench:bench-password \
        "$api_url/presigned-url?request_id=default/$id&remote_filename=prometheus-00.tar")"
    /usr/bin/time -f '%e %M' -o "$work/time" sh -c \
        'tar cf - -C "$1" --exclude=".complete-*" . | curl -sSf -T - "$2" >/dev/null' sh "$tsdb" "$url"
    read -r objects stored < <(stored_and_delete "default/$id/")
    echo "pipe $(cat "$work/time") $objects $stored" >>"$results"
done

python3 - "$results" "$bytes" "$tar_bytes" "$rounds" <<'PY' | tee "$out/backup.md"
import os, platform, statistics, sys
results, nbytes, tar_bytes, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
runs = {}
for line in open(results):
    label, secs, rss, objects, stored = line.split()
    runs.setdefault(label, []).append((float(secs), int(rss), int(objects), int(stored)))
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.machine())
print(f"Machine: {cpu}, {os.cpu_count()} cores. Source: {nbytes/2**30:.2f} GiB folder, tar stream "
      f"{tar_bytes/1e6:.1f} MB; {rounds} rounds, medians (peak RSS: the largest).\n")
print("| copy | wall time | throughput | peak RSS | objects in moto | tar bytes stored |")
print("|---|---|---|---|---|---|")
names = {"ours": "ours (`krkn-telemetry prometheus-backup`, 500 MB parts, 5 threads)",
         "pipe": "`tar cf - DIR \\| curl -T - <presigned URL>`"}
med = {}
for k in ("ours", "pipe"):
    v = runs[k]
    s = statistics.median(x[0] for x in v)
    rss = max(x[1] for x in v)
    med[k] = (s, rss)
    stored = {x[3] for x in v}
    ok = "all = tar stream" if stored == {tar_bytes} else f"MISMATCH {sorted(stored)}"
    print(f"| {names[k]} | {s:.2f} s | {nbytes/s/1e6:.1f} MB/s | {rss/1024:.1f} MiB "
          f"({'collector' if k == 'ours' else 'tar + curl + sh, largest'}) | {v[0][2]} | {ok} |")
ratio = med["pipe"][0] / med["ours"][0]
print(f"\nTargets: ≥ 0.8× the pipe: {ratio:.2f}× ({'met' if ratio >= 0.8 else 'MISSED'}); "
      f"peak RSS ≤ 64 MiB: {med['ours'][1]/1024:.1f} MiB ({'met' if med['ours'][1] <= 64 * 1024 else 'MISSED'}).")
print("\nEvery run:", "; ".join(f"{k} {s:.2f}s {r//1024}MiB" for k, v in runs.items() for s, r, *_ in v))
PY
