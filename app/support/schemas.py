"""Request and response bodies of support in kind."""

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, StringConstraints, WithJsonSchema

from app.core.errors import Invalid
from app.core.money import Money, MoneyOut
from app.core.types import INPUT_MODEL, NOT_BLANK, THREE_OR_MORE, DbId, LedgerDate, Note
from app.grants.schemas import DocumentNumber
from app.support.models import SupportKind

QUANTITY_PATTERN = r"^[0-9]{1,14}(\.[0-9]{1,4})?$"
"""A quantity as text: a count or a measure, up to four places. Not money: no rupiah rules, no two places."""
QUANTITY_DOCUMENT_PATTERN = r"^(?=[0-9.]*[1-9])[0-9]{1,14}(\.[0-9]{1,4})?$"
QUANTITY_MAX = Decimal("99999999999999.9999")
NOT_A_QUANTITY = (
    "not a quantity: a number greater than zero, digits 0-9 with at most four decimal places, such as 2 or 1.5"
)
NOT_A_QUANTITY_ID = (
    "bukan kuantitas: bilangan lebih besar dari nol, angka 0-9 dengan paling banyak"
    " empat angka desimal, seperti 2 atau 1.5"
)
_QUANTITY_TEXT = re.compile(QUANTITY_PATTERN)


def parse_quantity(value: Any) -> Decimal:
    """A positive integer, or decimal text with at most four places; never a float (2.1 is not 2.1 in binary)."""
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise Invalid(NOT_A_QUANTITY, NOT_A_QUANTITY_ID)
    if isinstance(value, str) and _QUANTITY_TEXT.fullmatch(value) is None:
        raise Invalid(NOT_A_QUANTITY, NOT_A_QUANTITY_ID)
    quantity = Decimal(value)
    exponent = quantity.as_tuple().exponent
    if not quantity.is_finite() or (isinstance(exponent, int) and exponent < -4):
        raise Invalid(NOT_A_QUANTITY, NOT_A_QUANTITY_ID)
    if quantity <= 0 or quantity > QUANTITY_MAX:
        raise Invalid(NOT_A_QUANTITY, NOT_A_QUANTITY_ID)
    return quantity


def format_quantity(quantity: Decimal) -> str:
    """``2``, ``1.5``: the places that say something, no exponent."""
    text = f"{quantity:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


Quantity = Annotated[
    Decimal,
    BeforeValidator(parse_quantity),
    PlainSerializer(format_quantity, return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": QUANTITY_DOCUMENT_PATTERN, "examples": ["1", "1.5"]},
                {"type": "integer", "minimum": 1, "maximum": int(QUANTITY_MAX)},
            ],
            "description": "How many units: an integer, or decimal text with at most four places; greater than zero."
            " A count or a measure, not money.",
        },
        mode="validation",
    ),
    WithJsonSchema(
        {"type": "string", "pattern": r"^[0-9]+(\.[0-9]{1,4})?$", "examples": ["1", "1.5"]}, mode="serialization"
    ),
]
QuantityOut = Annotated[
    Decimal,
    PlainSerializer(format_quantity, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": r"^[0-9]+(\.[0-9]{1,4})?$", "examples": ["1", "1.5"]}),
]
Description = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000, pattern=NOT_BLANK)]
Unit = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=32, pattern=NOT_BLANK),
    Field(description="The unit of the quantity: unit, m2, orang-bulan, paket ...", examples=["unit"]),
]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=2000, pattern=THREE_OR_MORE)]
"""Why a record is void: words, as a reversal's reason (app/ledger/schemas.py)."""
BastNumber = Annotated[DocumentNumber, Field(description="The number of the Berita Acara Serah Terima (BAST).")]


class SupportCreate(BaseModel):
    model_config = INPUT_MODEL

    election_id: DbId
    recipient_id: DbId
    kind: SupportKind
    description: Description
    quantity: Quantity
    unit: Unit
    value: Money = Field(description="Fair value in rupiah; the money rules apply.")
    handed_over_on: LedgerDate
    bast_number: BastNumber
    note: Note | None = None


class SupportReturn(BaseModel):
    model_config = INPUT_MODEL

    returned_on: LedgerDate
    return_bast_number: BastNumber


class SupportVoid(BaseModel):
    model_config = INPUT_MODEL

    reason: Reason


class SupportOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    election_id: int
    recipient_id: int
    region_code: str
    province_code: str
    recipient_kind: str
    kind: SupportKind
    description: str
    quantity: QuantityOut
    unit: str
    value: MoneyOut
    handed_over_on: date
    bast_number: str
    returned_on: date | None
    return_bast_number: str | None
    outstanding: bool = Field(description="An asset loan, not void, not yet returned.")
    voided_at: datetime | None
    void_reason: str | None
    note: str | None
    version: int
    created_at: datetime
    updated_at: datetime
