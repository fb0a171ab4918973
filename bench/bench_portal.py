"""The portal at national scale: `/` and the province pages against the bare asyncpg read, in one run.

    uv run python -m bench.bench_portal [--database hibah_portal_national] [--rebuild] [--items 3000000]
                                        [--duration 10] [--rounds 3] [--requests 200] [--no-doc]

On a generated national dataset (``hibah generate national``, ~3,000,000 usage items, 545 regions, ~2,200
agreements; built once in ``--database`` on the machine PostgreSQL and reused), it measures:

1. **server time**: one request at a time over one keep-alive connection (so the latency is the server's, plus
   loopback), ``--requests`` of each after a warm-up, for ``/`` and every province page in rotation; with the
   page cache (the default: pages kept while the audit chain's head stands still) and without it
   (``HIBAH_PORTAL_CACHE_PAGES=0``: every request reads and renders), p50 and p95;
2. **throughput**: wrk over 32 connections for ``--duration`` seconds after a warm-up, each server started
   fresh, targets in rotating order over ``--rounds`` rounds, medians: ``GET /`` and the 37 province pages in
   rotation (as browsers ask: ``Accept-Encoding: gzip``), against the bare asyncpg read of one region
   (bench/bare_app.py, the baseline of bench_regions) in the same run.

Targets: ``/`` p50 ≤ 50 ms and a province page p50 ≤ 50 ms server time; ``/`` at ≥ 0.5 of the bare read's
throughput. The table goes to stdout and docs/performance.md between the ``bench_portal`` markers.
"""

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.harness import (
    RESULT_PREFIX,
    DocSection,
    Load,
    Server,
    add_doc_options,
    app_command,
    bench_serve_command,
    command_line,
    connected,
    database_exists,
    facts_and_commands,
    fresh_database,
    hibah,
    machine_facts,
    median,
    migrate,
    run_env,
    run_wrk,
    server_url,
    serving,
    wait_for_quiet,
    with_database,
    wrk_command,
)

DOC_SECTION = DocSection(
    start="<!-- bench_portal:start -->",
    end="<!-- bench_portal:end -->",
    heading="## The portal at national scale",
    notes="<!-- bench_portal:notes (kept when the script rewrites this section) -->",
)
APP_ENV = {"HIBAH_LOG_LEVEL": "warning"}
UNCACHED_ENV = {**APP_ENV, "HIBAH_PORTAL_CACHE_PAGES": "0"}
BASELINE = "bare asyncpg: GET /api/v1/regions/{code}"
SERVER_TIME_TARGET_MS = 50.0
RATIO_TARGET = 0.5
WRK_SCRIPT = """
local paths = {%s}
local requests = {}
local next_index = 1

function init(args)
  for index, path in ipairs(paths) do
    requests[index] = wrk.format("GET", path, {["Accept-Encoding"] = "gzip"})
  end
  next_index = math.random(#paths)
end

function request()
  next_index = next_index %% #paths + 1
  return requests[next_index]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '%s{"requests":%%d,"duration_us":%%d,"p50_us":%%.1f,"p99_us":%%.1f,"errors":%%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.status + e.timeout))
end
"""


@dataclass(frozen=True)
class Options:
    database: str
    rebuild: bool
    items: int
    duration: int
    warmup: int
    rounds: int
    connections: int
    requests: int
    quiet_wait: float
    doc: Path
    write_doc: bool


@dataclass(frozen=True)
class Target:
    name: str
    command: Callable[[int], list[str]]
    env: dict[str, str]
    paths: list[str]


@dataclass
class Timing:
    """One page kind's sequential latencies, in ms."""

    name: str
    cached: bool
    samples: list[float] = field(default_factory=list)

    def quantile(self, q: int) -> float:
        return statistics.quantiles(self.samples, n=100)[q - 1]


# --- the dataset ---------------------------------------------------------------------------------


def dataset(options: Options) -> tuple[str, str]:
    """The database's URL, and how it came to be."""
    server = server_url()
    if options.rebuild or not database_exists(server, options.database):
        url = fresh_database(options.database, server)
        migrate(url)
        started = time.monotonic()
        hibah(url, "generate", "national", "--items", str(options.items))
        return url, f"generated in this run ({(time.monotonic() - started) / 60:.1f} min)"
    url = with_database(server, options.database)
    migrate(url)
    return url, "reused"


async def _shape(url: str) -> tuple[list[str], list[str], dict[str, int]]:
    async with connected(url) as connection:
        provinces = [row["code"] for row in await connection.fetch("SELECT code FROM region WHERE level = 'province'")]
        codes = [row["code"] for row in await connection.fetch("SELECT code FROM region ORDER BY code")]
        counts = {
            table: await connection.fetchval(f"SELECT count(*) FROM {table}")
            for table in ("region", "agreement", "usage_item", "audit_event")
        }
    return sorted(provinces), codes, counts


