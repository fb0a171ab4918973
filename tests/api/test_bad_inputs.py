"""Bad input of every kind, at every write endpoint: a problem that names the field, never a 500, no write.

Each check takes a snapshot of every table (the audit chain and idempotency records included) before
the request and compares it after: a refused request leaves no trace.
"""

import base64
import json
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg
import pytest

from tests.helpers import (
    ELECTION,
    KEY,
    LONG_NAME,
    NUL_NAME,
    RECIPIENT,
    REGION,
    Body,
    World,
    assert_problem,
    changed,
    nothing_written,
    without,
)

IMPORT_LIMIT = 5 * 1024 * 1024


def cursor_of(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def test_the_good_bodies_are_accepted(client: httpx.Client, world: World) -> None:
    """The control: without it, the refusals below could be refusing the good part of the body."""
    assert client.post("/regions", json=REGION, headers=world.admin).status_code == 201
    assert client.post("/elections", json=ELECTION, headers=world.admin).status_code == 201
    assert client.post("/recipients", json=RECIPIENT, headers=world.admin).status_code == 201
    assert client.post("/keys", json=KEY, headers=world.admin).status_code == 201
    recipient_key = {"name": "Bendahara KPU", "role": "recipient", "recipient_id": world.kpu_id}
    assert client.post("/keys", json=recipient_key, headers=world.admin).status_code == 201
    # Limits are inclusive: 200 characters is still a name, and whitespace around it is trimmed.
    response = client.post("/regions", json={"code": "36.01", "name": f"  {'y' * 200}  "}, headers=world.admin)
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "y" * 200


# --- regions ---------------------------------------------------------------------------------------

REGION_CASES = [
    pytest.param(changed(REGION, code=36), 422, "validation_error", "code", id="code-is-a-number"),
    pytest.param(changed(REGION, code=["36"]), 422, "validation_error", "code", id="code-is-a-list"),
    pytest.param(changed(REGION, name=36), 422, "validation_error", "name", id="name-is-a-number"),
    pytest.param(changed(REGION, name={"id": "Banten"}), 422, "validation_error", "name", id="name-is-an-object"),
    pytest.param(changed(REGION, level=2), 422, "validation_error", "level", id="level-is-a-number"),
    pytest.param(without(REGION, "code"), 422, "validation_error", "code", id="code-missing"),
    pytest.param(without(REGION, "name"), 422, "validation_error", "name", id="name-missing"),
    pytest.param({}, 422, "validation_error", "code", id="empty-object"),
    pytest.param(changed(REGION, code=None), 422, "validation_error", "code", id="code-null"),
    pytest.param(changed(REGION, parent_code="35"), 422, "validation_error", "parent_code", id="extra-parent_code"),
    pytest.param(changed(REGION, id=1), 422, "validation_error", "id", id="extra-id"),
    pytest.param(changed(REGION, name=""), 422, "validation_error", "name", id="name-empty"),
    pytest.param(changed(REGION, name="   "), 422, "validation_error", "name", id="name-blank"),
    pytest.param(changed(REGION, name="\t\n "), 422, "validation_error", "name", id="name-whitespace"),
    pytest.param(changed(REGION, name=LONG_NAME), 422, "validation_error", "name", id="name-201-chars"),
    pytest.param(changed(REGION, name=NUL_NAME), 422, "validation_error", "name", id="name-with-NUL"),
    pytest.param(changed(REGION, code="3"), 422, "validation_error", "code", id="code-3"),
    pytest.param(changed(REGION, code="35.100"), 422, "validation_error", "code", id="code-35.100"),
    pytest.param(changed(REGION, code="ab"), 422, "validation_error", "code", id="code-ab"),
    pytest.param(changed(REGION, code="35.1"), 422, "validation_error", "code", id="code-35.1"),
    pytest.param(changed(REGION, code="3574"), 422, "validation_error", "code", id="code-3574"),
    pytest.param(changed(REGION, code=""), 422, "validation_error", "code", id="code-empty"),
    pytest.param(changed(REGION, code="3\u00006"), 422, "validation_error", "code", id="code-with-NUL"),
    pytest.param(changed(REGION, code="٣٦"), 422, "validation_error", "code", id="code-arabic-digits"),
    # Well-formed, but outside the published ranges (provinces 11-99, regencies 01-69, cities 71-99).
    pytest.param(changed(REGION, code="35.00"), 422, "validation_error", "code", id="code-35.00"),
    pytest.param(changed(REGION, code="35.70"), 422, "validation_error", "code", id="code-35.70"),
    pytest.param(changed(REGION, code="00"), 422, "validation_error", "code", id="code-00"),
    pytest.param(changed(REGION, code="10"), 422, "validation_error", "code", id="code-10"),
    pytest.param(changed(REGION, code="00.01"), 422, "validation_error", "code", id="code-00.01"),
    pytest.param(changed(REGION, level="village"), 422, "validation_error", "level", id="level-unknown"),
    pytest.param(changed(REGION, level="regency"), 422, "validation_error", "level", id="level-not-the-codes"),
    pytest.param(
        {"code": "35.01", "name": "X", "level": "city"}, 422, "validation_error", "level", id="regency-as-city"
    ),
    pytest.param(
        {"code": "35.71", "name": "X", "level": "regency"}, 422, "validation_error", "level", id="city-as-regency"
    ),
    pytest.param(
        {"code": "36.01", "name": "Kabupaten Pandeglang"}, 422, "parent_region_missing", "code", id="no-province"
    ),
    pytest.param({"code": "35", "name": "Jawa Timur"}, 409, "region_exists", None, id="duplicate-province"),
    pytest.param({"code": "35.74", "name": "Kota P"}, 409, "region_exists", None, id="duplicate-city"),
    pytest.param({"code": " 35.74 ", "name": "Kota P"}, 409, "region_exists", None, id="duplicate-after-trim"),
]


@pytest.mark.parametrize(("body", "status", "code", "field"), REGION_CASES)
def test_region_create_refuses(
    client: httpx.Client,
    db: psycopg.Connection[Any],
    world: World,
    body: Body,
    status: int,
    code: str,
    field: str | None,
) -> None:
    with nothing_written(db):
        assert_problem(client.post("/regions", json=body, headers=world.admin), status, code, field)


CROSS_FIELD = [
    pytest.param(
        "/elections",
        changed(ELECTION, voting_day="2024-11-27", winner_proposed_on="2024-11-26"),
        "winner_proposed_on",
        id="election-winner-before-voting",
    ),
    pytest.param("/keys", {"name": "Bendahara", "role": "recipient"}, "recipient_id", id="key-recipient-unscoped"),
    pytest.param("/keys", changed(KEY, recipient_id=1), "recipient_id", id="key-finance-scoped"),
    pytest.param("/keys", changed(KEY, role="auditor", region_code="35.74"), "region_code", id="key-auditor-bound"),
]


@pytest.mark.parametrize(("path", "body", "field"), CROSS_FIELD)
def test_cross_field_errors_name_the_field(
    client: httpx.Client, world: World, path: str, body: Body, field: str
) -> None:
    assert_problem(client.post(path, json=body, headers=world.admin), 422, "validation_error", field)


REGION_UPDATE_CASES = [
    pytest.param({}, "name", id="empty-object"),
    pytest.param({"name": None}, "name", id="name-null"),
    pytest.param({"name": ""}, "name", id="name-empty"),
    pytest.param({"name": "   "}, "name", id="name-blank"),
    pytest.param({"name": LONG_NAME}, "name", id="name-201-chars"),
    pytest.param({"name": NUL_NAME}, "name", id="name-with-NUL"),
    pytest.param({"name": 5}, "name", id="name-is-a-number"),
    pytest.param({"name": "Kota", "level": "regency"}, "level", id="extra-level"),
    pytest.param({"name": "Kota", "code": "35.75"}, "code", id="extra-code"),
    pytest.param({"name": "Kota", "parent_code": "36"}, "parent_code", id="extra-parent_code"),
]


@pytest.mark.parametrize(("body", "field"), REGION_UPDATE_CASES)
def test_region_update_refuses(
    client: httpx.Client, db: psycopg.Connection[Any], world: World, body: Body, field: str
) -> None:
    with nothing_written(db):
        assert_problem(client.patch("/regions/35.74", json=body, headers=world.admin), 422, "validation_error", field)


@pytest.mark.parametrize(
    ("code", "status"),
    [("3", 422), ("35.100", 422), ("ab", 422), ("35.7", 422), ("99", 404), ("35.99", 404), ("36", 404)],
)
def test_region_paths(client: httpx.Client, db: psycopg.Connection[Any], world: World, code: str, status: int) -> None:
    with nothing_written(db):
        assert_problem(client.get(f"/regions/{code}"), status, "region_not_found" if status == 404 else None)
        response = client.patch(f"/regions/{code}", json={"name": "Nama"}, headers=world.admin)
        assert_problem(response, status, "region_not_found" if status == 404 else "validation_error")


def test_region_update_with_a_stale_etag_is_refused(
    client: httpx.Client, db: psycopg.Connection[Any], world: World
) -> None:
    with nothing_written(db):
        response = client.patch(
            "/regions/35.74", json={"name": "Kota"}, headers={**world.admin, "If-Match": '"region-35.74-v9"'}
        )
        assert_problem(response, 412, "etag_mismatch")


# --- elections -------------------------------------------------------------------------------------

ELECTION_CASES = [
    pytest.param(changed(ELECTION, name=1), 422, "validation_error", "name", id="name-is-a-number"),
    pytest.param(changed(ELECTION, kind=1), 422, "validation_error", "kind", id="kind-is-a-number"),
    pytest.param(changed(ELECTION, region_code=35), 422, "validation_error", "region_code", id="region-is-number"),
    pytest.param(changed(ELECTION, voting_day=True), 422, "validation_error", "voting_day", id="day-is-a-bool"),
    pytest.param(changed(ELECTION, voting_day=["2024-11-27"]), 422, "validation_error", "voting_day", id="day-list"),
    pytest.param(changed(ELECTION, voting_day="27/11/2024"), 422, "validation_error", "voting_day", id="day-d/m/y"),
    pytest.param(changed(ELECTION, voting_day="2024-02-30"), 422, "validation_error", "voting_day", id="day-feb-30"),
    pytest.param(changed(ELECTION, voting_day="besok"), 422, "validation_error", "voting_day", id="day-a-word"),
    pytest.param(without(ELECTION, "name"), 422, "validation_error", "name", id="name-missing"),
    pytest.param(without(ELECTION, "kind"), 422, "validation_error", "kind", id="kind-missing"),
    pytest.param(without(ELECTION, "region_code"), 422, "validation_error", "region_code", id="region-missing"),
    pytest.param(without(ELECTION, "voting_day"), 422, "validation_error", "voting_day", id="day-missing"),
    pytest.param(changed(ELECTION, voting_day=None), 422, "validation_error", "voting_day", id="day-null"),
    pytest.param(changed(ELECTION, id=7), 422, "validation_error", "id", id="extra-id"),
    pytest.param(changed(ELECTION, region="35"), 422, "validation_error", "region", id="extra-region"),
    pytest.param(changed(ELECTION, name=""), 422, "validation_error", "name", id="name-empty"),
    pytest.param(changed(ELECTION, name="  "), 422, "validation_error", "name", id="name-blank"),
    pytest.param(changed(ELECTION, name=LONG_NAME), 422, "validation_error", "name", id="name-201-chars"),
    pytest.param(changed(ELECTION, name=NUL_NAME), 422, "validation_error", "name", id="name-with-NUL"),
    pytest.param(changed(ELECTION, kind="president"), 422, "validation_error", "kind", id="kind-unknown"),
    pytest.param(changed(ELECTION, kind="Governor"), 422, "validation_error", "kind", id="kind-capitalised"),
    pytest.param(changed(ELECTION, region_code="3"), 422, "validation_error", "region_code", id="region-3"),
    pytest.param(changed(ELECTION, region_code="35.100"), 422, "validation_error", "region_code", id="region-35.100"),
    pytest.param(changed(ELECTION, region_code="ab"), 422, "validation_error", "region_code", id="region-ab"),
    pytest.param(changed(ELECTION, region_code="36"), 422, "unknown_region", "region_code", id="region-unknown"),
    pytest.param(changed(ELECTION, region_code="35.70"), 422, "validation_error", "region_code", id="region-35.70"),
    pytest.param(changed(ELECTION, region_code="35.75"), 422, "unknown_region", "region_code", id="region-35.75"),
    pytest.param(
        changed(ELECTION, kind="governor", region_code="35.74"), 422, "election_kind_mismatch", "kind", id="gov-city"
    ),
    pytest.param(
        changed(ELECTION, kind="regent", region_code="35.74"), 422, "election_kind_mismatch", "kind", id="regent-city"
    ),
    pytest.param(
        changed(ELECTION, kind="mayor", region_code="35"), 422, "election_kind_mismatch", "kind", id="mayor-province"
    ),
    pytest.param(
        changed(ELECTION, kind="mayor", region_code="35.74", voting_day="2024-11-27"),
        409,
        "election_exists",
        None,
        id="duplicate-region-and-day",
    ),
    pytest.param(
        changed(ELECTION, winner_proposed_on="2024-11-26"), 422, "validation_error", None, id="winner-before-voting"
    ),
    pytest.param(changed(ELECTION, voting_day="1900-11-27"), 422, "validation_error", "voting_day", id="day-1900"),
    pytest.param(changed(ELECTION, voting_day="3000-11-27"), 422, "validation_error", "voting_day", id="day-3000"),
    pytest.param(changed(ELECTION, voting_day="0001-01-01"), 422, "validation_error", "voting_day", id="day-year-1"),
    pytest.param(
        changed(ELECTION, winner_proposed_on="3000-01-01"), 422, "validation_error", "winner_proposed_on", id="win-3000"
    ),
    pytest.param(
        changed(ELECTION, winner_proposed_on="nanti"), 422, "validation_error", "winner_proposed_on", id="win-a-word"
    ),
]


@pytest.mark.parametrize(("body", "status", "code", "field"), ELECTION_CASES)
def test_election_create_refuses(
    client: httpx.Client,
    db: psycopg.Connection[Any],
    world: World,
    body: Body,
    status: int,
    code: str,
    field: str | None,
) -> None:
    with nothing_written(db):
        assert_problem(client.post("/elections", json=body, headers=world.admin), status, code, field)


ELECTION_UPDATE_CASES = [
    pytest.param({"name": ""}, "name", id="name-empty"),
    pytest.param({"name": "  "}, "name", id="name-blank"),
    pytest.param({"name": LONG_NAME}, "name", id="name-201-chars"),
    pytest.param({"name": NUL_NAME}, "name", id="name-with-NUL"),
    pytest.param({"name": 5}, "name", id="name-is-a-number"),
    pytest.param({"voting_day": "1900-01-01"}, "voting_day", id="day-1900"),
    pytest.param({"voting_day": "3000-01-01"}, "voting_day", id="day-3000"),
    pytest.param({"voting_day": "2024-02-30"}, "voting_day", id="day-feb-30"),
    pytest.param({"voting_day": 3.5}, "voting_day", id="day-is-a-float"),
    pytest.param({"winner_proposed_on": "3000-01-01"}, "winner_proposed_on", id="winner-3000"),
    pytest.param({"winner_proposed_on": "2024-11-26"}, "winner_proposed_on", id="winner-before-voting"),
    # The stored winner_proposed_on (2025-01-09) would then precede the new voting day.
    pytest.param({"voting_day": "2025-02-01"}, "winner_proposed_on", id="voting-after-winner"),
    pytest.param({"kind": "governor"}, "kind", id="extra-kind"),
    pytest.param({"region_code": "35"}, "region_code", id="extra-region_code"),
    pytest.param({"id": 99}, "id", id="extra-id"),
]


@pytest.mark.parametrize(("body", "field"), ELECTION_UPDATE_CASES)
def test_election_update_refuses(
    client: httpx.Client, db: psycopg.Connection[Any], world: World, body: Body, field: str
) -> None:
    with nothing_written(db):
        response = client.patch(f"/elections/{world.election_id}", json=body, headers=world.admin)
        assert_problem(response, 422, "validation_error", field)


@pytest.mark.parametrize("body", [{"name": None}, {"voting_day": None}], ids=["name-null", "day-null"])
def test_election_update_refuses_emptying_required_fields(
    client: httpx.Client, db: psycopg.Connection[Any], world: World, body: Body
) -> None:
    with nothing_written(db):
        response = client.patch(f"/elections/{world.election_id}", json=body, headers=world.admin)
        # test_election_update_null_names_the_field checks the field is named.
        assert_problem(response, 422, "validation_error", errors_required=False)


@pytest.mark.parametrize(
    ("body", "field"),
    [({"name": None}, "name"), ({"voting_day": None}, "voting_day")],
    ids=["name-null", "day-null"],
)
def test_election_update_null_names_the_field(client: httpx.Client, world: World, body: Body, field: str) -> None:
    response = client.patch(f"/elections/{world.election_id}", json=body, headers=world.admin)
    assert_problem(response, 422, "validation_error", field)


def test_election_update_onto_another_elections_day_conflicts(
    client: httpx.Client, db: psycopg.Connection[Any], world: World
) -> None:
    with nothing_written(db):
        response = client.patch(
            f"/elections/{world.other_election_id}", json={"voting_day": "2024-11-27"}, headers=world.admin
        )
        assert_problem(response, 409)


# --- recipients ------------------------------------------------------------------------------------

RECIPIENT_CASES = [
    pytest.param(changed(RECIPIENT, name=1), 422, "validation_error", "name", id="name-is-a-number"),
    pytest.param(changed(RECIPIENT, kind=["kpu"]), 422, "validation_error", "kind", id="kind-is-a-list"),
    pytest.param(changed(RECIPIENT, region_code=35.74), 422, "validation_error", "region_code", id="region-float"),
    pytest.param(changed(RECIPIENT, bank_name=5), 422, "validation_error", "bank_name", id="bank-is-a-number"),
    pytest.param(
        changed(RECIPIENT, account_number=1234567890), 422, "validation_error", "account_number", id="account-int"
    ),
    pytest.param(without(RECIPIENT, "name"), 422, "validation_error", "name", id="name-missing"),
    pytest.param(without(RECIPIENT, "kind"), 422, "validation_error", "kind", id="kind-missing"),
    pytest.param(without(RECIPIENT, "region_code"), 422, "validation_error", "region_code", id="region-missing"),
    pytest.param(changed(RECIPIENT, id=3), 422, "validation_error", "id", id="extra-id"),
    pytest.param(changed(RECIPIENT, account={"bank": "BRI"}), 422, "validation_error", "account", id="extra-account"),
    pytest.param(changed(RECIPIENT, name=""), 422, "validation_error", "name", id="name-empty"),
    pytest.param(changed(RECIPIENT, name=" \t "), 422, "validation_error", "name", id="name-blank"),
    pytest.param(changed(RECIPIENT, name=LONG_NAME), 422, "validation_error", "name", id="name-201-chars"),
    pytest.param(changed(RECIPIENT, name=NUL_NAME), 422, "validation_error", "name", id="name-with-NUL"),
    pytest.param(changed(RECIPIENT, kind="kpud"), 422, "validation_error", "kind", id="kind-unknown"),
    pytest.param(changed(RECIPIENT, region_code="3"), 422, "validation_error", "region_code", id="region-3"),
    pytest.param(changed(RECIPIENT, region_code="35.100"), 422, "validation_error", "region_code", id="region-35.100"),
    pytest.param(changed(RECIPIENT, region_code="ab"), 422, "validation_error", "region_code", id="region-ab"),
    pytest.param(changed(RECIPIENT, region_code="36"), 422, "unknown_region", "region_code", id="region-unknown"),
    pytest.param(changed(RECIPIENT, name="KPU Kota Probolinggo"), 409, "recipient_exists", None, id="duplicate-name"),
    pytest.param(
        changed(RECIPIENT, name="  KPU Kota Probolinggo "), 409, "recipient_exists", None, id="duplicate-after-trim"
    ),
    pytest.param(changed(RECIPIENT, bank_name=""), 422, "validation_error", "bank_name", id="bank-empty"),
    pytest.param(changed(RECIPIENT, bank_name=NUL_NAME), 422, "validation_error", "bank_name", id="bank-NUL"),
    pytest.param(
        changed(RECIPIENT, account_holder=LONG_NAME), 422, "validation_error", "account_holder", id="holder-201"
    ),
    pytest.param(
        changed(RECIPIENT, account_holder=NUL_NAME), 422, "validation_error", "account_holder", id="holder-NUL"
    ),
    pytest.param(
        changed(RECIPIENT, account_number="12"), 422, "validation_error", "account_number", id="account-short"
    ),
    pytest.param(
        changed(RECIPIENT, account_number="abcd-1234"), 422, "validation_error", "account_number", id="acc-abc"
    ),
    pytest.param(
        changed(RECIPIENT, account_number="1234\u00005678"), 422, "validation_error", "account_number", id="acc-NUL"
    ),
    pytest.param(
        changed(RECIPIENT, account_number="1" * 40), 422, "validation_error", "account_number", id="account-40-digits"
    ),
]


@pytest.mark.parametrize(("body", "status", "code", "field"), RECIPIENT_CASES)
def test_recipient_create_refuses(
    client: httpx.Client,
    db: psycopg.Connection[Any],
    world: World,
    body: Body,
    status: int,
    code: str,
    field: str | None,
) -> None:
    with nothing_written(db):
        assert_problem(client.post("/recipients", json=body, headers=world.admin), status, code, field)


RECIPIENT_UPDATE_CASES = [
    pytest.param({"name": None}, 422, "validation_error", "name", id="name-null"),
    pytest.param({"name": ""}, 422, "validation_error", "name", id="name-empty"),
    pytest.param({"name": LONG_NAME}, 422, "validation_error", "name", id="name-201-chars"),
    pytest.param({"name": NUL_NAME}, 422, "validation_error", "name", id="name-with-NUL"),
    pytest.param({"name": "Bawaslu Kota Probolinggo"}, 409, "recipient_exists", None, id="name-taken"),
    pytest.param({"kind": "tni"}, 422, "validation_error", "kind", id="extra-kind"),
    pytest.param({"region_code": "35"}, 422, "validation_error", "region_code", id="extra-region_code"),
    pytest.param({"account_number": "rekening"}, 422, "validation_error", "account_number", id="account-a-word"),
    pytest.param({"bank_name": "  "}, 422, "validation_error", "bank_name", id="bank-blank"),
]


@pytest.mark.parametrize(("body", "status", "code", "field"), RECIPIENT_UPDATE_CASES)
def test_recipient_update_refuses(
    client: httpx.Client,
    db: psycopg.Connection[Any],
    world: World,
    body: Body,
    status: int,
    code: str,
    field: str | None,
) -> None:
    with nothing_written(db):
        response = client.patch(f"/recipients/{world.kpu_id}", json=body, headers=world.admin)
        assert_problem(response, status, code, field)


# --- keys ------------------------------------------------------------------------------------------

KEY_CASES = [
    pytest.param(without(KEY, "name"), 422, "validation_error", "name", id="name-missing"),
    pytest.param(without(KEY, "role"), 422, "validation_error", "role", id="role-missing"),
    pytest.param(changed(KEY, role="superuser"), 422, "validation_error", "role", id="role-unknown"),
    pytest.param(changed(KEY, role="public"), 422, "validation_error", "role", id="role-public"),
    pytest.param(changed(KEY, role=1), 422, "validation_error", "role", id="role-is-a-number"),
    pytest.param(changed(KEY, name=""), 422, "validation_error", "name", id="name-empty"),
    pytest.param(changed(KEY, name="   "), 422, "validation_error", "name", id="name-blank"),
    pytest.param(changed(KEY, name=LONG_NAME), 422, "validation_error", "name", id="name-201-chars"),
    pytest.param(changed(KEY, name=NUL_NAME), 422, "validation_error", "name", id="name-with-NUL"),
    pytest.param(changed(KEY, key="hibah_chosen_by_me"), 422, "validation_error", "key", id="extra-key"),
    pytest.param(changed(KEY, prefix="hibah_"), 422, "validation_error", "prefix", id="extra-prefix"),
    pytest.param(changed(KEY, revoked_at=None), 422, "validation_error", "revoked_at", id="extra-revoked_at"),
    pytest.param({"name": "Bendahara", "role": "recipient"}, 422, "validation_error", None, id="recipient-unscoped"),
    pytest.param(changed(KEY, recipient_id=1), 422, "validation_error", None, id="finance-scoped"),
    pytest.param(changed(KEY, role="admin", recipient_id=1), 422, "validation_error", None, id="admin-scoped"),
    pytest.param(
        changed(KEY, role="recipient", recipient_id=0), 422, "validation_error", "recipient_id", id="recipient-0"
    ),
    pytest.param(
        changed(KEY, role="recipient", recipient_id=-1), 422, "validation_error", "recipient_id", id="recipient--1"
    ),
    pytest.param(
        changed(KEY, role="recipient", recipient_id="abc"), 422, "validation_error", "recipient_id", id="recipient-abc"
    ),
    pytest.param(
        changed(KEY, role="recipient", recipient_id=1.5), 422, "validation_error", "recipient_id", id="recipient-1.5"
    ),
    pytest.param(
        changed(KEY, role="recipient", recipient_id=2**31), 422, "validation_error", "recipient_id", id="recipient-2^31"
    ),
    pytest.param(
        changed(KEY, role="recipient", recipient_id=2**63), 422, "validation_error", "recipient_id", id="recipient-2^63"
    ),
    pytest.param(
        changed(KEY, role="recipient", recipient_id=999_999),
        422,
        "unknown_recipient",
        "recipient_id",
        id="no-recipient",
    ),
    pytest.param(changed(KEY, region_code="3"), 422, "validation_error", "region_code", id="region-3"),
    pytest.param(changed(KEY, region_code="35.70"), 422, "validation_error", "region_code", id="region-35.70"),
    pytest.param(changed(KEY, region_code=35), 422, "validation_error", "region_code", id="region-is-a-number"),
    pytest.param(changed(KEY, region_code="36"), 422, "unknown_region", "region_code", id="region-unknown"),
    pytest.param(changed(KEY, role="auditor", region_code="35.74"), 422, "validation_error", None, id="auditor-bound"),
    pytest.param(changed(KEY, role="admin", region_code="35"), 422, "validation_error", None, id="admin-bound"),
]


@pytest.mark.parametrize(("body", "status", "code", "field"), KEY_CASES)
def test_key_create_refuses(
    client: httpx.Client,
    db: psycopg.Connection[Any],
    world: World,
    body: Body,
    status: int,
    code: str,
    field: str | None,
) -> None:
    with nothing_written(db):
        assert_problem(client.post("/keys", json=body, headers=world.admin), status, code, field)


def test_revoking_twice_conflicts_and_unknown_keys_are_not_found(
    client: httpx.Client, db: psycopg.Connection[Any], world: World
) -> None:
    with nothing_written(db):
        assert_problem(client.post(f"/keys/{world.revoked_key_id}/revoke", headers=world.admin), 409, "api_key_revoked")
        assert_problem(client.post("/keys/999999/revoke", headers=world.admin), 404, "api_key_not_found")
        assert_problem(client.get("/keys/999999", headers=world.admin), 404, "api_key_not_found")


# --- ids in paths ----------------------------------------------------------------------------------

ID_ROUTES = {
    "GET /elections/{id}": ("GET", "/elections/{}", None),
    "PATCH /elections/{id}": ("PATCH", "/elections/{}", {"name": "Nama baru"}),
    "GET /recipients/{id}": ("GET", "/recipients/{}", None),
    "PATCH /recipients/{id}": ("PATCH", "/recipients/{}", {"name": "Nama baru"}),
    "GET /keys/{id}": ("GET", "/keys/{}", None),
    "POST /keys/{id}/revoke": ("POST", "/keys/{}/revoke", None),
}
BAD_IDS = [
    "0",
    "-1",
    str(2**31),
    str(2**31 - 1),
    str(2**63),
    str(2**63 - 1),
    str(10**30),
    "abc",
    "1.5",
    "1e3",
    "999999",
]


@pytest.mark.parametrize("bad_id", BAD_IDS)
@pytest.mark.parametrize("route", list(ID_ROUTES))
def test_ids_out_of_range_are_422_or_404(
    client: httpx.Client, db: psycopg.Connection[Any], world: World, route: str, bad_id: str
) -> None:
    method, template, body = ID_ROUTES[route]
    with nothing_written(db):
        response = client.request(method, template.format(bad_id), json=body, headers=world.admin)
        assert_problem(response, {404} if bad_id in {"999999", str(2**31 - 1)} else {404, 422})


# --- body shapes and content types -----------------------------------------------------------------

JSON_WRITES: dict[str, tuple[str, str, Body]] = {
    "POST /regions": ("POST", "/regions", REGION),
    "PATCH /regions/{code}": ("PATCH", "/regions/35.74", {"name": "Kota Probolinggo"}),
    "POST /elections": ("POST", "/elections", ELECTION),
    "PATCH /elections/{id}": ("PATCH", "/elections/{election_id}", {"name": "Pilwali"}),
    "POST /recipients": ("POST", "/recipients", RECIPIENT),
    "PATCH /recipients/{id}": ("PATCH", "/recipients/{kpu_id}", {"name": "KPU Kota"}),
    "POST /keys": ("POST", "/keys", KEY),
}

JSON = "application/json"
SHAPES: dict[str, tuple[str | None, bytes | None, set[int]]] = {
    # name: (content type, raw body or None for "the good body", statuses allowed)
    "invalid-json": (JSON, b'{"name": "Banten",', {422}),
    "single-quotes": (JSON, b"{'name': 'Banten'}", {422}),
    "trailing-garbage": (JSON, b'{"name": "Banten"} xyz', {422}),
    "empty-body": (JSON, b"", {422}),
    "array": (JSON, b"[]", {422}),
    "array-of-the-body": (JSON, None, {422}),
    "string": (JSON, b'"Banten"', {422}),
    "number": (JSON, b"36", {422}),
    "true": (JSON, b"true", {422}),
    "null": (JSON, b"null", {422}),
    "invalid-utf8": (JSON, b'{"name": "Bal\xe9"}', {400, 422}),
    "lone-surrogate": (JSON, b'{"name": "a\\ud800b"}', {422}),
    "nested-100000-deep": (JSON, b"[" * 100_000 + b"]" * 100_000, {400, 422}),
    "text/plain": ("text/plain", None, {415, 422}),
    "form-urlencoded": ("application/x-www-form-urlencoded", b"name=Banten&code=36", {415, 422}),
    "text/csv": ("text/csv", b"code,name\n36,Banten\n", {415, 422}),
}


@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize("endpoint", list(JSON_WRITES))
def test_bodies_that_are_not_a_json_object(
    client: httpx.Client, db: psycopg.Connection[Any], world: World, endpoint: str, shape: str
) -> None:
    method, template, good = JSON_WRITES[endpoint]
    content_type, raw, statuses = SHAPES[shape]
    if raw is None:
        raw = json.dumps([good] if shape.startswith("array") else good).encode()
    path = template.format(election_id=world.election_id, kpu_id=world.kpu_id)
    headers = {**world.admin, "Content-Type": content_type} if content_type else world.admin
    with nothing_written(db):
        assert_problem(client.request(method, path, content=raw, headers=headers), statuses)


@pytest.mark.parametrize("key", ["", "x" * 256], ids=["empty", "256-chars"])
def test_a_bad_idempotency_key_is_refused(
    client: httpx.Client, db: psycopg.Connection[Any], world: World, key: str
) -> None:
    with nothing_written(db):
        response = client.post("/regions", json=REGION, headers={**world.admin, "Idempotency-Key": key})
        assert_problem(response, 422, "invalid_idempotency_key", "Idempotency-Key")


def test_a_refused_request_does_not_burn_its_idempotency_key(
    client: httpx.Client, db: psycopg.Connection[Any], world: World
) -> None:
    headers = {**world.admin, "Idempotency-Key": "banten-1"}
    with nothing_written(db):
        assert_problem(client.post("/regions", json=changed(REGION, name=""), headers=headers), 422)
    response = client.post("/regions", json=REGION, headers=headers)
    assert response.status_code == 201, response.text


# --- query parameters ------------------------------------------------------------------------------

LISTS = ["/regions", "/elections", "/recipients", "/keys"]


@pytest.mark.parametrize("limit", ["0", "501", "-1", "x", "1.5", ""])
@pytest.mark.parametrize("path", LISTS)
def test_limit_out_of_range(client: httpx.Client, world: World, path: str, limit: str) -> None:
    assert_problem(client.get(path, params={"limit": limit}, headers=world.admin), 422, "validation_error", "limit")


GARBAGE_CURSORS = {
    "punctuation": "!!!",
    "not-base64": "%%%%",
    "base64-not-json": base64.urlsafe_b64encode(b"not json").decode(),
    "object": cursor_of({"after": 1}),
    "empty-list": cursor_of([]),
    "list-of-bool": cursor_of([True]),
    "list-of-null": cursor_of([None]),
    "list-of-list": cursor_of([[1]]),
    "wrong-type": "",  # filled per list: a string for id-sorted lists, a number for regions
    "negative": cursor_of([-1]),
    "huge-number": cursor_of([2**70]),
    "NUL-string": cursor_of(["\u0000"]),
    "binary": base64.urlsafe_b64encode(b"\xff\xfe\x00\x01").decode(),
}


@pytest.mark.parametrize("garbage", list(GARBAGE_CURSORS))
@pytest.mark.parametrize("path", LISTS)
def test_garbage_cursor(client: httpx.Client, world: World, path: str, garbage: str) -> None:
    cursor = GARBAGE_CURSORS[garbage]
    if garbage == "wrong-type":
        cursor = cursor_of([35] if path == "/regions" else ["35"])
    if garbage in {"negative", "huge-number"} and path == "/regions":
        cursor = cursor_of([{"code": "35"}])
    assert_problem(client.get(path, params={"cursor": cursor}, headers=world.admin), 422, "invalid_cursor", "cursor")


def test_a_cursor_longer_than_allowed(client: httpx.Client, world: World) -> None:
    assert_problem(client.get("/regions", params={"cursor": "A" * 600}), 422, None, "cursor")


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/regions", {"level": "village"}, "level"),
        ("/regions", {"parent_code": "3"}, "parent_code"),
        ("/regions", {"q": "a\u0000b"}, "q"),
        ("/regions", {"q": "x" * 101}, "q"),
        ("/elections", {"kind": "president"}, "kind"),
        ("/elections", {"year": "1900"}, "year"),
        ("/elections", {"year": "3000"}, "year"),
        ("/elections", {"year": "dua ribu"}, "year"),
        ("/elections", {"region_code": "35.100"}, "region_code"),
        ("/recipients", {"kind": "kpud"}, "kind"),
        ("/recipients", {"region_code": "ab"}, "region_code"),
        ("/recipients", {"q": "a\u0000b"}, "q"),
        ("/keys", {"role": "superuser"}, "role"),
        ("/keys", {"include_revoked": "maybe"}, "include_revoked"),
    ],
)
def test_bad_filters(client: httpx.Client, world: World, path: str, params: dict[str, str], field: str) -> None:
    assert_problem(client.get(path, params=params, headers=world.admin), 422, "validation_error", field)


