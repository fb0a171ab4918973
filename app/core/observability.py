"""Structured JSON logs that carry the request id, and Prometheus metrics of requests and the pool."""

import contextlib
import json
import logging
import os
import sys
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


class BatchedStreamHandler(logging.StreamHandler[TextIO]):
    """Formats on the caller's thread and leaves whole lines to a writer thread that wakes every 50 ms.

    The event loop never blocks on the stream. A queue handler with a listener thread did the same, but woke
    that thread for every record: under load, each access-log line cost ~70 µs of a request's CPU in thread
    hand-offs, where formatting it costs ~10 (docs/performance.md). Warnings and errors wake it at once.
    A stream that fails is reported and retried with the next batch; a stream that stays stuck costs lines
    past ``max_pending`` (counted and reported), never the process's memory.
    """

    def __init__(self, stream: TextIO | None = None, interval: float = 0.05, max_pending: int = 100_000) -> None:
        super().__init__(stream)
        self.lines: deque[str] = deque()
        self.interval = interval
        self.max_pending = max_pending
        self.dropped = 0
        self.wake = threading.Event()
        self.write_lock = threading.Lock()
        self.stopping = False
        self._start_writer()

    def _start_writer(self) -> None:
        self.writer = threading.Thread(target=self._write_until_closed, name="hibah-log-writer", daemon=True)
        self.writer.start()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:  # noqa: BLE001 - logging must never break the request that logs
            self.handleError(record)
            return
        if self.stopping:  # closed: nothing will drain the queue any more
            self._write_now([line])
            return
        if len(self.lines) >= self.max_pending:
            self.dropped += 1
            return
        self.lines.append(line)
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
            self._write(self._take())

    def _take(self) -> list[str]:
        batch = [self.lines.popleft() for _ in range(len(self.lines))]
        if self.dropped:
            batch.append(f"hibah: {self.dropped} log lines dropped while the log stream was stuck")
            self.dropped = 0
        return batch

    def _write_now(self, lines: list[str]) -> None:
        with self.write_lock:
            self._write(lines)

    def _write(self, lines: list[str]) -> None:
        if not lines:  # nothing to say: leave the stream alone (at exit it may be closed already)
            return
        try:
            self.stream.write(self.terminator.join(lines) + self.terminator)
            self.stream.flush()
        except Exception as exc:  # noqa: BLE001 - a broken stream must not end the writer thread
            _report_failed_write(exc, len(lines))

    def close(self) -> None:
        self.stopping = True
        self.wake.set()
        if self.writer is not threading.current_thread():
            self.writer.join(timeout=5)
        # Still writing after 5 s: the stream is stuck, and waiting for it would hang the exit.
        if self.write_lock.acquire(timeout=0 if self.writer.is_alive() else 5):
            try:
                self._write(self._take())
            finally:
                self.write_lock.release()
        super().close()

    def restart_after_fork(self) -> None:
        """Threads do not survive ``fork``: the child starts its own writer for what it logs."""
        self.lines.clear()
        self.write_lock = threading.Lock()
        if not self.stopping:
            self._start_writer()


def _report_failed_write(exc: Exception, lines: int) -> None:
    with contextlib.suppress(Exception):  # the last resort; if it fails too, there is nowhere left to say so
        assert sys.__stderr__ is not None
        sys.__stderr__.write(f"hibah: {lines} log lines lost, the log stream failed: {exc!r}\n")


_handler: BatchedStreamHandler | None = None


def configure_logging(level: str, log_format: str) -> None:
    global _handler  # one writer thread per process
    handler = BatchedStreamHandler()
    if log_format == "json":
        handler.setFormatter(JsonLineFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s request_id=%(request_id)s")
        )
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger("hibah")
    root.handlers[:] = [handler]  # the new one first: no line falls between the two
    root.setLevel(level.upper())
    root.propagate = False
    previous, _handler = _handler, handler
    if previous is not None:
        previous.close()


def flush_logs() -> None:
    """Write what is queued now: uvicorn ends a process with the SIGTERM it caught, so no exit hook runs."""
    if _handler is not None:
        _handler.flush()


def _after_fork_in_child() -> None:
    if _handler is not None:
        _handler.restart_after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)


router = APIRouter(tags=["health"])


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
async def metrics(request: Request) -> Response:
    """Prometheus text format. With several workers each process reports its own counters."""
    pool = request.app.state.engine.pool
    POOL_SIZE.set(pool.size())
    POOL_CHECKED_OUT.set(pool.checkedout())
    POOL_OVERFLOW.set(max(pool.overflow(), 0))
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
