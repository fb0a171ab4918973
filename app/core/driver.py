"""The asyncpg connection under a session's transaction, for the hot paths that skip SQLAlchemy's statement layer.

SQLAlchemy costs 100-150 µs of CPU per statement (cache key, execution context, result proxy) where the
driver costs a few tens. The money path and the audit append run several statements per request, so they
talk to the driver directly, inside the same transaction the session commits or rolls back.
"""

from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

DRIVER = "hibah.driver"


async def driver_connection(session: AsyncSession) -> asyncpg.Connection:
    transaction = session.get_transaction()
    known: tuple[object, asyncpg.Connection] | None = session.info.get(DRIVER)
    if known is not None and known[0] is transaction and transaction is not None:
        return known[1]  # this transaction holds one connection until it ends
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver: asyncpg.Connection = raw.driver_connection  # type: ignore[assignment]
    if not driver.is_in_transaction():
        await _begin(connection, raw.dbapi_connection)
    session.info[DRIVER] = (session.get_transaction(), driver)
    return driver


async def _begin(connection: AsyncConnection, adapter: Any) -> None:
    """Open the session's transaction before the first statement goes to the driver.

    SQLAlchemy's asyncpg adapter sends BEGIN lazily, with its own first statement; until then a statement
    sent to the driver would commit on its own. The adapter's ``_start_transaction`` sends that BEGIN and
    records it, so SQLAlchemy commits or rolls back what was begun here. It is private API (SQLAlchemy is
    pinned in uv.lock; tests/test_idempotency.py proves the rollback): without it, a first statement through
    SQLAlchemy does the same at the cost of one more round trip.
    """
    start = getattr(adapter, "_start_transaction", None)
    if start is not None:
        await start()
    else:
        await connection.exec_driver_sql("SELECT 1")
