"""The log writer: lines in order, none lost, and the caller never waits on the stream."""

import io
import json
import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from app.core import observability
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


class FailingOnceStream(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.failures = 1

    def write(self, text: str) -> int:
        if self.failures:
            self.failures -= 1
            raise BrokenPipeError("the log collector restarted")
        return super().write(text)


def test_a_failed_write_is_reported_and_the_writer_goes_on(capfd: pytest.CaptureFixture[str]) -> None:
    stream = FailingOnceStream()
    handler = BatchedStreamHandler(stream, interval=0.01)
    logger = logger_with(handler, "broken")
    logger.info("lost with the broken write")
    deadline = time.monotonic() + 5
    while stream.failures and time.monotonic() < deadline:
        time.sleep(0.01)
    assert stream.failures == 0, "the writer thread never tried the stream"
    # Before close(): close() writes what is queued itself, so only lines that arrive while the handler is
    # open prove that the writer thread survived the failure and keeps writing.
    after = [f"written after it {number}" for number in range(50)]
    for line in after:
        logger.info(line)
        time.sleep(0.001)
    while stream.getvalue().count("\n") < len(after) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert handler.writer.is_alive(), "the failure ended the writer thread"
    assert stream.getvalue().splitlines() == after, "lines after the failure were lost or reordered"
    handler.close()
    assert handler.writer.is_alive() is False
    assert stream.getvalue().splitlines() == after
    assert "hibah: 1 log lines lost, the log stream failed: BrokenPipeError" in capfd.readouterr().err


def test_lines_past_the_cap_are_counted_not_kept() -> None:
    stream = BlockingStream()
    handler = BatchedStreamHandler(stream, interval=0.01, max_pending=10)
    logger = logger_with(handler, "cap")
    logger.info("first")
    assert stream.entered.wait(5)
    for number in range(25):
        logger.info("while stuck %s", number)
    assert len(handler.lines) == 10
    stream.release.set()
    handler.close()
    lines = stream.getvalue().splitlines()
    assert lines[:11] == ["first", *(f"while stuck {number}" for number in range(10))]
    assert lines[11] == "hibah: 15 log lines dropped while the log stream was stuck"


def test_a_line_logged_after_close_is_still_written() -> None:
    stream = io.StringIO()
    handler = BatchedStreamHandler(stream)
    logger = logger_with(handler, "closed")
    handler.close()
    logger.info("late")
    assert stream.getvalue() == "late\n"


def test_a_forked_child_writes_its_own_lines(tmp_path: Path) -> None:
    target = tmp_path / "child.log"
    with target.open("w") as stream:
        handler = BatchedStreamHandler(stream, interval=0.01)
        logger = logger_with(handler, "fork")
        observability._handler, previous = handler, observability._handler
        try:
            pid = os.fork()
            if pid == 0:  # the child: its writer thread was restarted by the fork hook
                logger.info("from the child")
                time.sleep(0.3)
                os._exit(0 if handler.writer.is_alive() else 1)
            _, status = os.waitpid(pid, 0)
        finally:
            observability._handler = previous
            handler.close()
    assert os.waitstatus_to_exitcode(status) == 0
    assert "from the child" in target.read_text()


def test_writes_are_whole_lines_no_larger_than_a_pipe_writes_at_once() -> None:
    """Several workers share one output pipe: a write of at most PIPE_BUF bytes is never cut into by
    another process, so a batch goes out in such writes, each of whole lines (a longer line alone)."""

    class Recording(io.StringIO):
        def __init__(self) -> None:
            super().__init__()
            self.writes: list[str] = []

        def write(self, text: str) -> int:
            self.writes.append(text)
            return super().write(text)

    stream = Recording()
    handler = BatchedStreamHandler(stream, interval=60)
    logger = logger_with(handler, "pipe")
    lines = [f"GET /api/v1/regions/{number} 200 {'é' * (number % 300)}" for number in range(400)]
    lines.insert(200, "x" * 10_000)
    for line in lines:
        logger.info(line)
    handler.close()
    assert stream.getvalue().splitlines() == lines
    assert all(write.endswith("\n") for write in stream.writes)
    assert max(len(write.encode()) for write in stream.writes if "x" * 10_000 not in write) <= observability.PIPE_BUF
    assert [write for write in stream.writes if "x" * 10_000 in write] == ["x" * 10_000 + "\n"]


def test_json_lines_carry_utc_iso_time_and_no_terminal_colours() -> None:
    record = logging.LogRecord("uvicorn.error", logging.INFO, __file__, 1, "Started server process [%d]", (7,), None)
    record.created, record.msecs = 1_732_665_600.25, 250.0  # 2024-11-27 00:00:00.250 UTC
    record.color_message = "Started server process [\x1b[36m%d\x1b[0m]"
    line = json.loads(JsonLineFormatter().format(record))
    assert line["time"] == "2024-11-27T00:00:00.250Z"
    assert line["message"] == "Started server process [7]"
    assert "color_message" not in line


PROCESS_LOG = """
import logging, warnings
from app.core.observability import configure_logging
configure_logging("info", "{log_format}")
warnings.warn("a library's warning", UserWarning, stacklevel=1)
logging.getLogger("pgserver").info("Running commandline: pg_ctl ...")
logging.getLogger("alembic.runtime.migration").info("Running upgrade 0004 -> 0005")
"""


def test_a_process_logs_its_warnings_and_libraries_in_its_format() -> None:
    """Python's warnings and every library's lines take the app's handler (and pgserver's chatter stays out)."""
    done = subprocess.run(
        [sys.executable, "-c", PROCESS_LOG.format(log_format="json")], capture_output=True, text=True, check=True
    )
    lines = [json.loads(line) for line in done.stderr.splitlines()]
    assert [(line["logger"], line["level"]) for line in lines] == [
        ("py.warnings", "WARNING"),
        ("alembic.runtime.migration", "INFO"),
    ]
    assert "a library's warning" in lines[0]["message"]
    text = subprocess.run(
        [sys.executable, "-c", PROCESS_LOG.format(log_format="text")], capture_output=True, text=True, check=True
    )
    assert [line.split(" ")[2:4] for line in text.stderr.splitlines() if line[:2] == "20"] == [
        ["WARNING", "py.warnings"],
        ["INFO", "alembic.runtime.migration"],
    ]
