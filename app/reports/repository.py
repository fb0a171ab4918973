"""The SQL of usage reports and their items.

Report headers are read and created through the ORM. Items and the report's running totals (``total``,
``item_count``) are written with SQL on the transaction's driver connection, under the report's row lock,
checked by the rules of app/reports/rules.py: the same statements serve the JSON batches and the import.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import asyncpg
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core.pagination import Page, PageRequest, cursor_value, page_of, paginate_by_id
from app.core.queries import one_or_raise
from app.grants.models import AgreementStatus, BudgetLine
from app.reports import rules
from app.reports.errors import ItemNotFound, ReportNotFound
from app.reports.models import COUNTED_STATUSES, ReportStatus, UsageItem, UsageReport, UsageReportSpend

ZERO = Decimal("0.00")


async def get_report(session: AsyncSession, report_id: int) -> UsageReport:
    return await one_or_raise(session, UsageReport, col(UsageReport.id) == report_id, ReportNotFound(report_id))


async def list_reports(
    session: AsyncSession, agreement_id: int, page: PageRequest, *, submitted_only: bool
) -> Page[UsageReport]:
    statement = sa.select(UsageReport).where(col(UsageReport.agreement_id) == agreement_id)
    if submitted_only:
        statement = statement.where(col(UsageReport.status).in_(COUNTED_STATUSES))
    return await paginate_by_id(session, statement, col(UsageReport.id), page)


# --- a draft, locked for its items ---------------------------------------------------------------


@dataclass(frozen=True)
class Draft:
    """A report locked for an item write, with the agreement terms its items are checked against."""

    id: int
    status: ReportStatus
    period_start: date
    period_end: date
    signed_on: date
    recipient_id: int
    agreement_number: str
    agreement_status: AgreementStatus

    @property
    def terms(self) -> tuple[date, date, date]:
        """The parameters $1, $2, $3 of the item rules."""
        return self.period_start, self.period_end, self.signed_on


_LOCK_REPORT = """
SELECT r.id, r.status, r.period_start, r.period_end, a.signed_on, a.recipient_id,
       a.number AS agreement_number, a.status AS agreement_status
FROM usage_report r JOIN agreement a ON a.id = r.agreement_id
WHERE r.id = $1
FOR UPDATE OF r
"""


async def lock_report(sql: asyncpg.Connection, report_id: int) -> Draft:
    row = await sql.fetchrow(_LOCK_REPORT, report_id)
    if row is None:
        raise ReportNotFound(report_id)
    return Draft(
        **{**row, "status": ReportStatus(row["status"]), "agreement_status": AgreementStatus(row["agreement_status"])}
    )


_TOUCH = """
UPDATE usage_report SET total = total + $2, item_count = item_count + $3, version = version + 1, updated_at = now()
WHERE id = $1
RETURNING *
"""


async def touch_report(sql: asyncpg.Connection, report_id: int, added: Decimal, count: int) -> Any:
    """The one statement that moves a report's running totals; the report as it now stands."""
    return await sql.fetchrow(_TOUCH, report_id, added, count)


# --- items ---------------------------------------------------------------------------------------

ItemValues = tuple[date, str, str, str, Decimal, str | None, str | None, str | None]
"""An item's cells in rules.COLUMNS order: spent_on, category, stage, description, amount, payee,
document_number, evidence_sha256."""

_ITEM_TYPES = ("date", "text", "text", "text", "numeric", "text", "text", "text")
_ITEM_NAMES = "spent_on, category, stage, description, amount, payee, document_number, evidence"
_STORED_NAMES = _ITEM_NAMES.replace("evidence", "evidence_sha256")
# The digest is stored as its bytes and travels as hex (models.HexDigest); rules.CELL_CHECKS vouch for the hex.
_STORED_VALUES = _ITEM_NAMES.replace("evidence", "decode(evidence, 'hex')")
_ITEM_OUT = (
    "id, report_id, spent_on, category, stage, description, amount, payee, document_number,"
    " encode(evidence_sha256, 'hex') AS evidence_sha256"
)


def _arrays(first: int) -> str:
    return ", ".join(f"${first + offset}::{kind}[]" for offset, kind in enumerate(_ITEM_TYPES))


# $1-$3: the report's terms (rules.py); $4: the row numbers; $5-$12: the cells, one array per column.
_BATCH_ERRORS = rules.errors_query(f"SELECT * FROM unnest($4::bigint[], {_arrays(5)}) AS t(row_number, {_ITEM_NAMES})")
_INSERT_BATCH = f"""
INSERT INTO usage_item (report_id, {_STORED_NAMES})
SELECT $1, {_STORED_VALUES} FROM unnest({_arrays(2)}) WITH ORDINALITY AS t({_ITEM_NAMES}, position)
ORDER BY position
"""


def _columns(rows: Sequence[ItemValues]) -> list[list[Any]]:
    return [[row[index] for row in rows] for index in range(len(_ITEM_TYPES))]


