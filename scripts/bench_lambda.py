"""Lambda figures for BENCHMARKS.md (run by scripts/bench-lambda.sh, services started).

Cold init: a fresh cargo-lambda emulator and a fresh krkn-telemetry-lambda process per round;
the time from spawning the function to the answer of its first invocation (GET /healthz), so
it holds process start, the store's connection setup and one request. Warm: one function,
every kind of request in turn; client-side latency through the emulator and the function's
own CPU time per invocation (utime + stime from /proc/<pid>/stat). AWS store on moto.
"""

import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile

RELEASE = sys.argv[1]
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EVENTS = os.path.join(REPO, "events")
PASSWORD = "krkn-events-password"
SEEDED = "1745343338-96348571-0b06-459e-b654-a1bb6fd66239"
NEW_RUN = "1745343999-0f8fd0b2-6b7e-4c4f-9a55-4b1f3f0b6d7e"
COLD_ROUNDS = 15
WARM_ROUNDS = 300
TICKS = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def event(name):
    with open(os.path.join(EVENTS, name)) as f:
        return f.read()


def store_env():
    name = f"krkn-bench-lambda-{os.getpid()}"
    return {
        **os.environ,
        "BUCKET_NAME": name,
        "TABLE_NAME": name,
        "AWS_ENDPOINT_URL": os.environ["KRKN_TEST_MOTO_URL"],
    }


def operator(args, env):
    subprocess.run([os.path.join(RELEASE, "krkn-telemetry-api"), *args], env=env,
                   input=PASSWORD.encode(), check=True, capture_output=True)


class Emulator:
    def __init__(self):
        self.port = free_port()
        self.log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            [os.environ["KRKN_TEST_CARGO_LAMBDA"], "lambda", "watch", "--only-lambda-apis", "--ignore-changes",
             "-A", "127.0.0.1", "-P", str(self.port),
             "--manifest-path", os.path.join(REPO, "Cargo.toml")],
            stdout=self.log, stderr=self.log)
        deadline = time.time() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline:
                    raise SystemExit("the emulator did not start")
                time.sleep(0.02)

    def function(self, env):
        return subprocess.Popen(
            [os.path.join(RELEASE, "krkn-telemetry-lambda")],
            env={**env, "AWS_LAMBDA_RUNTIME_API": f"http://127.0.0.1:{self.port}/.rt",
                 "AWS_LAMBDA_FUNCTION_NAME": "_", "AWS_LAMBDA_FUNCTION_VERSION": "1",
                 "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256", "AWS_LAMBDA_LOG_FORMAT": "JSON",
                 "AWS_LAMBDA_LOG_LEVEL": "WARN"},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def invoke(self, body):
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/2015-03-31/functions/_/invocations",
            data=body.encode(), method="POST")
        with urllib.request.urlopen(request, timeout=60) as answer:
            response = json.loads(answer.read())
        return response["statusCode"]

    def stop(self):
        self.process.kill()
        self.process.wait()


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main():
    env = store_env()
    operator(["init", "--store", "aws"], env)
    operator(["user", "add", "admin", "--role", "admin", "--store", "aws"], env)
    healthz = event("v1-healthz.json")

    cold = []
    for _ in range(COLD_ROUNDS):
        emulator = Emulator()
        started = time.perf_counter()
        function = emulator.function(env)
        status = emulator.invoke(healthz)
        cold.append((time.perf_counter() - started) * 1000)
        assert status == 200, status
        function.kill()
        function.wait()
        emulator.stop()

    emulator = Emulator()
    function = emulator.function(env)
    assert emulator.invoke(healthz) == 200
    seed = event("v1-post-telemetry.json").replace(NEW_RUN, SEEDED)
    assert emulator.invoke(seed) == 200
    # The export reads every run's scenario items: before the POST rounds file 300 more runs
    # (moto answers each query in Python), so every kind measures the same one-run store.
    kinds = {
        "GET /healthz": lambda n: healthz,
        "GET /presigned-url": lambda n: event("v1-presigned-url.json"),
        "GET /api/v1/runs (page of 10)": lambda n: event("v1-runs-list.json"),
        "GET /api/v1/scenarios (NDJSON)": lambda n: event("v1-scenarios-ndjson.json"),
        "POST /telemetry (new run, 1 scenario)": lambda n: event("v1-post-telemetry.json")
        .replace(NEW_RUN, f"17453{n:05d}-0f8fd0b2-6b7e-4c4f-9a55-4b1f3f0b6d7e"),
    }
    warm = {}
    for kind, make in kinds.items():
        bodies = [make(n) for n in range(WARM_ROUNDS)]
        latencies = []
        cpu_before = cpu_seconds(function.pid)
        for body in bodies:
            started = time.perf_counter()
            status = emulator.invoke(body)
            latencies.append((time.perf_counter() - started) * 1000)
            assert status == 200, (kind, status)
        cpu = (cpu_seconds(function.pid) - cpu_before) / WARM_ROUNDS * 1000
        warm[kind] = (statistics.median(latencies), percentile(latencies, 99), cpu)
    with open(f"/proc/{function.pid}/status") as f:
        rss = next(line.split()[1] for line in f if line.startswith("VmRSS"))
    function.kill()
    function.wait()
    emulator.stop()

    print(f"Lambda under cargo-lambda's Runtime API emulator, AWS store on moto, "
          f"{platform.machine()}, {os.cpu_count()} CPUs\n")
    print(f"Cold init ({COLD_ROUNDS} rounds, spawn to first invocation answered): "
          f"median {statistics.median(cold):.1f} ms, p90 {percentile(cold, 90):.1f} ms, "
          f"max {max(cold):.1f} ms\n")
    print(f"| warm invocation ({WARM_ROUNDS} each) | p50 ms | p99 ms | function CPU ms/inv |")
    print("|---|---|---|---|")
    for kind, (p50, p99, cpu) in warm.items():
        print(f"| {kind} | {p50:.2f} | {p99:.2f} | {cpu:.2f} |")
    print(f"\nFunction RSS after the warm rounds: {int(rss) / 1024:.1f} MiB")
    built = os.path.join(REPO, "infra", ".aws-sam", "build", "TelemetryFunction", "bootstrap")
    if os.path.exists(built):
        with tempfile.TemporaryDirectory() as work:
            z = os.path.join(work, "lambda.zip")
            with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as f:
                f.write(built, "bootstrap")
            arch = subprocess.run(["file", "-b", built], capture_output=True, text=True).stdout
            print(f"\n`sam build` artifact: bootstrap {os.path.getsize(built) / 1e6:.2f} MB, "
                  f"zipped {os.path.getsize(z) / 1e6:.2f} MB ({arch.split(',')[1].strip()})")
    else:
        print("\nNo `sam build` artifact in infra/.aws-sam (run `make deploy-check`).")


main()
