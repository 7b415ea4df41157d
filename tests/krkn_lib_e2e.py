#!/usr/bin/env python3
"""End-to-end check: an UNMODIFIED krkn-lib uploads to krkn-telemetry-api.

Usage (with the project venv, see scripts/python-venv.sh):

    krkn_lib_e2e.py --api-url http://127.0.0.1:PORT --username U --password P \
                    --data-dir DIR

DIR is the running server's data directory; stored objects are read back from
DIR/objects/<group>/<request_id>/<file>.

Every upload goes through krkn-lib's own code, called the way krkn's
run_kraken.py calls it:

  * KrknTelemetryKubernetes.send_telemetry(config, request_id, telemetry)
      -> POST {api_url}/telemetry?request_id=..&telemetry_group=..
  * KrknTelemetryKubernetes.put_critical_alerts(request_id, config, summary)
      -> GET {api_url}/presigned-url, then requests.put(<link>) of
         critical-alerts-00.log
  * KrknTelemetryKubernetes.get_prometheus_pod_data(...) followed by
    put_prometheus_data(config, archive_volumes, request_id)
      -> for each part: GET /presigned-url, then requests.put(<link>) of
         prometheus-NN.tar (base64 .tar.b64 parts decoded by krkn-lib first)

Only the Kubernetes side is faked (there is no cluster): the KrknKubernetes
object handed to the constructor is a MagicMock(spec=KrknKubernetes); its
get_pod_info returns a dummy pod and its archive_and_get_path_from_pod writes
the "<request_id>-NN.tar.b64" files that the real method would have streamed
out of the Prometheus pod with `base64`. krkn-lib's HTTP code is untouched.

Two passive observers are installed, neither changes behaviour:
  * a wrapper around requests.adapters.HTTPAdapter.send records each exchange
    (method, URL, headers, body size, status, response body head);
  * a sys.audit hook refuses any socket connection or name lookup to a host
    other than 127.0.0.1 / localhost / ::1, so krkn-lib cannot reach anything
    but our server.

Exit status: 0 when every check passed, 1 otherwise (each failure printed as
"FAIL: ..."), 2 on usage errors.
"""

from __future__ import annotations

import argparse
import base64
import copy
import hashlib
import json
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from unittest.mock import MagicMock
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parent.parent
SEED = REPO / "crates" / "model" / "tests" / "data" / "seed-sample.json"
GROUP = "default"  # krkn-lib's default_telemetry_group (telemetry_group: '')
PART_SIZES = [300 * 1024, 256 * 1024 + 17, 123_457]  # bytes of prometheus-00..02

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}

# --------------------------------------------------------------------------
# Passive observers
# --------------------------------------------------------------------------

network_violations: list[str] = []


def _audit(event: str, args: tuple) -> None:
    if event == "socket.connect":
        addr = args[1]
        if isinstance(addr, tuple) and addr and isinstance(addr[0], str):
            if addr[0] not in LOCAL_HOSTS:
                network_violations.append(f"connect to {addr!r}")
                raise PermissionError(f"e2e: non-local connect refused: {addr!r}")
    elif event == "socket.getaddrinfo":
        host = args[0]
        if isinstance(host, bytes):
            host = host.decode("ascii", "replace")
        if host is not None and host not in LOCAL_HOSTS:
            network_violations.append(f"name lookup of {host!r}")
            raise PermissionError(f"e2e: non-local name lookup refused: {host!r}")


exchanges: list[dict] = []
_exchanges_lock = threading.Lock()


