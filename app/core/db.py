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

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, cast

import asyncpg
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from app.core import audit
from app.core.actor import Actor
from app.core.config import Settings


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


def create_engine_for(url: str, settings: Settings) -> AsyncEngine:
    return create_async_engine(
        async_url(url),
        isolation_level="AUTOCOMMIT",  # transactions are opened by transaction() below, on the driver
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        connect_args={"server_settings": {"application_name": "hibah"}},
    )


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@dataclass
class Transaction:
    """One request's (or command's) database work: all of it commits, or none of it."""

    session: AsyncSession
    sql: asyncpg.Connection
    request_id: str | None = None
    events: list[audit.PendingEvent] = field(default_factory=list)

    def record(self, actor: Actor, *, action: str, entity: str, entity_id: object, payload: dict[str, Any]) -> None:
        """Note an audit event; the events are chained into the log as this transaction commits."""
        self.events.append(audit.pending_event(actor, action, entity, entity_id, payload))


@asynccontextmanager
async def transaction(
    sessions: async_sessionmaker[AsyncSession], *, request_id: str | None = None
) -> AsyncIterator[Transaction]:
    """Commit when the block succeeds, roll back on any error: the whole request or command, or nothing.

    The ORM's pending changes are flushed and the recorded audit events appended last, inside it.
    """
    async with sessions() as session:
        connection = await session.connection()
        driver = cast(asyncpg.Connection, (await connection.get_raw_connection()).driver_connection)
        async with driver.transaction():
            tx = Transaction(session, driver, request_id)
            yield tx
            if session.new or session.dirty or session.deleted:
                await session.flush()
            await audit.append(driver, tx.events, request_id)
