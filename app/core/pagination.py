"""Cursor pagination: ``?limit=&cursor=`` in, ``{"data": [...], "next_cursor": ...}`` out."""

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import InvalidCursor, answers

T = TypeVar("T")

LIMIT_DEFAULT = 50
LIMIT_MAX = 500
CURSOR_INT_MAX = 2**31 - 1  # ids are PostgreSQL integers


class Page(BaseModel, Generic[T]):
    data: list[T]
    next_cursor: str | None = None


@dataclass(frozen=True)
class PageRequest:
    limit: int
    after: list[Any] | None
    """The sort key of the last row the client saw, decoded from the cursor."""


def encode_cursor(key: Sequence[Any]) -> str:
    raw = json.dumps(list(key), separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError) as exc:
        raise InvalidCursor() from exc
    if not isinstance(value, list) or not value:
        raise InvalidCursor()
    return value


@answers(InvalidCursor)
def page_request(
    limit: Annotated[int, Query(ge=1, le=LIMIT_MAX, description="Rows per page.")] = LIMIT_DEFAULT,
    cursor: Annotated[str | None, Query(max_length=512, description="`next_cursor` of the previous page.")] = None,
) -> PageRequest:
    return PageRequest(limit=limit, after=decode_cursor(cursor) if cursor else None)


def page_of(rows: Sequence[T], request: PageRequest, key: Any) -> Page[T]:
    """``rows`` were fetched with ``limit + 1``; the extra row only tells that another page exists."""
    if len(rows) > request.limit:
        visible = list(rows[: request.limit])
        return Page(data=visible, next_cursor=encode_cursor(key(visible[-1])))
    return Page(data=list(rows))


def cursor_value(request: PageRequest, index: int, kind: type) -> Any:
    """One component of the decoded cursor, checked against the type and range of the sort column."""
    if request.after is None:
        return None
    value = request.after[index] if len(request.after) > index else None
    if not isinstance(value, kind) or isinstance(value, bool):
        raise InvalidCursor()
    if isinstance(value, int) and not 0 <= value <= CURSOR_INT_MAX:
        raise InvalidCursor()
    if isinstance(value, str) and (len(value) > 200 or "\x00" in value):
        raise InvalidCursor()
    return value


M = TypeVar("M", bound=BaseModel)


def convert_page(page: Page[Any], schema: type[M]) -> Page[M]:
    """The same page with each row read into its response schema."""
    return Page[schema](  # type: ignore[valid-type]
        data=[schema.model_validate(row, from_attributes=True) for row in page.data],
        next_cursor=page.next_cursor,
    )


async def paginate_by_id(
    session: AsyncSession, statement: Any, id_column: Any, page: PageRequest, *, whole_rows: bool = False
) -> Page[Any]:
    """One page of ``statement``'s ORM rows in ``id_column`` order, after the cursor's id. ``whole_rows``: each
    row as selected (the entity first, then the columns selected beside it), not the entity alone."""
    after = cursor_value(page, 0, int)
    if after is not None:
        statement = statement.where(id_column > after)
    statement = statement.order_by(id_column).limit(page.limit + 1).execution_options(populate_existing=True)
    result = await session.execute(statement)
    if whole_rows:
        return page_of(result.all(), page, lambda row: [getattr(row[0], id_column.key)])
    return page_of(result.scalars().all(), page, lambda row: [getattr(row, id_column.key)])
