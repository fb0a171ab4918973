"""The SQL of support in kind: records, their lists, and the BAST numbers already used."""

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core.pagination import Page, PageRequest, paginate_by_id
from app.core.queries import one_or_raise
from app.support.errors import SupportNotFound
from app.support.filters import SupportFilter, outstanding
from app.support.models import Support


async def get_support(session: AsyncSession, support_id: int, *, for_update: bool = False) -> Support:
    missing = SupportNotFound(support_id)
    return await one_or_raise(session, Support, col(Support.id) == support_id, missing, for_update=for_update)


async def get_support_shown(session: AsyncSession, support_id: int) -> tuple[Support, bool]:
    """A record and whether it is outstanding (``filters.outstanding``, the one definition, read as a column)."""
    found = await session.execute(
        sa.select(Support, outstanding().label("outstanding"))
        .where(col(Support.id) == support_id)
        .execution_options(populate_existing=True)
    )
    row = found.one_or_none()
    if row is None:
        raise SupportNotFound(support_id)
    return row[0], bool(row[1])


async def is_outstanding(session: AsyncSession, support_id: int) -> bool:
    """After a write (flushed): whether the record is outstanding now."""
    return bool(await session.scalar(sa.select(outstanding()).where(col(Support.id) == support_id)))


async def list_support(session: AsyncSession, page: PageRequest, where: SupportFilter) -> Page[Any]:
    """A page of ``(record, outstanding)`` rows."""
    statement = sa.select(Support, outstanding().label("outstanding")).where(*where.conditions())
    return await paginate_by_id(session, statement, col(Support.id), page, whole_rows=True)


async def bast_taken(session: AsyncSession, number: str) -> bool:
    """A BAST number is one document: it may not stand for a handover and a return alike."""
    clash = await session.execute(
        sa.select(col(Support.id))
        .where(sa.or_(col(Support.bast_number) == number, col(Support.return_bast_number) == number))
        .limit(1)
    )
    return clash.scalar_one_or_none() is not None
