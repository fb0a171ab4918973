"""The streamed item import (CSV or NDJSON): all or nothing, with a per-row error list."""

import hashlib
import json
from typing import Any

import httpx
import psycopg

from tests.helpers import EVIDENCE, Grant, assert_problem, count, item, new_report

HEADER = "spent_on,category,stage,description,amount,payee,document_number,evidence_sha256\n"


def test_csv_import_all_or_nothing(
    client: httpx.Client, paid: Grant, recipient: dict[str, str], db: psycopg.Connection[Any]
) -> None:
    report = new_report(client, paid, recipient)
    url = f"/usage-reports/{report['id']}/items/import"
    good = HEADER + "".join(
        f'2024-11-27,honorarium_adhoc,pemungutan_suara,"Honorarium Anggota KPPS, TPS {n:03d}",850000,'
        f"Warga {n},KW-{n},{EVIDENCE}\n"
        for n in range(1, 251)
    )
    bad_lines = good.splitlines()
    bad_lines[3] = "2024-02-30,honorarium_adhoc,pemungutan_suara,x,850000,,,"
    bad_lines[7] = "2024-11-27,makan,pesta,,-5,,,nothex"
    rejected = client.post(url, content="\n".join(bad_lines) + "\n", headers={**recipient, "Content-Type": "text/csv"})
    body = assert_problem(rejected, 422, "import_rejected")
    assert body["bad_rows"] == 2
    rows = body["rows"]
    assert {(row["row"], row["column"]) for row in rows} == {
        (3, "spent_on"),
        (7, "amount"),
        (7, "category"),
        (7, "description"),
        (7, "evidence_sha256"),
        (7, "stage"),
    }
    assert count(db, "usage_item") == 0
    imported = client.post(url, content=good, headers={**recipient, "Content-Type": "text/csv"})
    assert imported.status_code == 201, imported.text
    result = imported.json()
    assert (result["rows"], result["total"]) == (250, "212500000.00")
    assert result["sha256"] == hashlib.sha256(good.encode()).hexdigest()
    assert result["report"]["item_count"] == 250
    event = db.execute("SELECT payload FROM audit_event WHERE action = 'usage_item.import'").fetchone()
    assert event is not None
    assert (event[0]["rows"], event[0]["sha256"]) == (250, result["sha256"])


def test_csv_header_and_shape_are_checked(
    client: httpx.Client, paid: Grant, recipient: dict[str, str], db: psycopg.Connection[Any]
) -> None:
    report = new_report(client, paid, recipient)
    url = f"/usage-reports/{report['id']}/items/import"
    csv_headers = {**recipient, "Content-Type": "text/csv"}
    assert_problem(client.post(url, content="spent_on,amount,colour\n", headers=csv_headers), 422, "invalid_header")
    ragged = "spent_on,category,stage,description,amount\n2024-11-27,logistik,logistik,x,1,extra\n"
    body = assert_problem(client.post(url, content=ragged, headers=csv_headers), 422, "import_rejected")
    assert body["rows"][0]["row"] == 1
    assert_problem(
        client.post(url, content="spent_on,category,stage,description,amount\n", headers=csv_headers),
        422,
        "import_empty",
    )
    assert_problem(client.post(url, content=b"\xff\xfe", headers=csv_headers), 422, "invalid_header")
    assert_problem(
        client.post(url, content="{}", headers={**recipient, "Content-Type": "application/pdf"}),
        415,
        "unsupported_media_type",
    )
    assert count(db, "usage_item") == 0


def test_ndjson_import(
    client: httpx.Client, paid: Grant, recipient: dict[str, str], db: psycopg.Connection[Any]
) -> None:
    report = new_report(client, paid, recipient)
    url = f"/usage-reports/{report['id']}/items/import"
    headers = {**recipient, "Content-Type": "application/x-ndjson"}
    lines = [json.dumps(item(str(100 + n))) for n in range(50)]
    broken = [
        *lines[:10],
        "not json",
        json.dumps({**item(), "colour": "red"}),
        json.dumps({**item(), "amount": True}),
        *lines[10:],
    ]
    body = assert_problem(client.post(url, content="\n".join(broken), headers=headers), 422, "import_rejected")
    assert body["bad_rows"] == 3
    assert [row["row"] for row in body["rows"]] == [11, 12, 13]
    imported = client.post(url, content="\n".join(lines) + "\n", headers=headers)
    assert imported.status_code == 201, imported.text
    assert imported.json()["rows"] == 50
    assert count(db, "usage_item") == 50


def test_ndjson_lines_that_are_too_long_or_too_deep_are_row_errors(
    client: httpx.Client, paid: Grant, recipient: dict[str, str]
) -> None:
    report = new_report(client, paid, recipient)
    lines = [
        json.dumps(item()),
        "[" * 100_000,
        json.dumps({**item(), "description": "x" * 70_000}),
        json.dumps({**item(), "payee": "a\u0000b"}),
    ]
    response = client.post(
        f"/usage-reports/{report['id']}/items/import",
        content="\n".join(lines),
        headers={**recipient, "Content-Type": "application/x-ndjson"},
    )
    body = assert_problem(response, 422, "import_rejected")
    assert body["bad_rows"] == 3
    assert [row["row"] for row in body["rows"]] == [2, 3, 4]


def test_an_import_retried_with_its_key_is_not_imported_twice(
    client: httpx.Client, paid: Grant, recipient: dict[str, str], db: psycopg.Connection[Any]
) -> None:
    report = new_report(client, paid, recipient)
    url = f"/usage-reports/{report['id']}/items/import"
    body = HEADER + f"2024-11-27,logistik,logistik,Kotak suara,1000,,,{EVIDENCE}\n"
    headers = {**recipient, "Content-Type": "text/csv", "Idempotency-Key": "upload-1"}
    first = client.post(url, content=body, headers=headers)
    again = client.post(url, content=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert count(db, "usage_item") == 1
