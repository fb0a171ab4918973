"""Oversight at national scale: summaries, compliance findings and exports over ~3,000,000 usage items.

    uv run python -m bench.bench_oversight [--rebuild] [--items 3000000] [--requests 100] [--export-runs 3]
                                           [--xlsx-overflow] [--no-rab] [--no-doc]

In one run, against a generated national dataset kept in ``hibah_national`` on the machine PostgreSQL
(postgresql://postgres@127.0.0.1:5432; built once with ``uv run hibah migrate`` and
``uv run hibah generate national --items N``, then reused while it holds about N usage items; ``--rebuild``
drops and builds it again):

1. ``GET /api/v1/summaries?group_by=province|region|recipient_kind`` (the summary reads the running totals
   on the agreement rows) against a plain SQL GROUP BY over the base tables that computes the same numbers
   without running totals (usage items through their reports, disbursements less reversals, refunds), run
   directly with asyncpg and timed the same way; the figures of both must agree to the cent;
2. ``GET /api/v1/compliance/findings?as_of=2025-06-30`` for every region, with the findings counted by rule;
   then again with five RAB budget lines per agreement, added for that block and deleted after (``--no-rab``
   skips it), because the over-budget check sums usage items only when budget lines exist;
3. ``GET /api/v1/exports/usage-items.csv`` with an auditor key, every row streamed to nowhere, with the
   server's peak RSS sampled every 50 ms; the XLSX exports of agreements and findings, and usage-items.xlsx
   for one province (the XLSX writer builds the whole file before the first byte).

The server is ``uv run hibah serve --no-migrate --workers 1`` with ``HIBAH_LOG_LEVEL=warning``; every
measurement is sequential (one request at a time) after a warm-up. Before each block the script waits until
no other ``bench.bench_(regions|ledger|import)`` runs and the machine is quiet. The tables go to stdout and
into ``docs/performance.md`` between the ``bench_oversight`` markers.
"""

import argparse
import asyncio
import os
import re
import shlex
import statistics
import sys
import tempfile
import time
import zipfile
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil

from bench.harness import (
    MACHINE_SERVER,
    DocSection,
    RssSampler,
    add_doc_options,
    app_command,
    connected,
    cpu_seconds,
    create_key,
    database_exists,
    fresh_database,
    hibah,
    machine_facts,
    migrate,
    run_env,
    serving,
    wait_for_quiet,
    with_database,
)


class Target:
    """The database the run uses: ``hibah_national`` unless ``--database`` names another (a small trial)."""

    database = "hibah_national"


DOC_SECTION = DocSection(
    start="<!-- bench_oversight:start -->",
    end="<!-- bench_oversight:end -->",
    heading="## Oversight at national scale",
    notes="<!-- bench_oversight:notes (kept when the script rewrites this section) -->",
)
POSTGRES_SETTINGS = ("shared_buffers", "work_mem", "max_parallel_workers_per_gather", "jit")
APP_ENV = {"HIBAH_LOG_LEVEL": "warning"}
AS_OF = "2025-06-30"
SUMMARY_TARGET_MS = 20.0
EXPORT_TARGET_ROWS_S = 100_000.0
RSS_TARGET_MB = 200.0
MONEY = ("amount", "disbursed", "undisbursed", "spent_reported", "spent_accepted", "refunded", "held")
COUNTED = "('submitted', 'accepted')"
TABLES = ("region", "agreement", "disbursement", "disbursement_reversal", "refund", "usage_report", "usage_item")


# --- options -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    rebuild: bool
    items: int
    requests: int
    warmup: int
    sql_requests: int
    small_requests: int
    export_runs: int
    xlsx_province: str
    xlsx_overflow: bool
    rab: bool
    quiet_wait: float
    quiet_threshold: float
    doc: Path
    write_doc: bool


