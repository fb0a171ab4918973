"""The visibility policy as a pure function, and its SQL forms evaluated by PostgreSQL itself.

The expected table is written out here, from the README's "Who sees what", not read from the module.
"""

from datetime import date
from decimal import Decimal
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa

from app.core.actor import PUBLIC, Actor, Role
from app.core.visibility import Private, may_see, may_see_sql, shown, withhold, withhold_mapping
from app.reference.schemas import RecipientOut
from app.reports.schemas import ItemOut

OWNER = 5
OTHER = 1
READERS: dict[str, Actor] = {
    "public": PUBLIC,
    "admin": Actor(key_id=1, role=Role.admin),
    "finance": Actor(key_id=2, role=Role.finance),
    "regional finance": Actor(key_id=3, role=Role.finance, region_code="35.74"),
    "auditor": Actor(key_id=4, role=Role.auditor),
    "owning recipient": Actor(key_id=5, role=Role.recipient, recipient_id=OWNER),
    "other recipient": Actor(key_id=6, role=Role.recipient, recipient_id=OTHER),
}
DIALECT = sa.create_engine("postgresql+psycopg://").dialect
SEES = {"admin", "finance", "regional finance", "auditor", "owning recipient"}

ITEM = ItemOut(
    id=1,
    report_id=1,
    spent_on=date(2024, 3, 1),
    category="honorarium",
    stage="voting",
    description="Honor KPPS",
    amount=Decimal("150000.00"),
    payee="Siti Aminah",
    document_number="KW-001",
    evidence_sha256=None,
)


@pytest.mark.parametrize("reader", list(READERS))
def test_the_rule(reader: str) -> None:
    assert may_see(READERS[reader], OWNER) is (reader in SEES)


@pytest.mark.parametrize("reader", list(READERS))
def test_an_item_keeps_its_shape_and_loses_its_private_fields(reader: str) -> None:
    seen = withhold(READERS[reader], OWNER, ITEM, Private.payee).model_dump()
    assert seen.keys() == ITEM.model_dump().keys()
    if reader in SEES:
        assert (seen["payee"], seen["document_number"]) == ("Siti Aminah", "KW-001")
    else:
        assert (seen["payee"], seen["document_number"]) == (None, None)
    assert seen["description"] == "Honor KPPS" and seen["amount"] == ITEM.amount


@pytest.mark.parametrize("reader", list(READERS))
def test_a_recipient_loses_its_account_number_and_holder_but_not_its_bank(reader: str) -> None:
    recipient = RecipientOut.model_validate(
        {
            "id": OWNER,
            "name": "KPU Kota Probolinggo",
            "kind": "kpu",
            "region_code": "35.74",
            "bank_name": "Bank Jatim",
            "account_number": "0011223344",
            "account_holder": "RPL 025 KPU Kota Probolinggo",
            "version": 1,
            "created_at": "2024-01-01T00:00:00Z",
            "updated_at": "2024-01-01T00:00:00Z",
        }
    )
    seen = withhold(READERS[reader], OWNER, recipient, Private.account)
    assert seen.bank_name == "Bank Jatim"
    expected = ("0011223344", "RPL 025 KPU Kota Probolinggo") if reader in SEES else (None, None)
    assert (seen.account_number, seen.account_holder) == expected


def test_a_payload_is_withheld_at_any_depth_and_keeps_its_keys() -> None:
    payload = {
        "name": "KPU",
        "account_number": "0011",
        "items": [{"payee": "Siti", "amount": "1.00"}, {"document_number": "KW-1"}],
        "nested": {"account_holder": "RPL", "bank_name": "Bank Jatim"},
    }
    assert withhold_mapping(PUBLIC, OWNER, payload) == {
        "name": "KPU",
        "account_number": None,
        "items": [{"payee": None, "amount": "1.00"}, {"document_number": None}],
        "nested": {"account_holder": None, "bank_name": "Bank Jatim"},
    }
    assert withhold_mapping(READERS["owning recipient"], OWNER, payload) == payload


@pytest.mark.parametrize("reader", list(READERS))
def test_the_sql_forms_agree_with_the_rule_row_by_row(reader: str, db: psycopg.Connection[Any]) -> None:
    """PostgreSQL evaluates the SQL forms over rows of both owners; each row must get the rule's answer."""
    rows = sa.table("t", sa.column("owner", sa.Integer), sa.column("payee", sa.Text))
    actor = READERS[reader]
    statement = (
        sa.select(rows.c.owner, may_see_sql(actor, rows.c.owner), shown(actor, rows.c.payee, rows.c.owner))
        .select_from(rows)
        .order_by(rows.c.owner)
    )
    compiled = str(statement.compile(dialect=DIALECT, compile_kwargs={"literal_binds": True}))
    query = f"WITH t(owner, payee) AS (VALUES ({OTHER}, 'other payee'), ({OWNER}, 'owner payee')) {compiled}"
    got = db.execute(query.encode()).fetchall()
    expected = [
        (OTHER, may_see(actor, OTHER), "other payee" if may_see(actor, OTHER) else None),
        (OWNER, may_see(actor, OWNER), "owner payee" if may_see(actor, OWNER) else None),
    ]
    assert got == expected
