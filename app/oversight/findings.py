"""Compliance findings, computed from the records and the Indonesian working-day calendar.

Each rule states what the regulation requires, checks the records as they stood on ``as_of`` (entries
dated after it are ignored, so a past date shows what was overdue then) and reports its facts.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core.calendar import add_months, add_working_days
from app.core.config import Settings
from app.core.money import format_money
from app.grants.models import Agreement, Amendment, BudgetLine, Disbursement, DisbursementReversal, Refund, Scheme
from app.oversight.schemas import Finding, Rule, Severity
from app.reference.models import Election
from app.reports.models import COUNTED_STATUSES, ReportKind, ReportStatus, UsageReport, UsageReportSpend

ZERO = Decimal("0.00")
TRANCHE_RULE = "Permendagri 41/2020 Pasal 16 (perubahan Permendagri 54/2019)"
REPORT_RULE = "Permendagri 54/2019 jo. Permendagri 41/2020: laporan penggunaan dan pengembalian sisa dana hibah"
BUDGET_RULE = "NPHD dan rencana kebutuhan biaya (RAB) — Permendagri 54/2019"
SEVERITY = {
    Rule.tranche_late: Severity.medium,
    Rule.tranche_short: Severity.medium,
    Rule.final_report_overdue: Severity.high,
    Rule.refund_overdue: Severity.high,
    Rule.over_budget_line: Severity.medium,
    Rule.refund_mismatch: Severity.high,
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


TERMS_COLUMNS = (
    col(Agreement.id),
    col(Agreement.number),
    col(Agreement.region_code),
    col(Agreement.recipient_kind),
    col(Agreement.scheme),
    col(Agreement.signed_on),
    col(Agreement.original_amount),
    col(Election.voting_day),
    col(Election.winner_proposed_on),
)


@dataclass(frozen=True)
class SubmittedReport:
    kind: ReportKind
    status: ReportStatus
    total: Decimal
    submitted_at: datetime | None


@dataclass
class Facts:
    """One agreement's records as they stood on the checked date."""

    terms: Terms
    payments: list[tuple[int, Decimal, date]] = field(default_factory=list)
    refunded: Decimal = ZERO
    reports: list[SubmittedReport] = field(default_factory=list)
    over_lines: list[tuple[str, str, Decimal, Decimal]] = field(default_factory=list)
    amendments: list[tuple[date, Decimal]] = field(default_factory=list)

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


def _any_of(ids: list[int]) -> Any:
    """``= ANY($1)`` with the ids as one array: an expanding ``IN`` sends 2,000+ parameters nationally, and
    every other count of them is another statement to prepare."""
    return sa.any_(sa.bindparam(None, ids, type_=ARRAY(sa.BigInteger)))


def _end_of(day: date) -> datetime:
    return datetime.combine(day, time.max, tzinfo=UTC)


async def _facts(session: AsyncSession, filters: list[Any], as_of: date) -> list[Facts]:
    rows = await session.execute(
        sa.select(*TERMS_COLUMNS)
        .join(Election, col(Election.id) == col(Agreement.election_id))
        .where(*filters, col(Agreement.signed_on) <= as_of)
        .order_by(col(Agreement.id))
    )
    facts = {row.id: Facts(Terms(**row._mapping)) for row in rows}
    ids = list(facts)
    if not ids:
        return []
    await _load_payments(session, facts, ids, as_of)
    await _load_refunds(session, facts, ids, as_of)
    await _load_reports(session, facts, ids, as_of)
    await _load_budget_overruns(session, facts, ids, as_of)
    await _load_amendments(session, facts, ids, as_of)
    return list(facts.values())


