"""HTTP routes of grant agreements: declare inputs, call the service, return."""

from typing import Annotated

from fastapi import Depends, Path, Response

from app.core.actor import Actor, Role
from app.core.auth import require
from app.core.deps import Tx
from app.core.etag import body_etag
from app.core.http import IfMatch, domain_router, validators
from app.core.idempotency import OptionalIdempotency
from app.core.openapi import problems
from app.core.pagination import Page, PageRequest, convert_page, page_request
from app.core.reads import ReadPool
from app.core.types import DB_ID_MAX
from app.grants import service
from app.grants.errors import (
    AgreementClosed,
    AgreementExists,
    AgreementNotFound,
    AgreementNumberExists,
    AmendmentNumberExists,
    AmendmentSignedTooEarly,
    AmountBelowDisbursed,
    BudgetLinesMismatch,
    BudgetLinesRequired,
    OutsideKeyScope,
    RegionMismatch,
    SignedAfterVotingDay,
    UnknownParty,
)
from app.grants.filters import AgreementFilters
from app.grants.schemas import AgreementCreate, AgreementOut, AmendmentCreate, AmendmentOut, Position
from app.reference.errors import UnknownCodes

router = domain_router("grants")
hot_reads = domain_router("grants")
"""The public read clients poll hardest; the app matches it before every other route (app/main.py)."""

Paging = Annotated[PageRequest, Depends(page_request)]
IdPath = Annotated[int, Path(ge=1, le=DB_ID_MAX)]
# Agreements and their terms: the finance office (BPKAD) or the operator.
Registrar = Annotated[Actor, Depends(require(Role.finance, Role.admin))]


@hot_reads.get(
    "/agreements/{agreement_id:int}/position",
    response_model=Position,
    responses=problems(AgreementNotFound),
    description="The hot public read: served from the read pool and serialised here (docs/performance.md).",
)
async def get_position(connection: ReadPool, agreement_id: IdPath) -> Response:
    position = await service.read_position(connection, agreement_id)
    # The figures, not the moment they were read (`as_of`), decide whether a client's copy is current.
    etag = body_etag(position.model_dump_json(exclude={"as_of"}).encode())
    return Response(position.model_dump_json(), headers={"ETag": etag}, media_type="application/json")


@router.post(
    "/agreements",
    response_model=AgreementOut,
    status_code=201,
    dependencies=[OptionalIdempotency],
    responses=problems(
        UnknownParty,
        RegionMismatch,
        SignedAfterVotingDay,
        OutsideKeyScope,
        UnknownCodes,
        BudgetLinesMismatch,
        AgreementNumberExists,
        AgreementExists,
    ),
)
async def create_agreement(tx: Tx, actor: Registrar, body: AgreementCreate, response: Response) -> AgreementOut:
    """Record a grant agreement (NPHD) between a Pemda and a recipient, with optional budget lines (RAB) that add up to
    its amount.
    """
    agreement = await service.create_agreement(tx, actor, body)
    response.headers.update(
        {"ETag": service.agreement_etag(agreement), "Location": f"/api/v1/agreements/{agreement.id}"}
    )
    return agreement


@router.get("/agreements", response_model=Page[AgreementOut])
async def list_agreements(tx: Tx, paging: Paging, where: AgreementFilters) -> Page[AgreementOut]:
    """Agreements, filtered by region, province, election, recipient, recipient kind, status or year."""
    return await service.list_agreements(tx, paging, where)


@router.get("/agreements/{agreement_id:int}", response_model=AgreementOut, responses=problems(AgreementNotFound))
async def get_agreement(tx: Tx, agreement_id: IdPath, response: Response) -> AgreementOut:
    """One agreement with its budget lines, its ETag and Last-Modified."""
    agreement = await service.get_agreement(tx, agreement_id)
    response.headers.update(validators(service.agreement_etag(agreement), agreement.updated_at))
    return agreement


@router.post(
    "/agreements/{agreement_id:int}/amendments",
    response_model=AmendmentOut,
    status_code=201,
    dependencies=[OptionalIdempotency],
    responses=problems(
        AgreementNotFound,
        OutsideKeyScope,
        AgreementClosed,
        AmendmentSignedTooEarly,
        AmountBelowDisbursed,
        BudgetLinesRequired,
        UnknownCodes,
        BudgetLinesMismatch,
        AmendmentNumberExists,
    ),
    description="Record an adendum. Send the agreement's ETag as `If-Match` to refuse a stale change (412).",
)
async def amend(
    tx: Tx, actor: Registrar, agreement_id: IdPath, body: AmendmentCreate, response: Response, if_match: IfMatch = None
) -> AmendmentOut:
    amendment, agreement = await service.amend(tx, actor, agreement_id, body, if_match)
    response.headers["ETag"] = service.agreement_etag(agreement)
    return AmendmentOut.model_validate(amendment)


@router.get(
    "/agreements/{agreement_id:int}/amendments",
    response_model=Page[AmendmentOut],
    responses=problems(AgreementNotFound),
)
async def list_amendments(tx: Tx, agreement_id: IdPath, paging: Paging) -> Page[AmendmentOut]:
    """The amendments (adendum) of an agreement, oldest first."""
    return convert_page(await service.list_amendments(tx, agreement_id, paging), AmendmentOut)
