"""The engine, and the one transaction every request and every command runs in.

A :class:`Transaction` reaches the database two ways, on one connection, inside one BEGIN … COMMIT:

* ``tx.session`` — SQLAlchemy (ORM and Core): reference data, keys, agreements' terms, reports, and the
  reads behind lists and single resources;
* ``tx.sql`` — the asyncpg connection under that session: the ledger's money statements, ``COPY``, the
  audit append; SQL written out, run without SQLAlchemy's statement layer (docs/architecture.md says
  which code uses which).

The engine runs in AUTOCOMMIT mode, so SQLAlchemy never begins or ends a transaction by itself: this module
does, with asyncpg's ``Connection.transaction()``, and every statement of either kind falls inside it.

A money write (a payment, a reversal, a refund, a report's review) runs in :func:`money_transaction` instead:
the same ``Transaction``, on a connection of the ledger pool (plain asyncpg), with ``tx.sql`` only.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, cast

import asyncpg
from asyncpg.pool import PoolConnectionProxy
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, create_async_engine

from app.core import audit, pooler
from app.core.actor import Actor
from app.core.config import Settings
from app.core.outage import CommitInDoubt, is_outage


def async_url(url: str) -> str:
    """Accept the plain ``postgresql://`` form that tools and operators use, drive it with asyncpg."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed.render_as_string(hide_password=False)


def sync_url(url: str) -> str:
    """Alembic and test helpers run synchronously through psycopg 3."""
    parsed = make_url(url).set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def create_engine_for(
    url: str,
    settings: Settings,
    *,
    pool_size: int | None = None,
    name: str = "hibah",
    overflow: bool = True,
    replica: bool = False,
) -> AsyncEngine:
    """The engine of the request's transactions; with ``pool_size``/``overflow``, one of its own for a kind of work
    that must not take the writes' connections (streamed exports, app/oversight/exports.py). A replica's engine
    (app/core/replicas.py) is named apart in pg_stat_activity and refuses writes itself."""
    server_settings = {"application_name": name}
    if replica:
        server_settings = {"application_name": "hibah-replica", "default_transaction_read_only": "on"}
    return create_async_engine(
        async_url(url),
        isolation_level="AUTOCOMMIT",  # transactions are opened by transaction() below, on the driver
        pool_size=pool_size or settings.db_pool_size,
        max_overflow=settings.db_max_overflow if overflow else 0,
        pool_timeout=settings.db_pool_timeout_s,
        connect_args={
            "server_settings": server_settings,
            "timeout": settings.db_connect_timeout_s,
            **pooler.engine_connect_args(settings),  # PgBouncer (docs/scaling.md)
        },
    )


@dataclass(frozen=True)
class KeptAnswer:
    """An idempotent create's answer, written with the audit events as the transaction closes."""

    record_id: int
    status_code: int
    body: str
    headers: str
    """JSON text."""


@dataclass
class Transaction:
    """One request's (or command's) database work: all of it commits, or none of it."""

    connection: AsyncConnection | None
    """SQLAlchemy's connection over ``sql``; None in a money write's transaction, which has no ORM."""
    sql: asyncpg.Connection
    request_id: str | None = None
    events: list[audit.PendingEvent] = field(default_factory=list)
    answer: KeptAnswer | None = None
    locked_ahead: dict[tuple[str, int], Sequence[Any]] = field(default_factory=dict)
    """Rows this transaction already holds ``FOR UPDATE``, as they read when locked, by (table, id): taken by a
    dependency in the statement that reserved the request's Idempotency-Key (``core.idempotency.LockAhead``)."""
    _session: AsyncSession | None = None

    @property
    def session(self) -> AsyncSession:
        """The ORM on this transaction's connection, made on first use: the ledger's hot writes never need it."""
        if self._session is None:
            if self.connection is None:
                raise RuntimeError("a money write's transaction has no ORM session: its SQL goes on tx.sql")
            self._session = AsyncSession(bind=self.connection, expire_on_commit=False, autoflush=False)
        return self._session

    def record(self, actor: Actor, *, action: str, entity: str, entity_id: object, payload: dict[str, Any]) -> None:
        """Note an audit event; the events are chained into the log as this transaction commits."""
        self.events.append(audit.pending_event(actor, action, entity, entity_id, payload))

    def ahead(self, table: str, row_id: int) -> Sequence[Any] | None:
        """The row of ``table`` with ``row_id`` if this transaction locked it ahead, else None (lock it now)."""
        return self.locked_ahead.get((table, row_id))

    def keep_answer(self, answer: KeptAnswer) -> None:
        self.answer = answer

    async def _close(self) -> None:
        """Flush the ORM, then the audit events and a kept answer in one statement: one round trip fewer
        on every idempotent money write."""
        session = self._session
        if session is not None and (session.new or session.dirty or session.deleted):
            await session.flush()
        pending = audit.pending_rows(self.events, self.request_id)
        if self.answer is not None:
            kept = self.answer
            await self.sql.execute(
                _KEEP_AND_APPEND, pending, self.request_id, kept.record_id, kept.status_code, kept.body, kept.headers
            )
        elif pending is not None:
            await self.sql.execute(audit.APPEND, pending, self.request_id)


