"""API-key endpoints: admins create, list and revoke; any key can ask who it is."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import JSONResponse

from app.access import service
from app.access.schemas import KeyCreate, KeyCreated, KeyOut, WhoAmI
from app.core.actor import Role
from app.core.auth import AdminActor, CurrentActor
from app.core.deps import Session
from app.core.http import PROBLEMS
from app.core.pagination import Page, PageRequest, convert_page, page_request
from app.core.types import DB_ID_MAX

router = APIRouter(tags=["access"])

KeyIdPath = Annotated[int, Path(ge=1, le=DB_ID_MAX)]


@router.post(
    "/keys",
    response_model=KeyCreated,
    status_code=201,
    responses=PROBLEMS,
    description="The secret is in this answer only. No Idempotency-Key here: a replay would have to keep the secret.",
)
async def create_key(session: Session, actor: AdminActor, body: KeyCreate) -> JSONResponse:
    key, secret = await service.create_key(session, actor, body)
    created = KeyCreated.model_validate({**KeyOut.model_validate(key).model_dump(), "key": secret})
    return JSONResponse(
        created.model_dump(mode="json"), status_code=201, headers={"Location": f"/api/v1/keys/{key.id}"}
    )


@router.get("/keys", response_model=Page[KeyOut], responses=PROBLEMS)
async def list_keys(
    session: Session,
    actor: AdminActor,
    paging: Annotated[PageRequest, Depends(page_request)],
    role: Role | None = None,
    include_revoked: Annotated[bool, Query()] = True,
) -> Page[KeyOut]:
    return convert_page(await service.list_keys(session, paging, role=role, include_revoked=include_revoked), KeyOut)


@router.get("/keys/me", response_model=WhoAmI, responses=PROBLEMS)
async def who_am_i(actor: CurrentActor) -> WhoAmI:
    return WhoAmI(key_id=actor.key_id, role=actor.role, recipient_id=actor.recipient_id, region_code=actor.region_code)


@router.get("/keys/{key_id}", response_model=KeyOut, responses=PROBLEMS)
async def get_key(session: Session, actor: AdminActor, key_id: KeyIdPath) -> KeyOut:
    return KeyOut.model_validate(await service.get_key(session, key_id))


@router.post("/keys/{key_id}/revoke", response_model=KeyOut, responses=PROBLEMS)
async def revoke_key(session: Session, actor: AdminActor, key_id: KeyIdPath) -> KeyOut:
    return KeyOut.model_validate(await service.revoke_key(session, actor, key_id))
