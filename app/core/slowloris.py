"""A deadline for the request line and headers, which uvicorn does not have.

Uvicorn closes a keep-alive connection that stays idle (``timeout_keep_alive``), but a client that connects and
sends nothing, or sends its headers a byte at a time, keeps its socket (and a slot of the process's file
descriptors) forever: hundreds of such sockets are a cheap denial of service. This protocol (uvicorn's own
httptools protocol, which ``serve`` uses) gives each request ``header_timeout_s`` from the connection (or from the
first byte of the next request on a kept connection) to the end of its headers, then answers 408 and closes.
A body, once the headers are in, is the application's to pace (``HIBAH_BODY_TIMEOUT_S``,
``HIBAH_BODY_MIN_BYTES_PER_S``: app/core/middleware.py, ``RequestBodyMiddleware``)."""

import asyncio
import functools
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

REQUEST_TIMEOUT = b"HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-length: 0\r\n\r\n"


class HeaderDeadlineProtocol(HttpToolsProtocol):
    header_timeout_s: float = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_deadline: asyncio.TimerHandle | None = None

    def _start_header_deadline(self) -> None:
        self._stop_header_deadline()
        self._header_deadline = self.loop.call_later(self.header_timeout_s, self._headers_too_slow)

    def _stop_header_deadline(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _headers_too_slow(self) -> None:
        self._header_deadline = None
        if not self.transport.is_closing():
            self.transport.write(REQUEST_TIMEOUT)
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_header_deadline()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._start_header_deadline()

    def on_headers_complete(self) -> None:
        self._stop_header_deadline()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_header_deadline()
        super().connection_lost(exc)


@functools.cache
def with_header_deadline(header_timeout_s: float) -> type[HeaderDeadlineProtocol]:
    """The protocol class for uvicorn's ``http=``, with the deadline of the settings."""
    return type("HeaderDeadline", (HeaderDeadlineProtocol,), {"header_timeout_s": header_timeout_s})
