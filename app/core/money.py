"""Money: ``Decimal`` with two places end to end, a decimal string in JSON, NUMERIC(18,2) in PostgreSQL."""

import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema
from sqlalchemy import Numeric

from app.core.errors import Invalid

CENT = Decimal("0.01")
# Rp1 quadrillion: ~27x the whole national Pilkada 2024 grant; anything larger is a typo, not a grant.
MONEY_MAX = Decimal("1000000000000000.00")
MONEY_PATTERN = r"^[0-9]{1,16}(\.[0-9]{1,2})?$"
"""Money as text, the one definition: the OpenAPI document, the JSON bodies (:func:`parse_money`) and the
item import (app/reports/rules.py, in SQL) all use it. ASCII digits only (``[0-9]`` is a range of code
points in Python and PostgreSQL alike, so Arabic-Indic or fullwidth digits never match), nothing around
them: no spaces, sign, exponent or separators, no ``.5`` or ``5.``."""

# The messages a bad amount earns, on every path (the import's SQL checks print the same words).
NOT_AN_AMOUNT = (
    "not an amount: digits 0-9 with at most two decimal places, such as 1500000.00"
    " (no spaces, signs, exponents or separators)"
)
NOT_POSITIVE = "must be greater than zero"
TOO_LARGE = f"must not exceed {MONEY_MAX}"
# The same in Indonesian, for errors[].message under Accept-Language: id.
NOT_AN_AMOUNT_ID = (
    "bukan jumlah uang: angka 0-9 dengan paling banyak dua angka desimal, seperti 1500000.00"
    " (tanpa spasi, tanda, eksponen atau pemisah ribuan)"
)
NOT_POSITIVE_ID = "harus lebih besar dari nol"
TOO_LARGE_ID = f"tidak boleh melebihi {MONEY_MAX}"

MoneyColumn = Numeric(18, 2)

_MONEY_TEXT = re.compile(MONEY_PATTERN)


def parse_money(value: Any) -> Decimal:
    """Text matching ``MONEY_PATTERN`` or an integer, positive, at most ``MONEY_MAX``; never a float.

    A ``Decimal`` is taken from Python callers (the demo, the generator) under the same limits."""
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise Invalid(NOT_AN_AMOUNT, NOT_AN_AMOUNT_ID)
    if isinstance(value, str):
        if _MONEY_TEXT.fullmatch(value) is None:
            raise Invalid(NOT_AN_AMOUNT, NOT_AN_AMOUNT_ID)
        amount = Decimal(value)
    else:
        amount = Decimal(value)
        exponent = amount.as_tuple().exponent
        if not amount.is_finite() or (isinstance(exponent, int) and exponent < -2):
            raise Invalid(NOT_AN_AMOUNT, NOT_AN_AMOUNT_ID)
    if amount <= 0:
        raise Invalid(NOT_POSITIVE, NOT_POSITIVE_ID)
    if amount > MONEY_MAX:
        raise Invalid(TOO_LARGE, TOO_LARGE_ID)
    return amount.quantize(CENT)


def format_money(amount: Decimal) -> str:
    return f"{amount.quantize(CENT):.2f}"


MONEY_DOCUMENT_PATTERN = r"^(?=[0-9.]*[1-9])(([0-9]{1,15}|0[0-9]{15})(\.[0-9]{1,2})?|1000000000000000(\.0{1,2})?)$"
"""``MONEY_PATTERN`` with the value's limits too, for the OpenAPI document only (a client checking it refuses
exactly what :func:`parse_money` refuses): some digit other than 0 (greater than zero), and at most
``MONEY_MAX`` (16 digits only with a leading 0, or ``MONEY_MAX`` itself). The checks themselves keep
``MONEY_PATTERN`` and compare the value, so each refusal keeps its own message."""

_INPUT_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "pattern": MONEY_DOCUMENT_PATTERN, "examples": ["23116413980.00"]},
        {"type": "integer", "minimum": 1, "maximum": int(MONEY_MAX)},
    ],
    "description": (
        "Rupiah as a decimal string of ASCII digits with at most two places (no spaces, sign or separators),"
        f" or an integer; greater than zero, at most {MONEY_MAX}."
    ),
}
_OUTPUT_SCHEMA: dict[str, Any] = {
    "type": "string",
    "pattern": r"^-?[0-9]+\.[0-9]{2}$",
    "examples": ["23116413980.00"],
    "description": "Rupiah as a decimal string with two places.",
}

Money = Annotated[
    Decimal,
    BeforeValidator(parse_money),
    PlainSerializer(format_money, return_type=str, when_used="json"),
    WithJsonSchema(_INPUT_SCHEMA, mode="validation"),
    WithJsonSchema(_OUTPUT_SCHEMA, mode="serialization"),
]
"""A positive amount a client sends."""

MoneyOut = Annotated[
    Decimal,
    PlainSerializer(format_money, return_type=str, when_used="json"),
    WithJsonSchema(_OUTPUT_SCHEMA),
]
"""An amount the API reports; may be zero (nothing disbursed yet) or negative in a reversal."""
