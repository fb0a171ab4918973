"""The API killed (kill -9, workers and all) in the middle of an item import (issue #11): nothing of the import is
in the database, and nothing is left holding the report, so the same import can be sent again whole.

It kills the package's shared server, so it runs after the other fault tests (tests/faults/conftest.py)."""

import socket
import threading
import time
from typing import Any

import httpx
import psycopg
import pytest

from tests.faults.harness import API, Server, Setup, created, database_url
from tests.helpers import EVIDENCE

pytestmark = pytest.mark.slow

HEADER = "spent_on,category,stage,description,amount,payee,document_number,evidence_sha256\n"
COPYING = "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'hibah' AND query LIKE 'COPY %'"
IN_TRANSACTION = "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'hibah' AND xact_start IS NOT NULL"


def _rows(count: int) -> bytes:
    return "".join(
        f"2024-11-27,honorarium_adhoc,pemungutan_suara,TPS {n:05d},850000,Warga {n},KW-{n},{EVIDENCE}\n"
        for n in range(1, count + 1)
    ).encode()


def _wait_for(connection: psycopg.Connection[Any], query: str, expected: int, seconds: float) -> int:
    deadline = time.monotonic() + seconds
    while True:
        row = connection.execute(query).fetchone()
        assert row is not None
        if row[0] == expected or time.monotonic() > deadline:
            return int(row[0])
        time.sleep(0.05)


def test_api_killed_mid_import_leaves_nothing_partial(server: Server, setup: Setup) -> None:
    with httpx.Client(base_url=server.base + API, timeout=30) as http:
        report = created(
            http.post(
                f"/agreements/{setup.agreement_id}/usage-reports",
                json={"kind": "interim", "title": "Import", "period_start": "2023-12-04", "period_end": "2025-03-31"},
                headers=setup.recipient,
            )
        )
    rows = _rows(5000)
    stop = threading.Event()

    def importer() -> None:
        with socket.create_connection(("127.0.0.1", server.port)) as connection:
            connection.sendall(
                f"POST {API}/usage-reports/{report['id']}/items/import HTTP/1.1\r\nHost: x\r\n"
                f"Authorization: {setup.recipient['Authorization']}\r\nContent-Type: text/csv\r\n"
                f"Content-Length: {len(HEADER) + len(rows) * 4}\r\n\r\n".encode()
                + HEADER.encode()
                + rows
            )
            try:
                while not stop.wait(0.3):  # the rest of the body, slowly (within the body timeout): never finished
                    connection.sendall(rows[:2000])
            except OSError:
                pass

    thread = threading.Thread(target=importer)
    thread.start()
    with psycopg.connect(database_url(server), autocommit=True) as db:
        try:
            assert _wait_for(db, COPYING, 1, 10) == 1, "the import's COPY never started"  # so the kill is mid-import
            server.kill_api()
        finally:
            stop.set()
            thread.join(timeout=30)
        # The killed API's transaction ends with its connection: rolled back, nothing of it kept.
        assert _wait_for(db, IN_TRANSACTION, 0, 10) == 0
        assert db.execute("SELECT count(*) FROM usage_item WHERE report_id = %s", (report["id"],)).fetchone() == (0,)
        assert db.execute(
            "SELECT status, item_count, total FROM usage_report WHERE id = %s", (report["id"],)
        ).fetchone() == ("draft", 0, 0)
        # Nothing holds the report: a new import (what a restarted API would run) could lock it at once.
        with db.transaction():
            db.execute("SELECT 1 FROM usage_report WHERE id = %s FOR UPDATE NOWAIT", (report["id"],))
