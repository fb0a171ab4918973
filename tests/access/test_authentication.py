"""Authentication: a bearer key of a known, unrevoked API key, or the public; /keys/me says which."""

from typing import Any

import httpx
import psycopg
import pytest

from tests.helpers import BAD_CREDENTIALS, ROLES, RoleWorld, assert_problem, nothing_written


def test_a_key_revoked_through_the_api_stops_working_at_once(
    client: httpx.Client, db: psycopg.Connection[Any], role_world: RoleWorld
) -> None:
    created = client.post(
        "/keys", json={"name": "Admin sementara", "role": "admin"}, headers=role_world.callers["admin"]
    )
    assert created.status_code == 201, created.text
    temporary = {"Authorization": f"Bearer {created.json()['key']}"}
    assert client.get("/keys/me", headers=temporary).status_code == 200

    revoked = client.post(f"/keys/{created.json()['id']}/revoke", headers=role_world.callers["admin"])
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revoked_at"] is not None

    with nothing_written(db):
        assert_problem(client.get("/keys/me", headers=temporary), 401, "invalid_api_key")
        assert_problem(
            client.post("/regions", json={"code": "36", "name": "Banten"}, headers=temporary), 401, "invalid_api_key"
        )


@pytest.mark.parametrize("caller", ROLES)
def test_keys_me_answers_the_callers_role(client: httpx.Client, role_world: RoleWorld, caller: str) -> None:
    response = client.get("/keys/me", headers=role_world.callers[caller])
    assert response.status_code == 200, response.text
    me = response.json()
    assert me["key_id"] == role_world.key_ids[caller]
    assert me["role"] == caller.removeprefix("regional_")
    assert me["recipient_id"] == (role_world.recipient_id if caller == "recipient" else None)
    assert me.get("region_code") == ("35.74" if caller == "regional_finance" else None)


def test_keys_me_without_a_key_is_the_public(client: httpx.Client, role_world: RoleWorld) -> None:
    response = client.get("/keys/me")
    assert response.status_code == 200, response.text
    assert {name: value for name, value in response.json().items() if value is not None} == {}


@pytest.mark.parametrize("caller", list(BAD_CREDENTIALS))
def test_keys_me_refuses_bad_credentials(client: httpx.Client, role_world: RoleWorld, caller: str) -> None:
    status, code = BAD_CREDENTIALS[caller]
    assert_problem(client.get("/keys/me", headers=role_world.callers[caller]), status, code)
