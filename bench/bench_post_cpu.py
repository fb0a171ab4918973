"""The server's CPU per disbursement POST, in process: the ASGI app called directly, no HTTP server, no load generator.

Where ``bench_ledger`` measures rates (which a shared 2-core machine moves by 2× between hours), this measures the
one figure a change to the money path moves: the CPU time the app's process spends per payment, over batches of
320 POSTs from 32 concurrent callers, against the same for ``bench/bare_app.py``'s bare write. PostgreSQL runs in
its own processes, so its time is not counted. Run it in two checkouts, alternating, to compare revisions:

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/hibah_bench_ledger uv run python -m bench.bench_post_cpu

The database must hold ``bench_ledger``'s seed (2,001 agreements; run that once) and a finance key, made here.
"""

import argparse
import asyncio
import json
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import uvloop
from fastapi import FastAPI
from starlette.types import Message

from app.core.config import Settings
from app.main import create_app
from bench.bare_app import create_asyncpg_app
from bench.harness import create_key

CALLERS = 32
PER_CALLER = 10
BATCH = CALLERS * PER_CALLER
AGREEMENTS = 2000


def _scope(path: str, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "headers": headers,
        "state": {},
    }


def _payment(prefix: str, number: int, key: str) -> tuple[dict[str, Any], bytes]:
    body = {"tranche": 1, "amount": "1000.00", "paid_on": "2024-06-01", "sp2d_number": f"{prefix}/{number}"}
    raw = json.dumps(body).encode()
    headers = [
        (b"host", b"localhost"),
        (b"authorization", f"Bearer {key}".encode()),
        (b"idempotency-key", f"{prefix}-{number}".encode()),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(raw)).encode()),
    ]
    return _scope(f"/api/v1/agreements/{number % AGREEMENTS + 1}/disbursements", headers), raw


async def _call(app: FastAPI, scope: dict[str, Any], body: bytes) -> int:
    delivered = False
    status = 0

    async def receive() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # the client never leaves
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def _cpu_per_post(app: FastAPI, key: str, batches: int) -> list[float]:
    """µs of this process's CPU per POST, one figure per batch, after one batch of warm-up."""
    prefix = f"cpu{os.getpid()}-{time.time_ns()}"
    numbers = iter(range(10**9))

    async def caller() -> None:
        for _ in range(PER_CALLER):
            scope, body = _payment(prefix, next(numbers), key)
            status = await _call(app, scope, body)
            if status != 201:
                raise SystemExit(f"a POST answered {status}")

    async def batch() -> None:
        await asyncio.gather(*(caller() for _ in range(CALLERS)))

    await batch()
    figures = []
    for _ in range(batches):
        started = time.process_time()
        await batch()
        figures.append((time.process_time() - started) / BATCH * 1e6)
    return figures


async def _measure(make: Callable[[], FastAPI], key: str, batches: int) -> list[float]:
    app = make()
    async with app.router.lifespan_context(app):
        await asyncio.sleep(2)  # the portal's templates compile on a thread after startup: not a POST's cost
        return await _cpu_per_post(app, key, batches)


def _row(name: str, figures: list[float]) -> str:
    ordered = sorted(figures)
    quartile = ordered[len(ordered) // 4]
    return f"| {name} | {quartile:.0f} | {statistics.median(ordered):.0f} | {ordered[0]:.0f} | {len(ordered)} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, default=12, help=f"measured batches of {BATCH} POSTs (default 12)")
    options = parser.parse_args()
    url = os.environ["DATABASE_URL"]
    os.environ.setdefault("HIBAH_LOG_LEVEL", "warning")
    key = create_key(url, "finance", "bench_post_cpu")
    app_figures = uvloop.run(_measure(lambda: create_app(Settings()), key, options.batches))
    bare_figures = uvloop.run(_measure(create_asyncpg_app, key, options.batches))
    print("| target | CPU µs/POST, 1st quartile of batches | median | min | batches |")
    print("|---|---:|---:|---:|---:|")
    print(_row("app", app_figures))
    print(_row("bare write (bench/bare_app.py)", bare_figures))
    ratio = statistics.median(bare_figures) / statistics.median(app_figures)
    print(f"\nbare / app CPU per POST (medians): {ratio:.2f}")


if __name__ == "__main__":
    main()
