"""Structured logs that carry the request id, one format for every line a process writes, and Prometheus
metrics of requests and the pool, summed over every worker of a server.

Metrics across workers: ``prometheus_client``'s multiprocess mode. Each worker writes its counts to
memory-mapped files in one directory per server (``PROMETHEUS_MULTIPROC_DIR``, set by ``hibah serve`` before
its workers start, empty at start); the worker that answers ``/metrics`` reads and sums all of them. The mode
is chosen when ``prometheus_client`` is first imported, so a process that serves alone, and the tests, keep
their counts in memory.
"""

import asyncio
import contextlib
import json
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import Any, TextIO

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)

MULTIPROCESS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
MULTIPROCESS_DIR = os.environ.get(MULTIPROCESS_DIR_VARIABLE)
"""Read as ``prometheus_client`` read it on import, just above: its metrics and this module agree on the mode."""
POOL_SAMPLE_INTERVAL_S = 1.0
"""How often each worker writes its pool gauges when several workers share /metrics."""

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
# Summed over the live workers: the server's connections, not one worker's.
POOL_SIZE = Gauge(
    "hibah_db_pool_size", "Connections the database pools keep.", registry=REGISTRY, multiprocess_mode="livesum"
)
POOL_CHECKED_OUT = Gauge(
    "hibah_db_pool_checked_out", "Connections in use by requests.", registry=REGISTRY, multiprocess_mode="livesum"
)
POOL_OVERFLOW = Gauge(
    "hibah_db_pool_overflow", "Connections beyond the pool sizes.", registry=REGISTRY, multiprocess_mode="livesum"
)


# uvicorn adds ``color_message`` (the message with terminal colours) to its records: not for a log file.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "request_id",
    "color_message",
}


def utc_time(record: logging.LogRecord) -> str:
    """ISO 8601 in UTC to the millisecond, as log collectors parse it: ``2024-11-27T01:02:03.456Z``."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"


class JsonLineFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, and any ``extra`` fields.

    Written here rather than taken from python-json-logger: the access log formats a line per
    request, and this is several times cheaper on the hot path (docs/performance.md).
    """

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": utc_time(record),
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
            batch.append(self.note(f"hibah: {self.dropped} log lines dropped while the log stream was stuck"))
            self.dropped = 0
        return batch

    def note(self, message: str) -> str:
        """A line of the handler's own, in the format of the others."""
        record = logging.LogRecord("hibah.log", logging.WARNING, __file__, 0, message, None, None)
        record.request_id = None
        return self.format(record)

    def _write_now(self, lines: list[str]) -> None:
        with self.write_lock:
            self._write(lines)

    def _write(self, lines: list[str]) -> None:
        if not lines:  # nothing to say: leave the stream alone (at exit it may be closed already)
            return
        try:
            for chunk in whole_lines(lines, self.terminator):
                self.stream.write(chunk)
                self.stream.flush()
        except Exception as exc:  # noqa: BLE001 - a broken stream must not end the writer thread
            _report_failed_write(self.note(f"hibah: {len(lines)} log lines lost, the log stream failed: {exc!r}"))

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


PIPE_BUF = 4096
"""POSIX: a write of this many bytes or fewer to a pipe is never interleaved with another process's writes."""


def whole_lines(lines: list[str], terminator: str = "\n", limit: int = PIPE_BUF) -> Iterator[str]:
    """The lines in writes of at most ``limit`` bytes, each of whole lines (a longer line alone): the workers
    of one server share its output pipe, and a longer write could be cut into by another worker's line."""
    chunk: list[str] = []
    size = 0
    for line in lines:
        length = (len(line) if line.isascii() else len(line.encode())) + len(terminator)
        if chunk and size + length > limit:
            yield terminator.join(chunk) + terminator
            chunk, size = [], 0
        chunk.append(line)
        size += length
    if chunk:
        yield terminator.join(chunk) + terminator


def _report_failed_write(line: str) -> None:
    with contextlib.suppress(Exception):  # the last resort; if it fails too, there is nowhere left to say so
        assert sys.__stderr__ is not None
        sys.__stderr__.write(line + "\n")


_handler: BatchedStreamHandler | None = None

QUIET_LOGGERS = {"pgserver": logging.WARNING}
"""Libraries whose INFO lines narrate their internals (pgserver logs every command it runs)."""


def configure_logging(level: str, log_format: str) -> None:
    """Every line the process logs, in one format: the root logger's handler, so the lines of uvicorn,
    Alembic, the embedded server and Python's warnings take the same way as the app's own."""
    global _handler  # one writer thread per process
    handler = BatchedStreamHandler()
    if log_format == "json":
        handler.setFormatter(JsonLineFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s request_id=%(request_id)s")
        )
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)  # the new one first: no line falls between the two
    root.setLevel(level.upper())
    for name, quiet in QUIET_LOGGERS.items():
        logging.getLogger(name).setLevel(max(quiet, root.level))
    logging.captureWarnings(True)
    previous, _handler = _handler, handler
    if previous is not None:
        root.removeHandler(previous)
        previous.close()


def process_logging_configured() -> bool:
    """Whether this process writes its lines through :func:`configure_logging` (``serve`` and its workers)."""
    return _handler is not None


def flush_logs() -> None:
    """Write what is queued now: uvicorn ends a process with the SIGTERM it caught, so no exit hook runs."""
    if _handler is not None:
        _handler.flush()


def _after_fork_in_child() -> None:
    if _handler is not None:
        _handler.restart_after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)


# --- metrics of every worker -----------------------------------------------------------------------


@contextlib.contextmanager
def multiprocess_metrics() -> Iterator[Path]:
    """The directory the workers started inside this block share their metrics through, empty at start.

    ``PROMETHEUS_MULTIPROC_DIR`` when the operator set it (its files of an earlier server are removed: their
    counts are not this server's), else a new temporary directory, removed at the end.
    """
    given = os.environ.get(MULTIPROCESS_DIR_VARIABLE)
    directory = Path(given) if given else Path(tempfile.mkdtemp(prefix="hibah-metrics-"))
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()
    os.environ[MULTIPROCESS_DIR_VARIABLE] = str(directory)
    try:
        yield directory
    finally:
        if given:
            os.environ[MULTIPROCESS_DIR_VARIABLE] = given
        else:
            os.environ.pop(MULTIPROCESS_DIR_VARIABLE, None)
            shutil.rmtree(directory, ignore_errors=True)


def record_pool(pool: Any) -> None:
    POOL_SIZE.set(pool.size())
    POOL_CHECKED_OUT.set(pool.checkedout())
    POOL_OVERFLOW.set(max(pool.overflow(), 0))


async def sample_pool(engine: Any) -> None:
    """With several workers, each writes its pool's gauges now and then: a scrape reaches only one of them.

    The engine's pool is read each time: a lost database connection replaces it (app/core/db.py)."""
    if MULTIPROCESS_DIR is None:
        return
    while True:
        record_pool(engine.pool)
        await asyncio.sleep(POOL_SAMPLE_INTERVAL_S)


def exposition() -> bytes:
    """The Prometheus text of this process, or of every worker that shares the multiprocess directory."""
    if MULTIPROCESS_DIR is None:
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=MULTIPROCESS_DIR)  # type: ignore[no-untyped-call]
    return generate_latest(registry)


router = APIRouter(tags=["health"])


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
async def metrics(request: Request) -> Response:
    """Prometheus text format: requests and latency by route, the database pools; summed over the workers."""
    record_pool(request.app.state.engine.pool)
    return Response(exposition(), media_type=CONTENT_TYPE_LATEST)
