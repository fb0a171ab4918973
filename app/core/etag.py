"""ETags from row versions, and the ``If-Match`` check that turns a stale write into a 412."""

from app.core.errors import PreconditionFailed


def etag_of(entity: str, key: object, version: int) -> str:
    return f'"{entity}-{key}-v{version}"'


def check_if_match(if_match: str | None, current: str) -> None:
    """No header means the client accepts last-writer-wins; a header that no longer matches is a 412."""
    if if_match is None:
        return
    candidates = [tag.strip().removeprefix("W/") for tag in if_match.split(",")]
    if "*" in candidates or current in candidates:
        return
    raise PreconditionFailed(
        f"The resource changed since you read it (now {current}); read it again and retry.",
        f"Sumber daya sudah berubah sejak dibaca (sekarang {current}); baca ulang lalu coba lagi.",
    )
