"""API-key endpoints: admins create, list and revoke; any key can ask who it is."""

from typing import Annotated

from fastapi import Depends, Path, Query, Response

from app.access import service
from app.access.errors import ApiKeyNotFound, ApiKeyRevoked, CannotRevokeOwnKey
from app.access.schemas import KeyCreate, KeyCreated, KeyOut, WhoAmI
from app.core.actor import Role
from app.core.auth import AdminActor, CurrentActor
from app.core.deps import Tx
from app.core.http import domain_router
from app.core.openapi import problems
from app.core.pagination import Page, PageRequest, convert_page, page_request
from app.core.types import DB_ID_MAX
from app.reference.errors import UnknownRecipient, UnknownRegion

router = domain_router("access")

KeyIdPath = Annotated[int, Path(ge=1, le=DB_ID_MAX)]


@router.post(
    "/keys",
    response_model=KeyCreated,
    status_code=201,
    responses=problems(UnknownRecipient, UnknownRegion),
    description="The secret is in this answer only. No Idempotency-Key here: a replay would have to keep the secret.",
)
async def create_key(tx: Tx, actor: AdminActor, body: KeyCreate, response: Response) -> KeyCreated:
    key, secret = await service.create_key(tx, actor, body)
    response.headers["Location"] = f"/api/v1/keys/{key.id}"
    return KeyCreated.model_validate({**KeyOut.model_validate(key).model_dump(), "key": secret})


@router.get("/keys", response_model=Page[KeyOut])
async def list_keys(
    tx: Tx,
    actor: AdminActor,
    paging: Annotated[PageRequest, Depends(page_request)],
    role: Role | None = None,
    include_revoked: Annotated[bool, Query()] = True,
) -> Page[KeyOut]:
    """API keys (never their secrets), filtered by role."""
    return convert_page(await service.list_keys(tx, paging, role=role, include_revoked=include_revoked), KeyOut)


@router.get("/keys/me", response_model=WhoAmI)
async def who_am_i(actor: CurrentActor) -> WhoAmI:
    """The role and scope of the key sent, or the public without one."""
    return WhoAmI(key_id=actor.key_id, role=actor.role, recipient_id=actor.recipient_id, region_code=actor.region_code)


@router.get("/keys/{key_id:int}", response_model=KeyOut, responses=problems(ApiKeyNotFound))
async def get_key(tx: Tx, actor: AdminActor, key_id: KeyIdPath) -> KeyOut:
    """One API key (never its secret)."""
    return KeyOut.model_validate(await service.get_key(tx, key_id))


@router.post(
    "/keys/{key_id:int}/revoke",
    response_model=KeyOut,
    responses=problems(ApiKeyNotFound, ApiKeyRevoked, CannotRevokeOwnKey),
)
async def revoke_key(tx: Tx, actor: AdminActor, key_id: KeyIdPath) -> KeyOut:
    """Revoke an API key at once; an admin cannot revoke its own."""
    return KeyOut.model_validate(await service.revoke_key(tx, actor, key_id))
