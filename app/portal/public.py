"""What the public may see of the records the portal shows, in one place: the templates receive these views,
never the records themselves, so a field left out here cannot reach a page.

The project's one policy (app/core/visibility.py) decides what the public may see: the portal asks it as
:data:`app.core.actor.PUBLIC` (no payee name or document number of a spending line, no account number or
holder of a grant account); spending lines are never listed, only their sums. The portal also leaves out
the SP2D and STS numbers and the free-text notes of payments, reversals and refunds, which a citizen does not
need to follow the money (the API and its exports, linked from every page, carry what the policy allows).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from app.core.actor import PUBLIC
from app.ledger.models import Refund
from app.ledger.schemas import DisbursementOut
from app.reference.models import Recipient, RecipientKind
from app.reference.service import recipient_view
from app.reports.models import ReportKind, ReportStatus, UsageReport


@dataclass(frozen=True)
class PublicRecipient:
    id: int
    name: str
    kind: RecipientKind


@dataclass(frozen=True)
class PublicPayment:
    id: int
    tranche: int
    amount: Decimal
    paid_on: date
    reversed_on: date | None
    """A reversal takes the whole payment back (app/ledger/service.py: reverse)."""


@dataclass(frozen=True)
class PublicRefund:
    id: int
    amount: Decimal
    returned_on: date


@dataclass(frozen=True)
class PublicReport:
    id: int
    kind: ReportKind
    title: str
    period_start: date
    period_end: date
    status: ReportStatus
    submitted_at: datetime | None
    total: Decimal
    item_count: int


def recipient(found: Recipient) -> PublicRecipient:
    seen = recipient_view(found, PUBLIC)  # the grant account's number and holder withheld by the policy
    return PublicRecipient(seen.id, seen.name, seen.kind)


def payments(entries: Sequence[DisbursementOut]) -> list[PublicPayment]:
    return [
        PublicPayment(
            entry.id,
            entry.tranche,
            entry.amount,
            entry.paid_on,
            entry.reversal.reversed_on if entry.reversal is not None else None,
        )
        for entry in entries
    ]


def refunds(entries: Sequence[Refund]) -> list[PublicRefund]:
    return [PublicRefund(entry.id or 0, entry.amount, entry.returned_on) for entry in entries]


def reports(entries: Sequence[UsageReport]) -> list[PublicReport]:
    """Reports as the API shows them to the public: submitted or accepted (the service's rule), without their
    review notes."""
    return [
        PublicReport(
            entry.id or 0,
            entry.kind,
            entry.title,
            entry.period_start,
            entry.period_end,
            entry.status,
            entry.submitted_at,
            entry.total,
            entry.item_count,
        )
        for entry in entries
    ]
