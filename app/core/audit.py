"""The append-only audit log: one hash chain over every write, in one total order.

Services note events on their transaction (``tx.record``) as they write; the events go to the database at
the end of it and are chained during its COMMIT, under a transaction-scoped advisory lock, so the chain has one order
(the commit order) even with concurrent writers while the lock is held only for the commit itself.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from app.core.actor import Actor
from app.core.models import utcnow

GENESIS_HASH = "0" * 64


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


# Events of transactions not yet committed; a deferred trigger chains them into audit_event at COMMIT
# (migration 0004). UNLOGGED: a row never outlives its transaction.
audit_pending = sa.Table(
    "audit_pending",
    SQLModel.metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(always=False), primary_key=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("actor_key_id", sa.BigInteger),
    sa.Column("actor_role", sa.String(16)),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("entity", sa.String(64), nullable=False),
    sa.Column("entity_id", sa.String(128), nullable=False),
    sa.Column("request_id", sa.String(128)),
    sa.Column("payload", JSONB, nullable=False),
    sa.Column("prefix", sa.Text, nullable=False),
    prefixes=["UNLOGGED"],
)


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


def pending_event(actor: Actor, action: str, entity: str, entity_id: object, payload: dict[str, Any]) -> PendingEvent:
    return PendingEvent(
        at=utcnow(),
        actor_key_id=actor.key_id,
        actor_role=actor.role.value if actor.role else None,
        action=action,
        entity=entity,
        entity_id=str(entity_id),
        # Round-trip through canonical JSON so the stored payload is exactly what was hashed.
        payload=json.loads(canonical_json(payload)),
    )


def hashed_prefix(event: PendingEvent, request_id: str | None) -> str:
    """The canonical JSON of the event up to its ``seq``, which sorts last and only the database knows."""
    unsequenced = canonical_json(hashed_fields(0, event.at, event, request_id))
    tail = ',"seq":0}'
    if not unsequenced.endswith(tail):  # the database completes the hash only if seq is the last member
        raise RuntimeError("the canonical JSON of an audit event must end with its seq")
    return unsequenced[: -len(tail) + len(',"seq":')]


APPEND = "SELECT audit_append($1::jsonb, $2) WHERE $1::jsonb IS NOT NULL"


def pending_rows(pending: list[PendingEvent], request_id: str | None) -> str | None:
    """The events as ``audit_append`` takes them (migration 0004), or None when there are none.

    They wait in ``audit_pending`` until COMMIT, when a deferred trigger takes the chain's advisory lock,
    reads the head and completes each hash: the lock is held for the commit only, never across a round
    trip to the application.
    """
    if not pending:
        return None
    return canonical_json(
        [
            {
                "at": event.at.isoformat(),
                "actor_key_id": event.actor_key_id,
                "actor_role": event.actor_role,
                "action": event.action,
                "entity": event.entity,
                "entity_id": event.entity_id,
                "payload": event.payload,
                "prefix": hashed_prefix(event, request_id),
            }
            for event in pending
        ]
    )
