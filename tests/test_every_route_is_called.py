"""Every route of the app is called by some test: a route added without a test fails the build.

A static scan, so it holds for any subset of the suite that runs: each route's path template (its ``/api/v1``
prefix dropped, as the tests' clients add it) must appear in a string of some test module, a path parameter
standing for any placeholder or value. The method is not checked (see ``KNOWN_UNCALLED``)."""

import re
from pathlib import Path

import httpx
from fastapi.routing import APIRoute

from app.core.config import Settings
from app.main import create_app

TESTS = Path(__file__).parent
PREFIX = "/api/v1"
KNOWN_UNCALLED: set[str] = set()
"""Routes with no test yet, by path template: may only shrink."""


def route_pattern(path: str) -> re.Pattern[str]:
    """``/things/{id}/parts`` as a test writes it: ``f"/things/{thing.id}/parts"`` or
    ``"/things/1/parts"``, inside quotes, with an optional query string or ``.csv``-style end."""
    parts = re.split(r"\{[^}]+\}", path.removeprefix(PREFIX) or "/")
    body = r"(?:\{[^}\"']+\}|[^/\"'?{}]+)".join(re.escape(part) for part in parts)
    return re.compile(r"[\"'](?:\{[^}\"']*\})?" + body + r"(?:[?#][^\"']*)?[\"']")


def test_every_route_is_called_by_some_test() -> None:
    app = create_app(Settings(DATABASE_URL="postgresql+asyncpg://unused@127.0.0.1:1/unused"))
    source = "\n".join(path.read_text() for path in TESTS.rglob("*.py"))
    paths = sorted({route.path_format for route in app.routes if isinstance(route, APIRoute)})
    uncalled = {path for path in paths if not route_pattern(path).search(source)}
    assert uncalled - KNOWN_UNCALLED == set(), "routes no test calls"
    assert KNOWN_UNCALLED - uncalled == set(), "routes now tested: take them out of KNOWN_UNCALLED"


def test_the_swagger_oauth2_redirect_page_is_served(server_address: str) -> None:
    page = httpx.get(f"{server_address}/docs/oauth2-redirect")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "oauth2" in page.text.lower()
