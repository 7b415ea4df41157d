#!/usr/bin/env python3
"""Python peer of the Rust model benchmark: krkn-lib's ChaosRunTelemetry.

Usage: krkn_lib_model_bench.py SEED_JSON LARGE_JSON [options]

For each file the input bytes are read once, then the sequence

    doc = ChaosRunTelemetry(json.loads(raw)); out = doc.to_json()

is timed with time.perf_counter over several batches and the median batch is
reported (json.loads gets the raw bytes, so UTF-8 decoding is included, as a
server parsing a request body would do). For information two more variants
are timed: "preparsed" (ChaosRunTelemetry(d).to_json() on a dict parsed
outside the timed region; a fresh dict is used for every iteration because
ChaosRunTelemetry(json) may mutate its input: it adds "phase" to
post_virt_checks entries) and "parse_only" (json.loads alone).

  seed file:  every batch runs a fixed number of iterations (calibrated so
              one batch takes ~--seed-seconds / --seed-batches); batches are
              added until the timed total reaches --seed-seconds (default 2 s).
  large file: one iteration per batch, at least --large-iterations (default 5).

MB = 1e6 bytes of *input* JSON. One JSON object is printed on stdout;
progress goes to stderr.
"""

from __future__ import annotations

import argparse
import gc
import importlib.metadata
import json
import os
import platform
import statistics
import sys
import time

from krkn_lib.models.telemetry import ChaosRunTelemetry


def full(raw: bytes) -> str:
    doc = ChaosRunTelemetry(json.loads(raw))
    return doc.to_json()


def run_batches(raw: bytes, variant: str, iters: int, batches: int,
                min_seconds: float = 0.0) -> list[float]:
    """Return the per-iteration seconds of each batch. Runs at least
    `batches` batches and keeps adding batches until the timed total
    reaches `min_seconds`."""
    per_iter = []
    total = 0.0
    while len(per_iter) < batches or total < min_seconds:
        if variant == "full":
            t0 = time.perf_counter()
            for _ in range(iters):
                doc = ChaosRunTelemetry(json.loads(raw))
                out = doc.to_json()
            dt = time.perf_counter() - t0
        elif variant == "preparsed":
            dicts = [json.loads(raw) for _ in range(iters)]  # untimed
            t0 = time.perf_counter()
            for d in dicts:
                doc = ChaosRunTelemetry(d)
                out = doc.to_json()
            dt = time.perf_counter() - t0
            del dicts
        elif variant == "parse_only":
            t0 = time.perf_counter()
            for _ in range(iters):
                out = json.loads(raw)
            dt = time.perf_counter() - t0
        else:
            raise ValueError(variant)
        del out
        total += dt
        per_iter.append(dt / iters)
    return per_iter


def summarize(nbytes: int, per_iter: list[float], iters: int) -> dict:
    med = statistics.median(per_iter)
    return {
        "iterations_per_batch": iters,
        "batches": len(per_iter),
        "us_per_doc_median": round(med * 1e6, 3),
        "us_per_doc_min": round(min(per_iter) * 1e6, 3),
        "us_per_doc_max": round(max(per_iter) * 1e6, 3),
        "mb_per_s_median": round(nbytes / med / 1e6, 3),
        "batch_us_per_doc": [round(x * 1e6, 3) for x in per_iter],
    }


def bench_seed(path: str, min_seconds: float, batches: int) -> dict:
    raw = open(path, "rb").read()
    out = full(raw)  # warm-up + output size
    # calibrate: iterations so that one batch takes >= min_seconds / batches
    target = min_seconds / batches
    n = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            full(raw)
        dt = time.perf_counter() - t0
        if dt >= target / 4:
            break
        n *= 2
    iters = max(1, int(n * target / dt * 1.05) + 1)
    print(f"seed: {len(raw)} bytes, {batches} batches x {iters} iterations",
          file=sys.stderr)
    res = {"file": path, "bytes": len(raw), "output_bytes": len(out.encode())}
    per_iter = run_batches(raw, "full", iters, batches, min_seconds)
    res.update(summarize(len(raw), per_iter, iters))
    res["total_timed_seconds"] = round(sum(per_iter) * iters, 3)
    res["preparsed"] = summarize(
        len(raw), run_batches(raw, "preparsed", iters, batches, min_seconds),
        iters)
    res["parse_only"] = summarize(
        len(raw), run_batches(raw, "parse_only", iters, batches), iters)
    return res


def bench_large(path: str, iterations: int) -> dict:
    raw = open(path, "rb").read()
    print(f"large: {len(raw)} bytes, {iterations} iterations per variant",
          file=sys.stderr)
    out = full(raw)  # warm-up + output size
    res = {"file": path, "bytes": len(raw), "output_bytes": len(out.encode())}
    del out
    res.update(summarize(len(raw), run_batches(raw, "full", 1, iterations), 1))
    res["s_per_doc_median"] = round(res["us_per_doc_median"] / 1e6, 4)
    res["total_timed_seconds"] = round(
        sum(res["batch_us_per_doc"]) / 1e6, 3)
    res["preparsed"] = summarize(
        len(raw), run_batches(raw, "preparsed", 1, iterations), 1)
    res["parse_only"] = summarize(
        len(raw), run_batches(raw, "parse_only", 1, iterations), 1)
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("seed_json")
    ap.add_argument("large_json")
    ap.add_argument("--seed-seconds", type=float, default=2.0,
                    help="minimum total timed seconds for the seed file (>= 2)")
    ap.add_argument("--seed-batches", type=int, default=7)
    ap.add_argument("--large-iterations", type=int, default=5,
                    help="iterations (= batches) for the large file (>= 5)")
    a = ap.parse_args()
    seed_seconds = max(2.0, a.seed_seconds)
    large_iters = max(5, a.large_iterations)

    # both inputs must be accepted by krkn-lib before timing anything
    for p in (a.seed_json, a.large_json):
        ChaosRunTelemetry(json.loads(open(p, "rb").read()))

    result = {
        "krkn_lib_version": importlib.metadata.version("krkn-lib"),
        "python_version": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "gc_enabled": gc.isenabled(),
        "measured": "ChaosRunTelemetry(json.loads(raw_bytes)).to_json()",
        "mb": "1e6 bytes of input JSON",
        "seed": bench_seed(a.seed_json, seed_seconds, max(3, a.seed_batches)),
        "large": bench_large(a.large_json, large_iters),
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
