"""ETags from row versions, and the ``If-Match`` check that turns a stale write into a 412."""

from typing import Protocol

from app.core.errors import EtagMismatch


class Versioned(Protocol):
    """A row, a read model or a locked row's terms: anything with an id and a version."""

    @property
    def id(self) -> int | None: ...
    @property
    def version(self) -> int: ...


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