def parse_options(argv: Sequence[str]) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_oversight", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rebuild", action="store_true", help="drop and generate hibah_national again")
    parser.add_argument("--database", default=Target.database, help="database name (default hibah_national)")
    parser.add_argument("--items", type=int, default=3_000_000, help="usage items to generate (default 3,000,000)")
    parser.add_argument("--requests", type=int, default=100, help="timed requests per summary (default 100)")
    parser.add_argument("--warmup", type=int, default=5, help="discarded requests before each timing (default 5)")
    parser.add_argument("--sql-requests", type=int, default=50, help="timed base-table SQL runs (default 50)")
    parser.add_argument("--small-requests", type=int, default=50, help="timed findings/XLSX requests (default 50)")
    parser.add_argument("--export-runs", type=int, default=3, help="full usage-items.csv exports (default 3)")
    parser.add_argument("--xlsx-province", default="35", help="province filter of usage-items.xlsx (default 35)")
    parser.add_argument(
        "--xlsx-overflow",
        action="store_true",
        help="also export usage-items.xlsx?category=honorarium_adhoc (over 1,048,576 rows) and count the rows",
    )
    parser.add_argument(
        "--no-rab", dest="rab", action="store_false", help="skip the findings run with RAB budget lines"
    )
    parser.add_argument("--quiet-wait", type=float, default=120, help="longest wait for the CPU to settle, s")
    parser.add_argument("--quiet-threshold", type=float, default=30.0, help="machine CPU %% that counts as quiet")
    add_doc_options(parser)
    args = parser.parse_args(argv)
    if min(args.requests, args.sql_requests, args.small_requests) < 1 or args.export_runs < 1:
        parser.error("request and run counts must be positive")
    Target.database = args.database
    return Options(
        rebuild=args.rebuild,
        items=args.items,
        requests=args.requests,
        warmup=args.warmup,
        sql_requests=args.sql_requests,
        small_requests=args.small_requests,
        export_runs=args.export_runs,
        xlsx_province=args.xlsx_province,
        xlsx_overflow=args.xlsx_overflow,
        rab=args.rab,
        quiet_wait=args.quiet_wait,
        quiet_threshold=args.quiet_threshold,
        doc=args.doc,
        write_doc=args.write_doc,
    )


# --- the machine ---------------------------------------------------------------------------------


def settle(options: Options) -> float:
    """Wait for other benchmarks and the machine's CPU as the options say; the busy percentage at the end."""
    return wait_for_quiet(options.quiet_wait, options.quiet_threshold)


class CpuWatch:
    """CPU over one measurement: the server's, and that of everything else on the machine.

    "Others" is every process but this script, the server (and its ``uv run``) and PostgreSQL, as a share of
    all cores: other people's work that competed with the measurement. Processes that both started and ended
    inside the window are not seen.
    """

    def __init__(self, server: psutil.Process | None) -> None:
        self.server = server
        self.started = self.server_cpu = self.elapsed = self.server_used = self.others_percent = 0.0
        self.others: dict[int, tuple[float, float]] = {}

    def _excluded(self) -> set[int]:
        mine = {os.getpid()}
        if self.server is not None:
            mine |= {self.server.pid, self.server.ppid()}
        return mine

    def __enter__(self) -> "CpuWatch":
        self.started = time.perf_counter()
        self.server_cpu = cpu_seconds(self.server) if self.server else 0.0
        self.others = _other_processes(self._excluded())
        return self

    def __exit__(self, *_: object) -> None:
        self.elapsed = time.perf_counter() - self.started
        self.server_used = cpu_seconds(self.server) - self.server_cpu if self.server else 0.0
        used = 0.0
        for pid, (created, cpu) in _other_processes(self._excluded()).items():
            before = self.others.get(pid)
            used += cpu - before[1] if before and before[0] == created else cpu
        self.others_percent = 100.0 * used / (self.elapsed * (os.cpu_count() or 1))


def _other_processes(excluded: set[int]) -> dict[int, tuple[float, float]]:
    """(start time, CPU seconds) of every process but ``excluded`` and PostgreSQL's."""
    found = {}
    for process in psutil.process_iter(["name", "create_time", "cpu_times"]):
        times = process.info["cpu_times"]
        if process.pid in excluded or times is None or (process.info["name"] or "").startswith("postgres"):
            continue
        found[process.pid] = (process.info["create_time"], times.user + times.system)
    return found


# --- the dataset ---------------------------------------------------------------------------------


def database_url() -> str:
    return with_database(MACHINE_SERVER, Target.database)


async def _usage_items() -> int | None:
    async with connected(database_url()) as connection:
        if not await connection.fetchval("SELECT to_regclass('usage_item') IS NOT NULL"):
            return None
        count: int = await connection.fetchval("SELECT count(*) FROM usage_item")
        return count


def usage_items_held() -> int | None:
    if not database_exists(MACHINE_SERVER, Target.database):
        return None
    return asyncio.run(_usage_items())


@dataclass(frozen=True)
class Dataset:
    built: str
    """How this run came by the dataset: generated (with the time it took) or reused."""
    rows: dict[str, int]
    size: str


def ensure_dataset(options: Options, work: Path) -> Dataset:
    held = usage_items_held()
    if not options.rebuild and held is not None and held >= options.items * 0.99:
        built = f"reused (already held {held:,} usage items)"
    else:
        print(f"building {Target.database}: {options.items:,} usage items (held: {held})")
        settle(options)
        url = fresh_database(Target.database, MACHINE_SERVER)
        log = work / "generate.log"
        started = time.perf_counter()
        migrate(url, log)
        out = hibah(url, "generate", "national", "--items", str(options.items), log=log)
        generated = time.perf_counter() - started
        asyncio.run(vacuum_analyze())
        built = f"generated in this run: {out.strip().splitlines()[-1]} in {generated / 60:.1f} min"
        print(f"  {built}")
    rows, size = asyncio.run(dataset_facts())
    return Dataset(built, rows, size)


