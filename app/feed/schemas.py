"""Bodies of the change feed."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from app.core.visibility import WITHHELD_NOTE


class Change(BaseModel):
    seq: int = Field(description="The audit chain's sequence number: commit order, one entry per number, no gaps.")
    at: datetime = Field(description="When the change was made.")
    action: str = Field(description="What was done, e.g. `disbursement.create`, `usage_report.submit`.")
    entity: str = Field(description="The kind of record it was done to, e.g. `disbursement`.")
    entity_id: str = Field(description="The record's id (a region's code for regions).")
    data: dict[str, Any] | None = Field(
        description=(
            "What the change recorded (the audit event's payload). Payees, document numbers and grant account"
            f" numbers and holders are {WITHHELD_NOTE} The whole of it is null for a usage report's or item's change"
            " made before the report was handed in (or after it was returned), and for API keys' changes, unless"
            " the reader may see those (the report's recipient, finance, auditor, admin; admin and auditor for keys)."
        )
    )


class ChangePage(BaseModel):
    data: list[Change] = Field(description="Entries after `after`, in `seq` order, at most `limit`.")
    next_cursor: str = Field(
        description=(
            "Always given: the `seq` of the last entry, or `after` itself when there was none. Pass it as `after`"
            " (with `wait`) to follow the feed; fewer entries than `limit` means you are at its head."
        ),
        pattern="^[0-9]+$",
    )
