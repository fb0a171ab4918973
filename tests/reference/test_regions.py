"""Regions: levels from the Kemendagri codes, filters, ETags, and every bad body or path refused with no write."""

from typing import Any

import httpx
import psycopg
import pytest

from tests.helpers import (
    LONG_NAME,
    NUL_NAME,
    REGION,
    Body,
    Refuses,
    World,
    assert_problem,
    changed,
    nothing_written,
    without,
)


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


def test_region_search_takes_percent_and_underscore_literally(
    client: httpx.Client, admin: dict[str, str], region_35: None
) -> None:
    """Each name matches ``q`` only if ``%``/``_`` are escaped; each decoy matches only if they are not."""
    names = {
        "36": "Wilayah 100%_Uji",  # the one holding "100%_" itself
        "37": "Wilayah 100 persen",  # "100%" unescaped: % matches " persen"
        "38": "Wilayah 100xyUji",  # "100%_" unescaped: % matches "x", _ matches "y"
        "51": "Dapil_A",  # holds "l_A" literally
        "52": "DapilXA",  # "l_A" unescaped: _ matches "X"
        "53": "Kas\\Daerah",  # a backslash, taken literally too
    }
    for code, name in names.items():
        assert client.post("/regions", json={"code": code, "name": name}, headers=admin).status_code == 201

    def found(q: str) -> list[str]:
        return [row["code"] for row in client.get("/regions", params={"q": q}).json()["data"]]

    assert found("100%_") == ["36"]
    assert found("100%") == ["36"]
    assert found("l_A") == ["51"]
    assert found("s\\D") == ["53"]
    assert found("%") == ["36"]
    assert found("_") == ["36", "51"]


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


REGION_CASES = [
    pytest.param(changed(REGION, code=36), 422, "validation_error", "code", id="code-is-a-number"),
    pytest.param(changed(REGION, code=["36"]), 422, "validation_error", "code", id="code-is-a-list"),
    pytest.param(changed(REGION, name=36), 422, "validation_error", "name", id="name-is-a-number"),
    pytest.param(changed(REGION, name={"id": "Banten"}), 422, "validation_error", "name", id="name-is-an-object"),
    pytest.param(changed(REGION, level=2), 422, "validation_error", "level", id="level-is-a-number"),
    pytest.param(without(REGION, "code"), 422, "validation_error", "code", id="code-missing"),
    pytest.param(without(REGION, "name"), 422, "validation_error", "name", id="name-missing"),
    pytest.param({}, 422, "validation_error", "code", id="empty-object"),
    pytest.param(changed(REGION, code=None), 422, "validation_error", "code", id="code-null"),
    pytest.param(changed(REGION, parent_code="35"), 422, "validation_error", "parent_code", id="extra-parent_code"),
    pytest.param(changed(REGION, id=1), 422, "validation_error", "id", id="extra-id"),
    pytest.param(changed(REGION, name=""), 422, "validation_error", "name", id="name-empty"),
    pytest.param(changed(REGION, name="   "), 422, "validation_error", "name", id="name-blank"),
    pytest.param(changed(REGION, name="\t\n "), 422, "validation_error", "name", id="name-whitespace"),
    pytest.param(changed(REGION, name=LONG_NAME), 422, "validation_error", "name", id="name-201-chars"),
    pytest.param(changed(REGION, name=NUL_NAME), 422, "validation_error", "name", id="name-with-NUL"),
    pytest.param(changed(REGION, code="3"), 422, "validation_error", "code", id="code-3"),
    pytest.param(changed(REGION, code="35.100"), 422, "validation_error", "code", id="code-35.100"),
    pytest.param(changed(REGION, code="ab"), 422, "validation_error", "code", id="code-ab"),
    pytest.param(changed(REGION, code="35.1"), 422, "validation_error", "code", id="code-35.1"),
    pytest.param(changed(REGION, code="3574"), 422, "validation_error", "code", id="code-3574"),
    pytest.param(changed(REGION, code=""), 422, "validation_error", "code", id="code-empty"),
    pytest.param(changed(REGION, code="3\u00006"), 422, "validation_error", "code", id="code-with-NUL"),
    pytest.param(changed(REGION, code="٣٦"), 422, "validation_error", "code", id="code-arabic-digits"),
    # Well-formed, but outside the published ranges (provinces 11-99, regencies 01-69, cities 71-99).
    pytest.param(changed(REGION, code="35.00"), 422, "validation_error", "code", id="code-35.00"),
    pytest.param(changed(REGION, code="35.70"), 422, "validation_error", "code", id="code-35.70"),
    pytest.param(changed(REGION, code="00"), 422, "validation_error", "code", id="code-00"),
    pytest.param(changed(REGION, code="10"), 422, "validation_error", "code", id="code-10"),
    pytest.param(changed(REGION, code="00.01"), 422, "validation_error", "code", id="code-00.01"),
    pytest.param(changed(REGION, level="village"), 422, "validation_error", "level", id="level-unknown"),
    pytest.param(changed(REGION, level="regency"), 422, "inconsistent_input", "level", id="level-not-the-codes"),
    pytest.param(
        {"code": "35.01", "name": "X", "level": "city"}, 422, "inconsistent_input", "level", id="regency-as-city"
    ),
    pytest.param(
        {"code": "35.71", "name": "X", "level": "regency"}, 422, "inconsistent_input", "level", id="city-as-regency"
    ),
    pytest.param(
        {"code": "36.01", "name": "Kabupaten Pandeglang"}, 422, "parent_region_missing", "code", id="no-province"
    ),
    pytest.param({"code": "35", "name": "Jawa Timur"}, 409, "region_exists", None, id="duplicate-province"),
    pytest.param({"code": "35.74", "name": "Kota P"}, 409, "region_exists", None, id="duplicate-city"),
    pytest.param({"code": " 35.74 ", "name": "Kota P"}, 409, "region_exists", None, id="duplicate-after-trim"),
]


