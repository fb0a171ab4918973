"""Which agreements a list, a summary, the findings or an export cover: one filter, one set of query parameters."""

from dataclasses import dataclass
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Depends, Query
from sqlmodel import col

from app.core.types import DB_ID_MAX, Year
from app.grants.models import Agreement, AgreementStatus
from app.reference.models import Election, RecipientKind
from app.reference.schemas import REGION_CODE_PATTERN


@dataclass(frozen=True)
class AgreementFilter:
    region_code: str | None = None
    province: str | None = None
    election_id: int | None = None
    recipient_id: int | None = None
    recipient_kind: RecipientKind | None = None
    status: AgreementStatus | None = None
    year: int | None = None
    """The year of the election's voting day."""

    def conditions(self) -> list[Any]:
        """WHERE conditions on ``agreement`` (the year as a subquery on ``election``)."""
        conditions: list[Any] = [
            column == value
            for column, value in (
                (col(Agreement.region_code), self.region_code),
                (col(Agreement.province_code), self.province),
                (col(Agreement.election_id), self.election_id),
                (col(Agreement.recipient_id), self.recipient_id),
                (col(Agreement.recipient_kind), self.recipient_kind),
                (col(Agreement.status), self.status),
            )
            if value is not None
        ]
        if self.year is not None:
            in_year = sa.select(col(Election.id)).where(sa.extract("year", col(Election.voting_day)) == self.year)
            conditions.append(col(Agreement.election_id).in_(in_year))
        return conditions


IdQuery = Annotated[int | None, Query(ge=1, le=DB_ID_MAX)]


def agreement_filter(  # noqa: PLR0917 - FastAPI reads each query parameter from the signature
    region_code: Annotated[str | None, Query(pattern=REGION_CODE_PATTERN)] = None,
    province: Annotated[str | None, Query(pattern=r"^[0-9]{2}$", description="Province code, e.g. 35.")] = None,
    election_id: IdQuery = None,
    recipient_id: IdQuery = None,
    recipient_kind: RecipientKind | None = None,
    status: AgreementStatus | None = None,
    year: Annotated[Year | None, Query(description="Year of the voting day.")] = None,
) -> AgreementFilter:
    return AgreementFilter(region_code, province, election_id, recipient_id, recipient_kind, status, year)


AgreementFilters = Annotated[AgreementFilter, Depends(agreement_filter)]
