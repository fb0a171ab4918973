"""HTTP as browsers, caches and clients expect it (DESIGN §6): CORS, gzip, validators and 304, HEAD, OPTIONS.

The layers, outermost first (``install_web_middleware``):

1. ``SplitCors``: any origin may read; only the configured origins may write. Starlette's CORS middleware,
   one instance per kind of request, its refused preflights rendered as problems.
2. ``MethodsMiddleware``: HEAD runs the GET and sends its headers only; OPTIONS answers with ``Allow``.
3. Starlette's ``GZipMiddleware``: every body worth compressing, streamed exports chunk by chunk (each
   chunk is compressed and flushed as it passes, nothing is held); XLSX is a ZIP already and passes as is.
4. ``ConditionalGetMiddleware``: an ``ETag`` on every GET answer that has none (lists, summaries, findings),
   ``If-None-Match``/``If-Modified-Since`` answered with 304, and ``Cache-Control`` and ``Vary``.
"""

from collections.abc import Sequence
from email.utils import parsedate_to_datetime

import anyio
from fastapi import FastAPI
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES, GZipMiddleware
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.config import Settings
from app.core.errors import CorsNotAllowed, render
from app.core.etag import body_etag
from app.core.routes import allowed_methods

READ_METHODS = frozenset(("GET", "HEAD", "OPTIONS"))
WRITE_METHODS = ("GET", "HEAD", "OPTIONS", "POST", "PATCH", "DELETE")
EXPOSED_HEADERS = (
    "ETag",
    "Last-Modified",
    "Location",
    "X-Request-ID",
    "Idempotent-Replayed",
    "Content-Disposition",
    "WWW-Authenticate",
    "Allow",
    "Hibah-Replica-Lag",  # how old a replica's answer may be (core.replicas)
)
PREFLIGHT_MAX_AGE = 600
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
GZIP_LEVEL = 6
"""zlib's default: within a few percent of level 9's size on JSON and CSV, at a fraction of its CPU."""
GZIP_MINIMUM = 500
NOT_CACHED = frozenset(("/healthz", "/readyz", "/metrics"))
"""Answers about this process at this moment: never stored by any cache."""


# --- gzip ------------------------------------------------------------------------------------------


def accepts_gzip(headers: Headers) -> bool:
    """Whether ``Accept-Encoding`` takes gzip: named (or ``*``) without ``q=0`` (RFC 9110 §12.5.3)."""
    for part in headers.get("accept-encoding", "").split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip().lower() in ("gzip", "*"):
            return params.replace(" ", "").lower() not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


