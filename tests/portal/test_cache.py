"""The page cache's two parts: the audit chain's head, trusted for a short while and then read again from the
real database (one read for many waiting requests), and the bounded store of rendered pages."""

import asyncio
import gzip

import asyncpg
import httpx

from app.portal.cache import ChainHead, PageCache, Rendered
from app.portal.repository import chain_head
from tests.conftest import libpq

TTL = 0.5


def test_the_head_is_read_again_once_its_time_is_up(
    database_url: str, client: httpx.Client, admin: dict[str, str]
) -> None:
    async def scenario() -> None:
        connection = await asyncpg.connect(libpq(database_url))
        reads = 0

        async def read() -> tuple[int, str]:
            nonlocal reads
            reads += 1
            return await chain_head(connection)

        now = [0.0]
        try:
            head = ChainHead(TTL, clock=lambda: now[0])
            before = await head.current(read)
            body = {"code": "36", "name": "Banten"}
            created = await asyncio.to_thread(client.post, "/regions", json=body, headers=admin)
            assert created.status_code == 201
            assert await chain_head(connection) != before, "the write moved the chain"
            now[0] += TTL * 0.9
            assert await head.current(read) == before, "within its time the head last read is trusted"
            now[0] += TTL * 0.2
            reads = 0
            after = await asyncio.gather(*(head.current(read) for _ in range(20)))
            assert reads == 1, "twenty waiting requests share one read"
            assert set(after) == {await chain_head(connection)} != {before}
        finally:
            await connection.close()

    asyncio.run(scenario())


def test_a_ttl_of_zero_reads_every_time(database_url: str) -> None:
    async def scenario() -> int:
        connection = await asyncpg.connect(libpq(database_url))
        reads = 0

        async def read() -> tuple[int, str]:
            nonlocal reads
            reads += 1
            return await chain_head(connection)

        try:
            head = ChainHead(0)
            for _ in range(3):
                await head.current(read)
        finally:
            await connection.close()
        return reads

    assert asyncio.run(scenario()) == 3


def test_pages_kept_up_to_capacity_least_recently_used_first_out() -> None:
    cache = PageCache(capacity=2)
    pages = {name: Rendered.of(f"<p>{name}</p>") for name in "abc"}
    cache.put("a", pages["a"])
    cache.put("b", pages["b"])
    assert cache.get("a") is pages["a"]  # a is now the most recently used
    cache.put("c", pages["c"])
    assert cache.get("b") is None
    assert cache.get("a") is pages["a"] and cache.get("c") is pages["c"]
    assert len(cache) == 2
    off = PageCache(capacity=0)
    off.put("a", pages["a"])
    assert off.get("a") is None and len(off) == 0


def test_a_rendered_page_carries_its_gzip_and_a_validator_of_its_content() -> None:
    first, same, other = Rendered.of("<p>x</p>"), Rendered.of("<p>x</p>"), Rendered.of("<p>y</p>")
    assert first.etag == same.etag != other.etag
    assert gzip.decompress(first.gzipped) == b"<p>x</p>"
