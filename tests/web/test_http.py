"""HTTP as browsers, caches and clients expect it (DESIGN §6): CORS, gzip, validators and 304, HEAD, Allow,
and routes that cannot shadow each other. Every request here goes over real HTTP to the real app."""

import gzip
import re
from typing import Any

import httpx
import psycopg
import pytest
from fastapi.routing import iter_route_contexts

from app.core.config import Settings
from app.main import create_app
from tests.conftest import WRITE_ORIGIN
from tests.helpers import (
    Grant,
    Headers,
    assert_problem,
    created,
    draft_report,
    item,
    nothing_written,
    pay,
)

READER_ORIGIN = "https://jurnalis.example.org"
IDENTITY = {"Accept-Encoding": "identity"}
GZIP = {"Accept-Encoding": "gzip"}


def raw_client(server_address: str) -> httpx.Client:
    """A client that leaves the body as it came (httpx would undo gzip) and sends no Accept-Encoding itself."""
    return httpx.Client(base_url=f"{server_address}/api/v1", timeout=30, headers={"Accept-Encoding": "identity"})


def raw_get(http: httpx.Client, url: str, **options: Any) -> tuple[httpx.Headers, bytes]:
    """The headers and the body as sent: ``response.content`` would be the body httpx has already gunzipped."""
    with http.stream("GET", url, **options) as response:
        return response.headers, b"".join(response.iter_raw())


# --- CORS ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("origin", [READER_ORIGIN, WRITE_ORIGIN, "http://localhost:3000"])
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_any_origin_may_read(client: httpx.Client, origin: str, method: str) -> None:
    preflight = client.options(
        "/agreements",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization, accept-language, if-none-match",
        },
    )
    assert preflight.status_code == 200, preflight.text
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert method in preflight.headers["access-control-allow-methods"]
    allowed = preflight.headers["access-control-allow-headers"].lower()
    assert {"authorization", "accept-language", "if-none-match"} <= set(re.split(r",\s*", allowed))
    read = client.get("/codes/stages", headers={"Origin": origin})
    assert read.status_code == 200
    assert read.headers["access-control-allow-origin"] == "*"
    exposed = read.headers["access-control-expose-headers"].lower()
    assert {"etag", "x-request-id", "location", "content-disposition"} <= set(re.split(r",\s*", exposed))


def test_an_answer_without_origin_still_varies_on_origin(client: httpx.Client, admin: Headers) -> None:
    """A shared cache must not hand an answer made for no origin (no ``Access-Control-Allow-Origin``) to a
    browser on another origin: every answer says it depends on ``Origin``, with or without one."""
    for response in (client.get("/regions"), client.get("/regions", headers=admin)):
        assert response.status_code == 200
        assert "origin" in [part.strip().lower() for part in response.headers["vary"].split(",")], response.headers
    refused = client.post("/regions", json={}, headers=admin)
    assert "origin" in refused.headers["vary"].lower(), refused.headers


@pytest.mark.parametrize("method", ["POST", "PATCH", "DELETE"])
def test_only_configured_origins_may_write(client: httpx.Client, method: str) -> None:
    asked = {"Access-Control-Request-Method": method, "Access-Control-Request-Headers": "authorization, content-type"}
    allowed = client.options("/regions", headers={"Origin": WRITE_ORIGIN, **asked})
    assert allowed.status_code == 200, allowed.text
    assert allowed.headers["access-control-allow-origin"] == WRITE_ORIGIN
    assert method in allowed.headers["access-control-allow-methods"]
    refused = client.options("/regions", headers={"Origin": READER_ORIGIN, **asked})
    assert_problem(refused, 403, "cors_origin_not_allowed")
    assert "access-control-allow-origin" not in refused.headers


def test_write_answers_name_only_the_writing_origin(client: httpx.Client, admin: Headers, db: Any) -> None:
    created_region = client.post(
        "/regions", json={"code": "36", "name": "Banten"}, headers={**admin, "Origin": WRITE_ORIGIN}
    )
    assert created_region.status_code == 201
    assert created_region.headers["access-control-allow-origin"] == WRITE_ORIGIN
    with nothing_written(db):
        elsewhere = client.post(
            "/regions", json={"code": "36", "name": "Banten"}, headers={**admin, "Origin": READER_ORIGIN}
        )
    assert "access-control-allow-origin" not in elsewhere.headers


# --- gzip ----------------------------------------------------------------------------------------------


@pytest.fixture
def busy_report(client: httpx.Client, paid: Grant, recipient: Headers) -> int:
    """A draft of 500 items: a list body of ~150 KB."""
    report = draft_report(
        client, paid, recipient, *[item("1000", description=f"Honor KPPS TPS {n:03d}") for n in range(500)]
    )
    report_id: int = report["id"]
    return report_id


