"""The change feed: how soon a follower is told of a commit, and what the NOTIFY costs a money POST.

    uv run python -m bench.bench_feed [--writes 200] [--followers 1 50] [--workers 2] [--burst 400] [--rounds 3]

On a fresh database (``hibah_bench_feed`` on the server of ``DATABASE_URL``, default the machine PostgreSQL),
migrated with ``uv run hibah migrate``, one ``hibah serve --workers N`` process tree:

(a) *told*: F followers, each on its own connection, loop on ``GET /api/v1/changes?after=<cursor>&wait=30``;
    one writer makes ``--writes`` disbursements one after another (a pause of 20 ms between them). For each
    write and follower: the time from sending the POST to the follower's answer naming that write's ``seq``
    (an upper bound of commit → told: it includes the POST's own work before its commit), beside the POST's
    own round trip. Every follower must see every write, once, in order, or the run fails.
(b) *POST cost*: ``--burst`` disbursements from 16 concurrent connections, with the NOTIFY trigger enabled
    and disabled (``ALTER TABLE audit_event DISABLE TRIGGER audit_event_notify``), alternating, ``--rounds``
    times each; POSTs per second and median latency. No followers wait during (b); each worker's listener
    still receives every notification.
(c) *commit cost in the database*: ``--commits`` transactions on one asyncpg connection, each appending one
    audit event (``audit_append``, chained at COMMIT) and committing, with the trigger enabled and disabled,
    alternating, ``--rounds`` times each; median µs per transaction. This isolates what the NOTIFY adds to a
    commit from the HTTP and Python work around it, which on a shared machine swamps it in (b).
"""

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from app.core.actor import OPERATOR
from app.core.audit import APPEND, pending_event, pending_rows
from bench.harness import app_command, connected, create_key, execute, fresh_database, migrate, run_env, serving

DATABASE = "hibah_bench_feed"
APP_ENV = {"HIBAH_LOG_LEVEL": "warning"}
BURST_CONNECTIONS = 16


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def seed(base: str, admin: str, finance: str) -> int:
    async with httpx.AsyncClient(base_url=f"{base}/api/v1", timeout=30) as http:
        admin_h = {"Authorization": f"Bearer {admin}"}
        for body in ({"code": "35", "name": "Jawa Timur"}, {"code": "35.74", "name": "Kota Probolinggo"}):
            (await http.post("/regions", json=body, headers=admin_h)).raise_for_status()
        election = await http.post(
            "/elections",
            json={"name": "Pilwali 2024", "kind": "mayor", "region_code": "35.74", "voting_day": "2024-11-27"},
            headers=admin_h,
        )
        recipient = await http.post(
            "/recipients", json={"name": "KPU", "kind": "kpu", "region_code": "35.74"}, headers=admin_h
        )
        agreement = await http.post(
            "/agreements",
            json={
                "number": "NPHD-BENCH-FEED",
                "election_id": election.json()["id"],
                "recipient_id": recipient.json()["id"],
                "signed_on": "2024-01-15",
                "scheme": "staged",
                "amount": "1000000000000.00",
            },
            headers={"Authorization": f"Bearer {finance}"},
        )
        agreement.raise_for_status()
        agreement_id: int = agreement.json()["id"]
        return agreement_id


def payment(finance: str) -> tuple[dict[str, Any], dict[str, str]]:
    number = uuid.uuid4().hex
    body = {"tranche": 1, "amount": "1000", "paid_on": "2024-01-20", "sp2d_number": f"SP2D-{number[:20]}"}
    return body, {"Authorization": f"Bearer {finance}", "Idempotency-Key": number}


async def told(base: str, finance: str, agreement_id: int, writes: int, followers: int) -> dict[str, float]:
    """(a): latencies in ms, medians and p99 over every (write, follower)."""
    async with httpx.AsyncClient(base_url=f"{base}/api/v1", timeout=60) as probe:
        head = int((await probe.get("/changes", params={"after": 0, "limit": 500})).json()["next_cursor"])
        while True:  # the head itself: page to the end
            page = (await probe.get("/changes", params={"after": head, "limit": 500})).json()
            if not page["data"]:
                break
            head = int(page["next_cursor"])
    seen: list[dict[int, float]] = [{} for _ in range(followers)]
    order: list[list[int]] = [[] for _ in range(followers)]

    async def follow(index: int) -> None:
        cursor = head
        limits = httpx.Limits(max_connections=1)
        async with httpx.AsyncClient(base_url=f"{base}/api/v1", timeout=60, limits=limits) as http:
            while len(order[index]) < writes:
                page = (await http.get("/changes", params={"after": cursor, "wait": 30})).json()
                now = time.perf_counter()
                for entry in page["data"]:
                    seen[index][entry["seq"]] = now
                    order[index].append(entry["seq"])
                cursor = int(page["next_cursor"])

    tasks = [asyncio.create_task(follow(index)) for index in range(followers)]
    await asyncio.sleep(1.0)
    sent: dict[int, float] = {}
    round_trips: list[float] = []
    async with httpx.AsyncClient(base_url=f"{base}/api/v1", timeout=60) as writer:
        for _ in range(writes):
            body, headers = payment(finance)
            started = time.perf_counter()
            response = await writer.post(f"/agreements/{agreement_id}/disbursements", json=body, headers=headers)
            round_trips.append((time.perf_counter() - started) * 1000)
            response.raise_for_status()
            seq_now = head + len(sent) + 1
            sent[seq_now] = started
            await asyncio.sleep(0.02)
    await asyncio.wait_for(asyncio.gather(*tasks), 60)
    expected = list(range(head + 1, head + writes + 1))
    for index in range(followers):
        if order[index] != expected:
            raise SystemExit(f"follower {index} saw {order[index][:10]}…, not every write once in order")
    latencies = [(seen[index][seq] - sent[seq]) * 1000 for index in range(followers) for seq in expected]
    return {
        "told_median": statistics.median(latencies),
        "told_p99": percentile(latencies, 0.99),
        "told_max": max(latencies),
        "post_median": statistics.median(round_trips),
        "post_p99": percentile(round_trips, 0.99),
    }


