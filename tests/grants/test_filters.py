"""GET /agreements, filtered: each filter keeps exactly the grants of tests/helpers.py's atlas it names, and drops
the decoys that differ from them in that one respect (written out by hand from the atlas's table)."""

import httpx
import pytest

from tests.helpers import Atlas, Headers, KeyMaker, atlas, ids_of


@pytest.fixture
def grants(client: httpx.Client, admin: Headers, make_key: KeyMaker) -> Atlas:
    return atlas(client, admin, make_key)


def test_each_agreement_filter_keeps_its_grants_and_only_those(client: httpx.Client, grants: Atlas) -> None:
    a, e, r = grants.agreements, grants.elections, grants.recipients
    everything = grants.ids("kota", "bawaslu", "kab", "banten", "old")
    assert ids_of(client.get("/agreements")) == everything
    assert ids_of(client.get("/agreements", params={"region_code": "35.74"})) == grants.ids("kota", "bawaslu", "old")
    assert ids_of(client.get("/agreements", params={"region_code": "36.71"})) == [a["banten"]]
    assert ids_of(client.get("/agreements", params={"province": "35"})) == grants.ids("kota", "bawaslu", "kab", "old")
    assert ids_of(client.get("/agreements", params={"province": "36"})) == [a["banten"]]
    assert ids_of(client.get("/agreements", params={"election_id": e["mayor_2024"]})) == grants.ids("kota", "bawaslu")
    assert ids_of(client.get("/agreements", params={"recipient_id": r["kpu_3574"]})) == grants.ids("kota", "old")
    assert ids_of(client.get("/agreements", params={"recipient_kind": "bawaslu"})) == [a["bawaslu"]]
    assert ids_of(client.get("/agreements", params={"recipient_kind": "kpu"})) == grants.ids(
        "kota", "kab", "banten", "old"
    )
    assert ids_of(client.get("/agreements", params={"status": "closed"})) == [a["old"]]
    assert ids_of(client.get("/agreements", params={"status": "active"})) == grants.ids(
        "kota", "bawaslu", "kab", "banten"
    )
    assert ids_of(client.get("/agreements", params={"year": 2020})) == [a["old"]]
    assert ids_of(client.get("/agreements", params={"year": 2024})) == grants.ids("kota", "bawaslu", "kab", "banten")
    # Filters together narrow to what every one of them keeps.
    together = client.get("/agreements", params={"region_code": "35.74", "recipient_kind": "kpu", "year": 2024})
    assert ids_of(together) == [a["kota"]]


def test_agreements_come_in_pages_that_add_up_to_the_whole(client: httpx.Client, grants: Atlas) -> None:
    first = client.get("/agreements", params={"limit": 2})
    assert len(first.json()["data"]) == 2
    second = client.get("/agreements", params={"limit": 2, "cursor": first.json()["next_cursor"]})
    third = client.get("/agreements", params={"limit": 2, "cursor": second.json()["next_cursor"]})
    assert third.json()["next_cursor"] is None
    pages = [row["id"] for page in (first, second, third) for row in page.json()["data"]]
    assert pages == grants.ids("kota", "bawaslu", "kab", "banten", "old")
