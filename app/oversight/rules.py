"""The compliance rules, as pure functions of one agreement's records and the working-day calendar.

Each rule states what the regulation requires, checks the records as they stood on ``as_of`` (the
loader, app/oversight/repository.py, leaves out entries dated after it, so a past date shows what was
overdue then) and reports its facts. Nothing here reads the database: the rules are tested as units.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from app.core.calendar import add_months, add_working_days
from app.core.config import Settings
from app.core.money import format_money
from app.grants.models import Scheme
from app.grants.rules import Figures
from app.oversight.schemas import Finding, Rule, Severity
from app.reports.models import COUNTED_STATUSES, ReportKind, ReportStatus

ZERO = Decimal("0.00")
TRANCHE_RULE = "Permendagri 41/2020 Pasal 16 (perubahan Permendagri 54/2019)"
REPORT_RULE = "Permendagri 54/2019 jo. Permendagri 41/2020: laporan penggunaan dan pengembalian sisa dana hibah"
LOAN_RULE = "PP 27/2014 tentang Pengelolaan Barang Milik Negara/Daerah: pinjam pakai"
BUDGET_RULE = "NPHD dan rencana kebutuhan biaya (RAB) — Permendagri 54/2019"
SEVERITY = {
    Rule.tranche_late: Severity.medium,
    Rule.tranche_short: Severity.medium,
    Rule.final_report_overdue: Severity.high,
    Rule.refund_overdue: Severity.high,
    Rule.over_budget_line: Severity.medium,
    Rule.refund_mismatch: Severity.high,
    Rule.loan_not_returned: Severity.medium,
}


@dataclass(frozen=True)
class Terms:
    """The columns of an agreement and its election that the rules read (rows, not ORM entities: the
    national check reads thousands of agreements)."""

    id: int
    number: str
    region_code: str
    recipient_kind: str
    scheme: Scheme
    signed_on: date
    original_amount: Decimal
    voting_day: date
    winner_proposed_on: date | None


@dataclass(frozen=True)
class SubmittedReport:
    kind: ReportKind
    status: ReportStatus
    total: Decimal
    submitted_at: datetime | None


@dataclass(frozen=True)
class Loan:
    """An asset lent (pinjam pakai) to the agreement's recipient for its election, as it stood on the checked date."""

    support_id: int
    bast_number: str
    description: str
    value: Decimal
    handed_over_on: date
    returned_on: date | None
    """Only if returned by the checked date."""


@dataclass
class Facts:
    """One agreement's records as they stood on the checked date."""

    terms: Terms
    payments: list[tuple[int, Decimal, date]] = field(default_factory=list)
    refunded: Decimal = ZERO
    reports: list[SubmittedReport] = field(default_factory=list)
    over_lines: list[tuple[str, str, Decimal, Decimal]] = field(default_factory=list)
    amendments: list[tuple[date, Decimal]] = field(default_factory=list)
    loans: list[Loan] = field(default_factory=list)

    def amount_on(self, day: date) -> Decimal:
        """The agreement's amount as it stood on ``day``: a later adendum does not move an earlier due."""
        amount = self.terms.original_amount
        for signed_on, new_amount in sorted(self.amendments):
            if signed_on <= day:
                amount = new_amount
        return amount

    def paid_until(self, day: date, tranche: int | None = None) -> Decimal:
        return sum(
            (amount for number, amount, paid_on in self.payments if paid_on <= day and tranche in (None, number)),
            ZERO,
        )

    def first_payment(self, tranche: int) -> date | None:
        return min((paid_on for number, _, paid_on in self.payments if number == tranche), default=None)

    @property
    def disbursed(self) -> Decimal:
        return sum((amount for _, amount, _ in self.payments), ZERO)

    def spent_reported(self) -> Decimal:
        return sum((report.total for report in self.reports if report.status in COUNTED_STATUSES), ZERO)

    def final_submitted_on(self) -> date | None:
        days = [
            report.submitted_at.date()
            for report in self.reports
            if report.kind == ReportKind.final and report.submitted_at is not None and report.status in COUNTED_STATUSES
        ]
        return min(days, default=None)

    def final_accepted(self) -> bool:
        return any(r.kind == ReportKind.final and r.status == ReportStatus.accepted for r in self.reports)

    def figures(self) -> Figures:
        """The position as it stood on the checked date (amount aside: no rule here reads it)."""
        accepted = sum((r.total for r in self.reports if r.status == ReportStatus.accepted), ZERO)
        return Figures(
            amount=ZERO,
            disbursed=self.disbursed,
            spent_reported=self.spent_reported(),
            spent_accepted=accepted,
            refunded=self.refunded,
        )


