"""API-key management, shared by the admin endpoints and the ``hibah keys`` CLI."""

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.access.schemas import KeyCreate
from app.core import audit
from app.core.actor import Actor, Role
from app.core.auth import ApiKey, hash_key, new_key
from app.core.errors import Conflict, FieldError, InvalidInput, NotFound
from app.core.models import utcnow
from app.core.pagination import Page, PageRequest, paginate_by_id
from app.core.queries import one_or_raise
from app.reference.models import Recipient, Region

PREFIX_LENGTH = 12


async def create_key(session: AsyncSession, actor: Actor, data: KeyCreate) -> tuple[ApiKey, str]:
    """The stored key and its secret, which exists only in this return value."""
    if data.recipient_id is not None and await session.get(Recipient, data.recipient_id) is None:
        raise InvalidInput(
            f"There is no recipient {data.recipient_id}.",
            f"Tidak ada penerima {data.recipient_id}.",
            code="unknown_recipient",
            errors=[FieldError(field="recipient_id", message="no such recipient")],
        )
    if data.region_code is not None and await session.get(Region, data.region_code) is None:
        raise InvalidInput(
            f"There is no region {data.region_code}.",
            f"Tidak ada wilayah {data.region_code}.",
            code="unknown_region",
            errors=[FieldError(field="region_code", message="no such region")],
        )
    secret = new_key()
    key = ApiKey(
        name=data.name,
        role=data.role,
        recipient_id=data.recipient_id,
        region_code=data.region_code,
        key_hash=hash_key(secret),
        prefix=secret[:PREFIX_LENGTH],
        created_by_key_id=actor.key_id,
    )
    session.add(key)
    await session.flush()
    audit.record(
        session,
        actor,
        action="api_key.create",
        entity="api_key",
        entity_id=key.id,
        payload={
            "name": key.name,
            "role": key.role.value,
            "recipient_id": key.recipient_id,
            "region_code": key.region_code,
            "prefix": key.prefix,
        },
    )
    return key, secret


async def get_key(session: AsyncSession, key_id: int, *, for_update: bool = False) -> ApiKey:
    return await one_or_raise(
        session,
        ApiKey,
        col(ApiKey.id) == key_id,
        NotFound(f"There is no API key {key_id}.", f"Tidak ada kunci API {key_id}.", code="api_key_not_found"),
        for_update=for_update,
    )


async def list_keys(
    session: AsyncSession, page: PageRequest, *, role: Role | None = None, include_revoked: bool = True
) -> Page[ApiKey]:
    statement = sa.select(ApiKey)
    if role is not None:
        statement = statement.where(col(ApiKey.role) == role)
    if not include_revoked:
        statement = statement.where(col(ApiKey.revoked_at).is_(None))
    return await paginate_by_id(session, statement, col(ApiKey.id), page)


async def revoke_key(session: AsyncSession, actor: Actor, key_id: int) -> ApiKey:
    if actor.key_id == key_id:
        raise Conflict(
            "A key cannot revoke itself: use another admin key (or `hibah keys revoke`).",
            "Kunci tidak dapat mencabut dirinya sendiri: gunakan kunci admin lain (atau `hibah keys revoke`).",
            code="cannot_revoke_own_key",
        )
    key = await get_key(session, key_id, for_update=True)
    if key.revoked_at is not None:
        raise Conflict(
            f"API key {key_id} is already revoked.", f"Kunci API {key_id} sudah dicabut.", code="api_key_revoked"
        )
    key.revoked_at = utcnow()
    await session.flush()
    audit.record(session, actor, action="api_key.revoke", entity="api_key", entity_id=key_id, payload={})
    return key
