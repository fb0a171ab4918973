"""What many test modules share: the check of a problem response, table snapshots, request bodies that are
accepted as they stand, and builders for the records a test needs before the request it is about."""

import hashlib
import io
import os
import re
import secrets
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import openpyxl
import psycopg
import pytest

Headers = dict[str, str]
Body = dict[str, Any]
KeyMaker = Callable[..., Headers]

# --- problems --------------------------------------------------------------------------------------

PROBLEM_MEMBERS = {"type", "title", "status", "detail", "instance", "code", "errors"}
TEXT_MEMBERS = PROBLEM_MEMBERS - {"status", "errors"}


def assert_problem(
    response: httpx.Response,
    status: int | set[int],
    code: str | None = None,
    field: str | None = None,
    *,
    errors_required: bool = True,
) -> dict[str, Any]:
    """An RFC 9457 problem (DESIGN §3) with every member filled in and nothing of the server's internals.

    ``status`` is a set where a case allows more than one answer; ``field`` must be among ``errors``.
    A validation problem must name at least one field unless ``errors_required`` is off.
    """
    allowed = {status} if isinstance(status, int) else status
    assert response.status_code in allowed, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body: dict[str, Any] = response.json()
    assert body.keys() >= PROBLEM_MEMBERS, body
    assert body["status"] == response.status_code
    assert body["instance"] == response.request.url.path
    assert all(isinstance(body[member], str) and body[member] for member in TEXT_MEMBERS), body
    assert "Traceback" not in response.text
    if code is not None:
        assert body["code"] == code, body
    _assert_field_errors(body, field, errors_required=errors_required)
    return body


def _assert_field_errors(body: dict[str, Any], field: str | None, *, errors_required: bool) -> None:
    if body["code"] == "validation_error" and errors_required:
        assert body["errors"], body
    for error in body["errors"]:
        assert isinstance(error["field"], str) and error["field"], body
        assert isinstance(error["message"], str) and error["message"], body
    if field is not None:
        assert field in {error["field"] for error in body["errors"]}, body


# --- what is stored --------------------------------------------------------------------------------

Snapshot = dict[str, list[tuple[Any, ...]]]


def snapshot(db: psycopg.Connection[Any]) -> Snapshot:
    """Every row of every table, so "changes nothing" covers tables no test knows about (the audit chain
    and the idempotency records included)."""
    tables = [
        row[0]
        for row in db.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
            " ORDER BY tablename"
        )
    ]
    return {table: db.execute(f'SELECT * FROM "{table}" ORDER BY 1').fetchall() for table in tables}


Refuses = Callable[[str, str, Body, int | set[int], str | None, str | None], dict[str, Any]]
"""``(method, path, body, status, code, field)``: as :func:`assert_problem`, sent by an admin, with nothing written."""


@contextmanager
def nothing_written(db: psycopg.Connection[Any]) -> Iterator[None]:
    """A refused request leaves no trace."""
    before = snapshot(db)
    yield
    assert snapshot(db) == before, "a refused request changed the database"


def count(db: psycopg.Connection[Any], table: str) -> int:
    row = db.execute(f"SELECT count(*) FROM {table}").fetchone()
    assert row is not None
    return int(row[0])


def last_seq(db: psycopg.Connection[Any]) -> int:
    row = db.execute("SELECT coalesce(max(seq), 0) FROM audit_event").fetchone()
    assert row is not None
    seq: int = row[0]
    return seq


def created(response: httpx.Response) -> int:
    assert response.status_code == 201, response.text
    new_id: int = response.json()["id"]
    return new_id


# --- request bodies --------------------------------------------------------------------------------

# Accepted as they stand; each bad case breaks exactly one thing in one of them.
REGION: Body = {"code": "36", "name": "Banten"}
ELECTION: Body = {
    "name": "Pemilihan Gubernur Jawa Timur 2024",
    "kind": "governor",
    "region_code": "35",
    "voting_day": "2024-11-27",
}
RECIPIENT: Body = {"name": "Polres Probolinggo Kota", "kind": "polri", "region_code": "35.74"}
KEY: Body = {"name": "BPKAD Kota Probolinggo", "role": "finance"}

LONG_NAME = "x" * 201
NUL_NAME = "a\u0000b"


def changed(base: Body, **changes: Any) -> Body:
    return {**base, **changes}


def without(base: Body, name: str) -> Body:
    return {key: value for key, value in base.items() if key != name}


# --- callers ---------------------------------------------------------------------------------------