async def vacuum_analyze() -> None:
    """Set the visibility map and statistics as autovacuum eventually would, so runs do not race it."""
    async with connected(database_url()) as connection:
        await connection.execute("VACUUM (ANALYZE)")


async def dataset_facts() -> tuple[dict[str, int], str]:
    async with connected(database_url()) as connection:
        rows = {table: int(await connection.fetchval(f"SELECT count(*) FROM {table}")) for table in TABLES}
        size: str = await connection.fetchval("SELECT pg_size_pretty(pg_database_size(current_database()))")
        return rows, size


# --- timing --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Timing:
    seconds: list[float]
    server_cpu_s: float = 0.0
    others_percent: float = 0.0

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.seconds) * 1000

    @property
    def p95_ms(self) -> float:
        if len(self.seconds) < 2:
            return self.seconds[0] * 1000
        return statistics.quantiles(self.seconds, n=100, method="inclusive")[94] * 1000

    @property
    def cpu_ms_per_request(self) -> float:
        return self.server_cpu_s / len(self.seconds) * 1000


def time_requests(
    client: httpx.Client, server: psutil.Process, path: str, params: dict[str, str], *, count: int, warmup: int
) -> tuple[Timing, httpx.Response]:
    last: httpx.Response | None = None
    for _ in range(warmup):
        last = client.get(path, params=params)
        last.raise_for_status()
    seconds = []
    with CpuWatch(server) as watch:
        for _ in range(count):
            started = time.perf_counter()
            last = client.get(path, params=params)
            seconds.append(time.perf_counter() - started)
            last.raise_for_status()
    assert last is not None
    return Timing(seconds, watch.server_used, watch.others_percent), last


async def time_sql(sql: str, count: int, warmup: int) -> tuple[Timing, list[asyncpg.Record]]:
    async with connected(database_url()) as connection:
        rows: list[asyncpg.Record] = []
        for _ in range(warmup):
            rows = await connection.fetch(sql)
        seconds = []
        with CpuWatch(None) as watch:
            for _ in range(count):
                started = time.perf_counter()
                rows = await connection.fetch(sql)
                seconds.append(time.perf_counter() - started)
        return Timing(seconds, 0.0, watch.others_percent), rows


# --- summaries -----------------------------------------------------------------------------------

# (key columns selected, GROUP BY columns, join) per grouping; keys are named as in the API's rows.
GROUPINGS: dict[str, tuple[str, str, str]] = {
    "province": (
        "a.province_code AS province_code, p.name AS province_name",
        "a.province_code, p.name",
        "JOIN region p ON p.code = a.province_code",
    ),
    "region": (
        "a.region_code AS region_code, r.name AS region_name",
        "a.region_code, r.name",
        "JOIN region r ON r.code = a.region_code",
    ),
    "recipient_kind": ("a.recipient_kind AS recipient_kind", "a.recipient_kind", ""),
}
KEY_OF = {"province": "province_code", "region": "region_code", "recipient_kind": "recipient_kind"}


def base_table_sql(group_by: str) -> str:
    """The summary from the base tables alone: items through their reports, payments less reversals, refunds.

    Each source is summed per agreement first, then per group, with the national total as the empty
    grouping set, so the one statement returns what the endpoint's two do.
    """
    keys, group, join = GROUPINGS[group_by]
    return f"""
WITH spent AS (
    SELECT ur.agreement_id,
           sum(ui.amount) FILTER (WHERE ur.status IN {COUNTED}) AS spent_reported,
           sum(ui.amount) FILTER (WHERE ur.status = 'accepted') AS spent_accepted
    FROM usage_item ui JOIN usage_report ur ON ur.id = ui.report_id
    GROUP BY ur.agreement_id
), paid AS (
    SELECT agreement_id, sum(amount) AS paid FROM disbursement GROUP BY agreement_id
), reversed AS (
    SELECT agreement_id, sum(amount) AS reversed FROM disbursement_reversal GROUP BY agreement_id
), refunded AS (
    SELECT agreement_id, sum(amount) AS refunded FROM refund GROUP BY agreement_id
)
SELECT {keys},
       count(*) AS agreements,
       count(*) FILTER (WHERE a.status = 'closed') AS closed,
       coalesce(sum(a.amount), 0) AS amount,
       coalesce(sum(coalesce(paid.paid, 0) - coalesce(reversed.reversed, 0)), 0) AS disbursed,
       coalesce(sum(spent.spent_reported), 0) AS spent_reported,
       coalesce(sum(spent.spent_accepted), 0) AS spent_accepted,
       coalesce(sum(refunded.refunded), 0) AS refunded,
       GROUPING({group}) AS is_total
FROM agreement a
{join}
LEFT JOIN spent ON spent.agreement_id = a.id
LEFT JOIN paid ON paid.agreement_id = a.id
LEFT JOIN reversed ON reversed.agreement_id = a.id
LEFT JOIN refunded ON refunded.agreement_id = a.id
GROUP BY GROUPING SETS (({group}), ())
ORDER BY is_total, {group}
"""