def test_json_lists_are_gzipped(server_address: str, busy_report: int, recipient: Headers) -> None:
    url, params = f"/usage-reports/{busy_report}/items", {"limit": 500}
    with raw_client(server_address) as raw:
        plain_headers, plain = raw_get(raw, url, params=params, headers=recipient)
        packed_headers, packed = raw_get(raw, url, params=params, headers={**recipient, **GZIP})
    assert "content-encoding" not in plain_headers
    assert packed_headers["content-encoding"] == "gzip"
    assert "accept-encoding" in packed_headers["vary"].lower()
    assert gzip.decompress(packed) == plain
    assert len(packed) * 10 < len(plain), (len(packed), len(plain))
    with raw_client(server_address) as raw:
        refused_headers, refused = raw_get(
            raw, url, params=params, headers={**recipient, "Accept-Encoding": "gzip;q=0"}
        )
    assert "content-encoding" not in refused_headers  # q=0 means "not this coding" (RFC 9110 §12.5.3)
    assert refused == plain


def test_streamed_csv_export_is_gzipped_as_it_streams(
    server_address: str, busy_report: int, recipient: Headers
) -> None:
    path = "/exports/usage-items.csv"
    with raw_client(server_address) as raw:
        plain = raw.get(path, params={"report_id": busy_report}, headers=recipient)
        with raw.stream("GET", path, params={"report_id": busy_report}, headers={**recipient, **GZIP}) as packed:
            assert packed.headers["content-encoding"] == "gzip"
            assert "content-length" not in packed.headers  # streamed, not held to be measured
            chunks = list(packed.iter_raw())
    assert gzip.decompress(b"".join(chunks)) == plain.content
    assert plain.content.count(b"\n") == 501


def test_xlsx_is_not_gzipped_again(
    client: httpx.Client, server_address: str, busy_report: int, recipient: Headers
) -> None:
    with raw_client(server_address) as raw:
        headers, book = raw_get(
            raw, "/exports/usage-items.xlsx", params={"report_id": busy_report}, headers={**recipient, **GZIP}
        )
    assert "content-encoding" not in headers
    assert book[:2] == b"PK"


def test_large_problems_are_gzipped_too(
    server_address: str, paid: Grant, recipient: Headers, client: httpx.Client
) -> None:
    report = draft_report(client, paid, recipient, item())
    bad_rows = "".join(
        f"2024-11-27,honorarium_adhoc,pemungutan_suara,Honor {n},-5,Siti,KW-{n},{'0' * 64}\n" for n in range(50)
    )
    header = "spent_on,category,stage,description,amount,payee,document_number,evidence_sha256\n"
    with raw_client(server_address) as raw:
        response = raw.post(
            f"/usage-reports/{report['id']}/items/import",
            content=header + bad_rows,
            headers={**recipient, **GZIP, "Content-Type": "text/csv"},
        )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["content-encoding"] == "gzip"


# --- validators, 304, Cache-Control ---------------------------------------------------------------------


