"""The SQL of oversight: the records the compliance rules read, and the national summaries.

Summaries read the agreements' running totals, never a sum over millions of items: the totals are kept
current by every ledger write, so a summary is a GROUP BY over at most a few thousand agreements (about
2,200 for a national Pilkada). The findings' loaders read each kind of record for all the agreements at
once, as rows, not ORM entities.
"""

from datetime import UTC, date, datetime, time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.grants.filters import AgreementFilter
from app.grants.models import Agreement, AgreementStatus, Amendment, BudgetLine
from app.ledger.models import Disbursement, DisbursementReversal, Refund
from app.oversight.rules import Facts, Loan, SubmittedReport, Terms
from app.oversight.schemas import GroupBy
from app.reference.models import Election, Region
from app.reports.models import COUNTED_STATUSES, UsageReport, UsageReportSpend
from app.support.filters import SupportFilter, not_void
from app.support.models import Support, SupportKind

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


# --- the records the compliance rules read ------------------------------------------------------


def _any_of(ids: list[int]) -> Any:
    """``= ANY($1)`` with the ids as one array: an expanding ``IN`` sends 2,000+ parameters nationally, and
    every other count of them is another statement to prepare."""
    return sa.any_(sa.bindparam(None, ids, type_=ARRAY(sa.BigInteger)))


def _end_of(day: date) -> datetime:
    return datetime.combine(day, time.max, tzinfo=UTC)


async def facts(session: AsyncSession, where: AgreementFilter, as_of: date) -> list[Facts]:
    """Every filtered agreement signed by ``as_of``, with its records as they stood that day."""
    rows = await session.execute(
        sa.select(*TERMS_COLUMNS)
        .join(Election, col(Election.id) == col(Agreement.election_id))
        .where(*where.conditions(), col(Agreement.signed_on) <= as_of)
        .order_by(col(Agreement.id))
    )
    loaded = {row.id: Facts(Terms(**row._mapping)) for row in rows}
    ids = list(loaded)
    if not ids:
        return []
    for load in (_load_payments, _load_refunds, _load_reports, _load_budget_overruns, _load_amendments, _load_loans):
        await load(session, loaded, ids, as_of)
    return list(loaded.values())


async def _load_amendments(session: AsyncSession, facts: dict[int, Facts], ids: list[int], as_of: date) -> None:
    amendments = await session.execute(
        sa.select(col(Amendment.agreement_id), col(Amendment.signed_on), col(Amendment.new_amount)).where(
            col(Amendment.agreement_id) == _any_of(ids), col(Amendment.signed_on) <= as_of
        )
    )
    for agreement_id, signed_on, new_amount in amendments:
        facts[agreement_id].amendments.append((signed_on, new_amount))


async def _load_loans(session: AsyncSession, facts: dict[int, Facts], ids: list[int], as_of: date) -> None:
    """Asset loans to each agreement's recipient for its election, handed over by ``as_of``, not void."""
    returned = sa.case((col(Support.returned_on) <= as_of, col(Support.returned_on)), else_=None)
    loans = await session.execute(
        sa.select(
            col(Agreement.id),
            col(Support.id),
            col(Support.bast_number),
            col(Support.description),
            col(Support.value),
            col(Support.handed_over_on),
            returned,
        )
        .join(
            Support,
            sa.and_(
                col(Support.election_id) == col(Agreement.election_id),
                col(Support.recipient_id) == col(Agreement.recipient_id),
            ),
        )
        .where(
            col(Agreement.id) == _any_of(ids),
            col(Support.kind) == SupportKind.asset_loan,
            col(Support.handed_over_on) <= as_of,
            not_void(),
        )
        .order_by(col(Support.id))
    )
    for agreement_id, *loan in loans:
        facts[agreement_id].loans.append(Loan(*loan))


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


# --- summaries -----------------------------------------------------------------------------------