def running_totals_sql(group_by: str) -> str:
    """The endpoint's own grouped query over the agreement rows' running totals, without the HTTP stack."""
    keys, group, join = GROUPINGS[group_by]
    return f"""
SELECT {keys}, count(*) AS agreements, count(*) FILTER (WHERE a.status = 'closed') AS closed,
       coalesce(sum(a.amount), 0) AS amount, coalesce(sum(a.disbursed), 0) AS disbursed,
       coalesce(sum(a.spent_reported), 0) AS spent_reported, coalesce(sum(a.spent_accepted), 0) AS spent_accepted,
       coalesce(sum(a.refunded), 0) AS refunded
FROM agreement a {join}
GROUP BY {group} ORDER BY {group}
"""


def absorption(spent_accepted: Decimal, disbursed: Decimal) -> str:
    """The API's absorption figure: accepted spending over what was paid, four places."""
    if disbursed <= 0:
        return "0.0000"
    return f"{spent_accepted / disbursed:.4f}"


def figures_of(values: dict[str, Any]) -> dict[str, str]:
    """The money, counts and absorption of one row, in the API's string form."""
    money = {name: Decimal(values[name]) for name in ("amount", "disbursed", "spent_reported", "spent_accepted")}
    money["refunded"] = Decimal(values["refunded"])
    money["undisbursed"] = money["amount"] - money["disbursed"]
    money["held"] = money["disbursed"] - money["spent_reported"] - money["refunded"]
    figures = {name: f"{money[name]:.2f}" for name in MONEY}
    figures |= {"agreements": str(values["agreements"]), "closed": str(values["closed"])}
    figures["absorption"] = absorption(money["spent_accepted"], money["disbursed"])
    return figures


def compare(group_by: str, body: dict[str, Any], rows: Sequence[asyncpg.Record]) -> str:
    """``"yes"`` when every group and the total agree to the cent, else the first difference."""
    key = KEY_OF[group_by]
    api = {str(row[key]): figures_of(row) for row in body["data"]}
    api["(total)"] = figures_of(body["total"])
    sql = {("(total)" if row["is_total"] else str(row[key])): figures_of(dict(row)) for row in rows}
    if api.keys() != sql.keys():
        return f"no: groups differ ({len(api)} vs {len(sql)})"
    for name, figures in api.items():
        for field_name, value in figures.items():
            if sql[name][field_name] != value:
                return f"no: {name} {field_name} API {value} vs SQL {sql[name][field_name]}"
    return "yes"


@dataclass(frozen=True)
class SummaryResult:
    group_by: str
    groups: int
    api: Timing
    base_sql: Timing
    totals_sql: Timing
    agree: str
    national_disbursed: str


def measure_summaries(options: Options, client: httpx.Client, server: psutil.Process) -> list[SummaryResult]:
    results = []
    for group_by in ("province", "region", "recipient_kind"):
        settle(options)
        api, response = time_requests(
            client, server, "/api/v1/summaries", {"group_by": group_by}, count=options.requests, warmup=options.warmup
        )
        body = response.json()
        base, rows = asyncio.run(time_sql(base_table_sql(group_by), options.sql_requests, min(options.warmup, 3)))
        totals, _ = asyncio.run(time_sql(running_totals_sql(group_by), options.requests, options.warmup))
        result = SummaryResult(
            group_by, len(body["data"]), api, base, totals, compare(group_by, body, rows), body["total"]["disbursed"]
        )
        print(
            f"  summaries group_by={group_by}: API p50 {api.p50_ms:.2f} ms, base-table SQL p50 {base.p50_ms:.1f} ms,"
            f" running-total SQL p50 {totals.p50_ms:.2f} ms, figures agree: {result.agree}"
        )
        results.append(result)
    return results


# --- findings ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FindingsResult:
    label: str
    timing: Timing
    by_rule: dict[str, int]
    agreements: int
    body_bytes: int