async def burst(base: str, finance: str, agreement_id: int, count: int) -> tuple[float, float]:
    """(b): POSTs per second and median ms of ``count`` disbursements over 16 connections."""
    latencies: list[float] = []
    queue = list(range(count))

    async def client() -> None:
        async with httpx.AsyncClient(base_url=f"{base}/api/v1", timeout=60) as http:
            while queue:
                queue.pop()
                body, headers = payment(finance)
                started = time.perf_counter()
                response = await http.post(f"/agreements/{agreement_id}/disbursements", json=body, headers=headers)
                latencies.append((time.perf_counter() - started) * 1000)
                response.raise_for_status()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(BURST_CONNECTIONS)))
    return count / (time.perf_counter() - started), statistics.median(latencies)


async def commit_cost(url: str, commits: int, enabled: bool) -> float:
    """(c): median µs of a transaction that appends one audit event and commits."""
    async with connected(url) as connection:
        state = "ENABLE" if enabled else "DISABLE"
        await connection.execute(f"ALTER TABLE audit_event {state} TRIGGER audit_event_notify")
        timings: list[float] = []
        for number in range(commits):
            rows = pending_rows([pending_event(OPERATOR, "bench.commit", "bench", number, {"n": number})], None)
            started = time.perf_counter()
            async with connection.transaction():
                await connection.execute(APPEND, rows, None)
            timings.append((time.perf_counter() - started) * 1_000_000)
        await connection.execute("ALTER TABLE audit_event ENABLE TRIGGER audit_event_notify")
        return statistics.median(timings)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--writes", type=int, default=200)
    parser.add_argument("--followers", type=int, nargs="+", default=[1, 50])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--burst", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--commits", type=int, default=1000)
    parser.add_argument("--phases", default="abc", help="which of (a), (b), (c) to run, e.g. `c`")
    options = parser.parse_args(argv)

    url = fresh_database(DATABASE)
    log = Path(tempfile.mkdtemp(prefix="hibah-bench-feed-")) / "serve.log"
    migrate(url, log=log)
    admin = create_key(url, "admin", "bench admin", log=log)
    finance = create_key(url, "finance", "bench finance", log=log)
    with serving(lambda port: app_command(options.workers, port), run_env(url, APP_ENV), log) as server:
        server.wait_ready("/readyz", listeners=options.workers)
        agreement_id = asyncio.run(seed(server.base, admin, finance))
        asyncio.run(burst(server.base, finance, agreement_id, 100))  # warm every worker and pool

        if "a" in options.phases:
            print_told(server.base, finance, agreement_id, options)
        if "b" in options.phases:
            print_burst(url, server.base, finance, agreement_id, options)
        if "c" in options.phases:
            print_commit_cost(url, options)
    return 0


def print_told(base: str, finance: str, agreement_id: int, options: argparse.Namespace) -> None:
    print(f"(a) commit → follower told, {options.writes} writes, {options.workers} workers (ms)")
    print("| followers | told median | told p99 | told max | POST median | POST p99 |")
    print("|---:|---:|---:|---:|---:|---:|")
    for followers in options.followers:
        figures = asyncio.run(told(base, finance, agreement_id, options.writes, followers))
        print(
            f"| {followers} | {figures['told_median']:.1f} | {figures['told_p99']:.1f} | {figures['told_max']:.1f}"
            f" | {figures['post_median']:.1f} | {figures['post_p99']:.1f} |"
        )
    print()


def print_burst(url: str, base: str, finance: str, agreement_id: int, options: argparse.Namespace) -> None:
    results: dict[str, list[tuple[float, float]]] = {"enabled": [], "disabled": []}
    for _ in range(options.rounds):
        for state in ("enabled", "disabled"):
            execute(url, f"ALTER TABLE audit_event {state[:-1].upper()} TRIGGER audit_event_notify")
            results[state].append(asyncio.run(burst(base, finance, agreement_id, options.burst)))
    execute(url, "ALTER TABLE audit_event ENABLE TRIGGER audit_event_notify")
    print(f"(b) money POSTs, {options.burst} per round over {BURST_CONNECTIONS} connections, {options.rounds} rounds")
    print("| NOTIFY trigger | POST/s (median) | POST ms (median) |")
    print("|---|---:|---:|")
    for state, rounds in results.items():
        rate = statistics.median(r for r, _ in rounds)
        latency = statistics.median(m for _, m in rounds)
        print(f"| {state} | {rate:.0f} | {latency:.1f} |")
    print()


def print_commit_cost(url: str, options: argparse.Namespace) -> None:
    """Run while the server's workers listen, as in production."""
    costs: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(options.rounds):
        for enabled in (True, False):
            costs[enabled].append(asyncio.run(commit_cost(url, options.commits, enabled)))
    print(
        f"(c) one audit event appended and committed, {options.commits} transactions a round, {options.rounds} rounds"
    )
    print("| NOTIFY trigger | µs per transaction (median of round medians) |")
    print("|---|---:|")
    for enabled, medians in costs.items():
        print(f"| {'enabled' if enabled else 'disabled'} | {statistics.median(medians):.0f} |")


if __name__ == "__main__":
    sys.exit(main())
