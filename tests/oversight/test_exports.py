"""Exports (CSV and XLSX, streamed): the same rows in both, payees withheld from the public, no formulas."""

import csv
import io
from datetime import datetime
from decimal import Decimal

import httpx

from tests.helpers import (
    Grant,
    KeyMaker,
    assert_problem,
    created,
    draft_report,
    money_headers,
    read_workbook,
)

# The usage reports here are interim reports through 2024.
INTERIM = {"title": "Tahap I", "period_end": "2024-12-31"}


def xlsx_as_text(content: bytes) -> list[list[str]]:
    """The first sheet's cells as the CSV export writes them: ids as digits, money with its two decimals,
    dates ISO, empty cells as '', and text a spreadsheet would run as a formula behind the CSV's ``'`` (the
    workbook marks it with a cell style instead)."""
    [rows] = read_workbook(content).values()
    return [[_as_csv_field(value) for value in row] for row in rows]


def _as_csv_field(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):  # money: exact to the sen, as Excel keeps it (15 significant digits)
        return str(Decimal(repr(value)).quantize(Decimal("0.01")))
    if isinstance(value, datetime):  # a date cell
        return value.date().isoformat()
    if isinstance(value, str) and value.startswith(("=", "+", "-", "@", "\t", "\r")):
        return "'" + value
    return str(value)


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
        # Both renderings against what the records hold, written out by hand below (not one against the other).
        assert list(csv.reader(io.StringIO(text))) == EXPECTED[name], name
        assert xlsx_as_text(workbook.content) == EXPECTED[name], name
    assert_problem(client.get("/exports/payees.csv"), 422, "validation_error")


NPHD = ["1", "NPHD-KPU-3574-2023", "35.74"]
PASAL_16 = "Permendagri 41/2020 Pasal 16 (perubahan Permendagri 54/2019)"
FINAL_DUE = "Permendagri 54/2019 jo. Permendagri 41/2020: laporan penggunaan dan pengembalian sisa dana hibah"
EXPECTED = {
    # Rp23,116,413,980 signed and all of it paid (1.3 bn + 21.8 bn), Rp1,000,000 back, nothing reported yet.
    "agreements": [
        [
            "id",
            "number",
            "election_id",
            "recipient_id",
            "region_code",
            "province_code",
            "recipient_kind",
            "signed_on",
            "scheme",
            "currency",
            "original_amount",
            "amount",
            "disbursed",
            "spent_reported",
            "spent_accepted",
            "refunded",
            "status",
        ],
        [
            "1",
            "NPHD-KPU-3574-2023",
            "1",
            "1",
            "35.74",
            "35",
            "kpu",
            "2023-12-04",
            "staged",
            "IDR",
            "23116413980.00",
            "23116413980.00",
            "23116413980.00",
            "0.00",
            "0.00",
            "1000000.00",
            "active",
        ],
    ],
    "disbursements": [
        [
            "id",
            "agreement_id",
            "agreement_number",
            "region_code",
            "tranche",
            "amount",
            "paid_on",
            "sp2d_number",
            "reversed_on",
            "reversal_reason",
        ],
        ["1", *NPHD, "1", "1300000000.00", "2023-12-19", "SP2D-1", "", ""],
        ["2", *NPHD, "2", "21816413980.00", "2024-07-15", "SP2D-2", "", ""],
    ],
    # The note would be a formula in a spreadsheet: the CSV puts a ' before it.
    "refunds": [
        ["id", "agreement_id", "agreement_number", "region_code", "amount", "returned_on", "sts_number", "note"],
        ["1", *NPHD, "1000000.00", "2025-01-10", "STS-1", '\'=sisa; "kas"'],
    ],
    # 40% of 23,116,413,980 is 9,246,565,592, due 14 working days after 4 Dec 2023 (22 Dec); tranche II was due
    # 5 months before 27 Nov 2024 (27 Jun); the final report and refund 3 months after 7 Feb 2025 (7 May);
    # held = 23,116,413,980 paid - 1,000,000 refunded.
    "findings": [
        [
            "rule",
            "severity",
            "agreement_id",
            "agreement_number",
            "region_code",
            "recipient_kind",
            "due_on",
            "regulation",
            "facts",
        ],
        [
            "tranche_short",
            "medium",
            *NPHD,
            "kpu",
            "2023-12-22",
            PASAL_16,
            "tranche=1; amount=23116413980.00; required=9246565592.00; paid=1300000000.00; share=0.0562",
        ],
        [
            "tranche_late",
            "medium",
            *NPHD,
            "kpu",
            "2024-06-27",
            PASAL_16,
            "tranche=2; amount=23116413980.00; paid_by_due=1300000000.00; voting_day=2024-11-27",
        ],
        [
            "final_report_overdue",
            "high",
            *NPHD,
            "kpu",
            "2025-05-07",
            FINAL_DUE,
            "winner_proposed_on=2025-02-07; final_report_submitted_on=",
        ],
        [
            "refund_overdue",
            "high",
            *NPHD,
            "kpu",
            "2025-05-07",
            FINAL_DUE,
            "held=23115413980.00; disbursed=23116413980.00; spent_reported=0.00; refunded=1000000.00",
        ],
    ],
}


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
