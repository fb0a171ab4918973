"""Read routing in one process: the replica here is the test database itself, reached through the replica's
engine and pools (read-only sessions, named apart), plus one replica that is down. The real standby, killed and
brought back, and PgBouncer are in test_cluster.py."""

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import psycopg
import pytest
import uvicorn
from sqlalchemy.engine import make_url

from app.core.config import Settings
from app.main import create_app
from tests.helpers import Grant, Headers, created, free_port, pay

LAG = "Hibah-Replica-Lag"


@pytest.fixture(scope="module")
def dead_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def dead_replica(dead_port: int) -> str:
    """How /readyz and /metrics name the replica that is down."""
    return f"127.0.0.1:{dead_port}/nothing"


@contextmanager
def serving(settings: Settings) -> Iterator[str]:
    app = create_app(settings)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def server_address(database_url: str, dead_port: int) -> Iterator[str]:
    """The app with two replicas: the test database (up) and a port nothing listens on (down)."""
    down = make_url(database_url).set(host="127.0.0.1", port=dead_port, database="nothing")
    replicas = f"{database_url},{down.render_as_string(hide_password=False)}"
    with serving(Settings(DATABASE_URL=database_url, DATABASE_REPLICA_URL=replicas, log_level="error")) as address:
        yield address


def _replica_sessions(db: psycopg.Connection[Any]) -> int:
    row = db.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name IN ('hibah-replica', 'hibah-replica-read')"
    ).fetchone()
    assert row is not None
    return int(row[0])


def test_public_reads_are_served_by_the_replica(client: httpx.Client, paid: Grant, db: psycopg.Connection[Any]) -> None:
    listed = client.get("/agreements")
    assert listed.status_code == 200
    assert listed.headers[LAG] == "0.000"  # not in recovery: no lag
    position = client.get(f"/agreements/{paid.agreement_id}/position")  # the hot single-row path
    assert position.status_code == 200
    assert position.headers[LAG] == "0.000"
    assert position.json()["disbursed"] == "10000000.00"
    summary = client.get("/summaries", params={"group_by": "region"})
    assert summary.status_code == 200 and LAG in summary.headers
    # A browser's script may read it too.
    cross = client.get("/agreements", headers={"Origin": "https://newsroom.example"})
    assert "hibah-replica-lag" in cross.headers["access-control-expose-headers"].lower()
    assert _replica_sessions(db) >= 1


def test_a_writer_reads_its_writes_on_the_primary(client: httpx.Client, paid: Grant, auditor: Headers) -> None:
    created(pay(client, paid, "5000000", "SP2D-2", "2023-12-20"))
    own = client.get(f"/agreements/{paid.agreement_id}/position", headers=paid.finance)
    assert own.status_code == 200
    assert LAG not in own.headers
    assert own.json()["disbursed"] == "15000000.00"
    # A key that only reads, and the public, still read on the replica.
    assert LAG in client.get(f"/agreements/{paid.agreement_id}", headers=auditor).headers
    assert LAG in client.get(f"/agreements/{paid.agreement_id}").headers
    # A write's own answer never comes from a replica.
    assert LAG not in pay(client, paid, "1000000", "SP2D-3", "2023-12-21").headers


def test_a_replica_that_is_down_is_skipped_and_reported(client: httpx.Client, dead_replica: str, grant: Grant) -> None:
    for _ in range(6):  # taken in turn: a down replica would fail every other read
        answer = client.get(f"/agreements/{grant.agreement_id}")
        assert answer.status_code == 200
        assert answer.headers[LAG] == "0.000"
    root = str(client.base_url).removesuffix("/api/v1/")
    ready = httpx.get(f"{root}/readyz").json()
    states = {state["name"]: state for state in ready["replicas"]}
    assert ready["status"] == "ready"
    assert states[dead_replica]["up"] is False and states[dead_replica]["in_use"] is False
    assert states[dead_replica]["error"]
    assert [state["in_use"] for name, state in states.items() if name != dead_replica] == [True]
    metrics = httpx.get(f"{root}/metrics").text
    assert f'hibah_db_replica_up{{replica="{dead_replica}"}} 0.0' in metrics
    assert "hibah_db_replica_in_use{" in metrics


def test_the_portal_reads_on_the_replica(client: httpx.Client, grant: Grant) -> None:
    root = str(client.base_url).removesuffix("/api/v1/")
    page = httpx.get(f"{root}/nphd/{grant.agreement_id}")
    assert page.status_code == 200
    assert page.headers[LAG] == "0.000"


class Cutter:
    """A TCP proxy to the database: the replica's way in, which the test cuts like a crash cuts it."""

    def __init__(self, database_url: str) -> None:
        url = make_url(database_url)
        socket_dir = url.query.get("host")
        self.target: tuple[str, int] | str = (
            f"{socket_dir}/.s.PGSQL.{url.port or 5432}" if socket_dir else (url.host or "127.0.0.1", url.port or 5432)
        )
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.open: list[socket.socket] = []
        self.dead = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.dead:
                client.close()
                return
            family = socket.AF_UNIX if isinstance(self.target, str) else socket.AF_INET
            server = socket.socket(family, socket.SOCK_STREAM)
            server.connect(self.target)
            self.open += [client, server]
            for one, other in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(one, other), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        """Nothing listens any more, and every open connection is reset."""
        self.dead = True
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread: close() alone would not
        self.listener.close()
        for connection in self.open:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()


@pytest.mark.parametrize("first", ["hot read", "transaction"])
def test_reads_fall_back_at_once_when_the_replica_dies_between_checks(
    database_url: str, paid: Grant, first: str
) -> None:
    """The replica dies a minute before its next check: the first read to meet its dead connections (on the hot
    single-row pool, or in a request's transaction) is answered by the primary, not with an error, and marks it
    down at once for the others."""
    cutter = Cutter(database_url)
    replica = make_url(database_url).set(host="127.0.0.1", port=cutter.port, query={})
    settings = Settings(
        DATABASE_URL=database_url,
        DATABASE_REPLICA_URL=replica.render_as_string(hide_password=False),
        log_level="error",
        replica_check_interval_s=60,
    )
    position, listing = f"/agreements/{paid.agreement_id}/position", "/agreements"
    with serving(settings) as address, httpx.Client(base_url=f"{address}/api/v1") as client:
        assert LAG in client.get(position).headers  # the hot path's pool holds a replica connection
        assert LAG in client.get(listing).headers  # and so does the engine's
        cutter.cut()
        for path in [position, listing] if first == "hot read" else [listing, position]:
            answer = client.get(path)
            assert answer.status_code == 200, answer.text
            assert LAG not in answer.headers
        assert client.get(position).json()["disbursed"] == "10000000.00"
        assert [row["id"] for row in client.get(listing).json()["data"]] == [paid.agreement_id]
        (state,) = httpx.get(f"{address}/readyz").json()["replicas"]
        assert state["up"] is False
        assert state["error"]
