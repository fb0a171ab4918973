"""Summaries: the position fields summed by region, province, election or recipient kind."""

import httpx

from tests.helpers import Grant, assert_problem


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
