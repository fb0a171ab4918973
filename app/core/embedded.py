"""The embedded PostgreSQL (pgserver) used when no DATABASE_URL is given."""

import json
import warnings
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy.engine import URL

EMBEDDED_DATABASE = "hibah"


def start_embedded(data_dir: Path) -> str:
    """Start (or join) the server kept under ``data_dir``; it stops when its last user process exits."""
    with warnings.catch_warnings():
        # platformdirs warns that XDG_RUNTIME_DIR is unset (normal in containers and CI) and falls back.
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        import pgserver  # noqa: PLC0415 - heavy import, only needed without DATABASE_URL

        return _start(pgserver, data_dir)


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
