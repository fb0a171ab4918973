"""Sealed checkpoints: the chain's head signed with Ed25519, checked by an independent library (PyNaCl), and
verify naming events lost or altered behind a checkpoint, and a forged signature."""

import base64
import hashlib
import json
import os
import subprocess
import sys
from typing import Any

import httpx
import psycopg
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from tests.helpers import Grant, KeyMaker


def _seal(client: httpx.Client, admin: dict[str, str]) -> dict[str, Any]:
    response = client.post("/audit/checkpoints", headers=admin)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _behind_the_api(db: psycopg.Connection[Any], *statements: str) -> None:
    """A superuser rewrites history, append-only triggers off."""
    db.execute("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only")
    db.execute("ALTER TABLE audit_checkpoint DISABLE TRIGGER audit_checkpoint_append_only")
    for statement in statements:
        db.execute(statement)
    db.execute("ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only")
    db.execute("ALTER TABLE audit_checkpoint ENABLE TRIGGER audit_checkpoint_append_only")


def test_a_checkpoint_is_checked_by_pynacl(
    client: httpx.Client, grant: Grant, admin: dict[str, str], db: psycopg.Connection[Any]
) -> None:
    sealed = _seal(client, admin)
    head = client.get("/audit/events", params={"limit": 500}, headers=admin).json()["data"][4]
    assert (sealed["seq"], sealed["hash"]) == (5, head["hash"])
    at = sealed["at"]
    assert at.endswith("Z") and len(at) == len("2026-12-03T12:00:00Z")
    assert sealed["message"] == '{"at":"' + at + '","hash":"' + head["hash"] + '","seq":5}'

    published = client.get("/audit/public-key")  # public: no key
    assert published.status_code == 200
    key = published.json()
    assert key["source"] == "database"
    assert key["public_key"] == sealed["public_key"]
    assert key["key_id"] == hashlib.sha256(base64.b64decode(key["public_key"])).hexdigest()[:16]
    assert set(key) == {"algorithm", "key_id", "public_key", "public_key_hex", "pem", "source"}
    stored = db.execute("SELECT private_key FROM audit_signing_key").fetchone()
    assert stored is not None and len(stored[0]) == 32
    for shown in (published.text, json.dumps(sealed)):
        assert base64.b64encode(stored[0]).decode() not in shown
        assert bytes(stored[0]).hex() not in shown

    # What a reader does, with a library that is not this codebase's.
    verify_key = VerifyKey(base64.b64decode(key["public_key"]))
    message = json.dumps(
        {"seq": sealed["seq"], "hash": sealed["hash"], "at": at}, sort_keys=True, separators=(",", ":")
    )
    assert verify_key.verify(message.encode(), base64.b64decode(sealed["signature"])) == message.encode()
    forged = message.replace('"seq":5', '"seq":4').encode()
    try:
        verify_key.verify(forged, base64.b64decode(sealed["signature"]))
    except BadSignatureError:
        pass
    else:
        raise AssertionError("a changed message must not verify")

    listed = client.get("/audit/checkpoints")  # public
    assert listed.status_code == 200
    assert listed.json() == {"data": [sealed], "next_cursor": None}
    # The checkpoint is itself a write on the chain.
    assert (
        client.get("/audit/events", params={"action": "audit_checkpoint.create"}, headers=admin).json()["data"][0][
            "payload"
        ]["seq"]
        == 5
    )


def test_checkpoints_need_an_admin(client: httpx.Client, grant: Grant, auditor: dict[str, str]) -> None:
    assert client.post("/audit/checkpoints").status_code == 401
    assert client.post("/audit/checkpoints", headers=auditor).status_code == 403


def test_verify_names_events_deleted_behind_a_checkpoint(
    client: httpx.Client, grant: Grant, admin: dict[str, str], auditor: dict[str, str], db: psycopg.Connection[Any]
) -> None:
    sealed = _seal(client, admin)
    intact = client.get("/audit/verify", headers=auditor).json()
    assert intact["valid"] is True
    assert intact["checkpoints"] == {
        "valid": True,
        "checked": 1,
        "confirmed": 1,
        "latest_confirmed_seq": 5,
        "problems": [],
    }
    # The newest events go; what is left is a perfectly valid chain of 3.
    _behind_the_api(db, "DELETE FROM audit_event WHERE seq >= 4")
    broken = client.get("/audit/verify", headers=auditor).json()
    assert broken["valid"] is False
    assert broken["events"] == 3
    assert broken["first_bad_seq"] == 4
    assert broken["checkpoints"]["problems"] == [{"checkpoint_id": sealed["id"], "seq": 5, "problem": "missing_events"}]


