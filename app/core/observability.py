"""Structured JSON logs that carry the request id, and Prometheus metrics of requests and the pool."""

import logging
from contextvars import ContextVar

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from pythonjsonlogger.json import JsonFormatter

REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)

REGISTRY = CollectorRegistry()
REQUESTS = Counter(
    "hibah_http_requests_total",
    "HTTP requests by route template, method and status.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "hibah_http_request_duration_seconds",
    "HTTP request latency by route template.",
    ["method", "route"],
    registry=REGISTRY,
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
POOL_SIZE = Gauge("hibah_db_pool_size", "Connections the database pool keeps.", registry=REGISTRY)
POOL_CHECKED_OUT = Gauge("hibah_db_pool_checked_out", "Connections in use by requests.", registry=REGISTRY)
POOL_OVERFLOW = Gauge("hibah_db_pool_overflow", "Connections beyond the pool size.", registry=REGISTRY)


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = REQUEST_ID.get()
        return True


def configure_logging(level: str, log_format: str) -> None:
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s", rename_fields={"levelname": "level"}
            )
        )
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s request_id=%(request_id)s")
        )
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger("hibah")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False


router = APIRouter(tags=["health"])


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
async def metrics(request: Request) -> Response:
    """Prometheus text format. With several workers each process reports its own counters."""
    pool = request.app.state.engine.pool
    POOL_SIZE.set(pool.size())
    POOL_CHECKED_OUT.set(pool.checkedout())
    POOL_OVERFLOW.set(max(pool.overflow(), 0))
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