@dataclass
class World:
    """Reference data for bad input to be refused against (the ``world`` fixture)."""

    admin: Headers
    election_id: int
    other_election_id: int
    kpu_id: int
    bawaslu_id: int
    revoked_key_id: int


@dataclass
class RoleWorld:
    """Reference data to act on, and one caller of each kind (the ``role_world`` fixture)."""

    election_id: int
    recipient_id: int
    target_key_id: int
    callers: dict[str, Headers] = field(default_factory=dict)
    key_ids: dict[str, int] = field(default_factory=dict)


ROLES = ["admin", "finance", "regional_finance", "recipient", "auditor"]
BAD_CREDENTIALS: dict[str, tuple[int, str]] = {
    "revoked": (401, "invalid_api_key"),
    "unknown": (401, "invalid_api_key"),
    "basic_scheme": (401, "malformed_credentials"),
    "bearer_without_key": (401, "malformed_credentials"),
    "key_without_scheme": (401, "malformed_credentials"),
}


def key_digest(secret: str) -> str:
    """How a key is stored (DESIGN §3, README): the hex SHA-256 of its UTF-8 text, computed here and not by the
    app's own ``hash_key``, so a change to what the app stores breaks every key the tests make."""
    return hashlib.sha256(secret.encode()).hexdigest()


def stored_key(database_url: str, role: str) -> Headers:
    """Authorization headers for a new key of ``role`` written straight into the database at ``database_url`` (a
    cluster's primary, with no test fixture's connection), stored as the service stores one."""
    secret = "hibah_" + secrets.token_urlsafe(32)
    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute(
            "INSERT INTO api_key (name, role, key_hash, prefix) VALUES (%s, %s, %s, %s)",
            (f"{role} key", role, key_digest(secret), secret[:12]),
        )
    return {"Authorization": f"Bearer {secret}"}


def secret_of(headers: Headers) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


# --- the ledger ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Grant:
    """A mayoral election in Kota Probolinggo, its KPU, a finance key, and one staged NPHD."""

    agreement_id: int
    election_id: int
    recipient_id: int
    finance: Headers
    admin: Headers


def money_headers(headers: Headers) -> Headers:
    """The headers of a money POST: a fresh Idempotency-Key each time."""
    return {**headers, "Idempotency-Key": uuid.uuid4().hex}


def another_grant(client: httpx.Client, grant: Grant, recipient: Body, **agreement: Any) -> Grant:
    """Another recipient in ``grant``'s election, with its own NPHD from the same finance office."""
    recipient_id = created(client.post("/recipients", json=recipient, headers=grant.admin))
    body = {"election_id": grant.election_id, "recipient_id": recipient_id, **agreement}
    agreement_id = created(client.post("/agreements", json=body, headers=grant.finance))
    return Grant(agreement_id, grant.election_id, recipient_id, grant.finance, grant.admin)


def pay(
    client: httpx.Client,
    grant: Grant,
    amount: str,
    sp2d: str,
    paid_on: str = "2024-01-10",
    tranche: int = 1,
    *,
    key: Headers | None = None,
) -> httpx.Response:
    """A disbursement, paid with the grant's finance key unless ``key`` is given."""
    body = {"tranche": tranche, "amount": amount, "paid_on": paid_on, "sp2d_number": sp2d}
    headers = money_headers(grant.finance if key is None else key)
    return client.post(f"/agreements/{grant.agreement_id}/disbursements", json=body, headers=headers)


def position(client: httpx.Client, grant: Grant) -> dict[str, Any]:
    response = client.get(f"/agreements/{grant.agreement_id}/position")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


# --- usage reports ---------------------------------------------------------------------------------

EVIDENCE = hashlib.sha256(b"kwitansi").hexdigest()


def item(amount: str = "900000", **changes: str) -> dict[str, str]:
    return {
        "spent_on": "2024-11-27",
        "category": "honorarium_adhoc",
        "stage": "pemungutan_suara",
        "description": "Honorarium Ketua KPPS TPS 001 Kel. Mayangan",
        "amount": amount,
        "payee": "Siti Aminah",
        "document_number": "KW-001/KPPS/2024",
        "evidence_sha256": EVIDENCE,
        **changes,
    }


