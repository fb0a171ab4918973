"""``loan_not_returned``: an asset loan still out when the recipient's final report falls due (PP 27/2014)."""

from typing import Any

import httpx
import pytest

from tests.helpers import Grant
from tests.support.conftest import loan, record

# The elected pair proposed on 2025-01-09: the final report, the refund and every loan are due 2025-04-09.
PROPOSED = "2025-01-09"
DUE = "2025-04-09"


@pytest.fixture
def loans(client: httpx.Client, grant: Grant) -> dict[str, int]:
    proposed = client.patch(
        f"/elections/{grant.election_id}", json={"winner_proposed_on": PROPOSED}, headers=grant.admin
    )
    assert proposed.status_code == 200, proposed.text
    made = {}
    for name, changes in {
        "kept": {},
        "back_in_time": {"bast_number": "B-2", "description": "Tenda logistik"},
        "back_late": {"bast_number": "B-3", "description": "Genset 5 kVA", "value": "40000000"},
        "void": {"bast_number": "B-4", "description": "Salah catat"},
        "not_a_loan": {"bast_number": "B-5", "kind": "facility", "description": "Gudang logistik"},
    }.items():
        response = record(client, grant, loan(**changes))
        assert response.status_code == 201, response.text
        made[name] = response.json()["id"]
    for name, day in (("back_in_time", DUE), ("back_late", "2025-05-02")):
        back = {"returned_on": day, "return_bast_number": f"BAST-KEMBALI-{name}"}
        assert client.post(f"/support/{made[name]}/return", json=back, headers=grant.finance).status_code == 200
    assert client.post(f"/support/{made['void']}/void", json={"reason": "salah"}, headers=grant.finance).is_success
    return made


def loan_findings(client: httpx.Client, as_of: str) -> list[dict[str, Any]]:
    response = client.get(f"/compliance/findings?as_of={as_of}&rule=loan_not_returned")
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["data"]
    return found


def test_a_loan_out_past_the_final_report_is_a_finding(
    client: httpx.Client, grant: Grant, loans: dict[str, int]
) -> None:
    found = loan_findings(client, "2025-06-01")
    assert [(f["facts"]["support_id"], f["facts"]["returned_on"]) for f in found] == [
        (loans["kept"], None),
        (loans["back_late"], "2025-05-02"),
    ]
    first = found[0]
    assert first["rule"] == "loan_not_returned"
    assert first["severity"] == "medium"
    assert first["agreement_id"] == grant.agreement_id
    assert first["due_on"] == DUE
    assert "PP 27/2014" in first["regulation"]
    assert first["facts"] == {
        "support_id": loans["kept"],
        "bast_number": "BAST-PP-001/2024",
        "description": "Kendaraan dinas roda empat Toyota Innova N 1234 XY",
        "value": "350000000.00",
        "handed_over_on": "2024-06-03",
        "returned_on": None,
    }


def test_no_finding_until_the_due_date_has_passed(client: httpx.Client, loans: dict[str, int]) -> None:
    assert loan_findings(client, DUE) == []
    # As it stood on 2025-04-10, the late loan was still out: its return came after.
    assert [f["facts"]["support_id"] for f in loan_findings(client, "2025-04-10")] == [
        loans["kept"],
        loans["back_late"],
    ]


def test_no_due_date_no_finding(client: httpx.Client, grant: Grant) -> None:
    assert record(client, grant, loan()).status_code == 201
    assert loan_findings(client, "2030-01-01") == []


def test_the_finding_is_exported_and_shown_on_the_portal(
    client: httpx.Client, grant: Grant, loans: dict[str, int], server_address: str
) -> None:
    csv_text = client.get("/exports/findings.csv?as_of=2025-06-01&rule=loan_not_returned").text
    assert "loan_not_returned" in csv_text and "BAST-PP-001/2024" in csv_text
    page = httpx.get(f"{server_address}/temuan?lang=en")
    assert page.status_code == 200, page.text
    assert "Lent asset not returned" in page.text
