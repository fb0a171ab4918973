"""audit_checkpoint and audit_signing_key: sealed heads of the audit chain (issue #15).

A checkpoint is the chain's head (seq, hash) at a time, signed with the instance's Ed25519 key. The key comes
from HIBAH_AUDIT_SIGNING_KEY, or is made once and kept in ``audit_signing_key`` (one row, never served).
Checkpoints are append-only, like the events they seal.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = """
CREATE FUNCTION audit_checkpoint_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_checkpoint is append-only' USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_checkpoint_append_only BEFORE UPDATE OR DELETE ON audit_checkpoint
    FOR EACH ROW EXECUTE FUNCTION audit_checkpoint_append_only();
"""


def upgrade() -> None:
    op.create_table(
        'audit_checkpoint',
        sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column('seq', sa.BigInteger(), nullable=False),
        sa.Column('hash', sa.String(length=64), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('public_key', sa.LargeBinary(), nullable=False),
        sa.Column('signature', sa.LargeBinary(), nullable=False),
        sa.Column('actor_key_id', sa.BigInteger(), nullable=True),
        sa.CheckConstraint('seq >= 0', name=op.f('ck_audit_checkpoint_seq_not_negative')),
        sa.CheckConstraint('octet_length(signature) = 64', name=op.f('ck_audit_checkpoint_signature_length')),
        sa.CheckConstraint('octet_length(public_key) = 32', name=op.f('ck_audit_checkpoint_public_key_length')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_checkpoint')),
    )
    op.create_index(op.f('ix_audit_checkpoint_seq'), 'audit_checkpoint', ['seq'], unique=False)
    op.create_table(
        'audit_signing_key',
        sa.Column('id', sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column('private_key', sa.LargeBinary(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.CheckConstraint('id = 1', name=op.f('ck_audit_signing_key_single_row')),
        sa.CheckConstraint('octet_length(private_key) = 32', name=op.f('ck_audit_signing_key_private_key_length')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_signing_key')),
    )
    op.execute(APPEND_ONLY)


def downgrade() -> None:
    op.execute('DROP TRIGGER audit_checkpoint_append_only ON audit_checkpoint')
    op.execute('DROP FUNCTION audit_checkpoint_append_only()')
    op.drop_table('audit_signing_key')
    op.drop_index(op.f('ix_audit_checkpoint_seq'), table_name='audit_checkpoint')
    op.drop_table('audit_checkpoint')
