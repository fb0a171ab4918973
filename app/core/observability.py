"""Structured JSON logs that carry the request id, and Prometheus metrics of requests and the pool."""

import atexit
import json
import logging
import queue
from contextvars import ContextVar
from logging.handlers import QueueHandler, QueueListener

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

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


_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "request_id"}


class JsonLineFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, and any ``extra`` fields.

    Written here rather than taken from python-json-logger: the access log formats a line per
    request, and this is several times cheaper on the hot path (docs/performance.md).
    """

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        line.update((key, value) for key, value in vars(record).items() if key not in _STANDARD)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = REQUEST_ID.get()
        return True


class DeferredQueueHandler(QueueHandler):
    """Hands records to a writer thread unformatted: the event loop neither formats nor blocks on I/O."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        if record.args:
            record.msg, record.args = record.getMessage(), None
        record.exc_text = (
            self.formatter.formatException(record.exc_info) if record.exc_info and self.formatter else None
        )
        record.exc_info = None
        return record


_listener: QueueListener | None = None


def configure_logging(level: str, log_format: str) -> None:
    global _listener  # noqa: PLW0603 - one writer thread per process
    writer = logging.StreamHandler()
    if log_format == "json":
        writer.setFormatter(JsonLineFormatter())
    else:
        writer.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s request_id=%(request_id)s")
        )
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    handler = DeferredQueueHandler(records)
    handler.addFilter(RequestIdFilter())
    if _listener is not None:
        _listener.stop()
    _listener = QueueListener(records, writer)
    _listener.start()
    atexit.register(_listener.stop)
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
