"""National summaries from the agreements' running totals: never a sum over millions of items.

The totals on each agreement row are kept current inside every money and report write, so a summary
is a GROUP BY over at most a few thousand agreements (about 2,200 for a national Pilkada).
"""

from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.grants.models import Agreement, AgreementStatus
from app.grants.schemas import absorption
from app.oversight.schemas import GroupBy, Summary, SummaryRow, Totals
from app.reference.models import Election, Region

ZERO = Decimal("0.00")
SUMMED = ("amount", "disbursed", "spent_reported", "spent_accepted", "refunded")
Province = sa.orm.aliased(Region, name="province")


def _measures() -> list[Any]:
    return [
        sa.func.count().label("agreements"),
        sa.func.count().filter(col(Agreement.status) == AgreementStatus.closed).label("closed"),
        *(sa.func.coalesce(sa.func.sum(getattr(Agreement, name)), 0).label(name) for name in SUMMED),
    ]


def _keys(group_by: GroupBy) -> tuple[list[Any], list[Any]]:
    """(selected key columns, joins) for one grouping."""
    if group_by == GroupBy.region:
        return [col(Agreement.region_code).label("region_code"), col(Region.name).label("region_name")], [
            (Region, col(Region.code) == col(Agreement.region_code))
        ]
    if group_by == GroupBy.province:
        return [col(Agreement.province_code).label("province_code"), col(Province.name).label("province_name")], [
            (Province, col(Province.code) == col(Agreement.province_code))
        ]
    if group_by == GroupBy.election:
        return [col(Agreement.election_id).label("election_id"), col(Election.name).label("election_name")], [
            (Election, col(Election.id) == col(Agreement.election_id))
        ]
    return [col(Agreement.recipient_kind).label("recipient_kind")], []


def _totals(values: dict[str, Any]) -> dict[str, Any]:
    money = {name: Decimal(values[name]) for name in SUMMED}
    return {
        "agreements": int(values["agreements"]),
        "closed": int(values["closed"]),
        **money,
        "undisbursed": money["amount"] - money["disbursed"],
        "held": money["disbursed"] - money["spent_reported"] - money["refunded"],
        "absorption": absorption(money["spent_accepted"], money["disbursed"]),
    }


def agreement_filters(
    *,
    region_code: str | None = None,
    province: str | None = None,
    election_id: int | None = None,
    recipient_kind: str | None = None,
    status: AgreementStatus | None = None,
    year: int | None = None,
) -> list[Any]:
    conditions: list[Any] = []
    for column, value in (
        (col(Agreement.region_code), region_code),
        (col(Agreement.province_code), province),
        (col(Agreement.election_id), election_id),
        (col(Agreement.recipient_kind), recipient_kind),
        (col(Agreement.status), status),
    ):
        if value is not None:
            conditions.append(column == value)
    if year is not None:
        conditions.append(
            col(Agreement.election_id).in_(
                sa.select(col(Election.id)).where(sa.extract("year", col(Election.voting_day)) == year)
            )
        )
    return conditions


async def summarise(session: AsyncSession, group_by: GroupBy, filters: list[Any]) -> Summary:
    keys, joins = _keys(group_by)
    statement = sa.select(*keys, *_measures()).select_from(Agreement)
    for table, condition in joins:
        statement = statement.join(table, condition)
    statement = statement.where(*filters).group_by(*keys).order_by(*keys)
    rows = [
        SummaryRow(**{key.name: row._mapping[key.name] for key in keys}, **_totals(dict(row._mapping)))
        for row in await session.execute(statement)
    ]
    total = (await session.execute(sa.select(*_measures()).select_from(Agreement).where(*filters))).one()
    return Summary(group_by=group_by, data=rows, total=Totals(**_totals(dict(total._mapping))))