class _NegotiatedGZip(GZipMiddleware):
    """Starlette's gzip, which compresses whenever "gzip" appears in the header, even as ``gzip;q=0``."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not accepts_gzip(Headers(scope=scope)):
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


# --- CORS --------------------------------------------------------------------------------------------


class _ProblemCors(CORSMiddleware):
    """Starlette's CORS middleware, whose refused preflight is an RFC 9457 problem instead of plain text."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if scope["method"] == "OPTIONS" and "origin" in headers and "access-control-request-method" in headers:
            response = self.preflight_response(request_headers=headers)
            if response.status_code >= 400:
                refused = render(Request(scope, receive), CorsNotAllowed(headers["origin"]))
                refused.headers.update({"Vary": "Origin"})
                response = refused
            await response(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def _varying_on_origin(send: Send) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            message.setdefault("headers", [])
            headers = MutableHeaders(scope=message)
            headers["Vary"] = ", ".join([*headers.getlist("Vary"), "Origin"])
        await send(message)

    return sending


class SplitCors:
    """Reads (GET, HEAD, OPTIONS) are open to every origin; writes only to ``write_origins``.

    The kind of a preflight is the method it asks about (``Access-Control-Request-Method``). API keys travel
    in the ``Authorization`` header, never in cookies, so no origin is ever allowed credentials."""

    def __init__(self, app: ASGIApp, write_origins: Sequence[str]) -> None:
        self.app = app
        common = {"allow_headers": ["*"], "expose_headers": list(EXPOSED_HEADERS), "max_age": PREFLIGHT_MAX_AGE}
        self.read = _ProblemCors(app, allow_origins=["*"], allow_methods=sorted(READ_METHODS), **common)  # type: ignore[arg-type]
        self.write = _ProblemCors(app, allow_origins=list(write_origins), allow_methods=WRITE_METHODS, **common)  # type: ignore[arg-type]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.read(scope, receive, send)
            return
        method = scope["method"]
        if not any(name == b"origin" for name, _ in scope["headers"]):
            # Not a cross-origin request: of CORS only ``Vary: Origin`` applies (a cache keyed on the URL must not
            # hand this answer, without ``Access-Control-Allow-Origin``, to a browser on another origin). Added
            # here, as Starlette's layer would add it, without the two layers under it.
            await self.app(scope, receive, _varying_on_origin(send))
            return
        if method == "OPTIONS":
            method = Headers(scope=scope).get("access-control-request-method", "OPTIONS").upper()
        await (self.read if method in READ_METHODS else self.write)(scope, receive, send)


# --- HEAD and OPTIONS --------------------------------------------------------------------------------

ROUTED_KEYS = ("route", "endpoint", "path_params")
"""What routing leaves in the scope that the outer layers read (metrics, the tests' problem recorder)."""


class MethodsMiddleware:
    """HEAD wherever GET works: the GET runs and only its headers are sent (a streamed export still runs to
    its end: its body is dropped, not cut, so its transaction closes as usual; the app is not told that the
    client has gone until it has finished). OPTIONS on a routed path is a
    204 with ``Allow``; on any other path it falls through to the router's 404."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS":
            await self._options(scope, receive, send)
            return
        as_get = {**scope, "method": "GET"}  # a copy: the server must still see HEAD, to send no body
        sent_end = False
        asked = False
        finished = anyio.Event()

        async def until_finished() -> Message:
            """The request, then nothing: the server reports the client gone once the (empty) answer is complete,
            and a streamed answer would be cancelled mid-stream, its transaction with it."""
            nonlocal asked
            if not asked:
                asked = True
                return await receive()
            await finished.wait()
            return {"type": "http.disconnect"}

        async def headers_only(message: Message) -> None:
            nonlocal sent_end
            if message["type"] != "http.response.body":
                await send(message)
            elif not sent_end:
                sent_end = True
                await send({"type": "http.response.body", "body": b"", "more_body": False})

        try:
            await self.app(as_get, until_finished, headers_only)
        finally:
            finished.set()
            scope.update({key: as_get[key] for key in ROUTED_KEYS if key in as_get})

    async def _options(self, scope: Scope, receive: Receive, send: Send) -> None:
        app: FastAPI = scope["app"]
        allow = allowed_methods(app.router.routes, scope)
        if not allow:
            await self.app(scope, receive, send)
            return
        headers = [(b"allow", ", ".join(allow).encode()), (b"content-length", b"0")]
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})


# --- validators, 304 and Cache-Control ----------------------------------------------------------------

KEPT_ON_304 = (b"etag", b"last-modified", b"cache-control", b"vary", b"content-location", b"expires")


def _strip_weak(tag: str) -> str:
    return tag.strip().removeprefix("W/")


def etag_matches(if_none_match: str, etag: str) -> bool:
    """The weak comparison of RFC 9110 §13.1.2: ``W/"x"`` matches ``"x"``; ``*`` matches any."""
    wanted = _strip_weak(etag)
    return any(tag == "*" or _strip_weak(tag) == wanted for tag in if_none_match.split(","))


def _not_modified_since(if_modified_since: str, last_modified: str) -> bool:
    try:
        return parsedate_to_datetime(last_modified) <= parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError):
        return False  # an unreadable date is ignored (RFC 9110 §13.1.3)


class ConditionalGetMiddleware:
    """Every successful GET gets a validator and a freshness rule; a client that has the current one gets a 304.

    Public answers may be kept ``max_age`` seconds by any cache; answers to a key are ``private`` (a shared
    cache must not hand one key's view to another caller) and revalidated every time. ``Vary: Authorization``
    tells caches that the answer depends on the key. The ETag of an answer that carries none is a digest of its
    body, so lists, summaries and findings are validated exactly; streamed answers are not held to digest."""

    def __init__(self, app: ASGIApp, max_age: int) -> None:
        self.app = app
        self.public = f"public, max-age={max_age}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        request = Headers(scope=scope)
        cache_control = self._cache_control(scope, request)
        held: Message | None = None

        async def conditional(message: Message) -> None:
            nonlocal held
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if message["status"] != 200:
                    headers.setdefault("Cache-Control", "no-store")
                    await send(message)
                    return
                headers.setdefault("Cache-Control", cache_control.decode())
                headers.add_vary_header("Authorization")
                held = message
                return
            if held is None or message["type"] != "http.response.body":
                await send(message)
                return
            start, held = held, None
            if message.get("more_body", False):
                await send(start)
                await send(message)
                return
            await self._answer(request, start, message, send)

        await self.app(scope, receive, conditional)

    def _cache_control(self, scope: Scope, request: Headers) -> bytes:
        if scope["path"] in NOT_CACHED:
            return b"no-store"
        return b"private, no-cache" if "authorization" in request else self.public

    @staticmethod
    async def _answer(request: Headers, start: Message, message: Message, send: Send) -> None:
        headers = MutableHeaders(scope=start)
        if "etag" not in headers:
            headers["ETag"] = body_etag(message.get("body", b""))
        if_none_match = request.get("if-none-match")
        last_modified = headers.get("last-modified")
        if if_none_match is not None:
            fresh = etag_matches(if_none_match, headers["etag"])
        else:
            since = request.get("if-modified-since")
            fresh = since is not None and last_modified is not None and _not_modified_since(since, last_modified)
        if not fresh:
            await send(start)
            await send(message)
            return
        kept = [(name, value) for name, value in start["headers"] if name.lower() in KEPT_ON_304]
        await send({"type": "http.response.start", "status": 304, "headers": kept})
        await send({"type": "http.response.body", "body": b""})


# --- all together --------------------------------------------------------------------------------------


def install_web_middleware(app: FastAPI, settings: Settings) -> None:
    """Added innermost first: each ``add_middleware`` wraps everything added before it."""
    app.add_middleware(ConditionalGetMiddleware, max_age=settings.cache_max_age)
    app.add_middleware(
        _NegotiatedGZip,
        minimum_size=GZIP_MINIMUM,
        compresslevel=GZIP_LEVEL,
        exclude_content_types=(*DEFAULT_EXCLUDED_CONTENT_TYPES, XLSX),
    )
    app.add_middleware(MethodsMiddleware)
    app.add_middleware(SplitCors, write_origins=settings.cors_write_origin_list)
