"""Changes proposed for app/, applied from outside so the benchmark can measure them before anyone edits app/.

* :func:`create_app_with_gc_freeze`: the app, with ``gc.collect(); gc.freeze()`` once startup is done. The
  objects that exist by then (modules, models, schemas, routes: ~170,000 tracked by the collector) are never
  garbage, but every full collection walks them all again, ~0.1 s each, about once a second under load.
  Frozen, they are left out of every collection.
* :func:`create_app_with_gc_freeze_and_light_read_pool`: that, and a read pool that does not reset its
  connections on release and holds as many connections as a worker serves requests at once. asyncpg's
  default reset is one more round trip per request (``SELECT pg_advisory_unlock_all(); CLOSE ALL;
  UNLISTEN *; RESET ALL``); the read path sets no session state, and asyncpg still rolls back a
  transaction left open, so the reset buys nothing there. Without the reset's round trip, a pool smaller
  than the concurrency starves some waiters (measured: p99 up to 0.27 s with 10 connections for 32
  requests in flight, 10 ms with 32), hence the size.

Serve with ``uv run uvicorn bench.proposals:create_app_with_gc_freeze --factory`` and ``DATABASE_URL`` set.
"""

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from fastapi import FastAPI

from app.core.config import get_settings
from app.core.reads import libpq_dsn
from app.main import create_app, resolve_database_url


async def keep_session(_connection: asyncpg.Connection) -> None:
    """The proposed ``reset=`` of the read pool: nothing to undo after a single read-only statement."""


# The connections the benchmark keeps in flight against one worker (bench_regions --connections).
READ_POOL_SIZE = 32


async def light_read_pool() -> asyncpg.Pool:
    """The app's read pool (app/core/reads.py: create_read_pool) with ``reset=keep_session``, 32 connections."""
    settings = get_settings()
    pool: asyncpg.Pool = await asyncpg.create_pool(
        libpq_dsn(resolve_database_url(settings)),
        min_size=1,
        max_size=READ_POOL_SIZE,
        server_settings={"application_name": "hibah-read", "default_transaction_read_only": "on"},
        reset=keep_session,
    )
    return pool


def _with_startup_step(app: FastAPI, *, light_reads: bool) -> FastAPI:
    original = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with original(app):
            if light_reads:
                await app.state.read_pool.close()
                app.state.read_pool = await light_read_pool()
            gc.collect()
            gc.freeze()
            yield

    app.router.lifespan_context = lifespan
    return app


def create_app_with_gc_freeze() -> FastAPI:
    return _with_startup_step(create_app(), light_reads=False)


def create_app_with_gc_freeze_and_light_read_pool() -> FastAPI:
    return _with_startup_step(create_app(), light_reads=True)
