"""What counting a request costs when several workers share their metrics, and what a scrape of them costs.

    uv run python -m bench.bench_metrics [--requests 200000] [--rounds 5] [--series 60]

With one worker, ``prometheus_client`` keeps the counts in memory; with several (``hibah serve --workers N``),
each worker writes them to memory-mapped files that ``/metrics`` reads and sums (app/core/observability.py).
Each mode runs in a process of its own (the mode is chosen when ``prometheus_client`` is imported) and does
exactly what ``RequestIdMiddleware`` does per request: a counter and a latency histogram of the request's route.
Then ``exposition()`` is timed with the files of 1, 2 and 4 workers, each holding ``--series`` routes.
Prints a table of medians.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

PER_REQUEST = """
import json, statistics, sys, time
from app.core.middleware import _latency, _requests
requests, rounds = int(sys.argv[1]), int(sys.argv[2])
timings = []
for _ in range(rounds):
    started = time.perf_counter()
    for number in range(requests):
        _requests("GET", "/regions/{code}", 200).inc()
        _latency("GET", "/regions/{code}").observe(0.0003 + number % 7 * 0.001)
    timings.append((time.perf_counter() - started) / requests * 1e6)
print(json.dumps(timings))
"""

WORKER_FILES = """
import sys
from app.core.middleware import _latency, _requests
for number in range(int(sys.argv[1])):
    route = f"/route/{number}"
    _requests("GET", route, 200).inc(3)
    _latency("GET", route).observe(0.004)
"""

SCRAPE = """
import json, sys, time
from app.core.observability import exposition
timings = []
for _ in range(int(sys.argv[1])):
    started = time.perf_counter()
    size = len(exposition())
    timings.append((time.perf_counter() - started) * 1000)
print(json.dumps({"ms": timings, "bytes": size}))
"""


def python(code: str, *args: object, directory: str | None = None) -> str:
    env = {key: value for key, value in os.environ.items() if key != "PROMETHEUS_MULTIPROC_DIR"}
    if directory is not None:
        env["PROMETHEUS_MULTIPROC_DIR"] = directory
    done = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout


def per_request(requests: int, rounds: int) -> dict[str, list[float]]:
    with tempfile.TemporaryDirectory(prefix="bench_metrics_") as directory:
        return {
            "in memory (one worker)": json.loads(python(PER_REQUEST, requests, rounds)),
            "memory-mapped files (several workers)": json.loads(
                python(PER_REQUEST, requests, rounds, directory=directory)
            ),
        }


def scrapes(series: int, rounds: int) -> dict[int, dict[str, Any]]:
    found: dict[int, dict[str, Any]] = {}
    for workers in (1, 2, 4):
        with tempfile.TemporaryDirectory(prefix="bench_metrics_") as directory:
            for _ in range(workers):  # a process per worker: its own files
                python(WORKER_FILES, series, directory=directory)
            found[workers] = json.loads(python(SCRAPE, max(rounds, 20), directory=directory))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--series", type=int, default=60, help="routes each worker has counted")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    counted = per_request(args.requests, args.rounds)
    scraped = scrapes(args.series, args.rounds)
    print(f"\nper request: {args.requests:,} requests x {args.rounds} rounds, medians; load average {load:.1f}\n")
    print("| metrics kept | µs per request | per round |")
    print("|---|---:|---|")
    for mode, timings in counted.items():
        rounds = ", ".join(f"{value:.2f}" for value in timings)
        print(f"| {mode} | {statistics.median(timings):.2f} | {rounds} |")
    print(f"\nscrape of /metrics (exposition only), {args.series} routes per worker, medians\n")
    print("| workers | ms | bytes |")
    print("|---:|---:|---:|")
    for workers, result in scraped.items():
        print(f"| {workers} | {statistics.median(result['ms']):.2f} | {result['bytes']:,} |")


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"\n({time.perf_counter() - started:.0f} s)")
