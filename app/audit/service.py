"""Reading and verifying the audit chain; sealing its head."""

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlmodel import col

from app.audit import repository
from app.audit.models import AuditCheckpoint
from app.audit.schemas import (
    ChainCheck,
    CheckpointCheck,
    CheckpointProblem,
    CheckpointProblemKind,
    PublicKeyOut,
    Verification,
)
from app.core import seal
from app.core.actor import Actor
from app.core.audit import GENESIS_HASH, AuditEvent, event_digest, hashed_fields
from app.core.config import Settings
from app.core.db import Transaction
from app.core.models import utcnow
from app.core.pagination import Page, PageRequest, paginate_by_id
from app.ledger import service as ledger

VERIFY_BATCH = 5000
PROBLEMS_SHOWN = 100


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


# --- the signing key and the checkpoints ---------------------------------------------------------


@dataclass(frozen=True)
class SigningKey:
    key: Ed25519PrivateKey
    source: str
    """``setting`` or ``database``."""

    @property
    def public(self) -> bytes:
        return seal.public_bytes(self.key)


async def signing_key(tx: Transaction, settings: Settings) -> SigningKey:
    """The setting's key if there is one, else the one kept in the database (made on first use)."""
    if settings.audit_signing_key is not None:
        return SigningKey(seal.parse_private_key(settings.audit_signing_key.get_secret_value()), "setting")
    return SigningKey(seal.key_from_seed(await repository.stored_seed(tx.sql)), "database")


async def public_key(tx: Transaction, settings: Settings) -> PublicKeyOut:
    signer = await signing_key(tx, settings)
    public = signer.public
    return PublicKeyOut(
        key_id=seal.key_id(public),
        public_key=base64.b64encode(public).decode(),
        public_key_hex=public.hex(),
        pem=seal.public_pem(public),
        source=signer.source,
    )


async def make_checkpoint(tx: Transaction, settings: Settings, actor: Actor) -> AuditCheckpoint:
    """Seal the chain's head as committed now; this checkpoint's own audit event comes after it."""
    signer = await signing_key(tx, settings)
    seq, head_hash = await repository.head(tx.sql) or (0, GENESIS_HASH)
    at = seal.checkpoint_time(utcnow())
    signature = signer.key.sign(seal.signed_message(seq, head_hash, at))
    checkpoint = AuditCheckpoint(
        seq=seq, hash=head_hash, at=at, public_key=signer.public, signature=signature, actor_key_id=actor.key_id
    )
    tx.session.add(checkpoint)
    await tx.session.flush()
    tx.record(
        actor,
        action="audit_checkpoint.create",
        entity="audit_checkpoint",
        entity_id=checkpoint.id,
        payload={
            "seq": seq,
            "hash": head_hash,
            "at": at,
            "key_id": seal.key_id(signer.public),
            "signature": base64.b64encode(signature).decode(),
        },
    )
    return checkpoint


async def list_checkpoints(tx: Transaction, page: PageRequest) -> Page[AuditCheckpoint]:
    return await paginate_by_id(tx.session, sa.select(AuditCheckpoint), col(AuditCheckpoint.id), page)


# --- verification --------------------------------------------------------------------------------


def _holds(event: AuditEvent, expected_seq: int, prev_hash: str) -> bool:
    if event.seq != expected_seq or event.prev_hash != prev_hash:
        return False
    return event.hash == event_digest(prev_hash, hashed_fields(event.seq, event.at, event, event.request_id))


async def verify(tx: Transaction, settings: Settings) -> Verification:
    """The hash chain walked from its first event, held against every sealed checkpoint, and every running total
    recomputed from its entries."""
    # Rows, not entities: the chain walk below empties the session between its batches.
    sealed = (await tx.session.execute(sa.select(*SEALED).order_by(col(AuditCheckpoint.seq)))).all()
    chain, hashes = await verify_chain(tx, {checkpoint.seq for checkpoint in sealed})
    public = (await signing_key(tx, settings)).public
    checks = check_checkpoints(sealed, chain, hashes, public)
    bad_seqs = [seq for seq in (chain.first_bad_seq, _first_bad_sealed_seq(checks.problems, chain)) if seq is not None]
    return Verification(
        valid=chain.valid and checks.valid,
        events=chain.events,
        head_hash=chain.head_hash,
        first_bad_seq=min(bad_seqs, default=None),
        checkpoints=checks,
        ledger=await ledger.reconcile(tx),
    )


SEALED = (
    col(AuditCheckpoint.id),
    col(AuditCheckpoint.seq),
    col(AuditCheckpoint.hash),
    col(AuditCheckpoint.at),
    col(AuditCheckpoint.public_key),
    col(AuditCheckpoint.signature),
)


def check_checkpoints(
    sealed: Sequence[Any],
    chain: ChainCheck,
    hashes: dict[int, str],
    public: bytes,
) -> CheckpointCheck:
    """Each checkpoint's signature under the instance's key, and its head against the chain walked."""
    problems: list[CheckpointProblem] = []
    confirmed, latest = 0, None
    for checkpoint in sealed:
        kind: CheckpointProblemKind | None = None
        message = seal.signed_message(checkpoint.seq, checkpoint.hash, checkpoint.at)
        if checkpoint.public_key != public or not seal.signature_holds(public, checkpoint.signature, message):
            kind = CheckpointProblemKind.bad_signature
        elif checkpoint.seq > 0 and checkpoint.seq not in hashes:
            # The chain ends (or breaks) before the sealed head. A break the walk found itself is named there.
            kind = CheckpointProblemKind.missing_events if chain.valid else None
        elif checkpoint.seq > 0 and hashes[checkpoint.seq] != checkpoint.hash:
            kind = CheckpointProblemKind.altered_events
        if kind is not None:
            problems.append(CheckpointProblem(checkpoint_id=checkpoint.id, seq=checkpoint.seq, problem=kind))
        elif checkpoint.seq == 0 or checkpoint.seq in hashes:
            confirmed += 1
            latest = checkpoint.seq
    return CheckpointCheck(
        valid=not problems,
        checked=len(sealed),
        confirmed=confirmed,
        latest_confirmed_seq=latest,
        problems=problems[:PROBLEMS_SHOWN],
    )


def _first_bad_sealed_seq(problems: list[CheckpointProblem], chain: ChainCheck) -> int | None:
    """Events lost behind a checkpoint: the first missing seq is the one after the chain's end; altered (and
    re-chained) ones: the sealed seq is the first that provably differs."""
    seqs = [
        chain.events + 1 if problem.problem == CheckpointProblemKind.missing_events else problem.seq
        for problem in problems
        if problem.problem != CheckpointProblemKind.bad_signature
    ]
    return min(seqs, default=None)


async def verify_chain(tx: Transaction, wanted: set[int] | None = None) -> tuple[ChainCheck, dict[int, str]]:
    """Walk the chain from the start, in batches, recomputing every hash and link; the hashes of the ``wanted``
    seqs that hold are returned beside the check."""
    wanted = wanted or set()
    hashes: dict[int, str] = {}
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
                return ChainCheck(valid=False, events=checked, head_hash=None, first_bad_seq=expected_seq), hashes
            if event.seq in wanted:
                hashes[event.seq] = event.hash
            prev_hash, expected_seq = event.hash, expected_seq + 1
        tx.session.expunge_all()
        if len(batch) < VERIFY_BATCH:
            head = prev_hash if checked else None
            return ChainCheck(valid=True, events=checked, head_hash=head, first_bad_seq=None), hashes
