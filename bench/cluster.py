"""A small Hibah deployment of real processes on this machine, for tests/scaling and bench/bench_scaling.py.

A PostgreSQL primary made with ``initdb``, a streaming standby made from it with ``pg_basebackup -R``, PgBouncer
in transaction pooling mode, and ``hibah serve`` nodes on their own ports. The PostgreSQL binaries are those
inside the ``pgserver`` package (the same PostgreSQL 16 the embedded database runs), or ``HIBAH_PG_BIN``.
As root, PostgreSQL and PgBouncer refuse to run: they run as pgserver's own system user, as the embedded one does.
"""

import importlib.util
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import httpx

SYSTEM_USER = "pgserver"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def pg_bin() -> Path:
    given = os.environ.get("HIBAH_PG_BIN")
    if given:
        return Path(given)
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the pgserver package is not installed: set HIBAH_PG_BIN to PostgreSQL's bin directory")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _owner() -> dict[str, Any]:
    """Run as pgserver's user when we are root (PostgreSQL and PgBouncer refuse root)."""
    if os.geteuid() != 0:
        return {}
    try:
        entry = pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        subprocess.run(["useradd", "-s", "/bin/bash", SYSTEM_USER], check=True, capture_output=True)
        entry = pwd.getpwnam(SYSTEM_USER)
    _reachable_binaries()
    return {"user": entry.pw_uid, "group": entry.pw_gid}


@cache
def _reachable_binaries() -> None:
    """As pgserver does before it runs PostgreSQL as its user: the binaries and their libraries readable by it
    (a fresh clone under root's home may not be)."""
    bin_dir = pg_bin()
    if not (bin_dir / "postgres").exists():
        return
    read, execute = stat.S_IRGRP | stat.S_IROTH, stat.S_IXGRP | stat.S_IXOTH
    directory = bin_dir.parent
    while directory != directory.parent:  # every folder above: traversable
        mode = directory.stat().st_mode
        if mode & (read | execute) != read | execute:
            directory.chmod(mode | read | execute)
        directory = directory.parent
    for folder, wanted in ((bin_dir, read | execute), (bin_dir.parent / "lib", read)):
        for path in [folder, *folder.rglob("*")]:
            mode = path.stat().st_mode
            extra = wanted | (execute if path.is_dir() else 0)
            if mode & extra != extra:
                path.chmod(mode | extra)


def workspace(prefix: str) -> Path:
    """A directory the server's user owns, under a path it can traverse."""
    directory = Path(tempfile.mkdtemp(prefix=prefix))
    directory.chmod(0o755)
    owner = _owner()
    if owner:
        os.chown(directory, owner["user"], owner["group"])
    return directory


def _run(*command: str | Path) -> str:
    done = subprocess.run([str(part) for part in command], check=False, capture_output=True, text=True, **_owner())
    if done.returncode != 0:
        raise RuntimeError(f"{command[0]} failed ({done.returncode}): {done.stderr or done.stdout}")
    out: str = done.stdout
    return out


def _wait_for_port(port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port} after {seconds} s")


@dataclass
class Postgres:
    data: Path
    port: int

    def url(self, database: str = "hibah") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        _run(pg_bin() / "pg_ctl", "-D", self.data, "-l", self.data / "server.log", "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        """``immediate`` is a crash as far as clients see it: every connection cut, no goodbye."""
        _run(pg_bin() / "pg_ctl", "-D", self.data, "-m", mode, "-w", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()


def make_primary(root: Path) -> Postgres:
    primary = Postgres(root / "primary", free_port())
    _run(pg_bin() / "initdb", "-D", primary.data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")
    with (primary.data / "postgresql.conf").open("a") as conf:
        conf.write(
            f"port = {primary.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{root}'\n"
            # A test cluster: no fsync. Replication as shipped: wal_level replica, 10 WAL senders, hot standby.
            "fsync = off\nmax_connections = 200\n"
        )
    primary.start()
    _run(pg_bin() / "createdb", "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres", "hibah")
    return primary


def make_standby(primary: Postgres, root: Path) -> Postgres:
    """``pg_basebackup -R``: a copy of the primary that follows it by streaming replication, read-only."""
    standby = Postgres(root / "standby", free_port())
    _run(
        pg_bin() / "pg_basebackup",
        "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres",
        "-D", standby.data, "-R", "-X", "stream", "-c", "fast",
    )  # fmt: skip
    with (standby.data / "postgresql.auto.conf").open("a") as conf:
        conf.write(f"port = {standby.port}\n")
    standby.start()
    return standby


@dataclass
class PgBouncer:
    """PgBouncer from the system (Debian's package), transaction pooling (or ``pool_mode``), in front of one server."""

    directory: Path
    port: int
    process: subprocess.Popen[bytes]

    def url(self, database: str = "hibah") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def start_pgbouncer(executable: str, server: Postgres, root: Path, pool_mode: str = "transaction") -> PgBouncer:
    directory = root / ("pgbouncer" if pool_mode == "transaction" else f"pgbouncer-{pool_mode}")
    directory.mkdir()
    port = free_port()
    (directory / "userlist.txt").write_text('"postgres" ""\n')
    ini = directory / "pgbouncer.ini"
    ini.write_text(
        "[databases]\n"
        f"hibah = host=127.0.0.1 port={server.port} dbname=hibah\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {directory / 'userlist.txt'}\n"
        f"pool_mode = {pool_mode}\ndefault_pool_size = 4\nmax_client_conn = 500\n"
        # asyncpg sends these as startup parameters; PgBouncer passes only the ones it tracks.
        "ignore_startup_parameters = extra_float_digits,default_transaction_read_only\n"
        f"logfile = {directory / 'pgbouncer.log'}\n"
    )
    owner = _owner()
    if owner:
        for path in (directory, directory / "userlist.txt", ini):
            os.chown(path, owner["user"], owner["group"])
    process = subprocess.Popen([executable, str(ini)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **owner)
    _wait_for_port(port)
    return PgBouncer(directory, port, process)


def hibah_executable() -> str:
    beside = Path(sys.executable).with_name("hibah")
    return str(beside) if beside.exists() else "hibah"


@dataclass
class Node:
    """One ``hibah serve`` process (one or more workers) on its own port."""

    port: int
    process: subprocess.Popen[bytes]
    log: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_node(
    root: Path,
    database_url: str,
    *,
    replicas: str = "",
    workers: int = 1,
    demo: bool = False,
    extra_env: Mapping[str, str] | None = None,
) -> Node:
    port = free_port()
    log = root / f"node-{port}.log"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DATABASE_REPLICA_URL": replicas,
        "HIBAH_LOG_LEVEL": "warning",
        "HIBAH_LOG_FORMAT": "text",
        "HIBAH_REPLICA_CHECK_INTERVAL_S": "0.2",
        **(extra_env or {}),
    }
    command = [hibah_executable(), "serve", "--port", str(port), "--workers", str(workers)]
    if demo:
        command.append("--demo")
    with log.open("wb") as out:
        # cwd: the deployment's directory, so no .env of a working copy is read.
        process = subprocess.Popen(command, env=env, cwd=root, stdout=out, stderr=subprocess.STDOUT)
    node = Node(port, process, log, env)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"hibah serve exited ({process.returncode}): {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{node.base}/readyz", timeout=2).status_code == 200:
                return node
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    node.stop()
    raise RuntimeError(f"hibah serve did not become ready: {log.read_text()[-2000:]}")


def remove(root: Path) -> None:
    shutil.rmtree(root, ignore_errors=True)
