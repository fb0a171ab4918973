"""``X-Request-ID`` on every request and response, one log line per request, and the request metrics."""

import asyncio
import logging
import os
import re
import time
from functools import lru_cache
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.requests import ClientDisconnect, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import BodyTooSlow, DomainError, PayloadTooLarge, handle_connection_error, render
from app.core.observability import LATENCY, REQUEST_ID, REQUESTS

log = logging.getLogger("hibah.access")

CLIENT_GONE = "hibah_client_gone"
CLIENT_CLOSED_REQUEST = 499
"""The status the access log and the metrics give a request whose client left before its answer (nginx's)."""
_ACCEPTABLE_ID = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")


class RequestIdMiddleware:
    """Pure ASGI (not BaseHTTPMiddleware) so it adds no task or buffering to the hot path."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id_from(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        token = REQUEST_ID.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers["X-Request-ID"] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            if scope["state"].get(CLIENT_GONE):
                status = CLIENT_CLOSED_REQUEST
            # The template as documented ("/regions/{code}"), without the path convertors ("{code:region_code}").
            route = getattr(scope.get("route"), "path_format", "unmatched")
            _requests(scope["method"], route, status).inc()
            _latency(scope["method"], route).observe(elapsed)
            if log.isEnabledFor(logging.INFO):
                _access_line(scope, status, elapsed)
            REQUEST_ID.reset(token)


# The labelled series, looked up once per label set: labels() takes a lock and builds its key on every call.
@lru_cache(maxsize=4096)
def _requests(method: str, route: str, status: int) -> Any:
    return REQUESTS.labels(method, route, str(status))


@lru_cache(maxsize=1024)
def _latency(method: str, route: str) -> Any:
    return LATENCY.labels(method, route)


def _access_line(scope: Scope, status: int, elapsed: float) -> None:
    log.info(
        "%s %s %s %.1fms",
        scope["method"],
        scope["path"],
        status,
        elapsed * 1000,
        extra={"method": scope["method"], "path": scope["path"], "status": status, "duration_ms": elapsed * 1000},
    )


def _request_id_from(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            candidate: str = value.decode("latin-1")
            if _ACCEPTABLE_ID.match(candidate):
                return candidate
            break
    return os.urandom(16).hex()  # as random as uuid4().hex, without building a UUID per request


BODY_LIMIT = 10 * 1024 * 1024
STREAMED_PATHS = re.compile(r"/items/import$")
"""Routes that stream their body into the database and never hold it: no size limit."""
STREAM_GATE = 64 * 1024
"""How much of a streamed body arrives before its route runs (and takes a database connection)."""
BODILESS = frozenset(("GET", "HEAD", "OPTIONS"))
"""No route reads a body for these methods, so there is nothing to limit."""


class _ClientGone(Exception):
    """The client closed its connection before its body was in."""


class _PacedBody:
    """A request's body as the server receives it, held to the settings' pace and, unless streamed, to the limit.

    Each wait for the next part of the body may last ``timeout_s`` at most; and the time spent waiting for the
    body in all may not pass ``timeout_s`` plus one second for every ``min_bytes_per_s`` bytes received (Apache's
    ``RequestReadTimeout body=…,MinRate=…``), so a body trickled a byte at a time just under the idle timeout is
    cut too. Only time spent waiting for the client counts: a route slow to take the body (an import whose COPY
    is busy) never costs its client.
    """

    def __init__(self, receive: Receive, timeout_s: float, min_bytes_per_s: int, limit: int | None) -> None:
        self.receive = receive
        self.timeout_s = timeout_s
        self.min_bytes_per_s = min_bytes_per_s
        self.limit = limit
        self.received = 0
        self.waited = 0.0
        self.complete = False

    async def next(self) -> Message:
        if self.complete:
            return await self.receive()  # nothing left but the client leaving: no deadline for that
        allowed = self.timeout_s
        if self.min_bytes_per_s:
            allowed = min(allowed, self.timeout_s + self.received / self.min_bytes_per_s - self.waited)
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            # A part already received is taken even past the deadline: the wait never suspends, so it never expires.
            async with asyncio.timeout(max(allowed, 0.0)):
                message = await self.receive()
        except TimeoutError:
            raise BodyTooSlow(self.timeout_s, self.min_bytes_per_s) from None
        finally:
            self.waited += loop.time() - started
        if message["type"] != "http.request":
            self.complete = True
            return message
        self.received += len(message.get("body", b""))
        if self.limit is not None and self.received > self.limit:
            raise PayloadTooLarge(self.limit)
        self.complete = not message.get("more_body", False)
        return message

    async def first(self, up_to: int | None) -> Message:
        """The body's first ``up_to`` bytes (all of it with None), as one message."""
        chunks: list[bytes] = []
        size = 0
        while not self.complete and (up_to is None or size < up_to):
            message = await self.next()
            if message["type"] != "http.request":
                raise _ClientGone()
            chunk: bytes = message.get("body", b"")
            chunks.append(chunk)
            size += len(chunk)
        return {"type": "http.request", "body": b"".join(chunks), "more_body": not self.complete}


