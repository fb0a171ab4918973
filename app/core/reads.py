"""The fast path for hot single-row reads: a plain asyncpg pool beside the SQLAlchemy engine.

A public read of one row (a region, an agreement's position) is one statement, atomic on its own, so
it needs no session, no explicit transaction and no ORM; measured on this machine the SQLAlchemy
session costs several times the query itself (docs/performance.md). Writes and multi-statement
reads keep the one-transaction-per-request session.
"""

from typing import Annotated

import asyncpg
from fastapi import Depends, Request
from sqlalchemy.engine import make_url

from app.core import pooler
from app.core.config import Settings
from app.core.replicas import Reader, reader_for

__all__ = ["ReadPool", "Reader", "create_read_pool", "libpq_dsn", "read_pool"]


def libpq_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def create_read_pool(url: str, settings: Settings) -> asyncpg.Pool:
    pool: asyncpg.Pool = await asyncpg.create_pool(
        libpq_dsn(url),
        min_size=1,
        max_size=settings.db_pool_size,
        reset=_keep_as_is,
        server_settings={"application_name": "hibah-read", "default_transaction_read_only": "on"},
        **pooler.pool_options(settings),
    )
    return pool


async def _keep_as_is(connection: asyncpg.Connection) -> None:
    """No reset round trip on release: read-only single statements leave no session state behind."""


async def read_pool(request: Request) -> Reader:
    # On a replica when the request may read there (app/core/replicas.py), else the primary's pool.
    return reader_for(request)


# A plain async dependency: a yield one costs FastAPI an exit stack (~5% of a read), a sync one a thread hop.
ReadPool = Annotated[Reader, Depends(read_pool)]
