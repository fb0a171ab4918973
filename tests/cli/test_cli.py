"""The two README commands as a new user runs them: `hibah serve --demo` on the embedded PostgreSQL,
and `hibah keys …` / `hibah regions import` beside it on the same embedded database."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil

from tests.helpers import free_port

HIBAH = [sys.executable, "-m", "app.cli"]


def _env(log_level: str = "warning") -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env["HIBAH_LOG_LEVEL"] = log_level
    return env


def _hibah(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*HIBAH, *args], cwd=workdir, env=_env(), capture_output=True, text=True, timeout=120, check=False
    )


def _serve(workdir: Path, port: int, *extra: str, log_level: str = "warning") -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [*HIBAH, "serve", "--demo", "--port", str(port), *extra],
        cwd=workdir,
        env=_env(log_level),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200:
                return process
        except httpx.TransportError:
            pass
        if process.poll() is not None:
            break
        time.sleep(0.3)
    process.kill()
    raise AssertionError(f"serve did not become ready:\n{process.communicate()[0]}")


def _stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=60)


def _embedded_postgres_running(workdir: Path) -> bool:
    found = subprocess.run(["pgrep", "-f", f"{workdir}/.hibah/pgdata"], capture_output=True, check=False)
    return found.returncode == 0


def test_serve_demo_keys_and_restart(workdir: Path) -> None:
    port = free_port()
    api = f"http://127.0.0.1:{port}/api/v1"
    server = _serve(workdir, port)
    try:
        assert httpx.get(f"{api}/regions/35.74").json()["name"] == "Kota Probolinggo"
        _check_demo_ledger(api)
        created = _hibah(workdir, "keys", "create", "--role", "admin", "--name", "ops")
        assert created.returncode == 0, created.stderr
        secret = created.stdout.strip().splitlines()[-1]
        assert secret.startswith("hibah_")
        headers = {"Authorization": f"Bearer {secret}"}
        assert (
            httpx.post(
                f"{api}/regions", json={"code": "35.13", "name": "Kab. Probolinggo"}, headers=headers
            ).status_code
            == 201
        )
        csv = workdir / "regions.csv"
        csv.write_text("code,name\n36,Banten\n36.71,Kota Tangerang\n")
        imported = _hibah(workdir, "regions", "import", str(csv))
        assert imported.returncode == 0, imported.stderr
        assert "imported 2 new" in imported.stdout
        key_id = _hibah(workdir, "keys", "list").stdout.splitlines()[1].split("\t")[0]
        _import_items_with_the_cli(workdir, api, headers)
        verified = httpx.get(f"{api}/audit/verify", headers=headers).json()
        assert verified["valid"] is True
        assert verified["events"] > 20, "the demo is loaded through the services, so the chain covers it"
        assert _hibah(workdir, "keys", "revoke", key_id).returncode == 0
        assert httpx.get(f"{api}/keys/me", headers=headers).status_code == 401
    finally:
        _stop(server)
    assert not _embedded_postgres_running(workdir), "the embedded PostgreSQL outlived serve"

    server = _serve(workdir, port)
    try:
        recipients = httpx.get(f"{api}/recipients", params={"region_code": "35.74"}).json()["data"]
        assert len(recipients) == 4, "a restart must not load the demo twice"
        assert len(httpx.get(f"{api}/agreements").json()["data"]) == 4
        assert httpx.get(f"{api}/regions/36.71").status_code == 200, "data is kept between runs"
    finally:
        _stop(server)


def _import_items_with_the_cli(workdir: Path, api: str, admin: dict[str, str]) -> None:
    """A Polres treasurer's items, imported by the operator from a CSV file into a draft report."""
    recipient = httpx.get(f"{api}/recipients", params={"kind": "polri"}).json()["data"][0]
    agreement = httpx.get(f"{api}/agreements", params={"recipient_id": recipient["id"]}).json()["data"][0]
    key = httpx.post(
        f"{api}/keys",
        json={"name": "Bendahara Polres", "role": "recipient", "recipient_id": recipient["id"]},
        headers=admin,
    ).json()["key"]
    report = httpx.post(
        f"{api}/agreements/{agreement['id']}/usage-reports",
        json={
            "kind": "interim",
            "title": "Pengamanan tahap I",
            "period_start": "2024-01-15",
            "period_end": "2024-12-31",
        },
        headers={"Authorization": f"Bearer {key}"},
    ).json()
    rows = "".join(
        f"2024-11-2{n % 8},operasi_pengamanan,pengamanan,Uang saku personel regu {n},1500000\n" for n in range(300)
    )
    csv = workdir / "items.csv"
    csv.write_text("spent_on,category,stage,description,amount\n" + rows)
    imported = _hibah(workdir, "items", "import", str(report["id"]), str(csv))
    assert imported.returncode == 0, imported.stderr
    assert "imported 300 items (Rp450000000.00)" in imported.stdout
    bad = workdir / "bad.ndjson"
    bad.write_text(
        '{"spent_on": "2024-11-20", "category": "x", "stage": "pengamanan", "description": "d", "amount": 1}\n'
    )
    refused = _hibah(workdir, "items", "import", str(report["id"]), str(bad))
    assert refused.returncode == 1
    assert "rows[1].category: unknown category code" in refused.stderr


