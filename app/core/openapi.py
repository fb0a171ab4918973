"""The OpenAPI document says exactly what the server does (DESIGN §6).

Errors: every one is ``application/problem+json``, and each operation lists the problem ``code``s it can answer,
by status. Codes come from three places: the route's own ``responses=problems(...)`` (what its service raises),
the dependencies it uses (marked with ``app.core.errors.answers``: keys, roles, idempotency, cursors), and what
its parameters imply (any parameter can fail validation, an ``If-Match`` can be stale, a body can be too large).

Beyond errors: who may call each operation (its security, optional where a key only shows more, and the roles
in its description), headers a dependency requires (``Idempotency-Key`` on money writes), the 304 every
buffered GET can answer (``app.core.web``), the tags with their descriptions, and the server the document
was fetched from.
"""

import json
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.responses import Response, StreamingResponse
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from starlette.routing import Route

from app.core.config import Settings
from app.core.errors import (
    BodyTooSlow,
    BodyUnreadable,
    DatabaseUnavailable,
    DomainError,
    EtagMismatch,
    InconsistentInput,
    NotFound,
    PayloadTooLarge,
    Problem,
    RequestInvalid,
    answered_by,
)
from app.core.i18n import status_title

API_PATHS = "/api/"
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
PROBLEM_CONTENT = {"application/problem+json": {"schema": PROBLEM_REF}}
CODES = "x-problem-codes"
SECURITY_SCHEME = "apiKey"
KEY_REQUIRED = "hibah_key_required"
REQUIRED_HEADERS = "hibah_required_headers"
F = TypeVar("F", bound=Callable[..., Any])
TAGS = [
    {"name": "reference", "description": "Regions, elections, recipients and the published code lists."},
    {"name": "access", "description": "API keys: who may call what."},
    {"name": "grants", "description": "Grant agreements (NPHD), their amendments and their position."},
    {"name": "ledger", "description": "Money moving: disbursements, reversals, refunds, report reviews, closing."},
    {"name": "reports", "description": "Usage reports and their items, while recipients write them."},
    {
        "name": "support",
        "description": "Support in kind (dukungan sarana dan prasarana): goods, asset loans, space, staff, services.",
    },
    {"name": "oversight", "description": "Summaries, compliance findings and export files."},
    {"name": "audit", "description": "The hash-chained audit log and its verification."},
    {"name": "feed", "description": "The change feed: every committed change in commit order, public-safe, live."},
    {"name": "health", "description": "Liveness, readiness and metrics of this process."},
]
NOT_MODIFIED = {
    "description": "Not modified: the `ETag` sent in `If-None-Match` (or the `Last-Modified` date sent in"
    " `If-Modified-Since`) is still current; no body."
}
IF_NONE_MATCH = {
    "name": "If-None-Match",
    "in": "header",
    "required": False,
    "description": "An ETag you hold (or `*`): if it is still current the answer is a 304 without a body.",
    "schema": {"type": "string"},
}


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


def _document_security(operation: dict[str, Any], required: bool | None, roles: list[str]) -> None:
    if required is not None:
        operation["security"] = [{SECURITY_SCHEME: []}] if required else [{}, {SECURITY_SCHEME: []}]
    if roles:
        who = "a key of role " + " or ".join(f"`{role}`" for role in roles)
    elif required is False:
        who = "anyone; no key needed (a key may show more)"
    else:
        who = "anyone; no key needed"
    operation["description"] = f"{operation.get('description', '').strip()}\n\n**Who may call**: {who}.".strip()


def key_roles(route: RouteContext) -> list[str]:
    """The roles a route's key check admits (none for a public route)."""
    roles: set[str] = set()
    for dependant in _dependants(route.dependant):
        roles.update(
            str(role) for role in getattr(dependant.call, "roles", ()) if hasattr(dependant.call, KEY_REQUIRED)
        )
    return sorted(roles)


def _document_required_headers(operation: dict[str, Any], route: RouteContext) -> None:
    """Headers a dependency requires, as (name, description): marked required where FastAPI documents the header
    as one of the dependency's parameters, added where the dependency reads it itself (``MoneyWriter``)."""
    required = {
        name.lower(): (name, description)
        for dependant in _dependants(route.dependant)
        for name, description in getattr(dependant.call, REQUIRED_HEADERS, ())
    }
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "header" and parameter["name"].lower() in required:
            parameter["required"] = True
            del required[parameter["name"].lower()]
    for name, description in required.values():
        # As FastAPI documents the same header where it is a parameter (``IdempotencyHeader``): one form throughout.
        schema = {"anyOf": [{"type": "string"}, {"type": "null"}], "description": description, "title": name}
        header = {"name": name, "in": "header", "required": True, "schema": schema, "description": description}
        operation["parameters"] = [*operation.get("parameters", []), header]


