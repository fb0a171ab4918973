"""One ``hibah serve`` (two workers, its own embedded PostgreSQL) for the fault tests: starting one
costs an initdb and the migrations, more than a test's own budget on a busy machine."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.harness import Server, Setup, grant, serve, workdir

KILLS_THE_API = "test_api_killed_mid_import.py"
"""The test that kills the shared server runs after the others here, so none of them waits for a new one."""


@pytest.fixture(scope="package")
def server() -> Iterator[Server]:
    started = serve(workdir(), workers=2, db_pool_size="4", export_slots="2")
    yield started
    started.stop()


@pytest.fixture(autouse=True)
def _server_alive(server: Server) -> None:
    """A test after the one that killed the server (run alone, or in another order) gets a new one."""
    if not server.alive():
        server.restart()


@pytest.fixture(scope="package")
def setup(server: Server) -> Setup:
    return grant(server)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    positions = [n for n, item in enumerate(items) if here in item.path.parents]
    ours = sorted((items[n] for n in positions), key=lambda item: item.path.name == KILLS_THE_API)
    for n, item in zip(positions, ours, strict=True):
        items[n] = item
