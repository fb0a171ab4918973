"""A follower reading on a replica that has not yet replayed the commit it was told of is still told at once.

The replica here is the test database seen through a reader that lags: it hides every event after the
moment it was "paused", as a standby with replay paused does. The listener is a real one, on the test
database (the primary). tests/scaling/test_feed_cluster.py shows the same on a real standby."""

import asyncio
import time
from typing import Any

import asyncpg
import httpx
import psycopg

from app.core.actor import PUBLIC
from app.core.reads import libpq_dsn
from app.feed import service
from app.feed.listener import ChangeListener
from tests.helpers import Grant, created, last_seq, pay

TOLD_WITHIN = 1.0


class LaggingReplica:
    """A reader whose data stops at ``replayed``: the feed's reads (``seq > $1 ... LIMIT $2``) see no later event."""

    def __init__(self, pool: asyncpg.Pool, replayed: int) -> None:
        self.pool, self.replayed = pool, replayed
        self.reads = 0

    async def fetchrow(self, query: str, *args: Any) -> Any:
        raise AssertionError("the feed reads lists")

    async def fetch(self, query: str, *args: Any) -> list[Any]:
        self.reads += 1
        rows: list[Any] = await self.pool.fetch(query, *args)
        return [row for row in rows if row["seq"] <= self.replayed]


class Primary:
    """The primary's reader, counting its reads."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.reads = 0

    async def fetchrow(self, query: str, *args: Any) -> Any:
        raise AssertionError("the feed reads lists")

    async def fetch(self, query: str, *args: Any) -> list[Any]:
        self.reads += 1
        rows: list[Any] = await self.pool.fetch(query, *args)
        return rows


async def _listening(dsn: str) -> ChangeListener:
    listener = ChangeListener(dsn)
    await listener.start()
    await asyncio.wait_for(listener.connected.wait(), 10)
    return listener


def test_a_waiter_woken_before_the_replica_replayed_is_told_from_the_primary(
    client: httpx.Client, database_url: str, grant: Grant, db: psycopg.Connection[Any]
) -> None:
    head = last_seq(db)

    async def run() -> tuple[list[int], float, int, int]:
        dsn = libpq_dsn(database_url)
        listener = await _listening(dsn)
        try:
            async with asyncpg.create_pool(dsn, min_size=1, max_size=4) as pool:
                replica, primary = LaggingReplica(pool, head), Primary(pool)
                follower = asyncio.create_task(
                    service.changes(
                        replica, listener, service.SharedReads(), PUBLIC, after=head, limit=50, wait=10, primary=primary
                    )
                )
                await asyncio.sleep(0.5)
                assert not follower.done()
                disbursement = await asyncio.to_thread(pay, client, grant, "10000000", "SP2D-LAG-1", "2023-12-19")
                created(disbursement)
                committed = time.monotonic()
                page = await asyncio.wait_for(follower, 10)
                told = time.monotonic() - committed
                return [change.seq for change in page.data], told, replica.reads, primary.reads
        finally:
            await listener.stop()

    seqs, told, replica_reads, primary_reads = asyncio.run(run())
    assert seqs == [head + 1]
    assert told < TOLD_WITHIN, told
    assert replica_reads >= 2  # the first read, and the one after the wake-up: both found nothing
    assert primary_reads >= 1


def test_a_commit_notified_before_the_request_came_is_not_waited_past(
    client: httpx.Client, database_url: str, grant: Grant, db: psycopg.Connection[Any]
) -> None:
    """The follower took its cursor from the primary (or another node) and comes back while the replica is still
    behind: its first read finds nothing there, and the notification that would wake it has already passed."""
    head = last_seq(db)
    created(pay(client, grant, "10000000", "SP2D-LAG-2", "2023-12-19"))

    async def run() -> tuple[list[int], float]:
        dsn = libpq_dsn(database_url)
        listener = await _listening(dsn)
        try:
            async with asyncpg.create_pool(dsn, min_size=1, max_size=4) as pool:
                started = time.monotonic()
                page = await service.changes(
                    LaggingReplica(pool, head),
                    listener,
                    service.SharedReads(),
                    PUBLIC,
                    after=head,
                    limit=50,
                    wait=5,
                    primary=Primary(pool),
                )
                return [change.seq for change in page.data], time.monotonic() - started
        finally:
            await listener.stop()

    seqs, took = asyncio.run(run())
    assert seqs == [head + 1]
    assert took < TOLD_WITHIN, took


def test_without_a_replica_the_primary_is_read_once_per_wake_up(
    client: httpx.Client, database_url: str, grant: Grant, db: psycopg.Connection[Any]
) -> None:
    """On the primary (``primary`` not given) nothing is read twice."""
    head = last_seq(db)

    async def run() -> tuple[list[int], int]:
        dsn = libpq_dsn(database_url)
        listener = await _listening(dsn)
        try:
            async with asyncpg.create_pool(dsn, min_size=1, max_size=4) as pool:
                reader = Primary(pool)
                follower = asyncio.create_task(
                    service.changes(reader, listener, service.SharedReads(), PUBLIC, after=head, limit=50, wait=10)
                )
                await asyncio.sleep(0.5)
                created(await asyncio.to_thread(pay, client, grant, "10000000", "SP2D-LAG-3", "2023-12-19"))
                page = await asyncio.wait_for(follower, 10)
                return [change.seq for change in page.data], reader.reads
        finally:
            await listener.stop()

    seqs, reads = asyncio.run(run())
    assert seqs == [head + 1]
    assert reads == 2