# --- CSV import ------------------------------------------------------------------------------------


def import_csv(client: httpx.Client, world: World, content: bytes, content_type: str = "text/csv") -> httpx.Response:
    return client.post("/regions/import", content=content, headers={**world.admin, "Content-Type": content_type})


CSV_CASES = [
    pytest.param(b"kode,nama\n36,Banten\n", "invalid_csv_header", "header", id="header-in-indonesian"),
    pytest.param(b"code\n36\n", "invalid_csv_header", "header", id="header-without-name"),
    pytest.param(b"name,level\nBanten,province\n", "invalid_csv_header", "header", id="header-without-code"),
    pytest.param(b"36,Banten\n36.01,Kabupaten Pandeglang\n", "invalid_csv_header", "header", id="no-header"),
    pytest.param(
        b"code,name\n36,Banten\n3,Salah\n36.01,Kabupaten Pandeglang\n", "import_rejected", "rows[2].code", id="code-3"
    ),
    pytest.param(
        b"code,name\n36,Banten\n36.01,Kabupaten Pandeglang\nab,Salah\n", "import_rejected", "rows[3].code", id="code-ab"
    ),
    pytest.param(b"code,name\n36,Banten\n,Tanpa Kode\n", "import_rejected", "rows[2].code", id="code-empty"),
    pytest.param(b"code,name\n36,Banten\n36.01,\n", "import_rejected", "rows[2].name", id="name-empty"),
    pytest.param(
        b"code,name\n36,Banten\n36.01," + b"x" * 201 + b"\n", "import_rejected", "rows[2].name", id="name-201-chars"
    ),
    pytest.param(b"code,name\n36,Banten\n36.01,a\x00b\n", "import_rejected", "rows[2].name", id="name-with-NUL"),
    pytest.param(b"code,name,level\n36,Banten,village\n", "import_rejected", "rows[1].level", id="level-unknown"),
    pytest.param(
        b"code,name\n36,Banten\n36.01,Pandeglang\n36,Banten Lagi\n", "import_rejected", "rows[3].code", id="repeated"
    ),
    pytest.param(b"code,name\n36,Banten\n37.01,Kabupaten X\n", "import_rejected", "rows[2].code", id="no-province"),
    pytest.param(b"code,name\n36,Banten\n35.70,Salah\n", "import_rejected", "rows[2].code", id="code-35.70"),
    pytest.param(b"code,name\n36,Banten\n00,Salah\n", "import_rejected", "rows[2].code", id="code-00"),
    pytest.param(b"code,name\n36,Banten\n10,Salah\n", "import_rejected", "rows[2].code", id="code-10"),
    pytest.param(b"code,name,level\n36,Banten,city\n", "import_rejected", "rows[1].level", id="level-not-the-codes"),
    pytest.param(b"code,name\n36,Banten\n37,Bal\xe9\n", "invalid_csv", "file", id="latin-1"),
    pytest.param("code,name\n36,Banten\n".encode("utf-16"), "invalid_csv", "file", id="utf-16"),
    pytest.param(b"\xff\xfe\xfd", "invalid_csv", "file", id="binary"),
    pytest.param(b"code,name\n", "import_empty", None, id="header-only"),
    pytest.param(b"", None, None, id="empty-file"),
    pytest.param(b"\n\n\n", None, None, id="blank-lines"),
]


