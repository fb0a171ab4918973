"""The money race against ``hibah serve --workers 2``: two processes, each with its own pool, one agreement.

The in-process test server has one event loop; here the row lock must hold across processes too."""

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import psutil
import psycopg
import pytest

from tests.helpers import Grant, Timed, another_grant, free_port, most_in_flight

KODIM = {"name": "Kodim 0820/Probolinggo", "kind": "tni", "region_code": "35.74"}
PAYMENTS = 40


@pytest.fixture
def two_workers(database_url: str) -> Iterator[tuple[str, list[psutil.Process]]]:
    """``hibah serve --workers 2`` on the test database; its address and its two worker processes."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "HIBAH_LOG_LEVEL": "warning"}
    server = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--workers", "2", "--no-migrate"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90
        workers: list[psutil.Process] = []
        while len(workers) < 2:
            assert server.poll() is None and time.monotonic() < deadline, server.communicate()[0]
            time.sleep(0.2)
            workers = [
                child
                for child in psutil.Process(server.pid).children(recursive=True)
                if any(s.status == psutil.CONN_LISTEN and s.laddr.port == port for s in child.net_connections("tcp"))
            ]
        yield f"http://127.0.0.1:{port}", workers
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)


def worker_of(workers: list[psutil.Process], http: httpx.Client, port: int) -> int:
    """The pid of the worker that accepted ``http``'s (open) connection."""
    response = http.get("/healthz")
    assert response.status_code == 200
    client_port = response.extensions["network_stream"].get_extra_info("client_addr")[1]
    for worker in workers:
        for socket in worker.net_connections("tcp"):
            if socket.laddr.port == port and socket.raddr and socket.raddr.port == client_port:
                return worker.pid
    raise AssertionError(f"no worker holds the connection from port {client_port}")


@pytest.mark.slow
def test_parallel_payments_across_two_workers_never_pass_the_amount(
    client: httpx.Client,
    grant: Grant,
    db: psycopg.Connection[Any],
    two_workers: tuple[str, list[psutil.Process]],
) -> None:
    """40 payments of Rp30,000 at Rp1,000,000, released together over connections held by both workers:
    exactly 33 fit (33 x 30,000 = 990,000; a 34th would make 1,020,000), whichever worker took them."""
    address, workers = two_workers
    port = int(address.rsplit(":", 1)[1])
    kodim = another_grant(
        client, grant, KODIM, number="NPHD-KODIM", signed_on="2024-02-20", scheme="lump_sum", amount="1000000"
    )
    clients = [httpx.Client(base_url=address, timeout=60) for _ in range(PAYMENTS)]
    try:
        owners = [worker_of(workers, http, port) for http in clients]
        assert set(owners) == {worker.pid for worker in workers}, "both workers hold some of the connections"
        barrier = threading.Barrier(PAYMENTS, timeout=60)
        timings: list[Timed | None] = [None] * PAYMENTS

        def pay(n: int) -> None:
            body = {"tranche": 1, "amount": "30000", "paid_on": "2024-03-05", "sp2d_number": f"SP2D-{n:03d}"}
            headers = {**grant.finance, "Idempotency-Key": f"pay-{n}"}
            barrier.wait()
            sent = time.monotonic()
            response = clients[n].post(
                f"/api/v1/agreements/{kodim.agreement_id}/disbursements", json=body, headers=headers
            )
            timings[n] = Timed(response, sent, time.monotonic())

        threads = [threading.Thread(target=pay, args=(n,)) for n in range(PAYMENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        for http in clients:
            http.close()
    done = [timed for timed in timings if timed is not None]
    assert len(done) == PAYMENTS
    assert most_in_flight(done) >= PAYMENTS // 2, "the payments overlapped"
    by_worker = {
        pid: sorted(done[n].response.status_code for n in range(PAYMENTS) if owners[n] == pid) for pid in set(owners)
    }
    statuses = sorted(timed.response.status_code for timed in done)
    assert statuses == [201] * 33 + [409] * 7, (statuses, by_worker)
    stored = db.execute("SELECT count(*), sum(amount) FROM disbursement WHERE agreement_id = %s", (kodim.agreement_id,))
    assert stored.fetchone() == (33, Decimal("990000.00"))
    position = client.get(f"/agreements/{kodim.agreement_id}/position").json()
    assert (position["disbursed"], position["undisbursed"]) == ("990000.00", "10000.00")
