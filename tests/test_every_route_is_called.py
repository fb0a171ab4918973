"""Every route of the app is called by some test with its method, and every query parameter its OpenAPI document
lists is sent to it by some test: a route or a filter added without a test fails the build.

A static scan, so it holds for any subset of the suite that runs. A *call* is a string literal holding the route's
path template (its ``/api/v1`` prefix dropped, as the tests' clients add it; a path parameter standing for any
placeholder or value) right after the method that sends it: ``client.get("/x/1")``, ``.post(f"/x/{x.id}"``,
``http.stream("GET", ...)``, ``client.request("PATCH", "/x/1")``, ``refuses("DELETE", "/x/1", ...)`` or a
parametrized ``("GET", "/x")``. A path with no method before it (a bare string in a list) calls nothing. A
parameter is sent when its name stands in that call (up to the call's closing parenthesis) as ``?name=`` or
``&name=`` in the URL, as a key ``"name":`` of a ``params`` dict, or as a keyword ``name=``. Whether the test then
checks the parameter's effect is for review to judge; this only makes sure none is forgotten.
"""

import re
from pathlib import Path
from typing import Any

from fastapi.routing import APIRoute

from app.core.config import Settings
from app.main import create_app

TESTS = Path(__file__).parent
PREFIX = "/api/v1"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
KNOWN_UNCALLED: set[tuple[str, str]] = set()
"""Routes with no test yet, as ``(method, path template)``: may only shrink."""
KNOWN_UNTESTED: set[tuple[str, str, str]] = set()
"""Query parameters no test sends yet, as ``(method, path template, name)``: may only shrink."""

METHOD_BEFORE = re.compile(
    r"(?:\.(?P<call>get|post|put|patch|delete|head|options)\(\s*[rbfuRBFU]{0,2}"
    r"|[\"'](?P<named>" + "|".join(METHODS) + r")[\"']\s*,\s*[rbfuRBFU]{0,2})$"
)
"""What stands right before a path that a test sends: a client's method, or the method named as a string."""


def route_pattern(path: str) -> re.Pattern[str]:
    """``/things/{id}/parts`` as a test writes it: ``f"/things/{thing.id}/parts"`` or
    ``"/things/1/parts"``, inside quotes, with an optional query string or ``.csv``-style end."""
    parts = re.split(r"\{[^}]+\}", path.removeprefix(PREFIX) or "/")
    body = r"(?:\{[^}\n]*\}|[^/\"'?{}]+)".join(re.escape(part) for part in parts)
    return re.compile(r"[\"'](?:\{[^}\"']*\})?" + body + r"(?:[?#][^\"']*)?[\"']")


def call_text(source: str, start: int) -> str:
    """The source from ``start`` to the close of the parenthesis that encloses it (the call, or the tuple, the path
    is written in)."""
    depth, end, quote = 1, start, ""
    while end < len(source) and depth:
        char = source[end]
        if quote:
            if char == "\\":
                end += 1
            elif char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        end += 1
    return source[start:end]


def calls(source: str, method: str, path: str) -> list[str]:
    """The text of every call in ``source`` that sends ``method`` to ``path``."""
    found = []
    for match in route_pattern(path).finditer(source):
        before = METHOD_BEFORE.search(source[max(0, match.start() - 80) : match.start()])
        if before is not None and (before["call"] or before["named"]).upper() == method:
            found.append(call_text(source, match.start()))
    return found


def sends(call: str, name: str) -> bool:
    escaped = re.escape(name)
    return re.search(rf"[?&]{escaped}=|[\"']{escaped}[\"']\s*:|\b{escaped}\s*=(?!=)", call) is not None


def sources_of_tests() -> str:
    return "\n".join(path.read_text() for path in sorted(TESTS.rglob("*.py")) if path != Path(__file__))


def app_document() -> dict[str, Any]:
    app = create_app(Settings(DATABASE_URL="postgresql+asyncpg://unused@127.0.0.1:1/unused"))
    document: dict[str, Any] = app.openapi()
    # Routes outside the document (the docs pages) are routes all the same.
    for route in app.routes:
        if isinstance(route, APIRoute) and not route.include_in_schema:
            for method in route.methods or ():
                document["paths"].setdefault(route.path_format, {})[method.lower()] = {}
    return document


def operations(document: dict[str, Any]) -> list[tuple[str, str, list[str]]]:
    """``(method, path template, query parameter names)`` of every operation."""
    return [
        (method.upper(), path, [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"])
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method.upper() in METHODS
    ]


def test_every_route_is_called_by_some_test_with_its_method() -> None:
    source = sources_of_tests()
    uncalled = {(method, path) for method, path, _ in operations(app_document()) if not calls(source, method, path)}
    assert uncalled - KNOWN_UNCALLED == set(), "routes no test calls with that method"
    assert KNOWN_UNCALLED - uncalled == set(), "routes now tested: take them out of KNOWN_UNCALLED"


def test_every_documented_query_parameter_is_sent_by_some_test() -> None:
    source = sources_of_tests()
    untested = set()
    for method, path, names in operations(app_document()):
        sent = calls(source, method, path)
        untested |= {(method, path, name) for name in names if not any(sends(call, name) for call in sent)}
    assert untested - KNOWN_UNTESTED == set(), "query parameters no test sends"
    assert KNOWN_UNTESTED - untested == set(), "query parameters now tested: take them out of KNOWN_UNTESTED"


def test_the_scan_tells_a_method_and_a_parameter_apart() -> None:
    """The scan itself, on sources written here: a POST is not a GET, a bare path calls nothing, and a parameter
    counts only inside the call that sends it."""
    source = (
        'client.post(f"/agreements/{grant.id}/refunds", json=body)\n'
        'paths = ["/refunds/1"]\n'
        'refuses("PATCH", "/regions/35", {"name": "x"}, 422, None, None)\n'
        'client.get("/agreements", params={"status": "active"}, headers=admin)\n'
        'client.get("/elections?year=2024&kind=mayor")\n'
        "client.get('/keys', params=dict(role='finance'))\n"
        'http.request("DELETE", f"/usage-items/{item_id}")\n'
        "region_code = 1\n"
    )
    assert calls(source, "POST", "/api/v1/agreements/{agreement_id}/refunds")
    assert not calls(source, "GET", "/api/v1/agreements/{agreement_id}/refunds")
    assert not calls(source, "GET", "/api/v1/refunds/{refund_id}")
    assert calls(source, "PATCH", "/api/v1/regions/{code}") and not calls(source, "GET", "/api/v1/regions/{code}")
    assert calls(source, "DELETE", "/api/v1/usage-items/{item_id}")
    [agreements] = calls(source, "GET", "/api/v1/agreements")
    assert sends(agreements, "status") and not sends(agreements, "region_code") and not sends(agreements, "limit")
    [elections] = calls(source, "GET", "/api/v1/elections")
    assert sends(elections, "year") and sends(elections, "kind") and not sends(elections, "region_code")
    [keys] = calls(source, "GET", "/api/v1/keys")
    assert sends(keys, "role") and not sends(keys, "include_revoked")
