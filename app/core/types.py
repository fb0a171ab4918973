"""Input types shared by every domain: text PostgreSQL can store, dates in a plausible range."""

from datetime import date
from typing import Annotated

from pydantic import AfterValidator, ConfigDict, Field, StringConstraints, WithJsonSchema

NO_NUL = r"^[^\x00]*$"
# Text is stripped before its length is checked; these say the same in the document's terms (JSON Schema
# checks the text as sent): at least one, or at least three, characters once the spaces around are gone.
NOT_BLANK = r"^[^\x00]*[^\s\x00][^\x00]*$"
THREE_OR_MORE = r"^[^\x00]*[^\s\x00][^\x00]+[^\s\x00][^\x00]*$"

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=NOT_BLANK)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000, pattern=NO_NUL)]

EARLIEST_DATE = date(2000, 1, 1)
LATEST_DATE = date(2100, 12, 31)


def _plausible(value: date) -> date:
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        raise ValueError(f"date must lie between {EARLIEST_DATE} and {LATEST_DATE}")
    return value


# The document states the range as a pattern (JSON Schema has no bounds for dates): 2000-01-01 to 2100-12-31.
PLAUSIBLE_DATE_PATTERN = r"^(20[0-9]{2}|2100)-[0-9]{2}-[0-9]{2}$"
LedgerDate = Annotated[
    date,
    AfterValidator(_plausible),
    WithJsonSchema({"type": "string", "format": "date", "pattern": PLAUSIBLE_DATE_PATTERN}),
]

INPUT_MODEL = ConfigDict(extra="forbid", str_strip_whitespace=True)
"""Inputs refuse unknown fields: a misspelt field is a client bug to report, not to ignore."""

DB_ID_MAX = 2**31 - 1
DbId = Annotated[int, Field(ge=1, le=DB_ID_MAX)]
"""A row id as clients send it: refused with a 422 before it can overflow the database's integer."""