def finding(facts: Facts, rule: Rule, due_on: date | None, regulation: str, **details: Any) -> Finding:
    agreement = facts.terms
    return Finding(
        rule=rule,
        severity=SEVERITY[rule],
        agreement_id=agreement.id,
        agreement_number=agreement.number,
        region_code=agreement.region_code,
        recipient_kind=agreement.recipient_kind,
        facts={key: format_money(value) if isinstance(value, Decimal) else value for key, value in details.items()},
        due_on=due_on,
        regulation=regulation,
    )


@dataclass(frozen=True)
class TrancheDue:
    """What the regulation requires to have been paid by one due date, and what was (the portal shows it)."""

    tranche: int
    due_on: date
    amount: Decimal
    """The agreement's amount as it stood on ``due_on``."""
    required: Decimal
    """Tranche I: its minimum share of ``amount`` (all of it under a lump sum); tranche II: all of ``amount``."""
    paid: Decimal
    """Tranche I: its own payments (every payment under a lump sum) by ``due_on``; tranche II: all payments."""
    first_paid_on: date | None
    """The first payment of this tranche (under a lump sum, of tranche 1), whenever it came."""
    basis: str
    """``working_days`` (after signing) or ``months_before_voting``."""
    count: int
    """How many working days, or months."""


def tranche_dues(facts: Facts, settings: Settings) -> list[TrancheDue]:
    """The due dates of the payments under Permendagri 41/2020 Pasal 16, with the sums they are judged on."""
    agreement = facts.terms
    staged = agreement.scheme == Scheme.staged
    days = settings.tranche1_working_days if staged else settings.lump_sum_working_days
    first_due = add_working_days(agreement.signed_on, days)
    # The amount as it stood on each due date: an adendum signed later does not move an earlier due.
    amount = facts.amount_on(first_due)
    share = settings.tranche1_min_share if staged else Decimal(1)
    dues = [
        TrancheDue(
            tranche=1,
            due_on=first_due,
            amount=amount,
            required=(amount * share).quantize(Decimal("0.01")),
            # Under a lump sum every payment counts towards the one 100% tranche.
            paid=facts.paid_until(first_due, tranche=1 if staged else None),
            first_paid_on=facts.first_payment(1),
            basis="working_days",
            count=days,
        )
    ]
    if staged:
        months = settings.tranche2_months_before_voting
        second_due = add_months(agreement.voting_day, -months)
        owed = facts.amount_on(second_due)
        dues.append(
            TrancheDue(
                tranche=2,
                due_on=second_due,
                amount=owed,
                required=owed,
                paid=facts.paid_until(second_due),
                first_paid_on=facts.first_payment(2),
                basis="months_before_voting",
                count=months,
            )
        )
    return dues


