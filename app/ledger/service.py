"""The ledger: every write that changes an agreement's position — payments, reversals, refunds, a report's
submission, acceptance, return and reopening, and closing — and the check that the totals still add up.

Each write locks the agreement row first (``SELECT … FOR UPDATE``), checks the rules of app/ledger/rules.py
against what the row holds, then writes the entry and the total it moves together (app/ledger/repository.py).
"""

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from app.core.actor import Actor
from app.core.db import Transaction
from app.core.etag import check_if_match
from app.core.models import utcnow
from app.core.money import format_money
from app.core.pagination import Page, PageRequest, paginate_by_id
from app.grants import repository as grants
from app.grants import service as grant_terms
from app.grants.rules import ensure_open, ensure_writer_scope
from app.grants.schemas import AgreementOut
from app.grants.service import agreement_etag
from app.ledger import repository, rules
from app.ledger.errors import AlreadyReversed, DisbursementNotFound, RefundNotFound
from app.ledger.models import Disbursement, DisbursementReversal, Refund
from app.ledger.schemas import (
    DisbursementCreate,
    DisbursementOut,
    LedgerCheck,
    Mismatch,
    RefundCreate,
    RefundOut,
    ReversalCreate,
    ReversalOut,
)
from app.reports import repository as reports
from app.reports.errors import ReportNotFound
from app.reports.models import ReportStatus
from app.reports.rules import ensure_own_recipient, visible
from app.reports.schemas import ReportOut
from app.reports.service import report_etag

ZERO = Decimal("0.00")
AGREEMENT_AHEAD = repository.AGREEMENT_AHEAD
"""The payment's and the refund's routes lock their agreement with the Idempotency-Key's reservation."""

# --- payments ------------------------------------------------------------------------------------


async def disburse(tx: Transaction, actor: Actor, agreement_id: int, data: DisbursementCreate) -> DisbursementOut:
    """Pay into the grant account (SP2D)."""
    terms = await repository.lock_agreement(tx.sql, agreement_id, tx.ahead("agreement", agreement_id))
    rules.ensure_may_write(actor, terms)
    rules.ensure_payable(terms, data.amount, data.paid_on)
    row = await repository.pay(
        tx.sql, agreement_id, data.tranche, data.amount, data.paid_on, data.sp2d_number, data.note, actor.key_id
    )
    payload = {"agreement_id": agreement_id, **data.model_dump(mode="json")}
    tx.record(actor, action="disbursement.create", entity="disbursement", entity_id=row["id"], payload=payload)
    return DisbursementOut.model_validate(dict(row))


async def reverse(tx: Transaction, actor: Actor, disbursement_id: int, data: ReversalCreate) -> ReversalOut:
    """Undo a payment once, as a new entry; the payment stays on record."""
    original = await repository.disbursement(tx.sql, disbursement_id)
    terms = await repository.lock_agreement(tx.sql, original["agreement_id"])
    rules.ensure_may_write(actor, terms)
    if original["reversed"]:
        raise AlreadyReversed(disbursement_id)
    rules.ensure_reversible(terms, original["amount"], original["paid_on"], data.reversed_on)
    row = await repository.reverse(
        tx.sql, disbursement_id, terms.id, original["amount"], data.reversed_on, data.reason, actor.key_id
    )
    payload = {"agreement_id": terms.id, "amount": format_money(original["amount"]), **data.model_dump(mode="json")}
    tx.record(actor, action="disbursement.reverse", entity="disbursement", entity_id=disbursement_id, payload=payload)
    return ReversalOut.model_validate(dict(row))


async def get_disbursement(tx: Transaction, disbursement_id: int) -> DisbursementOut:
    found = await tx.session.get(Disbursement, disbursement_id, populate_existing=True)
    if found is None:
        raise DisbursementNotFound(disbursement_id)
    [out] = await _describe_disbursements(tx, [found])
    return out


async def list_disbursements(tx: Transaction, agreement_id: int, page: PageRequest) -> Page[DisbursementOut]:
    await grants.get_agreement(tx.session, agreement_id)
    statement = sa.select(Disbursement).where(col(Disbursement.agreement_id) == agreement_id)
    found = await paginate_by_id(tx.session, statement, col(Disbursement.id), page)
    return Page[DisbursementOut](data=await _describe_disbursements(tx, found.data), next_cursor=found.next_cursor)


async def _describe_disbursements(tx: Transaction, entries: Sequence[Disbursement]) -> list[DisbursementOut]:
    ids = [entry.id for entry in entries if entry.id is not None]
    statement = sa.select(DisbursementReversal).where(col(DisbursementReversal.disbursement_id).in_(ids))
    reversals = {reversal.disbursement_id: reversal for reversal in (await tx.session.execute(statement)).scalars()}
    return [
        DisbursementOut.model_validate(entry).model_copy(
            update={"reversal": ReversalOut.model_validate(reversals[entry.id]) if entry.id in reversals else None}
        )
        for entry in entries
    ]


# --- refunds -------------------------------------------------------------------------------------


async def refund(tx: Transaction, actor: Actor, agreement_id: int, data: RefundCreate) -> RefundOut:
    """Record unspent money returned to the regional treasury (STS)."""
    terms = await repository.lock_agreement(tx.sql, agreement_id, tx.ahead("agreement", agreement_id))
    rules.ensure_may_write(actor, terms)
    rules.ensure_refundable(terms, data.amount, data.returned_on)
    row = await repository.refund(
        tx.sql, agreement_id, data.amount, data.returned_on, data.sts_number, data.note, actor.key_id
    )
    payload = {"agreement_id": agreement_id, **data.model_dump(mode="json")}
    tx.record(actor, action="refund.create", entity="refund", entity_id=row["id"], payload=payload)
    return RefundOut.model_validate(dict(row))


