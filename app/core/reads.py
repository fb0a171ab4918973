"""The fast path for hot single-row reads: a plain asyncpg pool beside the SQLAlchemy engine.

A public read of one row (a region, an agreement's position) is one statement, atomic on its own, so
it needs no session, no explicit transaction and no ORM; measured on this machine the SQLAlchemy
session costs several times the query itself (docs/performance.md). Writes and multi-statement
reads keep the one-transaction-per-request session.
"""

from typing import Annotated, Any

import asyncpg
from asyncpg import Record
from fastapi import Depends, Request

from app.core.config import Settings
from app.core.db import libpq_dsn, plain_pool
from app.core.outage import is_outage
from app.core.replicas import Reader, reader_for

__all__ = ["ReadPool", "Reader", "RetryingReader", "create_read_pool", "libpq_dsn", "read_pool"]


async def create_read_pool(url: str, settings: Settings) -> asyncpg.Pool:
    """One connection made at once (warm for the first read); if the database is down as the worker starts, none,
    so the worker still starts, answers 503 until the database is back, then connects on first use."""
    try:
        return await _pool(url, settings, min_size=1)
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
        if not is_outage(exc):
            raise
        return await _pool(url, settings, min_size=0)


async def _pool(url: str, settings: Settings, *, min_size: int) -> asyncpg.Pool:
    timeout = settings.db_connect_timeout_s
    return await plain_pool(
        url, settings, application_name="hibah-read", min_size=min_size, read_only=True, timeout=timeout
    )


class RetryingReader:
    """The read pool (a ``Reader``), reading once more on a fresh connection when the first had died with its server.

    A single-row read changes nothing, so reading it again is safe; the pool's other connections are as old,
    so they are all replaced on their next use (``expire_connections``). A second failure is the outage itself.
    """

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def fetchrow(self, query: str, *args: Any) -> Record | None:
        try:
            return await self.pool.fetchrow(query, *args)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
            await self._expire_after(exc)
        return await self.pool.fetchrow(query, *args)

    async def fetch(self, query: str, *args: Any) -> list[Record]:
        try:
            return await self.pool.fetch(query, *args)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
            await self._expire_after(exc)
        return await self.pool.fetch(query, *args)

    async def _expire_after(self, error: BaseException) -> None:
        if not is_outage(error):
            raise error
        await self.pool.expire_connections()


async def read_pool(request: Request) -> Reader:
    # On a replica when the request may read there (app/core/replicas.py), else the primary's retrying reader.
    return reader_for(request)


# A plain async dependency: a yield one costs FastAPI an exit stack (~5% of a read), a sync one a thread hop.
ReadPool = Annotated[Reader, Depends(read_pool)]
