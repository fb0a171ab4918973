"""Bad input of every kind, at every endpoint of the reference data and the keys: a problem that names the
field, never a 500, no write (``nothing_written`` compares every table before and after).

These walk all those endpoints at once; each domain's own bad bodies are refused in its folder
(tests/reference, tests/access).
"""

import base64
import json
from typing import Any

import httpx
import psycopg
import pytest

from tests.helpers import (
    ELECTION,
    KEY,
    RECIPIENT,
    REGION,
    Body,
    World,
    assert_problem,
    changed,
    nothing_written,
)


def cursor_of(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def test_the_good_bodies_are_accepted(client: httpx.Client, world: World) -> None:
    """The control: without it, the refusals below could be refusing the good part of the body."""
    assert client.post("/regions", json=REGION, headers=world.admin).status_code == 201
    assert client.post("/elections", json=ELECTION, headers=world.admin).status_code == 201
    assert client.post("/recipients", json=RECIPIENT, headers=world.admin).status_code == 201
    assert client.post("/keys", json=KEY, headers=world.admin).status_code == 201
    recipient_key = {"name": "Bendahara KPU", "role": "recipient", "recipient_id": world.kpu_id}
    assert client.post("/keys", json=recipient_key, headers=world.admin).status_code == 201
    # Limits are inclusive: 200 characters is still a name, and whitespace around it is trimmed.
    response = client.post("/regions", json={"code": "36.01", "name": f"  {'y' * 200}  "}, headers=world.admin)
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "y" * 200


# --- rules across fields ---------------------------------------------------------------------------


CROSS_FIELD = [
    pytest.param(
        "/elections",
        changed(ELECTION, voting_day="2024-11-27", winner_proposed_on="2024-11-26"),
        "winner_proposed_on",
        id="election-winner-before-voting",
    ),
    pytest.param("/keys", {"name": "Bendahara", "role": "recipient"}, "recipient_id", id="key-recipient-unscoped"),
    pytest.param("/keys", changed(KEY, recipient_id=1), "recipient_id", id="key-finance-scoped"),
    pytest.param("/keys", changed(KEY, role="auditor", region_code="35.74"), "region_code", id="key-auditor-bound"),
]


@pytest.mark.parametrize(("path", "body", "field"), CROSS_FIELD)
def test_cross_field_errors_name_the_field(
    client: httpx.Client, world: World, path: str, body: Body, field: str
) -> None:
    assert_problem(client.post(path, json=body, headers=world.admin), 422, "inconsistent_input", field)


# --- ids in paths ----------------------------------------------------------------------------------

ID_ROUTES = {
    "GET /elections/{id}": ("GET", "/elections/{}", None),
    "PATCH /elections/{id}": ("PATCH", "/elections/{}", {"name": "Nama baru"}),
    "GET /recipients/{id}": ("GET", "/recipients/{}", None),
    "PATCH /recipients/{id}": ("PATCH", "/recipients/{}", {"name": "Nama baru"}),
    "GET /keys/{id}": ("GET", "/keys/{}", None),
    "POST /keys/{id}/revoke": ("POST", "/keys/{}/revoke", None),
}
BAD_IDS = [
    "0",
    "-1",
    str(2**31),
    str(2**31 - 1),
    str(2**63),
    str(2**63 - 1),
    str(10**30),
    "abc",
    "1.5",
    "1e3",
    "999999",
]


@pytest.mark.parametrize("bad_id", BAD_IDS)
@pytest.mark.parametrize("route", list(ID_ROUTES))
def test_ids_out_of_range_are_422_or_404(
    client: httpx.Client, db: psycopg.Connection[Any], world: World, route: str, bad_id: str
) -> None:
    method, template, body = ID_ROUTES[route]
    with nothing_written(db):
        response = client.request(method, template.format(bad_id), json=body, headers=world.admin)
        assert_problem(response, {404} if bad_id in {"999999", str(2**31 - 1)} else {404, 422})


# --- body shapes and content types -----------------------------------------------------------------

JSON_WRITES: dict[str, tuple[str, str, Body]] = {
    "POST /regions": ("POST", "/regions", REGION),
    "PATCH /regions/{code}": ("PATCH", "/regions/35.74", {"name": "Kota Probolinggo"}),
    "POST /elections": ("POST", "/elections", ELECTION),
    "PATCH /elections/{id}": ("PATCH", "/elections/{election_id}", {"name": "Pilwali"}),
    "POST /recipients": ("POST", "/recipients", RECIPIENT),
    "PATCH /recipients/{id}": ("PATCH", "/recipients/{kpu_id}", {"name": "KPU Kota"}),
    "POST /keys": ("POST", "/keys", KEY),
}

JSON = "application/json"
SHAPES: dict[str, tuple[str | None, bytes | None, set[int]]] = {
    # name: (content type, raw body or None for "the good body", statuses allowed)
    "invalid-json": (JSON, b'{"name": "Banten",', {422}),
    "single-quotes": (JSON, b"{'name': 'Banten'}", {422}),
    "trailing-garbage": (JSON, b'{"name": "Banten"} xyz', {422}),
    "empty-body": (JSON, b"", {422}),
    "array": (JSON, b"[]", {422}),
    "array-of-the-body": (JSON, None, {422}),
    "string": (JSON, b'"Banten"', {422}),
    "number": (JSON, b"36", {422}),
    "true": (JSON, b"true", {422}),
    "null": (JSON, b"null", {422}),
    "invalid-utf8": (JSON, b'{"name": "Bal\xe9"}', {400, 422}),
    "lone-surrogate": (JSON, b'{"name": "a\\ud800b"}', {422}),
    "nested-100000-deep": (JSON, b"[" * 100_000 + b"]" * 100_000, {400, 422}),
    "text/plain": ("text/plain", None, {415, 422}),
    "form-urlencoded": ("application/x-www-form-urlencoded", b"name=Banten&code=36", {415, 422}),
    "text/csv": ("text/csv", b"code,name\n36,Banten\n", {415, 422}),
}


@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize("endpoint", list(JSON_WRITES))
def test_bodies_that_are_not_a_json_object(
    client: httpx.Client, db: psycopg.Connection[Any], world: World, endpoint: str, shape: str
) -> None:
    method, template, good = JSON_WRITES[endpoint]
    content_type, raw, statuses = SHAPES[shape]
    if raw is None:
        raw = json.dumps([good] if shape.startswith("array") else good).encode()
    path = template.format(election_id=world.election_id, kpu_id=world.kpu_id)
    headers = {**world.admin, "Content-Type": content_type} if content_type else world.admin
    with nothing_written(db):
        assert_problem(client.request(method, path, content=raw, headers=headers), statuses)


# --- query parameters ------------------------------------------------------------------------------

LISTS = ["/regions", "/elections", "/recipients", "/keys"]


@pytest.mark.parametrize("limit", ["0", "501", "-1", "x", "1.5", ""])
@pytest.mark.parametrize("path", LISTS)
def test_limit_out_of_range(client: httpx.Client, world: World, path: str, limit: str) -> None:
    assert_problem(client.get(path, params={"limit": limit}, headers=world.admin), 422, "validation_error", "limit")


GARBAGE_CURSORS = {
    "punctuation": "!!!",
    "not-base64": "%%%%",
    "base64-not-json": base64.urlsafe_b64encode(b"not json").decode(),
    "object": cursor_of({"after": 1}),
    "empty-list": cursor_of([]),
    "list-of-bool": cursor_of([True]),
    "list-of-null": cursor_of([None]),
    "list-of-list": cursor_of([[1]]),
    "wrong-type": "",  # filled per list: a string for id-sorted lists, a number for regions
    "negative": cursor_of([-1]),
    "huge-number": cursor_of([2**70]),
    "NUL-string": cursor_of(["\u0000"]),
    "binary": base64.urlsafe_b64encode(b"\xff\xfe\x00\x01").decode(),
}


@pytest.mark.parametrize("garbage", list(GARBAGE_CURSORS))
@pytest.mark.parametrize("path", LISTS)
def test_garbage_cursor(client: httpx.Client, world: World, path: str, garbage: str) -> None:
    cursor = GARBAGE_CURSORS[garbage]
    if garbage == "wrong-type":
        cursor = cursor_of([35] if path == "/regions" else ["35"])
    if garbage in {"negative", "huge-number"} and path == "/regions":
        cursor = cursor_of([{"code": "35"}])
    assert_problem(client.get(path, params={"cursor": cursor}, headers=world.admin), 422, "invalid_cursor", "cursor")


def test_a_cursor_longer_than_allowed(client: httpx.Client, world: World) -> None:
    assert_problem(client.get("/regions", params={"cursor": "A" * 600}), 422, None, "cursor")


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/regions", {"level": "village"}, "level"),
        ("/regions", {"parent_code": "3"}, "parent_code"),
        ("/regions", {"q": "a\u0000b"}, "q"),
        ("/regions", {"q": "x" * 101}, "q"),
        ("/elections", {"kind": "president"}, "kind"),
        ("/elections", {"year": "1900"}, "year"),
        ("/elections", {"year": "3000"}, "year"),
        ("/elections", {"year": "dua ribu"}, "year"),
        ("/elections", {"region_code": "35.100"}, "region_code"),
        ("/recipients", {"kind": "kpud"}, "kind"),
        ("/recipients", {"region_code": "ab"}, "region_code"),
        ("/recipients", {"q": "a\u0000b"}, "q"),
        ("/keys", {"role": "superuser"}, "role"),
        ("/keys", {"include_revoked": "maybe"}, "include_revoked"),
    ],
)
def test_bad_filters(client: httpx.Client, world: World, path: str, params: dict[str, str], field: str) -> None:
    assert_problem(client.get(path, params=params, headers=world.admin), 422, "validation_error", field)
