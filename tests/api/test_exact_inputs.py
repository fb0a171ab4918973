"""Money and dates exactly as documented, with the same verdict on every way in.

One table of inputs, written out by hand, goes through each path that takes money or a date: a JSON
disbursement, a JSON batch of items, a CSV import and an NDJSON import (and, for dates, the query
parameters). Each path must accept what the table accepts and refuse the rest, naming the field, leaving
nothing behind; the patterns the served OpenAPI document publishes must give the same verdict on the text.
"""

import csv
import io
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import psycopg
import pytest

from tests.helpers import Grant, Headers, assert_problem, item, money_headers, new_report, nothing_written

MAX = Decimal("1000000000000000.00")

# (input, accepted?) — strings go through every path; typed JSON values only where JSON carries them.
MONEY_TEXT: list[tuple[str, bool]] = [
    ("1", True),
    ("150000", True),
    ("1.5", True),
    ("1.50", True),
    ("0.01", True),
    ("23116413980.00", True),
    ("0100.25", True),  # padding the pattern allows: 16 digits at most
    ("1000000000000000.00", True),
    ("1000000000000000", True),
    (" 1", False),
    ("1 ", False),
    ("\t1", False),
    ("1\n", False),
    ("+1", False),
    ("-1", False),
    ("-0", False),
    (".5", False),
    ("5.", False),
    ("00000000000000001.00", False),  # 17 digits
    ("\u0661\u0662", False),  # Arabic-Indic 12
    ("\uff11\uff12", False),  # fullwidth 12
    ("\u0967", False),  # Devanagari 1
    ("1.001", False),
    ("1.500", False),
    ("0", False),
    ("0.00", False),
    ("1e3", False),
    ("1E3", False),
    ("1,000", False),
    ("1.000,00", False),
    ("1_000", False),
    ("Rp1000", False),
    ("NaN", False),
    ("Infinity", False),
    ("0x10", False),
    ("1000000000000000.01", False),
    ("9999999999999999.99", False),
    ("", False),
]
MONEY_TYPED: list[tuple[Any, bool]] = [
    (1, True),
    (23116413980, True),
    (10**15, True),
    (0, False),
    (-5, False),
    (10**15 + 1, False),
    (10**16, False),
    (1.5, False),
    (1.0, False),
    (True, False),
    (None, False),
    (["1"], False),
    ({"amount": "1"}, False),
]
DATE_TEXT: list[tuple[str, bool]] = [
    ("2024-03-01", True),
    ("2024-02-29", True),  # a leap day
    ("2024-03-01T00:00:00", False),
    ("2024-03-01T00:00:00Z", False),
    ("2024-03-01 00:00:00", False),
    ("2024-03-01Z", False),
    (" 2024-03-01", False),
    ("2024-03-01 ", False),
    ("2024-3-1", False),
    ("20240301", False),
    ("2024-W09-5", False),
    ("01-03-2024", False),
    ("2024/03/01", False),
    ("2023-02-29", False),
    ("2024-13-01", False),
    ("2024-00-10", False),
    ("2024-04-31", False),
    ("+2024-03-01", False),
    ("\u0662\u0660\u0662\u0664-\u0660\u0663-\u0660\u0661", False),  # Arabic-Indic digits
    ("\uff12\uff10\uff12\uff14-\uff10\uff13-\uff10\uff11", False),  # fullwidth digits
    ("0", False),
    ("1709251200", False),
    ("", False),
]
DATE_TYPED: list[tuple[Any, bool]] = [(0, False), (1709251200, False), (20240301, False), (True, False), (None, False)]
# Every accepted date lies in the report's period (2023-12-04 .. 2025-03-31), so the verdicts are the format's.
SECOND_ITEM_DATE = "2024-11-27"


@dataclass(frozen=True)
class Target:
    """A way in: send one value of ``field``; the verdict is whether the answer refuses that field."""

    send: Callable[[httpx.Client, Any], httpx.Response]
    refused_field: str
    """The field a refusal must name: ``amount``, ``items.0.amount``, ``rows[1].amount`` ..."""


@dataclass(frozen=True)
class Scene:
    client: httpx.Client
    grant: Grant
    recipient: Headers
    report_id: int


@pytest.fixture
def scene(client: httpx.Client, paid: Grant, recipient: Headers) -> Scene:
    return Scene(client, paid, recipient, new_report(client, paid, recipient)["id"])


def _disbursement(scene: Scene, field: str) -> Target:
    def send(http: httpx.Client, value: Any) -> httpx.Response:
        body = {"tranche": 1, "amount": "1000", "paid_on": "2024-03-01", "sp2d_number": f"SP2D-{uuid.uuid4().hex}"}
        body[field] = value
        url = f"/agreements/{scene.grant.agreement_id}/disbursements"
        return http.post(url, json=body, headers=money_headers(scene.grant.finance))

    return Target(send, field)


