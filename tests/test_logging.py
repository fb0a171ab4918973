"""The log writer: lines in order, none lost, and the caller never waits on the stream."""

import io
import logging
import threading
import time

from app.core.observability import BatchedStreamHandler, JsonLineFormatter


def logger_with(handler: logging.Handler, name: str) -> logging.Logger:
    logger = logging.getLogger(f"hibah.test.{name}")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger


def test_every_line_arrives_in_order_by_close() -> None:
    stream = io.StringIO()
    handler = BatchedStreamHandler(stream)
    handler.setFormatter(JsonLineFormatter())
    logger = logger_with(handler, "order")
    for number in range(5000):
        logger.info("GET /api/v1/regions/%s 200", number, extra={"status": 200})
    handler.close()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 5000
    assert [f"GET /api/v1/regions/{number} 200" in line for number, line in enumerate(lines)] == [True] * 5000


class BlockingStream(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.entered = threading.Event()

    def write(self, text: str) -> int:
        self.entered.set()
        self.release.wait(10)
        return super().write(text)


def test_a_stuck_stream_does_not_hold_up_the_caller() -> None:
    stream = BlockingStream()
    handler = BatchedStreamHandler(stream, interval=0.01)
    logger = logger_with(handler, "stuck")
    logger.info("first")
    assert stream.entered.wait(5), "the writer thread took the first line"
    started = time.monotonic()
    for number in range(200):
        logger.info("while stuck %s", number)
    assert time.monotonic() - started < 2, "emitting waited on the stream"
    stream.release.set()
    handler.close()
    lines = stream.getvalue().splitlines()
    assert lines[0] == "first" and len(lines) == 201


def test_errors_are_written_without_waiting_for_the_interval() -> None:
    stream = io.StringIO()
    handler = BatchedStreamHandler(stream, interval=60)
    logger = logger_with(handler, "error")
    time.sleep(0.05)  # the writer is now asleep for up to 60 s
    logger.error("database unreachable")
    deadline = time.monotonic() + 5
    while "database unreachable" not in stream.getvalue() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert "database unreachable" in stream.getvalue()
    handler.close()
