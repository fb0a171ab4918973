"""A request body that stops arriving, or trickles, is cut off (issue #11): 408 ``request_timeout`` and the connection
closed, nothing written, and no database connection held while the client dawdles; a body sent slowly but
steadily is taken as usual. On a real server (uvicorn, real sockets) whose body timeout is 1 s."""

import json
import logging
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
import uvicorn

from app.core.config import Settings
from app.main import create_app
from tests.conftest import RECORDERS
from tests.helpers import EVIDENCE, Grant, free_port, new_report, nothing_written
from tests.problems_seen import ProblemRecorder

TIMEOUT_S = 1.0
MIN_BYTES_PER_S = 100
HEADER = b"spent_on,category,stage,description,amount,payee,document_number,evidence_sha256\n"
# In the app's transaction: a backend of the engine's or the ledger's pool (the money writes') with a transaction
# open (the session's other server is idle).
IN_TRANSACTION = (
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
    " AND application_name IN ('hibah', 'hibah-ledger')"
    " AND xact_start IS NOT NULL AND pid <> pg_backend_pid()"
)


@pytest.fixture(scope="module")
def paced(database_url: str) -> Iterator[int]:
    """The app with a 1 s body timeout and a 100 bytes/s minimum, on the session's database: its port."""
    app = create_app(
        Settings(
            DATABASE_URL=database_url,
            log_level="warning",
            body_timeout_s=TIMEOUT_S,
            body_min_bytes_per_s=MIN_BYTES_PER_S,
        )
    )
    recorder = ProblemRecorder(app)  # its 408s must be in the OpenAPI document too
    RECORDERS.append(recorder)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(recorder, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the paced server did not start"
        time.sleep(0.02)
    yield port
    server.should_exit = True
    thread.join(timeout=10)


def _rows(count: int) -> bytes:
    return "".join(
        f"2024-11-27,honorarium_adhoc,pemungutan_suara,TPS {n:05d},850000,Warga {n},KW-{n},{EVIDENCE}\n"
        for n in range(1, count + 1)
    ).encode()


def _request(method: str, path: str, headers: dict[str, str], length: int) -> bytes:
    lines = [f"{method} /api/v1{path} HTTP/1.1", "Host: x", f"Content-Length: {length}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _answer_and_close(connection: socket.socket) -> tuple[int, dict[str, str], dict[str, Any]]:
    """Everything the server sends until it closes the connection: status, headers, the JSON body."""
    connection.settimeout(10)
    received = b""
    while chunk := connection.recv(65536):
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, value in (line.split(":", 1) for line in header_lines)}
    return int(status_line.split(" ")[1]), headers, json.loads(body) if body else {}


def _assert_cut(status: int, headers: dict[str, str], problem: dict[str, Any], waited: float) -> None:
    assert (status, problem.get("code")) == (408, "request_timeout"), (status, problem)
    assert headers["content-type"] == "application/problem+json"
    assert headers["connection"] == "close"
    assert TIMEOUT_S * 0.8 < waited < TIMEOUT_S + 1.5, waited


def _open_transactions(db: psycopg.Connection[Any]) -> int:
    row = db.execute(IN_TRANSACTION).fetchone()
    assert row is not None
    return int(row[0])


def test_an_import_that_stalls_is_cut_rolled_back_and_its_connection_released(
    client: httpx.Client,
    paced: int,
    paid: Grant,
    recipient: dict[str, str],
    db: psycopg.Connection[Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    report = new_report(client, paid, recipient)
    rows = _rows(1500)  # ~150 KB: past the bytes the server takes before the import's route runs
    headers = {**recipient, "Content-Type": "text/csv"}
    caplog.set_level(logging.INFO)
    with nothing_written(db), socket.create_connection(("127.0.0.1", paced)) as connection:
        url = f"/usage-reports/{report['id']}/items/import"
        connection.sendall(_request("POST", url, headers, len(HEADER) + 2 * len(rows)) + HEADER + rows)
        stalled = time.monotonic()
        time.sleep(TIMEOUT_S / 2)
        assert _open_transactions(db) >= 1  # inside the import: COPY under way in its transaction
        status, answer_headers, problem = _answer_and_close(connection)
        _assert_cut(status, answer_headers, problem, time.monotonic() - stalled)
        assert _open_transactions(db) == 0
    assert db.execute("SELECT item_count, total FROM usage_report WHERE id = %s", (report["id"],)).fetchone() == (0, 0)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], [r.getMessage() for r in caplog.records]


@pytest.mark.parametrize("route", ["items import", "regions import", "json"])
def test_headers_then_a_withheld_body_hold_no_database_connection(
    client: httpx.Client, paced: int, paid: Grant, recipient: dict[str, str], db: psycopg.Connection[Any], route: str
) -> None:
    """Each route that reads a body: the streamed import, the regions import (which reads its body inside its
    transaction) and a JSON write; the client sends its headers and the body's first bytes, then nothing."""
    if route == "items import":
        report = new_report(client, paid, recipient)
        url, start = f"/usage-reports/{report['id']}/items/import", HEADER + _rows(5)
        headers = {**recipient, "Content-Type": "text/csv"}
    elif route == "regions import":
        url, headers, start = "/regions/import", {**paid.admin, "Content-Type": "text/csv"}, b"code,name\n35.7"
    else:
        url, start = f"/agreements/{paid.agreement_id}/disbursements", _disbursement("SP2D-WITHHELD")[:30]
        headers = {**paid.finance, "Content-Type": "application/json", "Idempotency-Key": uuid.uuid4().hex}
    with nothing_written(db), socket.create_connection(("127.0.0.1", paced)) as connection:
        connection.sendall(_request("POST", url, headers, 1_000_000) + start)
        stalled = time.monotonic()
        time.sleep(TIMEOUT_S / 2)
        assert _open_transactions(db) == 0  # the route has not run: no connection taken for a dawdling client
        status, answer_headers, problem = _answer_and_close(connection)
    _assert_cut(status, answer_headers, problem, time.monotonic() - stalled)


def _disbursement(sp2d: str) -> bytes:
    return json.dumps({"tranche": 1, "amount": "1000.00", "paid_on": "2024-01-10", "sp2d_number": sp2d}).encode()


def test_a_json_body_trickled_under_the_minimum_rate_is_cut(
    paced: int, paid: Grant, db: psycopg.Connection[Any]
) -> None:
    """A byte every 0.3 s never waits the 1 s idle timeout, but averages ~3 bytes/s, far under 100."""
    body = _disbursement("SP2D-TRICKLE")
    headers = {**paid.finance, "Content-Type": "application/json", "Idempotency-Key": uuid.uuid4().hex}
    url = f"/agreements/{paid.agreement_id}/disbursements"
    with nothing_written(db), socket.create_connection(("127.0.0.1", paced)) as connection:
        connection.sendall(_request("POST", url, headers, len(body)))
        started = time.monotonic()

        def trickle() -> None:
            try:
                for byte in body[: int(4 / 0.3)]:  # for 4 s at most, then silence (the idle timeout's business)
                    connection.sendall(bytes([byte]))
                    time.sleep(0.3)
            except OSError:
                pass  # cut off, as it should be

        sender = threading.Thread(target=trickle)
        sender.start()
        status, answer_headers, problem = _answer_and_close(connection)
        waited = time.monotonic() - started
        sender.join()
    _assert_cut(status, answer_headers, problem, waited)


def test_a_json_body_that_stops_is_cut(paced: int, paid: Grant, db: psycopg.Connection[Any]) -> None:
    body = _disbursement("SP2D-STOPPED")
    headers = {**paid.finance, "Content-Type": "application/json", "Idempotency-Key": uuid.uuid4().hex}
    url = f"/agreements/{paid.agreement_id}/disbursements"
    with nothing_written(db), socket.create_connection(("127.0.0.1", paced)) as connection:
        connection.sendall(_request("POST", url, headers, len(body)) + body[:20])
        stopped = time.monotonic()
        status, answer_headers, problem = _answer_and_close(connection)
    _assert_cut(status, answer_headers, problem, time.monotonic() - stopped)


def _send_steadily(connection: socket.socket, head: bytes, body: bytes, pieces: int, gap_s: float) -> None:
    connection.sendall(head)
    size = -(-len(body) // pieces)
    for start in range(0, len(body), size):
        time.sleep(gap_s)
        connection.sendall(body[start : start + size])


def test_bodies_sent_slowly_but_steadily_are_taken(
    client: httpx.Client, paced: int, paid: Grant, recipient: dict[str, str], db: psycopg.Connection[Any]
) -> None:
    """Each longer in all than the timeout, no wait as long, and faster than the minimum rate."""
    report = new_report(client, paid, recipient)
    csv = HEADER + _rows(3000)  # ~300 KB in 4 pieces, 0.4 s apart: 1.6 s in all
    url = f"/usage-reports/{report['id']}/items/import"
    headers = {**recipient, "Content-Type": "text/csv", "Connection": "close"}
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", paced)) as connection:
        _send_steadily(connection, _request("POST", url, headers, len(csv)), csv, pieces=4, gap_s=0.4)
        status, _, imported = _answer_and_close(connection)
    assert time.monotonic() - started > 1.5 * TIMEOUT_S
    assert status == 201, imported
    assert imported["rows"] == 3000
    assert db.execute("SELECT count(*) FROM usage_item WHERE report_id = %s", (report["id"],)).fetchone() == (3000,)

    body = _disbursement("SP2D-STEADY")  # ~90 bytes in 3 pieces, 0.4 s apart: 1.2 s, under 1 s + 90 B / 100 B/s
    headers = {**paid.finance, "Content-Type": "application/json", "Idempotency-Key": uuid.uuid4().hex}
    headers["Connection"] = "close"
    url = f"/agreements/{paid.agreement_id}/disbursements"
    with socket.create_connection(("127.0.0.1", paced)) as connection:
        _send_steadily(connection, _request("POST", url, headers, len(body)), body, pieces=3, gap_s=0.4)
        status, _, paid_now = _answer_and_close(connection)
    assert status == 201, paid_now
    assert db.execute("SELECT count(*) FROM disbursement WHERE sp2d_number = 'SP2D-STEADY'").fetchone() == (1,)
