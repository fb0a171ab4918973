"""The yardstick for ``GET /api/v1/regions/{code}``: a bare FastAPI endpoint doing the same single-row read.

No middleware, no ORM, no transaction block, no logging: one round trip per request, and the same JSON body
(and ETag) as the app. Two drivers, one factory each, so the benchmark can also compare them:

* :func:`create_asyncpg_app`: a plain ``asyncpg`` pool;
* :func:`create_asyncpg_queue_app`: asyncpg connections handed out through an ``asyncio.Queue``;
* :func:`create_psycopg_app`: psycopg 3 ``AsyncConnection`` s through the same queue (``psycopg_pool`` is
  not a dependency, and a fixed set of connections is all a benchmark needs).

Serve with ``uv run uvicorn bench.bare_app:create_asyncpg_app --factory`` and ``DATABASE_URL`` set.
"""

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

import asyncpg
import psycopg
from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response

ROUTE = "/api/v1/regions/{code}"
REGION_SQL = "SELECT code, name, level, parent_code, version, created_at, updated_at FROM region WHERE code = $1"
PSYCOPG_SQL = REGION_SQL.replace("$1", "%s")


def pool_size() -> int:
    """Connections per worker: BENCH_POOL_SIZE, else 20, what the app's engine may hold (10 + 10 overflow)."""
    return int(os.environ.get("BENCH_POOL_SIZE", "20"))


Fetch = Callable[[str], Awaitable[Iterable[Any] | None]]
C = TypeVar("C")


def database_url() -> str:
    """The libpq form both drivers accept (an SQLAlchemy ``+asyncpg`` suffix is dropped)."""
    url = os.environ["DATABASE_URL"]
    scheme, rest = url.split("://", 1)
    return f"{scheme.split('+', 1)[0]}://{rest}"


def _iso(moment: datetime) -> str:
    # Pydantic writes UTC as "Z"; the yardstick must send the same bytes as the app.
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def region_response(row: Iterable[Any] | None) -> Response:
    if row is None:
        return JSONResponse({"detail": "not found"}, status_code=404)
    code, name, level, parent_code, version, created_at, updated_at = row
    body = {
        "code": code,
        "name": name,
        "level": level,
        "parent_code": parent_code,
        "version": version,
        "created_at": _iso(created_at),
        "updated_at": _iso(updated_at),
    }
    return JSONResponse(body, headers={"ETag": f'"region-{code}-v{version}"'})


def _app_reading_with(fetchers: list[Fetch], lifespan: Callable[[FastAPI], Any]) -> FastAPI:
    app = FastAPI(lifespan=lifespan, openapi_url=None)

    @app.get(ROUTE)
    async def get_region(code: str) -> Response:
        return region_response(await fetchers[0](code))

    return app


def create_asyncpg_app() -> FastAPI:
    """asyncpg's own pool, as anyone would write it; its release runs ``Connection.reset()``, one more round trip."""
    fetchers: list[Fetch] = []

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        pool = await asyncpg.create_pool(database_url(), min_size=pool_size(), max_size=pool_size())

        async def fetch(code: str) -> Iterable[Any] | None:
            return await pool.fetchrow(REGION_SQL, code)

        fetchers.append(fetch)
        try:
            yield
        finally:
            await pool.close()

    return _app_reading_with(fetchers, lifespan)


class ConnectionQueue(Generic[C]):
    """A fixed set of open connections; a request waits for a free one as it would on a pool, and nothing is
    reset on the way back (the reads change no session state)."""

    def __init__(self, connections: list[C]) -> None:
        self.connections = connections
        self._free: asyncio.Queue[C] = asyncio.Queue()
        for connection in connections:
            self._free.put_nowait(connection)

    async def get(self) -> C:
        return await self._free.get()

    def put(self, connection: C) -> None:
        self._free.put_nowait(connection)


def create_asyncpg_queue_app() -> FastAPI:
    """asyncpg behind the same queue as :func:`create_psycopg_app`: the like-for-like driver comparison."""
    fetchers: list[Fetch] = []

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        queue = ConnectionQueue([await asyncpg.connect(database_url()) for _ in range(pool_size())])

        async def fetch(code: str) -> Iterable[Any] | None:
            connection = await queue.get()
            try:
                return await connection.fetchrow(REGION_SQL, code)
            finally:
                queue.put(connection)

        fetchers.append(fetch)
        try:
            yield
        finally:
            for connection in queue.connections:
                await connection.close()

    return _app_reading_with(fetchers, lifespan)


def create_psycopg_app() -> FastAPI:
    fetchers: list[Fetch] = []

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Autocommit: one round trip per read, as asyncpg's fetchrow outside a transaction.
        connections = [
            await psycopg.AsyncConnection.connect(database_url(), autocommit=True) for _ in range(pool_size())
        ]
        queue = ConnectionQueue(connections)

        async def fetch(code: str) -> Iterable[Any] | None:
            connection = await queue.get()
            try:
                cursor = await connection.execute(PSYCOPG_SQL, (code,))
                return await cursor.fetchone()
            finally:
                queue.put(connection)

        fetchers.append(fetch)
        try:
            yield
        finally:
            for connection in connections:
                await connection.close()

    return _app_reading_with(fetchers, lifespan)
