"""The audit log: auditors and admins read it and check that nothing in it was altered."""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Query

from app.audit import service
from app.audit.schemas import AuditEventOut, CheckpointOut, PublicKeyOut, Verification
from app.core.auth import AdminActor, AuditorActor
from app.core.deps import AppSettings, Tx
from app.core.http import domain_router
from app.core.idempotency import OptionalIdempotency
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
        "Recompute every event's hash and link from the first event, hold the chain against every sealed"
        " checkpoint (events lost or altered up to a checkpoint, a signature that fails: `checkpoints.problems`;"
        " `first_bad_seq` names the first break), and recompute every agreement's and report's running totals"
        " from their entries (`ledger.first_mismatch`)."
    ),
)
async def verify(tx: Tx, settings: AppSettings, actor: AuditorActor) -> Verification:
    return await service.verify(tx, settings)


@router.post(
    "/audit/checkpoints",
    response_model=CheckpointOut,
    status_code=201,
    dependencies=[OptionalIdempotency],
    description=(
        "Seal the chain's head as committed now: its `seq` and `hash` and the time, signed with the instance's"
        " Ed25519 key (the CLI's `hibah audit checkpoint` does the same, for cron). Publish or copy checkpoints"
        " elsewhere: a chain that later lacks a sealed head is caught by `/audit/verify` and by any reader."
    ),
)
async def create_checkpoint(tx: Tx, settings: AppSettings, actor: AdminActor) -> CheckpointOut:
    return CheckpointOut.of(await service.make_checkpoint(tx, settings, actor))


@router.get("/audit/checkpoints", response_model=Page[CheckpointOut])
async def list_checkpoints(tx: Tx, paging: Annotated[PageRequest, Depends(page_request)]) -> Page[CheckpointOut]:
    """Every sealed checkpoint, oldest first, with its signed message and signature (README: sealed checkpoints)."""
    page = await service.list_checkpoints(tx, paging)
    return Page[CheckpointOut](data=[CheckpointOut.of(row) for row in page.data], next_cursor=page.next_cursor)


@router.get("/audit/public-key", response_model=PublicKeyOut)
async def public_key(tx: Tx, settings: AppSettings) -> PublicKeyOut:
    """The instance's Ed25519 public key, which checks every checkpoint's signature. Pin it: a checkpoint signed
    by another key proves nothing."""
    return await service.public_key(tx, settings)