def new_report(
    client: httpx.Client,
    grant: Grant,
    recipient: Headers,
    kind: str = "interim",
    *,
    title: str | None = None,
    period_start: str = "2023-12-04",
    period_end: str = "2025-03-31",
) -> dict[str, Any]:
    """A draft report, as the recipient opens it."""
    body = {
        "kind": kind,
        "title": title or f"Laporan {kind}",
        "period_start": period_start,
        "period_end": period_end,
    }
    response = client.post(f"/agreements/{grant.agreement_id}/usage-reports", json=body, headers=recipient)
    assert response.status_code == 201, response.text
    report: dict[str, Any] = response.json()
    return report


def add(client: httpx.Client, report_id: int, recipient: Headers, *items: dict[str, str]) -> httpx.Response:
    return client.post(f"/usage-reports/{report_id}/items", json={"items": list(items)}, headers=recipient)


def draft_report(
    client: httpx.Client, grant: Grant, recipient: Headers, *items: dict[str, str], **report: str
) -> dict[str, Any]:
    """A draft report holding ``items``; ``report`` as for :func:`new_report`."""
    opened = new_report(client, grant, recipient, **report)
    added = add(client, opened["id"], recipient, *items)
    assert added.status_code == 201, added.text
    return opened


# --- servers and clients --------------------------------------------------------------------------


def free_port() -> int:
    """A port nothing listens on, for a server a test starts."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class Timed:
    """A response and when its request was in flight, as the client saw it (``time.monotonic``)."""

    response: httpx.Response
    sent: float
    answered: float


def most_in_flight(timings: Sequence[Timed]) -> int:
    """How many requests were in flight at the same instant, at most (from the measured intervals)."""
    edges = sorted([(timed.sent, 1) for timed in timings] + [(timed.answered, -1) for timed in timings])
    now = peak = 0
    for _, step in edges:  # an answer at the instant of a send sorts first: touching is not overlapping
        now += step
        peak = max(peak, now)
    return peak


def in_parallel_timed(server_address: str, calls: Sequence[Callable[[httpx.Client], httpx.Response]]) -> list[Timed]:
    """Each call on its own client and connection, all released together by a barrier once every connection is
    open (a request to /healthz opens it), so no call is done before the last has started for lack of a thread.
    A call makes one request (its last one is the one timed)."""
    barrier = threading.Barrier(len(calls), timeout=60)

    def run(call: Callable[[httpx.Client], httpx.Response]) -> Timed:
        # Timed by the client's hooks, as the request leaves and as its answer arrives: time a call spends
        # waiting before it sends (on a lock, for a thread) is not time in flight.
        moments: dict[str, float] = {}

        def sent(_: httpx.Request) -> None:
            moments["sent"] = time.monotonic()

        def answered(_: httpx.Response) -> None:
            moments["answered"] = time.monotonic()

        hooks: dict[str, list[Callable[..., Any]]] = {"request": [sent], "response": [answered]}
        with httpx.Client(base_url=f"{server_address}/api/v1", timeout=60, event_hooks=hooks) as http:
            assert http.get(f"{server_address}/healthz").status_code == 200
            barrier.wait()
            response = call(http)
            return Timed(response, moments["sent"], moments["answered"])

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


PARALLEL_AT_LEAST = 0.5
"""The share of a batch that :func:`in_parallel` requires in flight at once: a batch that ran one by one
proves nothing about concurrency, so it fails rather than passing on a sequential run."""


def in_parallel(server_address: str, calls: Sequence[Callable[[httpx.Client], httpx.Response]]) -> list[httpx.Response]:
    """:func:`in_parallel_timed`'s responses, after checking that at least half the batch overlapped."""
    timings = in_parallel_timed(server_address, calls)
    peak = most_in_flight(timings)
    assert peak >= max(2, int(len(calls) * PARALLEL_AT_LEAST)), f"only {peak} of {len(calls)} requests overlapped"
    return [timed.response for timed in timings]


def post_all(server_address: str, requests: Sequence[tuple[str, Body | None, Headers]]) -> list[httpx.Response]:
    """POSTs of ``(path, body, headers)``, all at once."""

    def post(path: str, body: Body | None, headers: Headers) -> Callable[[httpx.Client], httpx.Response]:
        return lambda http: http.post(path, json=body, headers=headers)

    return in_parallel(server_address, [post(*request) for request in requests])


# --- workbooks -------------------------------------------------------------------------------------


def excel_text(value: Any) -> Any:
    """What Excel shows: openpyxl leaves the _xHHHH_ escapes of control characters as they are stored."""
    if not isinstance(value, str):
        return value
    return re.sub(r"_x([0-9A-Fa-f]{4})_", lambda match: chr(int(match.group(1), 16)), value)


