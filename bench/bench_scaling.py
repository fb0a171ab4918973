"""Public-read throughput: one API node on the primary, against two nodes on primary + streaming replica.

    uv run python -m bench.bench_scaling [--duration 5] [--connections 32] [--workers 1] [--rounds 1] [--writes 20]

Everything runs as real processes on this machine (bench/cluster.py): a primary made with ``initdb``, a standby
made with ``pg_basebackup -R``, ``hibah serve --demo`` nodes, ``wrk`` against each node (two wrk processes at
once for two nodes, the connections split between them). The mix rotates over the public reads the election
night brings: the agreement list, a position, summaries by region, the compliance findings.

Per setup the table gives requests/s, p50/p99, and the CPU seconds per 1,000 requests of the API processes, of
the primary's PostgreSQL and of the standby's (psutil, over each process tree); requests per API core follows.
With ``--writes N`` a writer posts N regions per second through node A during the two-node run, and the
standby's replay lag is sampled every 0.2 s (seconds, as the API measures it, and bytes of WAL behind).

On two shared cores the two-node setup cannot double anything: the point is that the path works and where the
CPU goes (API vs database), which is what the sizing in docs/scaling.md is built from.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import httpx
import psutil
import psycopg

from bench.cluster import Node, Postgres, make_primary, make_standby, remove, start_node, workspace
from bench.harness import Load, create_key, result_line, write_wrk_script, wrk_command

LAG_SQL = """
SELECT CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
            ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()) END,
       pg_last_wal_replay_lsn()::text
"""


def postgres_tree(server: Postgres) -> list[psutil.Process]:
    pid = int((server.data / "postmaster.pid").read_text().split()[0])
    parent = psutil.Process(pid)
    return [parent, *parent.children(recursive=True)]


def cpu_of(processes: list[psutil.Process]) -> dict[int, float]:
    """CPU seconds by process: a backend that exits between two readings is left out, never counted negative."""
    seconds: dict[int, float] = {}
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        seconds[process.pid] = times.user + times.system
    return seconds


def cpu_delta(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(spent - before.get(pid, 0.0) for pid, spent in after.items())


def node_tree(node: Node) -> list[psutil.Process]:
    parent = psutil.Process(node.process.pid)
    return [parent, *parent.children(recursive=True)]


@dataclass
class Row:
    setup: str
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    api_cpu_per_k: float
    primary_cpu_per_k: float
    standby_cpu_per_k: float
    replica_share: float
    max_lag_s: float | None = None
    max_lag_bytes: int | None = None
    written: int = 0


def run_load(nodes: list[Node], paths: list[str], seconds: float, connections: int, work: Path) -> Load:
    script = write_wrk_script(work / "paths.lua", paths)
    share = max(connections // len(nodes), 1)
    procs = [
        subprocess.Popen(
            wrk_command(script, node.port, seconds, share, 1), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for node in nodes
    ]
    results = [result_line(proc.communicate()[0]) for proc in procs]
    requests = sum(int(r["requests"]) - int(r["errors"]) for r in results)
    return Load(
        requests=requests,
        seconds=max(r["duration_us"] for r in results) / 1e6,
        p50_ms=statistics.mean(r["p50_us"] for r in results) / 1000,
        p99_ms=max(r["p99_us"] for r in results) / 1000,
        errors=sum(int(r["errors"]) for r in results),
    )


def xacts(server: Postgres) -> int:
    with psycopg.connect(server.url(), autocommit=True) as connection:
        row = connection.execute(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = 'hibah'"
        ).fetchone()
    return int(row[0]) if row else 0


class Writer(threading.Thread):
    """N region POSTs per second through a node, while the standby's lag is sampled."""

    def __init__(self, node: Node, key: str, per_second: int, primary: Postgres, standby: Postgres) -> None:
        super().__init__(daemon=True)
        self.node, self.key, self.per_second = node, key, per_second
        self.primary, self.standby = primary, standby
        self.stop = threading.Event()
        self.written = 0
        self.max_lag_s = 0.0
        self.max_lag_bytes = 0

    def _codes(self) -> list[tuple[str, str]]:
        provinces = [f"{p}" for p in (11, 12, 13, 14, 15, 16, 17, 18, 19, 21, 31, 32, 33, 34, 36, 51, 52, 53, 61, 62)]
        out = [(p, f"Provinsi {p}") for p in provinces]
        out += [(f"{p}.{r:02d}", f"Kabupaten {p}.{r:02d}") for p in provinces for r in range(1, 70)]
        return out

    def run(self) -> None:
        codes = iter(self._codes())
        headers = {"Authorization": f"Bearer {self.key}"}
        sampler = threading.Thread(target=self._sample, daemon=True)
        sampler.start()
        with httpx.Client(base_url=f"{self.node.base}/api/v1", headers=headers, timeout=30) as client:
            while not self.stop.is_set():
                started = time.monotonic()
                for _ in range(self.per_second):
                    code, name = next(codes)
                    if client.post("/regions", json={"code": code, "name": name}).status_code == 201:
                        self.written += 1
                time.sleep(max(0.0, 1 - (time.monotonic() - started)))
        sampler.join()

    def _sample(self) -> None:
        with (
            psycopg.connect(self.primary.url(), autocommit=True) as primary,
            psycopg.connect(self.standby.url(), autocommit=True) as standby,
        ):
            while not self.stop.is_set():
                lag_row = standby.execute(LAG_SQL).fetchone()
                current = primary.execute("SELECT pg_current_wal_lsn()::text").fetchone()
                assert lag_row is not None
                assert current is not None
                behind = primary.execute("SELECT pg_wal_lsn_diff(%s, %s)", (current[0], lag_row[1])).fetchone()
                self.max_lag_s = max(self.max_lag_s, float(lag_row[0] or 0))
                self.max_lag_bytes = max(self.max_lag_bytes, int(behind[0]) if behind else 0)
                time.sleep(0.2)