# --- measuring -----------------------------------------------------------------------------------


def sequential(server: Server, name: str, paths: Sequence[str], requests: int, *, cached: bool) -> Timing:
    """Latency of one request at a time, paths in rotation, after one warm-up pass over them."""
    timing = Timing(name, cached)
    headers = {"Accept-Encoding": "gzip"}
    with httpx.Client(base_url=server.base, timeout=60, headers=headers) as client:
        for path in paths:
            client.get(path).raise_for_status()
        for index in range(requests):
            began = time.perf_counter()
            response = client.get(paths[index % len(paths)])
            timing.samples.append((time.perf_counter() - began) * 1000)
            response.raise_for_status()
    return timing


def server_times(url: str, provinces: list[str], options: Options, work: Path) -> list[Timing]:
    timings = []
    for cached, env in ((True, APP_ENV), (False, UNCACHED_ENV)):
        wait_for_quiet(options.quiet_wait)
        log = work / f"sequential-{'cached' if cached else 'uncached'}.log"
        with serving(lambda port: app_command(1, port), run_env(url, env), log) as server:
            server.wait_ready("/healthz", timeout=120)
            # Uncached, each request reads and renders: fewer of them (a province page is ~100 ms of work).
            count = options.requests if cached else max(20, options.requests // 5)
            timings.append(sequential(server, "GET /", ["/"], count, cached=cached))
            province_paths = [f"/wilayah/{code}" for code in provinces]
            timings.append(sequential(server, "GET /wilayah/{province}", province_paths, count, cached=cached))
    return timings


def wrk_script(path: Path, paths: Sequence[str]) -> Path:
    path.write_text(WRK_SCRIPT % (", ".join(f'"{p}"' for p in paths), RESULT_PREFIX))
    return path


def throughput(url: str, targets: list[Target], options: Options, work: Path) -> dict[str, list[Load]]:
    loads: dict[str, list[Load]] = {target.name: [] for target in targets}
    for round_number in range(options.rounds):
        shift = round_number % len(targets)
        for target in targets[shift:] + targets[:shift]:
            wait_for_quiet(options.quiet_wait)
            script = wrk_script(work / f"{len(loads[target.name])}-{abs(hash(target.name))}.lua", target.paths)
            log = work / f"wrk-{abs(hash(target.name))}.log"
            with serving(target.command, run_env(url, target.env), log) as server:
                server.wait_ready(target.paths[0], timeout=120)
                for path in target.paths:  # every page rendered once: the steady state readers meet
                    httpx.get(server.base + path, timeout=120).raise_for_status()
                run_wrk(wrk_command(script, server.port, options.warmup, options.connections, 1))
                load = run_wrk(wrk_command(script, server.port, options.duration, options.connections, 1))
            loads[target.name].append(load)
            print(
                f"round {round_number + 1}/{options.rounds}  {target.name:44} {load.rps:7.0f} req/s"
                f"  p50 {load.p50_ms:6.2f} ms  p99 {load.p99_ms:7.2f} ms  errors {load.errors}",
                flush=True,
            )
    return loads


# --- report --------------------------------------------------------------------------------------


def timing_table(timings: list[Timing]) -> str:
    lines = [
        "| page | page cache | requests | p50 ms | p95 ms | target p50 ≤ 50 ms |",
        "|---|---|---:|---:|---:|---|",
    ]
    for timing in timings:
        p50 = timing.quantile(50)
        verdict = ("met" if p50 <= SERVER_TIME_TARGET_MS else "MISSED") if timing.cached else "(no target)"
        cache = "on (default)" if timing.cached else "off (`HIBAH_PORTAL_CACHE_PAGES=0`)"
        lines.append(
            f"| `{timing.name}` | {cache} | {len(timing.samples)} | {p50:.2f} | {timing.quantile(95):.2f} | {verdict} |"
        )
    return "\n".join(lines)


def load_table(loads: dict[str, list[Load]]) -> str:
    base = median(load.rps for load in loads[BASELINE])
    lines = [
        "| target | req/s (median) | ratio vs bare asyncpg | p50 ms | p99 ms | req/s per round | errors |",
        "|---|---:|---:|---:|---:|---|---:|",
    ]
    for name, samples in loads.items():
        rps = median(load.rps for load in samples)
        cells = [
            name,
            f"{rps:.0f}",
            f"{rps / base:.2f}",
            f"{median(load.p50_ms for load in samples):.2f}",
            f"{median(load.p99_ms for load in samples):.2f}",
            ", ".join(f"{load.rps:.0f}" for load in samples),
            str(sum(load.errors for load in samples)),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


@dataclass(frozen=True)
class Run:
    options: Options
    url: str
    how: str
    counts: dict[str, int]


def section(run: Run, timings: list[Timing], loads: dict[str, list[Load]]) -> str:
    options, url, how, counts = run.options, run.url, run.how, run.counts
    base = median(load.rps for load in loads[BASELINE])
    home = median(load.rps for load in loads["portal: GET /"])
    ratio = home / base
    summary = (
        f"Run of {time.strftime('%Y-%m-%d %H:%M %Z')} on `{options.database}` ({how}): "
        + ", ".join(f"{table} {count:,}" for table, count in counts.items())
        + f". `/` at {ratio:.2f} of the bare read's throughput against the target of {RATIO_TARGET}:"
        f" {'met' if ratio >= RATIO_TARGET else 'MISSED'}."
    )
    commands = "\n".join(
        [
            command_line("bench.bench_portal"),
            f"# dataset (once; again with --rebuild): DATABASE_URL=.../{options.database} uv run hibah migrate",
            f"DATABASE_URL=.../{options.database} uv run hibah generate national --items {options.items}",
            "# servers, one worker each, started fresh for every measurement:",
            "DATABASE_URL=... HIBAH_LOG_LEVEL=warning uv run hibah serve --no-migrate --workers 1 --port $PORT",
            "DATABASE_URL=... HIBAH_LOG_LEVEL=warning HIBAH_PORTAL_CACHE_PAGES=0 uv run hibah serve --no-migrate ...",
            "DATABASE_URL=... uv run python -m bench.serve bench.bare_app:create_asyncpg_app --workers 1 --port $PORT",
            f"# wrk -t1 -c{options.connections} -d{options.duration}s (after {options.warmup} s of warm-up),"
            " Accept-Encoding: gzip, paths in rotation",
        ]
    )
    return "\n\n".join(
        [
            summary,
            "Server time, one request at a time over one keep-alive connection (`Accept-Encoding: gzip`):",
            timing_table(timings),
            f"Throughput, wrk over {options.connections} connections, {options.duration} s per measurement,"
            f" {options.rounds} rounds in rotating order, medians:",
            load_table(loads),
            *facts_and_commands(machine_facts(url), commands),
        ]
    )


# --- main ----------------------------------------------------------------------------------------


def parse_options(argv: Sequence[str]) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_portal", description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="hibah_portal_national", help="database (default hibah_portal_national)")
    parser.add_argument("--rebuild", action="store_true", help="drop and generate the database again")
    parser.add_argument("--items", type=int, default=3_000_000, help="usage items to generate (default 3,000,000)")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk measurement (default 10)")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of discarded wrk load first (default 3)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds over the wrk targets (default 3)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    parser.add_argument("--requests", type=int, default=200, help="sequential requests per page kind (default 200)")
    parser.add_argument("--quiet-wait", type=float, default=30, help="seconds to wait for a quiet machine (default 30)")
    add_doc_options(parser)
    return Options(**vars(parser.parse_args(argv)))


def main(argv: Sequence[str]) -> None:
    options = parse_options(argv)
    url, how = dataset(options)
    provinces, codes, counts = asyncio.run(_shape(url))
    province_paths = [f"/wilayah/{code}" for code in provinces]
    targets = [
        Target(
            BASELINE,
            lambda port: bench_serve_command("bench.bare_app:create_asyncpg_app", 1, port),
            {},
            [f"/api/v1/regions/{code}" for code in codes],
        ),
        Target("portal: GET /", lambda port: app_command(1, port), APP_ENV, ["/"]),
        Target(
            "portal: GET /wilayah/{province}, 37 in rotation",
            lambda port: app_command(1, port),
            APP_ENV,
            province_paths,
        ),
    ]
    with tempfile.TemporaryDirectory(prefix="bench_portal_") as directory:
        work = Path(directory)
        timings = server_times(url, provinces, options, work)
        for timing in timings:
            print(
                f"{timing.name:28} cache {'on ' if timing.cached else 'off'}  p50 {timing.quantile(50):7.2f} ms"
                f"  p95 {timing.quantile(95):7.2f} ms",
                flush=True,
            )
        loads = throughput(url, targets, options, work)
    text = section(Run(options, url, how, counts), timings, loads)
    print()
    print(timing_table(timings))
    print()
    print(load_table(loads))
    if options.write_doc:
        DOC_SECTION.write(text, options.doc)
        print(f"\nwritten to {options.doc}")


if __name__ == "__main__":
    main(sys.argv[1:])
