"""Regions, elections and recipients through the API, as an admin and the public use them."""

from typing import Any

import httpx
import psycopg

from tests.helpers import assert_problem, count


def test_region_levels_follow_kemendagri_codes(client: httpx.Client, admin: dict[str, str], region_35: None) -> None:
    regency = client.post("/regions", json={"code": "35.13", "name": "Kabupaten Probolinggo"}, headers=admin)
    assert regency.status_code == 201
    assert regency.json()["level"] == "regency"
    assert regency.headers["location"] == "/api/v1/regions/35.13"
    assert client.get("/regions/35.74").json()["level"] == "city"
    assert client.get("/regions/35").json()["level"] == "province"


def test_region_filters(client: httpx.Client, admin: dict[str, str], region_35: None) -> None:
    client.post("/regions", json={"code": "36", "name": "Banten"}, headers=admin)
    client.post("/regions", json={"code": "35.13", "name": "Kabupaten Probolinggo"}, headers=admin)
    by_level = client.get("/regions", params={"level": "province"}).json()["data"]
    assert [row["code"] for row in by_level] == ["35", "36"]
    children = client.get("/regions", params={"parent_code": "35"}).json()["data"]
    assert [row["code"] for row in children] == ["35.13", "35.74"]
    named = client.get("/regions", params={"q": "probolinggo"}).json()["data"]
    assert [row["code"] for row in named] == ["35.13", "35.74"]
    assert client.get("/regions", params={"q": "100%_"}).json()["data"] == []


def test_update_region_honours_if_match(client: httpx.Client, admin: dict[str, str], region_35: None) -> None:
    etag = client.get("/regions/35.74").headers["etag"]
    renamed = client.patch(
        "/regions/35.74", json={"name": "Kota Probolinggo (baru)"}, headers={**admin, "If-Match": etag}
    )
    assert renamed.status_code == 200
    assert renamed.headers["etag"] != etag
    stale = client.patch("/regions/35.74", json={"name": "Lagi"}, headers={**admin, "If-Match": etag})
    assert_problem(stale, 412, "etag_mismatch")
    assert client.get("/regions/35.74").json()["name"] == "Kota Probolinggo (baru)"


def test_region_import_creates_and_updates(
    client: httpx.Client, admin: dict[str, str], db: psycopg.Connection[Any]
) -> None:
    csv_headers = {**admin, "Content-Type": "text/csv"}
    first = "code,name\n35.74,Kota Probolinggo\n35,Jawa Timur\n35.13,Kabupaten Probolinggo\n"
    assert client.post("/regions/import", content=first, headers=csv_headers).json() == {"created": 3, "updated": 0}
    second = "code,name,level\n35,JAWA TIMUR,province\n35.13,Kabupaten Probolinggo,regency\n36,Banten,\n"
    assert client.post("/regions/import", content=second, headers=csv_headers).json() == {"created": 1, "updated": 1}
    assert client.get("/regions/35").json()["name"] == "JAWA TIMUR"
    event = db.execute(
        "SELECT payload FROM audit_event WHERE action = 'region.import' ORDER BY seq DESC LIMIT 1"
    ).fetchone()
    assert event is not None
    assert event[0]["rows"] == 3
    assert len(event[0]["sha256"]) == 64


def test_region_import_is_all_or_nothing(
    client: httpx.Client, admin: dict[str, str], db: psycopg.Connection[Any]
) -> None:
    bad = "code,name\n35,Jawa Timur\n35.70,Nowhere\n36.01,Orphan\n35,Again\n"
    response = client.post("/regions/import", content=bad, headers={**admin, "Content-Type": "text/csv"})
    body = assert_problem(response, 422, "import_rejected")
    fields = [error["field"] for error in body["errors"]]
    assert fields == ["rows[2].code", "rows[3].code", "rows[4].code"]
    assert count(db, "region") == 0


def test_election_kind_must_fit_region_level(client: httpx.Client, admin: dict[str, str], region_35: None) -> None:
    mayor = {"name": "Pilwali Probolinggo 2024", "kind": "mayor", "region_code": "35.74", "voting_day": "2024-11-27"}
    created = client.post("/elections", json=mayor, headers=admin)
    assert created.status_code == 201
    governor_in_city = {**mayor, "kind": "governor", "voting_day": "2029-11-28"}
    assert_problem(client.post("/elections", json=governor_in_city, headers=admin), 422, "election_kind_mismatch")
    assert_problem(client.post("/elections", json=mayor, headers=admin), 409, "election_exists")
    governor = {**mayor, "kind": "governor", "region_code": "35", "name": "Pilgub Jatim 2024"}
    assert client.post("/elections", json=governor, headers=admin).status_code == 201
    listed = client.get("/elections", params={"region_code": "35.74", "year": 2024}).json()["data"]
    assert [row["id"] for row in listed] == [created.json()["id"]]


def test_election_winner_date_can_be_set_later(client: httpx.Client, admin: dict[str, str], region_35: None) -> None:
    body = {"name": "Pilwali", "kind": "mayor", "region_code": "35.74", "voting_day": "2024-11-27"}
    created = client.post("/elections", json=body, headers=admin)
    election_id, etag = created.json()["id"], created.headers["etag"]
    too_early = client.patch(f"/elections/{election_id}", json={"winner_proposed_on": "2024-11-01"}, headers=admin)
    assert_problem(too_early, 422, "validation_error")
    updated = client.patch(
        f"/elections/{election_id}", json={"winner_proposed_on": "2025-02-10"}, headers={**admin, "If-Match": etag}
    )
    assert updated.status_code == 200
    assert updated.json()["winner_proposed_on"] == "2025-02-10"
    assert updated.json()["version"] == 2


def test_recipients(client: httpx.Client, admin: dict[str, str], region_35: None) -> None:
    kpu = {"name": "KPU Kota Probolinggo", "kind": "kpu", "region_code": "35.74", "bank_name": "Bank Jatim"}
    created = client.post("/recipients", json=kpu, headers=admin)
    assert created.status_code == 201
    assert_problem(client.post("/recipients", json=kpu, headers=admin), 409, "recipient_exists")
    recipient_id = created.json()["id"]
    updated = client.patch(f"/recipients/{recipient_id}", json={"account_number": "0011223344"}, headers=admin)
    assert updated.json()["account_number"] == "0011223344"
    assert client.get("/recipients", params={"kind": "kpu"}).json()["data"][0]["id"] == recipient_id
    assert client.get("/recipients", params={"kind": "tni"}).json()["data"] == []


def test_code_lists_are_published(client: httpx.Client) -> None:
    stages = client.get("/codes/stages").json()["data"]
    categories = client.get("/codes/categories").json()["data"]
    assert stages[0]["code"] == "perencanaan"
    assert "pemungutan_suara" in {row["code"] for row in stages}
    assert "honorarium_adhoc" in {row["code"] for row in categories}
    assert all(row["label_id"] and row["label_en"] for row in stages + categories)
