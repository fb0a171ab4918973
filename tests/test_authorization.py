"""Who may do what: every admin-only operation against every kind of caller, over real HTTP.

Only admins manage reference data and keys (DESIGN §1). Every refusal is an RFC 9457 problem with a
stable code, and leaves every table exactly as it was; every admitted write is attributed, in the
audit chain, to the key that made it.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg
import pytest

from app.core.auth import hash_key, new_key
from tests.conftest import KeyMaker

PROBLEM_MEMBERS = {"type", "title", "status", "detail", "instance", "code"}

Headers = dict[str, str]
Snapshot = dict[str, list[tuple[Any, ...]]]


def snapshot(db: psycopg.Connection[Any]) -> Snapshot:
    """Every row of every table, so "changes nothing" covers tables no test here knows about."""
    tables = [
        row[0]
        for row in db.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
            " ORDER BY tablename"
        )
    ]
    return {table: db.execute(f'SELECT * FROM "{table}" ORDER BY 1').fetchall() for table in tables}


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body: dict[str, Any] = response.json()
    assert body.keys() >= PROBLEM_MEMBERS, body
    assert body["status"] == status
    assert body["code"] == code, body
    assert body["instance"] == response.request.url.path
    assert isinstance(body["type"], str) and body["type"]
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    assert "Traceback" not in response.text
    return body


def secret_of(headers: Headers) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


def key_id_of(db: psycopg.Connection[Any], headers: Headers) -> int:
    row = db.execute("SELECT id FROM api_key WHERE key_hash = %s", (hash_key(secret_of(headers)),)).fetchone()
    assert row is not None
    key_id: int = row[0]
    return key_id


@dataclass
class World:
    """Reference data to act on, and one caller of each kind."""

    election_id: int
    recipient_id: int
    target_key_id: int
    callers: dict[str, Headers] = field(default_factory=dict)
    key_ids: dict[str, int] = field(default_factory=dict)


@pytest.fixture
def world(
    client: httpx.Client, db: psycopg.Connection[Any], admin: Headers, make_key: KeyMaker, region_35: None
) -> World:
    election = client.post(
        "/elections",
        json={
            "name": "Pemilihan Wali Kota Probolinggo 2024",
            "kind": "mayor",
            "region_code": "35.74",
            "voting_day": "2024-11-27",
        },
        headers=admin,
    )
    assert election.status_code == 201, election.text
    recipient = client.post(
        "/recipients",
        json={"name": "KPU Kota Probolinggo", "kind": "kpu", "region_code": "35.74"},
        headers=admin,
    )
    assert recipient.status_code == 201, recipient.text
    recipient_id: int = recipient.json()["id"]
    target = make_key("finance", name="key to revoke")
    # A revoked *admin* key: revocation must win over the strongest role.
    revoked = make_key("admin", name="revoked admin key")
    db.execute("UPDATE api_key SET revoked_at = now() WHERE key_hash = %s", (hash_key(secret_of(revoked)),))
    keyed = {
        "admin": admin,
        "finance": make_key("finance", name="BPKAD (national)"),
        "regional_finance": make_key("finance", name="BPKAD Kota Probolinggo", region_code="35.74"),
        "recipient": make_key("recipient", recipient_id=recipient_id, name="Bendahara KPU Kota Probolinggo"),
        "auditor": make_key("auditor", name="BPK Perwakilan Jawa Timur"),
    }
    world = World(
        election_id=election.json()["id"],
        recipient_id=recipient_id,
        target_key_id=key_id_of(db, target),
    )
    world.callers.update(keyed)
    world.key_ids.update({role: key_id_of(db, headers) for role, headers in keyed.items()})
    world.callers.update(
        {
            "public": {},
            "revoked": revoked,
            "unknown": {"Authorization": f"Bearer {new_key()}"},
            "basic_scheme": {"Authorization": "Basic YWRtaW46YWRtaW4="},
            "bearer_without_key": {"Authorization": "Bearer"},
            # A real admin secret, but without the scheme: still not how the key is sent.
            "key_without_scheme": {"Authorization": secret_of(admin)},
        }
    )
    return world


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    json: dict[str, Any] | None = None
    csv: str | None = None
    action: str | None = None
    """The audit action an admitted call records; None for reads."""

    def send(self, client: httpx.Client, world: World, headers: Headers) -> httpx.Response:
        path = self.path.format(
            election_id=world.election_id, recipient_id=world.recipient_id, key_id=world.target_key_id
        )
        if self.csv is not None:
            return client.request(
                self.method, path, content=self.csv.encode(), headers={**headers, "Content-Type": "text/csv"}
            )
        return client.request(self.method, path, json=self.json, headers=headers)


ADMIN_ONLY: dict[str, Call] = {
    "POST /regions": Call("POST", "/regions", json={"code": "36", "name": "Banten"}, action="region.create"),
    "PATCH /regions/{code}": Call(
        "PATCH", "/regions/35.74", json={"name": "Kota Probolinggo (ubah)"}, action="region.update"
    ),
    "POST /regions/import": Call(
        "POST",
        "/regions/import",
        csv="code,name\n36,Banten\n36.01,Kabupaten Pandeglang\n",
        action="region.import",
    ),
    "POST /elections": Call(
        "POST",
        "/elections",
        json={
            "name": "Pemilihan Gubernur Jawa Timur 2024",
            "kind": "governor",
            "region_code": "35",
            "voting_day": "2024-11-27",
        },
        action="election.create",
    ),
    "PATCH /elections/{id}": Call(
        "PATCH", "/elections/{election_id}", json={"winner_proposed_on": "2025-01-09"}, action="election.update"
    ),
    "POST /recipients": Call(
        "POST",
        "/recipients",
        json={"name": "Bawaslu Kota Probolinggo", "kind": "bawaslu", "region_code": "35.74"},
        action="recipient.create",
    ),
    "PATCH /recipients/{id}": Call(
        "PATCH",
        "/recipients/{recipient_id}",
        json={"bank_name": "Bank Jatim", "account_number": "0011223344", "account_holder": "RPL Hibah KPU"},
        action="recipient.update",
    ),
    "POST /keys": Call(
        "POST", "/keys", json={"name": "BPKAD Kota Probolinggo 2", "role": "finance"}, action="api_key.create"
    ),
    "POST /keys/{id}/revoke": Call("POST", "/keys/{key_id}/revoke", action="api_key.revoke"),
    "GET /keys": Call("GET", "/keys"),
    "GET /keys/{id}": Call("GET", "/keys/{key_id}"),
}

REFUSALS: dict[str, tuple[int, str]] = {
    "public": (401, "api_key_required"),
    "finance": (403, "role_not_allowed"),
    "regional_finance": (403, "role_not_allowed"),
    "recipient": (403, "role_not_allowed"),
    "auditor": (403, "role_not_allowed"),
    "revoked": (401, "invalid_api_key"),
    "unknown": (401, "invalid_api_key"),
    "basic_scheme": (401, "malformed_credentials"),
    "bearer_without_key": (401, "malformed_credentials"),
    "key_without_scheme": (401, "malformed_credentials"),
}


@pytest.mark.parametrize("caller", list(REFUSALS))
@pytest.mark.parametrize("endpoint", list(ADMIN_ONLY))
def test_only_admins_pass(
    client: httpx.Client, db: psycopg.Connection[Any], world: World, endpoint: str, caller: str
) -> None:
    before = snapshot(db)
    # An Idempotency-Key too: a refused request must not reserve it either.
    headers = {**world.callers[caller], "Idempotency-Key": f"authz-{caller}"}
    response = ADMIN_ONLY[endpoint].send(client, world, headers)
    status, code = REFUSALS[caller]
    assert_problem(response, status, code)
    if status == 401:
        assert response.headers["www-authenticate"] == "Bearer"
    assert snapshot(db) == before


def last_seq(db: psycopg.Connection[Any]) -> int:
    row = db.execute("SELECT coalesce(max(seq), 0) FROM audit_event").fetchone()
    assert row is not None
    seq: int = row[0]
    return seq


@pytest.mark.parametrize("endpoint", list(ADMIN_ONLY))
def test_admin_passes_and_is_recorded(
    client: httpx.Client, db: psycopg.Connection[Any], world: World, endpoint: str
) -> None:
    call = ADMIN_ONLY[endpoint]
    seq = last_seq(db)
    response = call.send(client, world, {**world.callers["admin"], "X-Request-ID": f"authz-{call.method}"})
    assert 200 <= response.status_code < 300, response.text
    assert response.headers["content-type"].startswith("application/json")
    events = db.execute(
        "SELECT actor_key_id, actor_role, action, request_id FROM audit_event WHERE seq > %s ORDER BY seq", (seq,)
    ).fetchall()
    if call.action is None:
        assert events == []
    else:
        assert events == [(world.key_ids["admin"], "admin", call.action, f"authz-{call.method}")]


def test_key_listings_never_show_secrets_or_hashes(
    client: httpx.Client, db: psycopg.Connection[Any], world: World
) -> None:
    listing = client.get("/keys", headers=world.callers["admin"])
    single = client.get(f"/keys/{world.key_ids['finance']}", headers=world.callers["admin"])
    assert listing.status_code == 200, listing.text
    assert single.status_code == 200, single.text
    assert {key["id"] for key in listing.json()["data"]} >= set(world.key_ids.values())
    hashes = [row[0] for row in db.execute("SELECT key_hash FROM api_key")]
    for text in (listing.text, single.text):
        assert "key_hash" not in text
        assert '"key"' not in text
        for headers in world.callers.values():
            if "Authorization" in headers and headers["Authorization"].startswith("Bearer hibah_"):
                assert secret_of(headers) not in text
        for digest in hashes:
            assert digest not in text


def test_a_write_is_attributed_to_the_key_that_made_it(
    client: httpx.Client, db: psycopg.Connection[Any], world: World
) -> None:
    created = client.post("/keys", json={"name": "Admin kedua", "role": "admin"}, headers=world.callers["admin"])
    assert created.status_code == 201, created.text
    second = {"Authorization": f"Bearer {created.json()['key']}"}
    second_id: int = created.json()["id"]
    assert second_id != world.key_ids["admin"]
    row = db.execute("SELECT created_by_key_id FROM api_key WHERE id = %s", (second_id,)).fetchone()
    assert row == (world.key_ids["admin"],)

    seq = last_seq(db)
    response = client.post("/regions", json={"code": "36", "name": "Banten"}, headers=second)
    assert response.status_code == 201, response.text
    events = db.execute(
        "SELECT actor_key_id, actor_role, action, entity, entity_id FROM audit_event WHERE seq > %s", (seq,)
    ).fetchall()
    assert events == [(second_id, "admin", "region.create", "region", "36")]


def test_a_key_revoked_through_the_api_stops_working_at_once(
    client: httpx.Client, db: psycopg.Connection[Any], world: World
) -> None:
    created = client.post("/keys", json={"name": "Admin sementara", "role": "admin"}, headers=world.callers["admin"])
    assert created.status_code == 201, created.text
    temporary = {"Authorization": f"Bearer {created.json()['key']}"}
    assert client.get("/keys/me", headers=temporary).status_code == 200

    revoked = client.post(f"/keys/{created.json()['id']}/revoke", headers=world.callers["admin"])
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revoked_at"] is not None

    before = snapshot(db)
    assert_problem(client.get("/keys/me", headers=temporary), 401, "invalid_api_key")
    assert_problem(
        client.post("/regions", json={"code": "36", "name": "Banten"}, headers=temporary), 401, "invalid_api_key"
    )
    assert snapshot(db) == before


ROLES = ["admin", "finance", "regional_finance", "recipient", "auditor"]


@pytest.mark.parametrize("caller", ROLES)
def test_keys_me_answers_the_callers_role(client: httpx.Client, world: World, caller: str) -> None:
    response = client.get("/keys/me", headers=world.callers[caller])
    assert response.status_code == 200, response.text
    me = response.json()
    assert me["key_id"] == world.key_ids[caller]
    assert me["role"] == caller.removeprefix("regional_")
    assert me["recipient_id"] == (world.recipient_id if caller == "recipient" else None)
    assert me.get("region_code") == ("35.74" if caller == "regional_finance" else None)


def test_keys_me_without_a_key_is_the_public(client: httpx.Client, world: World) -> None:
    response = client.get("/keys/me")
    assert response.status_code == 200, response.text
    assert {name: value for name, value in response.json().items() if value is not None} == {}


@pytest.mark.parametrize("caller", ["revoked", "unknown", "basic_scheme", "bearer_without_key", "key_without_scheme"])
def test_keys_me_refuses_bad_credentials(client: httpx.Client, world: World, caller: str) -> None:
    status, code = REFUSALS[caller]
    assert_problem(client.get("/keys/me", headers=world.callers[caller]), status, code)


PUBLIC_READS: dict[str, Callable[[World], str]] = {
    "regions": lambda _: "/regions",
    "regions by level": lambda _: "/regions?level=city",
    "regions by parent": lambda _: "/regions?parent_code=35",
    "region": lambda _: "/regions/35.74",
    "elections": lambda _: "/elections",
    "elections by region": lambda _: "/elections?region_code=35.74&year=2024",
    "election": lambda world: f"/elections/{world.election_id}",
    "recipients": lambda _: "/recipients",
    "recipients by kind": lambda _: "/recipients?kind=kpu&region_code=35.74",
    "recipient": lambda world: f"/recipients/{world.recipient_id}",
    "stages": lambda _: "/codes/stages",
    "categories": lambda _: "/codes/categories",
}


@pytest.mark.parametrize("read", list(PUBLIC_READS))
def test_public_reads_need_no_key(client: httpx.Client, db: psycopg.Connection[Any], world: World, read: str) -> None:
    before = snapshot(db)
    response = client.get(PUBLIC_READS[read](world))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    if "data" in body:
        assert body["data"], f"{read} came back empty"
    assert snapshot(db) == before


@pytest.mark.parametrize("caller", ROLES)
def test_every_role_reads_the_public_data(client: httpx.Client, world: World, caller: str) -> None:
    for read in PUBLIC_READS.values():
        response = client.get(read(world), headers=world.callers[caller])
        assert response.status_code == 200, (read(world), response.text)
