"""HTTP routes of the grant ledger: declare inputs, call the service, return."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from app.core.actor import Actor, Role
from app.core.auth import require
from app.core.deps import Session
from app.core.http import PROBLEMS, IfMatch, with_etag
from app.core.idempotency import OptionalIdempotency, RequiredIdempotency
from app.core.pagination import Page, PageRequest, convert_page, page_request
from app.core.reads import ReadPool
from app.core.types import DB_ID_MAX
from app.grants import service
from app.grants.models import AgreementStatus
from app.grants.schemas import (
    AgreementCreate,
    AgreementOut,
    AmendmentCreate,
    AmendmentOut,
    DisbursementCreate,
    DisbursementOut,
    Position,
    RefundCreate,
    RefundOut,
    ReversalCreate,
    ReversalOut,
)
from app.reference.models import RecipientKind
from app.reference.schemas import REGION_CODE_PATTERN

router = APIRouter(tags=["grants"], responses=PROBLEMS)

Paging = Annotated[PageRequest, Depends(page_request)]
IdPath = Annotated[int, Path(ge=1, le=DB_ID_MAX)]
IdQuery = Annotated[int | None, Query(ge=1, le=DB_ID_MAX)]
# Agreements and their terms: the finance office (BPKAD) or the operator.
Registrar = Annotated[Actor, Depends(require(Role.finance, Role.admin))]
# Money moves only with a finance key: separation of duties from the operator.
Treasurer = Annotated[Actor, Depends(require(Role.finance))]
MONEY_KEY_NOTE = " Requires an `Idempotency-Key` header (428 without one)."


@router.post("/agreements", response_model=AgreementOut, status_code=201)
async def create_agreement(
    session: Session, actor: Registrar, idempotency: OptionalIdempotency, body: AgreementCreate
) -> Response:
    agreement = await service.create_agreement(session, actor, body)
    [out] = await service.describe_agreements(session, [agreement])
    return await idempotency.respond(
        out, headers={"ETag": service.agreement_etag(agreement), "Location": f"/api/v1/agreements/{agreement.id}"}
    )


@router.get("/agreements", response_model=Page[AgreementOut])
async def list_agreements(
    session: Session,
    paging: Paging,
    region_code: Annotated[str | None, Query(pattern=REGION_CODE_PATTERN)] = None,
    province: Annotated[str | None, Query(pattern=r"^[0-9]{2}$", description="Province code, e.g. 35.")] = None,
    election_id: IdQuery = None,
    recipient_id: IdQuery = None,
    recipient_kind: RecipientKind | None = None,
    status: AgreementStatus | None = None,
) -> Page[AgreementOut]:
    page = await service.list_agreements(
        session,
        paging,
        region_code=region_code,
        province=province,
        election_id=election_id,
        recipient_id=recipient_id,
        recipient_kind=recipient_kind,
        status=status,
    )
    return Page[AgreementOut](data=await service.describe_agreements(session, page.data), next_cursor=page.next_cursor)


@router.get("/agreements/{agreement_id}", response_model=AgreementOut)
async def get_agreement(session: Session, agreement_id: IdPath) -> Response:
    agreement = await service.get_agreement(session, agreement_id)
    [out] = await service.describe_agreements(session, [agreement])
    return with_etag(out, service.agreement_etag(agreement))


@router.get("/agreements/{agreement_id}/position", response_model=Position)
async def get_position(connection: ReadPool, agreement_id: IdPath) -> Response:
    position = await service.read_position(connection, agreement_id)
    # Serialized here: FastAPI would validate the model against response_model once more.
    return Response(position.model_dump_json(), media_type="application/json")


@router.post(
    "/agreements/{agreement_id}/amendments",
    response_model=AmendmentOut,
    status_code=201,
    description="Record an adendum. Send the agreement's ETag as `If-Match` to refuse a stale change (412).",
)
async def amend(
    session: Session,
    actor: Registrar,
    idempotency: OptionalIdempotency,
    agreement_id: IdPath,
    body: AmendmentCreate,
    if_match: IfMatch = None,
) -> Response:
    amendment = await service.amend(session, actor, agreement_id, body, if_match)
    agreement = await service.get_agreement(session, agreement_id)
    return await idempotency.respond(
        AmendmentOut.model_validate(amendment), headers={"ETag": service.agreement_etag(agreement)}
    )


@router.get("/agreements/{agreement_id}/amendments", response_model=Page[AmendmentOut])
async def list_amendments(session: Session, agreement_id: IdPath, paging: Paging) -> Page[AmendmentOut]:
    return convert_page(await service.list_amendments(session, agreement_id, paging), AmendmentOut)


@router.post("/agreements/{agreement_id}/close", response_model=AgreementOut)
async def close_agreement(
    session: Session, actor: Registrar, agreement_id: IdPath, if_match: IfMatch = None
) -> Response:
    agreement = await service.close(session, actor, agreement_id, if_match)
    [out] = await service.describe_agreements(session, [agreement])
    return with_etag(out, service.agreement_etag(agreement))


@router.post(
    "/agreements/{agreement_id}/disbursements",
    response_model=DisbursementOut,
    status_code=201,
    description="Record a payment (SP2D) into the recipient's grant account." + MONEY_KEY_NOTE,
)
async def disburse(
    session: Session, actor: Treasurer, idempotency: RequiredIdempotency, agreement_id: IdPath, body: DisbursementCreate
) -> Response:
    entry = await service.disburse(session, actor, agreement_id, body)
    return await idempotency.respond(entry, headers={"Location": f"/api/v1/disbursements/{entry.id}"})


@router.get("/agreements/{agreement_id}/disbursements", response_model=Page[DisbursementOut])
async def list_disbursements(session: Session, agreement_id: IdPath, paging: Paging) -> Page[DisbursementOut]:
    page = await service.list_disbursements(session, agreement_id, paging)
    return Page[DisbursementOut](
        data=await service.describe_disbursements(session, page.data), next_cursor=page.next_cursor
    )


@router.get("/disbursements/{disbursement_id}", response_model=DisbursementOut)
async def get_disbursement(session: Session, disbursement_id: IdPath) -> DisbursementOut:
    [out] = await service.describe_disbursements(session, [await service.get_disbursement(session, disbursement_id)])
    return out


@router.post(
    "/disbursements/{disbursement_id}/reversal",
    response_model=ReversalOut,
    status_code=201,
    description="Reverse a disbursement once, as a new entry; the original stays on record." + MONEY_KEY_NOTE,
)
async def reverse(
    session: Session,
    actor: Treasurer,
    idempotency: RequiredIdempotency,
    disbursement_id: IdPath,
    body: ReversalCreate,
) -> Response:
    reversal = await service.reverse(session, actor, disbursement_id, body)
    return await idempotency.respond(ReversalOut.model_validate(reversal))


@router.post(
    "/agreements/{agreement_id}/refunds",
    response_model=RefundOut,
    status_code=201,
    description="Record unspent money returned to the regional treasury (STS)." + MONEY_KEY_NOTE,
)
async def refund(
    session: Session, actor: Treasurer, idempotency: RequiredIdempotency, agreement_id: IdPath, body: RefundCreate
) -> Response:
    entry = await service.refund(session, actor, agreement_id, body)
    return await idempotency.respond(
        RefundOut.model_validate(entry), headers={"Location": f"/api/v1/refunds/{entry.id}"}
    )


@router.get("/agreements/{agreement_id}/refunds", response_model=Page[RefundOut])
async def list_refunds(session: Session, agreement_id: IdPath, paging: Paging) -> Page[RefundOut]:
    return convert_page(await service.list_refunds(session, agreement_id, paging), RefundOut)


@router.get("/refunds/{refund_id}", response_model=RefundOut)
async def get_refund(session: Session, refund_id: IdPath) -> RefundOut:
    return RefundOut.model_validate(await service.get_refund(session, refund_id))
