"""Tests run the real app under uvicorn on a real PostgreSQL, and talk to it over real HTTP with httpx.

The server is ``DATABASE_URL`` when set, else an embedded PostgreSQL (pgserver) in a temporary directory.
Each run creates its own database, builds it with ``alembic upgrade head``, and empties the tables
after every test, so tests are isolated yet the app keeps one warm connection pool.
"""

import atexit
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import uvicorn
from sqlalchemy.engine import make_url

from app.core.auth import new_key
from app.core.config import Settings
from app.core.embedded import start_embedded
from app.core.migrate import upgrade_to_head
from app.main import create_app
from tests.helpers import (
    Body,
    Grant,
    Headers,
    KeyMaker,
    Refuses,
    RoleWorld,
    World,
    assert_problem,
    changed,
    created,
    free_port,
    key_digest,
    nothing_written,
    pay,
    secret_of,
)
from tests.problems_seen import ProblemRecorder

WRITE_ORIGIN = "http://localhost:5173"
"""The one browser origin the test server lets write (HIBAH_CORS_WRITE_ORIGINS); every origin may read."""
KEEP_TABLES = {"alembic_version", "stage_code", "category_code"}
RECORDERS: list[ProblemRecorder] = []


def _server_url() -> str:
    configured = os.environ.get("DATABASE_URL")
    if configured:
        return configured
    # Not pytest's tmp_path: that is private to root, and as root pgserver runs PostgreSQL as
    # its own user, who must be able to reach the data directory.
    directory = Path(tempfile.mkdtemp(prefix="hibah-pytest-"))
    directory.chmod(0o755)
    # Registered before the server starts so it runs after pgserver's own exit hook stops it.
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    return start_embedded(directory)


def libpq(url: str) -> str:
    """psycopg takes the plain libpq form of a SQLAlchemy URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    server = make_url(_server_url())
    name = f"hibah_test_{os.getpid()}"
    admin_url = libpq(server.set(database="postgres").render_as_string(hide_password=False))
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')
    url = server.set(database=name).render_as_string(hide_password=False)
    upgrade_to_head(url)
    yield url
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _boom() -> None:
    """A bug in a handler, to see what a client gets from one."""
    raise RuntimeError("secret internals: password=hunter2")


@pytest.fixture(scope="session")
def server_address(database_url: str) -> Iterator[str]:
    # Pages follow every write at once: tests read what they just wrote (tests/portal/test_cache.py covers the TTL).
    app = create_app(
        Settings(DATABASE_URL=database_url, log_level="warning", portal_head_ttl_s=0, cors_write_origins=WRITE_ORIGIN)
    )
    app.add_api_route("/__test__/boom", _boom, include_in_schema=False)
    recorder = ProblemRecorder(app)
    RECORDERS.append(recorder)
    port = free_port()
    config = uvicorn.Config(recorder, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if the server answered a status or a problem code its OpenAPI document does not list."""
    missing = [line for recorder in RECORDERS for line in recorder.undocumented()]
    if missing:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_sep("=", "statuses and problem codes answered but not in the OpenAPI document", red=True)
            for line in missing:
                reporter.write_line(line)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture
