"""API-key management, shared by the admin endpoints and the ``hibah keys`` CLI."""

import sqlalchemy as sa
from sqlmodel import col

from app.access.errors import ApiKeyNotFound, ApiKeyRevoked, CannotRevokeOwnKey
from app.access.schemas import KeyCreate
from app.core.actor import Actor, Role
from app.core.auth import ApiKey, hash_key, new_key
from app.core.db import Transaction
from app.core.models import utcnow
from app.core.pagination import Page, PageRequest, paginate_by_id
from app.core.queries import one_or_raise
from app.reference.errors import UnknownRecipient, UnknownRegion
from app.reference.models import Recipient, Region

PREFIX_LENGTH = 12


async def create_key(tx: Transaction, actor: Actor, data: KeyCreate) -> tuple[ApiKey, str]:
    """The stored key and its secret, which exists only in this return value."""
    if data.recipient_id is not None and await tx.session.get(Recipient, data.recipient_id) is None:
        raise UnknownRecipient(data.recipient_id)
    if data.region_code is not None and await tx.session.get(Region, data.region_code) is None:
        raise UnknownRegion(data.region_code)
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
    tx.session.add(key)
    await tx.session.flush()
    tx.record(
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


async def get_key(tx: Transaction, key_id: int, *, for_update: bool = False) -> ApiKey:
    return await one_or_raise(
        tx.session, ApiKey, col(ApiKey.id) == key_id, ApiKeyNotFound(key_id), for_update=for_update
    )


async def list_keys(
    tx: Transaction, page: PageRequest, *, role: Role | None = None, include_revoked: bool = True
) -> Page[ApiKey]:
    statement = sa.select(ApiKey)
    if role is not None:
        statement = statement.where(col(ApiKey.role) == role)
    if not include_revoked:
        statement = statement.where(col(ApiKey.revoked_at).is_(None))
    return await paginate_by_id(tx.session, statement, col(ApiKey.id), page)


async def revoke_key(tx: Transaction, actor: Actor, key_id: int) -> ApiKey:
    if actor.key_id == key_id:
        raise CannotRevokeOwnKey()
    key = await get_key(tx, key_id, for_update=True)
    if key.revoked_at is not None:
        raise ApiKeyRevoked(key_id)
    key.revoked_at = utcnow()
    await tx.session.flush()
    tx.record(actor, action="api_key.revoke", entity="api_key", entity_id=key_id, payload={})
    return key
