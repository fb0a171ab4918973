"""Where the CPU of ``GET /api/v1/regions/{code}`` goes: the request path taken apart, layer by layer, in one process.

    uv run python -m bench.profile_regions [--requests 4000] [--concurrency 32] [--log-level info] [--gc-freeze]

The app is built by its own factory, then given extra routes (here, not in ``app/``, and matched first) that
read the same row: first as the design prescribes (``Session`` dependency, one transaction, ORM), then with
one layer fewer each: the dependency, the transaction, the ORM, SQLAlchemy; last, bench/bare_app. Requests are
ASGI calls straight into the app, so HTTP parsing and the network are left out, and the measure is the CPU
time of this process per request (``time.process_time``), which other work on the machine hardly moves. Each
variant runs ``--repeats`` times in rotation; the table shows the medians, and the part of them spent in
garbage collection. Set ``HIBAH_DB_POOL_SIZE``/``HIBAH_DB_MAX_OVERFLOW`` in the environment to try pool sizes.
"""

import argparse
import asyncio
import gc
import logging
import os
import statistics
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any, TextIO, cast

import asyncpg
import sqlalchemy as sa
import uvloop
from fastapi import Depends, FastAPI, Request, Response
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlmodel import SQLModel
from starlette.types import Message

from app.core.config import get_settings
from app.core.db import transaction
from app.core.deps import Session, db_session
from app.core.http import with_etag
from app.core.middleware import RequestIdMiddleware
from app.main import create_app
from app.reference import service
from app.reference.models import Region
from app.reference.router import RegionCodePath
from app.reference.schemas import RegionOut
from bench.bare_app import REGION_SQL, create_asyncpg_app, region_response
from bench.bench_regions import BENCH_DATABASE, plain_url

# The app's Session, without scope="function": FastAPI then closes it after the response instead of before.
PlainSession = Annotated[AsyncSession, Depends(db_session)]
# The machine's PostgreSQL is shared (max_connections 100): the extra pools here stay small.
PROFILE_POOL = 10
REGION = SQLModel.metadata.tables[Region.__tablename__]
COLUMNS = [REGION.c[name] for name in ("code", "name", "level", "parent_code", "version", "created_at", "updated_at")]


@dataclass(frozen=True)
class Variant:
    name: str
    prefix: str
    removes: str
    bare: bool = False
    """Served by bench/bare_app's asyncpg app instead of the app."""
    starts_chain: bool = False
    """Not one layer fewer than the row above: its step is left blank."""


VARIANTS = [
    Variant("app route", "/api/v1/regions/", "(the route as app/ has it now)", starts_chain=True),
    Variant(
        "Session route",
        "/profile/session/",
        "(the design's path: `Session` dependency, one transaction, ORM)",
        starts_chain=True,
    ),
    Variant("default-scope dependency", "/profile/plain-dependency/", '+ `scope="function"` on the Session dependency'),
    Variant(
        "no dependency", "/profile/transaction/", "+ FastAPI's Depends: `transaction()` in the handler, `code: str`"
    ),
    Variant("plain session.begin()", "/profile/orm-tx/", "+ `transaction()`'s flush and audit hook"),
    Variant("no transaction", "/profile/orm-autocommit/", "+ BEGIN/COMMIT: an AUTOCOMMIT connection"),
    Variant("Core, no ORM", "/profile/core/", "+ ORM: SQLAlchemy Core select, RegionOut from the row mapping"),
    Variant(
        "driver via engine pool", "/profile/driver/", "+ SQLAlchemy execution: asyncpg fetchrow on a pooled connection"
    ),
    Variant("own asyncpg pool", "/profile/asyncpg/", "+ SQLAlchemy pool: bench/bare_app's handler inside the app"),
    Variant(
        "bare app",
        "/api/v1/regions/",
        "+ the app's middleware, routing, access log and metrics: bench/bare_app itself",
        bare=True,
    ),
]


@dataclass
class Readers:
    """What the extra routes read with, set up once the app's engine exists."""

    autocommit: AsyncEngine | None = None
    autocommit_sessions: async_sessionmaker[AsyncSession] | None = None
    pool: "asyncpg.Pool[asyncpg.Record] | None" = None


