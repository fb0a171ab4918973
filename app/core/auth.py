"""API keys (stored as SHA-256 digests), the actor of a request, and the role checks routers declare."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Depends, Request
from sqlmodel import Field, SQLModel

from app.core.actor import PUBLIC, Actor, Role
from app.core.deps import Tx
from app.core.errors import (
    ApiKeyRequired,
    DomainError,
    InvalidApiKey,
    MalformedCredentials,
    RoleNotAllowed,
    answers,
)
from app.core.models import created_at_column, enum_column
from app.core.openapi import key_security
from app.core.reads import ReadPool

KEY_PREFIX = "hibah_"


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_key"
    __table_args__ = (
        sa.CheckConstraint("(role = 'recipient') = (recipient_id IS NOT NULL)", name="recipient_scope"),
        sa.CheckConstraint("role = 'finance' OR region_code IS NULL", name="region_scope"),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_type=sa.Text)
    role: Role = enum_column(Role, "api_key_role")
    recipient_id: int | None = Field(default=None, foreign_key="recipient.id", index=True)
    # A finance key may be bound to one Pemda (its region); unbound, it acts nationally.
    region_code: str | None = Field(default=None, foreign_key="region.code", sa_type=sa.String(5))
    key_hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, unique=True))
    prefix: str = Field(sa_type=sa.String(16))
    created_at: datetime = created_at_column()
    created_by_key_id: int | None = Field(default=None, foreign_key="api_key.id")
    revoked_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    # Keys are 256 random bits, so a fast digest is as safe as a slow KDF and keeps lookups cheap.
    return hashlib.sha256(key.encode()).hexdigest()


LIVE_KEY = "SELECT id, role, recipient_id, region_code FROM api_key WHERE key_hash = $1 AND revoked_at IS NULL"


def actor_of(row: Any) -> Actor:
    return Actor(
        key_id=row["id"], role=Role(row["role"]), recipient_id=row["recipient_id"], region_code=row["region_code"]
    )


def bearer_secret(request: Request) -> str | None:
    """The key of ``Authorization: Bearer <key>``; None without the header, a 401 for a malformed one."""
    authorization = request.headers.get("authorization")
    if authorization is None:
        return None
    scheme, _, secret = authorization.partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret:
        raise MalformedCredentials()
    return secret


def ensure_role(actor: Actor, roles: frozenset[Role]) -> None:
    if actor.is_public:
        raise ApiKeyRequired()
    if actor.role not in roles:
        raise RoleNotAllowed(str(actor.role), ", ".join(sorted(role.value for role in roles)))


@key_security(required=False)
@answers(MalformedCredentials, InvalidApiKey)
async def current_actor(request: Request, tx: Tx) -> Actor:
    """The caller: the public without an ``Authorization`` header, else the key it names (or a 401).

    The header is read here, not through FastAPI's ``HTTPBearer``: one dependency fewer on every request,
    and the OpenAPI document states which operations need the key (``app.core.openapi``)."""
    secret = bearer_secret(request)
    if secret is None:
        return PUBLIC
    # On the driver: every authenticated request runs this one statement (docs/architecture.md).
    row = await tx.sql.fetchrow(LIVE_KEY, hash_key(secret))
    if row is None:
        raise InvalidApiKey()
    actor = actor_of(row)
    request.state.actor = actor
    return actor


CurrentActor = Annotated[Actor, Depends(current_actor)]


@key_security(required=False)
@answers(MalformedCredentials, InvalidApiKey)
async def pooled_actor(request: Request, pool: ReadPool) -> Actor:
    """:func:`current_actor` for a route that opens no transaction (a held change-feed request): the key is
    looked up in one statement on the read pool, and the connection goes back at once."""
    secret = bearer_secret(request)
    if secret is None:
        return PUBLIC
    row = await pool.fetchrow(LIVE_KEY, hash_key(secret))
    if row is None:
        raise InvalidApiKey()
    actor = actor_of(row)
    request.state.actor = actor
    return actor


PooledActor = Annotated[Actor, Depends(pooled_actor)]


def require(*roles: Role) -> "RoleCheck":
    return RoleCheck(frozenset(roles))


@dataclass(frozen=True)
class RoleCheck:
    roles: frozenset[Role]
    hibah_answers: tuple[type[DomainError], ...] = (ApiKeyRequired, RoleNotAllowed)
    hibah_key_required: bool = True

    async def __call__(self, actor: CurrentActor) -> Actor:
        ensure_role(actor, self.roles)
        return actor


AdminActor = Annotated[Actor, Depends(require(Role.admin))]
AuditorActor = Annotated[Actor, Depends(require(Role.admin, Role.auditor))]
