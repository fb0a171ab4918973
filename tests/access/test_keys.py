"""API keys: made by admins, scoped where the role needs it, shown once, stored hashed."""

import hashlib
from typing import Any

import httpx
import psycopg
import pytest

from tests.helpers import (
    KEY,
    LONG_NAME,
    NUL_NAME,
    Body,
    Refuses,
    RoleWorld,
    World,
    assert_problem,
    changed,
    last_seq,
    nothing_written,
    secret_of,
    without,
)

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
    pytest.param({"name": "Bendahara", "role": "recipient"}, 422, "inconsistent_input", None, id="recipient-unscoped"),
    pytest.param(changed(KEY, recipient_id=1), 422, "inconsistent_input", None, id="finance-scoped"),
    pytest.param(changed(KEY, role="admin", recipient_id=1), 422, "inconsistent_input", None, id="admin-scoped"),
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
    pytest.param(
        changed(KEY, role="auditor", region_code="35.74"), 422, "inconsistent_input", None, id="auditor-bound"
    ),
    pytest.param(changed(KEY, role="admin", region_code="35"), 422, "inconsistent_input", None, id="admin-bound"),
]


@pytest.mark.parametrize(("body", "status", "code", "field"), KEY_CASES)
def test_key_create_refuses(refuses: Refuses, body: Body, status: int, code: str, field: str | None) -> None:
    refuses("POST", "/keys", body, status, code, field)


def test_revoking_twice_conflicts_and_unknown_keys_are_not_found(
    client: httpx.Client, db: psycopg.Connection[Any], world: World
) -> None:
    with nothing_written(db):
        assert_problem(client.post(f"/keys/{world.revoked_key_id}/revoke", headers=world.admin), 409, "api_key_revoked")
        assert_problem(client.post("/keys/999999/revoke", headers=world.admin), 404, "api_key_not_found")
        assert_problem(client.get("/keys/999999", headers=world.admin), 404, "api_key_not_found")


def test_key_listings_never_show_secrets_or_hashes(
    client: httpx.Client, db: psycopg.Connection[Any], role_world: RoleWorld
) -> None:
    listing = client.get("/keys", headers=role_world.callers["admin"])
    single = client.get(f"/keys/{role_world.key_ids['finance']}", headers=role_world.callers["admin"])
    assert listing.status_code == 200, listing.text
    assert single.status_code == 200, single.text
    assert {key["id"] for key in listing.json()["data"]} >= set(role_world.key_ids.values())
    hashes = [row[0] for row in db.execute("SELECT key_hash FROM api_key")]
    for text in (listing.text, single.text):
        assert "key_hash" not in text
        assert '"key"' not in text
        for headers in role_world.callers.values():
            if "Authorization" in headers and headers["Authorization"].startswith("Bearer hibah_"):
                assert secret_of(headers) not in text
        for digest in hashes:
            assert digest not in text


def test_a_key_is_stored_as_the_sha256_of_its_secret_and_never_in_clear(
    client: httpx.Client, db: psycopg.Connection[Any], admin: dict[str, str]
) -> None:
    created = client.post("/keys", json={"name": "BPKAD Kota Probolinggo", "role": "finance"}, headers=admin)
    assert created.status_code == 201, created.text
    secret: str = created.json()["key"]
    row = db.execute("SELECT key_hash, prefix FROM api_key WHERE id = %s", (created.json()["id"],)).fetchone()
    assert row == (hashlib.sha256(secret.encode("utf-8")).hexdigest(), secret[:12])
    stored = db.execute("SELECT string_agg(api_key::text, '|') FROM api_key").fetchone()
    assert stored is not None and secret not in stored[0]
    me = client.get("/keys/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.status_code == 200 and me.json()["role"] == "finance", me.text


def test_a_write_is_attributed_to_the_key_that_made_it(
    client: httpx.Client, db: psycopg.Connection[Any], role_world: RoleWorld
) -> None:
    created = client.post("/keys", json={"name": "Admin kedua", "role": "admin"}, headers=role_world.callers["admin"])
    assert created.status_code == 201, created.text
    second = {"Authorization": f"Bearer {created.json()['key']}"}
    second_id: int = created.json()["id"]
    assert second_id != role_world.key_ids["admin"]
    row = db.execute("SELECT created_by_key_id FROM api_key WHERE id = %s", (second_id,)).fetchone()
    assert row == (role_world.key_ids["admin"],)

    seq = last_seq(db)
    response = client.post("/regions", json={"code": "36", "name": "Banten"}, headers=second)
    assert response.status_code == 201, response.text
    events = db.execute(
        "SELECT actor_key_id, actor_role, action, entity, entity_id FROM audit_event WHERE seq > %s", (seq,)
    ).fetchall()
    assert events == [(second_id, "admin", "region.create", "region", "36")]