def read_workbook(data: bytes) -> dict[str, list[tuple[Any, ...]]]:
    """Each sheet's rows, read by an independent reader (openpyxl)."""
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    sheets = {}
    for sheet in book.worksheets:
        rows = [[excel_text(value) for value in row] for row in sheet.iter_rows(values_only=True)]
        width = len(rows[0])  # without a <dimension>, a row is as long as its last cell: pad to the header
        sheets[sheet.title] = [tuple(row + [None] * (width - len(row))) for row in rows]
    return sheets


# --- system tools ----------------------------------------------------------------------------------

REQUIRE_TOOLS = "HIBAH_REQUIRE_TOOLS"


def system_tool(name: str) -> str:
    """The path of a system tool (chromium, soffice, pgbouncer, spectral ...), or a skip with one clear line.

    CI (``.ci/run``) installs every tool and sets ``HIBAH_REQUIRE_TOOLS=1``, which turns the skip into a
    failure, so a missing install step cannot hide behind a skipped test."""
    found = shutil.which(name)
    if found is not None:
        return found
    message = f"{name} is not installed (see .ci/install-tools)"
    if os.environ.get(REQUIRE_TOOLS) == "1":
        pytest.fail(f"{message}, and {REQUIRE_TOOLS}=1", pytrace=False)
    pytest.skip(message)


# --- a map for filters -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Atlas:
    """Five grants that differ along every filter, so each filter has rows it must keep and decoys it must drop.

    | agreement | election (kind, region, voting day)       | recipient (kind, region) | amount     | status |
    |-----------|-------------------------------------------|--------------------------|------------|--------|
    | ``kota``  | ``mayor_2024`` (mayor, 35.74, 2024-11-27)  | KPU 35.74                | 1,000,000  | active |
    | ``bawaslu`` | ``mayor_2024``                           | Bawaslu 35.74            | 2,000,000  | active |
    | ``kab``   | ``regent_2024`` (regent, 35.13, 2024-11-27)| KPU 35.13                | 4,000,000  | active |
    | ``banten`` | ``tangerang_2024`` (mayor, 36.71, 2024-11-27) | KPU 36.71             | 8,000,000  | active |
    | ``old``   | ``mayor_2020`` (mayor, 35.74, 2020-12-09)  | KPU 35.74                | 16,000,000 | closed |

    The amounts are powers of two, so a sum names the set of agreements behind it. ``mayor_2024``'s elected pair
    was proposed on 2025-01-09 (its grants' final reports fell due on 2025-04-09); the others' never was. Every
    2024 grant is staged, signed 2023-12-04 and unpaid; ``old`` is a lump sum signed 2020-01-06 (due 14 working
    days later, 2020-01-24), paid whole on 2020-02-03, reported, accepted and closed.
    """

    admin: Headers
    finance: Headers
    kpu_key: Headers
    """The treasurer of KPU Kota Probolinggo (``kota`` and ``old``)."""
    elections: dict[str, int]
    recipients: dict[str, int]
    agreements: dict[str, int]

    def ids(self, *names: str) -> list[int]:
        return sorted(self.agreements[name] for name in names)


