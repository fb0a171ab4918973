"""When the database is out of reach: a 503 the client can retry, on a connection that stays open; and when it
is back (or its connections were cut under the pool), the next request works without a restart of the API.

The real kill of a real PostgreSQL under load is in tests/faults/; these are the in-process halves."""

import http.client
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
import uvicorn

from app.core.config import Settings
from app.main import create_app
from tests.helpers import Grant, assert_problem, created, free_port, pay


def _cut_the_apps_connections(db: psycopg.Connection[Any]) -> int:
    """What a database restart does to the pool: every connection of the app's pools is gone."""
    rows = db.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE datname = current_database() AND application_name IN ('hibah', 'hibah-read')"
    ).fetchall()
    return len(rows)


def test_connections_cut_under_the_pools_are_replaced_before_any_request_fails(
    client: httpx.Client, paid: Grant, db: psycopg.Connection[Any]
) -> None:
    assert _cut_the_apps_connections(db) >= 2
    time.sleep(0.2)  # the server ends the backends; their sockets close
    # A money write on the write pool: its BEGIN finds the dead connection and begins again on a fresh one.
    assert created(pay(client, paid, "5000000", "SP2D-AFTER-CUT", "2023-12-20")) > 0
    # A hot read on the read pool: read once more on a fresh connection.
    position = client.get(f"/agreements/{paid.agreement_id}/position")
    assert position.status_code == 200, position.text
    assert position.json()["disbursed"] == "15000000.00"
    # A list in a transaction, and readiness.
    assert client.get("/agreements").status_code == 200
    assert httpx.get(str(client.base_url).removesuffix("/api/v1/") + "/readyz").json()["database"] == "up"


@pytest.fixture(scope="module")
def unreachable_api() -> Iterator[str]:
    """The API with its database down: nothing listens where DATABASE_URL points."""
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/hibah"
    app = create_app(Settings(DATABASE_URL=url, log_level="warning", retry_after_s=3, db_connect_timeout_s=2))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the API did not start without its database"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_an_unreachable_database_is_a_503_with_retry_after_on_a_connection_kept_open(unreachable_api: str) -> None:
    port = int(unreachable_api.rsplit(":", 1)[1])
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    sockets = []
    for method, path, body in (
        ("GET", "/api/v1/agreements", None),  # a read in a transaction (write pool)
        ("GET", "/api/v1/regions/35", None),  # a hot read (read pool)
        ("POST", "/api/v1/regions", json.dumps({"code": "35", "name": "Jawa Timur"})),  # a write: auth reads first
    ):
        headers = {"Content-Type": "application/json", "Accept-Language": "id"}
        if method == "POST":
            headers["Authorization"] = "Bearer hibah_not_checked_the_database_is_down"
        connection.request(method, path, body=body, headers=headers)
        answer = connection.getresponse()
        text = answer.read()
        assert answer.status == 503, (path, text)
        assert answer.getheader("Content-Type", "").startswith("application/problem+json")
        assert answer.getheader("Retry-After") == "3"
        problem = json.loads(text)
        assert problem["code"] == "database_unavailable"
        assert problem["detail"].startswith("Basis data sedang tidak tersedia")
        assert answer.getheader("Connection") != "close"
        sockets.append(connection.sock)
    assert sockets[0] is not None
    assert all(sock is sockets[0] for sock in sockets), "the server dropped the keep-alive connection"
    connection.close()


def test_readiness_names_the_database_as_the_dependency_that_is_down(unreachable_api: str) -> None:
    ready = httpx.get(f"{unreachable_api}/readyz", timeout=10)
    assert ready.status_code == 503
    assert ready.json()["status"] == "not_ready"
    assert ready.json()["database"] == "down"
    assert httpx.get(f"{unreachable_api}/healthz").status_code == 200


def test_the_document_lists_the_503_on_every_api_operation(client: httpx.Client) -> None:
    document = client.get("/../../openapi.json").json()
    for path, operations in document["paths"].items():
        if not path.startswith("/api/"):
            continue
        for method, operation in operations.items():
            listed = operation["responses"].get("503", {}).get("x-problem-codes", [])
            assert "database_unavailable" in listed, (method, path)


def test_a_503_problem_is_well_formed(unreachable_api: str) -> None:
    assert_problem(httpx.get(f"{unreachable_api}/api/v1/agreements", timeout=10), 503, "database_unavailable")