def add_profile_routes(app: FastAPI, readers: Readers) -> None:
    @app.get("/profile/session/{code}")
    async def session_route(session: Session, code: RegionCodePath) -> Response:
        region = await service.get_region(session, code)
        return with_etag(RegionOut.model_validate(region), service.region_etag(region))

    @app.get("/profile/plain-dependency/{code}")
    async def plain_dependency(session: PlainSession, code: RegionCodePath) -> Response:
        region = await service.get_region(session, code)
        return with_etag(RegionOut.model_validate(region), service.region_etag(region))

    @app.get("/profile/transaction/{code}")
    async def transaction_in_handler(request: Request, code: str) -> Response:
        async with transaction(request.app.state.sessions, request_id=request.state.request_id) as session:
            region = await service.get_region(session, code)
        return with_etag(RegionOut.model_validate(region), service.region_etag(region))

    @app.get("/profile/orm-tx/{code}")
    async def orm_in_handler(request: Request, code: str) -> Response:
        async with request.app.state.sessions() as session, session.begin():
            region = await service.get_region(session, code)
            return with_etag(RegionOut.model_validate(region), service.region_etag(region))

    @app.get("/profile/orm-autocommit/{code}")
    async def orm_autocommit(code: str) -> Response:
        assert readers.autocommit_sessions is not None
        async with readers.autocommit_sessions() as session:
            region = await service.get_region(session, code)
            return with_etag(RegionOut.model_validate(region), service.region_etag(region))

    @app.get("/profile/core/{code}")
    async def core(code: str) -> Response:
        assert readers.autocommit is not None
        async with readers.autocommit.connect() as connection:
            row = (await connection.execute(sa.select(*COLUMNS).where(REGION.c.code == code))).mappings().one()
        region = RegionOut.model_validate(row)
        return with_etag(region, f'"region-{region.code}-v{region.version}"')

    @app.get("/profile/driver/{code}")
    async def driver(code: str) -> Response:
        assert readers.autocommit is not None
        async with readers.autocommit.connect() as connection:
            raw = await connection.get_raw_connection()
            assert raw.driver_connection is not None
            row = await raw.driver_connection.fetchrow(REGION_SQL, code)
        region = RegionOut.model_validate(dict(row))
        return with_etag(region, f'"region-{region.code}-v{region.version}"')

    @app.get("/profile/asyncpg/{code}")
    async def own_pool(code: str) -> Response:
        assert readers.pool is not None
        return region_response(await readers.pool.fetchrow(REGION_SQL, code))


@asynccontextmanager
async def running(app: FastAPI, readers: Readers, url: str) -> AsyncIterator[None]:
    async with app.router.lifespan_context(app):
        readers.autocommit = app.state.engine.execution_options(isolation_level="AUTOCOMMIT")
        readers.autocommit_sessions = async_sessionmaker(readers.autocommit, expire_on_commit=False)
        readers.pool = await asyncpg.create_pool(plain_url(url), min_size=PROFILE_POOL, max_size=PROFILE_POOL)
        try:
            yield
        finally:
            await readers.pool.close()


async def call(app: FastAPI, path: str) -> None:
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"bench")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    statuses: list[int] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    await app(scope, receive, send)
    if statuses != [200]:
        raise RuntimeError(f"{path}: {statuses}")


@dataclass(frozen=True)
class Measurement:
    cpu_us: float
    gc_us: float
    rps: float


class GcClock:
    """CPU time spent in the garbage collector, through ``gc.callbacks``."""

    def __init__(self) -> None:
        self.total = 0.0
        self._started = 0.0
        gc.callbacks.append(self._tick)

    def _tick(self, phase: str, _info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.process_time()
        else:
            self.total += time.process_time() - self._started


async def measure(
    app: FastAPI, paths: Callable[[int], str], requests: int, concurrency: int, clock: GcClock
) -> Measurement:
    per_worker = requests // concurrency

    async def worker(offset: int) -> None:
        for index in range(per_worker):
            await call(app, paths(offset * 131 + index))

    gc_before, cpu_before, wall_before = clock.total, time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker(offset) for offset in range(concurrency)))
    done = per_worker * concurrency
    cpu, wall = time.process_time() - cpu_before, time.perf_counter() - wall_before
    return Measurement(cpu / done * 1e6, (clock.total - gc_before) / done * 1e6, done / wall)


def paths_for(variant: Variant, codes: list[str]) -> Callable[[int], str]:
    return lambda index: variant.prefix + codes[index % len(codes)]