class RequestBodyMiddleware:
    """How every request's body is received, before and while its route runs.

    - **Before the route.** A body is received whole (at most 10 MiB, else a 413 problem) before the route runs;
      a streamed import's first ``STREAM_GATE`` bytes likewise. A route takes its database connection when it
      runs, so a client that sends its headers and then trickles or withholds its body holds no connection and no
      transaction while it does.
    - **At its pace.** Every wait for the body is bounded by ``HIBAH_BODY_TIMEOUT_S`` and the body's average rate
      by ``HIBAH_BODY_MIN_BYTES_PER_S`` (``_PacedBody``). Past either, the answer is 408 ``request_timeout`` with
      ``Connection: close``; a streamed import cut that way is cut inside its route, whose transaction rolls back,
      so nothing of it is written and its connection is released at once.

    FastAPI turns any error raised while it reads a body into a 400, so the middleware remembers that it cut the
    body off and answers with its own problem in place of whatever the app then says.
    """

    def __init__(
        self, app: ASGIApp, *, timeout_s: float = 10.0, min_bytes_per_s: int = 1024, limit: int = BODY_LIMIT
    ) -> None:
        self.app = app
        self.timeout_s = timeout_s
        self.min_bytes_per_s = min_bytes_per_s
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in BODILESS:
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length")
        if (declared is None and b"transfer-encoding" not in headers) or declared == b"0":
            await self.app(scope, receive, send)  # no body (HTTP/1.1: neither a length nor chunks)
            return
        streamed = STREAMED_PATHS.search(scope["path"]) is not None
        if not streamed and declared is not None and int(declared) > self.limit:
            # The HTTP parser holds the body to its declared length: only that needs checking.
            await self._answer(scope, receive, send, PayloadTooLarge(self.limit))
            return
        body = _PacedBody(receive, self.timeout_s, self.min_bytes_per_s, None if streamed else self.limit)
        try:
            head: Message | None = await body.first(STREAM_GATE if streamed else None)
        except (BodyTooSlow, PayloadTooLarge) as refused:
            await self._answer(scope, receive, send, refused)
            return
        except _ClientGone:
            scope.setdefault("state", {})[CLIENT_GONE] = True
            log.info("client went away while sending %s %s; nothing of it was read", scope["method"], scope["path"])
            return
        cut: DomainError | None = None

        async def paced() -> Message:
            nonlocal head, cut
            if head is not None:
                message, head = head, None
                return message
            try:
                return await body.next()
            except (BodyTooSlow, PayloadTooLarge) as refused:
                cut = refused
                raise

        async def replacing(message: Message) -> None:
            if cut is None:
                await send(message)
            elif message["type"] == "http.response.start":
                await self._answer(scope, receive, send, cut)

        await self.app(scope, paced, replacing)

    async def _answer(self, scope: Scope, receive: Receive, send: Send, error: DomainError) -> None:
        if isinstance(error, BodyTooSlow):
            log.info("request body too slow for %s %s; answered 408 and closed", scope["method"], scope["path"])
        await render(Request(scope, receive), error)(scope, receive, send)


class ContainErrorsMiddleware:
    """The last handler of an error the app's handlers did not take (a bug, a driver's internal error), inside the
    app: Starlette's own answers and then re-raises it to the server, which logs the traceback a second time and
    drops the keep-alive connection, so a client gets a reset with the 500. Here it is answered once, logged once,
    and the connection stays. (An error after the response started cannot be answered: it goes on up.)"""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking)
        except ClientDisconnect:
            # Not an error of the server's: the client left while its body was being read (an import cut short).
            # The request's transaction has rolled back on the way here; nobody is left to answer.
            scope.setdefault("state", {})[CLIENT_GONE] = True
            log.info("client went away during %s %s; nothing of it was written", scope["method"], scope["path"])
        except Exception as exc:
            if started:
                raise
            response = await handle_connection_error(Request(scope, receive), exc)
            await response(scope, receive, send)
