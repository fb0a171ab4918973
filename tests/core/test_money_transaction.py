"""``core.db.money_transaction``: a money write's transaction on the ledger pool, against real PostgreSQL."""

import asyncio
from typing import Any

import psycopg
import pytest

from app.core.config import Settings
from app.core.db import create_ledger_pool, money_transaction

WRITE = "INSERT INTO idempotency_record (scope, key, request_hash) VALUES ('probe', $1, '')"


async def _write(database_url: str, note: str, *, fail: bool) -> None:
    pool = await create_ledger_pool(database_url, Settings())
    try:
        async with money_transaction(pool) as tx:
            await tx.sql.execute(WRITE, note)
            if fail:
                raise LookupError("a refusal after the write")
    finally:
        await pool.close()


def _notes(db: psycopg.Connection[Any]) -> list[str]:
    return [row[0] for row in db.execute("SELECT key FROM idempotency_record WHERE scope = 'probe' ORDER BY key")]


def test_commits_what_succeeds_and_rolls_back_what_fails(database_url: str, db: psycopg.Connection[Any]) -> None:
    asyncio.run(_write(database_url, "kept", fail=False))
    with pytest.raises(LookupError):
        asyncio.run(_write(database_url, "dropped", fail=True))
    assert _notes(db) == ["kept"]


def test_has_no_orm_session_and_reads_json_decoded(database_url: str) -> None:
    """No SQLAlchemy under a money write; JSON reads back as on the engine's connections (a replay's headers)."""

    async def run() -> Any:
        pool = await create_ledger_pool(database_url, Settings())
        try:
            async with money_transaction(pool) as tx:
                with pytest.raises(RuntimeError, match="no ORM session"):
                    _ = tx.session
                return await tx.sql.fetchval("""SELECT '{"etag": "x"}'::jsonb""")
        finally:
            await pool.close()

    assert asyncio.run(run()) == {"etag": "x"}
