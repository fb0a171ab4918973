"""``Idempotency-Key``: the first answer is stored in the same transaction as the write it reports.

A retry with the same key and body replays that answer; the same key with another body is a 409.
Parallel retries queue on the unique index: the first commits, the others then find its answer.
A request that fails rolls back its reservation, so a retry after a failure runs again.

The dependency reserves the key before the handler runs; the route class (``app.core.http.HibahRoute``)
stores the answer after FastAPI has validated and serialised it, before the transaction commits.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Annotated, Any, NoReturn

import sqlalchemy as sa
from fastapi import Depends, Header, Request
from fastapi.responses import Response
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from app.core.actor import Actor, Role
from app.core.auth import LIVE_KEY, CurrentActor, actor_of, bearer_secret, ensure_role, hash_key
from app.core.db import KeptAnswer, Transaction
from app.core.deps import Tx
from app.core.errors import (
    ApiKeyRequired,
    DomainError,
    IdempotencyKeyRequired,
    IdempotencyKeyReused,
    InvalidApiKey,
    InvalidIdempotencyKey,
    MalformedCredentials,
    RoleNotAllowed,
    answers,
)
from app.core.http import KEEPS_ANSWER, ROUTE_TRANSACTION
from app.core.models import created_at_column
from app.core.types import DB_ID_MAX

KEY_MAX_LENGTH = 255
KEPT_HEADERS = ("etag", "location")


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
    """Not an error: carries the stored answer out of the dependency, past the handler."""

    status = 200
    code = "replay"

    def __init__(self, status_code: int, body: str, headers: dict[str, str]) -> None:
        super().__init__("replay", "replay")
        self.status_code = status_code
        self.body = body
        self.stored_headers = headers


def replay_response(replay: IdempotentReplay) -> Response:
    headers = {**replay.stored_headers, "Idempotent-Replayed": "true"}
    return Response(replay.body, status_code=replay.status_code, headers=headers, media_type="application/json")


_RESERVE = """
INSERT INTO idempotency_record (scope, key, request_hash) VALUES ($1, $2, $3)
ON CONFLICT (scope, key) DO NOTHING RETURNING id
"""
_EXISTING = """
SELECT request_hash, status_code, response_body, response_headers FROM idempotency_record WHERE scope = $1 AND key = $2
"""


@dataclass(frozen=True)
class Reservation:
    """A key reserved by this request, waiting for the answer to keep."""

    tx: Transaction
    record_id: int

    def keep(self, response: Response) -> None:
        """Hand the answer to the transaction, which writes it with its audit events as it closes."""
        headers = {name: value for name, value in response.headers.items() if name in KEPT_HEADERS}
        body = bytes(response.body).decode()
        self.tx.keep_answer(KeptAnswer(self.record_id, response.status_code, body, json.dumps(headers)))


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


def _valid_key(key: str) -> bool:
    return bool(key) and len(key) <= KEY_MAX_LENGTH and key.isprintable()


def _check_key(key: str) -> None:
    if not _valid_key(key):
        raise InvalidIdempotencyKey(KEY_MAX_LENGTH)


async def _reserve(request: Request, tx: Transaction, actor: Actor, key: str, *, streamed: bool) -> None:
    _check_key(key)
    scope = _scope(actor)
    # A streamed body is never read twice nor held: its key stands for the request as a whole.
    request_hash = _target_hash(request) if streamed else await _request_hash(request)
    record_id: int | None = await tx.sql.fetchval(_RESERVE, scope, key, request_hash)
    if record_id is not None:
        setattr(request.state, KEEPS_ANSWER, Reservation(tx, record_id))
        return
    await _replay_or_refuse(tx, scope, key, request_hash)


async def _replay_or_refuse(tx: Transaction, scope: str, key: str, request_hash: str) -> NoReturn:
    """The key was used before: the same request gets the first answer again, another one a 409."""
    existing: Any = await tx.sql.fetchrow(_EXISTING, scope, key)
    if existing["request_hash"] != request_hash:
        raise IdempotencyKeyReused()
    headers = existing["response_headers"] or {}  # jsonb arrives decoded (the codecs of both pools, core.db)
    raise IdempotentReplay(existing["status_code"] or 200, existing["response_body"], headers)


IDEMPOTENCY_KEY = "Idempotency-Key"
IDEMPOTENCY_KEY_DESCRIPTION = "A client-chosen key; a retry with the same key and body replays the first response."
IdempotencyHeader = Annotated[str | None, Header(alias=IDEMPOTENCY_KEY, description=IDEMPOTENCY_KEY_DESCRIPTION)]


@answers(IdempotencyKeyReused, InvalidIdempotencyKey)
async def optional_idempotency(request: Request, tx: Tx, actor: CurrentActor, key: IdempotencyHeader = None) -> None:
    # Every create needs a key: without one the role check answers 401, before anything the body or headers say.
    if key is not None and not actor.is_public:
        await _reserve(request, tx, actor, key, streamed=False)


@answers(IdempotencyKeyReused, InvalidIdempotencyKey)
async def streamed_idempotency(request: Request, tx: Tx, actor: CurrentActor, key: IdempotencyHeader = None) -> None:
    """For streamed uploads: the same key replays the first answer without reading the body again."""
    if key is not None and not actor.is_public:
        await _reserve(request, tx, actor, key, streamed=True)


# --- money writes: the key and its reservation in one statement ----------------------------------

# For a POST that must carry both a key and an Idempotency-Key (a payment, a reversal, a refund): the key is
# looked up and, if its role may write, the Idempotency-Key reserved under it, in one round trip.
_ACTOR_AND_RESERVED = """
WITH actor AS (SELECT id, role, recipient_id, region_code FROM api_key WHERE key_hash = $1 AND revoked_at IS NULL),
reserved AS (
    INSERT INTO idempotency_record (scope, key, request_hash)
    SELECT 'key:' || id, $2, $3 FROM actor WHERE role = ANY($4::text[])
    ON CONFLICT (scope, key) DO NOTHING
    RETURNING id
)"""
_ANSWER = """
SELECT actor.*, (SELECT id FROM reserved) AS reserved FROM actor
"""
# ... and the row the write locks first ($5), only once the key is reserved (LockAhead fills in its columns).
_LOCKED_AHEAD = """,
ahead AS (SELECT {columns} FROM {table} WHERE id = $5 AND EXISTS (SELECT FROM reserved) FOR UPDATE)
SELECT actor.*, (SELECT id FROM reserved) AS reserved, (SELECT ahead FROM ahead) AS ahead FROM actor
"""
_KEY_AND_RESERVE = _ACTOR_AND_RESERVED + _ANSWER
_KEY_RESERVE_AND_LOCK = _ACTOR_AND_RESERVED + _LOCKED_AHEAD


@dataclass(frozen=True)
class LockAhead:
    """The row a money write locks first, named by a path parameter: locked in the statement that reserves the
    Idempotency-Key, one round trip fewer on the hottest writes (docs/performance.md).

    The row is locked only once the key is reserved (never for a replay, a refusal or a bad key), so the lock
    order stays the reservation's, then the row's. Its ``columns``, as locked, wait on the transaction
    (``Transaction.ahead(table, id)``) for the service, which locks the row itself when they are absent."""

    table: str
    path_param: str
    columns: str

    def statement(self) -> str:
        return _KEY_RESERVE_AND_LOCK.format(columns=self.columns, table=self.table)

    def target(self, request: Request) -> int | None:
        """The row's id from the path; None when it cannot name a row (the parameter's own check answers 422)."""
        value = request.path_params.get(self.path_param)
        return value if isinstance(value, int) and 1 <= value <= DB_ID_MAX else None


@dataclass(frozen=True)
class IdempotentWriter:
    """A dependency for writes that need a key of ``roles`` and an Idempotency-Key: authenticates, checks the
    role and reserves the key with one statement, where ``require()`` and ``optional_idempotency`` take two
    statements and four FastAPI dependencies."""

    roles: frozenset[Role]
    hibah_answers: tuple[type[DomainError], ...] = (
        MalformedCredentials,
        InvalidApiKey,
        ApiKeyRequired,
        RoleNotAllowed,
        IdempotencyKeyRequired,
        IdempotencyKeyReused,
        InvalidIdempotencyKey,
    )
    hibah_key_required: bool = True
    # The parameter is optional to FastAPI so that its absence is this class's 428, not a 422; the document
    # still tells clients that it is required (app.core.openapi).
    hibah_required_headers: tuple[tuple[str, str], ...] = ((IDEMPOTENCY_KEY, IDEMPOTENCY_KEY_DESCRIPTION),)
    lock_ahead: LockAhead | None = None

    @cached_property
    def _statement(self) -> str:
        assert self.lock_ahead is not None
        return self.lock_ahead.statement()

    async def __call__(self, request: Request, tx: Tx, key: IdempotencyHeader = None) -> Actor:
        return await self.admit(request, tx, key)

    async def admit(self, request: Request, tx: Transaction, key: str | None) -> Actor:
        secret = bearer_secret(request)
        if secret is None:
            raise ApiKeyRequired()
        if key is None or not _valid_key(key):
            # The rarer path keeps the usual order of answers: who you are (401, 403) before what you sent.
            await self._authenticate(request, tx, secret)
            if key is None:
                raise IdempotencyKeyRequired()
            _check_key(key)
        request_hash = await _request_hash(request)
        arguments = [hash_key(secret), key, request_hash, list(self.roles)]
        if self.lock_ahead is None:
            row = await tx.sql.fetchrow(_KEY_AND_RESERVE, *arguments)
        else:
            target = self.lock_ahead.target(request)
            row = await tx.sql.fetchrow(self._statement, *arguments, target)
            if row is not None and row["ahead"] is not None and target is not None:
                tx.locked_ahead[self.lock_ahead.table, target] = row["ahead"]
        if row is None:
            raise InvalidApiKey()
        actor = actor_of(row)
        request.state.actor = actor
        ensure_role(actor, self.roles)
        if row["reserved"] is not None:
            setattr(request.state, KEEPS_ANSWER, Reservation(tx, row["reserved"]))
            return actor
        await _replay_or_refuse(tx, _scope(actor), key, request_hash)

    async def _authenticate(self, request: Request, tx: Transaction, secret: str) -> None:
        row = await tx.sql.fetchrow(LIVE_KEY, hash_key(secret))
        if row is None:
            raise InvalidApiKey()
        request.state.actor = actor_of(row)
        ensure_role(request.state.actor, self.roles)


@dataclass(frozen=True)
class MoneyWrite:
    """What a money write's handler works with: its transaction (``MoneyRoute``'s) and who is writing."""

    tx: Transaction
    actor: Actor


@dataclass(frozen=True)
class MoneyWriter(IdempotentWriter):
    """``IdempotentWriter`` for a ``MoneyRoute``, whose transaction is already open. One dependency with no
    parameter for FastAPI to solve but the request: the header is read here and documented by
    ``app.core.openapi`` (``hibah_required_headers``), which saves a payment ~5 % of its CPU."""

    async def __call__(self, request: Request) -> MoneyWrite:  # type: ignore[override]
        tx: Transaction = getattr(request.state, ROUTE_TRANSACTION)
        return MoneyWrite(tx, await self.admit(request, tx, request.headers.get(IDEMPOTENCY_KEY)))


def money_writer(*roles: Role, lock_ahead: LockAhead | None = None) -> MoneyWriter:
    return MoneyWriter(frozenset(roles), lock_ahead=lock_ahead)


def idempotent_writer(*roles: Role, lock_ahead: LockAhead | None = None) -> IdempotentWriter:
    return IdempotentWriter(frozenset(roles), lock_ahead=lock_ahead)


OptionalIdempotency = Depends(optional_idempotency)
StreamedIdempotency = Depends(streamed_idempotency)
