#!/usr/bin/env bash
# The services the tests need, on loopback and free ports, started once and shared by every
# test: moto (S3 + DynamoDB) and Prometheus (Debian's package, with rules that keep one
# critical and one warning alert firing), and cargo-lambda (PyPI) whose Lambda Runtime API
# emulator the Lambda tests start per test. Idempotent.
#
#   scripts/test-services.sh start   # install if needed, start, write .tools/services.env
#   . .tools/services.env            # export the addresses for cargo test
#   scripts/test-services.sh stop    # stop what `start` started (by PID)
#
# Tests that need a service read its address from the environment and fail with a message
# naming this script when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
state=.tools/services
env_file=.tools/services.env
mkdir -p "$state"

log() { printf 'test-services: %s\n' "$*" >&2; }

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

alive() { [[ -f "$state/$1.pid" ]] && kill -0 "$(cat "$state/$1.pid")" 2>/dev/null; }

wait_http() { # name url seconds
    local deadline=$((SECONDS + $3))
    until curl -fsS -o /dev/null "$2" 2>/dev/null; do
        if ! alive "$1"; then
            log "$1 exited while starting; its log:"; tail -n 20 "$state/$1.log" >&2; return 1
        fi
        if ((SECONDS > deadline)); then
            log "$1 did not answer at $2 within $3 s; its log:"; tail -n 20 "$state/$1.log" >&2; return 1
        fi
        sleep 0.2
    done
}

start_moto() {
    if alive moto && [[ -f "$state/moto.url" ]]; then
        log "moto already running at $(cat "$state/moto.url")"
        return
    fi
    local python port
    python="$(scripts/python-venv.sh scripts/requirements-test.txt | tail -n1)"
    port="$(free_port)"
    "$(dirname "$python")/moto_server" -H 127.0.0.1 -p "$port" >"$state/moto.log" 2>&1 &
    echo $! >"$state/moto.pid"
    echo "http://127.0.0.1:$port" >"$state/moto.url"
    wait_http moto "http://127.0.0.1:$port/moto-api/" 60
    log "moto running at http://127.0.0.1:$port (pid $(cat "$state/moto.pid"))"
}

# Debian's prometheus package, unpacked into .tools/ rather than installed: no root needed once
# downloaded, no system service started, and `promtool` comes with it.
# moto with IAM enforced: its first three actions create the admin principal, every later
# request is authenticated and authorised (the Lambda's own policy for the function principal).
start_moto_iam() {
    if alive moto-iam && [[ -f "$state/moto-iam.env" ]]; then
        if [[ infra/template.yaml -nt "$state/moto-iam.env" ]]; then
            # Its function principal holds the policy of the template it started with.
            log "infra/template.yaml changed since the IAM-enforced moto started: restarting it"
            stop_one moto-iam
        else
            log "IAM-enforced moto already running at $(cat "$state/moto-iam.url")"
            return
        fi
    fi
    local python port
    python="$(scripts/python-venv.sh scripts/requirements-test.txt | tail -n1)"
    port="$(free_port)"
    INITIAL_NO_AUTH_ACTION_COUNT=3 "$(dirname "$python")/moto_server" -H 127.0.0.1 -p "$port" \
        >"$state/moto-iam.log" 2>&1 &
    echo $! >"$state/moto-iam.pid"
    echo "http://127.0.0.1:$port" >"$state/moto-iam.url"
    # A TCP probe, not an HTTP request, so that no free action is spent on waiting.
    "$python" - "$port" <<'PY' || { log "IAM-enforced moto did not start"; tail -n 20 "$state/moto-iam.log" >&2; return 1; }
import socket, sys, time
deadline = time.time() + 60
while True:
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2).close()
        break
    except OSError:
        if time.time() > deadline:
            sys.exit(1)
        time.sleep(0.1)
PY
    AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
        "$python" scripts/moto-iam-principals.py "http://127.0.0.1:$port" >"$state/moto-iam.env"
    log "IAM-enforced moto running at http://127.0.0.1:$port (pid $(cat "$state/moto-iam.pid")); $(grep '^# ' "$state/moto-iam.env" | cut -c3-)"
}

