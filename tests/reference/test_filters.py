"""The reference lists' filters (elections, recipients) against the atlas of tests/helpers.py, and the keys' list:
each keeps exactly what it names and drops the decoys (expected sets written out by hand)."""

from typing import Any

import httpx
import psycopg
import pytest

from tests.helpers import Atlas, Headers, KeyMaker, atlas, ids_of


@pytest.fixture
def grants(client: httpx.Client, admin: Headers, make_key: KeyMaker) -> Atlas:
    return atlas(client, admin, make_key)


def test_election_filters(client: httpx.Client, grants: Atlas) -> None:
    e = grants.elections

    def these(*names: str) -> list[int]:
        return sorted(e[name] for name in names)

    assert ids_of(client.get("/elections", params={"kind": "regent"})) == these("regent_2024")
    assert ids_of(client.get("/elections", params={"kind": "mayor"})) == these(
        "mayor_2024", "tangerang_2024", "mayor_2020"
    )
    assert ids_of(client.get("/elections", params={"region_code": "35.74"})) == these("mayor_2024", "mayor_2020")
    assert ids_of(client.get("/elections", params={"year": 2020})) == these("mayor_2020")
    assert ids_of(client.get("/elections", params={"kind": "mayor", "year": 2024})) == these(
        "mayor_2024", "tangerang_2024"
    )


def test_elections_come_in_pages(client: httpx.Client, grants: Atlas) -> None:
    first = client.get("/elections", params={"limit": 3})
    rest = client.get("/elections", params={"limit": 3, "cursor": first.json()["next_cursor"]})
    assert len(first.json()["data"]) == 3 and rest.json()["next_cursor"] is None
    assert [row["id"] for page in (first, rest) for row in page.json()["data"]] == sorted(grants.elections.values())


def test_recipient_filters(client: httpx.Client, grants: Atlas) -> None:
    r = grants.recipients

    def these(*names: str) -> list[int]:
        return sorted(r[name] for name in names)

    assert ids_of(client.get("/recipients", params={"q": "probolinggo"})) == these(
        "kpu_3574", "bawaslu_3574", "kpu_3513"
    )
    assert ids_of(client.get("/recipients", params={"q": "KABUPATEN"})) == these("kpu_3513")
    assert ids_of(client.get("/recipients", params={"kind": "bawaslu"})) == these("bawaslu_3574")
    assert ids_of(client.get("/recipients", params={"region_code": "36.71"})) == these("kpu_3671")
    assert ids_of(client.get("/recipients", params={"kind": "kpu", "q": "kota"})) == these("kpu_3574", "kpu_3671")
    first = client.get("/recipients", params={"limit": 3})
    rest = client.get("/recipients", params={"limit": 3, "cursor": first.json()["next_cursor"]})
    assert [row["id"] for page in (first, rest) for row in page.json()["data"]] == these(
        "kpu_3574", "bawaslu_3574", "kpu_3513", "kpu_3671"
    )
    assert rest.json()["next_cursor"] is None


def test_key_filters(client: httpx.Client, db: psycopg.Connection[Any], admin: Headers, make_key: KeyMaker) -> None:
    make_key("finance", name="BPKAD A")
    make_key("finance", name="BPKAD B (revoked)")
    make_key("auditor", name="BPK")
    db.execute("UPDATE api_key SET revoked_at = now() WHERE name = 'BPKAD B (revoked)'")

    def names(response: httpx.Response) -> list[str]:
        assert response.status_code == 200, response.text
        return sorted(row["name"] for row in response.json()["data"])

    assert names(client.get("/keys", params={"role": "finance"}, headers=admin)) == ["BPKAD A", "BPKAD B (revoked)"]
    assert names(client.get("/keys", params={"role": "finance", "include_revoked": "false"}, headers=admin)) == [
        "BPKAD A"
    ]
    assert names(client.get("/keys", params={"include_revoked": "false"}, headers=admin)) == [
        "BPK",
        "BPKAD A",
        "test key",
    ]
    assert names(client.get("/keys", params={"role": "auditor"}, headers=admin)) == ["BPK"]
    first = client.get("/keys", params={"limit": 2}, headers=admin)
    rest = client.get("/keys", params={"limit": 2, "cursor": first.json()["next_cursor"]}, headers=admin)
    assert len(first.json()["data"]) == 2 and rest.json()["next_cursor"] is None
    assert sorted(row["name"] for page in (first, rest) for row in page.json()["data"]) == [
        "BPK",
        "BPKAD A",
        "BPKAD B (revoked)",
        "test key",
    ]
