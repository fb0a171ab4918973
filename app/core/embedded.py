"""The embedded PostgreSQL (pgserver) used when no DATABASE_URL is given."""

import atexit
import json
import logging
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy.engine import URL

EMBEDDED_DATABASE = "hibah"
log = logging.getLogger("hibah.embedded")


def _pgserver() -> Any:
    with warnings.catch_warnings():
        # platformdirs warns that XDG_RUNTIME_DIR is unset (normal in containers and CI) and falls back.
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        import pgserver  # noqa: PLC0415 - heavy import, only needed without DATABASE_URL

        return pgserver


def start_embedded(data_dir: Path) -> str:
    """Start (or join) the server kept under ``data_dir``; it stops when its last user process exits."""
    return _start(_pgserver(), data_dir)


def supervise_embedded(data_dir: Path, interval_s: float) -> threading.Event:
    """Watch the embedded server started by this process (``start_embedded``) and start it again when it dies.

    A thread polls the postmaster's pid (first line of ``postmaster.pid``) every ``interval_s``: nothing to do
    while it lives. When it is gone (killed, crashed, OOM), one WARNING line, a restart by pgserver (its own
    ``pg_ctl start``, so its exit hook still stops the new server), one INFO line with the new pid; the API's
    pools replace their dead connections by themselves (app/core/db.py). Set the returned event to stop.
    """
    pgdata = (data_dir / "pgdata").resolve()
    server: Any = _pgserver().get_server(pgdata, cleanup_mode="stop")
    stop = threading.Event()

    def watch() -> None:
        failing = False
        while not stop.wait(interval_s):
            pid = postmaster_pid(pgdata)
            if (pid is not None and _alive(pid)) or stop.is_set():
                continue
            if not failing:
                log.warning("embedded PostgreSQL (pid %s) is not running; restarting it", pid)
            started = time.monotonic()
            try:
                _clear_dead_locks(pgdata, pid)
                with server._lock:  # pgserver's inter-process lock, as its own start takes
                    server.ensure_postgres_running()
            except Exception as exc:  # noqa: BLE001 - keep watching: the next poll tries again
                if not failing:
                    log.warning("embedded PostgreSQL did not restart yet (%s); trying again", str(exc)[:200])
                failing = True
                continue
            failing = False
            log.info(
                "embedded PostgreSQL restarted (pid %s) in %.1f s", postmaster_pid(pgdata), time.monotonic() - started
            )

    threading.Thread(target=watch, name="hibah-embedded-watch", daemon=True).start()
    # Exit hooks run last-registered first: the watch ends before pgserver's own hook stops the server, so a
    # server stopped on purpose is not taken for one that died and started again (serve then hung on exit).
    atexit.register(stop.set)
    return stop


def postmaster_pid(pgdata: Path) -> int | None:
    try:
        first = (pgdata / "postmaster.pid").read_text().split("\n", 1)[0]
        return int(first)
    except (OSError, ValueError):
        return None


def _alive(pid: int) -> bool:
    """Running, not a zombie that nobody reaped (a container whose init does not reap orphans)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _clear_dead_locks(pgdata: Path, pid: int | None) -> None:
    """A zombie postmaster still "exists" for PostgreSQL's own check of its lock files: remove them, it is dead."""
    if pid is None or not psutil.pid_exists(pid):
        return
    lines = (pgdata / "postmaster.pid").read_text().splitlines()
    socket_dir = Path(lines[4]) if len(lines) > 4 and lines[4] else pgdata
    for lock in socket_dir.glob(".s.PGSQL.*.lock"):
        lock.unlink(missing_ok=True)
    (pgdata / "postmaster.pid").unlink(missing_ok=True)


def _start(pgserver: Any, data_dir: Path) -> str:

    pgdata = (data_dir / "pgdata").resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    _forget_dead_users(pgdata)
    server: Any = pgserver.get_server(pgdata, cleanup_mode="stop")
    # A constant name, not input: safe to put in the statement.
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{EMBEDDED_DATABASE}';")  # noqa: S608
    if "(1 row)" not in exists:
        server.psql(f"CREATE DATABASE {EMBEDDED_DATABASE};")
    return URL.create(
        "postgresql",
        username="postgres",
        database=EMBEDDED_DATABASE,
        query={"host": str(pgdata)},
    ).render_as_string(hide_password=False)


def _forget_dead_users(pgdata: Path) -> None:
    """Drop users that died without saying goodbye (kill -9), or the server would never stop again.

    pgserver stops the server when its last registered process exits, but keeps a killed process
    registered forever in ``.handle_pids.json``.
    """
    handles = pgdata / ".handle_pids.json"
    try:
        pids = json.loads(handles.read_text())
    except (OSError, ValueError):
        return
    alive = [pid for pid in pids if isinstance(pid, int) and psutil.pid_exists(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))