install_prometheus() {
    scripts/debian-tool.sh prometheus >/dev/null || return 1
    log "using $(.tools/prometheus/usr/bin/prometheus --version 2>&1 | head -n1)"
}

start_prometheus() {
    if alive prometheus && [[ -f "$state/prometheus.url" ]]; then
        log "prometheus already running at $(cat "$state/prometheus.url")"
        return
    fi
    install_prometheus
    local port dir
    port="$(free_port)"
    dir="$state/prometheus"
    rm -rf "$dir"
    mkdir -p "$dir/data"
    cat >"$dir/rules.yml" <<'RULES'
groups:
  - name: krkn-telemetry-tests
    interval: 1s
    rules:
      - alert: KrknTestCriticalAlert
        expr: vector(1)
        labels:
          severity: critical
          namespace: openshift-etcd
        annotations:
          summary: always firing, critical (the collector must report it)
      - alert: KrknTestWarningAlert
        expr: vector(1)
        labels:
          severity: warning
          namespace: default
        annotations:
          summary: always firing, not critical (the collector must leave it out)
RULES
    cat >"$dir/prometheus.yml" <<CONFIG
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $PWD/$dir/rules.yml
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ['127.0.0.1:$port']
CONFIG
    .tools/prometheus/usr/bin/prometheus \
        --config.file="$dir/prometheus.yml" \
        --storage.tsdb.path="$dir/data" \
        --web.listen-address="127.0.0.1:$port" \
        >"$state/prometheus.log" 2>&1 &
    echo $! >"$state/prometheus.pid"
    echo "http://127.0.0.1:$port" >"$state/prometheus.url"
    wait_http prometheus "http://127.0.0.1:$port/-/ready" 60
    log "prometheus running at http://127.0.0.1:$port (pid $(cat "$state/prometheus.pid"))"
}

# cargo-lambda from PyPI into the project venv: `cargo lambda watch --only-lambda-apis` is the
# Lambda Runtime API that tests/api/lambda_runtime.rs runs the Lambda binary under.
install_cargo_lambda() {
    local python
    python="$(scripts/python-venv.sh scripts/requirements-lambda.txt | tail -n1)"
    cargo_lambda="$(dirname "$python")/cargo-lambda"
    [[ -x "$cargo_lambda" ]] || { log "cargo-lambda missing after install: $cargo_lambda"; return 1; }
    log "cargo-lambda at $cargo_lambda ($("$cargo_lambda" lambda --version 2>/dev/null || echo '?'))"
}

write_env() {
    cat >"$env_file" <<ENV
# Written by scripts/test-services.sh; source it before cargo test.
export KRKN_TEST_MOTO_URL=$(cat "$state/moto.url")
export KRKN_TEST_PROMETHEUS_URL=$(cat "$state/prometheus.url")
export KRKN_TEST_PROMETHEUS_DATA=$PWD/$state/prometheus/data
export KRKN_TEST_PROMTOOL=$PWD/.tools/prometheus/usr/bin/promtool
export KRKN_TEST_PROMETHEUS_BIN=$PWD/.tools/prometheus/usr/bin/prometheus
export KRKN_TEST_CARGO_LAMBDA=$cargo_lambda
export AWS_ACCESS_KEY_ID=testing
export AWS_SECRET_ACCESS_KEY=testing
export AWS_REGION=us-east-1
export AWS_DEFAULT_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true
ENV
    grep '^export' "$state/moto-iam.env" >>"$env_file"
}

stop_one() {
    if alive "$1"; then
        kill "$(cat "$state/$1.pid")" 2>/dev/null || true
        log "stopped $1"
    fi
    rm -f "$state/$1.pid" "$state/$1.url"
}

case "${1:-}" in
    start) start_moto; start_moto_iam; start_prometheus; install_cargo_lambda; write_env ;;
    stop) stop_one moto; stop_one moto-iam; stop_one prometheus; rm -f "$env_file" "$state/moto-iam.env" ;;
    *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
