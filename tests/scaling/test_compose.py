"""docker-compose.yml: the deployment docs/scaling.md describes, checked without a container engine."""

import re
import subprocess
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]  # PyYAML (through uvicorn[standard]) ships no stubs

from tests.helpers import system_tool

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_compose_validates() -> None:
    """Compose itself reads the file: anchors, conditions, mounts, variables."""
    done = subprocess.run(
        [system_tool("docker-compose"), "config", "-q"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr


def test_compose_has_the_scaled_picture() -> None:
    services = _compose()["services"]
    assert set(services) == {"db", "replica", "pgbouncer", "migrate", "api", "api-2", "lb"}
    for name in ("api", "api-2"):
        env = services[name]["environment"]
        assert env["DATABASE_URL"].endswith("@pgbouncer:6432/hibah")
        assert env["DATABASE_REPLICA_URL"].endswith("@pgbouncer:6432/hibah_replica")
        assert env["HIBAH_DB_STATEMENT_CACHE"] == "false"
        # The change feed's LISTEN cannot go through the transaction pooler: straight to the primary.
        assert "@db:5432/" in env["HIBAH_LISTEN_URL"]
        assert "--no-migrate" in services[name]["command"][-1]
    # Migrations go to the primary directly, not through the transaction pooler.
    assert "@db:5432/" in services["migrate"]["environment"]["DATABASE_URL"]
    assert services["lb"]["ports"] == ["${HIBAH_PORT:-8000}:8000"]


def test_every_mounted_file_exists_and_nginx_balances_both_nodes() -> None:
    services = _compose()["services"]
    for service in services.values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).is_file(), source
    nginx = (ROOT / "deploy" / "nginx" / "nginx.conf").read_text()
    assert re.findall(r"server (\S+):8000", nginx) == ["api", "api-2"]
    pgbouncer = (ROOT / "deploy" / "pgbouncer" / "entrypoint.sh").read_text()
    assert "pool_mode = transaction" in pgbouncer
