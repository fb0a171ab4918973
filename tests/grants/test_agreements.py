"""Grant agreements (NPHD): their rules, their budget lines (RAB), and how the public reads them."""

import httpx

from tests.helpers import Grant, assert_problem


def test_agreement_is_public_with_etag(client: httpx.Client, grant: Grant) -> None:
    response = client.get(f"/agreements/{grant.agreement_id}")
    assert response.status_code == 200
    body = response.json()
    assert body["amount"] == body["original_amount"] == "23116413980.00"
    assert body["currency"] == "IDR"
    assert body["region_code"] == "35.74"
    assert body["province_code"] == "35"
    assert body["recipient_kind"] == "kpu"
    assert response.headers["etag"] == f'"agreement-{grant.agreement_id}-v1"'


def test_budget_lines_must_add_up(client: httpx.Client, grant: Grant, election_and_kpu: tuple[int, int]) -> None:
    election_id, recipient_id = election_and_kpu
    base = {
        "number": "NPHD-2",
        "election_id": election_id,
        "recipient_id": recipient_id,
        "signed_on": "2024-01-01",
        "scheme": "lump_sum",
        "amount": "1000",
    }
    lines = [
        {"stage": "pemungutan_suara", "category": "honorarium_adhoc", "amount": "600"},
        {"stage": "logistik", "category": "logistik", "amount": "300"},
    ]
    assert_problem(
        client.post("/agreements", json={**base, "budget_lines": lines}, headers=grant.finance),
        422,
        "budget_lines_mismatch",
    )
    unknown = [*lines, {"stage": "pesta", "category": "logistik", "amount": "100"}]
    assert_problem(
        client.post("/agreements", json={**base, "budget_lines": unknown}, headers=grant.finance), 422, "unknown_code"
    )
    # The KPU already has an open agreement for this election.
    fine = [*lines, {"stage": "sosialisasi", "category": "sosialisasi", "amount": "100"}]
    assert_problem(
        client.post("/agreements", json={**base, "budget_lines": fine}, headers=grant.finance), 409, "agreement_exists"
    )


def test_agreement_rules(
    client: httpx.Client, grant: Grant, admin: dict[str, str], election_and_kpu: tuple[int, int]
) -> None:
    election_id, _ = election_and_kpu
    other = client.post(
        "/recipients", json={"name": "Polres Probolinggo Kota", "kind": "polri", "region_code": "35.74"}, headers=admin
    ).json()
    base = {
        "number": "NPHD-KPU-3574-2023",
        "election_id": election_id,
        "recipient_id": other["id"],
        "signed_on": "2024-01-15",
        "scheme": "staged",
        "amount": "2450000000",
    }
    assert_problem(client.post("/agreements", json=base, headers=grant.finance), 409, "agreement_number_exists")
    late = {**base, "number": "NPHD-POLRES", "signed_on": "2024-12-01"}
    assert_problem(client.post("/agreements", json=late, headers=grant.finance), 422, "signed_after_voting_day")
    client.post("/regions", json={"code": "35.13", "name": "Kabupaten Probolinggo"}, headers=admin)
    elsewhere = client.post(
        "/recipients", json={"name": "KPU Kab. Probolinggo", "kind": "kpu", "region_code": "35.13"}, headers=admin
    ).json()
    wrong_region = {**base, "number": "NPHD-X", "recipient_id": elsewhere["id"]}
    assert_problem(client.post("/agreements", json=wrong_region, headers=grant.finance), 422, "region_mismatch")
    good = {**base, "number": "NPHD-POLRES"}
    assert client.post("/agreements", json=good, headers=grant.finance).status_code == 201
    listed = client.get("/agreements", params={"recipient_kind": "polri", "province": "35"}).json()["data"]
    assert [row["number"] for row in listed] == ["NPHD-POLRES"]
