#!/usr/bin/env bash
# Runs tests/krkn_lib_e2e.py (an unmodified krkn-lib uploading telemetry, critical
# alerts and prometheus parts) against a freshly started krkn-telemetry-api.
#
# Usage: tests/run_krkn_lib_e2e.sh [SERVER_BINARY]   (default target/debug/krkn-telemetry-api)
#
# Creates a temporary data dir and an uploader user, serves on a free 127.0.0.1 port,
# waits for /healthz, runs the script with the project venv, and always stops the
# server it started and removes the temporary dir. Exits with the script's status.
set -euo pipefail

cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.."

BIN="${1:-target/debug/krkn-telemetry-api}"
if [[ ! -x "$BIN" ]]; then
    echo "run_krkn_lib_e2e: server binary not found or not executable: $BIN (build it first)" >&2
    exit 2
fi

TMP="$(mktemp -d "${TMPDIR:-/tmp}/krkn-lib-e2e.XXXXXX")"
SERVER_PID=""
cleanup() {
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf -- "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

PY="$(scripts/python-venv.sh bench/python/requirements.txt | tail -n 1)"
if [[ ! -x "$PY" ]]; then
    echo "run_krkn_lib_e2e: scripts/python-venv.sh gave no python ($PY)" >&2
    exit 2
fi

DATA="$TMP/data"
mkdir -p -- "$DATA"
USER_NAME=krkn
USER_PASSWORD="$("$PY" -c 'import secrets; print(secrets.token_urlsafe(18))')"
ADMIN_PASSWORD="$("$PY" -c 'import secrets; print(secrets.token_urlsafe(18))')"
PORT="$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
API_URL="http://127.0.0.1:$PORT"

# --data-dir belongs to `user`, not to `user add` (clap rejects it after `add`).
printf '%s' "$USER_PASSWORD" | "$BIN" user --data-dir "$DATA" add "$USER_NAME" --role uploader --groups '*'

SERVER_LOG="$TMP/server.log"
KRKN_TELEMETRY_ADMIN_PASSWORD="$ADMIN_PASSWORD" RUST_LOG="${RUST_LOG:-info}" \
    "$BIN" serve --listen "127.0.0.1:$PORT" --data-dir "$DATA" >"$SERVER_LOG" 2>&1 &
SERVER_PID=$!

show_server_log() {
    echo "---- server log ($SERVER_LOG) ----" >&2
    tail -n 50 -- "$SERVER_LOG" >&2 || true
    echo "---- end of server log ----" >&2
}

# Wait (at most 20 s) for GET /healthz to answer 200.
ready=0
deadline=$((SECONDS + 20))
while ((SECONDS < deadline)); do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        echo "run_krkn_lib_e2e: the server exited before answering /healthz" >&2
        show_server_log
        exit 1
    fi
    if "$PY" - "$API_URL/healthz" <<'EOF' 2>/dev/null; then
import sys, urllib.request
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
sys.exit(0 if opener.open(sys.argv[1], timeout=1).status == 200 else 1)
EOF
        ready=1
        break
    fi
    sleep 0.25
done
if [[ "$ready" != 1 ]]; then
    echo "run_krkn_lib_e2e: $API_URL/healthz did not answer 200 within 20 s" >&2
    show_server_log
    exit 1
fi
echo "run_krkn_lib_e2e: server pid $SERVER_PID ready at $API_URL (data dir $DATA)"

status=0
"$PY" tests/krkn_lib_e2e.py --api-url "$API_URL" --username "$USER_NAME" \
    --password "$USER_PASSWORD" --data-dir "$DATA" || status=$?
if [[ "$status" != 0 ]]; then
    show_server_log
fi
exit "$status"
