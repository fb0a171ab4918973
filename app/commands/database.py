"""The database a command works on, and the one transaction it runs in."""

import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg

from app.core.config import get_settings
from app.core.db import Transaction, create_engine_for, transaction
from app.core.embedded import start_embedded
from app.core.revisions import head_revision

T = TypeVar("T")


def database_url(*, migrate: bool = False) -> str:
    """DATABASE_URL, or the embedded server (started or joined) under the data directory; ``migrate`` applies
    the pending migrations first.

    The embedded database is the user's own scratch database: it is brought to the latest schema whenever it
    is behind the code, so any first command works. A configured server is migrated only when asked
    (``migrate``, ``serve``)."""
    settings = get_settings()
    url = settings.database_url
    if url is None:
        url = start_embedded(settings.data_dir)
        migrate = migrate or asyncio.run(schema_revision(url)) != head_revision()
    if migrate:
        upgrade_to_head(url)
    # Children (uvicorn workers) and later commands in this process use the same server.
    os.environ["DATABASE_URL"] = url
    get_settings.cache_clear()
    return url


def upgrade_to_head(url: str) -> None:
    # Alembic and the migration scripts are imported by the commands that migrate, and only when they do.
    from app.core.migrate import upgrade_to_head as upgrade  # noqa: PLC0415 - heavy, see the docstring

    upgrade(url)


async def schema_revision(url: str) -> str | None:
    """The revision the database's schema is at, ``None`` before the first migration."""
    connection = await asyncpg.connect(url)
    try:
        revision: str | None = await connection.fetchval("SELECT version_num FROM alembic_version")
    except asyncpg.UndefinedTableError:
        return None
    finally:
        await connection.close()
    return revision


def run_in_transaction(work: Callable[[Transaction], Awaitable[T]]) -> T:
    """``work`` in one transaction of its own: all of it commits, or none of it."""
    url = database_url()

    async def main() -> T:
        engine = create_engine_for(url, get_settings())
        try:
            async with transaction(engine) as tx:
                return await work(tx)
        finally:
            await engine.dispose()

    return asyncio.run(main())
