"""Domain errors and the one place that renders every error as RFC 9457.

Each problem a client can meet is a class with its status, its stable ``code`` and its text in English and
Indonesian: services raise ``AgreementNotFound(agreement_id)``, never a bare status. Each domain defines its
own in its ``errors.py``; the ones here belong to the API's shared mechanisms (keys, idempotency, ETags,
cursors, bodies). Routes list the classes they can answer (``app.core.openapi.problems``), so the OpenAPI
document names every code.
"""

import logging
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any, ClassVar, TypeVar, cast

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.core.i18n import Lang, field_message_id, pick_language, status_title
from app.core.outage import describe, in_doubt, is_outage
from app.core.routes import allowed_methods

log = logging.getLogger("hibah.errors")

PROBLEM_MEDIA_TYPE = "application/problem+json"
DEFAULT_RETRY_AFTER_S = 2
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
    """A rule of the domain or of the API that a request breaks; rendered once, in both languages.

    ``constraint`` names the database constraint that backs the rule: when two requests pass the check
    together, the loser's constraint violation is answered as this error (built with no arguments).
    """

    status: ClassVar[int] = 409
    code: ClassVar[str] = "conflict"
    constraint: ClassVar[str | None] = None
    by_constraint: ClassVar[dict[str, Callable[[], "DomainError"]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.constraint is not None:
            # Such a class is built with no arguments when the constraint, not the check, caught the request.
            DomainError.by_constraint[cls.constraint] = cast(Callable[[], DomainError], cls)

    def __init__(
        self,
        english: str,
        indonesian: str,
        *,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
        extensions: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(english)
        self.detail = english
        self.detail_id = indonesian
        self.errors = errors or []
        self.headers = headers or {}
        self.extensions = extensions or {}

    def detail_in(self, lang: Lang) -> str:
        return self.detail_id if lang == "id" else self.detail


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

    def __init__(self, english: str, indonesian: str) -> None:
        super().__init__(english, indonesian, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


# --- the shared mechanisms' own problems ---------------------------------------------------------


class MalformedCredentials(Unauthorized):
    code = "malformed_credentials"

    def __init__(self) -> None:
        super().__init__(
            "Send the API key as `Authorization: Bearer <key>`.",
            "Kirim kunci API sebagai `Authorization: Bearer <kunci>`.",
        )


class InvalidApiKey(Unauthorized):
    code = "invalid_api_key"

    def __init__(self) -> None:
        super().__init__("The API key is unknown or revoked.", "Kunci API tidak dikenal atau sudah dicabut.")


class ApiKeyRequired(Unauthorized):
    code = "api_key_required"

    def __init__(self) -> None:
        super().__init__("This operation needs an API key.", "Operasi ini memerlukan kunci API.")


class RoleNotAllowed(Forbidden):
    code = "role_not_allowed"

    def __init__(self, role: str, allowed: str) -> None:
        super().__init__(
            f"The {role} role may not do this; it needs one of: {allowed}.",
            f"Peran {role} tidak boleh melakukan ini; perlu salah satu dari: {allowed}.",
        )


class EtagMismatch(DomainError):
    status = 412
    code = "etag_mismatch"

    def __init__(self, current: str) -> None:
        super().__init__(
            f"The resource changed since you read it (now {current}); read it again and retry.",
            f"Sumber daya sudah berubah sejak dibaca (sekarang {current}); baca ulang lalu coba lagi.",
        )


class IdempotencyKeyRequired(DomainError):
    status = 428
    code = "idempotency_key_required"

    def __init__(self) -> None:
        super().__init__(
            "This request moves money: send an Idempotency-Key header so a retry cannot pay twice.",
            "Permintaan ini memindahkan uang: kirim header Idempotency-Key agar pengulangan tidak membayar dua kali.",
        )


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"

    def __init__(self) -> None:
        super().__init__(
            "This Idempotency-Key was used with another request; use a new key for a new request.",
            "Idempotency-Key ini sudah dipakai untuk permintaan lain; gunakan kunci baru.",
        )


class InvalidIdempotencyKey(InvalidInput):
    code = "invalid_idempotency_key"

    def __init__(self, max_length: int) -> None:
        super().__init__(
            f"Idempotency-Key must be 1-{max_length} printable characters.",
            f"Idempotency-Key harus 1-{max_length} karakter yang dapat dicetak.",
            errors=[FieldError(field="Idempotency-Key", message=f"1-{max_length} printable characters")],
        )


class InvalidCursor(InvalidInput):
    code = "invalid_cursor"

    def __init__(self) -> None:
        super().__init__(
            "The cursor is not one this API issued; start again without it.",
            "Cursor tidak dikenal; mulai lagi tanpa cursor.",
            errors=[FieldError(field="cursor", message="not a cursor issued by this API")],
        )


class PayloadTooLarge(DomainError):
    status = 413
    code = "payload_too_large"

    def __init__(self, limit: int) -> None:
        super().__init__(f"The body is larger than {limit} bytes.", f"Badan permintaan lebih besar dari {limit} bita.")


class BodyTooSlow(DomainError):
    """A request's body stopped arriving, or arrived slower than the settings allow (app/core/middleware.py):
    nothing of the request was written, and the connection is closed after this answer."""

    status = 408
    code = "request_timeout"

    def __init__(self, timeout_s: float, min_bytes_per_s: int) -> None:
        rate_en = f", or averaged under {min_bytes_per_s} bytes a second" if min_bytes_per_s else ""
        rate_id = f", atau rata-rata di bawah {min_bytes_per_s} bita per detik" if min_bytes_per_s else ""
        super().__init__(
            f"The request body stopped arriving for {timeout_s:g} s{rate_en}; nothing was written."
            " Send it again at a steady pace.",
            f"Badan permintaan berhenti terkirim selama {timeout_s:g} detik{rate_id}; tidak ada yang tersimpan."
            " Kirim ulang dengan laju yang stabil.",
            headers={"Connection": "close"},
        )


class UnsupportedMediaType(DomainError):
    status = 415
    code = "unsupported_media_type"

    def __init__(self, accepted: str) -> None:
        super().__init__(f"Send the body as {accepted}.", f"Kirim badan permintaan sebagai {accepted}.")


class BodyUnreadable(DomainError):
    """A body the server cannot even parse (bad UTF-8, JSON nested past the parser's depth): FastAPI's own 400."""

    status = 400
    code = "bad_request"


class RequestInvalid(InvalidInput):
    """What FastAPI's own validation finds (types, patterns, required fields): the code of every 422 of input."""

    code = "validation_error"


class Invalid(ValueError):
    """What a request model's validator raises: its ``errors[].message`` in both languages."""

    def __init__(self, english: str, indonesian: str) -> None:
        super().__init__(english)
        self.english = english
        self.indonesian = indonesian

    def in_language(self, lang: Lang) -> str:
        return self.indonesian if lang == "id" else self.english


class InputRule(Invalid):
    """An ``Invalid`` for a rule no JSON Schema in the document can state (fields that depend on each other):
    a problem made only of these has the code ``inconsistent_input``, not ``validation_error``."""


class InconsistentInput(InvalidInput):
    """Every field has its documented form, but together they break a rule of the input (``InputRule``)."""

    code = "inconsistent_input"


class FieldsCannotBeEmptied(InvalidInput):
    """A PATCH sends null for a field that may be left out but never emptied."""

    code = "field_cannot_be_emptied"

    def __init__(self, fields: Sequence[str]) -> None:
        names = ", ".join(fields)
        super().__init__(
            f"{names} cannot be emptied.",
            f"{names} tidak boleh dikosongkan.",
            errors=[FieldError(field=name, message="cannot be null") for name in fields],
        )


class DateTooEarly(InvalidInput):
    """A date before the one the rule counts from; each subclass names its field and that moment."""

    field: ClassVar[str]
    before_en: ClassVar[str]
    before_id: ClassVar[str]

    def __init__(self, value: date, limit: date) -> None:
        super().__init__(
            f"{self.field} {value} is before {self.before_en} ({limit}).",
            f"{self.field} {value} sebelum {self.before_id} ({limit}).",
            errors=[FieldError(field=self.field, message=f"must not be before {limit}")],
        )


class CorsNotAllowed(Forbidden):
    """A browser asked (preflight) to write from an origin that is not among ``HIBAH_CORS_WRITE_ORIGINS``."""

    code = "cors_origin_not_allowed"

    def __init__(self, origin: str) -> None:
        super().__init__(
            f"The origin {origin} may read this API but not write to it, or asked for a method it does not serve.",
            f"Asal {origin} boleh membaca API ini tetapi tidak boleh mengubah data,"
            " atau meminta metode yang tidak ada.",
        )


class DatabaseUnavailable(DomainError):
    """The database cannot be reached or dropped the connection (restart, failover, outage): nothing of the
    request was written; the same request, sent again after ``Retry-After``, is safe (money writes replay by
    their Idempotency-Key)."""

    status = 503
    code = "database_unavailable"

    def __init__(self, retry_after_s: int = DEFAULT_RETRY_AFTER_S, *, in_doubt: bool = False) -> None:
        if in_doubt:  # the connection was lost during the COMMIT itself (app.core.outage.CommitInDoubt)
            english = (
                "The connection to the database was lost while the request was being committed: it may have been"
                " written or not. Send it again with the same Idempotency-Key after the Retry-After seconds (a kept"
                " write is replayed, not repeated); without a key, look for it before sending it again."
            )
            indonesian = (
                "Koneksi ke basis data terputus saat permintaan sedang disimpan: permintaan mungkin tersimpan,"
                " mungkin juga tidak. Kirim ulang dengan Idempotency-Key yang sama setelah Retry-After detik (yang"
                " sudah tersimpan diputar ulang, tidak diulang); tanpa kunci, periksa dahulu sebelum mengirim ulang."
            )
        else:
            english = (
                "The database is unavailable for a moment; nothing was written. Retry after the Retry-After seconds."
            )
            indonesian = "Basis data sedang tidak tersedia; tidak ada yang tersimpan. Ulangi setelah Retry-After detik."
        super().__init__(english, indonesian, headers={"Retry-After": str(retry_after_s)})


class InternalError(DomainError):
    status = 500
    code = "internal_error"


# --- what a dependency can answer, for the OpenAPI document --------------------------------------

ANSWERS = "hibah_answers"
F = TypeVar("F", bound=Callable[..., Any])


def answers(*errors: type[DomainError]) -> Callable[[F], F]:
    """Mark a dependency with the problems it can raise; every route that uses it lists them."""

    def mark(function: F) -> F:
        setattr(function, ANSWERS, errors)
        return function

    return mark


def answered_by(call: object) -> tuple[type[DomainError], ...]:
    found: tuple[type[DomainError], ...] = getattr(call, ANSWERS, ())
    return found


# --- rendering -----------------------------------------------------------------------------------


def request_id_of(request: Request) -> str | None:
    value = getattr(request.state, "request_id", None)
    return value if isinstance(value, str) else None


def language_of(request: Request) -> Lang:
    return pick_language(request.headers.get("accept-language"))


def problem_response(
    request: Request,
    *,
    status: int,
    code: str,
    detail: str,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
    extensions: dict[str, Any] | None = None,
) -> JSONResponse:
    request_id = request_id_of(request)
    body = Problem(
        type=PROBLEM_TYPE_BASE + code,
        title=status_title(status, language_of(request)),
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
        body.model_dump(mode="json"), status_code=status, headers=all_headers, media_type=PROBLEM_MEDIA_TYPE
    )


def render(request: Request, error: DomainError) -> JSONResponse:
    return problem_response(
        request,
        status=error.status,
        code=error.code,
        detail=error.detail_in(language_of(request)),
        errors=error.errors,
        headers=error.headers,
        extensions=error.extensions,
    )


async def handle_domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    return render(request, exc)


def _field_name(location: tuple[int | str, ...]) -> str:
    parts = [str(part) for part in location]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:] if len(parts) > 1 else parts
    # A rule across several fields (a model validator) has no single field to name.
    return ".".join(parts) or "body"


def _field_message(error: dict[str, Any], lang: Lang) -> str:
    context: dict[str, Any] = error.get("ctx") or {}
    raised = context.get("error")
    if isinstance(raised, Invalid):
        return raised.in_language(lang)
    if lang == "id":
        return field_message_id(str(error.get("type", "")), context)
    message = str(error.get("msg", "invalid value"))
    # Pydantic prefixes errors from our own validators with this; the field name says enough.
    return message.removeprefix("Value error, ")


async def handle_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    lang = language_of(request)
    found = exc.errors()
    errors = [FieldError(field=_field_name(tuple(e.get("loc", ()))), message=_field_message(e, lang)) for e in found]
    count = len(errors)
    plural = "s" if count != 1 else ""
    # Fields each of their documented form that together break a rule the document cannot state get their own
    # code: `validation_error` always means the request is not what the OpenAPI document describes.
    rules_only = all(isinstance((e.get("ctx") or {}).get("error"), InputRule) for e in found)
    kind = InconsistentInput if found and rules_only else RequestInvalid
    problem = kind(
        f"The request has {count} invalid field{plural}; see errors.",
        f"Terdapat {count} kesalahan pada masukan; lihat daftar errors.",
        errors=errors,
    )
    return render(request, problem)


HTTP_CODES = {
    400: BodyUnreadable.code,
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
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        # Starlette names the methods of one route; the path may be served by several.
        headers["Allow"] = ", ".join(allowed_methods(request.app.router.routes, request.scope))
    return problem_response(request, status=exc.status_code, code=code, detail=detail, headers=headers)


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
"""Rules the database holds behind the services, answered generically if a request ever reaches one."""


def _driver_error(exc: Exception) -> Any:
    """The driver's own exception: SQLAlchemy wraps it; statements sent on the driver raise it bare."""
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


def error_for_constraint(exc: Exception) -> DomainError | None:
    """The domain error a lost race on a unique constraint stands for, as the service's check would say it."""
    known = DomainError.by_constraint.get(violated_constraint(exc) or "")
    return known() if known is not None else None


def retry_after_of(request: Request) -> int:
    settings = getattr(request.app.state, "settings", None)
    return int(getattr(settings, "retry_after_s", DEFAULT_RETRY_AFTER_S))


def render_outage(request: Request, exc: BaseException) -> JSONResponse:
    """An expected outage: one WARNING line, no traceback, and a 503 the client can retry on this connection."""
    log.warning(
        "database unavailable on %s %s (request_id=%s): %s",
        request.method,
        request.url.path,
        request_id_of(request),
        describe(exc),
    )
    return render(request, DatabaseUnavailable(retry_after_of(request), in_doubt=in_doubt(exc)))


async def handle_connection_error(request: Request, exc: Exception) -> JSONResponse:
    """Errors of the network and of the driver's connection (not SQL errors): an outage is a 503, anything else
    is a bug, answered here (not re-raised to the server, which would drop the keep-alive connection)."""
    if is_outage(exc):
        return render_outage(request, exc)
    return await handle_unexpected_error(request, exc)


async def handle_database_error(request: Request, exc: Exception) -> JSONResponse:
    """A constraint the database enforces behind the services (a lost race, say) is the client's 409/422."""
    if is_outage(exc):
        return render_outage(request, exc)
    raced = error_for_constraint(exc)
    if raced is not None:
        return render(request, raced)
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
    problem = InternalError(
        "An unexpected error occurred; report this request_id to the operator.",
        "Terjadi kesalahan tak terduga; laporkan request_id ini kepada operator.",
    )
    return render(request, problem)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, handle_domain_error)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    app.add_exception_handler(StarletteHTTPException, handle_http_error)
    app.add_exception_handler(DBAPIError, handle_database_error)
    app.add_exception_handler(asyncpg.PostgresError, handle_database_error)
    # Handled by the app, not by Starlette's last-resort handler (which answers, then re-raises to the server).
    for connection_error in (OSError, asyncpg.InterfaceError, PoolTimeout):
        app.add_exception_handler(connection_error, handle_connection_error)
    app.add_exception_handler(Exception, handle_unexpected_error)