SUMMED = ("amount", "disbursed", "spent_reported", "spent_accepted", "refunded")
Province = sa.orm.aliased(Region, name="province")


def _measures() -> list[Any]:
    return [
        sa.func.count().label("agreements"),
        sa.func.count().filter(col(Agreement.status) == AgreementStatus.closed).label("closed"),
        *(sa.func.coalesce(sa.func.sum(getattr(Agreement, name)), 0).label(name) for name in SUMMED),
    ]


def _keys(group_by: GroupBy, table: Any = Agreement) -> tuple[list[Any], list[Any]]:
    """(selected key columns, joins) for one grouping of ``table`` (agreements, or support in kind)."""
    if group_by == GroupBy.region:
        return [col(table.region_code).label("region_code"), col(Region.name).label("region_name")], [
            (Region, col(Region.code) == col(table.region_code))
        ]
    if group_by == GroupBy.province:
        return [col(table.province_code).label("province_code"), col(Province.name).label("province_name")], [
            (Province, col(Province.code) == col(table.province_code))
        ]
    if group_by == GroupBy.election:
        return [col(table.election_id).label("election_id"), col(Election.name).label("election_name")], [
            (Election, col(Election.id) == col(table.election_id))
        ]
    return [col(table.recipient_kind).label("recipient_kind")], []


SUPPORT_VALUE = sa.func.coalesce(sa.func.sum(col(Support.value)), 0).label("support_value")
"""Support in kind, valued, beside the money: voided records count for nothing."""
ZERO_MEASURES = {"agreements": 0, "closed": 0, **dict.fromkeys(SUMMED, 0)}


async def _support_values(
    session: AsyncSession, group_by: GroupBy, where: AgreementFilter
) -> tuple[dict[tuple[Any, ...], dict[str, Any]], Any]:
    """Support in kind per group (keyed by the group's key values, with its key columns) and over all groups."""
    keys, joins = _keys(group_by, Support)
    conditions = [*SupportFilter(where).conditions(), not_void()]
    statement = sa.select(*keys, SUPPORT_VALUE).select_from(Support)
    for table, condition in joins:
        statement = statement.join(table, condition)
    rows = await session.execute(statement.where(*conditions).group_by(*keys))
    groups = {tuple(row)[: len(keys)]: dict(row._mapping) for row in rows}
    total = (await session.execute(sa.select(SUPPORT_VALUE).select_from(Support).where(*conditions))).scalar_one()
    return groups, total


async def summary_rows(
    session: AsyncSession, group_by: GroupBy, where: AgreementFilter
) -> tuple[list[str], list[dict[str, Any]], dict[str, Any]]:
    """(key names, one mapping per group, the mapping of all groups together): counts, summed totals and the value
    of support in kind; a group with support in kind but no agreement has zero money figures."""
    keys, joins = _keys(group_by)
    statement = sa.select(*keys, *_measures()).select_from(Agreement)
    for table, condition in joins:
        statement = statement.join(table, condition)
    conditions = where.conditions()
    statement = statement.where(*conditions).group_by(*keys)
    names = [key.name for key in keys]
    grouped = {tuple(row)[: len(keys)]: dict(row._mapping) for row in await session.execute(statement)}
    support, support_total = await _support_values(session, group_by, where)
    for key, row in support.items():
        grouped.setdefault(key, {**row, **ZERO_MEASURES})["support_value"] = row["support_value"]
    rows = [{"support_value": 0, **grouped[key]} for key in sorted(grouped, key=_sort_key)]
    total = (await session.execute(sa.select(*_measures()).select_from(Agreement).where(*conditions))).one()
    return names, rows, {**total._mapping, "support_value": support_total}


def _sort_key(key: tuple[Any, ...]) -> tuple[Any, ...]:
    """The order of the keys (a code, an id, a kind), then their names; never comparing a name with None."""
    return tuple((value is None, value if value is not None else "") for value in key)
