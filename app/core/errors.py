"""Domain errors raised by services, and the one place that renders every error as RFC 9457."""

import logging
from typing import Any, ClassVar

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import DBAPIError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.core.i18n import Lang, pick_language, status_title

log = logging.getLogger("hibah.errors")

PROBLEM_MEDIA_TYPE = "application/problem+json"
# A URN: a stable identifier per code that does not pretend to be a page someone must host.
PROBLEM_TYPE_BASE = "urn:hibah:problem:"


class FieldError(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details, with Hibah's stable ``code`` and per-field ``errors``.

    Some problems carry extension members of their own (an import's ``rows`` and ``bad_rows``).
    """

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    instance: str
    code: str
    request_id: str | None = None
    errors: list[FieldError] = []


class DomainError(Exception):
    """A rule of the domain or of the API that a request breaks; rendered once, in both languages."""

    status: ClassVar[int] = 409
    code: ClassVar[str] = "conflict"

    def __init__(
        self,
        detail: str,
        detail_id: str | None = None,
        *,
        code: str | None = None,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
        extensions: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.extensions = extensions or {}
        self.detail = detail
        self.detail_id = detail_id or detail
        self.instance_code = code or self.code
        self.errors = errors or []
        self.headers = headers or {}


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class InvalidInput(DomainError):
    status = 422
    code = "validation_error"


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"

    def __init__(self, detail: str, detail_id: str | None = None, *, code: str | None = None) -> None:
        super().__init__(detail, detail_id, code=code, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class PreconditionFailed(DomainError):
    status = 412
    code = "etag_mismatch"


class PayloadTooLarge(DomainError):
    status = 413
    code = "payload_too_large"


class PreconditionRequired(DomainError):
    status = 428
    code = "precondition_required"


def request_id_of(request: Request) -> str | None:
    value = getattr(request.state, "request_id", None)
    return value if isinstance(value, str) else None


def problem_response(
    request: Request,
    *,
    status: int,
    code: str,
    detail: str,
    title: str | None = None,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
    extensions: dict[str, Any] | None = None,
) -> JSONResponse:
    lang = language_of(request)
    request_id = request_id_of(request)
    body = Problem(
        type=PROBLEM_TYPE_BASE + code,
        title=title or status_title(status, lang),
        status=status,
        detail=detail,
        instance=request.url.path,
        code=code,
        request_id=request_id,
        errors=errors or [],
        **(extensions or {}),
    )
    all_headers = dict(headers or {})
    if request_id:
        all_headers["X-Request-ID"] = request_id
    return JSONResponse(
        body.model_dump(mode="json"),
        status_code=status,
        headers=all_headers,
        media_type=PROBLEM_MEDIA_TYPE,
    )


def language_of(request: Request) -> Lang:
    return pick_language(request.headers.get("accept-language"))


async def handle_domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    lang = language_of(request)
    return problem_response(
        request,
        status=exc.status,
        code=exc.instance_code,
        detail=exc.detail_id if lang == "id" else exc.detail,
        errors=exc.errors,
        headers=exc.headers,
        extensions=exc.extensions,
    )


def _field_name(location: tuple[int | str, ...]) -> str:
    parts = [str(part) for part in location]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:] if len(parts) > 1 else parts
    # A rule across several fields (a model validator) has no single field to name.
    return ".".join(parts) or "body"


def _field_message(error: dict[str, Any]) -> str:
    message = str(error.get("msg", "invalid value"))
    # Pydantic prefixes errors from our own validators with this; the field name says enough.
    return message.removeprefix("Value error, ")


async def handle_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [FieldError(field=_field_name(tuple(e.get("loc", ()))), message=_field_message(e)) for e in exc.errors()]
    lang = language_of(request)
    count = len(errors)
    detail = (
        f"Terdapat {count} kesalahan pada masukan; lihat daftar errors."
        if lang == "id"
        else f"The request has {count} invalid field{'s' if count != 1 else ''}; see errors."
    )
    return problem_response(request, status=422, code="validation_error", detail=detail, errors=errors)


HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


async def handle_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    lang = language_of(request)
    code = HTTP_CODES.get(exc.status_code, "http_error")
    if exc.status_code == 404:
        detail = (
            f"Tidak ada sumber daya di {request.url.path}."
            if lang == "id"
            else f"There is nothing at {request.url.path}."
        )
    elif exc.status_code == 405:
        detail = (
            f"Metode {request.method} tidak tersedia untuk {request.url.path}."
            if lang == "id"
            else f"{request.method} is not allowed on {request.url.path}."
        )
    else:
        detail = str(exc.detail)
    return problem_response(request, status=exc.status_code, code=code, detail=detail, headers=dict(exc.headers or {}))


_SQLSTATE_PROBLEMS: dict[str, tuple[int, str, str, str]] = {
    "23505": (
        409,
        "duplicate",
        "A record with the same unique value exists.",
        "Data dengan nilai unik yang sama sudah ada.",
    ),
    "23503": (
        409,
        "reference_violation",
        "The record refers to, or is referred to by, another record.",
        "Data merujuk atau dirujuk oleh data lain.",
    ),
    "23514": (422, "check_violation", "A value breaks a rule of the ledger.", "Sebuah nilai melanggar aturan."),
    "23P01": (
        409,
        "exclusion_violation",
        "The record overlaps an existing one.",
        "Data tumpang tindih dengan data lain.",
    ),
    "22003": (422, "value_out_of_range", "A value is out of range.", "Sebuah nilai di luar rentang."),
    "22000": (422, "value_out_of_range", "A value cannot be stored.", "Sebuah nilai tidak dapat disimpan."),
    "22008": (422, "value_out_of_range", "A date or time is out of range.", "Tanggal atau waktu di luar rentang."),
    "40001": (
        409,
        "serialization_failure",
        "A concurrent change won; retry the request.",
        "Perubahan bersamaan menang; ulangi permintaan.",
    ),
    "40P01": (
        409,
        "deadlock_detected",
        "A concurrent change won; retry the request.",
        "Perubahan bersamaan menang; ulangi permintaan.",
    ),
}


# Unique constraints that a lost race (two requests passing the service's pre-check together) trips:
# the client gets the same code the pre-check would have given.
_CONSTRAINT_PROBLEMS: dict[str, tuple[str, str, str]] = {
    "pk_region": ("region_exists", "The region already exists.", "Wilayah sudah ada."),
    "uq_election_region_code_voting_day": (
        "election_exists",
        "The region already has an election that day.",
        "Wilayah sudah memiliki pemilihan hari itu.",
    ),
    "uq_recipient_region_code_name": (
        "recipient_exists",
        "The region already has a recipient of that name.",
        "Nama penerima sudah ada di wilayah ini.",
    ),
    "uq_agreement_number": (
        "agreement_number_exists",
        "The NPHD number is already recorded.",
        "Nomor NPHD sudah tercatat.",
    ),
    "uq_agreement_open_per_recipient": (
        "agreement_exists",
        "The recipient already has an open agreement for this election.",
        "Penerima sudah memiliki NPHD aktif untuk pemilihan ini.",
    ),
    "uq_amendment_agreement_id_number": (
        "amendment_number_exists",
        "The amendment number is already recorded.",
        "Nomor adendum sudah tercatat.",
    ),
    "uq_disbursement_sp2d_number": ("sp2d_number_exists", "The SP2D is already recorded.", "SP2D sudah tercatat."),
    "uq_disbursement_reversal_disbursement_id": (
        "already_reversed",
        "The disbursement is already reversed.",
        "Pencairan sudah dibatalkan.",
    ),
    "uq_refund_sts_number": ("sts_number_exists", "The STS is already recorded.", "STS sudah tercatat."),
}


def _driver_error(exc: Exception) -> Any:
    """The driver's own exception: SQLAlchemy wraps it, the hot paths that use asyncpg directly do not."""
    return exc.orig if isinstance(exc, DBAPIError) else exc


def violated_constraint(exc: Exception) -> str | None:
    """The name of the constraint a database error reports, if any."""
    original = _driver_error(exc)
    for candidate in (original, getattr(original, "__cause__", None)):
        name = getattr(candidate, "constraint_name", None)
        if isinstance(name, str):
            return name
    return None


def _sqlstate(exc: Exception) -> str | None:
    original = _driver_error(exc)
    for attribute in ("sqlstate", "pgcode"):
        value = getattr(original, attribute, None)
        if isinstance(value, str):
            return value
    cause = getattr(original, "__cause__", None)
    value = getattr(cause, "sqlstate", None)
    return value if isinstance(value, str) else None


async def handle_database_error(request: Request, exc: Exception) -> JSONResponse:
    """A constraint the database enforces behind the services (a lost race, say) is the client's 409/422."""
    constraint = _CONSTRAINT_PROBLEMS.get(violated_constraint(exc) or "")
    if constraint is not None:
        code, english, indonesian = constraint
        detail = indonesian if language_of(request) == "id" else english
        return problem_response(request, status=409, code=code, detail=detail)
    known = _SQLSTATE_PROBLEMS.get(_sqlstate(exc) or "")
    if known is None:
        return await handle_unexpected_error(request, exc)
    status, code, english, indonesian = known
    detail = indonesian if language_of(request) == "id" else english
    return problem_response(request, status=status, code=code, detail=detail)


async def handle_unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.error(
        "unhandled error on %s %s (request_id=%s)",
        request.method,
        request.url.path,
        request_id_of(request),
        exc_info=exc,
    )
    lang = language_of(request)
    detail = (
        "Terjadi kesalahan tak terduga; laporkan request_id ini kepada operator."
        if lang == "id"
        else "An unexpected error occurred; report this request_id to the operator."
    )
    return problem_response(request, status=500, code="internal_error", detail=detail)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, handle_domain_error)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    app.add_exception_handler(StarletteHTTPException, handle_http_error)
    app.add_exception_handler(IntegrityError, handle_database_error)
    app.add_exception_handler(DBAPIError, handle_database_error)
    app.add_exception_handler(asyncpg.PostgresError, handle_database_error)
    app.add_exception_handler(Exception, handle_unexpected_error)
