"""Reads on PostgreSQL streaming replicas (``DATABASE_REPLICA_URL``), writes on the primary.

Which database answers a request is decided once per request, from what the request is:

* every method but GET/HEAD/OPTIONS goes to the primary (a write, or a POST that reads to decide);
* a GET whose key wrote in the last ``read_your_writes_s`` seconds goes to the primary, so a writer reads
  its own write at once. The writes are remembered per worker process, by a digest of the
  ``Authorization`` header: across workers and nodes this is best effort (docs/scaling.md says what a
  client needing more does);
* every other GET (the public's, and keys that only read) goes to a replica that is up and whose replay is
  at most ``replica_max_lag_s`` behind, taken in turn; with none such, to the primary.

Each worker measures every replica in the background every ``replica_check_interval_s`` (state and replay
lag), never per request. A replica that refuses a connection between two checks is marked down at once and
the request falls back to the primary. A response served from a replica carries ``Hibah-Replica-Lag``: the
replica's replay lag at its last check, in seconds (the data may be that much older, plus the check
interval). ``/readyz`` and ``/metrics`` report each replica.
"""

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

import asyncpg
from fastapi import Request
from prometheus_client import Gauge
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.config import Settings
from app.core.db import Transaction, create_engine_for, plain_pool, transaction
from app.core.observability import REGISTRY

log = logging.getLogger("hibah.replicas")

LAG_HEADER = "Hibah-Replica-Lag"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_SCOPE_KEY = "hibah.replica"
_PRIMARY = "primary"
_MAX_REMEMBERED = 100_000

# Replay lag: 0 while the standby has replayed all it received and is streaming (an idle primary sends nothing,
# so the age of the last replayed transaction would grow without any lag); else the age of that transaction.
# A server not in recovery (a replica URL pointing at a primary, as in tests) has no lag.
LAG = """
SELECT CASE
    WHEN NOT pg_is_in_recovery() THEN 0::float8
    WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()
         AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming') THEN 0::float8
    ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())::float8, 'Infinity'::float8)
END
"""

REPLICA_UP = Gauge(
    "hibah_db_replica_up",
    "1 while a replica answers its checks (0: down, its reads go to the primary).",
    ["replica"],
    registry=REGISTRY,
    multiprocess_mode="livemin",
)
REPLICA_LAG = Gauge(
    "hibah_db_replica_lag_seconds",
    "A replica's replay lag at its last check (+Inf when down or never replayed).",
    ["replica"],
    registry=REGISTRY,
    multiprocess_mode="livemax",
)
REPLICA_USED = Gauge(
    "hibah_db_replica_in_use",
    "1 while a replica takes reads: up and within the lag allowed.",
    ["replica"],
    registry=REGISTRY,
    multiprocess_mode="livemin",
)


def replica_urls(settings: Settings) -> list[str]:
    return [url.strip() for url in (settings.database_replica_url or "").split(",") if url.strip()]


async def _replica_pool(url: str, settings: Settings) -> asyncpg.Pool:
    """Like core.reads' pool (hot single-row reads, the checks), named apart; no connection kept while idle."""
    return await plain_pool(url, settings, application_name="hibah-replica-read", read_only=True)


def display_name(url: str) -> str:
    """host:port/database, no user or password: what /readyz and /metrics may show."""
    parsed = make_url(url)
    return f"{parsed.host or 'localhost'}:{parsed.port or 5432}/{parsed.database or ''}"


