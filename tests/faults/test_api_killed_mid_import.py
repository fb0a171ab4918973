"""The API killed (kill -9, workers and all) in the middle of an item import (issue #11): nothing of the import is
in the database, and a new ``serve`` on the same directory takes the same import whole."""

import socket
import threading
import time

import httpx
import psycopg
import pytest

from tests.faults.harness import API, Server, Setup, created, database_url, serve
from tests.helpers import EVIDENCE

pytestmark = pytest.mark.slow

HEADER = "spent_on,category,stage,description,amount,payee,document_number,evidence_sha256\n"


def _rows(count: int) -> bytes:
    return "".join(
        f"2024-11-27,honorarium_adhoc,pemungutan_suara,TPS {n:05d},850000,Warga {n},KW-{n},{EVIDENCE}\n"
        for n in range(1, count + 1)
    ).encode()


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
    sending = threading.Event()

    def importer() -> None:
        with socket.create_connection(("127.0.0.1", server.port)) as connection:
            connection.sendall(
                f"POST {API}/usage-reports/{report['id']}/items/import HTTP/1.1\r\nHost: x\r\n"
                f"Authorization: {setup.recipient['Authorization']}\r\nContent-Type: text/csv\r\n"
                f"Content-Length: {len(HEADER) + len(rows) * 4}\r\n\r\n".encode()
                + HEADER.encode()
                + rows
            )
            sending.set()
            try:
                for _ in range(3):  # the rest of the body, slowly: the API dies while it reads
                    time.sleep(0.5)
                    connection.sendall(rows)
                connection.recv(1024)
            except OSError:
                pass

    thread = threading.Thread(target=importer)
    thread.start()
    sending.wait(10)
    time.sleep(0.7)
    server.kill_api()
    thread.join(timeout=30)

    with psycopg.connect(database_url(server), autocommit=True) as connection:
        assert connection.execute(
            "SELECT count(*) FROM usage_item WHERE report_id = %s", (report["id"],)
        ).fetchone() == (0,)
        assert connection.execute(
            "SELECT item_count, total FROM usage_report WHERE id = %s", (report["id"],)
        ).fetchone() == (0, 0)

    # A new serve on the same directory (its PostgreSQL kept running) takes the import whole.
    again = serve(server.workdir, workers=2, db_pool_size="4", export_slots="2")
    server.process, server.port, server.log = again.process, again.port, again.log
    with httpx.Client(base_url=server.base + API, timeout=60) as http:
        whole = http.post(
            f"/usage-reports/{report['id']}/items/import",
            content=HEADER.encode() + rows,
            headers={**setup.recipient, "Content-Type": "text/csv"},
        )
        assert whole.status_code in (200, 201), whole.text
        assert http.get(f"/usage-reports/{report['id']}", headers=setup.recipient).json()["item_count"] == 5000
