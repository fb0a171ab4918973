"""One ``hibah serve`` (two workers, its own embedded PostgreSQL) for the fault tests: starting one
costs an initdb and the migrations, more than a test's own budget on a busy machine."""

from collections.abc import Iterator

import pytest

from tests.faults.harness import Server, Setup, grant, serve, workdir


@pytest.fixture(scope="package")
def server() -> Iterator[Server]:
    started = serve(workdir(), workers=2, db_pool_size="4", export_slots="2")
    yield started
    started.stop()


@pytest.fixture(scope="package")
def setup(server: Server) -> Setup:
    return grant(server)
