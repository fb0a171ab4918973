"""The change feed: the audit chain read after a client's ``seq``, shown as the reader's visibility allows,
held open (``wait``) until something newer commits."""

import asyncio
import json
from typing import Any

from app.core.actor import Actor, Role
from app.core.reads import Reader
from app.core.visibility import SEES_EVERY_OWNER, may_see, withhold_mapping
from app.feed import repository
from app.feed.listener import ChangeListener
from app.feed.schemas import Change, ChangePage

UNSUBMITTED_REPORT_ACTIONS = frozenset(
    {
        "usage_report.create",
        "usage_report.return",
        "usage_report.reopen",
        "usage_item.add",
        "usage_item.update",
        "usage_item.delete",
        "usage_item.import",
    }
)
"""Changes to a report while it is a draft (or as it goes back to one): the reads show such a report, and its
items, only to those who may see its recipient's private data (README: who sees what), so the feed shows
what these changes recorded only to them. Submitting and accepting make the report public; so are those events."""
KEY_READERS = frozenset({Role.admin, Role.auditor})
"""API keys are read by admins only, and their changes in the audit log by auditors and admins."""


def entry(actor: Actor, row: Any) -> Change:
    """One audit event as ``actor`` may see it."""
    payload: dict[str, Any] = json.loads(row["payload"])
    data: dict[str, Any] | None
    if row["entity"] == "api_key":
        data = payload if actor.role in KEY_READERS else None
    elif row["action"] in UNSUBMITTED_REPORT_ACTIONS and not may_see(actor, row["owner"]):
        data = None
    else:
        data = withhold_mapping(actor, row["owner"], payload)
    return Change(
        seq=row["seq"],
        at=row["at"],
        action=row["action"],
        entity=row["entity"],
        entity_id=row["entity_id"],
        data=data,
    )


class SharedReads:
    """One read for every waiter a commit wakes that asks the same question (the same ``after``, ``limit`` and
    kind of view): fifty followers at the head of the feed cost a worker one statement per commit, not fifty.

    Only reads begun after the wake-up are shared (the key holds the listener's generation), so each waiter
    still sees the commit that woke it. A request's first read is always its own: an identical read already
    in flight may have begun before the caller's own commit. The key ends with where the read runs
    (``"replica"`` or ``"primary"``): a replica's answer is never handed to a waiter reading the primary."""

    def __init__(self) -> None:
        self._reads: dict[tuple[int, int, bool, int, str], asyncio.Future[list[Any]]] = {}
        self._kept: dict[tuple[int, int, bool, int, str], list[Any]] = {}
        self._kept_generation = -1

    async def read(self, reader: Reader, key: tuple[int, int, bool, int, str], *, keep: bool = False) -> list[Any]:
        """``keep``: the answer is kept, and given to the same question, until the next wake-up. Right for the
        primary's answers only: whatever commits after such a read is notified, which moves the generation (and
        so the key) on; a replica's answer may lack what was already notified."""
        generation = key[3]
        if keep:
            if generation != self._kept_generation:
                self._kept.clear()
                self._kept_generation = generation
            kept = self._kept.get(key)
            if kept is not None:
                return kept
        pending = self._reads.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._read(reader, key))
            self._reads[key] = pending
        # Shielded: one waiter giving up (its client went away) must not cancel the read for the others.
        rows = await asyncio.shield(pending)
        if keep and generation == self._kept_generation:
            self._kept[key] = rows
        return rows

    async def _read(self, reader: Reader, key: tuple[int, int, bool, int, str]) -> list[Any]:
        after, limit, with_owner, _, _ = key
        try:
            return await repository.changes_after(reader, after, limit, with_owner=with_owner)
        finally:
            del self._reads[key]


async def changes(
    reader: Reader,
    listener: ChangeListener,
    shared: SharedReads,
    actor: Actor,
    *,
    after: int,
    limit: int,
    wait: float,
    primary: Reader | None = None,
) -> ChangePage:
    """Entries after ``after``; when there are none, wait up to ``wait`` seconds for a commit to bring some.

    Each read is one statement on the read pool: between reads the request holds no connection, only its
    place among the listener's waiters.

    ``primary`` is given when ``reader`` is a replica. PostgreSQL notifies the listener (on the primary) as the
    commit becomes visible there, which may be before the replica has replayed it: a waiter the notification
    woke would read nothing on the replica and wait for the *next* commit. So a waiting read that finds nothing
    on the replica after a notification (or, for a request's first read, with the listener listening: the
    commit may have been notified before the request came) reads the primary once, that answer shared by every
    request of the worker asking the same question until the next notification. Without notifications (the
    listener away) the replica is polled alone: it catches up within its lag allowance."""
    # Only a recipient key's view depends on whose record an event is about; the others skip the lookup.
    with_owner = actor.role is not None and actor.role not in SEES_EVERY_OWNER
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    moment = listener.moment()
    generation = listener.generation
    rows = await repository.changes_after(reader, after, limit, with_owner=with_owner)
    if not rows and wait > 0 and primary is not None and listener.connected.is_set():
        rows = await shared.read(primary, (after, limit, with_owner, generation, "primary"), keep=True)
    while not rows and (remaining := deadline - loop.time()) > 0:
        await listener.wait(moment, remaining)
        moment = listener.moment()
        woken, generation = listener.generation != generation, listener.generation
        rows = await shared.read(reader, (after, limit, with_owner, generation, "replica" if primary else "primary"))
        if not rows and woken and primary is not None:
            rows = await shared.read(primary, (after, limit, with_owner, generation, "primary"), keep=True)
    data = [entry(actor, row) for row in rows]
    return ChangePage(data=data, next_cursor=str(data[-1].seq if data else after))