def test_verify_names_events_altered_and_chained_again(
    client: httpx.Client, grant: Grant, admin: dict[str, str], auditor: dict[str, str], db: psycopg.Connection[Any]
) -> None:
    first = _seal(client, admin)  # seq 5; its own event is 6
    second = _seal(client, admin)  # seq 6
    # Event 6 altered and every hash from it on recomputed: the chain alone still holds.
    rows = db.execute(
        "SELECT seq, at, actor_key_id, actor_role, action, entity, entity_id, request_id, payload, prev_hash"
        " FROM audit_event WHERE seq >= 6 ORDER BY seq"
    ).fetchall()
    previous = db.execute("SELECT hash FROM audit_event WHERE seq = 5").fetchone()
    assert previous is not None
    prev_hash = previous[0]
    statements = []
    for seq, at, key_id, role, action, entity, entity_id, request_id, stored, _ in rows:
        payload = {**stored, "seq": 4} if seq == 6 else stored
        fields = {
            "seq": seq,
            "at": at.isoformat(),
            "actor_key_id": key_id,
            "actor_role": role,
            "action": action,
            "entity": entity,
            "entity_id": entity_id,
            "request_id": request_id,
            "payload": payload,
        }
        canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        digest = hashlib.sha256((prev_hash + canonical).encode()).hexdigest()
        statements.append(
            f"UPDATE audit_event SET payload = '{json.dumps(payload)}'::jsonb, prev_hash = '{prev_hash}',"
            f" hash = '{digest}' WHERE seq = {seq}"
        )
        prev_hash = digest
    _behind_the_api(db, *statements)
    broken = client.get("/audit/verify", headers=auditor).json()
    assert broken["valid"] is False
    assert broken["first_bad_seq"] == 6
    assert broken["checkpoints"]["confirmed"] == 1
    assert broken["checkpoints"]["latest_confirmed_seq"] == first["seq"]
    assert broken["checkpoints"]["problems"] == [{"checkpoint_id": second["id"], "seq": 6, "problem": "altered_events"}]


def test_verify_names_a_forged_signature(
    client: httpx.Client, grant: Grant, make_key: KeyMaker, db: psycopg.Connection[Any]
) -> None:
    admin = make_key("admin")
    sealed = _seal(client, admin)
    flipped = bytearray(base64.b64decode(sealed["signature"]))
    flipped[0] ^= 1
    _behind_the_api(
        db, f"UPDATE audit_checkpoint SET signature = '\\x{flipped.hex()}'::bytea WHERE id = {sealed['id']}"
    )
    broken = client.get("/audit/verify", headers=admin).json()
    assert broken["valid"] is False
    assert broken["first_bad_seq"] is None  # the chain itself is whole
    assert broken["checkpoints"]["problems"] == [{"checkpoint_id": sealed["id"], "seq": 5, "problem": "bad_signature"}]


def test_cli_seals_with_the_key_from_the_setting(
    database_url: str, client: httpx.Client, grant: Grant, admin: dict[str, str]
) -> None:
    seed = bytes(range(32))
    env = {**os.environ, "DATABASE_URL": database_url, "HIBAH_AUDIT_SIGNING_KEY": base64.b64encode(seed).decode()}
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "audit", "checkpoint"], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    sealed = json.loads(done.stdout.strip().splitlines()[-1])
    assert sealed["seq"] == 5
    assert base64.b64encode(seed).decode() not in done.stdout + done.stderr
    # The public half of that seed, by PyNaCl: the CLI signed with the setting's key, not the stored one.
    from nacl.signing import SigningKey  # noqa: PLC0415

    assert sealed["public_key"] == base64.b64encode(bytes(SigningKey(seed).verify_key)).decode()
    VerifyKey(bytes(SigningKey(seed).verify_key)).verify(
        sealed["message"].encode(), base64.b64decode(sealed["signature"])
    )
