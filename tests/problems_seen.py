"""Every answer the suite sees the server give must be one the OpenAPI document lists for that operation.

The test server runs behind :class:`ProblemRecorder`, which notes the route, method and status of every
response, and the ``code`` of each problem; at the end of the session the notes are checked against
``/openapi.json``, so a status an operation answers without declaring it (a 304, a 503), or a code a service
raises without its route declaring it, fails the run.
"""

import gzip
import json
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from starlette.types import Message, Receive, Scope, Send

Seen = tuple[str, str, int, str | None]
"""(path template, method, status, the problem's code or None for any other answer)"""


@dataclass
class ProblemRecorder:
    app: FastAPI
    seen: set[Seen] = field(default_factory=set)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 0
        problem = gzipped = False
        body = bytearray()

        async def recording(message: Message) -> None:
            nonlocal status, problem, gzipped
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = dict(message.get("headers", []))
                problem = headers.get(b"content-type") == b"application/problem+json"
                gzipped = headers.get(b"content-encoding") == b"gzip"
            elif message["type"] == "http.response.body" and problem:
                body.extend(message.get("body", b""))
            await send(message)

        await self.app(scope, receive, recording)
        path = self._path_of(scope.get("endpoint"))
        # status 0: nothing was answered (the client left mid-body, app/core/middleware.py), so nothing to document.
        if path is not None and status != 0:
            text = gzip.decompress(body) if gzipped else bytes(body)
            code = json.loads(text).get("code", "") if problem and body else None
            self.seen.add((path, scope["method"], status, code))

    def _path_of(self, endpoint: object) -> str | None:
        """The operation's path as the document has it (prefix included): scope["route"] lacks the prefix."""
        for route in iter_route_contexts(self.app.routes):
            if route.endpoint is endpoint and route.path_format is not None:
                return route.path_format
        return None

    def undocumented(self) -> list[str]:
        """What was answered but is not in the document (test-only routes and HEAD left out)."""
        paths: dict[str, Any] = self.app.openapi()["paths"]
        missing = []
        for path, method, status, code in sorted(self.seen, key=str):
            operation = paths.get(path, {}).get(method.lower())
            if operation is None:
                continue
            responses: dict[str, Any] = operation["responses"]
            if str(status) not in responses:
                missing.append(f"{method} {path}: status {status} (listed: {', '.join(sorted(responses))})")
                continue
            listed = responses[str(status)].get("x-problem-codes", [])
            if code is not None and code not in listed:
                missing.append(f"{method} {path}: {status} {code} (listed: {', '.join(listed) or 'none'})")
        return missing
