"""``Idempotency-Key``: the first response is stored in the same transaction as the write it reports.

A retry with the same key and body replays that response; the same key with another body is a 409.
Parallel retries queue on the unique index: the first commits, the others then find its response.
A request that fails rolls back its reservation, so a retry after a failure runs again.
"""

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Depends, Header, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, col

from app.core.actor import Actor
from app.core.auth import CurrentActor
from app.core.deps import Session
from app.core.driver import driver_connection
from app.core.errors import Conflict, DomainError, FieldError, InvalidInput, PreconditionRequired
from app.core.models import created_at_column

KEY_MAX_LENGTH = 255


class IdempotencyRecord(SQLModel, table=True):
    __tablename__ = "idempotency_record"
    __table_args__ = (sa.UniqueConstraint("scope", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    scope: str = Field(sa_type=sa.String(64))
    key: str = Field(sa_type=sa.String(KEY_MAX_LENGTH))
    request_hash: str = Field(sa_type=sa.String(64))
    status_code: int | None = None
    # Text, not JSONB: a replay must be byte-identical to the first answer (JSONB reorders keys).
    response_body: str | None = Field(default=None, sa_type=sa.Text)
    response_headers: dict[str, str] | None = Field(default=None, sa_column=sa.Column(JSONB, nullable=True))
    created_at: datetime = created_at_column()


class IdempotentReplay(DomainError):
    """Not an error: carries the stored response out of the dependency, past the handler."""

    status = 200
    code = "replay"

    def __init__(self, record: IdempotencyRecord) -> None:
        super().__init__("replay")
        # Copied out: the request's rollback expires the ORM row before the handler renders it.
        self.status_code = record.status_code or 200
        self.body = record.response_body
        self.stored_headers = dict(record.response_headers or {})


def replay_response(replay: IdempotentReplay) -> Response:
    headers = {**replay.stored_headers, "Idempotent-Replayed": "true"}
    return Response(replay.body, status_code=replay.status_code, headers=headers, media_type="application/json")


@dataclass
class Idempotency:
    """What a create handler holds: the reserved key (if any) and how to answer so the answer is kept."""

    session: AsyncSession
    record_id: int | None = None
    stored: dict[str, Any] = field(default_factory=dict)

    async def respond(
        self, body: BaseModel, *, status_code: int = 201, headers: dict[str, str] | None = None
    ) -> Response:
        content = body.model_dump_json()
        kept_headers = dict(headers or {})
        if self.record_id is not None:
            driver = await driver_connection(self.session)
            await driver.execute(_KEEP, self.record_id, status_code, content, json.dumps(kept_headers))
        return Response(content, status_code=status_code, headers=kept_headers, media_type="application/json")


def _scope(actor: Actor) -> str:
    return "public" if actor.key_id is None else f"key:{actor.key_id}"


def _target_hash(request: Request) -> str:
    return hashlib.sha256(f"{request.method} {request.url.path}\n".encode()).hexdigest()


async def _request_hash(request: Request) -> str:
    raw = await request.body()
    try:
        canonical = json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, UnicodeDecodeError):
        canonical = raw
    digest = hashlib.sha256()
    digest.update(f"{request.method} {request.url.path}\n".encode())
    digest.update(canonical)
    return digest.hexdigest()


# Every money write runs these two, so they go to the driver as plain SQL (see app/core/driver.py).
_RESERVE = """
INSERT INTO idempotency_record (scope, key, request_hash) VALUES ($1, $2, $3)
ON CONFLICT (scope, key) DO NOTHING RETURNING id
"""
_KEEP = """
UPDATE idempotency_record SET status_code = $2, response_body = $3, response_headers = $4::jsonb WHERE id = $1
"""


async def _reserve(session: AsyncSession, scope: str, key: str, request_hash: str) -> int | None:
    driver = await driver_connection(session)
    record_id: int | None = await driver.fetchval(_RESERVE, scope, key, request_hash)
    return record_id


async def _existing(session: AsyncSession, scope: str, key: str) -> IdempotencyRecord:
    statement = sa.select(IdempotencyRecord).where(
        col(IdempotencyRecord.scope) == scope,
        col(IdempotencyRecord.key) == key,
    )
    return (await session.execute(statement)).scalar_one()


def _check_key(key: str) -> None:
    if not key or len(key) > KEY_MAX_LENGTH or not key.isprintable():
        raise InvalidInput(
            f"Idempotency-Key must be 1-{KEY_MAX_LENGTH} printable characters.",
            f"Idempotency-Key harus 1-{KEY_MAX_LENGTH} karakter yang dapat dicetak.",
            code="invalid_idempotency_key",
            errors=[FieldError(field="Idempotency-Key", message="1-255 printable characters")],
        )


async def _guard(
    request: Request, session: AsyncSession, actor: Actor, key: str | None, *, required: bool, streamed: bool = False
) -> Idempotency:
    if key is None:
        if required:
            raise PreconditionRequired(
                "This request moves money: send an Idempotency-Key header so a retry cannot pay twice.",
                "Permintaan ini memindahkan uang: kirim header Idempotency-Key agar pengulangan"
                " tidak membayar dua kali.",
                code="idempotency_key_required",
            )
        return Idempotency(session)
    _check_key(key)
    scope = _scope(actor)
    # A streamed body is never read twice nor held: its key stands for the request as a whole.
    request_hash = _target_hash(request) if streamed else await _request_hash(request)
    record_id = await _reserve(session, scope, key, request_hash)
    if record_id is not None:
        return Idempotency(session, record_id)
    existing = await _existing(session, scope, key)
    if existing.request_hash != request_hash:
        raise Conflict(
            "This Idempotency-Key was used with another request; use a new key for a new request.",
            "Idempotency-Key ini sudah dipakai untuk permintaan lain; gunakan kunci baru.",
            code="idempotency_key_reused",
        )
    raise IdempotentReplay(existing)


IdempotencyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="A client-chosen key; a retry with the same key and body replays the first response.",
    ),
]


async def optional_idempotency(
    request: Request, session: Session, actor: CurrentActor, key: IdempotencyHeader = None
) -> Idempotency:
    return await _guard(request, session, actor, key, required=False)


async def required_idempotency(
    request: Request, session: Session, actor: CurrentActor, key: IdempotencyHeader = None
) -> Idempotency:
    return await _guard(request, session, actor, key, required=True)


async def streamed_idempotency(
    request: Request, session: Session, actor: CurrentActor, key: IdempotencyHeader = None
) -> Idempotency:
    return await _guard(request, session, actor, key, required=False, streamed=True)


OptionalIdempotency = Annotated[Idempotency, Depends(optional_idempotency)]
StreamedIdempotency = Annotated[Idempotency, Depends(streamed_idempotency)]
"""For streamed uploads: the same key replays the first answer without reading the body again."""
RequiredIdempotency = Annotated[Idempotency, Depends(required_idempotency)]
