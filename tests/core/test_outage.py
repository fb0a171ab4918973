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


SLOW_COMMIT = """
CREATE FUNCTION hibah_test_slow_commit() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN PERFORM pg_sleep(30); RETURN NULL; END $$;
CREATE CONSTRAINT TRIGGER hibah_test_slow_commit AFTER INSERT ON disbursement
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION hibah_test_slow_commit();
"""
SLEEPING_IN_COMMIT = (
    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'hibah-ledger'"
    " AND query ILIKE 'COMMIT%' AND wait_event = 'PgSleep'"
)


def test_a_connection_lost_during_commit_is_a_503_that_does_not_claim_nothing_was_written(
    client: httpx.Client, paid: Grant, db: psycopg.Connection[Any]
) -> None:
    """Lost before COMMIT, nothing was written; lost during it, nobody can tell: the answer must not say
    "nothing was written", and its advice (the same Idempotency-Key again) must work."""
    url = f"/agreements/{paid.agreement_id}/disbursements"
    body = {"tranche": 1, "amount": "5000000", "paid_on": "2023-12-20", "sp2d_number": "SP2D-IN-DOUBT"}
    headers = {**paid.finance, "Idempotency-Key": "in-doubt-1"}
    answers: list[httpx.Response] = []
    db.execute(SLOW_COMMIT)  # a deferred trigger that holds the COMMIT open, so the connection can be cut inside it
    try:
        sender = threading.Thread(target=lambda: answers.append(client.post(url, json=body, headers=headers)))
        sender.start()
        deadline = time.monotonic() + 10
        while not (committing := db.execute(SLEEPING_IN_COMMIT).fetchall()):
            assert time.monotonic() < deadline, "the payment never reached its COMMIT"
            time.sleep(0.02)
        db.execute("SELECT pg_terminate_backend(%s)", (committing[0][0],))
        sender.join(timeout=30)
    finally:
        db.execute("DROP TRIGGER hibah_test_slow_commit ON disbursement; DROP FUNCTION hibah_test_slow_commit()")
    problem = assert_problem(answers[0], 503, "database_unavailable")
    assert "may have been written or not" in problem["detail"], problem
    assert "nothing was written" not in problem["detail"]
    assert answers[0].headers["Retry-After"] == "2"
    # The advice works: the same key again. (This commit had not happened, so the payment is made now, once.)
    assert created(client.post(url, json=body, headers=headers)) > 0
    assert client.get(f"/agreements/{paid.agreement_id}/position").json()["disbursed"] == "15000000.00"