# The answer of an idempotent create (app/core/idempotency.py) and the audit events, in one statement.
_KEEP_ANSWER = """
WITH kept AS (
    UPDATE idempotency_record SET status_code = $4, response_body = $5, response_headers = $6::jsonb WHERE id = $3
)
"""
_KEEP_AND_APPEND = _KEEP_ANSWER + audit.APPEND


@asynccontextmanager
async def transaction(engine: AsyncEngine, *, request_id: str | None = None) -> AsyncIterator[Transaction]:
    """Commit when the block succeeds, roll back on any error: the whole request or command, or nothing.

    The ORM's pending changes are flushed and the recorded audit events appended last, inside it.

    A pooled connection that died with the server (a restart, a failover) is found by the BEGIN every
    transaction sends anyway, before anything of the request has run: it is thrown away with the pool's other
    connections of the same age, and the transaction begins once more on a fresh one. No ping per checkout.
    Any other loss of the connection is rethrown (a 503, ``app.core.errors``) after the same clean-up, so the
    next request starts on a fresh connection.
    """
    connection, driver, begun = await _begin(engine)
    tx = Transaction(connection, driver, request_id)

    async def lost() -> None:
        await _forget(engine, connection)

    async def unusable() -> None:
        await _forget(engine, connection, whole_pool=False)

    try:
        async with _committed(tx, begun, lost=lost, unusable=unusable):
            yield tx
    finally:
        if tx._session is not None:
            with contextlib.suppress(Exception):
                await tx._session.close()
        await connection.close()


@asynccontextmanager
async def _committed(
    tx: Transaction, begun: Any, *, lost: Callable[[], Awaitable[None]], unusable: Callable[[], Awaitable[None]]
) -> AsyncIterator[Transaction]:
    """Both kinds of transaction end here: ``tx`` closed and committed when the block succeeds, rolled back on any
    error. ``lost``: what to do with a connection that went with its server; ``unusable``: with one that cannot
    even roll back (lost, or left mid-operation), which must never go back to its pool."""
    try:
        yield tx
        await tx._close()
    except BaseException as exc:
        if is_outage(exc):
            await lost()
        else:
            try:
                await begun.rollback()
            except Exception:  # noqa: BLE001 - the request's own error is the one to answer
                await unusable()
        raise
    try:
        await begun.commit()
    except BaseException as exc:
        if is_outage(exc):
            await lost()
            # Unlike a loss before it, a loss during COMMIT leaves the outcome unknown: say so.
            raise CommitInDoubt() from exc
        raise


async def _begin(engine: AsyncEngine) -> tuple[AsyncConnection, asyncpg.Connection, Any]:
    """A connection with its transaction begun; one more try on a fresh connection if the first was dead."""
    for attempt in (1, 2):
        connection = engine.connect()
        await connection.start()
        try:
            driver = cast(asyncpg.Connection, (await connection.get_raw_connection()).driver_connection)
            begun = driver.transaction()
            await begun.start()
        except Exception as exc:
            # Nothing of the request has run: whatever broke the BEGIN (a dead connection, one left mid-operation
            # by a request the outage interrupted), this connection is thrown away and a fresh one tried.
            await _forget(engine, connection, whole_pool=is_outage(exc))
            await connection.close()
            if attempt == 1:
                continue
            raise
        return connection, driver, begun
    raise AssertionError("unreachable")  # pragma: no cover


_last_disposed: dict[int, float] = {}


async def _forget(engine: AsyncEngine, connection: AsyncConnection, *, whole_pool: bool = True) -> None:
    """Throw away a connection the server dropped, and the pool with it: its other connections date from the
    same server, so they are as dead. Once per second at most, however many requests fail together."""
    with contextlib.suppress(Exception):
        await connection.invalidate()
    now = time.monotonic()
    if whole_pool and now - _last_disposed.get(id(engine), 0.0) >= 1.0:
        _last_disposed[id(engine)] = now
        # close=False: the connections other requests hold stay theirs; the new pool makes fresh ones.
        await engine.dispose(close=False)


