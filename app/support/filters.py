"""Which support records a list, a summary or an export covers: the agreement filter's parameters, plus kind and
whether a loan is still out."""

from dataclasses import dataclass
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Depends, Query
from sqlmodel import col

from app.grants.filters import AgreementFilter, agreement_filter
from app.grants.models import Agreement
from app.reference.models import Election
from app.support.models import Support, SupportKind


def not_void() -> Any:
    return col(Support.voided_at).is_(None)


def outstanding() -> Any:
    """An asset loan, not void, not yet returned."""
    return sa.and_(col(Support.kind) == SupportKind.asset_loan, col(Support.returned_on).is_(None), not_void())


@dataclass(frozen=True)
class SupportFilter:
    where: AgreementFilter
    kind: SupportKind | None = None
    outstanding: bool | None = None

    def conditions(self) -> list[Any]:
        """WHERE conditions on ``support``; an agreement ``status`` keeps the support given to recipients whose
        agreement for the same election has that status."""
        where = self.where
        conditions: list[Any] = [
            column == value
            for column, value in (
                (col(Support.region_code), where.region_code),
                (col(Support.province_code), where.province),
                (col(Support.election_id), where.election_id),
                (col(Support.recipient_id), where.recipient_id),
                (col(Support.recipient_kind), where.recipient_kind),
                (col(Support.kind), self.kind),
            )
            if value is not None
        ]
        if where.year is not None:
            in_year = sa.select(col(Election.id)).where(sa.extract("year", col(Election.voting_day)) == where.year)
            conditions.append(col(Support.election_id).in_(in_year))
        if where.status is not None:
            conditions.append(
                sa.exists().where(
                    col(Agreement.election_id) == col(Support.election_id),
                    col(Agreement.recipient_id) == col(Support.recipient_id),
                    col(Agreement.status) == where.status,
                )
            )
        if self.outstanding is True:
            conditions.append(outstanding())
        elif self.outstanding is False:
            conditions.append(sa.not_(outstanding()))
        return conditions


def support_filter(
    where: Annotated[AgreementFilter, Depends(agreement_filter)],
    kind: SupportKind | None = None,
    outstanding: Annotated[
        bool | None, Query(description="true: asset loans not yet returned (and not void); false: every other record.")
    ] = None,
) -> SupportFilter:
    return SupportFilter(where, kind, outstanding)


SupportFilters = Annotated[SupportFilter, Depends(support_filter)]
