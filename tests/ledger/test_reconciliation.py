"""The ledger reconciles itself: /audit/verify recomputes every running total from the entries it counts,
and names the first one that was changed behind the API's back."""

from typing import Any

import httpx
import psycopg

from tests.helpers import Grant, Headers, add, created, item, money_headers, new_report, pay

# Written out, not read from the app: two payments less one reversal, one accepted report of two items,
# one refund.
DISBURSED = "10000000.00"
SPENT = "1800000.00"
REFUNDED = "500000.00"


def verify(client: httpx.Client, auditor: Headers) -> dict[str, Any]:
    response = client.get("/audit/verify", headers=auditor)
    assert response.status_code == 200, response.text
    ledger: dict[str, Any] = response.json()["ledger"]
    return ledger


def a_whole_cycle(client: httpx.Client, grant: Grant, recipient: Headers, auditor: Headers) -> int:
    """Payments, a reversal, a report submitted and accepted, a refund: every running total moves."""
    created(pay(client, grant, "10000000", "SP2D-1", "2023-12-19"))
    wrong = created(pay(client, grant, "2500000", "SP2D-2", "2023-12-20"))
    reversal = {"reversed_on": "2023-12-21", "reason": "salah rekening"}
    created(client.post(f"/disbursements/{wrong}/reversal", json=reversal, headers=money_headers(grant.finance)))
    report = new_report(client, grant, recipient)
    assert add(client, report["id"], recipient, item("900000"), item("900000")).status_code == 201
    assert client.post(f"/usage-reports/{report['id']}/submit", headers=recipient).status_code == 200
    assert client.post(f"/usage-reports/{report['id']}/accept", headers=auditor).status_code == 200
    body = {"amount": "500000", "returned_on": "2025-04-30", "sts_number": "STS-1"}
    created(client.post(f"/agreements/{grant.agreement_id}/refunds", json=body, headers=money_headers(grant.finance)))
    report_id: int = report["id"]
    return report_id


def test_totals_that_match_their_entries_are_valid(
    client: httpx.Client, grant: Grant, recipient: Headers, auditor: Headers
) -> None:
    a_whole_cycle(client, grant, recipient, auditor)
    position = client.get(f"/agreements/{grant.agreement_id}/position").json()
    assert (position["disbursed"], position["spent_accepted"], position["refunded"]) == (DISBURSED, SPENT, REFUNDED)
    assert verify(client, auditor) == {
        "valid": True,
        "agreements_checked": 1,
        "reports_checked": 1,
        "first_mismatch": None,
    }


def test_an_agreement_total_changed_by_hand_is_named(
    client: httpx.Client, grant: Grant, recipient: Headers, auditor: Headers, db: psycopg.Connection[Any]
) -> None:
    a_whole_cycle(client, grant, recipient, auditor)
    # Within every CHECK constraint, so only the recomputation can tell.
    db.execute("UPDATE agreement SET refunded = refunded - 1 WHERE id = %s", (grant.agreement_id,))
    assert verify(client, auditor) == {
        "valid": False,
        "agreements_checked": 1,
        "reports_checked": 1,
        "first_mismatch": {
            "entity": "agreement",
            "id": grant.agreement_id,
            "field": "refunded",
            "stored": "499999.00",
            "recomputed": "500000.00",
        },
    }


def test_the_first_changed_agreement_total_is_named_first(
    client: httpx.Client, grant: Grant, recipient: Headers, auditor: Headers, db: psycopg.Connection[Any]
) -> None:
    a_whole_cycle(client, grant, recipient, auditor)
    db.execute(
        "UPDATE agreement SET disbursed = disbursed + 100, spent_reported = spent_reported + 100 WHERE id = %s",
        (grant.agreement_id,),
    )
    mismatch = verify(client, auditor)["first_mismatch"]
    assert (mismatch["field"], mismatch["stored"], mismatch["recomputed"]) == ("disbursed", "10000100.00", DISBURSED)


def test_a_report_total_changed_by_hand_is_named(
    client: httpx.Client, grant: Grant, recipient: Headers, auditor: Headers, db: psycopg.Connection[Any]
) -> None:
    created(pay(client, grant, "10000000", "SP2D-1", "2023-12-19"))
    report = new_report(client, grant, recipient)
    assert add(client, report["id"], recipient, item("900000")).status_code == 201
    db.execute("UPDATE usage_report SET item_count = 2 WHERE id = %s", (report["id"],))
    mismatch = verify(client, auditor)["first_mismatch"]
    assert mismatch == {
        "entity": "usage_report",
        "id": report["id"],
        "field": "item_count",
        "stored": "2",
        "recomputed": "1",
    }
    db.execute("UPDATE usage_report SET item_count = 1, total = 900000.01 WHERE id = %s", (report["id"],))
    mismatch = verify(client, auditor)["first_mismatch"]
    assert (mismatch["field"], mismatch["stored"], mismatch["recomputed"]) == ("total", "900000.01", "900000.00")


def test_a_lost_spending_breakdown_is_named(
    client: httpx.Client, grant: Grant, recipient: Headers, auditor: Headers, db: psycopg.Connection[Any]
) -> None:
    report_id = a_whole_cycle(client, grant, recipient, auditor)
    db.execute("DELETE FROM usage_report_spend WHERE report_id = %s", (report_id,))
    mismatch = verify(client, auditor)["first_mismatch"]
    assert mismatch == {
        "entity": "usage_report",
        "id": report_id,
        "field": "spend_breakdown",
        "stored": "0",
        "recomputed": SPENT,
    }
