#!/usr/bin/env bash
# The OpenAPI checks of `make test`: fetch /openapi.json from a live standalone server, validate
# it (openapi-spec-validator), then let schemathesis fuzz every documented operation against the
# server and check that no request gets a 5xx, that every status, content type, header and body
# is one the document names, that secured routes refuse requests without credentials, and that
# created resources are available.
#
# Left out on purpose: positive_data_acceptance and negative_data_rejection. The service checks
# more than JSON Schema can say (a document's end >= start, a cursor's provenance, a 413 for
# sizes over the configured limit), and krkn's routes accept unknown query parameters as krkn-lib
# and HTTP clients expect; those two checks would report exactly that.
#
# Usage: scripts/openapi-test.sh [API_BINARY]   (default: $CARGO_TARGET_DIR or target, debug)
# Environment: OPENAPI_EXAMPLES (test cases per operation, default 25), OPENAPI_SEED (default 1).
set -euo pipefail
cd "$(dirname "$0")/.."
binary="${1:-${CARGO_TARGET_DIR:-target}/debug/krkn-telemetry-api}"
if [[ ! -x "$binary" ]]; then
    echo "openapi-test: $binary is missing; build it with: cargo build -p krkn-telemetry-api --bin krkn-telemetry-api" >&2
    exit 2
fi
python="$(scripts/python-venv.sh scripts/requirements-openapi.txt | tail -n1)"
bin="$(dirname "$python")"

port="$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
work="$(mktemp -d)"
password="openapi-$RANDOM$RANDOM"
# schemathesis's ignored_auth check sends wrong credentials to every secured operation from one
# address; past 10 the throttle answers 429 as designed (tests/api/hostile.rs holds it), which
# the check reads as a failure. Here the throttle is out of the way.
KRKN_TELEMETRY_LOGIN_FREE_FAILURES=1000000 KRKN_TELEMETRY_ADMIN_PASSWORD="$password" RUST_LOG=warn \
    "$binary" serve --listen "127.0.0.1:$port" --data-dir "$work/data" >"$work/server.log" 2>&1 &
pid=$!
cleanup() {
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
base="http://127.0.0.1:$port"
for _ in $(seq 1 100); do
    curl -fsS "$base/healthz" >/dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || { echo "openapi-test: the server exited:" >&2; cat "$work/server.log" >&2; exit 1; }
    sleep 0.1
done
# The admin is hashed after the listener is up: wait until it logs in.
for _ in $(seq 1 100); do
    [[ "$(curl -s -o /dev/null -w '%{http_code}' -u "admin:$password" "$base/api/v1/runs?limit=1")" == 200 ]] && break
    sleep 0.1
done

curl -fsS "$base/openapi.json" -o "$work/openapi.json"
"$bin/openapi-spec-validator" "$work/openapi.json"

# One real run, so that the run and file routes have something to find.
run="1745343338-96348571-0b06-459e-b654-a1bb6fd66239"
curl -fsS -u "admin:$password" -H 'Content-Type: application/json' \
    --data-binary @crates/model/tests/data/seed-sample.json \
    "$base/telemetry?request_id=$run&telemetry_group=default" >/dev/null

status=0
# From the temporary folder: schemathesis keeps a cache in its working directory.
(cd "$work" && "$bin/schemathesis" run "$work/openapi.json" --url "$base" --auth "admin:$password" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance,ignored_auth,use_after_free,ensure_resource_availability \
    --max-examples "${OPENAPI_EXAMPLES:-25}" --seed "${OPENAPI_SEED:-1}" --workers 1 \
    --generation-database none --no-color --report-dir "$work/report") >"$work/schemathesis.log" 2>&1 || status=$?
tail -n 25 "$work/schemathesis.log"
# Every 5xx the service answers is logged as "request failed" (error.rs).
server_errors="$(grep -c 'request failed' "$work/server.log" || true)"
if ((status != 0)); then
    echo "openapi-test: schemathesis failed (exit $status); its full report:" >&2
    cat "$work/schemathesis.log" >&2
    exit 1
fi
if ((server_errors > 0)); then
    echo "openapi-test: the server answered $server_errors request(s) with a 5xx:" >&2
    grep 'request failed' "$work/server.log" >&2
    exit 1
fi
echo "openapi-test: /openapi.json is valid OpenAPI $("$python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["openapi"])' "$work/openapi.json"); schemathesis: no failures ($server_errors server errors logged)"
