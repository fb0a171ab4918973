"""HTTP pieces the routers share: the route class, the If-Match header, media types, raw bodies."""

from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response
from fastapi.routing import APIRoute
from starlette.convertors import StringConvertor, register_url_convertor

from app.core.db import money_transaction
from app.core.errors import PayloadTooLarge, UnsupportedMediaType


class RegionCodeConvertor(StringConvertor):
    """A region code starts with a digit (``35``, ``35.74``), a fixed path segment with a letter: so
    ``/regions/{code:region_code}`` never swallows ``/regions/import``. The code's full pattern is checked
    by the parameter (422); ids use Starlette's ``int`` for the same reason (``/keys/me``)."""

    regex = "[0-9][^/]*"


register_url_convertor("region_code", RegionCodeConvertor())


class ExportFileConvertor(StringConvertor):
    """An export file ends in ``.csv`` or ``.xlsx``: so ``/exports/{name:export_file}`` never swallows
    ``/exports/datapackage.json``. The name's full pattern is checked by the parameter (422)."""

    regex = r"[^/]+\.(?:csv|xlsx)"


register_url_convertor("export_file", ExportFileConvertor())

IfMatch = Annotated[
    str | None,
    Header(alias="If-Match", description="The ETag you read; a stale one is refused with 412."),
]

KEEPS_ANSWER = "hibah_keeps_answer"
"""request.state attribute: the idempotency reservation that waits for this request's answer."""


class HibahRoute(APIRoute):
    """An APIRoute that keeps an idempotent create's answer, once FastAPI has checked it against the route's
    ``response_model`` and serialised it, in the request's still open transaction (see app/core/idempotency.py)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handle_and_keep(request: Request) -> Response:
            response = await handle(request)
            reservation = getattr(request.state, KEEPS_ANSWER, None)
            if reservation is not None and response.status_code < 300:
                reservation.keep(response)
            return response

        return handle_and_keep


ROUTE_TRANSACTION = "hibah_route_transaction"
"""request.state attribute: the transaction a ``MoneyRoute`` opened for its request."""


class MoneyRoute(HibahRoute):
    """A money write (a payment, reversal, refund or report review): its transaction is opened here, on the
    ledger pool (``core.db.money_transaction``), around everything FastAPI does for the request, dependencies
    included, and committed once the answer is kept, before it is sent. ``core.idempotency.money_writer`` hands
    it to the handler with the writer; ``core.deps.Tx`` hands out the same one, never a second."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handle_in_transaction(request: Request) -> Response:
            state = request.app.state
            request_id = getattr(request.state, "request_id", None)
            pool, wait_s = state.ledger_pool, state.settings.db_pool_timeout_s
            async with money_transaction(pool, request_id=request_id, wait_s=wait_s) as tx:
                setattr(request.state, ROUTE_TRANSACTION, tx)
                return await handle(request)

        return handle_in_transaction


def validators(etag: str, modified: datetime) -> dict[str, str]:
    """The ``ETag`` and ``Last-Modified`` (an HTTP date, RFC 9110 §5.6.7) of a single resource."""
    return {
        "ETag": etag,
        "Last-Modified": format_datetime(modified.astimezone(UTC).replace(microsecond=0), usegmt=True),
    }


def domain_router(tag: str) -> APIRouter:
    return APIRouter(tags=[tag], route_class=HibahRoute)


def media_type_of(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def require_media_type(request: Request, *accepted: str) -> str:
    media_type = media_type_of(request)
    if media_type not in accepted:
        raise UnsupportedMediaType(" or ".join(accepted))
    return media_type


async def read_limited_body(request: Request, limit: int) -> bytes:
    """The body, refusing it as soon as it passes ``limit`` bytes instead of after holding it whole."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(limit)
        chunks.append(chunk)
    return b"".join(chunks)