def tranche_rules(facts: Facts, settings: Settings, as_of: date) -> Iterator[Finding]:
    """Tranche I (a lump sum's one payment) is late when it did not begin by its due day, and short when it fell
    below its required share: judged on what it held on its due day if it began in time; if it began late, on
    everything paid towards it by ``as_of``, and only once something was paid. So a tranche paid whole but late
    is late and nothing else (it was never short of its share), a late and partial one is both, and one not paid
    at all is late (its finding says nothing was paid; "short by Rp0" would only say it twice)."""
    agreement = facts.terms
    first, *second = tranche_dues(facts, settings)
    began_in_time = first.first_paid_on is not None and first.first_paid_on <= first.due_on
    if as_of > first.due_on and not began_in_time:
        yield finding(
            facts,
            Rule.tranche_late,
            first.due_on,
            TRANCHE_RULE,
            tranche=1,
            signed_on=agreement.signed_on,
            first_paid_on=first.first_paid_on,
            working_days=first.count,
        )
    if as_of > first.due_on:
        paid_by: dict[str, date] = {}
        paid = first.paid
        if not began_in_time:
            paid = facts.paid_until(as_of, tranche=1 if agreement.scheme == Scheme.staged else None)
            paid_by["paid_by"] = as_of
        if paid < first.required and (began_in_time or paid > ZERO):
            yield finding(
                facts,
                Rule.tranche_short,
                first.due_on,
                TRANCHE_RULE,
                tranche=1,
                amount=first.amount,
                required=first.required,
                paid=paid,
                share=f"{paid / first.amount:.4f}",
                **paid_by,
            )
    for due in second:
        if as_of > due.due_on and due.paid < due.required:
            yield finding(
                facts,
                Rule.tranche_late,
                due.due_on,
                TRANCHE_RULE,
                tranche=2,
                amount=due.amount,
                paid_by_due=due.paid,
                voting_day=agreement.voting_day,
            )


def final_report_due(facts: Facts, settings: Settings) -> date | None:
    """When the final report and the refund fall due: months after the elected pair is proposed (unknown before)."""
    proposed = facts.terms.winner_proposed_on
    return None if proposed is None else add_months(proposed, settings.report_months_after_winner)


def loan_rules(facts: Facts, settings: Settings, as_of: date) -> Iterator[Finding]:
    """A regional asset lent for the election is back by the day the recipient's final report falls due."""
    due = final_report_due(facts, settings)
    if due is None or as_of <= due:
        return
    for loan in facts.loans:
        if loan.handed_over_on <= due and (loan.returned_on is None or loan.returned_on > due):
            yield finding(
                facts,
                Rule.loan_not_returned,
                due,
                LOAN_RULE,
                support_id=loan.support_id,
                bast_number=loan.bast_number,
                description=loan.description,
                value=loan.value,
                handed_over_on=loan.handed_over_on,
                returned_on=loan.returned_on,
            )


def closing_rules(facts: Facts, settings: Settings, as_of: date) -> Iterator[Finding]:
    held = facts.figures().held
    if facts.final_accepted() and facts.refunded > 0 and held != 0:
        yield finding(
            facts,
            Rule.refund_mismatch,
            None,
            REPORT_RULE,
            refunded=facts.refunded,
            unspent=facts.disbursed - facts.spent_reported(),
            difference=held,
        )
    proposed = facts.terms.winner_proposed_on
    due = final_report_due(facts, settings)
    if due is None:
        return
    submitted = facts.final_submitted_on()
    if as_of > due and (submitted is None or submitted > due):
        yield finding(
            facts,
            Rule.final_report_overdue,
            due,
            REPORT_RULE,
            winner_proposed_on=proposed,
            final_report_submitted_on=submitted,
        )
    if as_of > due and held > 0:
        yield finding(
            facts,
            Rule.refund_overdue,
            due,
            REPORT_RULE,
            held=held,
            disbursed=facts.disbursed,
            spent_reported=facts.spent_reported(),
            refunded=facts.refunded,
        )


def budget_rules(facts: Facts) -> Iterator[Finding]:
    for stage, category, budgeted, spent in facts.over_lines:
        yield finding(
            facts,
            Rule.over_budget_line,
            None,
            BUDGET_RULE,
            stage=stage,
            category=category,
            budgeted=budgeted,
            reported=spent,
            over_by=spent - budgeted,
        )


def findings_of(facts: Facts, settings: Settings, as_of: date) -> list[Finding]:
    """Every rule, on one agreement's records as they stood on ``as_of``."""
    return [
        *tranche_rules(facts, settings, as_of),
        *closing_rules(facts, settings, as_of),
        *budget_rules(facts),
        *loan_rules(facts, settings, as_of),
    ]
