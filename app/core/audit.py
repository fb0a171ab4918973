"""The append-only audit log: one hash chain over every write, in one total order.

Services call :func:`record` as they write; the events are appended when the transaction is about to
commit, under a transaction-scoped advisory lock, so the chain has one order even with concurrent
writers while the lock is held only for the last moment of each transaction.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, col

from app.core.actor import Actor
from app.core.models import utcnow

GENESIS_HASH = "0" * 64
AUDIT_LOCK_KEY = 0x48494241  # "HIBA": one chain, one lock
PENDING = "hibah.audit.pending"
REQUEST_ID = "hibah.request_id"


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"

    seq: int = Field(sa_column=sa.Column(sa.BigInteger, primary_key=True, autoincrement=False))
    at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    actor_key_id: int | None = Field(default=None, sa_type=sa.BigInteger, index=True)
    actor_role: str | None = Field(default=None, sa_type=sa.String(16))
    action: str = Field(sa_type=sa.String(64), index=True)
    entity: str = Field(sa_type=sa.String(64))
    entity_id: str = Field(sa_type=sa.String(128))
    request_id: str | None = Field(default=None, sa_type=sa.String(128))
    payload: dict[str, Any] = Field(sa_column=sa.Column(JSONB, nullable=False))
    prev_hash: str = Field(sa_type=sa.String(64))
    hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, unique=True))


@dataclass(frozen=True)
class PendingEvent:
    at: datetime
    actor_key_id: int | None
    actor_role: str | None
    action: str
    entity: str
    entity_id: str
    payload: dict[str, Any]


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_jsonable)


def event_digest(prev_hash: str, event: dict[str, Any]) -> str:
    """``sha256(prev_hash ‖ canonical JSON of the event)``; ``event`` holds every stored field but the hashes."""
    return hashlib.sha256((prev_hash + canonical_json(event)).encode()).hexdigest()


def hashed_fields(seq: int, at: datetime, event: PendingEvent | AuditEvent, request_id: str | None) -> dict[str, Any]:
    return {
        "seq": seq,
        "at": at.isoformat(),
        "actor_key_id": event.actor_key_id,
        "actor_role": event.actor_role,
        "action": event.action,
        "entity": event.entity,
        "entity_id": event.entity_id,
        "request_id": request_id,
        "payload": event.payload,
    }


def record(
    session: AsyncSession,
    actor: Actor,
    *,
    action: str,
    entity: str,
    entity_id: object,
    payload: dict[str, Any],
) -> None:
    pending: list[PendingEvent] = session.info.setdefault(PENDING, [])
    pending.append(
        PendingEvent(
            at=utcnow(),
            actor_key_id=actor.key_id,
            actor_role=actor.role.value if actor.role else None,
            action=action,
            entity=entity,
            entity_id=str(entity_id),
            # Round-trip through canonical JSON so the stored payload is exactly what was hashed.
            payload=json.loads(canonical_json(payload)),
        )
    )


async def append_pending(session: AsyncSession) -> None:
    pending: list[PendingEvent] = session.info.pop(PENDING, [])
    if not pending:
        return
    await session.execute(sa.select(sa.func.pg_advisory_xact_lock(AUDIT_LOCK_KEY)))
    head = (
        await session.execute(
            sa.select(col(AuditEvent.seq), col(AuditEvent.hash)).order_by(col(AuditEvent.seq).desc()).limit(1)
        )
    ).first()
    seq, prev_hash = (head[0], head[1]) if head else (0, GENESIS_HASH)
    request_id = session.info.get(REQUEST_ID)
    rows = []
    for event in pending:
        seq += 1
        digest = event_digest(prev_hash, hashed_fields(seq, event.at, event, request_id))
        rows.append(
            {
                "seq": seq,
                "at": event.at,
                "actor_key_id": event.actor_key_id,
                "actor_role": event.actor_role,
                "action": event.action,
                "entity": event.entity,
                "entity_id": event.entity_id,
                "request_id": request_id,
                "payload": event.payload,
                "prev_hash": prev_hash,
                "hash": digest,
            }
        )
        prev_hash = digest
    await session.execute(sa.insert(AuditEvent), rows)