async def item_errors(sql: asyncpg.Connection, draft: Draft, rows: Sequence[ItemValues]) -> list[Any]:
    """The rules' verdict on each row, numbered from 0 as given: (row_number, column_name, message, bad_rows)."""
    return list(await sql.fetch(_BATCH_ERRORS, *draft.terms, list(range(len(rows))), *_columns(rows)))


async def insert_items(sql: asyncpg.Connection, report_id: int, rows: Sequence[ItemValues]) -> None:
    await sql.execute(_INSERT_BATCH, report_id, *_columns(rows))


_ITEM_REPORT = "SELECT report_id FROM usage_item WHERE id = $1"
_LOCK_ITEM = f"SELECT {_ITEM_OUT} FROM usage_item WHERE id = $1 FOR UPDATE"
_UPDATE_ITEM = f"""
UPDATE usage_item SET spent_on = $2, category = $3, stage = $4, description = $5, amount = $6, payee = $7,
                      document_number = $8, evidence_sha256 = decode($9, 'hex')
WHERE id = $1
RETURNING {_ITEM_OUT}
"""
_DELETE_ITEM = "DELETE FROM usage_item WHERE id = $1"


async def report_of_item(sql: asyncpg.Connection, item_id: int) -> int:
    report_id: int | None = await sql.fetchval(_ITEM_REPORT, item_id)
    if report_id is None:
        raise ItemNotFound(item_id)
    return report_id


async def lock_item(sql: asyncpg.Connection, item_id: int) -> Any:
    """The item, locked and read fresh (after its report's lock): racing edits of one item cannot both count."""
    row = await sql.fetchrow(_LOCK_ITEM, item_id)
    if row is None:
        raise ItemNotFound(item_id)
    return row


async def update_item(sql: asyncpg.Connection, item_id: int, values: ItemValues) -> Any:
    return await sql.fetchrow(_UPDATE_ITEM, item_id, *values)


async def delete_item(sql: asyncpg.Connection, item_id: int) -> None:
    await sql.execute(_DELETE_ITEM, item_id)


async def list_items(
    session: AsyncSession,
    report_id: int,
    page: PageRequest,
    *,
    category: str | None,
    stage: str | None,
    spent_from: date | None,
    spent_to: date | None,
) -> Page[UsageItem]:
    filters: list[Any] = [col(UsageItem.report_id) == report_id]
    for column, value in ((col(UsageItem.category), category), (col(UsageItem.stage), stage)):
        if value is not None:
            filters.append(column == value)
    if spent_from is not None:
        filters.append(col(UsageItem.spent_on) >= spent_from)
    if spent_to is not None:
        filters.append(col(UsageItem.spent_on) <= spent_to)
    after = cursor_value(page, 0, int)
    if after is not None:
        filters.append(col(UsageItem.id) > after)
    statement = sa.select(UsageItem).where(*filters).order_by(col(UsageItem.id)).limit(page.limit + 1)
    rows = (await session.execute(statement)).scalars().all()
    return page_of(rows, page, lambda item: [item.id])


# --- the spending breakdown fixed at submission --------------------------------------------------

_RECORD_SPEND = """
INSERT INTO usage_report_spend (report_id, stage, category, amount, items)
SELECT report_id, stage, category, sum(amount), count(*) FROM usage_item WHERE report_id = $1
GROUP BY report_id, stage, category
"""
_FORGET_SPEND = "DELETE FROM usage_report_spend WHERE report_id = $1"


async def record_spend(sql: asyncpg.Connection, report_id: int) -> None:
    """Fix the report's spending by stage and category, now that its items can no longer change."""
    await sql.execute(_FORGET_SPEND, report_id)
    await sql.execute(_RECORD_SPEND, report_id)


async def forget_spend(sql: asyncpg.Connection, report_id: int) -> None:
    await sql.execute(_FORGET_SPEND, report_id)


# --- budget variance -----------------------------------------------------------------------------


async def budgeted(session: AsyncSession, agreement_id: int) -> dict[tuple[str, str], Decimal]:
    lines = await session.execute(sa.select(BudgetLine).where(col(BudgetLine.agreement_id) == agreement_id))
    return {(line.stage, line.category): line.amount for line in lines.scalars()}


async def reported_spending(session: AsyncSession, agreement_id: int) -> dict[tuple[str, str], tuple[Decimal, Decimal]]:
    """(reported, accepted) per (stage, category), from the breakdowns of the submitted and accepted reports."""
    amount = col(UsageReportSpend.amount)
    spending = await session.execute(
        sa.select(
            col(UsageReportSpend.stage),
            col(UsageReportSpend.category),
            sa.func.sum(amount),
            sa.func.sum(amount).filter(col(UsageReport.status) == ReportStatus.accepted),
        )
        .join(UsageReport, col(UsageReport.id) == col(UsageReportSpend.report_id))
        .where(col(UsageReport.agreement_id) == agreement_id, col(UsageReport.status).in_(COUNTED_STATUSES))
        .group_by(col(UsageReportSpend.stage), col(UsageReportSpend.category))
    )
    return {(stage, category): (total or ZERO, accepted or ZERO) for stage, category, total, accepted in spending}