async def _load_amendments(session: AsyncSession, facts: dict[int, Facts], ids: list[int], as_of: date) -> None:
    amendments = await session.execute(
        sa.select(col(Amendment.agreement_id), col(Amendment.signed_on), col(Amendment.new_amount)).where(
            col(Amendment.agreement_id) == _any_of(ids), col(Amendment.signed_on) <= as_of
        )
    )
    for agreement_id, signed_on, new_amount in amendments:
        facts[agreement_id].amendments.append((signed_on, new_amount))


async def _load_payments(session: AsyncSession, facts: dict[int, Facts], ids: list[int], as_of: date) -> None:
    reversed_by = (
        sa.select(col(DisbursementReversal.disbursement_id))
        .where(col(DisbursementReversal.reversed_on) <= as_of)
        .scalar_subquery()
    )
    payments = await session.execute(
        sa.select(
            col(Disbursement.agreement_id),
            col(Disbursement.tranche),
            col(Disbursement.amount),
            col(Disbursement.paid_on),
        ).where(
            col(Disbursement.agreement_id) == _any_of(ids),
            col(Disbursement.paid_on) <= as_of,
            col(Disbursement.id).not_in(reversed_by),
        )
    )
    for agreement_id, tranche, amount, paid_on in payments:
        facts[agreement_id].payments.append((tranche, amount, paid_on))


async def _load_refunds(session: AsyncSession, facts: dict[int, Facts], ids: list[int], as_of: date) -> None:
    refunds = await session.execute(
        sa.select(col(Refund.agreement_id), sa.func.sum(col(Refund.amount)))
        .where(col(Refund.agreement_id) == _any_of(ids), col(Refund.returned_on) <= as_of)
        .group_by(col(Refund.agreement_id))
    )
    for agreement_id, total in refunds:
        facts[agreement_id].refunded = total


async def _load_reports(session: AsyncSession, facts: dict[int, Facts], ids: list[int], as_of: date) -> None:
    reports = await session.execute(
        sa.select(
            col(UsageReport.agreement_id),
            col(UsageReport.kind),
            col(UsageReport.status),
            col(UsageReport.total),
            col(UsageReport.submitted_at),
        ).where(
            col(UsageReport.agreement_id) == _any_of(ids),
            col(UsageReport.submitted_at).is_not(None),
            col(UsageReport.submitted_at) <= _end_of(as_of),
        )
    )
    for agreement_id, kind, status, total, submitted_at in reports:
        facts[agreement_id].reports.append(SubmittedReport(kind, status, total, submitted_at))


async def _load_budget_overruns(session: AsyncSession, facts: dict[int, Facts], ids: list[int], as_of: date) -> None:
    # From the breakdown fixed at each submission: a few rows per report, not every item.
    spent = (
        sa.select(
            col(UsageReport.agreement_id).label("agreement_id"),
            col(UsageReportSpend.stage).label("stage"),
            col(UsageReportSpend.category).label("category"),
            sa.func.sum(col(UsageReportSpend.amount)).label("spent"),
        )
        .join(UsageReport, col(UsageReport.id) == col(UsageReportSpend.report_id))
        .where(
            col(UsageReport.agreement_id) == _any_of(ids),
            col(UsageReport.status).in_(COUNTED_STATUSES),
            col(UsageReport.submitted_at) <= _end_of(as_of),
        )
        .group_by(col(UsageReport.agreement_id), col(UsageReportSpend.stage), col(UsageReportSpend.category))
        .subquery()
    )
    overruns = await session.execute(
        sa.select(spent.c.agreement_id, spent.c.stage, spent.c.category, col(BudgetLine.amount), spent.c.spent)
        .join(
            BudgetLine,
            sa.and_(
                col(BudgetLine.agreement_id) == spent.c.agreement_id,
                col(BudgetLine.stage) == spent.c.stage,
                col(BudgetLine.category) == spent.c.category,
            ),
        )
        .where(spent.c.spent > col(BudgetLine.amount))
    )
    for agreement_id, stage, category, budgeted, total in overruns:
        facts[agreement_id].over_lines.append((stage, category, budgeted, total))


