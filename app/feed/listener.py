"""One LISTEN connection per worker process, fanning the chain's commits out to the requests waiting on them.

Migration 0009 sends a payload-less ``NOTIFY hibah_changes`` with every transaction that appends to the audit
chain. A worker keeps one dedicated asyncpg connection (not from any pool: a pooled connection is reset and
handed to others, and a LISTEN must outlive requests) listening on that channel; every notification sets the
current :class:`asyncio.Event` and puts a fresh one in its place, so any number of held requests wake at once
without a connection each. When the connection drops the listener reconnects (backing off up to a few
seconds) and wakes every waiter, which reads again: a commit made while it was away is then found, not missed.
While it is away waiters poll instead (:data:`POLL_WHILE_AWAY`), so a follower is still told, a little later.

The connection must reach PostgreSQL itself (``HIBAH_LISTEN_URL``, by default ``DATABASE_URL``): PgBouncer in
transaction mode accepts the ``LISTEN`` but runs it on a server session it then hands to other clients, so no
notification ever reaches the listener (measured: none in 1 s, docs/scaling.md). The listener recognises a
pooler (the backend pid the server reports at startup is not the one answering queries: PgBouncer makes up
its own), then sends itself a notification from another connection: in PgBouncer's session mode it arrives and
the listener listens as usual; when it does not (transaction mode), it says so in one WARNING and leaves the
feed polling, rather than holding followers for the whole of their ``wait`` on a listen that will never hear.
"""

import asyncio
import contextlib
import logging
import secrets

import asyncpg

CHANNEL = "hibah_changes"
POLL_WHILE_AWAY = 0.5
"""Seconds between reads of a waiting request while the listener is not connected."""
HEALTH_EVERY = 10.0
"""Seconds of silence after which the listener checks its connection (a dead peer may never close it)."""
RECONNECT_MAX = 5.0
PROBE_S = 2.0
"""Behind a pooler, how long the listener waits for its own test notification before it concludes none come."""

log = logging.getLogger("hibah.feed")


class ChangeListener:
    """Tells waiting requests that the audit chain moved; owned by the app's lifespan, one per process."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._event = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._connection: asyncpg.Connection | None = None
        self.connected = asyncio.Event()
        self.notifications = 0
        """Notifications received, for tests and metrics."""
        self.behind_pooler = False
        """True once the URL was found to lead through a pooler: no LISTEN, waiters poll."""
        self.generation = 0
        """How many times waiters were woken: a read begun at generation g sees every commit that woke them
        up to g (PostgreSQL notifies after the commit is visible)."""

    def moment(self) -> asyncio.Event:
        """The event the next notification sets: take it *before* reading, so a commit between the read and
        the wait is not lost."""
        return self._event

    async def wait(self, moment: asyncio.Event, seconds: float) -> None:
        """Until ``moment`` is set or ``seconds`` pass; never longer than a poll while disconnected."""
        if not self.connected.is_set():
            seconds = min(seconds, POLL_WHILE_AWAY)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(moment.wait(), seconds)

    def _wake(self) -> None:
        event, self._event = self._event, asyncio.Event()
        self.generation += 1
        event.set()

    def _notified(self, connection: object, pid: int, channel: str, payload: object) -> None:
        self.notifications += 1
        self._wake()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="hibah-feed-listener")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.connected.clear()
        self._wake()

    async def _run(self) -> None:
        backoff = 0.1
        while True:
            try:
                await self._listen()
                if self.behind_pooler:
                    return
                backoff = 0.1
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("change feed listener lost its connection: %s", exc)
            self.connected.clear()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, RECONNECT_MAX)

    async def _listen(self) -> None:
        # No statement cache: what little it runs must not leave prepared statements on a pooler's sessions.
        connection: asyncpg.Connection = await asyncpg.connect(
            self._dsn, server_settings={"application_name": "hibah-feed"}, statement_cache_size=0
        )
        lost = asyncio.Event()
        connection.add_termination_listener(lambda _connection: lost.set())
        try:
            if await _through_pooler(connection) and not await self._hears_itself(connection):
                self.behind_pooler = True
                log.warning(
                    "change feed: the listen URL leads through a connection pooler (PgBouncer?), which cannot"
                    " carry LISTEN; /changes?wait= polls every %.1f s instead. Set HIBAH_LISTEN_URL to the"
                    " primary PostgreSQL itself.",
                    POLL_WHILE_AWAY,
                )
                return
            await connection.add_listener(CHANNEL, self._notified)
            self._connection = connection
            self.connected.set()
            self._wake()  # whatever committed while no one was listening
            while not connection.is_closed():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(lost.wait(), HEALTH_EVERY)
                    return
                await connection.fetchval("SELECT 1", timeout=5)
        finally:
            self._connection = None
            self.connected.clear()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.close(), 2)

    async def _hears_itself(self, connection: asyncpg.Connection) -> bool:
        """Behind a pooler: whether a notification sent from another connection reaches this one. It does in
        PgBouncer's session mode (the server session stays this client's); in transaction mode it never does."""
        channel = f"hibah_probe_{secrets.token_hex(8)}"
        heard = asyncio.Event()

        def hear(*_: object) -> None:
            heard.set()

        await connection.add_listener(channel, hear)
        other: asyncpg.Connection = await asyncpg.connect(
            self._dsn, server_settings={"application_name": "hibah-feed-probe"}, statement_cache_size=0
        )
        try:
            await other.execute(f"NOTIFY {channel}", timeout=5)
        finally:
            await asyncio.wait_for(other.close(), 2)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(heard.wait(), PROBE_S)
        if heard.is_set():
            await connection.remove_listener(channel, hear)
        return heard.is_set()


_POOLED = "hibah: not the session that answered the startup"


async def _through_pooler(connection: asyncpg.Connection) -> bool:
    """Whether the session answering queries is another than the one that greeted us: a pooler in between.

    One simple-protocol statement (a single round trip, so a transaction pooler cannot split it across sessions)
    compares the backend pid reported at startup with the one running it."""
    check = (
        f"DO $$BEGIN IF pg_backend_pid() <> {int(connection.get_server_pid())} THEN"
        f" RAISE EXCEPTION '{_POOLED}'; END IF; END$$"
    )
    try:
        await connection.execute(check, timeout=5)
    except asyncpg.RaiseError as exc:
        if _POOLED in str(exc):
            return True
        raise
    return False
