"""Rendered pages, kept in the process while nothing they show can have changed.

Every write to the records appends to the audit chain in its own commit (app/core/audit.py), so the chain's
head (its last ``seq`` and hash) moves with every change a page could show. A page is kept under what was asked
(page, filters, language, host), the head it was rendered after, and the day (findings are judged as of
today). A request reads the head (one indexed row on the read pool), and a page of the same key is served as
it was rendered.

The page's own reads run after the head was read, so a kept page is never older than its key: at worst it
already shows a commit that the next head read will name, and that request renders again.

The head itself is read at most once per ``HIBAH_PORTAL_HEAD_TTL_S`` (1 s by default; 0 reads it on every
request): a kept page then costs no database round trip at all, and shows a write at most that much later
(the pages' ``Cache-Control`` already lets browsers keep them for a minute).
"""

import asyncio
import gzip
import hashlib
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass

CAPACITY = 512
"""Pages per worker process: the national page, 37 provinces and a few hundred regions and grants in two
languages fit; past it the least recently used page goes first."""


@dataclass(frozen=True)
class Rendered:
    """A page as it goes on the wire: its bytes, the same gzipped once, and a validator of its content."""

    status: int
    body: bytes
    gzipped: bytes
    etag: str

    @classmethod
    def of(cls, html: str, status: int = 200) -> "Rendered":
        body = html.encode()
        # A weak validator: the two encodings of one page carry the same one (RFC 9110 §8.8.1).
        digest = hashlib.blake2b(body, digest_size=12).hexdigest()
        return cls(status, body, gzip.compress(body, compresslevel=6, mtime=0), f'W/"portal-{digest}"')


class PageCache:
    def __init__(self, capacity: int = CAPACITY) -> None:
        self._pages: OrderedDict[Hashable, Rendered] = OrderedDict()
        self._capacity = capacity

    def get(self, key: Hashable) -> Rendered | None:
        page = self._pages.get(key)
        if page is not None:
            self._pages.move_to_end(key)
        return page

    def put(self, key: Hashable, page: Rendered) -> None:
        if self._capacity == 0:
            return
        self._pages[key] = page
        self._pages.move_to_end(key)
        while len(self._pages) > self._capacity:
            self._pages.popitem(last=False)

    def __len__(self) -> int:
        return len(self._pages)


Head = tuple[int, str]
"""The audit chain's last ``seq`` and its hash."""


class ChainHead:
    """The head as last read, read again once it is ``ttl`` seconds old; concurrent requests share one read."""

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._clock = clock
        self._head: Head | None = None
        self._read_at = 0.0
        self._lock = asyncio.Lock()

    def _fresh(self) -> Head | None:
        if self._head is not None and self._clock() - self._read_at < self._ttl:
            return self._head
        return None

    async def current(self, read: Callable[[], Awaitable[Head]]) -> Head:
        if self._ttl <= 0:
            return await read()
        head = self._fresh()
        if head is not None:
            return head
        async with self._lock:
            head = self._fresh()
            if head is None:
                started = self._clock()
                head = await read()
                self._head, self._read_at = head, started
            return head
