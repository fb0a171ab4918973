"""The audit log: every write appends a hash-chained event; verify finds any altered event."""

import hashlib
import json
from datetime import UTC
from typing import Any

import httpx
import psycopg

from tests.helpers import Grant, KeyMaker, assert_problem, count, money_headers, post_all


def events(client: httpx.Client, headers: dict[str, str], **params: str | int) -> list[dict[str, Any]]:
    response = client.get("/audit/events", params={"limit": 500, **params}, headers=headers)
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()["data"]
    return rows


def test_writes_are_chained_with_their_actor(client: httpx.Client, grant: Grant, auditor: dict[str, str]) -> None:
    client.post(
        f"/agreements/{grant.agreement_id}/disbursements",
        json={"tranche": 1, "amount": "1300000000", "paid_on": "2023-12-19", "sp2d_number": "SP2D-1"},
        headers={**money_headers(grant.finance), "X-Request-ID": "bpkad-batch-7"},
    )
    log = events(client, auditor)
    assert [event["action"] for event in log] == [
        "region.create",
        "region.create",
        "election.create",
        "recipient.create",
        "agreement.create",
        "disbursement.create",
    ]
    assert [event["seq"] for event in log] == [1, 2, 3, 4, 5, 6]
    payment = log[-1]
    assert payment["actor_role"] == "finance"
    assert payment["request_id"] == "bpkad-batch-7"
    assert payment["payload"]["amount"] == "1300000000.00"
    previous = "0" * 64
    for event in log:
        assert event["prev_hash"] == previous
        fields = {key: event[key] for key in event if key not in ("prev_hash", "hash")}
        fields["at"] = fields["at"].replace("Z", "+00:00")
        canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert event["hash"] == hashlib.sha256((previous + canonical).encode()).hexdigest()
        previous = event["hash"]
    only_money = events(client, auditor, entity="disbursement")
    assert len(only_money) == 1


def chain_head(db: psycopg.Connection[Any]) -> str:
    """The chain recomputed from the stored rows by the documented formula (README, DESIGN §2):
    ``hash = sha256(prev_hash ‖ canonical JSON of the event)``, canonical = sorted keys, no spaces, UTF-8,
    over every stored field but the two hashes; each row's own hashes are checked on the way."""
    previous = "0" * 64
    rows = db.execute(
        "SELECT seq, at, actor_key_id, actor_role, action, entity, entity_id, request_id, payload, prev_hash, hash"
        " FROM audit_event ORDER BY seq"
    ).fetchall()
    assert rows, "no events to chain"
    for seq, at, key_id, role, action, entity, entity_id, request_id, payload, prev_hash, stored in rows:
        event = {
            "seq": seq,
            "at": at.astimezone(UTC).isoformat(),
            "actor_key_id": key_id,
            "actor_role": role,
            "action": action,
            "entity": entity,
            "entity_id": entity_id,
            "request_id": request_id,
            "payload": payload,
        }
        canonical = json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        digest = hashlib.sha256((previous + canonical).encode()).hexdigest()
        assert (prev_hash, stored) == (previous, digest), f"event {seq}"
        previous = digest
    return previous


def test_verify_names_the_altered_event(
    client: httpx.Client, grant: Grant, auditor: dict[str, str], db: psycopg.Connection[Any]
) -> None:
    intact = client.get("/audit/verify", headers=auditor).json()
    ledger = {"valid": True, "agreements_checked": 1, "reports_checked": 0, "first_mismatch": None}
    assert intact == {
        "valid": True,
        "events": 5,
        "head_hash": chain_head(db),
        "first_bad_seq": None,
        "checkpoints": {"valid": True, "checked": 0, "confirmed": 0, "latest_confirmed_seq": None, "problems": []},
        "ledger": ledger,
    }
    # A superuser rewrites history behind the application's back.
    db.execute("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only")
    db.execute("""UPDATE audit_event SET payload = jsonb_set(payload, '{amount}', '"1.00"') WHERE seq = 5""")
    db.execute("ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only")
    broken = client.get("/audit/verify", headers=auditor).json()
    assert broken["valid"] is False
    assert broken["first_bad_seq"] == 5


def test_verify_notices_a_deleted_event(
    client: httpx.Client, grant: Grant, make_key: KeyMaker, db: psycopg.Connection[Any]
) -> None:
    db.execute("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only")
    db.execute("DELETE FROM audit_event WHERE seq = 3")
    db.execute("ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only")
    assert client.get("/audit/verify", headers=make_key("admin")).json()["first_bad_seq"] == 3


def test_the_application_cannot_rewrite_the_log(grant: Grant, db: psycopg.Connection[Any]) -> None:
    try:
        db.execute("UPDATE audit_event SET action = 'nothing' WHERE seq = 1")
    except psycopg.errors.InsufficientPrivilege:
        pass
    else:
        raise AssertionError("the append-only trigger let an UPDATE through")


def test_audit_log_is_for_auditors(client: httpx.Client, grant: Grant, make_key: KeyMaker) -> None:
    assert_problem(client.get("/audit/events"), 401, "api_key_required")
    assert_problem(client.get("/audit/verify", headers=grant.finance), 403, "role_not_allowed")


def test_concurrent_writers_make_one_unbroken_chain(
    server_address: str, client: httpx.Client, grant: Grant, auditor: dict[str, str], db: psycopg.Connection[Any]
) -> None:
    """Events are chained during COMMIT (migration 0004): parallel writers still get one gapless order."""
    before = client.get("/audit/verify", headers=auditor).json()["events"]

    payments = [
        (
            f"/agreements/{grant.agreement_id}/disbursements",
            {
                "tranche": 1,
                "amount": "1000000",
                "paid_on": "2023-12-19",
                "sp2d_number": f"SP2D-PAR-{number}",
                "note": f"Pencairan – tahap I ✓ №{number}",  # non-ASCII: the database hashes UTF-8 bytes
            },
            money_headers(grant.finance),
        )
        for number in range(48)
    ]
    statuses = [response.status_code for response in post_all(server_address, payments)]
    assert statuses == [201] * 48
    over = client.post(
        f"/agreements/{grant.agreement_id}/disbursements",
        json={"tranche": 2, "amount": "999999999999", "paid_on": "2024-06-01", "sp2d_number": "SP2D-TOO-MUCH"},
        headers=money_headers(grant.finance),
    )
    assert_problem(over, 409, "over_disbursement")
    verified = client.get("/audit/verify", headers=auditor).json()
    assert verified["valid"] is True
    assert verified["events"] == before + 48, "one event per payment, none for the refused one"
    seqs = [row[0] for row in db.execute("SELECT seq FROM audit_event ORDER BY seq").fetchall()]
    assert seqs == list(range(1, before + 49))
    assert count(db, "audit_pending") == 0, "pending events never outlive their transaction"
    notes = events(client, auditor, entity="disbursement")
    assert {event["payload"]["note"] for event in notes} == {f"Pencairan – tahap I ✓ №{n}" for n in range(48)}
