"""What an operator sees of ``hibah``: every line ``serve`` writes is a log line in the format asked for (uvicorn's,
Alembic's and the workers' own included), ``/metrics`` sums every worker in one scrape, and a command loads only
what it uses (``--help`` nothing but the command line, ``keys create`` no web server and no Alembic)."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.cli import ItemFileFormat
from app.core import observability
from app.reports.importer import ImportFormat
from tests.helpers import free_port

HIBAH = [sys.executable, "-m", "app.cli"]
TEXT_LINE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) [\w.]+ ")
JSON_MEMBERS = {"time", "level", "logger", "message", "request_id"}
REQUESTS = 60
POOL_SIZE = 3


def _env(**settings: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "PROMETHEUS_MULTIPROC_DIR")}
    return {**env, "HIBAH_DB_POOL_SIZE": str(POOL_SIZE), **settings}


def _serve(workdir: Path, port: int, *extra: str, **settings: str) -> subprocess.Popen[str]:
    """``hibah serve`` in a fresh directory (its embedded PostgreSQL created and migrated), once ready."""
    process = subprocess.Popen(
        [*HIBAH, "serve", "--port", str(port), *extra],
        cwd=workdir,
        env=_env(**settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.3)
    process.kill()
    raise AssertionError(f"serve did not become ready:\n{process.communicate()[0]}")


def _stop(process: subprocess.Popen[str]) -> list[str]:
    """SIGTERM, then every line the server wrote."""
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=60)
    return [line for line in output.splitlines() if line.strip()]


def _invalid_request(port: int) -> None:
    """Bytes that are not HTTP: uvicorn answers 400 and logs a warning of its own."""
    with socket.create_connection(("127.0.0.1", port)) as connection:
        connection.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        connection.recv(1024)


def _workers(server: subprocess.Popen[str], port: int) -> list[psutil.Process]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        children = psutil.Process(server.pid).children(recursive=True)
        listening = [
            child
            for child in children
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
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}")
        assert client.get("/api/v1/regions/35.74").status_code == 404  # no regions yet: a problem, counted too
        clients.append(client)
        held = [
            sum(1 for s in worker.net_connections("tcp") if s.status == psutil.CONN_ESTABLISHED) for worker in workers
        ]
        if all(held):
            return clients
    raise AssertionError("64 connections all reached one worker")


def _scrape(port: int) -> dict[str, list[Any]]:
    """One scrape, on a connection of its own; its samples by name."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    samples: dict[str, list[Any]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append(sample)
    return samples


def _value(samples: dict[str, list[Any]], name: str, **labels: str) -> float:
    return float(sum(sample.value for sample in samples.get(name, []) if labels.items() <= sample.labels.items()))


@pytest.mark.slow  # its own embedded PostgreSQL: once in CI is enough
def test_serve_with_two_workers_logs_json_only_and_metrics_add_up_every_worker(workdir: Path) -> None:
    port = free_port()
    server = _serve(workdir, port, "--workers", "2", HIBAH_LOG_LEVEL="info")
    try:
        workers = _workers(server, port)
        metrics_dir = Path(workers[0].environ()["PROMETHEUS_MULTIPROC_DIR"])
        clients = _clients_on_every_worker(port, workers)
        sent = len(clients)
        try:
            while sent < REQUESTS:
                for client in clients[: REQUESTS - sent]:
                    assert client.get(f"/api/v1/regions/35.{sent % 90 + 10:02d}").status_code == 404
                    sent += 1
        finally:
            for client in clients:
                client.close()
        _invalid_request(port)
        route = {"method": "GET", "route": "/regions/{code}"}  # the template, without the API prefix
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # each worker writes its pool's gauges every second
            scrapes = [_scrape(port) for _ in range(4)]  # each on a new connection, so on either worker
            if all(_value(s, "hibah_db_pool_size") == 2 * POOL_SIZE for s in scrapes):
                break
            time.sleep(0.5)
        for samples in scrapes:
            assert _value(samples, "hibah_http_requests_total", **route, status="404") == REQUESTS
            assert _value(samples, "hibah_http_request_duration_seconds_count", **route) == REQUESTS
            buckets = sorted(
                (float(sample.labels["le"]), sample.value)
                for sample in samples["hibah_http_request_duration_seconds_bucket"]
                if route.items() <= sample.labels.items()
            )
            assert len(buckets) == 15 and buckets[-1] == (float("inf"), REQUESTS)
            assert [count for _, count in buckets] == sorted(count for _, count in buckets), "cumulative"
            assert _value(samples, "hibah_db_pool_size") == 2 * POOL_SIZE, "both workers' pools"
    finally:
        lines = _stop(server)
    assert not metrics_dir.exists(), "the metrics of a stopped server are removed with it"
    records = [_json(line) for line in lines]
    loggers = {record["logger"] for record in records}
    assert {"alembic.runtime.migration", "hibah.serve", "uvicorn.error", "hibah.access", "hibah.app"} <= loggers
    said = [record["message"] for record in records]
    assert sum(message.startswith("Finished server process") for message in said) == 2, "each worker's last line"
    assert any(r["level"] == "WARNING" and r["message"] == "Invalid HTTP request received." for r in records)
    assert sum(message.startswith("GET /api/v1/regions/35.") for message in said) == REQUESTS


