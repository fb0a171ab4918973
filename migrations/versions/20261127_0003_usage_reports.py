"""Usage reports and their items; items carry a bigint id (millions of lines nationally).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 20:46:25.868525
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('usage_report',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agreement_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('interim', 'final', name='report_kind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('status', sa.Enum('draft', 'submitted', 'accepted', 'returned', name='report_status', native_enum=False, create_constraint=True, length=32), server_default='draft', nullable=False),
    sa.Column('total', sa.Numeric(precision=18, scale=2), server_default='0', nullable=False),
    sa.Column('item_count', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('review_note', sa.Text(), nullable=True),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reviewed_by_key_id', sa.Integer(), nullable=True),
    sa.Column('created_by_key_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.CheckConstraint('period_end >= period_start', name=op.f('ck_usage_report_period_order')),
    sa.CheckConstraint('total >= 0 AND item_count >= 0', name=op.f('ck_usage_report_totals_not_negative')),
    sa.ForeignKeyConstraint(['agreement_id'], ['agreement.id'], name=op.f('fk_usage_report_agreement_id_agreement')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_usage_report'))
    )
    op.create_index(op.f('ix_usage_report_agreement_id'), 'usage_report', ['agreement_id'], unique=False)
    op.create_table('usage_item',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('spent_on', sa.Date(), nullable=False),
    sa.Column('category', sa.String(length=48), nullable=False),
    sa.Column('stage', sa.String(length=48), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('payee', sa.Text(), nullable=True),
    sa.Column('document_number', sa.String(length=100), nullable=True),
    sa.Column('evidence_sha256', sa.String(length=64), nullable=True),
    sa.CheckConstraint("evidence_sha256 IS NULL OR evidence_sha256 ~ '^[0-9a-f]{64}$'", name=op.f('ck_usage_item_evidence_hex')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_usage_item_positive_amount')),
    sa.ForeignKeyConstraint(['category'], ['category_code.code'], name=op.f('fk_usage_item_category_category_code')),
    sa.ForeignKeyConstraint(['report_id'], ['usage_report.id'], name=op.f('fk_usage_item_report_id_usage_report')),
    sa.ForeignKeyConstraint(['stage'], ['stage_code.code'], name=op.f('fk_usage_item_stage_stage_code')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_usage_item'))
    )
    op.create_index('ix_usage_item_report_id_id', 'usage_item', ['report_id', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_usage_item_report_id_id', table_name='usage_item')
    op.drop_table('usage_item')
    op.drop_index(op.f('ix_usage_report_agreement_id'), table_name='usage_report')
    op.drop_table('usage_report')
