"""Writes a must-gather-like tree of about SIZE bytes for the log filter benchmark.

Layout as `oc adm must-gather` writes it: DEST/must-gather.local.1/<image>/timestamp and
namespaces/<ns>/pods/<pod>/<container>/<container>/logs/current.log, plus node journals under
host_service_logs/. Line bodies come from the real must-gather logs in shared/fixtures; times
advance over 48 hours of the current year (syslog lines carry no year, and both filters read
those in the current year), in the three forms krkn's default patterns read:

- 80 % container lines, `2026-01-10T10:00:00.123456789Z <body>` (pattern 3)
- 14 % journal lines, `Jan 10 10:00:00.123456 node-3 kubelet[2211]: <body>` (pattern 1)
-  2 % `kinit 01/10/26 10:00:00  <body>` lines (pattern 2)
-  4 % continuation lines with no time (dropped by both filters)

Deterministic (fixed seed), so every run filters the same bytes.
Usage: gen_must_gather.py FIXTURE_MUST_GATHER DEST SIZE_BYTES
"""

import datetime as dt
import os
import random
import sys
from pathlib import Path

fixture, dest, size = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
rng = random.Random(20231)

bodies = []
for log in sorted(fixture.rglob("*.log")):
    for line in log.read_text(errors="replace").splitlines():
        # Drop the fixture's own timestamp prefix; keep what the program wrote.
        body = line.split(" ", 1)[1] if " " in line else line
        if body.strip():
            bodies.append(body)
if not bodies:
    sys.exit(f"gen_must_gather: no *.log lines under {fixture}")

year = dt.datetime.now(dt.timezone.utc).year
t0 = dt.datetime(year, 1, 10, tzinfo=dt.timezone.utc).timestamp()
span = 48 * 3600

image = "quay-io-openshift-release-dev-ocp-v4-0-art-dev-sha256-bench"
root = dest / "must-gather.local.1" / image
root.mkdir(parents=True, exist_ok=True)
(root / "timestamp").write_text(
    f"{dt.datetime.fromtimestamp(t0, dt.timezone.utc):%Y-%m-%d %H:%M:%S}.000000000 +0000 UTC m=+0.1\n"
    f"{dt.datetime.fromtimestamp(t0 + span, dt.timezone.utc):%Y-%m-%d %H:%M:%S}.000000000 +0000 UTC m=+0.2\n"
)


def lines(count, start, step):
    out = []
    t = start
    for _ in range(count):
        t += rng.random() * step
        body = bodies[rng.randrange(len(bodies))]
        when = dt.datetime.fromtimestamp(t, dt.timezone.utc)
        kind = rng.random()
        if kind < 0.80:
            out.append(f"{when:%Y-%m-%dT%H:%M:%S}.{int(t * 1e9) % 10**9:09d}Z {body}\n")
        elif kind < 0.94:
            out.append(f"{when:%b %d %H:%M:%S}.{int(t * 1e6) % 10**6:06d} node-3 kubelet[2211]: {body}\n")
        elif kind < 0.96:
            out.append(f"kinit {when:%m/%d/%y %H:%M:%S}  {body}\n")
        else:
            out.append(f"    at {body}\n")
    return "".join(out)


written = 0
index = 0
while written < size:
    ns = f"openshift-bench-{index % 40:02d}"
    if index % 10 == 9:
        path = root / "host_service_logs" / "masters" / f"kubelet_service-{index}.log"
    else:
        pod = f"pod-{index:04d}-{rng.randrange(16**5):05x}"
        path = root / "namespaces" / ns / "pods" / pod / "main" / "main" / "logs" / "current.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    target = min(size - written, rng.randrange(1 << 20, 12 << 20))
    with path.open("w") as f:
        file_bytes = 0
        # Chunks of lines spread evenly over the 48 hours.
        per_chunk = 2000
        total_lines = max(per_chunk, target // 150)
        step = span / total_lines * 2
        t = t0
        while file_bytes < target:
            chunk = lines(per_chunk, t, step)
            t += span * per_chunk / total_lines
            f.write(chunk)
            file_bytes += len(chunk.encode())
    written += file_bytes
    index += 1

print(f"gen_must_gather: {index} files, {written} bytes under {dest}", file=sys.stderr)
