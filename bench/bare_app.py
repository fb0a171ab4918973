"""The yardsticks for the app: bare FastAPI endpoints doing the same database work, nothing else.

No middleware, no ORM, no authentication, no logging:

* ``GET /api/v1/regions/{code}``: the single-row read, one round trip per request, with the same JSON body
  (and ETag) as the app;
* ``POST /api/v1/agreements/{agreement_id}/disbursements`` (:func:`create_asyncpg_app` only): a payment in
  one asyncpg transaction (lock the agreement row, check what is left, insert the entry, add it to the
  running total), answering 201 with the app's JSON; no idempotency record, audit event or scope check.

Three drivers for the read, one factory each, so the benchmark can also compare them:

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
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Generic, Protocol, TypeVar

import asyncpg
import psycopg
from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from bench.harness import plain_url

ROUTE = "/api/v1/regions/{code}"
REGION_SQL = "SELECT code, name, level, parent_code, version, created_at, updated_at FROM region WHERE code = $1"
PSYCOPG_SQL = REGION_SQL.replace("$1", "%s")
DISBURSEMENTS = "/api/v1/agreements/{agreement_id}/disbursements"
LOCK_SQL = "SELECT amount, disbursed FROM agreement WHERE id = $1 FOR UPDATE"
INSERT_SQL = """
INSERT INTO disbursement (agreement_id, tranche, amount, paid_on, sp2d_number, note)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING id, agreement_id, tranche, amount, paid_on, sp2d_number, note, created_at
"""
TOTAL_SQL = "UPDATE agreement SET disbursed = disbursed + $2 WHERE id = $1"


def pool_size() -> int:
    """Connections per worker: BENCH_POOL_SIZE, else 20, what the app's engine may hold (10 + 10 overflow)."""
    return int(os.environ.get("BENCH_POOL_SIZE", "20"))


Fetch = Callable[[str], Awaitable[Iterable[Any] | None]]
C = TypeVar("C")
R = TypeVar("R")


class Closing(Protocol):
    async def close(self) -> None: ...


K = TypeVar("K", bound=Closing)


def database_url() -> str:
    """The libpq form both drivers accept (an SQLAlchemy ``+asyncpg`` suffix is dropped)."""
    return plain_url(os.environ["DATABASE_URL"])


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


# --- the write -----------------------------------------------------------------------------------


class Payment(BaseModel):
    """The app's request body, parsed as anyone would; the app's own checks on it are left out."""

    tranche: int
    amount: Decimal
    paid_on: date
    sp2d_number: str
    note: str | None = None


def disbursement_body(row: asyncpg.Record) -> dict[str, Any]:
    """The app's DisbursementOut, in the bytes it sends: money as "x.xx", UTC as "Z", no reversal yet."""
    return {
        "id": row["id"],
        "agreement_id": row["agreement_id"],
        "tranche": row["tranche"],
        "amount": f"{row['amount']:.2f}",
        "paid_on": row["paid_on"].isoformat(),
        "sp2d_number": row["sp2d_number"],
        "note": row["note"],
        "created_at": _iso(row["created_at"]),
        "reversal": None,
    }


async def disburse(pool: asyncpg.Pool, agreement_id: int, payment: Payment) -> Response:
    """Lock, check, insert, add to the running total: one transaction, committed on the way out."""
    async with pool.acquire() as connection, connection.transaction():
        terms = await connection.fetchrow(LOCK_SQL, agreement_id)
        if terms is None:
            return JSONResponse({"detail": "no such agreement"}, status_code=404)
        if terms["amount"] - terms["disbursed"] < payment.amount:
            return JSONResponse({"detail": "over disbursement"}, status_code=409)
        try:
            row = await connection.fetchrow(
                INSERT_SQL,
                agreement_id,
                payment.tranche,
                payment.amount,
                payment.paid_on,
                payment.sp2d_number,
                payment.note,
            )
        except asyncpg.UniqueViolationError:
            return JSONResponse({"detail": "SP2D number already recorded"}, status_code=409)
        assert row is not None  # INSERT ... RETURNING returns its row
        await connection.execute(TOTAL_SQL, agreement_id, payment.amount)
    return JSONResponse(disbursement_body(row), status_code=201)


def create_asyncpg_app() -> FastAPI:
    """asyncpg's own pool, as anyone would write it; its release runs ``Connection.reset()``, one more round trip.

    It serves the bare write too: the ledger benchmark loads one server with reads, then writes."""
    pools: list[asyncpg.Pool] = []

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        pools.append(await asyncpg.create_pool(database_url(), min_size=pool_size(), max_size=pool_size()))
        try:
            yield
        finally:
            await pools[0].close()

    async def fetch(code: str) -> Iterable[Any] | None:
        return await pools[0].fetchrow(REGION_SQL, code)

    app = _app_reading_with([fetch], lifespan)

    @app.post(DISBURSEMENTS)
    async def create_disbursement(agreement_id: int, payment: Payment) -> Response:
        return await disburse(pools[0], agreement_id, payment)

    return app


# --- the read through a queue --------------------------------------------------------------------


class ConnectionQueue(Generic[C]):
    """A fixed set of open connections; a request waits for a free one as it would on a pool, and nothing is
    reset on the way back (the reads change no session state)."""

    def __init__(self, connections: list[C]) -> None:
        self.connections = connections
        self._free: asyncio.Queue[C] = asyncio.Queue()
        for connection in connections:
            self._free.put_nowait(connection)

    async def using(self, work: Callable[[C], Awaitable[R]]) -> R:
        connection = await self._free.get()
        try:
            return await work(connection)
        finally:
            self._free.put_nowait(connection)


def _app_reading_through(
    connect: Callable[[], Awaitable[K]], read: Callable[[K, str], Awaitable[Iterable[Any] | None]]
) -> FastAPI:
    """The read app over a :class:`ConnectionQueue` of ``pool_size()`` connections from ``connect``."""
    queues: list[ConnectionQueue[K]] = []

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        queues.append(ConnectionQueue([await connect() for _ in range(pool_size())]))
        try:
            yield
        finally:
            for connection in queues[0].connections:
                await connection.close()

    async def fetch(code: str) -> Iterable[Any] | None:
        return await queues[0].using(lambda connection: read(connection, code))

    return _app_reading_with([fetch], lifespan)


async def _asyncpg_read(connection: asyncpg.Connection, code: str) -> Iterable[Any] | None:
    return await connection.fetchrow(REGION_SQL, code)


async def _psycopg_read(connection: psycopg.AsyncConnection[Any], code: str) -> Iterable[Any] | None:
    cursor = await connection.execute(PSYCOPG_SQL, (code,))
    return await cursor.fetchone()


def create_asyncpg_queue_app() -> FastAPI:
    """asyncpg behind the same queue as :func:`create_psycopg_app`: the like-for-like driver comparison."""
    return _app_reading_through(lambda: asyncpg.connect(database_url()), _asyncpg_read)


def create_psycopg_app() -> FastAPI:
    # Autocommit: one round trip per read, as asyncpg's fetchrow outside a transaction.
    return _app_reading_through(lambda: psycopg.AsyncConnection.connect(database_url(), autocommit=True), _psycopg_read)
