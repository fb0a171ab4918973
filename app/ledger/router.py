"""HTTP routes of the ledger: payments, reversals, refunds, report reviews and closing."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response

from app.core.actor import Actor, Role
from app.core.auth import require
from app.core.deps import Tx
from app.core.http import IfMatch, MoneyRoute, domain_router
from app.core.idempotency import MoneyWrite, money_writer
from app.core.openapi import problems
from app.core.pagination import Page, PageRequest, convert_page, page_request
from app.core.types import DB_ID_MAX
from app.grants.errors import AgreementClosed, AgreementNotFound, OutsideKeyScope
from app.grants.schemas import AgreementOut
from app.grants.service import agreement_etag
from app.ledger import service
from app.ledger.errors import (
    AlreadyReversed,
    DisbursementNotFound,
    FinalReportRequired,
    FundsHeld,
    InvalidTransition,
    OverDisbursement,
    PaidOnTooEarly,
    RefundExceedsHeld,
    RefundNotFound,
    ReportUnderReview,
    ReturnedOnTooEarly,
    ReversalExceedsHeld,
    ReversedOnTooEarly,
    Sp2dNumberExists,
    SpendingExceedsDisbursed,
    StsNumberExists,
)
from app.ledger.schemas import (
    DisbursementCreate,
    DisbursementOut,
    RefundCreate,
    RefundOut,
    ReversalCreate,
    ReversalOut,
)
from app.reports.errors import NotYourReport, ReportNotFound
from app.reports.schemas import ReportOut, ReturnRequest, ReviewNote
from app.reports.service import report_etag

router = domain_router("ledger")
money_writes = APIRouter(tags=["ledger"], route_class=MoneyRoute)
"""The writes that move money or a running total (payments, reversals, refunds, report reviews), each in a
transaction of the ledger pool that its route opens (app.core.http.MoneyRoute). Closing is on ``router``: its
answer is the agreement as ``grants`` describes it, through the ORM."""

Paging = Annotated[PageRequest, Depends(page_request)]
IdPath = Annotated[int, Path(ge=1, le=DB_ID_MAX)]
# Money moves only with a finance key (separation of duties from the operator), and only once per
# Idempotency-Key: the key, the role and the reservation are checked in one statement.
Treasurer = Annotated[MoneyWrite, Depends(money_writer(Role.finance))]
# The same, locking the agreement of the path with the reservation: its service finds the row already locked.
Payer = Annotated[MoneyWrite, Depends(money_writer(Role.finance, lock_ahead=service.AGREEMENT_AHEAD))]
Registrar = Annotated[Actor, Depends(require(Role.finance, Role.admin))]
Reporter = Annotated[Actor, Depends(require(Role.recipient))]
Reviewer = Annotated[Actor, Depends(require(Role.finance, Role.auditor))]
MONEY_KEY_NOTE = " Requires an `Idempotency-Key` header (428 without one)."
WRITE_PROBLEMS = (AgreementNotFound, OutsideKeyScope, AgreementClosed)
REVIEW_PROBLEMS = (ReportNotFound, InvalidTransition)


@money_writes.post(
    "/agreements/{agreement_id:int}/disbursements",
    response_model=DisbursementOut,
    status_code=201,
    responses=problems(*WRITE_PROBLEMS, PaidOnTooEarly, OverDisbursement, Sp2dNumberExists),
    description="Record a payment (SP2D) into the recipient's grant account." + MONEY_KEY_NOTE,
)
async def disburse(write: Payer, agreement_id: IdPath, body: DisbursementCreate, response: Response) -> DisbursementOut:
    entry = await service.disburse(write.tx, write.actor, agreement_id, body)
    response.headers["Location"] = f"/api/v1/disbursements/{entry.id}"
    return entry


@router.get(
    "/agreements/{agreement_id:int}/disbursements",
    response_model=Page[DisbursementOut],
    responses=problems(AgreementNotFound),
)
async def list_disbursements(tx: Tx, agreement_id: IdPath, paging: Paging) -> Page[DisbursementOut]:
    """The disbursements (SP2D) of an agreement, reversals included, in the order they were paid."""
    return await service.list_disbursements(tx, agreement_id, paging)


@router.get(
    "/disbursements/{disbursement_id:int}", response_model=DisbursementOut, responses=problems(DisbursementNotFound)
)
async def get_disbursement(tx: Tx, disbursement_id: IdPath) -> DisbursementOut:
    """One disbursement and its reversal, if any."""
    return await service.get_disbursement(tx, disbursement_id)


@money_writes.post(
    "/disbursements/{disbursement_id:int}/reversal",
    response_model=ReversalOut,
    status_code=201,
    responses=problems(DisbursementNotFound, *WRITE_PROBLEMS, AlreadyReversed, ReversedOnTooEarly, ReversalExceedsHeld),
    description="Reverse a disbursement once, as a new entry; the original stays on record." + MONEY_KEY_NOTE,
)
async def reverse(write: Treasurer, disbursement_id: IdPath, body: ReversalCreate) -> ReversalOut:
    return await service.reverse(write.tx, write.actor, disbursement_id, body)


@money_writes.post(
    "/agreements/{agreement_id:int}/refunds",
    response_model=RefundOut,
    status_code=201,
    responses=problems(*WRITE_PROBLEMS, ReturnedOnTooEarly, RefundExceedsHeld, StsNumberExists),
    description="Record unspent money returned to the regional treasury (STS)." + MONEY_KEY_NOTE,
)
async def refund(write: Payer, agreement_id: IdPath, body: RefundCreate, response: Response) -> RefundOut:
    entry = await service.refund(write.tx, write.actor, agreement_id, body)
    response.headers["Location"] = f"/api/v1/refunds/{entry.id}"
    return entry


@router.get(
    "/agreements/{agreement_id:int}/refunds", response_model=Page[RefundOut], responses=problems(AgreementNotFound)
)
async def list_refunds(tx: Tx, agreement_id: IdPath, paging: Paging) -> Page[RefundOut]:
    """The refunds (STS) of an agreement."""
    return convert_page(await service.list_refunds(tx, agreement_id, paging), RefundOut)


@router.get("/refunds/{refund_id:int}", response_model=RefundOut, responses=problems(RefundNotFound))
async def get_refund(tx: Tx, refund_id: IdPath) -> RefundOut:
    """One refund."""
    return RefundOut.model_validate(await service.get_refund(tx, refund_id))


@router.post(
    "/agreements/{agreement_id:int}/close",
    response_model=AgreementOut,
    responses=problems(*WRITE_PROBLEMS, FundsHeld, ReportUnderReview, FinalReportRequired),
)
async def close_agreement(
    tx: Tx, actor: Registrar, agreement_id: IdPath, response: Response, if_match: IfMatch = None
) -> AgreementOut:
    """Close an agreement: nothing held by the recipient, no report under review, and an accepted final report. Send
    its ETag as `If-Match` to refuse a stale change (412).
    """
    agreement = await service.close(tx, actor, agreement_id, if_match)
    response.headers["ETag"] = agreement_etag(agreement)
    return agreement


@money_writes.post(
    "/usage-reports/{report_id:int}/submit",
    response_model=ReportOut,
    responses=problems(*REVIEW_PROBLEMS, NotYourReport, AgreementClosed, SpendingExceedsDisbursed),
)
async def submit(tx: Tx, actor: Reporter, report_id: IdPath, response: Response, if_match: IfMatch = None) -> ReportOut:
    """Submit a draft report for review; its spending then counts in the agreement's position. Send its ETag as `If-
    Match` to refuse a stale change (412).
    """
    report = await service.submit(tx, actor, report_id, if_match)
    response.headers["ETag"] = report_etag(report)
    return report


@money_writes.post(
    "/usage-reports/{report_id:int}/accept",
    response_model=ReportOut,
    responses=problems(*REVIEW_PROBLEMS, OutsideKeyScope),
)
async def accept(
    tx: Tx,
    actor: Reviewer,
    report_id: IdPath,
    response: Response,
    body: ReviewNote | None = None,
    if_match: IfMatch = None,
) -> ReportOut:
    """Accept a submitted report (finance or auditor), with an optional note. Send its ETag as `If-Match` to refuse a
    stale change (412).
    """
    report = await service.accept(tx, actor, report_id, if_match, body.note if body else None)
    response.headers["ETag"] = report_etag(report)
    return report


@money_writes.post(
    "/usage-reports/{report_id:int}/return",
    response_model=ReportOut,
    responses=problems(*REVIEW_PROBLEMS, OutsideKeyScope),
)
async def return_report(
    tx: Tx, actor: Reviewer, report_id: IdPath, body: ReturnRequest, response: Response, if_match: IfMatch = None
) -> ReportOut:
    """Return a submitted report to its recipient with a note saying what to fix. Send its ETag as `If-Match` to refuse
    a stale change (412).
    """
    report = await service.return_report(tx, actor, report_id, if_match, body.note)
    response.headers["ETag"] = report_etag(report)
    return report


@money_writes.post(
    "/usage-reports/{report_id:int}/reopen",
    response_model=ReportOut,
    responses=problems(*REVIEW_PROBLEMS, NotYourReport),
)
async def reopen(tx: Tx, actor: Reporter, report_id: IdPath, response: Response, if_match: IfMatch = None) -> ReportOut:
    """Turn a returned report back into a draft its recipient can edit. Send its ETag as `If-Match` to refuse a stale
    change (412).
    """
    report = await service.reopen(tx, actor, report_id, if_match)
    response.headers["ETag"] = report_etag(report)
    return report
