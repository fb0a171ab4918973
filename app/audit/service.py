"""Reading and verifying the audit chain."""

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import col

from app.audit.schemas import ChainCheck, Verification
from app.core.audit import GENESIS_HASH, AuditEvent, event_digest, hashed_fields
from app.core.db import Transaction
from app.core.pagination import Page, PageRequest, paginate_by_id
from app.ledger import service as ledger

VERIFY_BATCH = 5000


async def list_events(
    tx: Transaction,
    page: PageRequest,
    *,
    entity: str | None = None,
    entity_id: str | None = None,
    action: str | None = None,
    actor_key_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Page[AuditEvent]:
    statement = sa.select(AuditEvent)
    for column, value in (
        (col(AuditEvent.entity), entity),
        (col(AuditEvent.entity_id), entity_id),
        (col(AuditEvent.action), action),
        (col(AuditEvent.actor_key_id), actor_key_id),
    ):
        if value is not None:
            statement = statement.where(column == value)
    if since is not None:
        statement = statement.where(col(AuditEvent.at) >= since)
    if until is not None:
        statement = statement.where(col(AuditEvent.at) < until)
    return await paginate_by_id(tx.session, statement, col(AuditEvent.seq), page)


def _holds(event: AuditEvent, expected_seq: int, prev_hash: str) -> bool:
    if event.seq != expected_seq or event.prev_hash != prev_hash:
        return False
    return event.hash == event_digest(prev_hash, hashed_fields(event.seq, event.at, event, event.request_id))


async def verify(tx: Transaction) -> Verification:
    """The hash chain walked from its first event, and every running total recomputed from its entries."""
    chain = await verify_chain(tx)
    return Verification(**chain.model_dump(), ledger=await ledger.reconcile(tx))


async def verify_chain(tx: Transaction) -> ChainCheck:
    """Walk the chain from the start, in batches, recomputing every hash and link."""
    prev_hash, expected_seq, checked = GENESIS_HASH, 1, 0
    while True:
        statement = (
            sa.select(AuditEvent)
            .where(col(AuditEvent.seq) >= expected_seq)
            .order_by(col(AuditEvent.seq))
            .limit(VERIFY_BATCH)
        )
        batch = (await tx.session.execute(statement)).scalars().all()
        for event in batch:
            checked += 1
            if not _holds(event, expected_seq, prev_hash):
                return ChainCheck(valid=False, events=checked, head_hash=None, first_bad_seq=expected_seq)
            prev_hash, expected_seq = event.hash, expected_seq + 1
        tx.session.expunge_all()
        if len(batch) < VERIFY_BATCH:
            head = prev_hash if checked else None
            return ChainCheck(valid=True, events=checked, head_hash=head, first_bad_seq=None)
