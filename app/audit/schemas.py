"""Bodies of the audit-log endpoints."""

import base64
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_serializer

from app.core.seal import key_id, signed_message
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


class CheckpointOut(BaseModel):
    """A sealed checkpoint: the chain's head at a moment, signed with the instance's Ed25519 key."""

    id: int
    seq: int = Field(description="The head's seq when sealed (0: the chain was empty).")
    hash: str = Field(description="The head event's hash (64 zeros for an empty chain).")
    at: datetime = Field(description="When it was sealed, UTC, whole seconds.")
    message: str = Field(
        description='The signed bytes (UTF-8): canonical JSON `{"at":"…Z","hash":"…","seq":…}`, keys sorted.'
    )
    signature: str = Field(description="The Ed25519 signature of `message`, base64 (64 bytes).")
    public_key: str = Field(description="The raw 32-byte Ed25519 public key that signed, base64.")
    key_id: str = Field(description="First 16 hex digits of the SHA-256 of the public key.")

    @classmethod
    def of(cls, row: Any) -> "CheckpointOut":
        return cls(
            id=row.id,
            seq=row.seq,
            hash=row.hash,
            at=row.at,
            message=signed_message(row.seq, row.hash, row.at).decode(),
            signature=base64.b64encode(row.signature).decode(),
            public_key=base64.b64encode(row.public_key).decode(),
            key_id=key_id(row.public_key),
        )

    @field_serializer("at")
    def _utc(self, at: datetime) -> str:
        return at.strftime("%Y-%m-%dT%H:%M:%SZ")  # as in `message`


class PublicKeyOut(BaseModel):
    algorithm: str = Field(default="Ed25519")
    key_id: str = Field(description="First 16 hex digits of the SHA-256 of the raw key.")
    public_key: str = Field(description="The raw 32-byte public key, base64.")
    public_key_hex: str = Field(description="The same 32 bytes in hex.")
    pem: str = Field(description="The key as SubjectPublicKeyInfo PEM (`openssl pkey -pubin`).")
    source: str = Field(description="`setting` (HIBAH_AUDIT_SIGNING_KEY) or `database` (made on first use).")


class CheckpointProblemKind(StrEnum):
    bad_signature = "bad_signature"
    missing_events = "missing_events"
    altered_events = "altered_events"


class CheckpointProblem(BaseModel):
    checkpoint_id: int
    seq: int
    problem: CheckpointProblemKind = Field(
        description=(
            "`bad_signature`: the signature does not hold under the instance's public key; `missing_events`: the"
            " chain ends before the sealed seq; `altered_events`: the event at the sealed seq has another hash."
        )
    )


class CheckpointCheck(BaseModel):
    valid: bool = Field(description="Every checkpoint's signature holds and the chain still reaches its head.")
    checked: int = Field(description="Checkpoints checked.")
    confirmed: int = Field(description="Checkpoints whose signature holds and whose head the chain still has.")
    latest_confirmed_seq: int | None = Field(description="The newest seq a holding checkpoint confirms.")
    problems: list[CheckpointProblem] = Field(description="The first 100 checkpoints that do not hold.")


class ChainCheck(BaseModel):
    valid: bool = Field(description="The hash chain holds (see `ledger` for the running totals).")
    events: int = Field(description="Events checked.")
    head_hash: str | None = Field(description="Hash of the last event: publish it to anchor the log.")
    first_bad_seq: int | None = Field(
        description="The first event whose hash or link does not hold, or that a checkpoint shows missing or altered."
    )


class Verification(ChainCheck):
    checkpoints: CheckpointCheck = Field(description="The chain against every sealed checkpoint.")
    ledger: LedgerCheck = Field(description="Every agreement's and report's running totals against their entries.")
