"""The asyncpg connection under a session's transaction, for the hot paths that skip SQLAlchemy's statement layer.

SQLAlchemy costs 100-150 µs of CPU per statement (cache key, execution context, result proxy) where the
driver costs a few tens. The money path and the audit append run several statements per request, so they
talk to the driver directly, inside the same transaction the session commits or rolls back.
"""

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

DRIVER = "hibah.driver"


async def driver_connection(session: AsyncSession) -> asyncpg.Connection:
    known: asyncpg.Connection | None = session.info.get(DRIVER)
    if known is not None and known.is_in_transaction():
        return known  # the session's transaction holds one connection until it ends
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver: asyncpg.Connection = raw.driver_connection  # type: ignore[assignment]
    if not driver.is_in_transaction():
        # SQLAlchemy's asyncpg adapter sends BEGIN with its first statement. Until one has run, a statement
        # sent to the driver would commit on its own; this one opens the request's transaction.
        await connection.exec_driver_sql("SELECT 1")
    session.info[DRIVER] = driver
    return driver
