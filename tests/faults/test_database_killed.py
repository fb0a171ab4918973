"""kill -9 of the embedded PostgreSQL under concurrent disbursements with Idempotency-Keys (issue #11): every
201 is kept, a retry with the same key does not pay twice, the failures are 503s (never a reset), and the API
recovers by itself (serve restarts its PostgreSQL) without a restart of its own."""

import httpx
import pytest

from tests.faults.harness import API, Server, Setup, disbursement
from tests.faults.outages import kill_under_writes

pytestmark = pytest.mark.slow


def test_killed_database_loses_nothing_and_recovers_without_restarting_the_api(server: Server, setup: Setup) -> None:
    api_pid = server.process.pid
    run, killed_pid = kill_under_writes(server, setup, writers=6, before_s=1.5, after_s=7)

    answered = {status for status in run.statuses if status.isdigit()}
    assert answered <= {"201", "503"}, run.statuses
    assert not [status for status in run.statuses if not status.isdigit()], f"connections reset: {run.statuses}"
    assert run.statuses["503"] > 0, "the kill was not felt"
    assert run.unfinished == 0
    assert run.first_ack_after is not None and run.first_ack_after < 10, run.first_ack_after

    with httpx.Client(base_url=server.base + API, timeout=30) as http:
        # Every acknowledged payment is there, once.
        for ack in run.acknowledged:
            kept = http.get(f"/disbursements/{ack.disbursement_id}", headers=setup.finance)
            assert kept.status_code == 200, kept.text
            assert kept.json()["sp2d_number"] == ack.sp2d
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
