"""``support_value`` beside the money in /summaries, for every grouping, figures worked out by hand."""

from typing import Any

import httpx
import pytest

from tests.helpers import Grant, another_grant
from tests.support.conftest import loan, record


@pytest.fixture
def given(client: httpx.Client, grant: Grant) -> Grant:
    """KPU: a car (Rp350,000,000) and a warehouse (Rp120,000,000); Bawaslu: seconded staff (Rp90,000,000) and a
    voided laptop record (Rp15,000,000, counted nowhere). A Polres with support but no agreement: Rp25,000,000."""
    bawaslu = another_grant(
        client,
        grant,
        {"name": "Bawaslu Kota Probolinggo", "kind": "bawaslu", "region_code": "35.74"},
        number="NPHD-BAWASLU-3574-2024",
        signed_on="2024-02-05",
        scheme="lump_sum",
        amount="4715559500.00",
    )
    police = client.post(
        "/recipients",
        json={"name": "Polres Probolinggo Kota", "kind": "polri", "region_code": "35.74"},
        headers=grant.admin,
    ).json()["id"]
    bodies = [
        (grant.recipient_id, loan()),
        (grant.recipient_id, loan(kind="facility", value="120000000", bast_number="B-2", unit="m2", quantity=300)),
        (bawaslu.recipient_id, loan(kind="personnel", value="90000000", bast_number="B-3", unit="orang", quantity=3)),
        (bawaslu.recipient_id, loan(kind="goods", value="15000000", bast_number="B-4")),
        (police, loan(kind="service", value="25000000", bast_number="B-5", unit="paket")),
    ]
    ids = []
    for recipient_id, body in bodies:
        response = record(client, grant, {**body, "recipient_id": recipient_id})
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    voided = client.post(f"/support/{ids[3]}/void", json={"reason": "salah catat"}, headers=grant.finance)
    assert voided.status_code == 200
    return bawaslu


def summary(client: httpx.Client, query: str) -> dict[str, Any]:
    response = client.get(f"/summaries?{query}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_support_value_by_recipient_kind(client: httpx.Client, given: Grant) -> None:
    body = summary(client, "group_by=recipient_kind")
    rows = {row["recipient_kind"]: (row["agreements"], row["amount"], row["support_value"]) for row in body["data"]}
    assert rows == {
        "bawaslu": (1, "4715559500.00", "90000000.00"),
        "kpu": (1, "23116413980.00", "470000000.00"),
        "polri": (0, "0.00", "25000000.00"),
    }
    assert body["total"]["support_value"] == "585000000.00"
    assert body["total"]["amount"] == "27831973480.00"


@pytest.mark.parametrize(("group_by", "key"), [("region", "region_code"), ("province", "province_code")])
def test_support_value_by_place(client: httpx.Client, given: Grant, group_by: str, key: str) -> None:
    body = summary(client, f"group_by={group_by}")
    assert [(row[key], row["agreements"], row["support_value"]) for row in body["data"]] == [
        ("35.74" if group_by == "region" else "35", 2, "585000000.00")
    ]


def test_support_value_by_election_and_under_filters(client: httpx.Client, given: Grant) -> None:
    body = summary(client, "group_by=election")
    assert [(row["election_id"], row["support_value"]) for row in body["data"]] == [(given.election_id, "585000000.00")]
    assert summary(client, "recipient_kind=kpu")["total"]["support_value"] == "470000000.00"
    assert summary(client, f"recipient_id={given.recipient_id}")["total"]["support_value"] == "90000000.00"
    # An agreement status keeps the support of recipients whose agreement has it: the Polres has none.
    assert summary(client, "status=active")["total"]["support_value"] == "560000000.00"
    assert summary(client, "year=2029")["total"]["support_value"] == "0.00"


def test_no_support_is_zero(client: httpx.Client, grant: Grant) -> None:
    body = summary(client, "group_by=recipient_kind")
    assert [row["support_value"] for row in body["data"]] == ["0.00"]
    assert body["total"]["support_value"] == "0.00"
