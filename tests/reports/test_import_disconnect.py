"""A client that leaves in the middle of an import (issue #11): nothing of it is written, and the server says so
in one INFO line, not an ERROR with a traceback."""

import logging
import socket
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
import psycopg
import pytest

from tests.helpers import EVIDENCE, Grant, new_report

HEADER = "spent_on,category,stage,description,amount,payee,document_number,evidence_sha256\n"


def test_a_client_gone_mid_import_leaves_nothing_and_no_error(
    client: httpx.Client,
    server_address: str,
    paid: Grant,
    recipient: dict[str, str],
    db: psycopg.Connection[Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    report = new_report(client, paid, recipient)
    rows = "".join(
        f"2024-11-27,honorarium_adhoc,pemungutan_suara,TPS {n:03d},850000,Warga {n},KW-{n},{EVIDENCE}\n"
        for n in range(1, 2001)
    ).encode()
    address = urlsplit(server_address)
    caplog.set_level(logging.INFO)
    with socket.create_connection((address.hostname, address.port)) as connection:
        connection.sendall(
            f"POST /api/v1/usage-reports/{report['id']}/items/import HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: {recipient['Authorization']}\r\nContent-Type: text/csv\r\n"
            f"Content-Length: {len(HEADER) + len(rows) * 10}\r\n\r\n".encode()
            + HEADER.encode()
            + rows
        )
        time.sleep(0.5)  # the server is reading the body, inside the import's transaction
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not any("client went away" in r.getMessage() for r in caplog.records):
        time.sleep(0.05)

    gone = [r for r in caplog.records if "client went away" in r.getMessage()]
    assert gone and all(r.levelno == logging.INFO for r in gone)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], [r.getMessage() for r in caplog.records]
    assert db.execute("SELECT count(*) FROM usage_item").fetchone() == (0,)
    assert db.execute("SELECT item_count, total FROM usage_report WHERE id = %s", (report["id"],)).fetchone() == (
        0,
        0,
    )
    # The server goes on: the same import, sent whole, is taken.
    whole = client.post(
        f"/usage-reports/{report['id']}/items/import",
        content=HEADER.encode() + rows,
        headers={**recipient, "Content-Type": "text/csv"},
    )
    assert whole.status_code in (200, 201), whole.text