def _finding(facts: Facts, rule: Rule, due_on: date | None, regulation: str, **details: Any) -> Finding:
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


def _tranche_rules(facts: Facts, settings: Settings, as_of: date) -> Iterator[Finding]:
    agreement = facts.terms
    staged = agreement.scheme == Scheme.staged
    days = settings.tranche1_working_days if staged else settings.lump_sum_working_days
    first_due = add_working_days(agreement.signed_on, days)
    first_paid = facts.first_payment(1)
    if as_of > first_due and (first_paid is None or first_paid > first_due):
        yield _finding(
            facts,
            Rule.tranche_late,
            first_due,
            TRANCHE_RULE,
            tranche=1,
            signed_on=agreement.signed_on,
            first_paid_on=first_paid,
            working_days=days,
        )
    # The amount as it stood on each due date: an adendum signed later does not move an earlier due.
    amount = facts.amount_on(first_due)
    share = settings.tranche1_min_share if staged else Decimal(1)
    required = (amount * share).quantize(Decimal("0.01"))
    # Under a lump sum every payment counts towards the one 100% tranche.
    paid = facts.paid_until(first_due, tranche=1 if staged else None)
    if as_of > first_due and paid < required:
        yield _finding(
            facts,
            Rule.tranche_short,
            first_due,
            TRANCHE_RULE,
            tranche=1,
            amount=amount,
            required=required,
            paid=paid,
            share=f"{paid / amount:.4f}",
        )
    if staged:
        second_due = add_months(facts.terms.voting_day, -settings.tranche2_months_before_voting)
        owed = facts.amount_on(second_due)
        paid_by_due = facts.paid_until(second_due)
        if as_of > second_due and paid_by_due < owed:
            yield _finding(
                facts,
                Rule.tranche_late,
                second_due,
                TRANCHE_RULE,
                tranche=2,
                amount=owed,
                paid_by_due=paid_by_due,
                voting_day=facts.terms.voting_day,
            )


def _closing_rules(facts: Facts, settings: Settings, as_of: date) -> Iterator[Finding]:
    held = facts.disbursed - facts.spent_reported() - facts.refunded
    if facts.final_accepted() and facts.refunded > 0 and held != 0:
        yield _finding(
            facts,
            Rule.refund_mismatch,
            None,
            REPORT_RULE,
            refunded=facts.refunded,
            unspent=facts.disbursed - facts.spent_reported(),
            difference=held,
        )
    proposed = facts.terms.winner_proposed_on
    if proposed is None:
        return
    due = add_months(proposed, settings.report_months_after_winner)
    submitted = facts.final_submitted_on()
    if as_of > due and (submitted is None or submitted > due):
        yield _finding(
            facts,
            Rule.final_report_overdue,
            due,
            REPORT_RULE,
            winner_proposed_on=proposed,
            final_report_submitted_on=submitted,
        )
    if as_of > due and held > 0:
        yield _finding(
            facts,
            Rule.refund_overdue,
            due,
            REPORT_RULE,
            held=held,
            disbursed=facts.disbursed,
            spent_reported=facts.spent_reported(),
            refunded=facts.refunded,
        )


def _budget_rules(facts: Facts) -> Iterator[Finding]:
    for stage, category, budgeted, spent in facts.over_lines:
        yield _finding(
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


async def findings(
    session: AsyncSession,
    settings: Settings,
    filters: list[Any],
    *,
    as_of: date,
    rule: Rule | None = None,
    severity: Severity | None = None,
) -> list[Finding]:
    found: list[Finding] = []
    for facts in await _facts(session, filters, as_of):
        found += [
            *_tranche_rules(facts, settings, as_of),
            *_closing_rules(facts, settings, as_of),
            *_budget_rules(facts),
        ]
    return [
        finding
        for finding in found
        if (rule is None or finding.rule == rule) and (severity is None or finding.severity == severity)
    ]
