"""Sealed checkpoints of the audit chain, and the instance's signing key when no setting supplies one."""

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core.models import created_at_column


class AuditCheckpoint(SQLModel, table=True):
    """The chain's head (``seq``, ``hash``) at ``at``, signed with the instance's Ed25519 key."""

    __tablename__ = "audit_checkpoint"
    __table_args__ = (
        sa.CheckConstraint("seq >= 0", name="seq_not_negative"),
        sa.CheckConstraint("octet_length(signature) = 64", name="signature_length"),
        sa.CheckConstraint("octet_length(public_key) = 32", name="public_key_length"),
    )

    id: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger, sa.Identity(), primary_key=True))
    seq: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False, index=True))
    hash: str = Field(sa_type=sa.String(64))
    at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    public_key: bytes = Field(sa_type=sa.LargeBinary)
    """The raw 32-byte key that made the signature (readers pin the one /audit/public-key published)."""
    signature: bytes = Field(sa_type=sa.LargeBinary)
    actor_key_id: int | None = Field(default=None, sa_type=sa.BigInteger)


class AuditSigningKey(SQLModel, table=True):
    """The key made on first use when ``HIBAH_AUDIT_SIGNING_KEY`` is not set: one row, never served."""

    __tablename__ = "audit_signing_key"
    __table_args__ = (
        sa.CheckConstraint("id = 1", name="single_row"),
        sa.CheckConstraint("octet_length(private_key) = 32", name="private_key_length"),
    )

    id: int = Field(default=1, sa_column=sa.Column(sa.SmallInteger, primary_key=True, autoincrement=False))
    private_key: bytes = Field(sa_type=sa.LargeBinary)
    """The raw 32-byte Ed25519 seed."""
    created_at: datetime = created_at_column()
