"""The audit log: auditors and admins read it and check that nothing in it was altered."""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Query

from app.audit import service
from app.audit.schemas import AuditEventOut, Verification
from app.core.auth import AuditorActor
from app.core.deps import Tx
from app.core.http import domain_router
from app.core.pagination import Page, PageRequest, convert_page, page_request
from app.core.types import DB_ID_MAX, NO_NUL

router = domain_router("audit")
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 12, 31, tzinfo=UTC)
Filter = Annotated[str | None, Query(max_length=128, pattern=NO_NUL)]


@router.get("/audit/events", response_model=Page[AuditEventOut])
async def list_events(
    tx: Tx,
    actor: AuditorActor,
    paging: Annotated[PageRequest, Depends(page_request)],
    entity: Filter = None,
    entity_id: Filter = None,
    action: Filter = None,
    actor_key_id: Annotated[int | None, Query(ge=1, le=DB_ID_MAX)] = None,
    since: Annotated[datetime | None, Query(ge=EARLIEST, le=LATEST)] = None,
    until: Annotated[datetime | None, Query(ge=EARLIEST, le=LATEST)] = None,
) -> Page[AuditEventOut]:
    """The audit log (hash-chained, append-only), filtered by entity, action, key or time."""
    page = await service.list_events(
        tx,
        paging,
        entity=entity,
        entity_id=entity_id,
        action=action,
        actor_key_id=actor_key_id,
        since=since,
        until=until,
    )
    return convert_page(page, AuditEventOut)


@router.get(
    "/audit/verify",
    response_model=Verification,
    description=(
        "Recompute every event's hash and link from the first event (`first_bad_seq` names the first break),"
        " and every agreement's and report's running totals from their entries (`ledger.first_mismatch`)."
    ),
)
async def verify(tx: Tx, actor: AuditorActor) -> Verification:
    return await service.verify(tx)