def _check_demo_ledger(api: str) -> None:
    agreements = {row["number"]: row for row in httpx.get(f"{api}/agreements").json()["data"]}
    kpu = agreements["001/NPHD/KPU-3574/XII/2023"]
    assert kpu["amount"] == "23116413980.00"
    payments = httpx.get(f"{api}/agreements/{kpu['id']}/disbursements").json()["data"]
    assert (payments[0]["tranche"], payments[0]["amount"], payments[0]["paid_on"]) == (1, "1300000000.00", "2023-12-19")
    assert httpx.get(f"{api}/agreements/{kpu['id']}/position").json()["disbursed"] == "23116413980.00"
    bawaslu = agreements["002/NPHD/BAWASLU-3574/II/2024"]
    assert (bawaslu["original_amount"], bawaslu["amount"]) == ("4715559500.00", "5407053000.00")
    assert len(agreements) == 4
    kpu_position = httpx.get(f"{api}/agreements/{kpu['id']}/position").json()
    assert kpu_position["spent_accepted"] == "18797160088.00"
    assert kpu_position["refunded"] == "4319253892.00"
    assert (kpu_position["held"], kpu_position["absorption"]) == ("0.00", "0.8132")
    assert httpx.get(f"{api}/agreements/{kpu['id']}").json()["status"] == "closed"
    refunds = httpx.get(f"{api}/agreements/{kpu['id']}/refunds").json()["data"]
    assert [(row["amount"], row["returned_on"]) for row in refunds] == [("4319253892.00", "2025-05-07")]
    items = httpx.get(f"{api}/usage-reports/1/items", params={"limit": 3}).json()["data"]
    assert items[0]["amount"] == "900000.00"
    assert items[0]["payee"] is None, "the public never sees payees"


def test_cli_errors_are_one_line(workdir: Path) -> None:
    bad = workdir / "bad.csv"
    bad.write_text("code,name\n35.70,Nowhere\n")
    result = _hibah(workdir, "regions", "import", str(bad))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().startswith("error: The file has 1 error")
    unknown = _hibah(workdir, "keys", "revoke", "999")
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == "error: There is no API key 999."
    scoped = _hibah(workdir, "keys", "create", "--role", "recipient", "--name", "x")
    assert scoped.returncode == 1
    assert "Traceback" not in scoped.stderr


def test_unreachable_database_is_one_line(workdir: Path) -> None:
    env = {**_env(), "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}
    result = subprocess.run(
        [*HIBAH, "keys", "list"], cwd=workdir, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: cannot reach the database")
    assert "Traceback" not in result.stderr


def _listeners(process: subprocess.Popen[str], port: int) -> list[psutil.Process]:
    tree = [psutil.Process(process.pid), *psutil.Process(process.pid).children(recursive=True)]
    return [
        member
        for member in tree
        if any(s.status == psutil.CONN_LISTEN and s.laddr.port == port for s in member.net_connections("tcp"))
    ]


def test_serve_workers_each_listen_and_stop_together(workdir: Path) -> None:
    """`serve --workers 2`: a socket per worker (SO_REUSEPORT), so a burst of connections reaches both;
    on SIGTERM both stop, and what they logged up to the end reaches the output."""
    port = free_port()
    server = _serve(workdir, port, "--workers", "2", log_level="info")
    try:
        deadline = time.monotonic() + 60
        while len(workers := _listeners(server, port)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(workers) == 2 and server.pid not in {worker.pid for worker in workers}
        clients = [httpx.Client(base_url=f"http://127.0.0.1:{port}") for _ in range(16)]
        try:
            assert all(http.get("/api/v1/regions/35.74").status_code == 200 for http in clients)
            served = [
                sum(1 for s in worker.net_connections("tcp") if s.status == psutil.CONN_ESTABLISHED)
                for worker in workers
            ]
            assert all(served), f"connections per worker: {served}"
        finally:
            for http in clients:
                http.close()
        taken = _hibah(workdir, "serve", "--workers", "2", "--port", str(port), "--no-migrate")
        assert taken.returncode == 1
        assert f"cannot listen on 127.0.0.1:{port}" in taken.stderr
        assert "Traceback" not in taken.stderr
    finally:
        _stop(server)
    assert all(not worker.is_running() for worker in workers)
    assert not _embedded_postgres_running(workdir), "the embedded PostgreSQL outlived serve"
    assert server.stdout is not None
    output = server.stdout.read()
    assert output.count("GET /api/v1/regions/35.74 200") == 16, "an access-log line per request"
    assert output.count('"message": "stopped"') == 2, "each worker's last line, written before uvicorn's SIGTERM"
