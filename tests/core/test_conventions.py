"""The API conventions of DESIGN §3 that every endpoint shares."""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg
import pytest

from app.core.i18n import pick_language
from app.core.pagination import decode_cursor, encode_cursor
from tests.helpers import REGION, Body, World, assert_problem, nothing_written


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


@dataclass(frozen=True)
class Refusal:
    method: str
    path: str
    status: int
    english: str
    indonesian: str
    json: Body | None = None
    as_admin: bool = True
    headers: tuple[tuple[str, str], ...] = ()


REFUSALS = {
    "422": Refusal("POST", "/regions", 422, "Validation failed", "Validasi gagal", json={"code": "3", "name": "X"}),
    "404-domain": Refusal("GET", "/regions/99", 404, "Not found", "Tidak ditemukan"),
    "404-route": Refusal("GET", "/tidak-ada", 404, "Not found", "Tidak ditemukan"),
    "409": Refusal("POST", "/regions", 409, "Conflict", "Konflik", json={"code": "35", "name": "Jawa Timur"}),
    "401": Refusal("POST", "/regions", 401, "Unauthorized", "Tidak terautentikasi", json=REGION, as_admin=False),
    "405": Refusal("DELETE", "/regions/35", 405, "Method not allowed", "Metode tidak diizinkan"),
    "412": Refusal(
        "PATCH",
        "/regions/35",
        412,
        "Precondition failed",
        "Prasyarat gagal",
        json={"name": "Jatim"},
        headers=(("If-Match", '"region-35-v7"'),),
    ),
}


LANGUAGES = {
    "id": "id",
    "id-ID": "id",
    "fr,id;q=0.8": "id",
    "en": "en",
    "en-US,id;q=0.5": "en",
    "id;q=0.1,en;q=0.9": "en",
    "(none)": "en",
    "de": "en",
}


@pytest.mark.parametrize("language", list(LANGUAGES))
@pytest.mark.parametrize("refusal", list(REFUSALS))
def test_problem_titles_follow_accept_language(
    client: httpx.Client, db: psycopg.Connection[Any], world: World, refusal: str, language: str
) -> None:
    case = REFUSALS[refusal]
    headers = {**(world.admin if case.as_admin else {}), **dict(case.headers)}
    if language != "(none)":
        headers["Accept-Language"] = language
    with nothing_written(db):
        body = assert_problem(client.request(case.method, case.path, json=case.json, headers=headers), case.status)
    assert body["title"] == (case.indonesian if LANGUAGES[language] == "id" else case.english)


def test_indonesian_details_for_domain_errors(client: httpx.Client, world: World) -> None:
    response = client.post(
        "/regions", json={"code": "35", "name": "Jatim"}, headers={**world.admin, "Accept-Language": "id"}
    )
    assert assert_problem(response, 409, "region_exists")["detail"] == "Wilayah 35 sudah ada."
    response = client.post("/regions", json={"code": "3"}, headers={**world.admin, "Accept-Language": "id"})
    assert "kesalahan" in assert_problem(response, 422, "validation_error")["detail"]


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/tidak-ada",
        "/api/v2/regions",
        "/tidak-ada",
        "/api/v1/regions/35/elections",
        "/api/v1/keys/1/delete",
        "/api",
    ],
)
def test_unknown_paths_are_404_problems(
    server_address: str, db: psycopg.Connection[Any], world: World, url: str
) -> None:
    with nothing_written(db), httpx.Client(base_url=server_address) as raw:
        assert_problem(raw.get(url, headers=world.admin), 404, "not_found")
        assert_problem(raw.post(url, json=REGION, headers=world.admin), 404, "not_found")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", "/regions/35"),
        ("PUT", "/regions/35"),
        ("PUT", "/regions"),
        ("PATCH", "/regions"),
        ("DELETE", "/regions"),
        ("PUT", "/regions/import"),
        ("DELETE", "/elections/1"),
        ("POST", "/elections/1"),
        ("PUT", "/recipients/1"),
        ("DELETE", "/keys/1"),
        ("PATCH", "/keys/1"),
        ("GET", "/keys/1/revoke"),
        ("POST", "/keys/me"),
        ("POST", "/codes/stages"),
    ],
)
def test_wrong_methods_are_405_problems(
    client: httpx.Client, db: psycopg.Connection[Any], world: World, method: str, path: str
) -> None:
    with nothing_written(db):
        response = client.request(method, path, json=REGION, headers=world.admin)
        assert_problem(response, 405, "method_not_allowed")
    assert method not in response.headers.get("allow", "")