# --- money writes: a plain asyncpg connection, no ORM ------------------------------------------------


def libpq_dsn(url: str) -> str:
    """The URL as libpq and asyncpg take it (no SQLAlchemy driver name)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def plain_pool(
    url: str, settings: Settings, *, application_name: str, min_size: int = 0, read_only: bool = False, **options: Any
) -> asyncpg.Pool:
    """An asyncpg pool beside the engine (the hot reads', a replica's, the money writes'): ``HIBAH_DB_POOL_SIZE``
    connections at most, named ``application_name`` in pg_stat_activity, the pooler's options, and no reset
    round trip on release (no user of these pools leaves session state behind)."""
    server_settings = {"application_name": application_name}
    if read_only:
        server_settings["default_transaction_read_only"] = "on"
    pool: asyncpg.Pool = await asyncpg.create_pool(
        libpq_dsn(url),
        min_size=min_size,
        max_size=settings.db_pool_size,
        reset=_nothing_to_reset,
        server_settings=server_settings,
        **pooler.pool_options(settings),
        **options,
    )
    return pool


async def create_ledger_pool(url: str, settings: Settings) -> asyncpg.Pool:
    """The money writes' connections (:func:`money_transaction`), made on first use: a worker starts while the
    database is down, as it does with the engine."""
    return await plain_pool(
        url,
        settings,
        application_name="hibah-ledger",
        init=_json_as_the_engine_reads_it,
        timeout=settings.db_connect_timeout_s,
    )


async def _nothing_to_reset(connection: asyncpg.Connection) -> None:
    """Single statements, or a transaction that ends and takes only transaction-scoped advisory locks."""


async def _json_as_the_engine_reads_it(connection: asyncpg.Connection) -> None:
    """JSON goes out as the text the code writes and comes back decoded, as on the engine's connections (whose
    codecs SQLAlchemy sets): the same statement reads the same on either."""
    for name in ("json", "jsonb"):
        await connection.set_type_codec(name, encoder=str, decoder=json.loads, schema="pg_catalog")


@asynccontextmanager
async def money_transaction(
    pool: asyncpg.Pool, *, request_id: str | None = None, wait_s: float | None = None
) -> AsyncIterator[Transaction]:
    """A money write's transaction, on a connection of the ledger pool: its statements go straight to asyncpg,
    with no SQLAlchemy connection, session or greenlet around them (with one dependency: ~25 % of a payment's CPU,
    docs/performance.md). Committed, rolled back and recovered as :func:`transaction` does; ``tx.session`` is
    refused. ``wait_s``: how long to wait for a free connection (then a 503, as the engine's pool timeout)."""
    connection, begun = await _begin_money(pool, wait_s)
    tx = Transaction(None, cast(asyncpg.Connection, connection), request_id)

    async def lost() -> None:
        await _forget_money(pool, connection)

    async def unusable() -> None:
        _terminate(connection)

    try:
        async with _committed(tx, begun, lost=lost, unusable=unusable):
            yield tx
    finally:
        await pool.release(connection)


async def _begin_money(pool: asyncpg.Pool, wait_s: float | None) -> tuple[PoolConnectionProxy[Any], Any]:
    """A ledger connection with its transaction begun; one more try on a fresh one if the first was dead."""
    for attempt in (1, 2):
        connection = await pool.acquire(timeout=wait_s)
        try:
            begun = connection.transaction()
            await begun.start()
        except BaseException as exc:  # a cancelled request too: the connection must go back either way
            if is_outage(exc):
                await _forget_money(pool, connection)
            else:
                _terminate(connection)
            await pool.release(connection)
            if attempt == 1 and isinstance(exc, Exception):
                continue
            raise
        return connection, begun
    raise AssertionError("unreachable")  # pragma: no cover


async def _forget_money(pool: asyncpg.Pool, connection: PoolConnectionProxy[Any]) -> None:
    """The connection went with its server: closed, and the pool's others, as old, replaced on their next use."""
    _terminate(connection)
    await pool.expire_connections()


def _terminate(connection: PoolConnectionProxy[Any]) -> None:
    """Close at once, never back into the pool; a connection that closed by itself is already out of it."""
    with contextlib.suppress(asyncpg.InterfaceError):
        connection.terminate()