def db(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    """A direct connection for assertions on what was (or was not) stored."""
    with psycopg.connect(libpq(database_url), autocommit=True) as connection:
        yield connection


@pytest.fixture(autouse=True)
def _empty_tables(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "database_url" not in request.fixturenames:
        return
    url = request.getfixturevalue("database_url")
    with psycopg.connect(libpq(url), autocommit=True) as connection:
        connection.execute(reset_statement(connection))


_RESET: list[str] = []


def reset_statement(connection: psycopg.Connection[Any]) -> str:
    """DELETE and sequence resets, not TRUNCATE: on tables this small TRUNCATE costs ~0.2 s a test
    (new files for every table and index). The replica role skips FK checks and the audit trigger."""
    if not _RESET:
        tables = [
            row[0]
            for row in connection.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            if row[0] not in KEEP_TABLES
        ]
        sequences = [
            row[0] for row in connection.execute("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'")
        ]
        _RESET.append(
            "SET session_replication_role = replica;"
            + "".join(f"DELETE FROM {table};" for table in tables)
            + "".join(f"SELECT setval('{sequence}', 1, false);" for sequence in sequences)
            + "RESET session_replication_role;"
        )
    return _RESET[0]


@pytest.fixture
def client(server_address: str) -> Iterator[httpx.Client]:
    """The public: no API key."""
    with httpx.Client(base_url=f"{server_address}/api/v1", timeout=30) as http:
        yield http


@pytest.fixture
def make_key(db: psycopg.Connection[Any]) -> KeyMaker:
    """Authorization headers for a fresh key of ``role`` (stored hashed, as the service stores it)."""

    def make(
        role: str, recipient_id: int | None = None, name: str = "test key", region_code: str | None = None
    ) -> dict[str, str]:
        secret = new_key()
        db.execute(
            "INSERT INTO api_key (name, role, recipient_id, region_code, key_hash, prefix)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            (name, role, recipient_id, region_code, key_digest(secret), secret[:12]),
        )
        return {"Authorization": f"Bearer {secret}"}

    return make


@pytest.fixture
def admin(make_key: KeyMaker) -> dict[str, str]:
    return make_key("admin")


@pytest.fixture
def region_35(client: httpx.Client, admin: dict[str, str]) -> None:
    """Jawa Timur and Kota Probolinggo, created through the API."""
    for body in ({"code": "35", "name": "Jawa Timur"}, {"code": "35.74", "name": "Kota Probolinggo"}):
        response = client.post("/regions", json=body, headers=admin)
        assert response.status_code == 201, response.text


@pytest.fixture
def election_and_kpu(client: httpx.Client, admin: dict[str, str], region_35: None) -> tuple[int, int]:
    election = client.post(
        "/elections",
        json={"name": "Pilwali Probolinggo 2024", "kind": "mayor", "region_code": "35.74", "voting_day": "2024-11-27"},
        headers=admin,
    )
    recipient = client.post(
        "/recipients", json={"name": "KPU Kota Probolinggo", "kind": "kpu", "region_code": "35.74"}, headers=admin
    )
    assert election.status_code == recipient.status_code == 201
    return election.json()["id"], recipient.json()["id"]


@pytest.fixture
def grant(client: httpx.Client, admin: dict[str, str], make_key: KeyMaker, election_and_kpu: tuple[int, int]) -> Grant:
    election_id, recipient_id = election_and_kpu
    finance = make_key("finance")
    created = client.post(
        "/agreements",
        json={
            "number": "NPHD-KPU-3574-2023",
            "election_id": election_id,
            "recipient_id": recipient_id,
            "signed_on": "2023-12-04",
            "scheme": "staged",
            "amount": "23116413980.00",
        },
        headers=finance,
    )
    assert created.status_code == 201, created.text
    return Grant(created.json()["id"], election_id, recipient_id, finance, admin)


@pytest.fixture
def auditor(make_key: KeyMaker) -> Headers:
    return make_key("auditor")


@pytest.fixture
def recipient(make_key: KeyMaker, grant: Grant) -> Headers:
    """The treasurer of the grant's KPU."""
    return make_key("recipient", recipient_id=grant.recipient_id)


@pytest.fixture
def paid(client: httpx.Client, grant: Grant) -> Grant:
    """The grant with Rp10,000,000 of it disbursed."""
    created(pay(client, grant, "10000000", "SP2D-1", "2023-12-19"))
    return grant


ELECTION_2024 = {
    "name": "Pemilihan Wali Kota Probolinggo 2024",
    "kind": "mayor",
    "region_code": "35.74",
    "voting_day": "2024-11-27",
    "winner_proposed_on": "2025-01-09",
}


@pytest.fixture
def world(
    client: httpx.Client, db: psycopg.Connection[Any], admin: Headers, make_key: KeyMaker, region_35: None
) -> World:
    """Jawa Timur, Kota Probolinggo, its 2024 and 2020 mayoral elections, its KPU and Bawaslu, a revoked key."""
    election_id = created(client.post("/elections", json=ELECTION_2024, headers=admin))
    other_election_id = created(
        client.post(
            "/elections", json=changed(ELECTION_2024, name="Pilwali 2020", voting_day="2020-12-09"), headers=admin
        )
    )
    kpu_id = created(
        client.post(
            "/recipients", json={"name": "KPU Kota Probolinggo", "kind": "kpu", "region_code": "35.74"}, headers=admin
        )
    )
    bawaslu_id = created(
        client.post(
            "/recipients",
            json={"name": "Bawaslu Kota Probolinggo", "kind": "bawaslu", "region_code": "35.74"},
            headers=admin,
        )
    )
    make_key("finance", name="revoked key")
    revoked = db.execute("UPDATE api_key SET revoked_at = now() WHERE name = 'revoked key' RETURNING id").fetchone()
    assert revoked is not None
    return World(
        admin=admin,
        election_id=election_id,
        other_election_id=other_election_id,
        kpu_id=kpu_id,
        bawaslu_id=bawaslu_id,
        revoked_key_id=revoked[0],
    )


@pytest.fixture
def refuses(client: httpx.Client, db: psycopg.Connection[Any], world: World) -> Refuses:
    """A request of ``world``'s admin that must come back as a problem and leave every table as it was."""

    def check(
        method: str, path: str, body: Body, status: int | set[int], code: str | None, field: str | None
    ) -> dict[str, Any]:
        with nothing_written(db):
            response = client.request(method, path, json=body, headers=world.admin)
            return assert_problem(response, status, code, field)

    return check


def _key_id_of(db: psycopg.Connection[Any], headers: Headers) -> int:
    row = db.execute("SELECT id FROM api_key WHERE key_hash = %s", (key_digest(secret_of(headers)),)).fetchone()
    assert row is not None
    key_id: int = row[0]
    return key_id


@pytest.fixture
def role_world(
    client: httpx.Client, db: psycopg.Connection[Any], admin: Headers, make_key: KeyMaker, region_35: None
) -> RoleWorld:
    """Its election and KPU, a key to revoke, a revoked admin key, one key of each role and bad credentials."""
    election = client.post(
        "/elections",
        json={
            "name": "Pemilihan Wali Kota Probolinggo 2024",
            "kind": "mayor",
            "region_code": "35.74",
            "voting_day": "2024-11-27",
        },
        headers=admin,
    )
    assert election.status_code == 201, election.text
    recipient = client.post(
        "/recipients",
        json={"name": "KPU Kota Probolinggo", "kind": "kpu", "region_code": "35.74"},
        headers=admin,
    )
    assert recipient.status_code == 201, recipient.text
    recipient_id: int = recipient.json()["id"]
    target = make_key("finance", name="key to revoke")
    # A revoked *admin* key: revocation must win over the strongest role.
    revoked = make_key("admin", name="revoked admin key")
    db.execute("UPDATE api_key SET revoked_at = now() WHERE key_hash = %s", (key_digest(secret_of(revoked)),))
    keyed = {
        "admin": admin,
        "finance": make_key("finance", name="BPKAD (national)"),
        "regional_finance": make_key("finance", name="BPKAD Kota Probolinggo", region_code="35.74"),
        "recipient": make_key("recipient", recipient_id=recipient_id, name="Bendahara KPU Kota Probolinggo"),
        "auditor": make_key("auditor", name="BPK Perwakilan Jawa Timur"),
    }
    world = RoleWorld(
        election_id=election.json()["id"],
        recipient_id=recipient_id,
        target_key_id=_key_id_of(db, target),
    )
    world.callers.update(keyed)
    world.key_ids.update({role: _key_id_of(db, headers) for role, headers in keyed.items()})
    world.callers.update(
        {
            "public": {},
            "revoked": revoked,
            "unknown": {"Authorization": f"Bearer {new_key()}"},
            "basic_scheme": {"Authorization": "Basic YWRtaW46YWRtaW4="},
            "bearer_without_key": {"Authorization": "Bearer"},
            # A real admin secret, but without the scheme: still not how the key is sent.
            "key_without_scheme": {"Authorization": secret_of(admin)},
        }
    )
    return world
