"""Money: ``Decimal`` with two places end to end, a decimal string in JSON, NUMERIC(18,2) in PostgreSQL."""

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema
from sqlalchemy import Numeric

CENT = Decimal("0.01")
# Rp1 quadrillion: ~27x the whole national Pilkada 2024 grant; anything larger is a typo, not a grant.
MONEY_MAX = Decimal("1000000000000000.00")
MONEY_PATTERN = r"^[0-9]{1,16}(\.[0-9]{1,2})?$"

MoneyColumn = Numeric(18, 2)


def parse_money(value: Any) -> Decimal:
    """A string or an integer, positive, at most two places, at most ``MONEY_MAX``; never a float."""
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise ValueError('money must be a decimal string such as "1500000.00" or an integer')
    if isinstance(value, str):
        text = value.strip()
        if not text or not all(ch.isdigit() or ch in ".-+" for ch in text):
            raise ValueError('money must be a decimal string such as "1500000.00"')
        try:
            amount = Decimal(text)
        except InvalidOperation as exc:
            raise ValueError('money must be a decimal string such as "1500000.00"') from exc
    else:
        amount = Decimal(value)
    if not amount.is_finite():
        raise ValueError("money must be a finite amount")
    if amount <= 0:
        raise ValueError("money must be greater than zero")
    if amount > MONEY_MAX:
        raise ValueError(f"money must not exceed {MONEY_MAX:.2f}")
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        raise ValueError("money has at most two decimal places (sen)")
    return amount.quantize(CENT)


def format_money(amount: Decimal) -> str:
    return f"{amount.quantize(CENT):.2f}"


_INPUT_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "pattern": MONEY_PATTERN, "examples": ["23116413980.00"]},
        {"type": "integer", "minimum": 1, "maximum": 1_000_000_000_000_000},
    ],
    "description": "Rupiah as a decimal string with at most two places, or an integer; positive.",
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
