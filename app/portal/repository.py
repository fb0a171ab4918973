"""The portal's own SQL: the audit chain's head (what its page cache is keyed on), the election years, and the
counts and names its pages print beside the figures the domain services compute."""

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core.reads import Reader
from app.reference.models import Election, Region

HEAD = "SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1"


async def chain_head(reader: Reader) -> tuple[int, str]:
    """The last committed audit event: it moves with every write the portal could show. Its hash names the whole
    history before it, so a database restored or rebuilt to the same ``seq`` is still told apart."""
    row = await reader.fetchrow(HEAD)
    if row is None:
        return 0, ""
    return row["seq"], row["hash"]


def _year() -> Any:
    return sa.cast(sa.extract("year", col(Election.voting_day)), sa.Integer)


async def election_years(session: AsyncSession) -> list[int]:
    """Years with a voting day, latest first."""
    rows = await session.execute(sa.select(_year()).distinct().order_by(_year().desc()))
    return [int(year) for year in rows.scalars()]


async def year_counts(session: AsyncSession, year: int) -> dict[str, int]:
    """Elections held in ``year``, and the regions and provinces they were held in."""
    row = (
        await session.execute(
            sa.select(
                sa.func.count().label("elections"),
                sa.func.count(sa.distinct(col(Election.region_code))).label("regions"),
                sa.func.count(sa.distinct(sa.func.left(col(Election.region_code), 2))).label("provinces"),
            ).where(_year() == year)
        )
    ).one()
    return dict(row._mapping)


async def region_names(session: AsyncSession, codes: Iterable[str]) -> dict[str, str]:
    wanted = sorted(set(codes))
    if not wanted:
        return {}
    rows = await session.execute(sa.select(col(Region.code), col(Region.name)).where(col(Region.code).in_(wanted)))
    return {code: name for code, name in rows}
