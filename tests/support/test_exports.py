"""/exports/support.{csv,xlsx}: the records as the list shows them, the same rows in both files."""

import csv
import io
from typing import Any

import httpx

from tests.helpers import Grant, read_workbook
from tests.oversight.test_exports import xlsx_as_text
from tests.support.conftest import loan, record

HEADER = [
    "id",
    "election_id",
    "recipient_id",
    "region_code",
    "province_code",
    "recipient_kind",
    "kind",
    "description",
    "quantity",
    "unit",
    "value",
    "handed_over_on",
    "bast_number",
    "returned_on",
    "return_bast_number",
    "voided_at",
    "void_reason",
    "note",
]


def rows_of(client: httpx.Client, query: str = "") -> list[dict[str, str]]:
    response = client.get(f"/exports/support.csv{query}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    text = response.text.lstrip("\ufeff")
    assert next(csv.reader(io.StringIO(text))) == HEADER
    return list(csv.DictReader(io.StringIO(text)))


def test_support_csv_and_xlsx(client: httpx.Client, grant: Grant, lent: dict[str, Any]) -> None:
    back = {"returned_on": "2025-02-28", "return_bast_number": "BAST-KEMBALI-1"}
    assert client.post(f"/support/{lent['id']}/return", json=back, headers=grant.finance).status_code == 200
    staff = record(
        client,
        grant,
        loan(
            kind="personnel",
            description="=ASN diperbantukan",
            unit="orang-bulan",
            quantity="2.5",
            value=45000000,
            bast_number="BAST-P-1",
        ),
    )
    assert staff.status_code == 201
    rows = rows_of(client)
    assert [
        (row["kind"], row["quantity"], row["unit"], row["value"], row["returned_on"], row["description"])
        for row in rows
    ] == [
        ("asset_loan", "1", "unit", "350000000.00", "2025-02-28", "Kendaraan dinas roda empat Toyota Innova N 1234 XY"),
        ("personnel", "2.5", "orang-bulan", "45000000.00", "", "'=ASN diperbantukan"),
    ]
    assert [row["bast_number"] for row in rows_of(client, "?kind=personnel")] == ["BAST-P-1"]
    assert rows_of(client, "?outstanding=true") == []
    assert rows_of(client, "?recipient_kind=bawaslu") == []
    workbook = client.get("/exports/support.xlsx")
    assert workbook.status_code == 200
    text = client.get("/exports/support.csv").text.lstrip("\ufeff")
    assert xlsx_as_text(workbook.content) == list(csv.reader(io.StringIO(text)))
    # The quantity is a measure, not money: text in the sheet, never a rupiah-formatted number.
    [sheet] = read_workbook(workbook.content).values()
    assert [row[8] for row in sheet[1:]] == ["1", "2.5"]


def test_a_void_record_is_exported_with_its_reason(client: httpx.Client, grant: Grant, lent: dict[str, Any]) -> None:
    assert client.post(f"/support/{lent['id']}/void", json={"reason": "dobel"}, headers=grant.finance).is_success
    [row] = rows_of(client)
    assert row["void_reason"] == "dobel"
    assert row["voided_at"] != ""
