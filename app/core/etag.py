"""ETags from row versions, and the ``If-Match`` check that turns a stale write into a 412."""

import hashlib
from typing import Protocol

from app.core.errors import EtagMismatch


class Versioned(Protocol):
    """A row, a read model or a locked row's terms: anything with an id and a version."""

    @property
    def id(self) -> int | None: ...
    @property
    def version(self) -> int: ...


def body_etag(body: bytes) -> str:
    """The ETag of an answer without a version of its own (a list, a summary): a digest of what it says."""
    return f'"{hashlib.sha256(body).hexdigest()[:32]}"'


def etag_of(entity: str, key: object, version: int) -> str:
    return f'"{entity}-{key}-v{version}"'


def check_if_match(if_match: str | None, current: str) -> None:
    """No header means the client accepts last-writer-wins; a header that no longer matches is a 412."""
    if if_match is None:
        return
    candidates = [tag.strip().removeprefix("W/") for tag in if_match.split(",")]
    if "*" in candidates or current in candidates:
        return
    raise EtagMismatch(current)
