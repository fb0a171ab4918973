"""Summaries, compliance findings and exports, on a small history built through the API."""

import csv
import io
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest

from app.core.calendar import add_working_days
from tests.helpers import (
    Grant,
    KeyMaker,
    another_grant,
    assert_problem,
    created,
    draft_report,
    money_headers,
    pay,
    read_workbook,
)

# The usage reports here are interim reports through 2024.
INTERIM = {"title": "Tahap I", "period_end": "2024-12-31"}


def xlsx_as_text(content: bytes) -> list[list[str]]:
    """The first sheet's cells as the CSV export writes them: ids as digits, money with its two decimals,
    empty cells as ''."""
    [rows] = read_workbook(content).values()
    return [[_as_csv_field(value) for value in row] for row in rows]


def _as_csv_field(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):  # money: exact to the sen, as Excel keeps it (15 significant digits)
        return str(Decimal(repr(value)).quantize(Decimal("0.01")))
    return str(value)


def findings(client: httpx.Client, **params: str) -> list[dict[str, Any]]:
    response = client.get("/compliance/findings", params=params)
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()["data"]
    return rows


@pytest.fixture
def history(client: httpx.Client, grant: Grant) -> Grant:
    """KPU's real tranche I (Rp1.3 billion of 23.1), the rest paid after the tranche II deadline."""
    created(pay(client, grant, "1300000000", "SP2D-1", "2023-12-19", 1))
    created(pay(client, grant, "21816413980", "SP2D-2", "2024-07-15", 2))
    election = client.get(f"/elections/{grant.election_id}")
    client.patch(f"/elections/{grant.election_id}", json={"winner_proposed_on": "2025-02-07"}, headers=grant.admin)
    assert election.status_code == 200
    return grant


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
    report = draft_report(client, polres, recipient, *items, period_start="2024-01-15", **INTERIM)
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


def test_summaries_group_and_total(client: httpx.Client, history: Grant, admin: dict[str, str]) -> None:
    by_region = client.get("/summaries", params={"group_by": "region"}).json()
    assert [row["region_code"] for row in by_region["data"]] == ["35.74"]
    row = by_region["data"][0]
    assert (row["region_name"], row["agreements"], row["disbursed"]) == ("Kota Probolinggo", 1, "23116413980.00")
    assert by_region["total"]["held"] == "23116413980.00"
    by_province = client.get("/summaries", params={"group_by": "province"}).json()["data"][0]
    assert (by_province["province_code"], by_province["province_name"]) == ("35", "Jawa Timur")
    by_kind = client.get("/summaries", params={"group_by": "recipient_kind"}).json()["data"]
    assert [row["recipient_kind"] for row in by_kind] == ["kpu"]
    by_election = client.get("/summaries", params={"group_by": "election", "year": 2024}).json()["data"]
    assert by_election[0]["election_id"] == history.election_id
    assert client.get("/summaries", params={"province": "36"}).json()["total"]["agreements"] == 0
    assert_problem(client.get("/summaries", params={"group_by": "village"}), 422, "validation_error")


def test_exports_csv_and_xlsx(client: httpx.Client, history: Grant, make_key: KeyMaker) -> None:
    response = client.get("/exports/disbursements.csv")
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert [(row["tranche"], row["amount"]) for row in rows] == [("1", "1300000000.00"), ("2", "21816413980.00")]
    refund = {"amount": "1000000", "returned_on": "2025-01-10", "sts_number": "STS-1", "note": '=sisa; "kas"'}
    refunded = client.post(
        f"/agreements/{history.agreement_id}/refunds", json=refund, headers=money_headers(history.finance)
    )
    assert refunded.status_code == 201, refunded.text
    datasets = ("agreements", "disbursements", "refunds")
    for name, params in (*((name, {}) for name in datasets), ("findings", {"as_of": "2025-06-01"})):
        workbook = client.get(f"/exports/{name}.xlsx", params=params)
        assert workbook.status_code == 200
        assert workbook.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        text = client.get(f"/exports/{name}.csv", params=params).text.lstrip("\ufeff")
        assert xlsx_as_text(workbook.content) == list(csv.reader(io.StringIO(text))), name
    found = client.get("/exports/findings.csv", params={"as_of": "2025-06-01"}).text
    assert "tranche_short" in found
    assert "refund_overdue" in found
    assert_problem(client.get("/exports/payees.csv"), 422, "validation_error")


