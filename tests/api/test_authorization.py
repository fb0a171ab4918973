"""Who may do what: every admin-only operation against every kind of caller, over real HTTP.

Only admins manage reference data and keys (DESIGN §1). Every refusal is an RFC 9457 problem with a
stable code, and leaves every table exactly as it was; every admitted write is attributed, in the
audit chain, to the key that made it.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg
import pytest

from tests.helpers import (
    BAD_CREDENTIALS,
    ROLES,
    Headers,
    RoleWorld,
    assert_problem,
    last_seq,
    nothing_written,
)


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    json: dict[str, Any] | None = None
    csv: str | None = None
    action: str | None = None
    """The audit action an admitted call records; None for reads."""

    def send(self, client: httpx.Client, world: RoleWorld, headers: Headers) -> httpx.Response:
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
    **BAD_CREDENTIALS,
}


@pytest.mark.parametrize("caller", list(REFUSALS))
@pytest.mark.parametrize("endpoint", list(ADMIN_ONLY))
def test_only_admins_pass(
    client: httpx.Client, db: psycopg.Connection[Any], role_world: RoleWorld, endpoint: str, caller: str
) -> None:
    # An Idempotency-Key too: a refused request must not reserve it either.
    headers = {**role_world.callers[caller], "Idempotency-Key": f"authz-{caller}"}
    with nothing_written(db):
        response = ADMIN_ONLY[endpoint].send(client, role_world, headers)
    status, code = REFUSALS[caller]
    assert_problem(response, status, code)
    if status == 401:
        assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("endpoint", list(ADMIN_ONLY))
def test_admin_passes_and_is_recorded(
    client: httpx.Client, db: psycopg.Connection[Any], role_world: RoleWorld, endpoint: str
) -> None:
    call = ADMIN_ONLY[endpoint]
    seq = last_seq(db)
    response = call.send(client, role_world, {**role_world.callers["admin"], "X-Request-ID": f"authz-{call.method}"})
    assert 200 <= response.status_code < 300, response.text
    assert response.headers["content-type"].startswith("application/json")
    events = db.execute(
        "SELECT actor_key_id, actor_role, action, request_id FROM audit_event WHERE seq > %s ORDER BY seq", (seq,)
    ).fetchall()
    if call.action is None:
        assert events == []
    else:
        assert events == [(role_world.key_ids["admin"], "admin", call.action, f"authz-{call.method}")]


PUBLIC_READS: dict[str, Callable[[RoleWorld], str]] = {
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
def test_public_reads_need_no_key(
    client: httpx.Client, db: psycopg.Connection[Any], role_world: RoleWorld, read: str
) -> None:
    with nothing_written(db):
        response = client.get(PUBLIC_READS[read](role_world))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    if "data" in body:
        assert body["data"], f"{read} came back empty"


@pytest.mark.parametrize("caller", ROLES)
def test_every_role_reads_the_public_data(client: httpx.Client, role_world: RoleWorld, caller: str) -> None:
    for read in PUBLIC_READS.values():
        response = client.get(read(role_world), headers=role_world.callers[caller])
        assert response.status_code == 200, (read(role_world), response.text)
