"""The ledger's rules as pure functions of what its rows hold under their locks: nothing here reads the database."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from app.core.actor import Actor
from app.grants.models import AgreementStatus
from app.grants.rules import Figures, ensure_open, ensure_writer_scope
from app.ledger.errors import (
    FinalReportRequired,
    FundsHeld,
    InvalidTransition,
    OverDisbursement,
    PaidOnTooEarly,
    RefundExceedsHeld,
    ReportUnderReview,
    ReturnedOnTooEarly,
    ReversalExceedsHeld,
    ReversedOnTooEarly,
    SpendingExceedsDisbursed,
)
from app.reports.models import ReportKind, ReportStatus


@dataclass(frozen=True)
class Terms:
    """An agreement row as its lock holder reads it: what every money write is checked against."""

    id: int
    number: str
    region_code: str
    recipient_id: int
    status: AgreementStatus
    signed_on: date
    version: int
    figures: Figures


@dataclass(frozen=True)
class ReportState:
    id: int
    agreement_id: int
    kind: ReportKind
    status: ReportStatus
    total: Decimal
    version: int


@dataclass(frozen=True)
class ReportTally:
    """An agreement's reports as the closing rule sees them."""

    under_review: int
    final_accepted: bool
    any_report: bool
    ever_disbursed: bool


def ensure_may_write(actor: Actor, terms: Terms) -> None:
    ensure_writer_scope(actor, terms.region_code)
    ensure_open(terms.number, terms.status)


def ensure_payable(terms: Terms, amount: Decimal, paid_on: date) -> None:
    if paid_on < terms.signed_on:
        raise PaidOnTooEarly(paid_on, terms.signed_on)
    if amount > terms.figures.undisbursed:
        raise OverDisbursement(amount, terms.figures.undisbursed)


def ensure_reversible(terms: Terms, amount: Decimal, paid_on: date, reversed_on: date) -> None:
    if reversed_on < paid_on:
        raise ReversedOnTooEarly(reversed_on, paid_on)
    if amount > terms.figures.held:
        raise ReversalExceedsHeld(amount, terms.figures.held)


def ensure_refundable(terms: Terms, amount: Decimal, returned_on: date) -> None:
    if returned_on < terms.signed_on:
        raise ReturnedOnTooEarly(returned_on, terms.signed_on)
    if amount > terms.figures.held:
        raise RefundExceedsHeld(amount, terms.figures.held)


def ensure_status(report: ReportState, action: str, *expected: ReportStatus) -> None:
    if report.status not in expected:
        wanted = " or ".join(status.value for status in expected)
        raise InvalidTransition(report.id, report.status.value, action, wanted)


def ensure_spending_fits(terms: Terms, total: Decimal) -> None:
    """Reported spending never passes what was disbursed, less what is reported and refunded already."""
    if total > terms.figures.held:
        raise SpendingExceedsDisbursed(total, terms.figures.held)


def ensure_closable(terms: Terms, reports: ReportTally) -> None:
    """Nothing held, nothing under review, and an accepted final report; only a grant that never paid out
    and never reported (a cancelled NPHD) closes without one."""
    if terms.figures.held != 0:
        raise FundsHeld(terms.figures.held)
    if not reports.any_report and not reports.ever_disbursed:
        return
    if reports.under_review:
        raise ReportUnderReview()
    if not reports.final_accepted:
        raise FinalReportRequired()
