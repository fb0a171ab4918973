"""Real processes for the fault tests and bench/bench_outages.py: ``hibah serve`` on its embedded PostgreSQL in
a fresh directory, keys, one grant to pay into, and the kills."""

import hashlib
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

from tests.helpers import free_port

HIBAH = [sys.executable, "-m", "app.cli"]
API = "/api/v1"


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    workdir: Path
    port: int
    log: Path
    settings: dict[str, Any] = field(default_factory=dict)
    """What ``serve`` was called with (workers and settings), for a restart."""

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pgdata(self) -> Path:
        return self.workdir / ".hibah" / "pgdata"

    def postmaster_pid(self) -> int:
        return int((self.pgdata / "postmaster.pid").read_text().split("\n", 1)[0])

    def kill_postgres(self) -> int:
        """kill -9 the embedded postmaster (the first line of postmaster.pid), as the issue did."""
        pid = self.postmaster_pid()
        os.kill(pid, signal.SIGKILL)
        return pid

    def kill_api(self) -> None:
        """kill -9 the API, its workers with it (not PostgreSQL, which pg_ctl started apart)."""
        parent = psutil.Process(self.process.pid)
        workers = [child for child in parent.children(recursive=True) if "postgres" not in child.name()]
        for process in (parent, *workers):
            process.kill()
        self.process.wait(timeout=30)

    def lines(self) -> list[str]:
        return self.log.read_text(errors="replace").splitlines()

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        else:
            self.stop_orphaned_postgres()

    def restart(self) -> None:
        """A new ``serve`` on the same directory (its PostgreSQL, left running by a killed API, taken over)."""
        again = serve(self.workdir, **self.settings)
        self.process, self.port, self.log = again.process, again.port, again.log

    def stop_orphaned_postgres(self) -> None:
        """A killed ``serve`` leaves its embedded PostgreSQL running (pg_ctl started it apart): a fast shutdown."""
        try:
            pid = self.postmaster_pid()
            os.kill(pid, signal.SIGINT)
        except (FileNotFoundError, ValueError, ProcessLookupError):
            return
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and psutil.pid_exists(pid):
            time.sleep(0.05)


def workdir() -> Path:
    """A fresh directory pgserver's own user can traverse (it runs PostgreSQL as another user under root)."""
    directory = Path(tempfile.mkdtemp(prefix="hibah-faults-"))
    directory.chmod(0o755)
    return directory


def serve(directory: Path, *, workers: int = 2, **settings: str) -> Server:
    """``hibah serve`` in ``directory`` (embedded PostgreSQL, migrated), once it answers ready."""
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "PROMETHEUS_MULTIPROC_DIR")}
    env.update({"HIBAH_LOG_FORMAT": "text", **{f"HIBAH_{k.upper()}": v for k, v in settings.items()}})
    port = free_port()
    log = directory / f"serve-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*HIBAH, "serve", "--port", str(port), "--workers", str(workers)],
            cwd=directory,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Server(process, directory, port, log, {"workers": workers, **settings})
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{server.base}/readyz").status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.kill()
    raise AssertionError("serve did not become ready:\n" + log.read_text(errors="replace"))


def admin_key(server: Server) -> dict[str, str]:
    """An admin key, stored as the service stores one (the hex SHA-256 of its text, DESIGN §3): one insert, where
    ``hibah keys create`` costs a process start (1-4 s on the shared machine)."""
    import psycopg  # noqa: PLC0415 - the benchmark's import of this module needs no driver of its own

    secret = "hibah_" + secrets.token_urlsafe(32)
    with psycopg.connect(database_url(server), autocommit=True) as connection:
        connection.execute(
            "INSERT INTO api_key (name, role, key_hash, prefix) VALUES ('faults admin', 'admin', %s, %s)",
            (hashlib.sha256(secret.encode()).hexdigest(), secret[:12]),
        )
    return {"Authorization": f"Bearer {secret}"}


@dataclass
class Setup:
    admin: dict[str, str]
    finance: dict[str, str]
    recipient: dict[str, str]
    agreement_id: int


def created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def grant(server: Server, amount: str = "1000000000000.00") -> Setup:
    """Kota Probolinggo, its election, its KPU and one large NPHD, through the API."""
    admin = admin_key(server)
    with httpx.Client(base_url=server.base + API, timeout=30) as http:
        made = created(http.post("/keys", json={"name": "BPKAD", "role": "finance"}, headers=admin))
        finance = {"Authorization": f"Bearer {made['key']}"}
        for body in ({"code": "35", "name": "Jawa Timur"}, {"code": "35.74", "name": "Kota Probolinggo"}):
            created(http.post("/regions", json=body, headers=admin))
        election = created(
            http.post(
                "/elections",
                json={"name": "Pilwali 2024", "kind": "mayor", "region_code": "35.74", "voting_day": "2024-11-27"},
                headers=admin,
            )
        )
        kpu = created(
            http.post("/recipients", json={"name": "KPU Kota", "kind": "kpu", "region_code": "35.74"}, headers=admin)
        )
        agreement = created(
            http.post(
                "/agreements",
                json={
                    "number": "NPHD-FAULTS-1",
                    "election_id": election["id"],
                    "recipient_id": kpu["id"],
                    "signed_on": "2023-12-04",
                    "scheme": "staged",
                    "amount": amount,
                },
                headers=finance,
            )
        )
        key = created(
            http.post("/keys", json={"name": "KPU", "role": "recipient", "recipient_id": kpu["id"]}, headers=admin)
        )
    return Setup(admin, finance, {"Authorization": f"Bearer {key['key']}"}, agreement["id"])


def disbursement(sp2d: str, amount: str = "1000.00") -> dict[str, Any]:
    return {"tranche": 1, "amount": amount, "paid_on": "2024-01-10", "sp2d_number": sp2d}


def new_key() -> str:
    return uuid.uuid4().hex


def database_url(server: Server) -> str:
    """libpq's form, for psycopg: the embedded server's socket is in its data directory."""
    return f"postgresql://postgres@/hibah?host={server.pgdata}"


def bulk_agreements(server: Server, setup: Setup, count: int) -> None:
    """``count`` more agreements like the setup's, straight into the table: a CSV export of several megabytes,
    more than the sockets between a server and a reader hold, so a slow reader keeps its export open."""
    import psycopg  # noqa: PLC0415 - only the tests that load data need it

    with psycopg.connect(database_url(server), autocommit=True) as connection:
        columns = [
            row[0]
            for row in connection.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'agreement'"
                " AND column_name NOT IN ('id', 'number', 'status', 'closed_at')"
                " AND is_generated = 'NEVER' AND identity_generation IS NULL"
            )
        ]
        listed = ", ".join(columns)
        # Closed (one active agreement per recipient and election): the export lists them all the same.
        connection.execute(
            f"INSERT INTO agreement (number, status, closed_at, {listed})"
            f" SELECT 'NPHD-BULK-' || g, 'closed', now(), {listed}"
            " FROM agreement, generate_series(1, %s) AS g WHERE id = %s",
            (count, setup.agreement_id),
        )
