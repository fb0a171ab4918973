"""Support in kind on the KPU's grant of ``tests/conftest.py``: its election, its recipient, its finance key."""

from typing import Any

import httpx
import pytest

from tests.helpers import Body, Grant, Headers, money_headers


def loan(**changes: Any) -> Body:
    """A city car lent to the KPU (pinjam pakai)."""
    return {
        "kind": "asset_loan",
        "description": "Kendaraan dinas roda empat Toyota Innova N 1234 XY",
        "quantity": 1,
        "unit": "unit",
        "value": "350000000.00",
        "handed_over_on": "2024-06-03",
        "bast_number": "BAST-PP-001/2024",
        **changes,
    }


def record(client: httpx.Client, grant: Grant, body: Body, key: Headers | None = None) -> httpx.Response:
    full = {"election_id": grant.election_id, "recipient_id": grant.recipient_id, **body}
    return client.post("/support", json=full, headers=money_headers(grant.finance if key is None else key))


@pytest.fixture
def lent(client: httpx.Client, grant: Grant) -> dict[str, Any]:
    response = record(client, grant, loan())
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body
