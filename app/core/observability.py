"""Structured JSON logs that carry the request id, and Prometheus metrics of requests and the pool."""

import json
import logging
import threading
from collections import deque
from contextvars import ContextVar
from typing import TextIO

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


class BatchedStreamHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Formats on the caller's thread and leaves whole lines to a writer thread that wakes every 50 ms.

    The event loop never blocks on the stream. A queue handler with a listener thread did the same, but woke
    that thread for every record: under load, each access-log line cost ~70 µs of a request's CPU in thread
    hand-offs, where formatting it costs ~10 (docs/performance.md). Warnings and errors wake it at once.
    """

    def __init__(self, stream: TextIO | None = None, interval: float = 0.05) -> None:
        super().__init__(stream)
        self.lines: deque[str] = deque()
        self.interval = interval
        self.wake = threading.Event()
        self.write_lock = threading.Lock()
        self.stopping = False
        self.writer = threading.Thread(target=self._write_until_closed, name="hibah-log-writer", daemon=True)
        self.writer.start()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(self.format(record))
        except Exception:  # noqa: BLE001 - logging must never break the request that logs
            self.handleError(record)
        if record.levelno >= logging.WARNING:
            self.wake.set()

    def _write_until_closed(self) -> None:
        while not self.stopping:
            self.wake.wait(self.interval)
            self.wake.clear()
            self.flush()

    def flush(self) -> None:
        # Not under the handler's own lock, which every emit takes: a stream that blocks stalls only this.
        with self.write_lock:
            batch = [self.lines.popleft() for _ in range(len(self.lines))]
            if batch:
                self.stream.write(self.terminator.join(batch) + self.terminator)
            self.stream.flush()

    def close(self) -> None:
        self.stopping = True
        self.wake.set()
        if self.writer is not threading.current_thread():
            self.writer.join(timeout=5)
        self.flush()
        super().close()


_handler: BatchedStreamHandler | None = None


def configure_logging(level: str, log_format: str) -> None:
    global _handler  # noqa: PLW0603 - one writer thread per process
    if _handler is not None:
        _handler.close()
    _handler = BatchedStreamHandler()
    if log_format == "json":
        _handler.setFormatter(JsonLineFormatter())
    else:
        _handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s request_id=%(request_id)s")
        )
    _handler.addFilter(RequestIdFilter())
    root = logging.getLogger("hibah")
    root.handlers[:] = [_handler]
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
