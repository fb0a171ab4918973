"""The engine, and the one transaction every request and every command runs in.

A :class:`Transaction` reaches the database two ways, on one connection, inside one BEGIN … COMMIT:

* ``tx.session`` — SQLAlchemy (ORM and Core): reference data, keys, agreements' terms, reports, and the
  reads behind lists and single resources;
* ``tx.sql`` — the asyncpg connection under that session: the ledger's money statements, ``COPY``, the
  audit append; SQL written out, run without SQLAlchemy's statement layer (docs/architecture.md says
  which code uses which).

The engine runs in AUTOCOMMIT mode, so SQLAlchemy never begins or ends a transaction by itself: this module
does, with asyncpg's ``Connection.transaction()``, and every statement of either kind falls inside it.
"""

import contextlib
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, cast

import asyncpg
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

    connection: AsyncConnection
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
    try:
        try:
            yield tx
            await tx._close()
        except BaseException as exc:
            if is_outage(exc):
                await _forget(engine, connection)
            else:
                try:
                    await begun.rollback()
                except Exception:  # noqa: BLE001 - the request's own error is the one to answer
                    # A connection that cannot roll back (lost, or left mid-operation) never goes back to the pool.
                    await _forget(engine, connection, whole_pool=False)
            raise
        try:
            await begun.commit()
        except BaseException as exc:
            if is_outage(exc):
                await _forget(engine, connection)
                # Unlike a loss before it, a loss during COMMIT leaves the outcome unknown: say so.
                raise CommitInDoubt() from exc
            raise
    finally:
        if tx._session is not None:
            with contextlib.suppress(Exception):
                await tx._session.close()
        await connection.close()


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
