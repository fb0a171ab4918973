"""``serve --workers 2``: each worker listens for the chain's commits, so a follower on either is told of a
commit made through another process (here the test server, standing in for another API node)."""

import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import psutil
import psycopg
import pytest

from tests.helpers import Grant, created, free_port, last_seq, pay

HIBAH = [sys.executable, "-m", "app.cli"]


def _serve(database_url: str, port: int) -> subprocess.Popen[str]:
    env = {key: value for key, value in os.environ.items() if key != "PROMETHEUS_MULTIPROC_DIR"}
    env.update({"DATABASE_URL": database_url, "HIBAH_DB_POOL_SIZE": "2", "HIBAH_LOG_LEVEL": "warning"})
    process = subprocess.Popen(
        [*HIBAH, "serve", "--port", str(port), "--workers", "2", "--no-migrate"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.3)
    process.kill()
    raise AssertionError(f"serve did not become ready:\n{process.communicate()[0]}")


def _workers(server: subprocess.Popen[str], port: int) -> list[psutil.Process]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        listening = [
            child
            for child in psutil.Process(server.pid).children(recursive=True)
            if any(s.status == psutil.CONN_LISTEN and s.laddr.port == port for s in child.net_connections("tcp"))
        ]
        if len(listening) == 2:
            return listening
        time.sleep(0.2)
    raise AssertionError("two workers did not listen")


def _clients_on_every_worker(port: int, workers: list[psutil.Process]) -> list[httpx.Client]:
    """Connections opened until each worker holds at least one (the kernel picks the worker of each)."""
    clients: list[httpx.Client] = []
    while len(clients) < 64:
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}/api/v1", timeout=60)
        assert client.get("/changes", params={"limit": 1}).status_code == 200
        clients.append(client)
        if all(any(s.status == psutil.CONN_ESTABLISHED for s in worker.net_connections("tcp")) for worker in workers):
            return clients
    raise AssertionError("64 connections all reached one worker")


@pytest.mark.slow  # a server of its own, with two worker processes
def test_followers_on_every_worker_are_told_of_a_commit_made_elsewhere(
    client: httpx.Client, database_url: str, grant: Grant, db: psycopg.Connection[Any]
) -> None:
    port = free_port()
    server = _serve(database_url, port)
    clients: list[httpx.Client] = []
    try:
        workers = _workers(server, port)
        clients = _clients_on_every_worker(port, workers)
        head = last_seq(db)

        def follow(http: httpx.Client) -> tuple[list[int], float]:
            response = http.get("/changes", params={"after": head, "wait": 20})
            return [entry["seq"] for entry in response.json()["data"]], time.monotonic()

        with ThreadPoolExecutor(max_workers=len(clients)) as pool:
            followers = [pool.submit(follow, http) for http in clients]
            time.sleep(0.5)
            assert not any(follower.done() for follower in followers)
            created(pay(client, grant, "10000000", "SP2D-1", "2023-12-19"))
            committed = time.monotonic()
            answers = [follower.result(timeout=30) for follower in followers]
        assert [seqs for seqs, _ in answers] == [[head + 1]] * len(clients)
        assert max(told for _, told in answers) - committed < 1.0
        listeners = db.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE application_name = 'hibah-feed' AND datname = current_database()"
        ).fetchone()
        assert listeners == (3,)  # one per worker, and the test server's own
    finally:
        for http in clients:
            http.close()
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=60)
