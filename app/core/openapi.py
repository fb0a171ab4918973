"""The OpenAPI document tells the truth about errors: every one is ``application/problem+json``, and each
operation lists the problem ``code``s it can answer, by status.

Codes come from three places: the route's own ``responses=problems(...)`` (what its service raises), the
dependencies it uses (marked with ``app.core.errors.answers``: keys, roles, idempotency, cursors), and what
its parameters imply (any parameter can fail validation, an ``If-Match`` can be stale, a body can be too large).
"""

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts

from app.core.errors import (
    BodyUnreadable,
    DomainError,
    EtagMismatch,
    PayloadTooLarge,
    Problem,
    RequestInvalid,
    answered_by,
)
from app.core.i18n import status_title

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
PROBLEM_CONTENT = {"application/problem+json": {"schema": PROBLEM_REF}}
CODES = "x-problem-codes"
SECURITY_SCHEME = "apiKey"
KEY_REQUIRED = "hibah_key_required"
F = TypeVar("F", bound=Callable[..., Any])


def key_security(*, required: bool) -> Callable[[F], F]:
    """Mark a dependency that reads the API key: every route using it declares the key, as optional
    (public reads that show more to a key) or required (a role check)."""

    def mark(function: F) -> F:
        setattr(function, KEY_REQUIRED, required)
        return function

    return mark


def key_requirement(route: RouteContext) -> bool | None:
    """True if the route needs a key, False if it reads one when sent, None if it never looks."""
    found = [
        getattr(dependant.call, KEY_REQUIRED)
        for dependant in _dependants(route.dependant)
        if hasattr(dependant.call, KEY_REQUIRED)
    ]
    return any(found) if found else None


def _document_security(operation: dict[str, Any], required: bool | None) -> None:
    if required is not None:
        operation["security"] = [{SECURITY_SCHEME: []}] if required else [{}, {SECURITY_SCHEME: []}]


def problems(*errors: type[DomainError]) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route: the domain errors its service can raise, grouped by status."""
    by_status: dict[int, set[str]] = {}
    for error in errors:
        by_status.setdefault(error.status, set()).add(error.code)
    return {
        status: {"description": status_title(status, "en"), CODES: sorted(codes)} for status, codes in by_status.items()
    }


def _dependants(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for child in dependant.dependencies:
        yield from _dependants(child)


def implied_errors(route: RouteContext) -> set[type[DomainError]]:
    """What a route can answer because of its dependencies and parameters, whatever its service does."""
    found: set[type[DomainError]] = set()
    takes_input = False
    for dependant in _dependants(route.dependant):
        found.update(answered_by(dependant.call))
        takes_input = takes_input or bool(
            dependant.path_params or dependant.query_params or dependant.header_params or dependant.body_params
        )
        if any(param.alias.lower() == "if-match" for param in dependant.header_params):
            found.add(EtagMismatch)
    if takes_input:
        found.add(RequestInvalid)
    if route.body_field is not None:
        found.update((PayloadTooLarge, BodyUnreadable))
    elif "requestBody" in (route.openapi_extra or {}):
        found.add(PayloadTooLarge)
    return found


def _problem_schema(codes: list[str]) -> dict[str, Any]:
    return {"allOf": [PROBLEM_REF], "properties": {"code": {"type": "string", "enum": codes}}}


def _document_problems(operation: dict[str, Any], implied: set[type[DomainError]]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    for status, extra in problems(*implied).items():
        response = responses.setdefault(str(status), {"description": extra["description"]})
        response[CODES] = sorted(set(response.get(CODES, [])) | set(extra[CODES]))
    for status, response in responses.items():
        if not status.startswith(("4", "5")):
            continue
        codes = response.get(CODES)
        if codes:
            response["description"] = f"{status_title(int(status), 'en')}: " + ", ".join(f"`{code}`" for code in codes)
            response["content"] = {"application/problem+json": {"schema": _problem_schema(codes)}}
        else:
            response["content"] = PROBLEM_CONTENT
    responses.setdefault(
        "default",
        {"description": "Any other problem (RFC 9457), such as `internal_error`.", "content": PROBLEM_CONTENT},
    )


def _operations(schema: dict[str, Any], app: FastAPI) -> Iterator[tuple[dict[str, Any], RouteContext]]:
    """Each operation of the document with its route (as included: prefix and router dependencies added)."""
    for route in iter_route_contexts(app.routes):
        if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
            continue
        path = schema.get("paths", {}).get(route.path_format, {})
        for method in route.methods or ():
            operation = path.get(method.lower())
            if operation is not None:
                yield operation, route


def install_problem_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
            )
            schemas = schema.setdefault("components", {}).setdefault("schemas", {})
            schemas["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(schemas["Problem"].pop("$defs", {}))
            schema["components"]["securitySchemes"] = {
                SECURITY_SCHEME: {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API key: `Authorization: Bearer hibah_…`",
                }
            }
            for operation, route in _operations(schema, app):
                _document_problems(operation, implied_errors(route))
                _document_security(operation, key_requirement(route))
            for unused in ("HTTPValidationError", "ValidationError"):
                schemas.pop(unused, None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