def _document_not_modified(operation: dict[str, Any], route: RouteContext, method: str) -> None:
    """Every GET whose answer is not streamed carries an ETag and answers a current one with 304."""
    original = route.original_route
    streamed = isinstance(original, APIRoute) and original.response_class is StreamingResponse
    if method != "GET" or streamed:
        return
    operation.setdefault("parameters", []).append(IF_NONE_MATCH)
    operation["responses"]["304"] = NOT_MODIFIED


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
    if (route.path_format or "").startswith(API_PATHS):
        # Every API operation reads the database (a key, a row, a transaction): when it is out of reach, a 503.
        found.add(DatabaseUnavailable)
    takes_input = False
    if route.dependant.path_params:
        # A path whose parameter is not of the parameter's form (``/agreements/abc``) routes nowhere: 404.
        found.add(NotFound)
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
        found.update((PayloadTooLarge, BodyTooSlow, BodyUnreadable, InconsistentInput))
    elif "requestBody" in (route.openapi_extra or {}):
        found.update((PayloadTooLarge, BodyTooSlow))
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


def _operations(schema: dict[str, Any], app: FastAPI) -> Iterator[tuple[dict[str, Any], RouteContext, str]]:
    """Each operation of the document with its route (as included: prefix and router dependencies added)."""
    for route in iter_route_contexts(app.routes):
        if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
            continue
        path = schema.get("paths", {}).get(route.path_format, {})
        for method in route.methods or ():
            operation = path.get(method.lower())
            if operation is not None:
                yield operation, route, method


CREATES = {
    # create operation (path of its POST): (the created resource's path, its path parameter, the answer's field)
    "/api/v1/regions": ("/api/v1/regions/{code}", "code", "code"),
    "/api/v1/elections": ("/api/v1/elections/{election_id}", "election_id", "id"),
    "/api/v1/recipients": ("/api/v1/recipients/{recipient_id}", "recipient_id", "id"),
    "/api/v1/keys": ("/api/v1/keys/{key_id}", "key_id", "id"),
    "/api/v1/agreements": ("/api/v1/agreements/{agreement_id}", "agreement_id", "id"),
    "/api/v1/agreements/{agreement_id}/disbursements": (
        "/api/v1/disbursements/{disbursement_id}",
        "disbursement_id",
        "id",
    ),
    "/api/v1/agreements/{agreement_id}/refunds": ("/api/v1/refunds/{refund_id}", "refund_id", "id"),
    "/api/v1/agreements/{agreement_id}/usage-reports": ("/api/v1/usage-reports/{report_id}", "report_id", "id"),
    "/api/v1/support": ("/api/v1/support/{support_id}", "support_id", "id"),
}
"""What each create makes, for the OpenAPI links that let clients (and schemathesis's stateful phase) go on
from a created record to every operation on it: its read, its changes and the records under it."""


def _document_links(schema: dict[str, Any]) -> None:
    paths: dict[str, Any] = schema["paths"]
    for create_path, (resource_path, parameter, field) in CREATES.items():
        created = paths[create_path]["post"]["responses"]["201"]
        links = created.setdefault("links", {})
        for path, operations in paths.items():
            if path != resource_path and not path.startswith(resource_path + "/"):
                continue
            for method, operation in operations.items():
                links[operation["operationId"]] = {
                    "operationId": operation["operationId"],
                    "parameters": {parameter: f"$response.body#/{field}"},
                    "description": f"{method.upper()} {path} of the record just created.",
                }


def _info(settings: Settings) -> dict[str, Any]:
    contact = {"name": settings.contact_name}
    if settings.contact_email:
        contact["email"] = settings.contact_email
    if settings.contact_url:
        contact["url"] = settings.contact_url
    return {"contact": contact, "license": {"name": settings.license_name, "identifier": settings.license_id}}


def _serve_with_servers(app: FastAPI) -> None:
    """``/openapi.json`` names as its server the address it was fetched from (behind a proxy too, with
    uvicorn's ``--forwarded-allow-ips``), so Swagger UI, generated clients and fuzzers call this server."""

    @lru_cache(maxsize=16)
    def rendered(base_url: str) -> bytes:
        servers = [{"url": base_url, "description": "The server that served this document."}]
        document = {**app.openapi(), "servers": servers}
        return json.dumps(document, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()

    async def openapi_json(request: Request) -> Response:
        return Response(rendered(str(request.base_url).rstrip("/")), media_type="application/json")

    for index, route in enumerate(app.router.routes):
        if isinstance(route, Route) and route.path == app.openapi_url:
            app.router.routes[index] = Route(route.path, openapi_json, methods=["GET"], include_in_schema=False)


def install_problem_openapi(app: FastAPI, settings: Settings) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
                tags=TAGS,
            )
            schema["info"].update(_info(settings))
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
            for operation, route, method in _operations(schema, app):
                _document_problems(operation, implied_errors(route))
                _document_security(operation, key_requirement(route), key_roles(route))
                _document_required_headers(operation, route)
                _document_not_modified(operation, route, method)
            _document_links(schema)
            for unused in ("HTTPValidationError", "ValidationError"):
                schemas.pop(unused, None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    _serve_with_servers(app)
