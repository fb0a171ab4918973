"""The rules of a grant's position, as pure functions: one home for each formula (DESIGN §2)."""

from dataclasses import dataclass
from decimal import Decimal

from app.core.actor import Actor, Role
from app.grants.errors import AgreementClosed, OutsideKeyScope
from app.grants.models import AgreementStatus

ZERO = Decimal("0.00")


def absorption(spent_accepted: Decimal, disbursed: Decimal) -> str:
    """spent_accepted / disbursed, four places ("0.8132"); nothing disbursed absorbs nothing."""
    if disbursed <= 0:
        return "0.0000"
    return f"{(spent_accepted / disbursed):.4f}"


@dataclass(frozen=True)
class Figures:
    """An agreement's running totals (or a sum of several), and what follows from them."""

    amount: Decimal
    disbursed: Decimal
    spent_reported: Decimal
    spent_accepted: Decimal
    refunded: Decimal

    @property
    def held(self) -> Decimal:
        """Money the recipient still holds: disbursed, less reported spending, less refunds."""
        return self.disbursed - self.spent_reported - self.refunded

    @property
    def undisbursed(self) -> Decimal:
        return self.amount - self.disbursed

    @property
    def absorption(self) -> str:
        return absorption(self.spent_accepted, self.disbursed)


def ensure_writer_scope(actor: Actor, grant_region: str) -> None:
    """A finance key bound to one Pemda writes only that Pemda's grants."""
    if actor.role == Role.finance and actor.region_code is not None and actor.region_code != grant_region:
        raise OutsideKeyScope(actor.region_code, grant_region)


def ensure_open(number: str, status: AgreementStatus) -> None:
    if status == AgreementStatus.closed:
        raise AgreementClosed(number)
