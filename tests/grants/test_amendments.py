"""Amendments (adendum), with Bawaslu Kota Probolinggo's real figures: never below what is disbursed."""

import httpx

from tests.helpers import Grant, KeyMaker, assert_problem, pay, position


def test_bawaslu_amendment(
    client: httpx.Client, admin: dict[str, str], make_key: KeyMaker, election_and_kpu: tuple[int, int]
) -> None:
    election_id, _ = election_and_kpu
    finance = make_key("finance", region_code="35.74")
    bawaslu = client.post(
        "/recipients",
        json={"name": "Bawaslu Kota Probolinggo", "kind": "bawaslu", "region_code": "35.74"},
        headers=admin,
    ).json()
    created = client.post(
        "/agreements",
        json={
            "number": "NPHD-BAWASLU-3574",
            "election_id": election_id,
            "recipient_id": bawaslu["id"],
            "signed_on": "2024-02-05",
            "scheme": "staged",
            "amount": "4715559500",
        },
        headers=finance,
    )
    agreement_id, etag = created.json()["id"], created.headers["etag"]
    grant = Grant(agreement_id, election_id, bawaslu["id"], finance, admin)
    assert pay(client, grant, "1886223800", "SP2D-B1", "2024-02-16").status_code == 201
    amendment = {
        "number": "ADD-01/NPHD-BAWASLU-3574",
        "signed_on": "2024-06-01",
        "new_amount": "5407053000",
        "reason": "other",
        "note": "Tambahan untuk pengawasan tahapan kampanye",
    }
    url = f"/agreements/{agreement_id}/amendments"
    amended = client.post(url, json=amendment, headers={**finance, "If-Match": etag})
    assert amended.status_code == 201, amended.text
    assert amended.json()["previous_amount"] == "4715559500.00"
    stale = client.post(url, json={**amendment, "number": "ADD-02"}, headers={**finance, "If-Match": etag})
    assert_problem(stale, 412, "etag_mismatch")
    below = {**amendment, "number": "ADD-03", "new_amount": "1000000000"}
    assert_problem(client.post(url, json=below, headers=finance), 409, "amount_below_disbursed")
    agreement = client.get(f"/agreements/{agreement_id}").json()
    assert (agreement["original_amount"], agreement["amount"], agreement["version"]) == (
        "4715559500.00",
        "5407053000.00",
        2,
    )
    history = client.get(url).json()["data"]
    assert [row["number"] for row in history] == ["ADD-01/NPHD-BAWASLU-3574"]
    assert pay(client, grant, "3520829200", "SP2D-B2", "2024-06-20", tranche=2).status_code == 201
    assert position(client, grant)["undisbursed"] == "0.00"