def measure(
    *,
    setup: str,
    nodes: list[Node],
    primary: Postgres,
    standby: Postgres,
    paths: list[str],
    args: argparse.Namespace,
    work: Path,
    writer: Writer | None = None,
) -> Row:
    run_load(nodes, paths, 2, args.connections, work)  # warm-up: pools filled, pages compiled
    api = [p for node in nodes for p in node_tree(node)]
    before = (cpu_of(api), cpu_of(postgres_tree(primary)), cpu_of(postgres_tree(standby)))
    standby_before, primary_before = xacts(standby), xacts(primary)
    if writer is not None:
        writer.start()
    load = run_load(nodes, paths, args.duration, args.connections, work)
    if writer is not None:
        writer.stop.set()
        writer.join()
    after = (cpu_of(api), cpu_of(postgres_tree(primary)), cpu_of(postgres_tree(standby)))
    on_standby, on_primary = xacts(standby) - standby_before, xacts(primary) - primary_before
    per_k = 1000 / max(load.requests, 1)
    return Row(
        setup=setup,
        rps=load.rps,
        p50_ms=load.p50_ms,
        p99_ms=load.p99_ms,
        errors=load.errors,
        api_cpu_per_k=cpu_delta(before[0], after[0]) * per_k,
        primary_cpu_per_k=cpu_delta(before[1], after[1]) * per_k,
        standby_cpu_per_k=cpu_delta(before[2], after[2]) * per_k,
        replica_share=on_standby / max(on_standby + on_primary, 1),
        max_lag_s=writer.max_lag_s if writer else None,
        max_lag_bytes=writer.max_lag_bytes if writer else None,
        written=writer.written if writer else 0,
    )


def table(rows: list[Row]) -> str:
    """CPU seconds per 1,000 requests = milliseconds of CPU per request."""
    lines = [
        "| setup | req/s | p50 ms | p99 ms | errors | API CPU s / 1k req | primary CPU s / 1k | standby CPU s / 1k "
        "| transactions on standby | max replay lag |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        lag = "" if row.max_lag_s is None else f"{row.max_lag_s:.3f} s, {row.max_lag_bytes} B ({row.written} written)"
        lines.append(
            f"| {row.setup} | {row.rps:,.0f} | {row.p50_ms:.1f} | {row.p99_ms:.1f} | {row.errors} "
            f"| {row.api_cpu_per_k:.2f} | {row.primary_cpu_per_k:.2f} | {row.standby_cpu_per_k:.2f} "
            f"| {row.replica_share:.0%} | {lag} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=5)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1, help="workers per node")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--writes", type=int, default=20, help="region POSTs per second during the last run")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (apt-get install wrk)")
    root = workspace("hibah-bench-scaling-")
    work = Path(tempfile.mkdtemp(prefix="hibah-bench-wrk-"))
    nodes: list[Node] = []
    try:
        primary = make_primary(root)
        seed = start_node(root, primary.url(), demo=True)  # migrates, loads the demo, then stops
        seed.stop()
        standby = make_standby(primary, root)
        with psycopg.connect(primary.url(), autocommit=True) as connection:
            row = connection.execute("SELECT min(id) FROM agreement").fetchone()
        agreement = row[0] if row else 1
        endpoints = {
            "agreements list": "/api/v1/agreements",
            "position": f"/api/v1/agreements/{agreement}/position",
            "region": "/api/v1/regions/35.74",
            "summaries": "/api/v1/summaries?group_by=region",
            "findings": "/api/v1/compliance/findings",
        }
        key = create_key(primary.url(), "admin", "bench writer")
        rows: list[Row] = []
        run = partial(measure, primary=primary, standby=standby, args=args, work=work)
        for round_number in range(args.rounds):
            last = round_number == args.rounds - 1
            nodes = [start_node(root, primary.url(), workers=args.workers)]
            for name, path in endpoints.items():
                rows.append(run(setup=f"{name}: 1 node, primary", nodes=nodes, paths=[path]))
            nodes[0].stop()
            nodes = [start_node(root, primary.url(), replicas=standby.url(), workers=args.workers) for _ in range(2)]
            for name, path in endpoints.items():
                rows.append(run(setup=f"{name}: 2 nodes, primary + standby", nodes=nodes, paths=[path]))
            if last and args.writes:
                writer = Writer(nodes[0], key, args.writes, primary, standby)
                setup = f"position: 2 nodes, primary + standby, {args.writes} region POSTs/s on node A"
                rows.append(run(setup=setup, nodes=nodes, paths=[endpoints["position"]], writer=writer))
            for node in nodes:
                node.stop()
            nodes = []
        print(
            f"cores: {os.cpu_count()}, {args.workers} worker(s) per node, {args.connections} connections, "
            f"{args.duration:g} s per run, {args.rounds} round(s); paths: {', '.join(endpoints.values())}"
        )
        print(table(rows))
    finally:
        for node in nodes:
            node.stop()
        for data in ("standby", "primary"):
            server = Postgres(root / data, 0)
            if server.running():
                server.stop("immediate")
        remove(root)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
