"""The fast path for hot single-row reads: a plain asyncpg pool beside the SQLAlchemy engine.

A public read of one row (a region, an agreement's position) is one statement, atomic on its own, so
it needs no session, no explicit transaction and no ORM; measured on this machine the SQLAlchemy
session costs several times the query itself (docs/performance.md). Writes and multi-statement
reads keep the one-transaction-per-request session.
"""

from typing import Annotated, Any, Protocol

import asyncpg
from asyncpg import Record
from fastapi import Depends, Request
from sqlalchemy.engine import make_url

from app.core.config import Settings


def libpq_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def create_read_pool(url: str, settings: Settings) -> asyncpg.Pool:
    pool: asyncpg.Pool = await asyncpg.create_pool(
        libpq_dsn(url),
        min_size=1,
        max_size=settings.db_pool_size,
        reset=_keep_as_is,
        server_settings={"application_name": "hibah-read", "default_transaction_read_only": "on"},
    )
    return pool


async def _keep_as_is(connection: asyncpg.Connection) -> None:
    """No reset round trip on release: read-only single statements leave no session state behind."""


class Reader(Protocol):
    """What a fast read needs: one statement (the pool itself, which acquires and releases around it)."""

    async def fetchrow(self, query: str, *args: Any) -> Record | None: ...

    async def fetch(self, query: str, *args: Any) -> list[Record]: ...


async def read_pool(request: Request) -> asyncpg.Pool:
    pool: asyncpg.Pool = request.app.state.read_pool
    return pool


# A plain async dependency: a yield one costs FastAPI an exit stack (~5% of a read), a sync one a thread hop.
ReadPool = Annotated[Reader, Depends(read_pool)]
