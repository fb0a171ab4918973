"""Oversight's problems."""

from app.core.errors import DEFAULT_RETRY_AFTER_S, DomainError


class ExportBusy(DomainError):
    """Every export slot of this worker is streaming a file: refused before the first byte, never cut off later."""

    status = 503
    code = "export_busy"

    def __init__(self, retry_after_s: int = DEFAULT_RETRY_AFTER_S) -> None:
        super().__init__(
            "Every export slot is busy streaming a file; retry after the Retry-After seconds.",
            "Semua slot ekspor sedang mengirim berkas; ulangi setelah Retry-After detik.",
            headers={"Retry-After": str(retry_after_s)},
        )