def _install_http_trace() -> None:
    import requests.adapters
    from requests.structures import CaseInsensitiveDict

    original_send = requests.adapters.HTTPAdapter.send

    def traced_send(self, request, *args, **kwargs):
        headers = dict(request.headers)
        if "Authorization" in headers:
            auth = headers["Authorization"]
            user = "?"
            if auth.startswith("Basic "):
                try:
                    user = base64.b64decode(auth[6:]).decode().split(":", 1)[0]
                except Exception:  # noqa: BLE001 - only for display
                    pass
            headers["Authorization"] = f"Basic <{user}:redacted>"
        body = request.body
        if body is None:
            body_size = 0
        elif isinstance(body, (bytes, str)):
            body_size = len(body)
        else:  # a file object streamed by requests: Content-Length says it
            body_size = int(headers.get("Content-Length", -1))
        entry = {
            "thread": threading.current_thread().name,
            "method": request.method,
            "url": request.url,
            "headers": headers,
            "body_size": body_size,
            "timeout": kwargs.get("timeout", args[1] if len(args) > 1 else None),
        }
        try:
            response = original_send(self, request, *args, **kwargs)
        except Exception as e:
            entry["error"] = f"{type(e).__name__}: {e}"
            with _exchanges_lock:
                exchanges.append(entry)
            raise
        entry["status"] = response.status_code
        entry["response_headers"] = CaseInsensitiveDict(response.headers)
        entry["response_head"] = response.content[:300]
        with _exchanges_lock:
            exchanges.append(entry)
        return response

    requests.adapters.HTTPAdapter.send = traced_send


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


thread_exceptions: list[str] = []


def _thread_excepthook(args) -> None:
    thread_exceptions.append(
        f"{args.thread.name if args.thread else '?'}: "
        f"{args.exc_type.__name__}: {args.exc_value}"
    )


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


class Checks:
    def __init__(self) -> None:
        self.failures: list[str] = []
        self.passed: list[str] = []
        self.notes: list[str] = []

    def ok(self, cond: bool, what: str, detail: str = "") -> bool:
        if cond:
            self.passed.append(what)
            print(f"ok: {what}", flush=True)
        else:
            msg = what + (f" ({detail})" if detail else "")
            self.failures.append(msg)
            print(f"FAIL: {msg}", flush=True)
        return cond

    def note(self, text: str) -> None:
        self.notes.append(text)
        print(f"note: {text}", flush=True)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def describe(entry: dict) -> str:
    u = urlsplit(entry["url"])
    hdrs = ", ".join(f"{k}: {v}" for k, v in entry["headers"].items())
    line = (
        f"{entry['method']} {u.path}{'?' + u.query if u.query else ''}"
        f" [{hdrs}] body={entry['body_size']}B timeout={entry['timeout']}"
    )
    if "error" in entry:
        return line + f" -> ERROR {entry['error']}"
    rh = entry["response_headers"]
    shown = [f"Content-Type: {rh.get('Content-Type', '-')}"]
    if "WWW-Authenticate" in rh:
        shown.append(f"WWW-Authenticate: {rh['WWW-Authenticate']}")
    return line + f" -> {entry['status']} [{', '.join(shown)}] {entry['response_head']!r}"


def load_seed_telemetry(ChaosRunTelemetry):
    doc = json.loads(SEED.read_text())
    if "telemetry" in doc and "scenarios" not in doc:  # krkn output file form
        doc = doc["telemetry"]
    return doc, ChaosRunTelemetry(copy.deepcopy(doc))