def atlas(client: httpx.Client, admin: Headers, make_key: KeyMaker) -> Atlas:
    for region in (
        {"code": "35", "name": "Jawa Timur"},
        {"code": "35.74", "name": "Kota Probolinggo"},
        {"code": "35.13", "name": "Kabupaten Probolinggo"},
        {"code": "36", "name": "Banten"},
        {"code": "36.71", "name": "Kota Tangerang"},
    ):
        assert client.post("/regions", json=region, headers=admin).status_code == 201
    elections = {
        name: created(client.post("/elections", json=body, headers=admin))
        for name, body in {
            "mayor_2024": {**ELECTION, "name": "Pilwali Probolinggo 2024", "kind": "mayor", "region_code": "35.74"}
            | {"winner_proposed_on": "2025-01-09"},
            "regent_2024": {**ELECTION, "name": "Pilbup Probolinggo 2024", "kind": "regent", "region_code": "35.13"},
            "tangerang_2024": {**ELECTION, "name": "Pilwali Tangerang 2024", "kind": "mayor", "region_code": "36.71"},
            "mayor_2020": {
                **ELECTION,
                "name": "Pilwali Probolinggo 2020",
                "kind": "mayor",
                "region_code": "35.74",
                "voting_day": "2020-12-09",
            },
        }.items()
    }
    recipients = {
        name: created(client.post("/recipients", json=body, headers=admin))
        for name, body in {
            "kpu_3574": {"name": "KPU Kota Probolinggo", "kind": "kpu", "region_code": "35.74"},
            "bawaslu_3574": {"name": "Bawaslu Kota Probolinggo", "kind": "bawaslu", "region_code": "35.74"},
            "kpu_3513": {"name": "KPU Kabupaten Probolinggo", "kind": "kpu", "region_code": "35.13"},
            "kpu_3671": {"name": "KPU Kota Tangerang", "kind": "kpu", "region_code": "36.71"},
        }.items()
    }
    finance = make_key("finance")
    staged = {"signed_on": "2023-12-04", "scheme": "staged"}
    agreements = {
        name: created(
            client.post(
                "/agreements",
                json={
                    "number": f"NPHD-{name.upper()}",
                    "election_id": elections[election],
                    "recipient_id": recipients[recipient],
                    "amount": amount,
                    **terms,
                },
                headers=finance,
            )
        )
        for name, election, recipient, amount, terms in (
            ("kota", "mayor_2024", "kpu_3574", "1000000", staged),
            ("bawaslu", "mayor_2024", "bawaslu_3574", "2000000", staged),
            ("kab", "regent_2024", "kpu_3513", "4000000", staged),
            ("banten", "tangerang_2024", "kpu_3671", "8000000", staged),
            ("old", "mayor_2020", "kpu_3574", "16000000", {"signed_on": "2020-01-06", "scheme": "lump_sum"}),
        )
    }
    kpu_key = make_key("recipient", recipient_id=recipients["kpu_3574"])
    old = Grant(agreements["old"], elections["mayor_2020"], recipients["kpu_3574"], finance, admin)
    created(pay(client, old, "16000000", "SP2D-OLD", "2020-02-03"))
    report = draft_report(
        client,
        old,
        kpu_key,
        item("16000000", spent_on="2020-12-09"),
        kind="final",
        period_start="2020-01-06",
        period_end="2021-03-31",
    )
    assert client.post(f"/usage-reports/{report['id']}/submit", headers=kpu_key).status_code == 200
    assert client.post(f"/usage-reports/{report['id']}/accept", headers=finance).status_code == 200
    closed = client.post(f"/agreements/{old.agreement_id}/close", headers=finance)
    assert closed.status_code == 200, closed.text
    return Atlas(admin, finance, kpu_key, elections, recipients, agreements)


def ids_of(response: httpx.Response, key: str = "id") -> list[int]:
    """The ids a list answered, sorted (a filter's effect is the set it keeps)."""
    assert response.status_code == 200, response.text
    return sorted(row[key] for row in response.json()["data"])


def atlas_support(client: httpx.Client, grants: Atlas) -> dict[str, int]:
    """Support in kind beside each of the atlas's grants, valued in powers of two as its grants are:

    | record   | for          | kind       | value | loan still out |
    |----------|--------------|------------|-------|----------------|
    | ``kota`` | ``kota``     | asset_loan | 100   | yes            |
    | ``bawaslu`` | ``bawaslu`` | facility | 200   |                |
    | ``kab``  | ``kab``      | goods      | 400   |                |
    | ``banten`` | ``banten`` | asset_loan | 800   | no (returned 2025-01-31) |
    | ``old``  | ``old``      | goods      | 1,600 |                |
    """
    e, r = grants.elections, grants.recipients
    records = {}
    for name, election, recipient, kind, value, day in (
        ("kota", "mayor_2024", "kpu_3574", "asset_loan", "100", "2024-06-03"),
        ("bawaslu", "mayor_2024", "bawaslu_3574", "facility", "200", "2024-06-03"),
        ("kab", "regent_2024", "kpu_3513", "goods", "400", "2024-06-03"),
        ("banten", "tangerang_2024", "kpu_3671", "asset_loan", "800", "2024-06-03"),
        ("old", "mayor_2020", "kpu_3574", "goods", "1600", "2020-06-01"),
    ):
        body = {
            "election_id": e[election],
            "recipient_id": r[recipient],
            "kind": kind,
            "description": f"Dukungan {name}",
            "quantity": 1,
            "unit": "unit",
            "value": value,
            "handed_over_on": day,
            "bast_number": f"BAST-{name.upper()}",
        }
        records[name] = created(client.post("/support", json=body, headers=money_headers(grants.finance)))
    back = {"returned_on": "2025-01-31", "return_bast_number": "BAST-KEMBALI-BANTEN"}
    returned = client.post(f"/support/{records['banten']}/return", json=back, headers=grants.finance)
    assert returned.status_code == 200, returned.text
    return records