def test_usage_item_export_withholds_payees_from_the_public(
    client: httpx.Client, history: Grant, recipient: dict[str, str], auditor: dict[str, str]
) -> None:
    item = {
        "spent_on": "2024-11-27",
        "category": "honorarium_adhoc",
        "stage": "pemungutan_suara",
        "description": "Honorarium Ketua KPPS",
        "amount": "900000",
        "payee": "Siti Aminah",
        "document_number": "KW-1",
    }
    report = draft_report(client, history, recipient, item, **INTERIM)
    assert client.get("/exports/usage-items.csv").text.count("\n") == 1, "drafts are not public"
    client.post(f"/usage-reports/{report['id']}/submit", headers=recipient)
    public = client.get("/exports/usage-items.csv").text
    assert "900000.00" in public
    assert "Siti Aminah" not in public
    assert "KW-1" not in public
    assert "Siti Aminah" in client.get("/exports/usage-items.csv", headers=auditor).text


def test_metrics(server_address: str, client: httpx.Client) -> None:
    client.get("/summaries")
    text = httpx.get(f"{server_address}/metrics").text
    assert "hibah_http_requests_total" in text
    assert "hibah_db_pool_checked_out" in text


def test_exports_do_not_turn_text_into_formulas(
    client: httpx.Client, history: Grant, recipient: dict[str, str], auditor: dict[str, str]
) -> None:
    item = {
        "spent_on": "2024-11-27",
        "category": "logistik",
        "stage": "logistik",
        "description": '=HYPERLINK("http://x")',
        "amount": "1",
    }
    draft_report(client, history, recipient, item, **INTERIM)
    text = client.get("/exports/usage-items.csv", headers=auditor).text
    assert "'=HYPERLINK" in text


def test_recipients_export_only_their_own_drafts(
    client: httpx.Client, history: Grant, recipient: dict[str, str], make_key: KeyMaker, admin: dict[str, str]
) -> None:
    item = {
        "spent_on": "2024-11-27",
        "category": "logistik",
        "stage": "logistik",
        "description": "Kotak suara",
        "amount": "1",
        "payee": "CV Maju",
    }
    draft_report(client, history, recipient, item, **INTERIM)
    other = created(
        client.post("/recipients", json={"name": "Bawaslu", "kind": "bawaslu", "region_code": "35.74"}, headers=admin)
    )
    stranger = make_key("recipient", recipient_id=other)
    assert "CV Maju" not in client.get("/exports/usage-items.csv", headers=stranger).text
    assert "CV Maju" in client.get("/exports/usage-items.csv", headers=recipient).text


def test_csv_export_written_by_copy_reads_back_exactly(
    client: httpx.Client, history: Grant, recipient: dict[str, str], auditor: dict[str, str]
) -> None:
    """The CSV comes from PostgreSQL's COPY: every value must read back as the API gives it, as cell() wrote it."""
    texts = [
        'Kotak suara, "tersegel"',
        "Sewa tenda\nTPS 001",
        "-Potongan PPh 21",
        "Konsumsi rapat pleno – Rp35.000/orang ✓",
        "   spasi di depan",
    ]
    items = [
        {
            "spent_on": f"2024-11-{20 + n}",
            "category": "logistik",
            "stage": "logistik",
            "description": text,
            "amount": f"{1000 + n}.5{n}",
            "payee": "" if n == 0 else f"Toko {n}",
        }
        for n, text in enumerate(texts)
    ]
    report = draft_report(client, history, recipient, *items, **INTERIM)
    response = client.get(
        "/exports/usage-items.csv", params={"province": "35", "category": "logistik"}, headers=auditor
    )
    assert response.status_code == 200
    assert ',"",' not in response.text, "an empty payee is an empty field, as Python's csv writes it"
    rows = list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))
    api = client.get(f"/usage-reports/{report['id']}/items", params={"limit": 50}, headers=auditor).json()["data"]
    assert len(rows) == len(api) == len(texts)
    for row, item in zip(rows, api, strict=True):
        description = item["description"]
        expected = "'" + description if description.startswith(("=", "+", "-", "@")) else description
        assert (row["id"], row["description"], row["amount"], row["spent_on"]) == (
            str(item["id"]),
            expected,
            item["amount"],
            item["spent_on"],
        )
        assert row["payee"] == (item["payee"] or "")
        assert row["report_status"] == "draft"
    workbook = client.get(
        "/exports/usage-items.xlsx", params={"province": "35", "category": "logistik"}, headers=auditor
    )
    as_csv = list(csv.reader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert xlsx_as_text(workbook.content) == as_csv, "the XLSX holds exactly what the CSV holds"