# --------------------------------------------------------------------------
# The test
# --------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--api-url", required=True)
    ap.add_argument("--username", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--data-dir", required=True, type=Path)
    ap.add_argument("--quiet", action="store_true", help="do not print the HTTP trace")
    opts = ap.parse_args()

    api = urlsplit(opts.api_url)
    if api.hostname not in LOCAL_HOSTS:
        print(f"FAIL: --api-url must point at 127.0.0.1/localhost, got {opts.api_url}")
        return 2
    api_url = opts.api_url.rstrip("/")
    objects = opts.data_dir / "objects"

    # requests honours *_PROXY variables; make sure our local server is reached directly.
    for var in ("NO_PROXY", "no_proxy"):
        cur = os.environ.get(var, "")
        os.environ[var] = ",".join(x for x in (cur, "127.0.0.1,localhost,::1") if x)

    collected = _Collect()
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr,
        format="krkn-lib %(levelname)s %(threadName)s: %(message)s",
    )
    logging.getLogger().addHandler(collected)
    threading.excepthook = _thread_excepthook

    # Import krkn-lib before the audit hook goes in (imports do no network I/O,
    # but keep the hook about krkn-lib's behaviour at run time).
    import importlib.metadata

    from krkn_lib.k8s import KrknKubernetes
    from krkn_lib.models.krkn import ChaosRunAlert, ChaosRunAlertSummary
    from krkn_lib.models.telemetry import ChaosRunTelemetry
    from krkn_lib.telemetry.k8s import KrknTelemetryKubernetes
    from krkn_lib.utils import SafeLogger

    krkn_lib_version = importlib.metadata.version("krkn-lib")
    _install_http_trace()
    sys.addaudithook(_audit)

    checks = Checks()
    work = Path(tempfile.mkdtemp(prefix="krkn-lib-e2e-"))
    try:
        # ---- run identity, the way run_kraken.py builds it --------------------
        run_uuid = str(uuid.uuid4())
        request_id = f"{int(time.time())}-{run_uuid}"
        archive_path = work / "archive"
        archive_path.mkdir()

        # The telemetry section of krkn's config.yaml (config/config.yaml
        # defaults), pointed at our server. max_retries: krkn's default 0
        # means "retry forever"; 2 keeps a broken server from hanging us.
        telemetry_config = {
            "enabled": True,
            "api_url": api_url,
            "username": opts.username,
            "password": opts.password,
            "prometheus_backup": True,
            "prometheus_namespace": "monitoring",
            "prometheus_container_name": "prometheus",
            "prometheus_pod_name": "prometheus-k8s-0",
            "full_prometheus_backup": False,
            "backup_threads": 3,
            "archive_path": str(archive_path),
            "max_retries": 2,
            "run_tag": "",
            "archive_size": 500000,
            "telemetry_group": "",
            "logs_backup": False,
            "logs_filter_patterns": [],
            "oc_cli_path": "/usr/bin/oc",
            "events_backup": True,
        }

        # ---- the Kubernetes side is a mock: no cluster exists here -----------
        part_bytes = [os.urandom(n) for n in PART_SIZES]
        part_sha = [sha256(b) for b in part_bytes]

        def fake_archive_and_get_path_from_pod(
            pod_name, container_name, namespace, remote_archive_path,
            target_path, archive_files_prefix, download_path,
            max_threads=None, archive_part_size=None, safe_logger=None,
        ):
            # What the real method leaves behind: base64 dumps of the split
            # tar parts, named "<prefix>-NN.tar.b64" (krkn_kubernetes.py).
            files = []
            for i, data in enumerate(part_bytes):
                name = f"{download_path}/{archive_files_prefix}-{i:02d}.tar.b64"
                with open(name, "wb") as f:
                    f.write(base64.encodebytes(data))  # 76-char lines, like `base64`
                files.append((i, name))
            return files

        kubecli = MagicMock(spec=KrknKubernetes, name="KrknKubernetes(no cluster)")
        kubecli.get_pod_info.return_value = MagicMock(name="prometheus pod")
        kubecli.archive_and_get_path_from_pod.side_effect = fake_archive_and_get_path_from_pod

        safe_logger = SafeLogger()  # no file: plain `logging`, as krkn-lib allows
        telemetry_k8s = KrknTelemetryKubernetes(safe_logger, kubecli, telemetry_config)

        # ---- 1. send_telemetry ----------------------------------------------
        seed_doc, chaos_telemetry = load_seed_telemetry(ChaosRunTelemetry)
        chaos_telemetry.run_uuid = run_uuid  # run_kraken.py does the same
        sent_json = None
        try:
            sent_json = telemetry_k8s.send_telemetry(
                telemetry_config, request_id, chaos_telemetry
            )
            checks.ok(sent_json is not None,
                      "send_telemetry returned the JSON it sent (krkn-lib's success value)")
        except Exception as e:  # noqa: BLE001
            checks.ok(False, "send_telemetry succeeded", f"raised {type(e).__name__}: {e}")

        # ---- 2. put_critical_alerts -----------------------------------------
        summary = ChaosRunAlertSummary()
        summary.run_id = run_uuid
        summary.scenario = seed_doc["scenarios"][0]["scenario"]
        summary.chaos_alerts.append(
            ChaosRunAlert("KubeAPIErrorBudgetBurn", "firing", "openshift-kube-apiserver", "critical"))
        summary.chaos_alerts.append(
            ChaosRunAlert("etcdHighFsyncDurations", "firing", "openshift-etcd", "critical"))
        summary.post_chaos_alerts.append(
            ChaosRunAlert("KubePodNotReady", "pending", "openshift-monitoring", "critical"))
        summary_json = summary.to_json()
        try:
            r = telemetry_k8s.put_critical_alerts(request_id, telemetry_config, summary)
            checks.ok(r is None, "put_critical_alerts returned without raising")
        except Exception as e:  # noqa: BLE001
            checks.ok(False, "put_critical_alerts succeeded", f"raised {type(e).__name__}: {e}")

        # ---- 3. prometheus archive: get_prometheus_pod_data + put_prometheus_data
        try:
            volumes = telemetry_k8s.get_prometheus_pod_data(
                telemetry_config, request_id,
                telemetry_config["prometheus_pod_name"],
                telemetry_config["prometheus_container_name"],
                telemetry_config["prometheus_namespace"],
            )
            checks.ok(len(volumes) == len(PART_SIZES),
                      f"get_prometheus_pod_data listed {len(PART_SIZES)} .tar.b64 parts (mocked pod)",
                      f"got {volumes!r}")
            telemetry_k8s.put_prometheus_data(telemetry_config, volumes, request_id)
            leftovers = sorted(p.name for p in archive_path.iterdir())
            checks.ok(not leftovers,
                      "put_prometheus_data uploaded and deleted every local part",
                      f"left in archive_path: {leftovers}")
        except Exception as e:  # noqa: BLE001
            checks.ok(False, "prometheus upload through krkn-lib", f"raised {type(e).__name__}: {e}")

        retry_warnings = [r.getMessage() for r in collected.records
                          if r.levelno >= logging.WARNING]
        checks.ok(not retry_warnings and not thread_exceptions,
                  "krkn-lib logged no warning/error and no upload thread died during the good uploads",
                  f"warnings={retry_warnings} thread_exceptions={thread_exceptions}")
        good_exchanges = len(exchanges)

        # ---- 4. wrong password ----------------------------------------------
        bad_config = dict(telemetry_config, password=opts.password + "-wrong")
        bad_request_id = f"{int(time.time())}-{uuid.uuid4()}"
        try:
            res = telemetry_k8s.send_telemetry(bad_config, bad_request_id, chaos_telemetry)
            checks.ok(False, "send_telemetry with a wrong password fails",
                      f"it returned {str(res)[:80]!r} instead")
        except Exception as e:  # noqa: BLE001
            msg = str(e)
            checks.ok(True, "send_telemetry with a wrong password raised an Exception")
            checks.note(f"krkn-lib's wrong-password error: {type(e).__name__}: {msg[:300]}")
            checks.ok("401" in msg, "krkn-lib's error names HTTP 401", msg[:200])
        checks.ok(not (objects / GROUP / bad_request_id).exists(),
                  "nothing stored for the rejected telemetry")
        try:
            telemetry_k8s.get_bucket_url_for_filename(
                f"{api_url}/presigned-url", f"{GROUP}/{bad_request_id}",
                "prometheus-00.tar", opts.username, bad_config["password"])
            checks.ok(False, "get_bucket_url_for_filename with a wrong password fails")
        except Exception as e:  # noqa: BLE001
            checks.ok("401" in str(e), "upload-link request with a wrong password refused (401)", str(e))
            checks.note(f"krkn-lib's wrong-password upload-link error: {e}")

        # ---- 5. what is on disk ----------------------------------------------
        run_dir = objects / GROUP / request_id
        print(f"run folder: {run_dir}", flush=True)
        if run_dir.is_dir():
            for p in sorted(run_dir.iterdir()):
                print(f"  {p.name}  {p.stat().st_size} bytes", flush=True)
        expected_files = {"telemetry.json", "critical-alerts-00.log"} | {
            f"prometheus-{i:02d}.tar" for i in range(len(PART_SIZES))}
        present = {p.name for p in run_dir.iterdir()} if run_dir.is_dir() else set()
        checks.ok(expected_files <= present, "run folder holds all uploaded files",
                  f"missing {sorted(expected_files - present)}")

        tj = run_dir / "telemetry.json"
        if tj.is_file():
            try:
                stored = json.loads(tj.read_bytes())
            except ValueError as e:
                stored = None
                checks.ok(False, "telemetry.json parses as JSON", str(e))
            if stored is not None:
                checks.ok(True, "telemetry.json parses as JSON")
                st_sc = stored.get("scenarios") or []
                seed_sc = seed_doc["scenarios"]
                checks.ok(len(st_sc) == len(seed_sc), "telemetry.json has the seed's scenario count",
                          f"{len(st_sc)} != {len(seed_sc)}")
                keys = ("scenario", "scenario_type", "start_timestamp", "end_timestamp",
                        "exit_status", "parameters", "affected_pods", "affected_nodes",
                        "cluster_events")
                for i, (a, b) in enumerate(zip(st_sc, seed_sc)):
                    diff = [k for k in keys if k in b and a.get(k) != b.get(k)]
                    checks.ok(not diff, f"scenario[{i}] {b.get('scenario')} matches the seed",
                              f"differs in {diff}")
                    if sent_json is not None:
                        sent_sc = json.loads(sent_json)["scenarios"][i]
                        if a != sent_sc:
                            extra = sorted(set(a) ^ set(sent_sc))
                            changed = sorted(k for k in set(a) & set(sent_sc) if a[k] != sent_sc[k])
                            checks.note(f"scenario[{i}] as stored differs from what krkn-lib sent:"
                                        f" keys added/dropped {extra}, changed {changed}")
                if sent_json is not None:
                    sent_doc = json.loads(sent_json)
                    added = sorted(set(stored) - set(sent_doc))
                    dropped = sorted(set(sent_doc) - set(stored))
                    changed = sorted(k for k in set(stored) & set(sent_doc)
                                     if stored[k] != sent_doc[k])
                    added = {k: stored[k] for k in added}
                    checks.note(f"telemetry.json vs the body krkn-lib sent: keys added {added},"
                                f" dropped {dropped}, changed {changed}")
                checks.ok(stored.get("run_uuid") == run_uuid, "telemetry.json carries the run uuid",
                          f"{stored.get('run_uuid')!r}")
                for k in ("cluster_version", "major_version", "total_node_count",
                          "cloud_infrastructure", "cloud_type", "kubernetes_objects_count"):
                    if k in seed_doc:
                        checks.ok(stored.get(k) == seed_doc[k], f"telemetry.json {k} kept",
                                  f"{stored.get(k)!r} != {seed_doc[k]!r}")
        else:
            checks.ok(False, "telemetry.json stored", f"{tj} missing")

        ca = run_dir / "critical-alerts-00.log"
        if ca.is_file():
            raw = ca.read_bytes()
            checks.ok(raw == summary_json.encode(),
                      "critical-alerts-00.log is byte-identical to ChaosRunAlertSummary.to_json()",
                      f"{len(raw)} bytes vs {len(summary_json.encode())}")
            try:
                parsed = json.loads(raw)
                checks.ok(parsed == json.loads(summary_json),
                          "critical-alerts-00.log parses to the summary (run_id, scenario, alerts)")
            except ValueError as e:
                checks.ok(False, "critical-alerts-00.log parses as JSON", str(e))
        else:
            checks.ok(False, "critical-alerts-00.log stored", f"{ca} missing")

        for i, want in enumerate(part_sha):
            p = run_dir / f"prometheus-{i:02d}.tar"
            if p.is_file():
                got = sha256(p.read_bytes())
                checks.ok(got == want,
                          f"prometheus-{i:02d}.tar sha256 matches ({PART_SIZES[i]} bytes)",
                          f"stored {got} ({p.stat().st_size} B), uploaded {want} ({PART_SIZES[i]} B)")
            else:
                checks.ok(False, f"prometheus-{i:02d}.tar stored", f"{p} missing")

        # ---- 6. krkn-lib's retry paths (behaviour recorded, see notes) -----------
        # 6a. On any upload error the worker asks for a NEW link for the same
        # name and PUTs again (e.g. after its 5 s PUT timeout fired although
        # the server had stored the file). Replay exactly that with
        # krkn-lib's own two calls on an already stored part.
        p0 = run_dir / "prometheus-00.tar"
        replay = work / "replay-00.tar"
        replay.write_bytes(part_bytes[0])
        try:
            link = telemetry_k8s.get_bucket_url_for_filename(
                f"{api_url}/presigned-url", f"{GROUP}/{request_id}", "prometheus-00.tar",
                opts.username, opts.password)
            telemetry_k8s.put_file_to_url(link, str(replay))
            checks.note("retry of an already stored part (new link + same bytes) accepted with 200:"
                        " krkn-lib's retry after a lost response terminates")
        except Exception as e:  # noqa: BLE001
            checks.note(f"retry of an already stored part REFUSED: {e}. With krkn's default"
                        f" max_retries: 0 a worker whose PUT response was lost would retry this"
                        f" forever (every 5 s)")
        checks.ok(p0.is_file() and sha256(p0.read_bytes()) == part_sha[0],
                  "prometheus-00.tar still holds the original bytes after the replayed retry")

        # 6b. Upload-link failure inside put_critical_alerts: krkn-lib retries
        # (5 s sleep) then raises inside its worker thread; the caller is not told.
        before_threads = len(thread_exceptions)
        bad_alerts_id = f"{int(time.time())}-{uuid.uuid4()}"
        t0 = time.monotonic()
        try:
            r = telemetry_k8s.put_critical_alerts(
                bad_alerts_id, dict(bad_config, max_retries=1), summary)
            checks.note(f"put_critical_alerts with a wrong password returned {r!r} after"
                        f" {time.monotonic() - t0:.1f} s (1 retry); worker thread died with:"
                        f" {thread_exceptions[before_threads:]}")
        except Exception as e:  # noqa: BLE001
            checks.note(f"put_critical_alerts with a wrong password raised {type(e).__name__}: {e}")
        checks.ok(len(thread_exceptions) > before_threads
                  and "401" in " ".join(thread_exceptions[before_threads:]),
                  "put_critical_alerts with a wrong password failed (401) in its worker thread",
                  f"{thread_exceptions[before_threads:]}")
        checks.ok(not (objects / GROUP / bad_alerts_id).exists(),
                  "nothing stored for the rejected critical alerts")

        checks.ok(not network_violations, "no network access except 127.0.0.1",
                  "; ".join(network_violations))
        put_hosts = {urlsplit(e["url"]).hostname for e in exchanges}
        checks.ok(put_hosts <= LOCAL_HOSTS, "every HTTP request went to the local server",
                  f"hosts {sorted(put_hosts)}")

        # ---- trace ------------------------------------------------------------
        if not opts.quiet or checks.failures:
            print(f"HTTP exchanges made by krkn-lib ({len(exchanges)}; "
                  f"the first {good_exchanges} are the good uploads):", flush=True)
            for e in exchanges:
                print(f"  [{e['thread']}] {describe(e)}", flush=True)

        n = len(checks.passed)
        if checks.failures:
            print(f"krkn-lib e2e: FAILED {len(checks.failures)} of {n + len(checks.failures)} checks "
                  f"(krkn-lib {krkn_lib_version}, run {GROUP}/{request_id})", flush=True)
            for f in checks.failures:
                print(f"  FAIL: {f}", flush=True)
            return 1
        print(f"krkn-lib e2e: OK {n} checks (krkn-lib {krkn_lib_version}; run {GROUP}/{request_id}:"
              f" telemetry.json, critical-alerts-00.log, {len(PART_SIZES)} prometheus parts"
              f" {sum(PART_SIZES)} bytes; wrong password rejected; retries observed; {len(exchanges)} HTTP requests,"
              f" all to {api.hostname}:{api.port})", flush=True)
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
