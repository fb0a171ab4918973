"""Slow and idle clients are cut off: a request's headers have a deadline (uvicorn has none of its own), an idle
keep-alive connection is closed; a client that sends its request in time is served as usual."""

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from starlette.types import Receive, Scope, Send

from app.core.slowloris import with_header_deadline
from tests.helpers import free_port

DEADLINE_S = 0.5


async def _hello(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    chosen = free_port()
    config = uvicorn.Config(
        _hello,
        host="127.0.0.1",
        port=chosen,
        log_level="warning",
        http=with_header_deadline(DEADLINE_S),
        timeout_keep_alive=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    yield chosen
    server.should_exit = True
    thread.join(timeout=10)


def _closed_within(connection: socket.socket, seconds: float) -> tuple[bytes, float]:
    """What the server sent before closing, and when it closed."""
    connection.settimeout(seconds)
    started = time.monotonic()
    received = b""
    while chunk := connection.recv(1024):
        received += chunk
    return received, time.monotonic() - started


def test_partial_headers_are_cut_off_at_the_deadline(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port)) as connection:
        connection.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        received, after = _closed_within(connection, 5)
    assert received.startswith(b"HTTP/1.1 408 ")
    assert DEADLINE_S * 0.8 < after < DEADLINE_S + 1.5


def test_a_connection_that_sends_nothing_is_closed(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port)) as connection:
        received, after = _closed_within(connection, 5)
    assert received.startswith(b"HTTP/1.1 408 ")
    assert after < DEADLINE_S + 1.5


def test_a_second_request_on_a_kept_connection_has_its_own_deadline(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port)) as connection:
        connection.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        connection.settimeout(5)
        assert connection.recv(1024).startswith(b"HTTP/1.1 200 ")
        time.sleep(DEADLINE_S * 1.5)  # idle between requests: the keep-alive timeout's business, not the deadline's
        connection.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert connection.recv(1024).startswith(b"HTTP/1.1 200 ")
        connection.sendall(b"GET / HTTP/1.1\r\nHo")
        received, _ = _closed_within(connection, 5)
    assert received.startswith(b"HTTP/1.1 408 ")