# Five RAB lines per agreement, one per (stage, category) the generator spends on, adding up to the amount.
RAB_LINES = """
INSERT INTO budget_line (agreement_id, stage, category, amount)
SELECT a.id, c.stage, c.category,
       CASE WHEN c.last THEN a.amount - 4 * round(a.amount / 5, 2) ELSE round(a.amount / 5, 2) END
FROM agreement a CROSS JOIN (VALUES
    ('pemungutan_suara', 'honorarium_adhoc', false), ('pembentukan_badan_adhoc', 'honorarium_adhoc', false),
    ('logistik', 'logistik', false), ('sosialisasi', 'sosialisasi', false),
    ('dukungan_operasional', 'atk_operasional', true)) AS c(stage, category, last)
"""


async def budget_lines(add: bool) -> int:
    """Add the RAB lines to an empty ``budget_line`` (returns how many), or remove them again."""
    async with connected(database_url()) as connection:
        if add:
            if await connection.fetchval("SELECT count(*) FROM budget_line"):
                return 0
            added = int((await connection.execute(RAB_LINES)).split()[-1])
        else:
            await connection.execute("DELETE FROM budget_line")
            added = 0
        await connection.execute("VACUUM (ANALYZE) budget_line")
        return added


def measure_findings(options: Options, client: httpx.Client, server: psutil.Process) -> list[FindingsResult]:
    """Findings on the generated records, then again with RAB lines, whose check sums every usage item."""
    results = [findings_once(options, client, server, "generated records (no RAB lines)")]
    if not options.rab:
        return results
    added = asyncio.run(budget_lines(add=True))
    if not added:
        print("  budget_line is not empty: the run with RAB lines is skipped")
        return results
    try:
        label = f"with {added:,} RAB lines (5 per agreement, each 20% of the amount; added for this row, then deleted)"
        results.append(findings_once(options, client, server, label))
    finally:
        asyncio.run(budget_lines(add=False))
    return results


def findings_once(options: Options, client: httpx.Client, server: psutil.Process, label: str) -> FindingsResult:
    settle(options)
    timing, response = time_requests(
        client,
        server,
        "/api/v1/compliance/findings",
        {"as_of": AS_OF},
        count=options.small_requests,
        warmup=options.warmup,
    )
    data = response.json()["data"]
    by_rule = Counter(finding["rule"] for finding in data)
    print(f"  findings as_of={AS_OF}, {label}: p50 {timing.p50_ms:.1f} ms, {len(data):,} findings {dict(by_rule)}")
    return FindingsResult(
        label, timing, dict(sorted(by_rule.items())), len({f["agreement_id"] for f in data}), len(response.content)
    )


# --- exports -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportRun:
    seconds: float
    first_byte_s: float
    bytes: int
    rows: int
    baseline_rss: int
    peak_rss: int
    rss_samples: int
    server_cpu_s: float
    others_percent: float

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds


def export(
    client: httpx.Client,
    server: psutil.Process,
    path: str,
    params: dict[str, str],
    *,
    sink: Callable[[bytes], object],
    count_rows: Callable[[], int] | None = None,
) -> ExportRun:
    """One streamed export; rows are the lines after the header unless ``count_rows`` says otherwise."""
    size = lines = 0
    first_byte = 0.0
    baseline = server.memory_info().rss
    with RssSampler(server) as rss, CpuWatch(server) as watch:
        started = time.perf_counter()
        with client.stream("GET", path, params=params) as response:
            response.raise_for_status()
            for chunk in response.iter_raw(256 * 1024):
                if not size:
                    first_byte = time.perf_counter() - started
                size += len(chunk)
                lines += chunk.count(b"\n")
                sink(chunk)
        seconds = time.perf_counter() - started
    rows = count_rows() if count_rows else lines - 1
    return ExportRun(
        seconds, first_byte, size, rows, baseline, rss.peak, rss.samples, watch.server_used, watch.others_percent
    )


def discard(_: bytes) -> None:
    return None


