"""Budget variance: reported spending against the agreement's budget lines."""

from decimal import Decimal
from typing import Any

import httpx
import psycopg

from tests.helpers import Grant, add, count, draft_report, item


def test_budget_variance(
    client: httpx.Client, paid: Grant, recipient: dict[str, str], election_and_kpu: tuple[int, int]
) -> None:
    report = draft_report(
        client, paid, recipient, item("4000000"), item("1000000", stage="logistik", category="logistik")
    )
    client.post(f"/usage-reports/{report['id']}/submit", headers=recipient)
    variance = client.get(f"/agreements/{paid.agreement_id}/budget-variance").json()
    assert variance["reported"] == "5000000.00"
    assert variance["unbudgeted"] == "5000000.00"
    assert all(line["over_budget"] is False for line in variance["lines"])


def test_budget_variance_follows_a_returned_and_corrected_report(
    client: httpx.Client, paid: Grant, recipient: dict[str, str], db: psycopg.Connection[Any]
) -> None:
    """The breakdown is fixed at submission: a return, a correction and a new submission replace it."""
    report = draft_report(
        client, paid, recipient, item("4000000"), item("1000000", stage="logistik", category="logistik")
    )
    url = f"/usage-reports/{report['id']}"
    assert client.post(f"{url}/submit", headers=recipient).status_code == 200
    assert client.post(f"{url}/return", json={"note": "kuitansi kurang"}, headers=paid.finance).status_code == 200
    assert client.get(f"/agreements/{paid.agreement_id}/budget-variance").json()["reported"] == "0.00"
    assert client.post(f"{url}/reopen", headers=recipient).status_code == 200
    assert count(db, "usage_report_spend") == 0
    logistics = client.get(f"{url}/items", params={"stage": "logistik"}, headers=recipient).json()["data"][0]
    assert client.delete(f"/usage-items/{logistics['id']}", headers=recipient).status_code == 204
    add(client, report["id"], recipient, item("250000", stage="logistik", category="logistik"), item("500000"))
    assert client.post(f"{url}/submit", headers=recipient).status_code == 200
    variance = client.get(f"/agreements/{paid.agreement_id}/budget-variance").json()
    assert variance["reported"] == "4750000.00"
    spent = {(line["stage"], line["category"]): line["reported"] for line in variance["lines"]}
    assert spent == {("logistik", "logistik"): "250000.00", ("pemungutan_suara", "honorarium_adhoc"): "4500000.00"}
    rows = db.execute("SELECT sum(amount), sum(items) FROM usage_report_spend").fetchone()
    assert rows == (Decimal("4750000.00"), 3)