def _json(line: str) -> dict[str, Any]:
    try:
        record: dict[str, Any] = json.loads(line)
    except ValueError:
        raise AssertionError(f"not a JSON line: {line!r}") from None
    assert record.keys() >= JSON_MEMBERS, line
    return record


@pytest.mark.slow  # its own embedded PostgreSQL: once in CI is enough
def test_serve_logs_text_lines_when_asked(workdir: Path) -> None:
    port = free_port()
    server = _serve(workdir, port, HIBAH_LOG_LEVEL="info", HIBAH_LOG_FORMAT="text")
    try:
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
        _invalid_request(port)
    finally:
        lines = _stop(server)
    starts = [line for line in lines if TEXT_LINE.match(line)]
    # A line that does not start like a log line continues the one before (a message of several lines).
    assert starts and lines[0] in starts and not any(line.startswith("{") for line in lines), lines
    said = " | ".join(starts)
    for expected in ("INFO alembic.runtime.migration Running upgrade", "INFO uvicorn.error Started server process"):
        assert expected in said
    assert "WARNING uvicorn.error Invalid HTTP request received." in said
    assert "INFO hibah.access GET /healthz 200" in said
    assert "INFO uvicorn.error Finished server process" in said


# --- what a command loads --------------------------------------------------------------------------

PROBE = """
import atexit, json, sys
atexit.register(lambda: sys.stderr.write("\\nLOADED " + json.dumps(sorted(sys.modules)) + "\\n"))
sys.argv = ["hibah", *sys.argv[1:]]
from app.cli import main
main()
"""
NEVER_FOR_A_KEY = {"alembic", "uvicorn", "app.main", "app.oversight", "app.datasets", "app.serving", "rich", "pgserver"}


def _loaded(*args: str, cwd: Path | None = None, **settings: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        cwd=cwd,
        env={**env, **settings},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "LOADED " in done.stderr, done.stderr
    modules = set(json.loads(done.stderr.rsplit("LOADED ", 1)[1]))
    return done, {name.split(".")[0] for name in modules} | {name for name in modules if name.startswith("app.")}


@pytest.mark.parametrize("args", [["--help"], ["keys", "create", "--help"], ["serve", "--help"], ["keys"]])
def test_help_loads_the_command_line_alone(args: list[str]) -> None:
    done, loaded = _loaded(*args)
    assert "Usage: hibah" in done.stdout + done.stderr, done.stdout + done.stderr
    # (pydantic may be: typer checks a command's options with it)
    heavy = {"sqlalchemy", "fastapi", "starlette", "asyncpg", "alembic", "uvicorn", "pgserver", "rich", "psycopg"}
    assert not loaded & heavy
    assert {name for name in loaded if name.startswith("app.")} <= {"app.cli", "app.core", "app.core.actor"}


def test_keys_create_loads_neither_the_web_server_nor_alembic(database_url: str) -> None:
    done, loaded = _loaded("keys", "create", "--role", "auditor", "--name", "BPK", DATABASE_URL=database_url)
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(r"hibah_[\w-]+", done.stdout.strip())
    assert not loaded & NEVER_FOR_A_KEY, loaded & NEVER_FOR_A_KEY


@pytest.mark.slow  # its own embedded PostgreSQL: once in CI is enough
def test_keys_on_the_embedded_database_migrate_it_once_then_only_check_it(workdir: Path) -> None:
    first, loaded_first = _loaded("keys", "create", "--role", "admin", "--name", "ops", cwd=workdir)
    assert first.returncode == 0, first.stderr
    assert "alembic" in loaded_first, "a new embedded database is brought to the latest schema"
    second, loaded_second = _loaded("keys", "list", cwd=workdir)
    assert second.returncode == 0, second.stderr
    assert "\tops" in second.stdout
    assert not loaded_second & (NEVER_FOR_A_KEY - {"pgserver"}), "a current schema is checked, not migrated"


def test_multiprocess_metrics_start_empty_and_leave_nothing(tmp_path: Path) -> None:
    given = tmp_path / "metrics"
    given.mkdir()
    (given / "counter_4242.db").write_bytes(b"an earlier server's counts")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(given)
    try:
        with observability.multiprocess_metrics() as directory:
            assert directory == given and not any(given.iterdir()), "an earlier server's counts are not this one's"
        assert given.is_dir() and os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(given), "the operator's, kept"
    finally:
        del os.environ["PROMETHEUS_MULTIPROC_DIR"]
    with observability.multiprocess_metrics() as directory:
        assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(directory) and directory.is_dir()
    assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ and not directory.exists()


def test_the_command_lines_item_formats_are_the_importers() -> None:
    """app/cli.py names the import formats itself (the importer is too heavy to load for --help)."""
    assert [kind.value for kind in ItemFileFormat] == [kind.value for kind in ImportFormat]
