"""Small HTTP helpers routers share: the If-Match header, ETag-carrying responses, raw bodies."""

from typing import Annotated

from fastapi import Header, Request, Response
from pydantic import BaseModel

from app.core.errors import DomainError, PayloadTooLarge, Problem

IfMatch = Annotated[
    str | None,
    Header(alias="If-Match", description="The ETag you read; a stale one is refused with 412."),
]


PROBLEMS: dict[int | str, dict[str, object]] = {
    status: {"model": Problem, "content": {"application/problem+json": {}}} for status in (401, 403, 404, 409, 412, 422)
}
"""The problem responses most operations can give, so the OpenAPI document lists them."""


class UnsupportedMediaType(DomainError):
    status = 415
    code = "unsupported_media_type"


def media_type_of(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def require_media_type(request: Request, *accepted: str) -> str:
    media_type = media_type_of(request)
    if media_type not in accepted:
        listed = " or ".join(accepted)
        raise UnsupportedMediaType(f"Send the body as {listed}.", f"Kirim badan permintaan sebagai {listed}.")
    return media_type


def with_etag(body: BaseModel, etag: str, *, status_code: int = 200) -> Response:
    # pydantic-core writes the JSON directly: no dict, no second encoder.
    return Response(
        body.model_dump_json(), status_code=status_code, headers={"ETag": etag}, media_type="application/json"
    )


async def read_limited_body(request: Request, limit: int) -> bytes:
    """The body, refusing it as soon as it passes ``limit`` bytes instead of after holding it whole."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(
                f"The body is larger than {limit} bytes.",
                f"Badan permintaan lebih besar dari {limit} bita.",
            )
        chunks.append(chunk)
    return b"".join(chunks)
