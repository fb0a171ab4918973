"""Small query helpers every domain's service shares."""

from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import DomainError

T = TypeVar("T")


async def one_or_raise(
    session: AsyncSession, model: type[T], condition: Any, missing: DomainError, *, for_update: bool = False
) -> T:
    """The one row of ``model`` matching ``condition`` (locked with ``for_update``), else ``missing``."""
    statement = sa.select(model).where(condition)
    if for_update:
        # populate_existing: a row loaded earlier in this session must be refreshed once locked,
        # or the rules would check the stale copy the identity map already holds.
        statement = statement.with_for_update().execution_options(populate_existing=True)
    found: T | None = (await session.execute(statement)).scalar_one_or_none()
    if found is None:
        raise missing
    return found
