"""The SQL of the reference data: regions, elections, recipients and the published code lists."""

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core.pagination import Page, PageRequest, cursor_value, page_of, paginate_by_id
from app.core.queries import one_or_raise
from app.core.reads import Reader
from app.reference.errors import ElectionNotFound, RecipientNotFound, RegionNotFound
from app.reference.models import (
    CategoryCode,
    Election,
    ElectionKind,
    Recipient,
    RecipientKind,
    Region,
    RegionLevel,
    StageCode,
)
from app.reference.schemas import RegionCreate


def contains(column: Any, text: str) -> Any:
    """``column ILIKE '%text%'`` with the text's own ``%``, ``_`` and ``\\`` taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.ilike(f"%{escaped}%", escape="\\")


def parent_of(code: str) -> str | None:
    return code.split(".", maxsplit=1)[0] if "." in code else None


# --- regions -------------------------------------------------------------------------------------

REGION_ROW = "SELECT code, name, level, parent_code, version, created_at, updated_at FROM region WHERE code = $1"


async def region_row(reader: Reader, code: str) -> Any:
    return await reader.fetchrow(REGION_ROW, code)


async def get_region(session: AsyncSession, code: str, *, for_update: bool = False) -> Region:
    return await one_or_raise(session, Region, col(Region.code) == code, RegionNotFound(code), for_update=for_update)


async def region_exists(session: AsyncSession, code: str) -> bool:
    found = await session.execute(sa.select(col(Region.code)).where(col(Region.code) == code))
    return found.scalar_one_or_none() is not None


async def existing_region_codes(session: AsyncSession, codes: Iterable[str]) -> set[str]:
    return set((await session.execute(sa.select(col(Region.code)).where(col(Region.code).in_(list(codes))))).scalars())


async def list_regions(
    session: AsyncSession,
    page: PageRequest,
    *,
    level: RegionLevel | None,
    parent_code: str | None,
    q: str | None,
) -> Page[Region]:
    statement = sa.select(Region).order_by(col(Region.code)).limit(page.limit + 1)
    if level is not None:
        statement = statement.where(col(Region.level) == level)
    if parent_code is not None:
        statement = statement.where(col(Region.parent_code) == parent_code)
    if q:
        statement = statement.where(contains(col(Region.name), q))
    after = cursor_value(page, 0, str)
    if after is not None:
        statement = statement.where(col(Region.code) > after)
    rows = (await session.execute(statement)).scalars().all()
    return page_of(rows, page, lambda region: [region.code])


async def upsert_regions(session: AsyncSession, batch: Iterable[RegionCreate]) -> tuple[int, int]:
    """Insert new regions and rename changed ones; (created, updated)."""
    values = [
        {"code": row.code, "name": row.name, "level": row.level, "parent_code": parent_of(row.code)} for row in batch
    ]
    if not values:
        return 0, 0
    insertion = insert(Region).values(values)
    statement: Any = insertion.on_conflict_do_update(
        index_elements=[col(Region.code)],
        set_={"name": insertion.excluded.name, "version": col(Region.version) + 1, "updated_at": sa.func.now()},
        where=col(Region.name) != insertion.excluded.name,
    ).returning(sa.literal_column("xmax = 0"))
    inserted = (await session.execute(statement)).scalars().all()
    created = sum(1 for flag in inserted if flag)
    return created, len(inserted) - created


# --- elections -----------------------------------------------------------------------------------


async def get_election(session: AsyncSession, election_id: int, *, for_update: bool = False) -> Election:
    missing = ElectionNotFound(election_id)
    return await one_or_raise(session, Election, col(Election.id) == election_id, missing, for_update=for_update)


async def election_on(session: AsyncSession, region_code: str, voting_day: Any) -> int | None:
    found = await session.execute(
        sa.select(col(Election.id)).where(
            col(Election.region_code) == region_code, col(Election.voting_day) == voting_day
        )
    )
    election_id: int | None = found.scalar_one_or_none()
    return election_id


async def list_elections(
    session: AsyncSession, page: PageRequest, *, region_code: str | None, kind: ElectionKind | None, year: int | None
) -> Page[Election]:
    statement = sa.select(Election)
    if region_code is not None:
        statement = statement.where(col(Election.region_code) == region_code)
    if kind is not None:
        statement = statement.where(col(Election.kind) == kind)
    if year is not None:
        statement = statement.where(sa.extract("year", col(Election.voting_day)) == year)
    return await paginate_by_id(session, statement, col(Election.id), page)


# --- recipients ----------------------------------------------------------------------------------


async def get_recipient(session: AsyncSession, recipient_id: int, *, for_update: bool = False) -> Recipient:
    missing = RecipientNotFound(recipient_id)
    return await one_or_raise(session, Recipient, col(Recipient.id) == recipient_id, missing, for_update=for_update)


async def recipient_named(session: AsyncSession, region_code: str, name: str, *, except_id: int | None) -> int | None:
    statement = sa.select(col(Recipient.id)).where(
        col(Recipient.region_code) == region_code, col(Recipient.name) == name
    )
    if except_id is not None:
        statement = statement.where(col(Recipient.id) != except_id)
    found: int | None = (await session.execute(statement)).scalar_one_or_none()
    return found


async def list_recipients(
    session: AsyncSession, page: PageRequest, *, region_code: str | None, kind: RecipientKind | None, q: str | None
) -> Page[Recipient]:
    statement = sa.select(Recipient)
    if region_code is not None:
        statement = statement.where(col(Recipient.region_code) == region_code)
    if kind is not None:
        statement = statement.where(col(Recipient.kind) == kind)
    if q:
        statement = statement.where(contains(col(Recipient.name), q))
    return await paginate_by_id(session, statement, col(Recipient.id), page)


# --- code lists ----------------------------------------------------------------------------------


async def stages(session: AsyncSession) -> Sequence[StageCode]:
    return (await session.execute(sa.select(StageCode).order_by(col(StageCode.position)))).scalars().all()


async def categories(session: AsyncSession) -> Sequence[CategoryCode]:
    return (await session.execute(sa.select(CategoryCode).order_by(col(CategoryCode.position)))).scalars().all()


async def stage_and_category_codes(session: AsyncSession) -> tuple[set[str], set[str]]:
    stage_codes = set((await session.execute(sa.select(col(StageCode.code)))).scalars())
    category_codes = set((await session.execute(sa.select(col(CategoryCode.code)))).scalars())
    return stage_codes, category_codes
