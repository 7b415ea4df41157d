#!/usr/bin/env bash
# Real-browser tests of the web console (tests/browser/console.test.mjs): Debian's chromium
# driven by playwright-core, against a freshly started krkn-telemetry-api.
#
# Usage: scripts/browser-test.sh [API_BINARY]   (default ${CARGO_TARGET_DIR:-target}/debug/krkn-telemetry-api)
#
# Installs what is missing (Debian's chromium when /usr/bin/chromium is absent, as root;
# tests/browser/node_modules from the committed package-lock.json with `npm ci`), serves on a
# free 127.0.0.1 port from a temporary data dir with an admin, a reader and an uploader, waits
# for /healthz and runs `node --test tests/browser/console.test.mjs` (which seeds the runs over
# HTTP as krkn does). Always stops the server it started and removes the temporary dir. Exits
# with the tests' status. Screenshots of every step go to $KRKN_BROWSER_SCREENSHOTS (default
# test-output/browser/). Set KRKN_TELEMETRY_CONSOLE_DIR="$PWD/crates/api/console" to test
# edited console files without rebuilding the binary.
set -euo pipefail

cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"
log() { echo "browser-test: $*" >&2; }
die() { log "$*"; exit 2; }
started=$SECONDS

BIN="${1:-${CARGO_TARGET_DIR:-target}/debug/krkn-telemetry-api}"
[[ -x "$BIN" ]] || die "server binary not found or not executable: $BIN (build it: cargo build -p krkn-telemetry-api --bin krkn-telemetry-api)"

# Node.js 20 or newer runs the tests (node:test, fetch).
command -v node >/dev/null && command -v npm >/dev/null \
    || die "node and npm are needed: apt-get install -y nodejs npm (Node.js 20 or newer)"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
((node_major >= 20)) || die "Node.js $(node --version) is too old: the tests need 20 or newer"

# The browser: Debian's chromium (playwright-core downloads none).
CHROMIUM="${KRKN_BROWSER_CHROMIUM:-/usr/bin/chromium}"
if [[ ! -x "$CHROMIUM" ]]; then
    [[ "$CHROMIUM" == /usr/bin/chromium ]] || die "no browser at KRKN_BROWSER_CHROMIUM=$CHROMIUM"
    [[ "$(id -u)" == 0 ]] || die "/usr/bin/chromium is missing; install it as root: apt-get update && apt-get install -y chromium"
    log "installing Debian's chromium"
    apt-get update -qq >/dev/null || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null || die "apt-get install chromium failed"
fi

# playwright-core, exactly as package-lock.json pins it; reinstalled when the lock changes.
lock_sum="$(sha256sum tests/browser/package-lock.json | cut -d' ' -f1)"
stamp=tests/browser/node_modules/.krkn-lock-sha256
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$lock_sum" || ! -d tests/browser/node_modules/playwright-core ]]; then
    log "npm ci in tests/browser"
    (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error >&2) || die "npm ci failed in tests/browser"
    echo "$lock_sum" >"$stamp"
fi

TMP="$(mktemp -d "${TMPDIR:-/tmp}/krkn-browser-test.XXXXXX")"
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

secret() { node -e 'process.stdout.write(require("node:crypto").randomBytes(18).toString("base64url"))'; }
ADMIN_PASSWORD="$(secret)"
READER_PASSWORD="$(secret)"
UPLOADER_PASSWORD="$(secret)"
PORT="$(node -e 'const s = require("node:net").createServer().listen(0, "127.0.0.1", () => { process.stdout.write(String(s.address().port)); s.close(); })')"
BASE_URL="http://127.0.0.1:$PORT/"
DATA="$TMP/data"
mkdir -p -- "$DATA"

# --data-dir belongs to `user`, not to `user add`.
printf '%s' "$READER_PASSWORD" | "$BIN" user --data-dir "$DATA" add reader1 --role reader --groups '*' >/dev/null
printf '%s' "$UPLOADER_PASSWORD" | "$BIN" user --data-dir "$DATA" add uploader1 --role uploader --groups '*' >/dev/null

SERVER_LOG="$TMP/server.log"
KRKN_TELEMETRY_ADMIN_PASSWORD="$ADMIN_PASSWORD" RUST_LOG="${RUST_LOG:-warn}" \
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
        log "the server exited before answering /healthz"
        show_server_log
        exit 1
    fi
    if node -e 'fetch(process.argv[1]).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))' \
        "${BASE_URL}healthz" 2>/dev/null; then
        ready=1
        break
    fi
    sleep 0.25
done
if [[ "$ready" != 1 ]]; then
    log "${BASE_URL}healthz did not answer 200 within 20 s"
    show_server_log
    exit 1
fi
log "server pid $SERVER_PID ready at $BASE_URL"

status=0
KRKN_BROWSER_BASE_URL="$BASE_URL" \
    KRKN_BROWSER_ADMIN="admin:$ADMIN_PASSWORD" \
    KRKN_BROWSER_READER="reader1:$READER_PASSWORD" \
    KRKN_BROWSER_UPLOADER="uploader1:$UPLOADER_PASSWORD" \
    KRKN_BROWSER_SCREENSHOTS="${KRKN_BROWSER_SCREENSHOTS:-$ROOT/test-output/browser}" \
    KRKN_BROWSER_CHROMIUM="$CHROMIUM" \
    node --test tests/browser/console.test.mjs || status=$?
if [[ "$status" != 0 ]]; then
    show_server_log
fi
log "done in $((SECONDS - started)) s (screenshots in ${KRKN_BROWSER_SCREENSHOTS:-test-output/browser}/)"
exit "$status"