@dataclass
class Replica:
    name: str
    url: str
    engine: AsyncEngine
    pool: asyncpg.Pool | None = None
    up: bool = False
    lag_s: float = float("inf")
    error: str | None = None
    checked_at: float | None = None
    max_lag_s: float = 5.0

    @property
    def usable(self) -> bool:
        return self.up and self.lag_s <= self.max_lag_s

    def state(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "up": self.up,
            "in_use": self.usable,
            "lag_seconds": None if self.lag_s == float("inf") else round(self.lag_s, 3),
            "error": self.error,
        }

    def _publish(self) -> None:
        REPLICA_UP.labels(self.name).set(1 if self.up else 0)
        REPLICA_LAG.labels(self.name).set(self.lag_s)
        REPLICA_USED.labels(self.name).set(1 if self.usable else 0)

    async def check(self, settings: Settings, limit_s: float) -> None:
        try:
            if self.pool is None:
                self.pool = await asyncio.wait_for(_replica_pool(self.url, settings), limit_s)
            lag = await self.pool.fetchval(LAG, timeout=limit_s)
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            await self.mark_down(exc)
            return
        if not self.up:
            log.info("replica %s up, lag %.3f s", self.name, lag)
        self.up, self.lag_s, self.error, self.checked_at = True, float(lag), None, time.monotonic()
        self._publish()

    async def mark_down(self, exc: BaseException) -> None:
        was_up = self.up
        self.up, self.lag_s, self.error = False, float("inf"), f"{type(exc).__name__}: {exc}"[:200]
        self._publish()
        if was_up:
            log.warning("replica %s down, its reads go to the primary: %s", self.name, self.error)
            # The connections it had are dead or soon will be: none is handed out again once it is back.
            if self.pool is not None:
                await self.pool.expire_connections()
            await self.engine.dispose()


@dataclass
class ReplicaSet:
    """A worker's replicas, their last measured state, and the keys that wrote lately."""

    settings: Settings
    replicas: list[Replica] = field(default_factory=list)
    primary_engine: AsyncEngine | None = None
    primary_pool: asyncpg.Pool | None = None
    _turn: int = 0
    _writers: dict[str, float] = field(default_factory=dict)
    _monitor: asyncio.Task[None] | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> "ReplicaSet":
        replicas = [
            Replica(
                display_name(url),
                url,
                create_engine_for(url, settings, replica=True),
                max_lag_s=settings.replica_max_lag_s,
            )
            for url in replica_urls(settings)
        ]
        return cls(settings, replicas)

    async def start(self, primary_engine: AsyncEngine, primary_pool: asyncpg.Pool) -> None:
        """Measure every replica once (so the first requests may use them), then keep measuring in the background."""
        self.primary_engine, self.primary_pool = primary_engine, primary_pool
        if not self.replicas:
            return
        await self.check_all()
        self._monitor = asyncio.create_task(self._watch())

    async def check_all(self) -> None:
        timeout = max(self.settings.replica_check_interval_s, 1.0)
        await asyncio.gather(*(replica.check(self.settings, timeout) for replica in self.replicas))

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.settings.replica_check_interval_s)
            try:
                await self.check_all()
            except Exception:  # a bug in a check must not stop the checks for good
                log.exception("replica check failed")

    async def close(self) -> None:
        if self._monitor is not None:
            self._monitor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._monitor
        for replica in self.replicas:
            if replica.pool is not None:
                await replica.pool.close()
            await replica.engine.dispose()

    def pick(self) -> Replica | None:
        count = len(self.replicas)
        for step in range(count):
            replica = self.replicas[(self._turn + step) % count]
            if replica.usable:
                self._turn = (self._turn + step + 1) % count
                return replica
        return None

    def note_write(self, writer: str) -> None:
        now = time.monotonic()
        if len(self._writers) >= _MAX_REMEMBERED:
            self._writers = {key: until for key, until in self._writers.items() if until > now}
        self._writers[writer] = now + self.settings.read_your_writes_s

    def wrote_lately(self, writer: str) -> bool:
        until = self._writers.get(writer)
        return until is not None and until > time.monotonic()


def _writer(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            return hashlib.sha256(value).hexdigest()
    return None


def choose(request: Request) -> Replica | None:
    """The replica this request reads from, or None for the primary; decided once per request."""
    scope = request.scope
    chosen = scope.get(_SCOPE_KEY)
    if chosen is not None:
        return None if chosen == _PRIMARY else chosen
    replicas: ReplicaSet | None = getattr(request.app.state, "replicas", None)
    replica: Replica | None = None
    if replicas is not None and replicas.replicas and scope["method"] in SAFE_METHODS:
        writer = _writer(scope)
        if writer is None or not replicas.wrote_lately(writer):
            replica = replicas.pick()
    scope[_SCOPE_KEY] = replica if replica is not None else _PRIMARY
    return replica


def engine_for(request: Request) -> AsyncEngine:
    replica = choose(request)
    if replica is not None:
        return replica.engine
    engine: AsyncEngine = request.app.state.engine
    return engine


# What a replica that died or restarted under an open connection raises; a query's own error is not among them.
_CUT = (OSError, asyncpg.InterfaceError, asyncpg.PostgresConnectionError, asyncpg.exceptions.OperatorInterventionError)


class Reader(Protocol):
    """What a fast read needs: one statement (the pool itself, which acquires and releases around it)."""

    async def fetchrow(self, query: str, *args: Any) -> asyncpg.Record | None: ...

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]: ...


