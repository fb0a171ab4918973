"""The application factory."""

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute
from fastapi_offline import FastAPIOffline
from sqlalchemy.ext.asyncio import AsyncEngine

from app.access.router import router as access_router
from app.audit.router import router as audit_router
from app.core.config import Settings, get_settings
from app.core.db import create_engine_for, create_ledger_pool
from app.core.embedded import start_embedded
from app.core.errors import install_error_handlers
from app.core.idempotency import IdempotentReplay, replay_response
from app.core.middleware import ContainErrorsMiddleware, RequestBodyMiddleware, RequestIdMiddleware
from app.core.observability import configure_logging, flush_logs, sample_pool
from app.core.observability import router as metrics_router
from app.core.openapi import install_problem_openapi
from app.core.reads import RetryingReader, create_read_pool, libpq_dsn
from app.core.replicas import ReplicaRoutingMiddleware, ReplicaSet
from app.core.web import install_web_middleware
from app.feed.listener import ChangeListener
from app.feed.router import router as feed_router
from app.feed.service import SharedReads
from app.grants import router as grants
from app.health.router import router as health_router
from app.ledger.router import money_writes
from app.ledger.router import router as ledger_router
from app.oversight.exports import ExportCapacity
from app.oversight.router import router as oversight_router
from app.portal.cache import ChainHead, PageCache
from app.portal.render import warm as warm_portal
from app.portal.router import router as portal_router
from app.reference import router as reference
from app.reports.router import router as reports_router
from app.support.router import router as support_router

API_PREFIX = "/api/v1"

DESCRIPTION = """
Hibah makes Indonesian regional-election grant money (dana hibah Pilkada) accountable: grant
agreements (NPHD), disbursements, spending reports and refunds, each traceable to the rupiah.

* Money is a decimal string with two places (`"23116413980.00"`); input is ASCII digits with at most
  two places, or an integer. Dates are `YYYY-MM-DD`, nothing else.
* Errors are RFC 9457 `application/problem+json` with a stable `code`; send
  `Accept-Language: id` for Indonesian.
* Writes need `Authorization: Bearer <api key>`; public reads need no key.
* Who sees what: payees, document numbers and grant account numbers and holders are `null` except for
  finance, auditor and admin keys and the key of the recipient they belong to.
"""


log = logging.getLogger("hibah.app")


def resolve_database_url(settings: Settings) -> str:
    return settings.database_url or start_embedded(settings.data_dir)


async def _replay(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, IdempotentReplay)
    return replay_response(exc)


def operation_id(route: APIRoute) -> str:
    return route.name


async def _start_feed(app: FastAPI, url: str) -> None:
    # One LISTEN connection per worker, beside the pools: the change feed's held requests wait on it. Straight
    # to the primary when the pools go through PgBouncer (HIBAH_LISTEN_URL): a pooler cannot carry LISTEN.
    app.state.change_listener = ChangeListener(libpq_dsn(url))
    await app.state.change_listener.start()
    app.state.feed_reads = SharedReads()


def _start_exports(app: FastAPI, url: str, settings: Settings) -> AsyncEngine:
    # Streamed exports read on a pool of their own, one connection per slot: a slow reader never holds a
    # connection money writes wait for.
    export_engine = create_engine_for(
        url, settings, pool_size=settings.export_slots, name="hibah-export", overflow=False
    )
    app.state.exports = ExportCapacity(export_engine, settings.export_slots, settings.retry_after_s)
    return export_engine


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_format)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        url = resolve_database_url(settings)
        engine = create_engine_for(url, settings)
        app.state.settings = settings
        app.state.engine = engine
        app.state.read_pool = await create_read_pool(url, settings)
        app.state.reader = RetryingReader(app.state.read_pool)
        app.state.ledger_pool = await create_ledger_pool(url, settings)
        await _start_feed(app, settings.listen_url or url)
        export_engine = _start_exports(app, url, settings)
        await replicas.start(engine, app.state.read_pool)
        # On a thread, after startup: readiness does not wait for it; a page asked for meanwhile compiles itself.
        warming = asyncio.get_running_loop().run_in_executor(None, warm_portal)
        # Startup leaves ~170,000 long-lived objects; frozen, full collections stop walking them
        # (~90 ms pauses under load before, ~3 ms after; docs/performance.md).
        gc.collect()
        gc.freeze()
        sampler = asyncio.create_task(sample_pool(engine))
        try:
            yield
        finally:
            sampler.cancel()
            await app.state.change_listener.stop()
            await warming
            await replicas.close()
            await app.state.read_pool.close()
            await app.state.ledger_pool.close()
            await engine.dispose()
            await export_engine.dispose()
            log.info("stopped")
            flush_logs()

    # Swagger UI and ReDoc from the fastapi-offline package's own copies (/static-offline-docs): a Pemda
    # intranet reaches no CDN.
    app = FastAPIOffline(
        swagger_ui_parameters={"validatorUrl": None},
        # Operation ids are the handlers' names (`create_agreement`, `disburse`): what generated clients call.
        generate_unique_id_function=operation_id,
        title="Hibah",
        version="1.0.0",
        summary="Pilkada grant-fund accountability API",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    # Streaming replicas for reads (DATABASE_REPLICA_URL, docs/scaling.md); none: no middleware, no cost.
    replicas = ReplicaSet.from_settings(settings)
    app.state.replicas = replicas
    install_error_handlers(app)
    app.add_exception_handler(IdempotentReplay, _replay)
    app.add_middleware(ContainErrorsMiddleware)
    app.add_middleware(
        RequestBodyMiddleware, timeout_s=settings.body_timeout_s, min_bytes_per_s=settings.body_min_bytes_per_s
    )
    install_web_middleware(app, settings)
    if replicas.replicas:
        app.add_middleware(ReplicaRoutingMiddleware, replicas=replicas)
    app.add_middleware(RequestIdMiddleware)

    # Routes are matched in order, one by one (a few µs each, a tenth of a hot read's cost by the thirtieth):
    # the two hot public reads first, then the ledger's payments, then the rest. No two routers share a path,
    # so the order changes nothing else. Each is included in the app directly: a router nested in another is
    # one more level FastAPI walks on every request.
    hot = (grants.hot_reads, reference.hot_reads, money_writes, ledger_router)
    for router in (
        *hot,
        grants.router,
        reports_router,
        reference.router,
        access_router,
        support_router,
        oversight_router,
        audit_router,
        feed_router,
    ):
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(health_router)
    app.include_router(metrics_router)
    # The citizens' pages (HTML, outside the API's document); their rendered pages are kept per process.
    app.state.portal_cache = PageCache(settings.portal_cache_pages)
    app.state.portal_head = ChainHead(settings.portal_head_ttl_s)
    app.include_router(portal_router)
    install_problem_openapi(app, settings)
    return app