def _json_items(scene: Scene, field: str) -> Target:
    def send(http: httpx.Client, value: Any) -> httpx.Response:
        row: dict[str, Any] = item("1000")
        row[field] = value
        return http.post(f"/usage-reports/{scene.report_id}/items", json={"items": [row]}, headers=scene.recipient)

    return Target(send, f"items.0.{field}")


def _csv_import(scene: Scene, field: str) -> Target:
    def send(http: httpx.Client, value: Any) -> httpx.Response:
        row: dict[str, Any] = item("1000")
        row[field] = value
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(row), lineterminator="\n")
        writer.writeheader()
        writer.writerow(row)
        writer.writerow(item("1000", spent_on=SECOND_ITEM_DATE))  # a good row beside it, which must not go in alone
        headers = {**scene.recipient, "Content-Type": "text/csv"}
        return http.post(f"/usage-reports/{scene.report_id}/items/import", content=buffer.getvalue(), headers=headers)

    return Target(send, f"rows[1].{field}")


def _ndjson_import(scene: Scene, field: str) -> Target:
    def send(http: httpx.Client, value: Any) -> httpx.Response:
        row: dict[str, Any] = item("1000")
        row[field] = value
        lines = [json.dumps(row), json.dumps(item("1000", spent_on=SECOND_ITEM_DATE))]
        headers = {**scene.recipient, "Content-Type": "application/x-ndjson"}
        content = "\n".join(lines) + "\n"
        return http.post(f"/usage-reports/{scene.report_id}/items/import", content=content, headers=headers)

    return Target(send, f"rows[1].{field}")


WAYS_IN: dict[str, Callable[[Scene, str], Target]] = {
    "JSON disbursement": _disbursement,
    "JSON items": _json_items,
    "CSV import": _csv_import,
    "NDJSON import": _ndjson_import,
}
TYPED_WAYS = ("JSON disbursement", "JSON items", "NDJSON import")
"""CSV cells have no types: it takes the text table only."""


def _taken_as_money(response: httpx.Response) -> bool:
    """Stored; or, for a payment too large for the grant, refused by the ledger's rule, not for its form."""
    if response.status_code == 409:
        return bool(response.json()["code"] == "over_disbursement")
    return response.status_code == 201


def _verdicts(scene: Scene, db: psycopg.Connection[Any], target: Target, cases: list[tuple[Any, bool]]) -> list[str]:
    """Where the path disagrees with the table: each accepted value stored as it is, each refused one
    refused as a 422 naming the field, with nothing written."""
    wrong = []
    for value, accepted in cases:
        if accepted:
            response = target.send(scene.client, value)
            if not _taken_as_money(response):
                wrong.append(f"{value!r}: refused ({response.status_code} {response.text[:300]})")
            continue
        with nothing_written(db):
            response = target.send(scene.client, value)
        if response.status_code != 422:
            wrong.append(f"{value!r}: accepted ({response.status_code})")
            continue
        body = assert_problem(response, 422)
        if target.refused_field not in {error["field"] for error in body["errors"]}:
            wrong.append(f"{value!r}: refused, but not for {target.refused_field}: {body['errors']}")
    return wrong


@pytest.mark.parametrize("way", list(WAYS_IN))
def test_money_gets_the_same_verdict_on_every_way_in(scene: Scene, db: psycopg.Connection[Any], way: str) -> None:
    cases: list[tuple[Any, bool]] = [*MONEY_TEXT, *(MONEY_TYPED if way in TYPED_WAYS else [])]
    wrong = _verdicts(scene, db, WAYS_IN[way](scene, "amount"), cases)
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("way", list(WAYS_IN))
def test_dates_get_the_same_verdict_on_every_way_in(scene: Scene, db: psycopg.Connection[Any], way: str) -> None:
    field = "paid_on" if way == "JSON disbursement" else "spent_on"
    cases: list[tuple[Any, bool]] = [*DATE_TEXT, *(DATE_TYPED if way in TYPED_WAYS else [])]
    wrong = _verdicts(scene, db, WAYS_IN[way](scene, field), cases)
    assert not wrong, "\n".join(wrong)


def test_accepted_amounts_are_stored_exactly(scene: Scene, db: psycopg.Connection[Any]) -> None:
    """What goes in is what is kept, to the sen, on the JSON and the import paths alike."""
    accepted = [text for text, ok in MONEY_TEXT if ok]
    lines = "".join(json.dumps(item(text, description=f"ndjson {n}")) + "\n" for n, text in enumerate(accepted))
    headers = {**scene.recipient, "Content-Type": "application/x-ndjson"}
    imported = scene.client.post(f"/usage-reports/{scene.report_id}/items/import", content=lines, headers=headers)
    assert imported.status_code == 201, imported.text
    batch = [item(text, description=f"json {n}") for n, text in enumerate(accepted)]
    added = scene.client.post(f"/usage-reports/{scene.report_id}/items", json={"items": batch}, headers=scene.recipient)
    assert added.status_code == 201, added.text
    stored = dict(db.execute("SELECT description, amount FROM usage_item").fetchall())
    for n, text in enumerate(accepted):
        assert stored[f"ndjson {n}"] == stored[f"json {n}"] == Decimal(text), text