def test_single_resources_answer_304_to_their_etag(client: httpx.Client, grant: Grant) -> None:
    first = client.get(f"/agreements/{grant.agreement_id}")
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert re.fullmatch(r"[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT", modified)
    again = client.get(f"/agreements/{grant.agreement_id}", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    assert again.headers["cache-control"] == first.headers["cache-control"] == "public, max-age=10"
    assert (
        client.get(f"/agreements/{grant.agreement_id}", headers={"If-None-Match": f'W/{etag}, "x"'}).status_code == 304
    )
    assert client.get(f"/agreements/{grant.agreement_id}", headers={"If-None-Match": '"other"'}).status_code == 200
    assert client.get(f"/agreements/{grant.agreement_id}", headers={"If-Modified-Since": modified}).status_code == 304


def test_a_change_makes_the_old_etag_stale(client: httpx.Client, grant: Grant) -> None:
    before = client.get(f"/agreements/{grant.agreement_id}").headers["etag"]
    amendment = {"number": "ADENDUM-1", "signed_on": "2024-06-01", "new_amount": "24000000000.00", "reason": "other"}
    assert (
        client.post(f"/agreements/{grant.agreement_id}/amendments", json=amendment, headers=grant.finance).status_code
        == 201
    )
    after = client.get(f"/agreements/{grant.agreement_id}", headers={"If-None-Match": before})
    assert after.status_code == 200
    assert after.json()["amount"] == "24000000000.00"
    assert after.headers["etag"] != before


@pytest.mark.parametrize(
    "path",
    [
        "/agreements",
        "/agreements/{agreement_id}/position",
        "/agreements/{agreement_id}/disbursements",
        "/summaries?group_by=region",
        "/compliance/findings?as_of=2025-06-01",
        "/regions",
        "/codes/categories",
    ],
)
def test_lists_and_summaries_carry_a_validator(client: httpx.Client, paid: Grant, path: str) -> None:
    url = path.format(agreement_id=paid.agreement_id)
    first = client.get(url)
    assert first.status_code == 200
    etag = first.headers["etag"]
    unchanged = client.get(url, headers={"If-None-Match": etag})
    assert unchanged.status_code == 304
    assert unchanged.content == b""
    # One change for each kind of answer: a payment (positions, lists of payments, summaries, findings), an
    # amendment (the agreement list), a new region (the region list); the code list stays as it was.
    created(pay(client, paid, "5000000", "SP2D-2", "2024-01-11"))
    amendment = {"number": "ADENDUM-1", "signed_on": "2024-06-01", "new_amount": "24000000000.00", "reason": "other"}
    assert (
        client.post(f"/agreements/{paid.agreement_id}/amendments", json=amendment, headers=paid.finance).status_code
        == 201
    )
    assert client.post("/regions", json={"code": "36", "name": "Banten"}, headers=paid.admin).status_code == 201
    changed = client.get(url, headers={"If-None-Match": etag})
    if path == "/codes/categories":
        assert changed.status_code == 304
    else:
        assert changed.status_code == 200, path
        assert changed.headers["etag"] != etag


def test_answers_to_a_key_are_private(client: httpx.Client, grant: Grant) -> None:
    public = client.get(f"/agreements/{grant.agreement_id}")
    keyed = client.get(f"/agreements/{grant.agreement_id}", headers=grant.finance)
    assert public.headers["cache-control"] == "public, max-age=10"
    assert keyed.headers["cache-control"] == "private, no-cache"
    for response in (public, keyed):
        assert "authorization" in response.headers["vary"].lower()


def test_health_and_problems_are_never_cached(server_address: str, client: httpx.Client) -> None:
    for path in ("/healthz", "/readyz"):
        assert httpx.get(f"{server_address}{path}").headers["cache-control"] == "no-store"
    assert client.get("/agreements/999").headers["cache-control"] == "no-store"


# --- HEAD, OPTIONS, Allow -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/healthz",
        "/readyz",
        "/openapi.json",
        "/docs",
        "/api/v1/agreements",
        "/api/v1/regions/35.74",
        "/api/v1/exports/agreements.csv",
    ],
)
def test_head_wherever_get_works(server_address: str, region_35: None, path: str) -> None:
    with httpx.Client(base_url=server_address, headers=IDENTITY) as raw:
        got = raw.get(path)
        head = raw.head(path)
    assert got.status_code == head.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]
    if "content-length" in got.headers:
        assert head.headers["content-length"] == got.headers["content-length"]
    assert head.headers.get("etag") == got.headers.get("etag")


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", "/agreements", "GET, HEAD, OPTIONS, POST"),
        ("PUT", "/agreements/1", "GET, HEAD, OPTIONS"),
        ("DELETE", "/regions/35", "GET, HEAD, OPTIONS, PATCH"),
        ("GET", "/regions/import", "OPTIONS, POST"),
        ("POST", "/keys/me", "GET, HEAD, OPTIONS"),
        ("GET", "/usage-items/1", "DELETE, OPTIONS, PATCH"),
        ("POST", "/usage-reports/1/items", None),
    ],
)
def test_405_names_every_method_of_the_path(
    client: httpx.Client, db: psycopg.Connection[Any], admin: Headers, method: str, path: str, allow: str | None
) -> None:
    with nothing_written(db):
        response = client.request(method, path, headers=admin)
    if allow is None:  # served: not a 405 at all (the draft is missing: 404)
        assert response.status_code != 405
        return
    assert_problem(response, 405, "method_not_allowed")
    assert response.headers["allow"] == allow
    options = client.options(path)
    assert options.status_code == 204
    assert options.headers["allow"] == allow


def test_options_on_an_unknown_path_is_a_404(client: httpx.Client) -> None:
    assert_problem(client.options("/tidak-ada"), 404, "not_found")


def test_regions_import_is_not_swallowed_by_a_region_code(client: httpx.Client, admin: Headers) -> None:
    assert_problem(client.get("/regions/import", headers=admin), 405, "method_not_allowed")
    assert client.get("/keys/me", headers=admin).json()["role"] == "admin"


def _concrete(path_format: str) -> str:
    """A real path of the route: each parameter given a value of its own form."""
    return re.sub(
        r"\{(code|name)\}",
        lambda m: "35.74" if m.group(1) == "code" else "agreements.csv",
        re.sub(r"\{\w+_id\}", "7", path_format),
    )


def test_no_route_can_shadow_another() -> None:
    """For every route, a real path of it is matched by no other route that serves one of its methods: what
    serves a path never depends on the order routes were declared in."""
    app = create_app(Settings(DATABASE_URL="postgresql://unused/unused"))
    routes = [route for route in iter_route_contexts(app.routes) if route.methods]
    assert len(routes) > 50
    overlaps = []
    for route in routes:
        path = _concrete(route.path_format or "")
        for method in route.methods or ():
            matched = [
                other.path_format
                for other in routes
                if method in (other.methods or ()) and other.path_regex.match(path)
            ]
            if matched != [route.path_format]:
                overlaps.append(f"{method} {path}: {matched}")
    assert overlaps == []
