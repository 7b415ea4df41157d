#!/usr/bin/env bash
# Log filter benchmark (issue #5): a generated 1 GiB must-gather-like tree (bodies from the real
# must-gather in shared/fixtures, krkn's three default patterns, a 6-hour window out of 48 hours)
# filtered by
#   - ours:     krkn-telemetry logs --must-gather-dir DIR --start --end --output-dir OUT (release)
#   - krkn-lib: krkn_lib.utils.filter_log_file_worker in 5 threads, as krkn runs it (PyPI 7.0.3)
#   - ripgrep:  rg -c with the same three patterns anchored at the line start (Debian package),
#               the ceiling: it only counts matching lines, it reads no times and writes nothing.
# Ours and krkn-lib must write byte-identical files (checked). The tree is read once before the
# runs so that every tool reads from the page cache. Wall time and peak RSS from GNU time.
# Environment: ROUNDS (ours and rg, default 3), KRKN_LIB_ROUNDS (default 1: it takes minutes),
# BENCH_DATA (default ~/.cache/krkn-telemetry/bench). Writes bench/out/logs.md.
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench/out
mkdir -p "$out"
target="${CARGO_TARGET_DIR:-target}"
rounds="${ROUNDS:-3}"
py_rounds="${KRKN_LIB_ROUNDS:-1}"
data="${BENCH_DATA:-$HOME/.cache/krkn-telemetry/bench}"
size=$((1 << 30))
tree="$data/must-gather-1g"
fixture=../shared/fixtures/must-gather
[[ -d "$fixture" ]] || { echo "bench-logs: $fixture is missing (shared/ must sit beside the repo)" >&2; exit 2; }
command -v /usr/bin/time >/dev/null || { echo "bench-logs: needs GNU time (apt-get install time)" >&2; exit 2; }

echo "bench-logs: release build…" >&2
cargo build --locked --release -p krkn-telemetry-collector >&2
rg="$(scripts/debian-tool.sh ripgrep | tail -n1)/usr/bin/rg"
python="$(scripts/python-venv.sh bench/python/requirements.txt | tail -n1)"

# The generator and its input decide the tree; regenerate when either changed.
stamp="$(cat bench/python/gen_must_gather.py "$fixture"/*/*/timestamp | sha256sum | cut -c1-16)-$size"
if [[ ! -f "$tree/.complete-$stamp" ]]; then
    echo "bench-logs: generating a $((size >> 20)) MiB must-gather tree in $tree…" >&2
    rm -rf "$tree"
    python3 bench/python/gen_must_gather.py "$fixture" "$tree" "$size"
    touch "$tree/.complete-$stamp"
fi
gather="$(echo "$tree"/must-gather.local.1/*/)"
gather="${gather%/}"
bytes="$(find "$tree" -name '*.log' -printf '%s\n' | awk '{s += $1} END {print s}')"
year="$(date -u +%Y)"
start="$(date -u -d "$year-01-10T20:00:00Z" +%s)"
end=$((start + 6 * 3600))
find "$tree" -type f -exec cat {} + >/dev/null

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
results="$work/results"
: >"$results"
timed() { # label command...
    local label="$1"
    shift
    /usr/bin/time -f '%e %M' -o "$work/time" "$@"
    echo "$label $(cat "$work/time")" >>"$results"
}

for round in $(seq 1 "$rounds"); do
    echo "bench-logs: round $round: ours, ripgrep…" >&2
    rm -rf "$work/ours"
    timed ours "$target/release/krkn-telemetry" logs --must-gather-dir "$tree" \
        --start "$start" --end "$end" --output-dir "$work/ours" 2>"$work/ours.log"
    timed rg sh -c '"$0" -c -e "$1" -e "$2" -e "$3" "$4" >"$5"' "$rg" \
        '^(?:\w{3}\s\d{1,2}\s\d{2}:\d{2}:\d{2}\.\d+).+' \
        '^(?:kinit (\d+/\d+/\d+\s\d{2}:\d{2}:\d{2})\s+)' \
        '^(?:\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d+Z).+' "$tree" "$work/rg.counts"
done
for round in $(seq 1 "$py_rounds"); do
    echo "bench-logs: round $round: krkn-lib (minutes)…" >&2
    rm -rf "$work/krkn-lib"
    timed krkn-lib "$python" bench/python/krkn_lib_filter_bench.py "$gather" "$work/krkn-lib" \
        "$start" "$end" 5 >/dev/null
done

if ! diff -r "$work/krkn-lib" "$work/ours" >"$work/diff"; then
    echo "bench-logs: our filtered files differ from krkn-lib's:" >&2
    head -n 20 "$work/diff" >&2
    exit 1
fi
kept_files="$(find "$work/ours" -type f | wc -l)"
kept_bytes="$(du -sb "$work/ours" | cut -f1)"
rg_lines="$(awk -F: '{s += $NF} END {print s}' "$work/rg.counts")"
# "krkn-telemetry: N of M lines kept from K logs; …" without the temporary folder's name.
summary="$(tail -n1 "$work/ours.log" | sed 's/^krkn-telemetry: //; s/; [0-9]* files in .*$//')"

python3 - "$results" "$bytes" "$kept_files" "$kept_bytes" "$rg_lines" "$summary" "$rounds" "$py_rounds" <<'PY' | tee "$out/logs.md"
import os, platform, statistics, sys
results, nbytes, kept_files, kept_bytes, rg_lines, summary, rounds, py_rounds = sys.argv[1:9]
nbytes = int(nbytes)
runs = {}
for line in open(results):
    label, secs, rss = line.split()
    runs.setdefault(label, []).append((float(secs), int(rss)))
med = {k: (statistics.median(s for s, _ in v), max(r for _, r in v)) for k, v in runs.items()}
mbs = {k: nbytes / s / 1e6 for k, (s, _) in med.items()}
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.machine())
print(f"Machine: {cpu}, {os.cpu_count()} cores. Input: {nbytes/2**30:.2f} GiB in .log files; "
      f"ours and rg {rounds} rounds, krkn-lib {py_rounds}; medians (peak RSS: the largest).\n")
print("| filter | wall time | throughput | peak RSS | ours is |")
print("|---|---|---|---|---|")
names = {"ours": "ours (`krkn-telemetry logs`)", "krkn-lib": "krkn-lib `filter_log_file_worker` × 5 threads",
         "rg": "ripgrep `rg -c` (count only)"}
for k in ("ours", "krkn-lib", "rg"):
    s, rss = med[k]
    ratio = "" if k == "ours" else f"{mbs['ours']/mbs[k]:.2f}× its throughput"
    print(f"| {names[k]} | {s:.2f} s | {mbs[k]:.1f} MB/s | {rss/1024:.1f} MiB | {ratio} |")
vs_py, vs_rg = mbs["ours"] / mbs["krkn-lib"], mbs["ours"] / mbs["rg"]
print(f"\nTargets: ≥ 50× krkn-lib: {vs_py:.0f}× ({'met' if vs_py >= 50 else 'MISSED'}); "
      f"≥ 0.3× ripgrep: {vs_rg:.2f}× ({'met' if vs_rg >= 0.3 else 'MISSED'}).")
print(f"\nSame output: ours and krkn-lib wrote the same {kept_files} files, {int(kept_bytes)/1e6:.1f} MB, "
      f"byte for byte ({summary}); rg counted {int(rg_lines):,} lines "
      f"that match a pattern, times unread.")
print("\nEvery run:", "; ".join(f"{k} {s:.2f}s {r//1024}MiB" for k, v in runs.items() for s, r in v))
PY