@pytest.mark.parametrize(("content", "code", "field"), CSV_CASES)
def test_region_import_refuses_the_whole_file(
    client: httpx.Client, db: psycopg.Connection[Any], world: World, content: bytes, code: str | None, field: str | None
) -> None:
    with nothing_written(db):
        assert_problem(import_csv(client, world, content), 422, code, field)


def test_region_import_lists_at_most_100_row_errors(
    client: httpx.Client, db: psycopg.Connection[Any], world: World
) -> None:
    content = b"code,name\n" + b"".join(b"3,Salah %d\n" % number for number in range(150))
    with nothing_written(db):
        body = assert_problem(import_csv(client, world, content), 422, "import_rejected", "rows[1].code")
    assert len(body["errors"]) == 100


def test_region_import_over_5_mb_is_413(client: httpx.Client, db: psycopg.Connection[Any], world: World) -> None:
    row = b"36,Banten\n"
    content = b"code,name\n" + row * (IMPORT_LIMIT // len(row) + 1)
    assert len(content) > IMPORT_LIMIT
    with nothing_written(db):
        assert_problem(import_csv(client, world, content), 413, "payload_too_large")


def test_region_import_with_a_huge_field_is_a_422(
    client: httpx.Client, db: psycopg.Connection[Any], world: World
) -> None:
    content = b"code,name\n36," + b"x" * 200_000 + b"\n"
    with nothing_written(db):
        assert_problem(import_csv(client, world, content), 422)


@pytest.mark.parametrize("content_type", ["application/json", "application/x-www-form-urlencoded"])
def test_region_import_refuses_other_content_types(
    client: httpx.Client, db: psycopg.Connection[Any], world: World, content_type: str
) -> None:
    with nothing_written(db):
        assert_problem(import_csv(client, world, b"code,name\n36,Banten\n", content_type), 415)


# --- languages, unknown paths, wrong methods -------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    method: str
    path: str
    status: int
    english: str
    indonesian: str
    json: Body | None = None
    as_admin: bool = True
    headers: tuple[tuple[str, str], ...] = ()


REFUSALS = {
    "422": Refusal("POST", "/regions", 422, "Validation failed", "Validasi gagal", json={"code": "3", "name": "X"}),
    "404-domain": Refusal("GET", "/regions/99", 404, "Not found", "Tidak ditemukan"),
    "404-route": Refusal("GET", "/tidak-ada", 404, "Not found", "Tidak ditemukan"),
    "409": Refusal("POST", "/regions", 409, "Conflict", "Konflik", json={"code": "35", "name": "Jawa Timur"}),
    "401": Refusal("POST", "/regions", 401, "Unauthorized", "Tidak terautentikasi", json=REGION, as_admin=False),
    "405": Refusal("DELETE", "/regions/35", 405, "Method not allowed", "Metode tidak diizinkan"),
    "412": Refusal(
        "PATCH",
        "/regions/35",
        412,
        "Precondition failed",
        "Prasyarat gagal",
        json={"name": "Jatim"},
        headers=(("If-Match", '"region-35-v7"'),),
    ),
}
LANGUAGES = {
    "id": "id",
    "id-ID": "id",
    "fr,id;q=0.8": "id",
    "en": "en",
    "en-US,id;q=0.5": "en",
    "id;q=0.1,en;q=0.9": "en",
    "(none)": "en",
    "de": "en",
}


@pytest.mark.parametrize("language", list(LANGUAGES))
@pytest.mark.parametrize("refusal", list(REFUSALS))
def test_problem_titles_follow_accept_language(
    client: httpx.Client, db: psycopg.Connection[Any], world: World, refusal: str, language: str
) -> None:
    case = REFUSALS[refusal]
    headers = {**(world.admin if case.as_admin else {}), **dict(case.headers)}
    if language != "(none)":
        headers["Accept-Language"] = language
    with nothing_written(db):
        body = assert_problem(client.request(case.method, case.path, json=case.json, headers=headers), case.status)
    assert body["title"] == (case.indonesian if LANGUAGES[language] == "id" else case.english)


def test_indonesian_details_for_domain_errors(client: httpx.Client, world: World) -> None:
    response = client.post(
        "/regions", json={"code": "35", "name": "Jatim"}, headers={**world.admin, "Accept-Language": "id"}
    )
    assert assert_problem(response, 409, "region_exists")["detail"] == "Wilayah 35 sudah ada."
    response = client.post("/regions", json={"code": "3"}, headers={**world.admin, "Accept-Language": "id"})
    assert "kesalahan" in assert_problem(response, 422, "validation_error")["detail"]


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/tidak-ada",
        "/api/v2/regions",
        "/tidak-ada",
        "/api/v1/regions/35/elections",
        "/api/v1/keys/1/delete",
        "/api",
    ],
)
def test_unknown_paths_are_404_problems(
    server_address: str, db: psycopg.Connection[Any], world: World, url: str
) -> None:
    with nothing_written(db), httpx.Client(base_url=server_address) as raw:
        assert_problem(raw.get(url, headers=world.admin), 404, "not_found")
        assert_problem(raw.post(url, json=REGION, headers=world.admin), 404, "not_found")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", "/regions/35"),
        ("PUT", "/regions/35"),
        ("PUT", "/regions"),
        ("PATCH", "/regions"),
        ("DELETE", "/regions"),
        ("PUT", "/regions/import"),
        ("DELETE", "/elections/1"),
        ("POST", "/elections/1"),
        ("PUT", "/recipients/1"),
        ("DELETE", "/keys/1"),
        ("PATCH", "/keys/1"),
        ("GET", "/keys/1/revoke"),
        ("POST", "/keys/me"),
        ("POST", "/codes/stages"),
    ],
)
def test_wrong_methods_are_405_problems(
    client: httpx.Client, db: psycopg.Connection[Any], world: World, method: str, path: str
) -> None:
    with nothing_written(db):
        response = client.request(method, path, json=REGION, headers=world.admin)
        assert_problem(response, 405, "method_not_allowed")
    assert method not in response.headers.get("allow", "")
