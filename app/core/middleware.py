"""``X-Request-ID`` on every request and response, one log line per request, and the request metrics."""

import logging
import os
import re
import time
from functools import lru_cache
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.requests import ClientDisconnect, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import PayloadTooLarge, handle_connection_error, render
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
BODILESS = frozenset(("GET", "HEAD", "OPTIONS"))
"""No route reads a body for these methods, so there is nothing to limit."""


class BodyLimitMiddleware:
    """Refuses request bodies over 10 MiB as they arrive (413 problem), except on streamed imports.

    FastAPI turns any error raised while it reads a body into a 400, so the limiter remembers that it
    cut the body off and answers with its own 413 in place of whatever the app then says.
    """

    def __init__(self, app: ASGIApp, limit: int = BODY_LIMIT) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in BODILESS or STREAMED_PATHS.search(scope["path"]):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            # The HTTP parser holds the body to its declared length: only that needs checking.
            if int(declared) > self.limit:
                await self._refuse(scope, receive, send)
            else:
                await self.app(scope, receive, send)
            return
        received = 0
        cut_off = False

        async def limited() -> Message:
            nonlocal received, cut_off
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                cut_off = True
                raise self._too_large()
            return message

        async def replacing(message: Message) -> None:
            if not cut_off:
                await send(message)
            elif message["type"] == "http.response.start":
                await self._refuse(scope, receive, send)

        await self.app(scope, limited, replacing)

    def _too_large(self) -> PayloadTooLarge:
        return PayloadTooLarge(self.limit)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        await render(Request(scope, receive), self._too_large())(scope, receive, send)


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
