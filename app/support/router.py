"""HTTP routes of support in kind: declare inputs, call the service, return."""

from typing import Annotated

from fastapi import Depends, Path, Response

from app.core.actor import Actor, Role
from app.core.auth import require
from app.core.deps import Tx
from app.core.http import IfMatch, domain_router, validators
from app.core.idempotency import idempotent_writer
from app.core.openapi import problems
from app.core.pagination import Page, PageRequest, page_request
from app.core.types import DB_ID_MAX
from app.grants.errors import OutsideKeyScope, RegionMismatch
from app.support import service
from app.support.errors import (
    AlreadyReturned,
    BastNumberExists,
    NotALoan,
    ReturnBastNumberExists,
    ReturnedBeforeHandover,
    SupportNotFound,
    SupportVoided,
    UnknownSupportParty,
)
from app.support.filters import SupportFilters
from app.support.schemas import SupportCreate, SupportOut, SupportReturn, SupportVoid

router = domain_router("support")

Paging = Annotated[PageRequest, Depends(page_request)]
IdPath = Annotated[int, Path(ge=1, le=DB_ID_MAX)]
# What leaves public hands without an SP2D is recorded like what leaves with one: once per Idempotency-Key.
Recorder = Annotated[Actor, Depends(idempotent_writer(Role.finance, Role.admin))]
Registrar = Annotated[Actor, Depends(require(Role.finance, Role.admin))]
STALE_NOTE = " Send its ETag as `If-Match` to refuse a stale change (412)."


@router.post(
    "/support",
    response_model=SupportOut,
    status_code=201,
    responses=problems(UnknownSupportParty, RegionMismatch, OutsideKeyScope, BastNumberExists),
    description=(
        "Record support in kind (goods, an asset loan, space, staff, a service) handed over to an election body"
        " under a BAST. Requires an `Idempotency-Key` header (428 without one)."
    ),
)
async def create_support(tx: Tx, actor: Recorder, body: SupportCreate, response: Response) -> SupportOut:
    support = await service.create(tx, actor, body)
    response.headers.update({"ETag": service.support_etag(support), "Location": f"/api/v1/support/{support.id}"})
    return await service.written_view(tx, support)


@router.get("/support", response_model=Page[SupportOut])
async def list_support(tx: Tx, paging: Paging, where: SupportFilters) -> Page[SupportOut]:
    """Support in kind, filtered as agreements are (region, province, election, recipient, recipient kind, the status
    of the recipient's agreement, year), by kind, and by `outstanding` (asset loans not yet returned).
    """
    return await service.list_support(tx, paging, where)


@router.get("/support/{support_id:int}", response_model=SupportOut, responses=problems(SupportNotFound))
async def get_support(tx: Tx, support_id: IdPath, response: Response) -> SupportOut:
    """One support record, with its ETag and Last-Modified."""
    out, support = await service.get_support(tx, support_id)
    response.headers.update(validators(service.support_etag(support), support.updated_at))
    return out


@router.post(
    "/support/{support_id:int}/return",
    response_model=SupportOut,
    responses=problems(
        SupportNotFound,
        OutsideKeyScope,
        SupportVoided,
        NotALoan,
        AlreadyReturned,
        ReturnedBeforeHandover,
        ReturnBastNumberExists,
    ),
    description="Record an asset loan's return, once, under its own BAST, not before the handover." + STALE_NOTE,
)
async def return_support(
    tx: Tx, actor: Registrar, support_id: IdPath, body: SupportReturn, response: Response, if_match: IfMatch = None
) -> SupportOut:
    support = await service.give_back(tx, actor, support_id, body, if_match)
    response.headers["ETag"] = service.support_etag(support)
    return await service.written_view(tx, support)


@router.post(
    "/support/{support_id:int}/void",
    response_model=SupportOut,
    responses=problems(SupportNotFound, OutsideKeyScope, SupportVoided),
    description="Void a wrong record, with a reason: it stays on record, outside every total." + STALE_NOTE,
)
async def void_support(
    tx: Tx, actor: Registrar, support_id: IdPath, body: SupportVoid, response: Response, if_match: IfMatch = None
) -> SupportOut:
    support = await service.void(tx, actor, support_id, body, if_match)
    response.headers["ETag"] = service.support_etag(support)
    return await service.written_view(tx, support)
