"""What the routing table says about a path: the methods it serves, for ``Allow`` on a 405 and on OPTIONS."""

from collections.abc import Sequence
from typing import Any

from fastapi.routing import iter_route_contexts
from starlette.routing import BaseRoute
from starlette.types import Scope

IMPLIED_BY_GET = "HEAD"
"""Every GET also answers HEAD (``app.core.web.MethodsMiddleware``)."""
ALWAYS = "OPTIONS"
"""Every routed path answers OPTIONS with its ``Allow`` (and a CORS preflight, when it is one)."""


def allowed_methods(routes: Sequence[BaseRoute], scope: Scope) -> list[str]:
    """Every method some route serves on the scope's path, HEAD and OPTIONS included; empty if none routes it.

    Starlette names the methods of the first route whose path matches; the same path is often served by
    several routes (``GET /agreements`` and ``POST /agreements``), so all of them are asked."""
    path: str = scope["path"]  # the app is never mounted under a root path
    methods: set[str] = set()
    for route in iter_route_contexts(routes):  # included routers' routes with their prefixes
        route_methods: Any = route.methods
        regex: Any = getattr(route, "path_regex", None)
        if route_methods and regex is not None and regex.match(path):
            methods.update(route_methods)
    if not methods:
        return []
    if "GET" in methods:
        methods.add(IMPLIED_BY_GET)
    methods.add(ALWAYS)
    return sorted(methods)