# --- query parameters --------------------------------------------------------------------------------


DATE_QUERIES: dict[str, tuple[str, str]] = {
    "findings as_of": ("/compliance/findings", "as_of"),
    "items spent_from": ("/usage-reports/{report_id}/items", "spent_from"),
    "items spent_to": ("/usage-reports/{report_id}/items", "spent_to"),
    "usage-items export spent_from": ("/exports/usage-items.csv", "spent_from"),
    "findings export as_of": ("/exports/findings.xlsx", "as_of"),
}


@pytest.mark.parametrize("query", list(DATE_QUERIES))
def test_dates_in_query_parameters_are_as_in_bodies(scene: Scene, query: str) -> None:
    path, name = DATE_QUERIES[query]
    path = path.format(report_id=scene.report_id)
    wrong = []
    for text, accepted in [*DATE_TEXT, ("1999-12-31", False), ("2101-01-01", False)]:
        if text == "":
            continue  # an empty parameter is the parameter left out
        response = scene.client.get(path, params={name: text}, headers=scene.recipient)
        if accepted and response.status_code != 200:
            wrong.append(f"{text!r}: refused ({response.status_code} {response.text[:200]})")
        elif not accepted:
            if response.status_code != 422:
                wrong.append(f"{text!r}: accepted ({response.status_code})")
            else:
                assert_problem(response, 422, "validation_error", name)
    assert not wrong, "\n".join(wrong)


# --- what the OpenAPI document publishes ----------------------------------------------------------------


def _documented_money(pattern: str, text: str) -> bool:
    return re.fullmatch(pattern, text) is not None and Decimal("0") < Decimal(text) <= MAX


def _documented_date(pattern: str, text: str) -> bool:
    if re.fullmatch(pattern, text) is None:
        return False
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return False
    return date(2000, 1, 1) <= day <= date(2100, 12, 31)


def test_the_published_patterns_give_the_table_s_verdicts(server_address: str) -> None:
    """A generated client that checks the documented pattern (with the documented bounds) agrees with the table."""
    schemas = httpx.get(f"{server_address}/openapi.json").json()["components"]["schemas"]
    amount = next(option for option in schemas["DisbursementCreate"]["properties"]["amount"]["anyOf"])
    assert amount["type"] == "string"
    spent_on = schemas["ItemIn"]["properties"]["spent_on"]
    paid_on = schemas["DisbursementCreate"]["properties"]["paid_on"]
    assert spent_on["pattern"] == paid_on["pattern"]
    assert [_documented_money(amount["pattern"], text) for text, _ in MONEY_TEXT] == [ok for _, ok in MONEY_TEXT]
    assert [_documented_date(spent_on["pattern"], text) for text, _ in DATE_TEXT] == [ok for _, ok in DATE_TEXT]


YEAR_TEXT: list[tuple[str, bool]] = [
    ("2024", True),
    ("2000", True),
    ("2024.0", False),
    (" 2024", False),
    ("2024 ", False),
    ("+2024", False),
    ("2_024", False),
    ("02024", False),
    ("24", False),
    ("1999", False),
    ("2101", False),
    ("\u0662\u0660\u0662\u0664", False),
    ("2024-01-01", False),
]


@pytest.mark.parametrize("path", ["/agreements", "/elections", "/summaries", "/exports/agreements.csv"])
def test_a_year_is_four_digits(client: httpx.Client, path: str) -> None:
    wrong = []
    for text, accepted in YEAR_TEXT:
        response = client.get(path, params={"year": text})
        if accepted and response.status_code != 200:
            wrong.append(f"{text!r}: refused ({response.status_code} {response.text[:200]})")
        elif not accepted:
            if response.status_code != 422:
                wrong.append(f"{text!r}: accepted ({response.status_code})")
            else:
                assert_problem(response, 422, "validation_error", "year")
    assert not wrong, "\n".join(wrong)


def test_a_csv_with_crlf_line_ends_keeps_its_last_cell_exact(scene: Scene) -> None:
    """Amounts are no longer trimmed, so the line end must not stick to a last column (Excel writes CRLF)."""
    rows = [
        "spent_on,category,stage,description,amount",
        *(f"2024-11-27,honorarium_adhoc,pemungutan_suara,x{n},1.5" for n in range(3)),
    ]
    headers = {**scene.recipient, "Content-Type": "text/csv"}
    url = f"/usage-reports/{scene.report_id}/items/import"
    imported = scene.client.post(url, content="\r\n".join(rows) + "\r\n", headers=headers)
    assert imported.status_code == 201, imported.text
    assert imported.json()["total"] == "4.50"
