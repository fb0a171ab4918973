"""Input types shared by every domain: text PostgreSQL can store, dates as ``YYYY-MM-DD`` in a plausible range."""

import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, StringConstraints, WithJsonSchema

from app.core.errors import Invalid

NO_NUL = r"^[^\x00]*$"
# Text is stripped before its length is checked; these say the same in the document's terms (JSON Schema
# checks the text as sent): at least one, or at least three, characters once the spaces around are gone.
NOT_BLANK = r"^[^\x00]*[^\s\x00][^\x00]*$"
THREE_OR_MORE = r"^[^\x00]*[^\s\x00][^\x00]+[^\s\x00][^\x00]*$"

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=NOT_BLANK)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000, pattern=NO_NUL)]

EARLIEST_DATE = date(2000, 1, 1)
LATEST_DATE = date(2100, 12, 31)


DATE_PATTERN = r"^(20[0-9]{2}|2100)-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
"""A date as text, the one definition: JSON bodies and query parameters (:data:`LedgerDate`), the item
import (app/reports/rules.py, in SQL) and the OpenAPI document. Nothing else: no time of day, no
timestamps, no spaces. The years are the plausible range's (JSON Schema has no bounds for dates), so a
client that checks the pattern refuses what the server refuses; months and days have their ranges too, so
all but the 29th-31st of short months that match are days (the server checks those as calendar days)."""
NOT_A_DATE = f"must be a date written YYYY-MM-DD, from {EARLIEST_DATE} to {LATEST_DATE}, such as 2024-11-27"
NOT_A_DATE_ID = f"harus tanggal dengan format YYYY-MM-DD, dari {EARLIEST_DATE} sampai {LATEST_DATE}, seperti 2024-11-27"

_DATE_TEXT = re.compile(DATE_PATTERN)


def parse_date(value: Any) -> date:
    """``YYYY-MM-DD`` text naming a real day; a ``date`` from Python callers, never a ``datetime``."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if not isinstance(value, str) or _DATE_TEXT.fullmatch(value) is None:
        raise Invalid(NOT_A_DATE, NOT_A_DATE_ID)
    try:
        return date.fromisoformat(value)
    except ValueError as exc:  # 2024-02-30, 2024-13-01
        raise Invalid(NOT_A_DATE, NOT_A_DATE_ID) from exc


def _plausible(value: date) -> date:
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        raise Invalid(NOT_A_DATE, NOT_A_DATE_ID)
    return value


LedgerDate = Annotated[
    date,
    BeforeValidator(parse_date),
    AfterValidator(_plausible),
    WithJsonSchema({"type": "string", "format": "date", "pattern": DATE_PATTERN, "examples": ["2024-11-27"]}),
]
"""A day a client sends, in a body or a query parameter: ``YYYY-MM-DD``, from 2000 to 2100."""

NOT_A_YEAR = f"must be a year written YYYY, from {EARLIEST_DATE.year} to {LATEST_DATE.year}"
NOT_A_YEAR_ID = f"harus tahun dengan format YYYY, dari {EARLIEST_DATE.year} sampai {LATEST_DATE.year}"


def parse_year(value: Any) -> int:
    """Four ASCII digits (a query parameter's text) or an integer; not ``2024.0``, `` 2024`` or ``+2024``."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if not isinstance(value, str) or re.fullmatch(r"[0-9]{4}", value) is None:
        raise Invalid(NOT_A_YEAR, NOT_A_YEAR_ID)
    return int(value)


def _plausible_year(value: int) -> int:
    if not EARLIEST_DATE.year <= value <= LATEST_DATE.year:
        raise Invalid(NOT_A_YEAR, NOT_A_YEAR_ID)
    return value


Year = Annotated[
    int,
    BeforeValidator(parse_year),
    AfterValidator(_plausible_year),
    WithJsonSchema({"type": "integer", "minimum": EARLIEST_DATE.year, "maximum": LATEST_DATE.year}),
]
"""A year a client filters by (the voting day's)."""

INPUT_MODEL = ConfigDict(extra="forbid", str_strip_whitespace=True)
"""Inputs refuse unknown fields: a misspelt field is a client bug to report, not to ignore."""

DB_ID_MAX = 2**31 - 1
DbId = Annotated[int, Field(ge=1, le=DB_ID_MAX)]
"""A row id as clients send it: refused with a 422 before it can overflow the database's integer."""
