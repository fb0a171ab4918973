"""kill -9 of the embedded PostgreSQL under concurrent disbursements with Idempotency-Keys (issue #11): every
201 is kept, a retry with the same key does not pay twice, the failures are 503s (never a reset), and the API
recovers by itself (serve restarts its PostgreSQL) without a restart of its own."""

import httpx
import psycopg
import pytest

from tests.faults.harness import API, Server, Setup, database_url, disbursement
from tests.faults.outages import kill_under_writes

pytestmark = pytest.mark.slow


def test_killed_database_loses_nothing_and_recovers_without_restarting_the_api(server: Server, setup: Setup) -> None:
    api_pid = server.process.pid
    # Writes stop 1 s after the first one acknowledged after the kill (each clerk finishing the payment it had
    # under way, so every clerk has come through the outage); 10 s is the most recovery may take.
    run, killed_pid = kill_under_writes(server, setup, writers=6, before_s=0.7, after_s=10, after_recovery_s=1)

    answered = {status for status in run.statuses if status.isdigit()}
    assert answered <= {"201", "503"}, run.statuses
    assert not [status for status in run.statuses if not status.isdigit()], f"connections reset: {run.statuses}"
    assert run.statuses["503"] > 0, "the kill was not felt"
    assert run.unfinished == 0
    assert run.first_ack_after is not None and run.first_ack_after < 10, run.first_ack_after

    acknowledged_before = [ack for ack in run.acknowledged if ack.sent_at < run.killed_at]
    assert acknowledged_before, "no payment was acknowledged before the kill: crash recovery is not exercised"
    with psycopg.connect(database_url(server), autocommit=True) as db:
        # Every acknowledged payment is there, once, as acknowledged (read straight from the table, in one query).
        stored = db.execute(
            "SELECT id, sp2d_number FROM disbursement WHERE agreement_id = %s", (setup.agreement_id,)
        ).fetchall()
    assert sorted(stored) == sorted((ack.disbursement_id, ack.sp2d) for ack in run.acknowledged)
    with httpx.Client(base_url=server.base + API, timeout=30) as http:
        position = http.get(f"/agreements/{setup.agreement_id}/position").json()
        assert position["disbursed"] == f"{1000 * len(run.acknowledged)}.00"
        # Retrying an acknowledged payment with its key replays it: still one payment.
        first = run.acknowledged[0]
        again = http.post(
            f"/agreements/{setup.agreement_id}/disbursements",
            json=disbursement(first.sp2d),
            headers={**setup.finance, "Idempotency-Key": first.key},
        )
        assert again.status_code == 201, again.text
        assert again.json()["id"] == first.disbursement_id
        assert http.get(f"/agreements/{setup.agreement_id}/position").json()["disbursed"] == position["disbursed"]
        assert httpx.get(f"{server.base}/readyz").json()["database"] == "up"

    assert server.process.poll() is None and server.process.pid == api_pid
    assert server.postmaster_pid() != killed_pid
    lines = server.lines()
    assert any("embedded PostgreSQL restarted" in line for line in lines)
    assert not [line for line in lines if " ERROR " in line or line.startswith("Traceback")], "\n".join(lines[-60:])
