"""Compliance findings, computed from the records and the calendar as of a day."""

from datetime import date
from typing import Any

import httpx

from app.core.calendar import add_working_days
from tests.helpers import Grant, KeyMaker, another_grant, created, draft_report, item, money_headers, pay


def findings(client: httpx.Client, **params: str) -> list[dict[str, Any]]:
    response = client.get("/compliance/findings", params=params)
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()["data"]
    return rows


def test_working_days_skip_weekends_and_holidays() -> None:
    assert add_working_days(date(2023, 12, 4), 14) == date(2023, 12, 22)
    # Christmas and New Year's Day are holidays: 14 working days from 18 December end on 9 January.
    assert add_working_days(date(2023, 12, 18), 14) == date(2024, 1, 9)


def test_tranche_findings_name_the_shortfall_and_the_delay(client: httpx.Client, history: Grant) -> None:
    found = {(row["rule"], row["facts"].get("tranche")): row for row in findings(client, as_of="2024-12-31")}
    short = found[("tranche_short", 1)]
    assert short["facts"]["required"] == "9246565592.00"
    assert short["facts"]["paid"] == "1300000000.00"
    assert short["due_on"] == "2023-12-22"
    assert "Permendagri 41/2020 Pasal 16" in short["regulation"]
    late = found[("tranche_late", 2)]
    assert late["due_on"] == "2024-06-27"
    assert late["facts"]["paid_by_due"] == "1300000000.00"
    assert ("tranche_late", 1) not in found


def test_as_of_shows_what_was_overdue_then(client: httpx.Client, history: Grant) -> None:
    assert findings(client, as_of="2023-12-20") == []
    assert {row["rule"] for row in findings(client, as_of="2025-05-07")} == {"tranche_short", "tranche_late"}
    later = findings(client, as_of="2025-05-08", severity="high")
    assert {row["rule"] for row in later} == {"final_report_overdue", "refund_overdue"}
    refund = next(row for row in later if row["rule"] == "refund_overdue")
    assert (refund["due_on"], refund["facts"]["held"]) == ("2025-05-07", "23116413980.00")
    assert findings(client, as_of="2025-05-08", rule="refund_overdue", region_code="35.13") == []


def test_refund_on_time_clears_the_refund_finding(client: httpx.Client, history: Grant) -> None:
    client.post(
        f"/agreements/{history.agreement_id}/refunds",
        json={"amount": "23116413980", "returned_on": "2025-05-07", "sts_number": "STS-1"},
        headers=money_headers(history.finance),
    )
    assert "refund_overdue" not in {row["rule"] for row in findings(client, as_of="2025-06-01")}


def test_over_budget_line(client: httpx.Client, grant: Grant, make_key: KeyMaker) -> None:
    polres = another_grant(
        client,
        grant,
        {"name": "Polres", "kind": "polri", "region_code": "35.74"},
        number="NPHD-POLRES",
        signed_on="2024-01-15",
        scheme="lump_sum",
        amount="1000000",
        budget_lines=[
            {"stage": "pengamanan", "category": "operasi_pengamanan", "amount": "600000"},
            {"stage": "pengamanan", "category": "rapat_konsumsi", "amount": "400000"},
        ],
    )
    created(pay(client, polres, "1000000", "SP2D-P", "2024-01-20", 1))
    recipient = make_key("recipient", recipient_id=polres.recipient_id)
    items = [
        {
            "spent_on": "2024-11-20",
            "category": "operasi_pengamanan",
            "stage": "pengamanan",
            "description": "Operasi",
            "amount": "700000",
        },
        {
            "spent_on": "2024-11-21",
            "category": "operasi_pengamanan",
            "stage": "pengamanan",
            "description": "Operasi",
            "amount": "150000",
        },
    ]
    report = draft_report(
        client, polres, recipient, *items, title="Tahap I", period_start="2024-01-15", period_end="2024-12-31"
    )
    assert client.post(f"/usage-reports/{report['id']}/submit", headers=recipient).status_code == 200
    [over] = findings(client, rule="over_budget_line")
    assert over["facts"] == {
        "stage": "pengamanan",
        "category": "operasi_pengamanan",
        "budgeted": "600000.00",
        "reported": "850000.00",
        "over_by": "250000.00",
    }
    variance = client.get(f"/agreements/{polres.agreement_id}/budget-variance").json()
    assert [line["over_budget"] for line in variance["lines"]] == [True, False]


def test_refund_short_of_the_unspent_balance_after_the_final_report(
    client: httpx.Client, paid: Grant, recipient: dict[str, str], auditor: dict[str, str]
) -> None:
    """Rp10,000,000 paid, Rp8,000,000 spent in an accepted final report, Rp1,500,000 refunded: Rp2,000,000 was
    unspent, so Rp500,000 is missing; refunding it clears the finding."""
    report = draft_report(client, paid, recipient, item("8000000"), kind="final")
    assert client.post(f"/usage-reports/{report['id']}/submit", headers=recipient).status_code == 200
    assert client.post(f"/usage-reports/{report['id']}/accept", json={}, headers=auditor).status_code == 200
    refunds = f"/agreements/{paid.agreement_id}/refunds"
    body = {"amount": "1500000", "returned_on": "2025-01-20", "sts_number": "STS-1"}
    assert client.post(refunds, json=body, headers=money_headers(paid.finance)).status_code == 201
    [mismatch] = findings(client, rule="refund_mismatch")
    assert (mismatch["agreement_id"], mismatch["severity"]) == (paid.agreement_id, "high")
    assert mismatch["facts"] == {"refunded": "1500000.00", "unspent": "2000000.00", "difference": "500000.00"}
    rest = {"amount": "500000", "returned_on": "2025-01-21", "sts_number": "STS-2"}
    assert client.post(refunds, json=rest, headers=money_headers(paid.finance)).status_code == 201
    assert findings(client, rule="refund_mismatch") == []


def test_a_lump_sum_paid_after_fourteen_working_days_is_late(client: httpx.Client, grant: Grant) -> None:
    """A lump sum is due whole within 14 working days of signing: signed Monday 15 January 2024, due Friday
    2 February (16-19, 22-26 and 29 January-2 February); paid whole on 1 March, so late."""
    polres = another_grant(
        client,
        grant,
        {"name": "Polres", "kind": "polri", "region_code": "35.74"},
        number="NPHD-POLRES",
        signed_on="2024-01-15",
        scheme="lump_sum",
        amount="1000000",
    )
    created(pay(client, polres, "1000000", "SP2D-P", "2024-03-01", 1))
    late = [
        row
        for row in findings(client, as_of="2024-12-31", rule="tranche_late")
        if row["agreement_id"] == polres.agreement_id
    ]
    assert [(row["due_on"], row["facts"]["tranche"]) for row in late] == [("2024-02-02", 1)]
    assert late[0]["facts"] == {
        "tranche": 1,
        "signed_on": "2024-01-15",
        "first_paid_on": "2024-03-01",
        "working_days": 14,
    }
    # Paid whole, so never short of the 100% a lump sum owes: late is its one finding.
    mine = [row["rule"] for row in findings(client, as_of="2024-12-31") if row["agreement_id"] == polres.agreement_id]
    assert mine == ["tranche_late"]
    before_due = findings(client, as_of="2024-02-02", rule="tranche_late")
    assert [row for row in before_due if row["agreement_id"] == polres.agreement_id] == []