async def get_refund(tx: Transaction, refund_id: int) -> Refund:
    found = await tx.session.get(Refund, refund_id, populate_existing=True)
    if found is None:
        raise RefundNotFound(refund_id)
    return found


async def list_refunds(tx: Transaction, agreement_id: int, page: PageRequest) -> Page[Refund]:
    await grants.get_agreement(tx.session, agreement_id)
    statement = sa.select(Refund).where(col(Refund.agreement_id) == agreement_id)
    return await paginate_by_id(tx.session, statement, col(Refund.id), page)


# --- a report's review ---------------------------------------------------------------------------


async def _under_review(
    tx: Transaction, actor: Actor, report_id: int, if_match: str | None
) -> tuple[rules.Terms, rules.ReportState]:
    terms, report = await repository.lock_for_review(tx.sql, report_id)
    if not visible(actor, report.status, terms.recipient_id):
        raise ReportNotFound(report_id)
    check_if_match(if_match, report_etag(report))
    return terms, report


def _record_review(tx: Transaction, actor: Actor, report: ReportOut, verb: str) -> None:
    payload = {"agreement_id": report.agreement_id, "total": f"{report.total:.2f}", "note": report.review_note}
    tx.record(actor, action=f"usage_report.{verb}", entity="usage_report", entity_id=report.id, payload=payload)


async def submit(
    tx: Transaction, actor: Actor, report_id: int, if_match: str | None, *, at: datetime | None = None
) -> ReportOut:
    """The recipient hands its report in: its items are fixed, its total counts as reported spending.

    ``at`` dates a submission that happened earlier (the demo's reconstruction); requests never pass it.
    """
    terms, report = await _under_review(tx, actor, report_id, if_match)
    ensure_own_recipient(actor, terms.recipient_id)
    rules.ensure_status(report, "submit", ReportStatus.draft)
    ensure_open(terms.number, terms.status)
    rules.ensure_spending_fits(terms, report.total)
    await repository.move_spending(tx.sql, terms.id, reported=report.total, accepted=ZERO)
    submitted = ReportOut.model_validate(dict(await repository.mark_submitted(tx.sql, report_id, at or utcnow())))
    await reports.record_spend(tx.sql, report_id)
    _record_review(tx, actor, submitted, "submit")
    return submitted


async def accept(
    tx: Transaction, actor: Actor, report_id: int, if_match: str | None, note: str | None, *, at: datetime | None = None
) -> ReportOut:
    """A reviewer accepts the report: its total counts as accepted spending too."""
    terms, report = await _under_review(tx, actor, report_id, if_match)
    ensure_writer_scope(actor, terms.region_code)
    rules.ensure_status(report, "accept", ReportStatus.submitted)
    await repository.move_spending(tx.sql, terms.id, reported=ZERO, accepted=report.total)
    row = await repository.mark_reviewed(tx.sql, report_id, ReportStatus.accepted, note, at or utcnow(), actor.key_id)
    accepted = ReportOut.model_validate(dict(row))
    _record_review(tx, actor, accepted, "accept")
    return accepted


async def return_report(tx: Transaction, actor: Actor, report_id: int, if_match: str | None, note: str) -> ReportOut:
    """A reviewer sends the report back: its total no longer counts as reported spending."""
    terms, report = await _under_review(tx, actor, report_id, if_match)
    ensure_writer_scope(actor, terms.region_code)
    rules.ensure_status(report, "return", ReportStatus.submitted)
    await repository.move_spending(tx.sql, terms.id, reported=-report.total, accepted=ZERO)
    row = await repository.mark_reviewed(tx.sql, report_id, ReportStatus.returned, note, utcnow(), actor.key_id)
    returned = ReportOut.model_validate(dict(row))
    _record_review(tx, actor, returned, "return")
    return returned


async def reopen(tx: Transaction, actor: Actor, report_id: int, if_match: str | None) -> ReportOut:
    """The recipient takes a returned report back into draft; its items may change again."""
    terms, report = await _under_review(tx, actor, report_id, if_match)
    ensure_own_recipient(actor, terms.recipient_id)
    rules.ensure_status(report, "reopen", ReportStatus.returned)
    reopened = ReportOut.model_validate(dict(await repository.mark_reopened(tx.sql, report_id)))
    await reports.forget_spend(tx.sql, report_id)
    _record_review(tx, actor, reopened, "reopen")
    return reopened


# --- closing -------------------------------------------------------------------------------------


async def close(tx: Transaction, actor: Actor, agreement_id: int, if_match: str | None) -> AgreementOut:
    terms = await repository.lock_agreement(tx.sql, agreement_id)
    check_if_match(if_match, agreement_etag(terms))
    rules.ensure_may_write(actor, terms)
    rules.ensure_closable(terms, await repository.report_tally(tx.sql, agreement_id))
    await repository.close(tx.sql, agreement_id)
    tx.record(actor, action="agreement.close", entity="agreement", entity_id=agreement_id, payload={})
    return await grant_terms.get_agreement(tx, agreement_id)


# --- reconciliation ------------------------------------------------------------------------------


async def reconcile(tx: Transaction) -> LedgerCheck:
    """Every agreement's and report's running totals against the entries they count."""
    agreements, reports_checked, mismatch = await repository.first_mismatch(tx.sql)
    return LedgerCheck(
        valid=mismatch is None,
        agreements_checked=agreements,
        reports_checked=reports_checked,
        first_mismatch=_mismatch(mismatch) if mismatch is not None else None,
    )


def _mismatch(found: dict[str, Any]) -> Mismatch:
    return Mismatch(
        entity=found["entity"],
        id=found["id"],
        field=found["field"],
        stored=str(found["stored"]),
        recomputed=str(found["recomputed"]),
    )