class FallbackReader:
    """The hot reads on a replica, on the primary when the replica fails to answer."""

    def __init__(self, request: Request, replica: Replica, pool: asyncpg.Pool, primary: Reader) -> None:
        self.request, self.replica, self.pool, self.primary = request, replica, pool, primary

    async def fetchrow(self, query: str, *args: Any) -> asyncpg.Record | None:
        try:
            return await self.pool.fetchrow(query, *args)
        except _CUT as exc:
            await self._to_primary(exc)
        return await self.primary.fetchrow(query, *args)

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        try:
            return await self.pool.fetch(query, *args)
        except _CUT as exc:
            await self._to_primary(exc)
        return await self.primary.fetch(query, *args)

    async def _to_primary(self, exc: BaseException) -> None:
        await self.replica.mark_down(exc)
        self.request.scope[_SCOPE_KEY] = _PRIMARY


def reader_for(request: Request) -> Reader:
    """The replica's pool when the request reads there, else the primary's reader (``app.state.reader``)."""
    primary: Reader = request.app.state.reader
    replica = choose(request)
    if replica is None or replica.pool is None:
        if replica is not None:
            request.scope[_SCOPE_KEY] = _PRIMARY
        return primary
    return FallbackReader(request, replica, replica.pool, primary)


def primary_reader_behind(request: Request) -> Reader | None:
    """The primary's reader when the request reads on a replica (for a read that must not wait for the replay:
    the change feed's, once told of a commit), else None. Declared after ``read_pool`` in a route, so the
    request's choice is already made."""
    return request.app.state.reader if choose(request) is not None else None


def replica_engine_for(request: Request) -> AsyncEngine | None:
    """The engine of the replica the request reads from; None: the primary."""
    replica = choose(request)
    return None if replica is None else replica.engine


_CONNECT_ERRORS = (OSError, DBAPIError, asyncpg.PostgresError, asyncpg.InterfaceError)


@asynccontextmanager
async def request_transaction(request: Request) -> AsyncIterator[Transaction]:
    """The request's one transaction, on its replica or the primary (a replica failing to begin → the primary)."""
    request_id = getattr(request.state, "request_id", None)
    async with AsyncExitStack() as stack:
        tx: Transaction | None = None
        replica = choose(request)
        if replica is not None:
            try:
                tx = await stack.enter_async_context(transaction(replica.engine, request_id=request_id))
            except _CONNECT_ERRORS as exc:
                await replica.mark_down(exc)
                request.scope[_SCOPE_KEY] = _PRIMARY
        if tx is None:
            tx = await stack.enter_async_context(transaction(request.app.state.engine, request_id=request_id))
        yield tx


class ReplicaRoutingMiddleware:
    """Remembers which keys wrote (read-your-writes) and marks the answers a replica served."""

    def __init__(self, app: ASGIApp, replicas: ReplicaSet) -> None:
        self.app = app
        self.replicas = replicas

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] not in SAFE_METHODS:
            writer = _writer(scope)
            if writer is None:
                await self.app(scope, receive, send)
                return
            # Noted before (a read racing the write goes to the primary too) and after (the window starts at
            # the commit, which a long import may reach minutes later).
            self.replicas.note_write(writer)
            try:
                await self.app(scope, receive, send)
            finally:
                self.replicas.note_write(writer)
            return

        async def send_marked(message: Message) -> None:
            if message["type"] == "http.response.start":
                replica = scope.get(_SCOPE_KEY)
                if isinstance(replica, Replica):
                    MutableHeaders(scope=message)[LAG_HEADER] = f"{replica.lag_s:.3f}"
            await send(message)

        await self.app(scope, receive, send_marked)
