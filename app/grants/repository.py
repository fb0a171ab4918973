"""The SQL of grant agreements: their terms, amendments and budget lines. Running totals are the ledger's."""

from collections.abc import Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core.pagination import Page, PageRequest, paginate_by_id
from app.core.queries import one_or_raise
from app.core.reads import Reader
from app.grants.errors import AgreementNotFound
from app.grants.filters import AgreementFilter
from app.grants.models import Agreement, AgreementStatus, Amendment, BudgetLine
from app.grants.schemas import BudgetLineIn


async def get_agreement(session: AsyncSession, agreement_id: int, *, for_update: bool = False) -> Agreement:
    missing = AgreementNotFound(agreement_id)
    return await one_or_raise(session, Agreement, col(Agreement.id) == agreement_id, missing, for_update=for_update)


async def list_agreements(session: AsyncSession, page: PageRequest, where: AgreementFilter) -> Page[Agreement]:
    statement = sa.select(Agreement).where(*where.conditions())
    return await paginate_by_id(session, statement, col(Agreement.id), page)


POSITION_ROW = "SELECT amount, disbursed, spent_reported, spent_accepted, refunded FROM agreement WHERE id = $1"


async def position_row(reader: Reader, agreement_id: int) -> Any:
    return await reader.fetchrow(POSITION_ROW, agreement_id)


async def number_taken(session: AsyncSession, number: str) -> bool:
    clash = await session.execute(sa.select(col(Agreement.id)).where(col(Agreement.number) == number))
    return clash.scalar_one_or_none() is not None


async def open_agreement_number(session: AsyncSession, election_id: int, recipient_id: int) -> str | None:
    statement = sa.select(col(Agreement.number)).where(
        col(Agreement.election_id) == election_id,
        col(Agreement.recipient_id) == recipient_id,
        col(Agreement.status) == AgreementStatus.active,
    )
    number: str | None = (await session.execute(statement)).scalar_one_or_none()
    return number


# --- budget lines (RAB) --------------------------------------------------------------------------


async def budget_lines_of(session: AsyncSession, agreement_ids: Sequence[int]) -> dict[int, list[BudgetLine]]:
    lines: dict[int, list[BudgetLine]] = {agreement_id: [] for agreement_id in agreement_ids}
    if not agreement_ids:
        return lines
    statement = (
        sa.select(BudgetLine)
        .where(col(BudgetLine.agreement_id).in_(agreement_ids))
        .order_by(col(BudgetLine.agreement_id), col(BudgetLine.id))
    )
    for line in (await session.execute(statement)).scalars():
        lines[line.agreement_id].append(line)
    return lines


async def has_budget_lines(session: AsyncSession, agreement_id: int) -> bool:
    found = await session.execute(
        sa.select(col(BudgetLine.id)).where(col(BudgetLine.agreement_id) == agreement_id).limit(1)
    )
    return found.scalar_one_or_none() is not None


async def replace_budget_lines(session: AsyncSession, agreement_id: int, lines: Sequence[BudgetLineIn]) -> None:
    await session.execute(sa.delete(BudgetLine).where(col(BudgetLine.agreement_id) == agreement_id))
    if lines:
        await session.execute(
            sa.insert(BudgetLine),
            [
                {"agreement_id": agreement_id, "stage": line.stage, "category": line.category, "amount": line.amount}
                for line in lines
            ],
        )


# --- amendments ----------------------------------------------------------------------------------


async def last_signature(session: AsyncSession, agreement: Agreement) -> date:
    """The day the agreement or its latest amendment was signed: a new amendment cannot precede it."""
    latest = await session.execute(
        sa.select(sa.func.max(col(Amendment.signed_on))).where(col(Amendment.agreement_id) == agreement.id)
    )
    found: date | None = latest.scalar_one()
    return found or agreement.signed_on


async def amendment_number_taken(session: AsyncSession, agreement_id: int, number: str) -> bool:
    clash = await session.execute(
        sa.select(col(Amendment.id)).where(col(Amendment.agreement_id) == agreement_id, col(Amendment.number) == number)
    )
    return clash.scalar_one_or_none() is not None


async def list_amendments(session: AsyncSession, agreement_id: int, page: PageRequest) -> Page[Amendment]:
    statement = sa.select(Amendment).where(col(Amendment.agreement_id) == agreement_id)
    return await paginate_by_id(session, statement, col(Amendment.id), page)
