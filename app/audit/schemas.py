"""Bodies of the audit-log endpoints."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.ledger.schemas import LedgerCheck


class AuditEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    seq: int
    at: datetime
    actor_key_id: int | None
    actor_role: str | None = Field(
        description="admin, finance, recipient or auditor; admin with no key is the operator's CLI."
    )
    action: str
    entity: str
    entity_id: str
    request_id: str | None
    payload: dict[str, Any]
    prev_hash: str
    hash: str


class ChainCheck(BaseModel):
    valid: bool = Field(description="The hash chain holds (see `ledger` for the running totals).")
    events: int = Field(description="Events checked.")
    head_hash: str | None = Field(description="Hash of the last event: publish it to anchor the log.")
    first_bad_seq: int | None = Field(description="The first event whose hash or link does not hold.")


class Verification(ChainCheck):
    ledger: LedgerCheck = Field(description="Every agreement's and report's running totals against their entries.")
