"""Waiters woken by the same commit, asking the same question, share one read."""

import asyncio
from typing import Any

import asyncpg
import httpx

from app.core.reads import libpq_dsn
from app.feed.service import SharedReads
from tests.helpers import Grant


class Counting:
    """The read pool, counting the statements it is given."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.statements = 0

    async def fetchrow(self, query: str, *args: Any) -> Any:
        self.statements += 1
        return await self.pool.fetchrow(query, *args)

    async def fetch(self, query: str, *args: Any) -> list[Any]:
        self.statements += 1
        await asyncio.sleep(0.05)  # long enough for every waiter to join
        rows: list[Any] = await self.pool.fetch(query, *args)
        return rows


def test_waiters_of_one_wake_up_share_one_read(client: httpx.Client, database_url: str, grant: Grant) -> None:
    async def run() -> tuple[int, list[list[int]], int]:
        async with asyncpg.create_pool(libpq_dsn(database_url), min_size=1, max_size=2) as pool:
            reader = Counting(pool)
            shared = SharedReads()
            woken = await asyncio.gather(*(shared.read(reader, (2, 50, False, 7, "primary")) for _ in range(20)))
            shared_count = reader.statements
            # Another wake-up (generation 8) or another question is a read of its own.
            await asyncio.gather(
                shared.read(reader, (2, 50, False, 8, "primary")), shared.read(reader, (3, 50, False, 7, "primary"))
            )
            return shared_count, [[row["seq"] for row in rows] for rows in woken], reader.statements

    shared_count, seqs, total = asyncio.run(run())
    assert shared_count == 1
    assert seqs == [[3, 4, 5]] * 20
    assert total == 3


def test_the_primarys_answer_is_kept_until_the_next_wake_up(database_url: str, grant: Grant) -> None:
    """Followers on a replica coming back one after another (not at once) at the same ``after`` cost the primary
    one read per wake-up, not one each; a replica's answer is never kept."""

    async def run() -> tuple[int, int, int]:
        async with asyncpg.create_pool(libpq_dsn(database_url), min_size=1, max_size=2) as pool:
            reader = Counting(pool)
            shared = SharedReads()
            for _ in range(5):
                await shared.read(reader, (2, 50, False, 7, "primary"), keep=True)
            same_generation = reader.statements
            await shared.read(reader, (2, 50, False, 8, "primary"), keep=True)
            await shared.read(reader, (2, 50, False, 8, "primary"), keep=True)
            next_generation = reader.statements
            for _ in range(3):
                await shared.read(reader, (2, 50, False, 8, "replica"))
            return same_generation, next_generation, reader.statements

    assert asyncio.run(run()) == (1, 2, 5)
