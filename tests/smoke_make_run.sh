#!/usr/bin/env bash
# `make run`, as the README's first command, must start the service: run it on a free loopback
# port with a temporary data directory, wait for /healthz and an admin login, stop it by PID.
set -euo pipefail
cd "$(dirname "$0")/.."
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
data="$(mktemp -d)"
log="$data/make-run.log"
make -s run LISTEN="127.0.0.1:$port" DATA_DIR="$data/data" >"$log" 2>&1 &
pid=$!
cleanup() {
    # The server is make's grandchild (make -> cargo run -> server); its port is ours alone.
    pkill -f -- "--listen 127.0.0.1:$port" 2>/dev/null || true
    pkill -P "$pid" 2>/dev/null || true
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    rm -rf "$data"
}
trap cleanup EXIT
deadline=$((SECONDS + 120))
until curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; do
    if ! kill -0 "$pid" 2>/dev/null || ((SECONDS > deadline)); then
        echo "smoke: make run did not serve /healthz; its output:" >&2
        cat "$log" >&2
        exit 1
    fi
    sleep 0.5
done
# The admin is hashed (argon2) after the listener is up, so the line can follow /healthz.
password=""
until [[ -n "$password" ]] || ((SECONDS > deadline)) || ! kill -0 "$pid" 2>/dev/null; do
    password="$(sed -n 's/^created user admin with password \([^ ]*\) .*/\1/p' "$log")"
    [[ -n "$password" ]] || sleep 0.25
done
if [[ -z "$password" ]]; then
    echo "smoke: make run did not print the first admin password; its output:" >&2
    cat "$log" >&2
    exit 1
fi
for _ in $(seq 1 40); do
    status="$(curl -s -o /dev/null -w '%{http_code}' -u "admin:$password" "http://127.0.0.1:$port/navigate")"
    [[ "$status" == 200 ]] && break
    sleep 0.25
done
if [[ "$status" != 200 ]]; then
    echo "smoke: the printed admin password did not log in (HTTP $status)" >&2
    exit 1
fi
echo "smoke: make run serves on 127.0.0.1:$port and its first admin logs in"
echo "smoke: 2 passed, 0 failed"
