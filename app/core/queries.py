"""Small query helpers every domain's repository shares."""

from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import DomainError

T = TypeVar("T")


async def one_or_raise(
    session: AsyncSession, model: type[T], condition: Any, missing: DomainError, *, for_update: bool = False
) -> T:
    """The one row of ``model`` matching ``condition`` (locked with ``for_update``), else ``missing``.

    Always read fresh (populate_existing): the ledger writes running totals with its own SQL, so a copy the
    session loaded earlier in a long transaction (a CLI batch, the demo) may be behind the row.
    """
    statement = sa.select(model).where(condition).execution_options(populate_existing=True)
    if for_update:
        statement = statement.with_for_update()
    found: T | None = (await session.execute(statement)).scalar_one_or_none()
    if found is None:
        raise missing
    return found