def xlsx_rows(path: Path) -> int:
    """Data rows over every worksheet (the export continues on a new sheet past 1,048,576 rows), headers not
    counted, read as a stream from the zip."""
    with zipfile.ZipFile(path) as archive:
        sheets = [name for name in archive.namelist() if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", name)]
        return sum(_sheet_rows(archive, name) - 1 for name in sheets)


def _sheet_rows(archive: zipfile.ZipFile, name: str) -> int:
    with archive.open(name) as sheet:
        rows = 0
        tail = b""
        while chunk := sheet.read(1024 * 1024):
            data = tail + chunk
            rows += data.count(b"<row ")
            tail = data[-8:]
            rows -= tail.count(b"<row ")  # counted again with the next chunk
        return rows + tail.count(b"<row ")


@dataclass(frozen=True)
class SmallExport:
    name: str
    params: dict[str, str]
    timing: Timing
    rows: int
    bytes: int


@dataclass
class ExportResults:
    csv_runs: list[ExportRun] = field(default_factory=list)
    small: list[SmallExport] = field(default_factory=list)
    xlsx_items: ExportRun | None = None
    xlsx_items_expected: int = 0
    overflow: ExportRun | None = None
    overflow_expected: int = 0


def measure_exports(
    options: Options, client: httpx.Client, server: psutil.Process, work: Path, expected_items: int
) -> ExportResults:
    results = ExportResults()
    path = "/api/v1/exports/usage-items.csv"
    for number in range(options.export_runs):
        settle(options)
        run = export(client, server, path, {}, sink=discard)
        if run.rows != expected_items:
            raise SystemExit(f"usage-items.csv gave {run.rows:,} rows, the database holds {expected_items:,}")
        print(
            f"  usage-items.csv run {number + 1}: {run.rows:,} rows, {run.bytes / 2**20:.0f} MiB"
            f" in {run.seconds:.1f} s = {run.rows_per_s:,.0f} rows/s,"
            f" server RSS {run.baseline_rss / 2**20:.0f} -> {run.peak_rss / 2**20:.0f} MB"
        )
        results.csv_runs.append(run)
    settle(options)
    for name, params in (
        ("agreements.xlsx", {}),
        ("findings.xlsx", {"as_of": AS_OF}),
        ("agreements.csv", {}),
        ("findings.csv", {"as_of": AS_OF}),
    ):
        timing, response = time_requests(
            client,
            server,
            f"/api/v1/exports/{name}",
            params,
            count=options.small_requests,
            warmup=min(options.warmup, 2),
        )
        if name.endswith(".xlsx"):
            target = work / name
            target.write_bytes(response.content)
            rows = xlsx_rows(target)
        else:
            rows = response.content.count(b"\n") - 1
        results.small.append(SmallExport(name, params, timing, rows, len(response.content)))
        print(f"  {name}: {rows:,} rows, p50 {timing.p50_ms:.1f} ms")
    results.xlsx_items, results.xlsx_items_expected = xlsx_export(
        options, client, server, work, {"province": options.xlsx_province}
    )
    if options.xlsx_overflow:
        results.overflow, results.overflow_expected = xlsx_export(
            options, client, server, work, {"category": "honorarium_adhoc"}
        )
    return results


def xlsx_export(
    options: Options, client: httpx.Client, server: psutil.Process, work: Path, params: dict[str, str]
) -> tuple[ExportRun, int]:
    """usage-items.xlsx with a filter, saved and its rows counted, against the rows the filter selects."""
    expected = asyncio.run(items_matching(params))
    settle(options)
    target = work / "usage-items.xlsx"
    with target.open("wb") as file:
        run = export(
            client,
            server,
            "/api/v1/exports/usage-items.xlsx",
            params,
            sink=file.write,
            count_rows=lambda: 0,
        )
    run = replace(run, rows=xlsx_rows(target))
    target.unlink()
    print(
        f"  usage-items.xlsx {params}: {run.rows:,} of {expected:,} rows in {run.seconds:.1f} s"
        f" (first byte after {run.first_byte_s:.1f} s), server RSS peak {run.peak_rss / 2**20:.0f} MB"
    )
    return run, expected


async def items_matching(params: dict[str, str]) -> int:
    async with connected(database_url()) as connection:
        if "province" in params:
            sql = (
                "SELECT count(*) FROM usage_item ui JOIN usage_report ur ON ur.id = ui.report_id"
                " JOIN agreement a ON a.id = ur.agreement_id WHERE a.province_code = $1"
            )
            value = params["province"]
        else:
            sql, value = "SELECT count(*) FROM usage_item WHERE category = $1", params["category"]
        count: int = await connection.fetchval(sql, value)
        return count


# --- the report ----------------------------------------------------------------------------------


def verdict(met: bool) -> str:
    return "met" if met else "**missed**"


def ms(value: float) -> str:
    return f"{value:.2f}" if value < 100 else f"{value:,.0f}"


def summary_table(results: Sequence[SummaryResult]) -> str:
    lines = [
        "| GET /api/v1/summaries | groups | API p50 ms | API p95 ms | base-table SQL p50 ms | base-table SQL p95 ms"
        " | ratio SQL p50 / API p50 | running-total SQL p50 ms | server CPU ms/req | figures agree |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        ratio = r.base_sql.p50_ms / r.api.p50_ms
        lines.append(
            f"| `group_by={r.group_by}` | {r.groups} | {ms(r.api.p50_ms)} | {ms(r.api.p95_ms)}"
            f" | {ms(r.base_sql.p50_ms)} | {ms(r.base_sql.p95_ms)} | {ratio:,.1f}× | {ms(r.totals_sql.p50_ms)}"
            f" | {r.api.cpu_ms_per_request:.2f} | {r.agree} |"
        )
    return "\n".join(lines)


def findings_table(results: Sequence[FindingsResult]) -> str:
    lines = [
        f"| GET /api/v1/compliance/findings?as_of={AS_OF}, all regions | requests | p50 ms | p95 ms"
        " | server CPU ms/req | findings | agreements with findings | by rule | body |",
        "|---|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for result in results:
        t = result.timing
        rules = ", ".join(f"{rule} {count:,}" for rule, count in result.by_rule.items()) or "none"
        size = f"{result.body_bytes / 1024:,.0f} KiB"
        lines.append(
            f"| {result.label} | {len(t.seconds)} | {ms(t.p50_ms)} | {ms(t.p95_ms)} | {t.cpu_ms_per_request:.1f}"
            f" | {sum(result.by_rule.values()):,} | {result.agreements:,} | {rules} | {size} |"
        )
    return "\n".join(lines)


def export_table(results: ExportResults) -> str:
    runs = results.csv_runs
    rates = [run.rows_per_s for run in runs]
    peak = max(run.peak_rss for run in runs) / 2**20
    median_run = sorted(runs, key=lambda run: run.rows_per_s)[len(runs) // 2]
    lines = [
        "| export | rows | size | time (s) | rows/s | first byte (s) | server RSS before → peak (MB) | target |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
        f"| `usage-items.csv` (auditor), median of {len(runs)} | {median_run.rows:,}"
        f" | {median_run.bytes / 2**20:,.0f} MiB | {median_run.seconds:.1f} | {statistics.median(rates):,.0f}"
        f" | {median_run.first_byte_s:.2f} | {median_run.baseline_rss / 2**20:.0f} → {peak:.0f} (max of runs)"
        f" | ≥ {EXPORT_TARGET_ROWS_S:,.0f} rows/s: {verdict(statistics.median(rates) >= EXPORT_TARGET_ROWS_S)};"
        f" ≤ {RSS_TARGET_MB:.0f} MB: {verdict(peak <= RSS_TARGET_MB)} |",
    ]
    for name, run, expected in (
        ("`usage-items.xlsx?province=...` (auditor)", results.xlsx_items, results.xlsx_items_expected),
        ("`usage-items.xlsx?category=honorarium_adhoc` (auditor)", results.overflow, results.overflow_expected),
    ):
        if run is None:
            continue
        shown = f"{run.rows:,} of {expected:,}" + ("" if run.rows == expected else " **rows lost**")
        lines.append(
            f"| {name} | {shown} | {run.bytes / 2**20:,.1f} MiB | {run.seconds:.1f} | {run.rows_per_s:,.0f}"
            f" | {run.first_byte_s:.2f} | {run.baseline_rss / 2**20:.0f} → {run.peak_rss / 2**20:.0f} | — |"
        )
    lines += [
        "",
        "| small export (auditor) | rows | size | requests | p50 ms | p95 ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for small in results.small:
        query = "?" + "&".join(f"{k}={v}" for k, v in small.params.items()) if small.params else ""
        lines.append(
            f"| `{small.name}{query}` | {small.rows:,} | {small.bytes / 1024:,.0f} KiB | {len(small.timing.seconds)}"
            f" | {ms(small.timing.p50_ms)} | {ms(small.timing.p95_ms)} |"
        )
    return "\n".join(lines)


def province_label(table: str, province: str) -> str:
    return table.replace("province=...", f"province={province}")


def commands(options: Options) -> str:
    url = database_url()
    flags = [] if Target.database == "hibah_national" else ["--database", Target.database]
    flags += ["--xlsx-overflow"] if options.xlsx_overflow else []
    flags += [] if options.rab else ["--no-rab"]
    run = shlex.join(["uv", "run", "python", "-m", "bench.bench_oversight", *flags])
    return "\n".join(
        [
            "```sh",
            run,
            f"# dataset (once; again with --rebuild): DROP/CREATE DATABASE {Target.database}, then",
            f"DATABASE_URL={url} uv run hibah migrate",
            f"DATABASE_URL={url} uv run hibah generate national --items {options.items}",
            "# followed by VACUUM (ANALYZE)",
            f"DATABASE_URL={url} uv run hibah keys create --role auditor --name bench",
            f"DATABASE_URL={url} HIBAH_LOG_LEVEL=warning {shlex.join(app_command(1, 8000))}",
            "# then, one request at a time over one keep-alive httpx connection, after a warm-up:",
            "#   GET /api/v1/summaries?group_by={province,region,recipient_kind}"
            f"  x{options.requests} (warm-up {options.warmup})",
            "#   the base-table GROUP BY of bench/bench_oversight.py (base_table_sql), with asyncpg"
            f"  x{options.sql_requests}",
            f"#   GET /api/v1/compliance/findings?as_of={AS_OF}  x{options.small_requests}"
            + ("; again with RAB lines (bench/bench_oversight.py: RAB_LINES, deleted after)" if options.rab else ""),
            f"#   GET /api/v1/exports/usage-items.csv (Bearer auditor key)  x{options.export_runs}, RSS every 50 ms",
            f"#   GET /api/v1/exports/{{agreements,findings}}.{{xlsx,csv}}  x{options.small_requests}",
            f"#   GET /api/v1/exports/usage-items.xlsx?province={options.xlsx_province}  x1",
            *(
                ["#   GET /api/v1/exports/usage-items.xlsx?category=honorarium_adhoc  x1"]
                if options.xlsx_overflow
                else []
            ),
            "```",
        ]
    )


@dataclass(frozen=True)
class Report:
    started: datetime
    options: Options
    dataset: Dataset
    summaries: list[SummaryResult]
    findings: list[FindingsResult]
    exports: ExportResults
    facts: dict[str, str]


def section(report: Report) -> str:
    d = report.dataset
    counts = ", ".join(f"{table} {count:,}" for table, count in d.rows.items())
    province = report.summaries[0]
    others = [t.others_percent for r in report.summaries for t in (r.api, r.base_sql, r.totals_sql)]
    others += [f.timing.others_percent for f in report.findings]
    others += [small.timing.others_percent for small in report.exports.small]
    others += [run.others_percent for run in (*report.exports.csv_runs, report.exports.xlsx_items) if run]
    parts = [
        f"Run of {report.started:%Y-%m-%d %H:%M} UTC on `{Target.database}`: {counts}; {d.size} on disk."
        f" Dataset {d.built}.",
        "",
        f"National summary (`group_by=province`) p50 {ms(province.api.p50_ms)} ms against the target of"
        f" {SUMMARY_TARGET_MS:.0f} ms: {verdict(province.api.p50_ms <= SUMMARY_TARGET_MS)}."
        f" National disbursed: Rp{province.national_disbursed}.",
        "",
        summary_table(report.summaries),
        "",
        '"base-table SQL" recomputes the same figures without the running totals, in one statement with'
        " asyncpg (usage items through their reports, disbursements less reversals, refunds, per agreement, then"
        ' per group plus the national total); "running-total SQL" is the endpoint\'s grouped query alone, with'
        ' asyncpg; "figures agree" compares every group and the total of the API with the base-table SQL, to'
        " the cent.",
        "",
        findings_table(report.findings),
        "",
        province_label(export_table(report.exports), report.options.xlsx_province),
        "",
        "Every measurement ran one request at a time. Before each block the script waited until no other"
        f" benchmark ran, then up to {report.options.quiet_wait:.0f} s for the machine's CPU to drop under"
        f" {report.options.quiet_threshold:.0f}%; during the timed blocks, processes other than this script, its"
        f" server and PostgreSQL used {statistics.median(others):.1f}% of the machine (median over the blocks),"
        f" {max(others):.1f}% at most.",
        "",
        "Machine and software:",
        "",
        *(f"- {name}: {value}" for name, value in report.facts.items()),
        "",
        "Commands:",
        "",
        commands(report.options),
    ]
    return "\n".join(parts)


# --- main ----------------------------------------------------------------------------------------


def main(argv: Sequence[str]) -> None:
    options = parse_options(argv)
    started = datetime.now(UTC)
    work = Path(tempfile.mkdtemp(prefix="bench_oversight_"))
    dataset = ensure_dataset(options, work)
    url = database_url()
    facts = machine_facts(url, settings=POSTGRES_SETTINGS)
    key = create_key(url, "auditor", "bench", log=work / "keys.log")
    with serving(partial(app_command, 1), run_env(url, APP_ENV), work / "server.log") as running:
        running.wait_ready("/readyz")
        server = running.serving_process()
        timeout = httpx.Timeout(600.0, connect=10.0)
        with (
            httpx.Client(base_url=running.base, timeout=timeout) as public,
            httpx.Client(base_url=running.base, timeout=timeout, headers={"Authorization": f"Bearer {key}"}) as auditor,
        ):
            summaries = measure_summaries(options, public, server)
            found = measure_findings(options, public, server)
            exported = measure_exports(options, auditor, server, work, dataset.rows["usage_item"])
    report = Report(started, options, dataset, summaries, found, exported, facts)
    generated = section(report)
    print()
    print(generated)
    if options.write_doc:
        DOC_SECTION.write(generated, options.doc)
        print(f"\nwritten to {options.doc}")
    print(f"logs in {work}")


if __name__ == "__main__":
    main(sys.argv[1:])
