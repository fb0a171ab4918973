"""The API conventions of DESIGN §3 that every endpoint shares."""

from collections.abc import Iterator

import httpx
import pytest

from app.core.i18n import pick_language
from app.core.pagination import decode_cursor, encode_cursor
from tests.helpers import assert_problem


def test_unknown_path_is_a_problem(client: httpx.Client) -> None:
    body = assert_problem(client.get("/nowhere"), 404, "not_found")
    assert body["instance"] == "/api/v1/nowhere"


def test_wrong_method_is_a_problem(client: httpx.Client) -> None:
    assert_problem(client.delete("/regions"), 405, "method_not_allowed")


def test_indonesian_titles_and_details(client: httpx.Client) -> None:
    body = assert_problem(
        client.get("/regions/35.74", headers={"Accept-Language": "id-ID,id;q=0.9,en;q=0.5"}), 404, "region_not_found"
    )
    assert body["title"] == "Tidak ditemukan"
    assert body["detail"] == "Tidak ada wilayah dengan kode 35.74."
    english = assert_problem(client.get("/regions/35.74"), 404, "region_not_found")
    assert english["title"] == "Not found"


def test_validation_problem_lists_fields(client: httpx.Client, admin: dict[str, str]) -> None:
    response = client.post("/regions", json={"code": "35.70", "name": ""}, headers={**admin, "Accept-Language": "id"})
    body = assert_problem(response, 422, "validation_error")
    assert body["title"] == "Validasi gagal"
    fields = {error["field"] for error in body["errors"]}
    assert {"name"} <= fields


def test_unexpected_error_is_a_500_problem_without_internals(server_address: str) -> None:
    response = httpx.get(f"{server_address}/__test__/boom", headers={"X-Request-ID": "trace-me-42"})
    body = assert_problem(response, 500, "internal_error")
    assert "hunter2" not in response.text
    assert "Traceback" not in response.text
    assert body["request_id"] == "trace-me-42"
    assert response.headers["x-request-id"] == "trace-me-42"


def test_request_id_is_echoed_or_made(client: httpx.Client) -> None:
    echoed = client.get("/codes/stages", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"
    made = client.get("/codes/stages")
    assert len(made.headers["x-request-id"]) == 32
    unsafe = client.get("/codes/stages", headers={"X-Request-ID": "bad id\twith spaces"})
    assert unsafe.headers["x-request-id"] != "bad id\twith spaces"


def test_health_and_readiness(server_address: str) -> None:
    assert httpx.get(f"{server_address}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{server_address}/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"
    assert ready.json()["schema_revision"] == ready.json()["expected_revision"]


def test_openapi_documents_problems(server_address: str) -> None:
    document = httpx.get(f"{server_address}/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    create = document["paths"]["/api/v1/regions"]["post"]["responses"]
    assert "application/problem+json" in create["422"]["content"]
    assert "application/problem+json" in create["default"]["content"]
    assert httpx.get(f"{server_address}/docs").status_code == 200


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "en"),
        ("id", "id"),
        ("id-ID", "id"),
        ("en-US,en;q=0.9,id;q=0.8", "en"),
        ("fr, id;q=0.5", "id"),
        ("fr", "en"),
        ("id;q=0, en", "en"),
        ("id;q=abc", "en"),
    ],
)
def test_language_negotiation(header: str | None, expected: str) -> None:
    assert pick_language(header) == expected


def test_cursor_round_trip() -> None:
    assert decode_cursor(encode_cursor(["35.74", 7])) == ["35.74", 7]


def test_pagination_walks_every_row_once(client: httpx.Client, admin: dict[str, str]) -> None:
    body = "code,name\n" + "".join(f"{code},Provinsi {code}\n" for code in range(11, 41))
    imported = client.post("/regions/import", content=body, headers={**admin, "Content-Type": "text/csv"})
    assert imported.status_code == 200, imported.text
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": 7}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/regions", params=params).json()
        seen += [row["code"] for row in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [str(code) for code in range(11, 41)]


@pytest.mark.parametrize("cursor", ["!!!", "e30", "WyJ4Il0", "W10", "WzEwMDAwMDAwMDAwMDBd"])
def test_bad_cursor_is_422(client: httpx.Client, cursor: str) -> None:
    assert_problem(client.get("/recipients", params={"cursor": cursor}), 422, "invalid_cursor")


def test_oversized_bodies_are_refused_as_they_arrive(client: httpx.Client, admin: dict[str, str]) -> None:
    big = b"{" + b" " * (11 * 1024 * 1024) + b"}"
    declared = client.post("/regions", content=big, headers={**admin, "Content-Type": "application/json"})
    assert_problem(declared, 413, "payload_too_large")

    def chunks() -> Iterator[bytes]:
        for _ in range(12):
            yield b" " * (1024 * 1024)

    streamed = client.post("/regions", content=chunks(), headers={**admin, "Content-Type": "application/json"})
    assert_problem(streamed, 413, "payload_too_large")