@pytest.mark.parametrize(("body", "status", "code", "field"), REGION_CASES)
def test_region_create_refuses(refuses: Refuses, body: Body, status: int, code: str, field: str | None) -> None:
    refuses("POST", "/regions", body, status, code, field)


REGION_UPDATE_CASES = [
    pytest.param({}, "name", id="empty-object"),
    pytest.param({"name": None}, "name", id="name-null"),
    pytest.param({"name": ""}, "name", id="name-empty"),
    pytest.param({"name": "   "}, "name", id="name-blank"),
    pytest.param({"name": LONG_NAME}, "name", id="name-201-chars"),
    pytest.param({"name": NUL_NAME}, "name", id="name-with-NUL"),
    pytest.param({"name": 5}, "name", id="name-is-a-number"),
    pytest.param({"name": "Kota", "level": "regency"}, "level", id="extra-level"),
    pytest.param({"name": "Kota", "code": "35.75"}, "code", id="extra-code"),
    pytest.param({"name": "Kota", "parent_code": "36"}, "parent_code", id="extra-parent_code"),
]


@pytest.mark.parametrize(("body", "field"), REGION_UPDATE_CASES)
def test_region_update_refuses(refuses: Refuses, body: Body, field: str) -> None:
    refuses("PATCH", "/regions/35.74", body, 422, "validation_error", field)


@pytest.mark.parametrize(
    ("code", "status"),
    [("3", 422), ("35.100", 422), ("ab", 404), ("35.7", 422), ("99", 404), ("35.99", 404), ("36", 404)],
)
def test_region_paths(client: httpx.Client, db: psycopg.Connection[Any], world: World, code: str, status: int) -> None:
    with nothing_written(db):
        # "ab" is not of a region code's form at all: no route serves it (not_found), where "99" names none.
        missing = "not_found" if code == "ab" else "region_not_found"
        assert_problem(client.get(f"/regions/{code}"), status, missing if status == 404 else None)
        response = client.patch(f"/regions/{code}", json={"name": "Nama"}, headers=world.admin)
        assert_problem(response, status, missing if status == 404 else "validation_error")


def test_region_update_with_a_stale_etag_is_refused(
    client: httpx.Client, db: psycopg.Connection[Any], world: World
) -> None:
    with nothing_written(db):
        response = client.patch(
            "/regions/35.74", json={"name": "Kota"}, headers={**world.admin, "If-Match": '"region-35.74-v9"'}
        )
        assert_problem(response, 412, "etag_mismatch")