def send_logs_to(stream: TextIO) -> None:
    """Keep the app's log handlers and formatters (their cost is part of a request), not the terminal."""
    handlers = [*logging.getLogger().handlers, *logging.getLogger("hibah").handlers]
    for handler in handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(stream)


def build_app(options: argparse.Namespace, readers: Readers, log_sink: TextIO) -> FastAPI:
    app = create_app()
    send_logs_to(log_sink)
    if not options.with_request_id:
        kept = [entry for entry in app.user_middleware if cast(object, entry.cls) is not RequestIdMiddleware]
        app.user_middleware = kept
    routes = len(app.router.routes)
    add_profile_routes(app, readers)
    # First in the table, so a profile route is found as fast as the real one and the steps compare handlers.
    app.router.routes[:] = app.router.routes[routes:] + app.router.routes[:routes]
    return app


async def profile(options: argparse.Namespace, url: str, log_sink: TextIO) -> dict[str, Measurement]:
    readers = Readers()
    app = build_app(options, readers, log_sink)
    bare = create_asyncpg_app()
    runs: dict[str, list[Measurement]] = {variant.name: [] for variant in VARIANTS}
    async with running(app, readers, url), bare.router.lifespan_context(bare):
        assert readers.pool is not None
        codes = [row["code"] for row in await readers.pool.fetch("SELECT code FROM region ORDER BY code")]
        for variant in VARIANTS:  # warm every cache and fill every pool
            target = bare if variant.bare else app
            await measure(target, paths_for(variant, codes), 500, options.concurrency, GcClock())
        if options.gc_freeze:
            gc.collect()
            gc.freeze()
        clock = GcClock()
        for _ in range(options.repeats):
            for variant in VARIANTS:
                target = bare if variant.bare else app
                paths = paths_for(variant, codes)
                result = await measure(target, paths, options.requests, options.concurrency, clock)
                runs[variant.name].append(result)
    return {name: median_of(results) for name, results in runs.items()}


def median_of(results: list[Measurement]) -> Measurement:
    return Measurement(
        statistics.median(result.cpu_us for result in results),
        statistics.median(result.gc_us for result in results),
        statistics.median(result.rps for result in results),
    )


def table(medians: dict[str, Measurement]) -> str:
    bare = next(medians[variant.name].cpu_us for variant in VARIANTS if variant.bare)
    lines = [
        "| variant | takes away | CPU µs/req | of which GC | saves vs row above µs | bare app CPU / this"
        " | req/s (wall) |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    previous = 0.0
    for variant in VARIANTS:
        result = medians[variant.name]
        cells = [
            variant.name,
            variant.removes,
            f"{result.cpu_us:.0f}",
            f"{result.gc_us:.0f}",
            "" if variant.starts_chain else f"{previous - result.cpu_us:.0f}",
            f"{bare / result.cpu_us:.2f}",
            f"{result.rps:.0f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
        previous = result.cpu_us
    return "\n".join(lines)


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_regions", description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=4000, help="requests per variant and repeat (default 4000)")
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight (default 32)")
    parser.add_argument("--repeats", type=int, default=5, help="runs per variant; the median counts (default 5)")
    parser.add_argument("--log-level", default="info", help="HIBAH_LOG_LEVEL for the app (default info)")
    parser.add_argument("--gc-freeze", action="store_true", help="gc.freeze() after warm-up, as a startup hook would")
    parser.add_argument(
        "--without-request-id", dest="with_request_id", action="store_false", help="drop RequestIdMiddleware"
    )
    return parser.parse_args(argv)


def main(argv: list[str]) -> None:
    options = parse(argv)
    url = os.environ.setdefault("DATABASE_URL", f"postgresql://postgres@127.0.0.1:5432/{BENCH_DATABASE}")
    os.environ["HIBAH_LOG_LEVEL"] = options.log_level
    os.environ.setdefault("BENCH_POOL_SIZE", str(PROFILE_POOL))
    get_settings.cache_clear()
    with open(os.devnull, "w") as log_sink:
        medians = uvloop.run(profile(options, url, log_sink))
    settings = get_settings()
    print(
        f"log level {settings.log_level} ({settings.log_format}),"
        f" pool {settings.db_pool_size}+{settings.db_max_overflow},"
        f" gc.freeze {options.gc_freeze}, RequestIdMiddleware {options.with_request_id},"
        f" median of {options.repeats} x {options.requests} requests at concurrency {options.concurrency}\n"
    )
    print(table(medians))


if __name__ == "__main__":
    main(sys.argv[1:])
