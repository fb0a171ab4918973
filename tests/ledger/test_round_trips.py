"""What a payment and a refund send to PostgreSQL: the hottest writes' statements, counted on the driver.

The money path's cost is its round trips (docs/performance.md, the ledger notes): each is ~0.1-0.3 ms of the
server's CPU, more than any Python layer. A payment is BEGIN, key + reservation + the agreement's lock
(``core.idempotency.LockAhead``), entry + total, kept answer + audit events, COMMIT."""

from typing import Any

import asyncpg
import httpx
import pytest

from tests.helpers import Grant, Headers, draft_report, item, money_headers, pay

EXPECTED_PAYMENT = ["BEGIN", "WITH actor", "WITH entry", "WITH kept", "COMMIT"]


pools: list[str] = []
"""The ``application_name`` of the connection each statement of ``sent`` went on: which pool it came from."""


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The first words of every statement the server's asyncpg connections send while the test runs (the server
    runs in this process: tests/conftest.py)."""
    statements: list[str] = []
    pools.clear()
    simple = asyncpg.Connection.execute
    extended = getattr(asyncpg.Connection, "_execute")  # noqa: B009 - private: every statement with arguments passes here

    async def execute(self: asyncpg.Connection, query: str, *args: Any, **kwargs: Any) -> Any:
        if not args:  # with arguments, execute() goes through _execute()
            statements.append(query)
            pools.append(self.get_settings().application_name)
        return await simple(self, query, *args, **kwargs)

    async def _execute(self: asyncpg.Connection, query: str, *args: Any, **kwargs: Any) -> Any:
        statements.append(query)
        pools.append(self.get_settings().application_name)
        return await extended(self, query, *args, **kwargs)

    monkeypatch.setattr(asyncpg.Connection, "execute", execute)
    monkeypatch.setattr(asyncpg.Connection, "_execute", _execute)
    return statements


def _heads(statements: list[str]) -> list[str]:
    """``WITH actor``, ``BEGIN``: enough of each statement to tell which it is."""
    heads = []
    for statement in statements:
        words = statement.replace(";", " ").split()
        heads.append(" ".join(words[:2]) if words[0] == "WITH" else words[0])
    return heads


def test_a_payment_is_five_statements(client: httpx.Client, grant: Grant, sent: list[str]) -> None:
    assert pay(client, grant, "1000", "SP2D-RT-1").status_code == 201
    sent.clear()
    pools.clear()
    assert pay(client, grant, "1000", "SP2D-RT-2").status_code == 201
    assert _heads(sent) == EXPECTED_PAYMENT
    assert pools == ["hibah-ledger"] * len(EXPECTED_PAYMENT)  # the money writes' pool, not the engine's


def test_a_report_review_runs_on_the_ledger_pool(
    client: httpx.Client, paid: Grant, recipient: Headers, sent: list[str]
) -> None:
    """Submitting moves the agreement's spending: a money write, on the same path as a payment."""
    report = draft_report(client, paid, recipient, item())
    sent.clear()
    pools.clear()
    submitted = client.post(f"/usage-reports/{report['id']}/submit", headers=recipient)
    assert submitted.status_code == 200, submitted.text
    assert set(pools) == {"hibah-ledger"}, list(zip(_heads(sent), pools, strict=True))


def test_a_refund_locks_its_agreement_with_the_reservation(client: httpx.Client, grant: Grant, sent: list[str]) -> None:
    assert pay(client, grant, "5000", "SP2D-RT-3").status_code == 201
    sent.clear()
    body = {"amount": "1000", "returned_on": "2024-02-01", "sts_number": "STS-RT-1"}
    response = client.post(f"/agreements/{grant.agreement_id}/refunds", json=body, headers=money_headers(grant.finance))
    assert response.status_code == 201, response.text
    assert _heads(sent) == EXPECTED_PAYMENT


def test_a_payment_to_a_missing_agreement_is_still_a_404(client: httpx.Client, grant: Grant, sent: list[str]) -> None:
    """No agreement 999999: the reservation's statement locks nothing, the service looks once more and answers 404."""
    body = {"tranche": 1, "amount": "1000", "paid_on": "2024-01-10", "sp2d_number": "SP2D-RT-404"}
    response = client.post("/agreements/999999/disbursements", json=body, headers=money_headers(grant.finance))
    assert response.status_code == 404
    assert response.json()["code"] == "agreement_not_found"
    assert _heads(sent)[:3] == ["BEGIN", "WITH actor", "SELECT"]
