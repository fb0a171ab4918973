"""Regions imported from a Kemendagri CSV: all or nothing, every bad row named, nothing written on refusal."""

from typing import Any

import httpx
import psycopg
import pytest

from tests.helpers import World, assert_problem, count, nothing_written

IMPORT_LIMIT = 5 * 1024 * 1024


def import_csv(client: httpx.Client, world: World, content: bytes, content_type: str = "text/csv") -> httpx.Response:
    return client.post("/regions/import", content=content, headers={**world.admin, "Content-Type": content_type})


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


CSV_CASES = [
    pytest.param(b"kode,nama\n36,Banten\n", "invalid_csv_header", "header", id="header-in-indonesian"),
    pytest.param(b"code\n36\n", "invalid_csv_header", "header", id="header-without-name"),
    pytest.param(b"name,level\nBanten,province\n", "invalid_csv_header", "header", id="header-without-code"),
    pytest.param(b"36,Banten\n36.01,Kabupaten Pandeglang\n", "invalid_csv_header", "header", id="no-header"),
    pytest.param(
        b"code,name\n36,Banten\n3,Salah\n36.01,Kabupaten Pandeglang\n", "import_rejected", "rows[2].code", id="code-3"
    ),
    pytest.param(
        b"code,name\n36,Banten\n36.01,Kabupaten Pandeglang\nab,Salah\n", "import_rejected", "rows[3].code", id="code-ab"
    ),
    pytest.param(b"code,name\n36,Banten\n,Tanpa Kode\n", "import_rejected", "rows[2].code", id="code-empty"),
    pytest.param(b"code,name\n36,Banten\n36.01,\n", "import_rejected", "rows[2].name", id="name-empty"),
    pytest.param(
        b"code,name\n36,Banten\n36.01," + b"x" * 201 + b"\n", "import_rejected", "rows[2].name", id="name-201-chars"
    ),
    pytest.param(b"code,name\n36,Banten\n36.01,a\x00b\n", "import_rejected", "rows[2].name", id="name-with-NUL"),
    pytest.param(b"code,name,level\n36,Banten,village\n", "import_rejected", "rows[1].level", id="level-unknown"),
    pytest.param(
        b"code,name\n36,Banten\n36.01,Pandeglang\n36,Banten Lagi\n", "import_rejected", "rows[3].code", id="repeated"
    ),
    pytest.param(b"code,name\n36,Banten\n37.01,Kabupaten X\n", "import_rejected", "rows[2].code", id="no-province"),
    pytest.param(b"code,name\n36,Banten\n35.70,Salah\n", "import_rejected", "rows[2].code", id="code-35.70"),
    pytest.param(b"code,name\n36,Banten\n00,Salah\n", "import_rejected", "rows[2].code", id="code-00"),
    pytest.param(b"code,name\n36,Banten\n10,Salah\n", "import_rejected", "rows[2].code", id="code-10"),
    pytest.param(b"code,name,level\n36,Banten,city\n", "import_rejected", "rows[1].level", id="level-not-the-codes"),
    pytest.param(b"code,name\n36,Banten\n37,Bal\xe9\n", "invalid_csv", "file", id="latin-1"),
    pytest.param("code,name\n36,Banten\n".encode("utf-16"), "invalid_csv", "file", id="utf-16"),
    pytest.param(b"\xff\xfe\xfd", "invalid_csv", "file", id="binary"),
    pytest.param(b"code,name\n", "import_empty", None, id="header-only"),
    pytest.param(b"", None, None, id="empty-file"),
    pytest.param(b"\n\n\n", None, None, id="blank-lines"),
]


@pytest.mark.parametrize(("content", "code", "field"), CSV_CASES)
def test_region_import_refuses_the_whole_file(
    client: httpx.Client, db: psycopg.Connection[Any], world: World, content: bytes, code: str | None, field: str | None
) -> None:
    with nothing_written(db):
        assert_problem(import_csv(client, world, content), 422, code, field)


def test_region_import_lists_at_most_100_row_errors(
    client: httpx.Client, db: psycopg.Connection[Any], world: World
) -> None:
    content = b"code,name\n" + b"".join(b"3,Salah %d\n" % number for number in range(150))
    with nothing_written(db):
        body = assert_problem(import_csv(client, world, content), 422, "import_rejected", "rows[1].code")
    assert len(body["errors"]) == 100


def test_region_import_over_5_mb_is_413(client: httpx.Client, db: psycopg.Connection[Any], world: World) -> None:
    row = b"36,Banten\n"
    content = b"code,name\n" + row * (IMPORT_LIMIT // len(row) + 1)
    assert len(content) > IMPORT_LIMIT
    with nothing_written(db):
        assert_problem(import_csv(client, world, content), 413, "payload_too_large")


def test_region_import_with_a_huge_field_is_a_422(
    client: httpx.Client, db: psycopg.Connection[Any], world: World
) -> None:
    content = b"code,name\n36," + b"x" * 200_000 + b"\n"
    with nothing_written(db):
        assert_problem(import_csv(client, world, content), 422)


@pytest.mark.parametrize("content_type", ["application/json", "application/x-www-form-urlencoded"])
def test_region_import_refuses_other_content_types(
    client: httpx.Client, db: psycopg.Connection[Any], world: World, content_type: str
) -> None:
    with nothing_written(db):
        assert_problem(import_csv(client, world, b"code,name\n36,Banten\n", content_type), 415)
