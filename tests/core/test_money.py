"""The Money type: decimal strings with two places, never floats, never zero, negative or absurd."""

from decimal import Decimal

import pytest
from pydantic import BaseModel, ValidationError

from app.core.money import Money, MoneyOut


class Payment(BaseModel):
    amount: Money


class Position(BaseModel):
    amount: MoneyOut


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("23116413980.00", Decimal("23116413980.00")),
        ("23116413980", Decimal("23116413980.00")),
        (23116413980, Decimal("23116413980.00")),
        ("0.01", Decimal("0.01")),
        ("1.5", Decimal("1.50")),
        ("0100.25", Decimal("100.25")),
        ("1000000000000000.00", Decimal("1000000000000000.00")),
    ],
)
def test_accepts_strings_and_integers(given: object, stored: Decimal) -> None:
    amount = Payment.model_validate({"amount": given}).amount
    assert amount == stored
    assert amount.as_tuple().exponent == -2


@pytest.mark.parametrize(
    "given",
    [
        0,
        "0",
        "0.00",
        "-1",
        -5,
        "1.001",
        "1.500",
        1.5,
        0.1,
        True,
        "",
        "abc",
        "1e3",
        "NaN",
        "Infinity",
        "1,000",
        " 100.25 ",
        " 1",
        "1 ",
        "1\n",
        "+1",
        ".5",
        "5.",
        "00000000000000001.00",
        "\u0661\u0662",  # Arabic-Indic 12
        "\uff11\uff12",  # fullwidth 12
        "1000000000000000.01",
        10**16,
        None,
        [],
    ],
)
def test_refuses_what_is_not_money(given: object) -> None:
    with pytest.raises(ValidationError):
        Payment.model_validate({"amount": given})


def test_serialises_as_two_place_string() -> None:
    assert Payment(amount=Decimal("5")).model_dump(mode="json") == {"amount": "5.00"}
    assert Position(amount=Decimal("0")).model_dump(mode="json") == {"amount": "0.00"}
    assert Position(amount=Decimal("-1300000000")).model_dump(mode="json") == {"amount": "-1300000000.00"}


def test_json_schema_documents_a_string_out_and_string_or_integer_in() -> None:
    validation = Payment.model_json_schema(mode="validation")["properties"]["amount"]
    serialization = Payment.model_json_schema(mode="serialization")["properties"]["amount"]
    assert {option["type"] for option in validation["anyOf"]} == {"string", "integer"}
    assert serialization["type"] == "string"
