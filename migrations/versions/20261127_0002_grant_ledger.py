"""Grant ledger: agreements with running totals, budget lines, amendments, disbursements, reversals, refunds.

The CHECK constraints on agreement hold the running totals to the invariants of DESIGN §2.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 20:35:57.951857
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('agreement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=100), nullable=False),
    sa.Column('election_id', sa.Integer(), nullable=False),
    sa.Column('recipient_id', sa.Integer(), nullable=False),
    sa.Column('region_code', sa.String(length=5), nullable=False),
    sa.Column('province_code', sa.String(length=2), nullable=False),
    sa.Column('recipient_kind', sa.String(length=16), nullable=False),
    sa.Column('signed_on', sa.Date(), nullable=False),
    sa.Column('scheme', sa.Enum('staged', 'lump_sum', name='agreement_scheme', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('currency', sa.String(length=3), server_default='IDR', nullable=False),
    sa.Column('original_amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('disbursed', sa.Numeric(precision=18, scale=2), server_default='0', nullable=False),
    sa.Column('spent_reported', sa.Numeric(precision=18, scale=2), server_default='0', nullable=False),
    sa.Column('spent_accepted', sa.Numeric(precision=18, scale=2), server_default='0', nullable=False),
    sa.Column('refunded', sa.Numeric(precision=18, scale=2), server_default='0', nullable=False),
    sa.Column('status', sa.Enum('active', 'closed', name='agreement_status', native_enum=False, create_constraint=True, length=32), server_default='active', nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.CheckConstraint("(status = 'closed') = (closed_at IS NOT NULL)", name=op.f('ck_agreement_closed_at_by_status')),
    sa.CheckConstraint("currency = 'IDR'", name=op.f('ck_agreement_currency_idr')),
    sa.CheckConstraint('amount > 0 AND original_amount > 0', name=op.f('ck_agreement_positive_amounts')),
    sa.CheckConstraint('disbursed - spent_reported - refunded >= 0', name=op.f('ck_agreement_held_not_negative')),
    sa.CheckConstraint('disbursed >= 0 AND disbursed <= amount', name=op.f('ck_agreement_disbursed_within_amount')),
    sa.CheckConstraint('refunded >= 0', name=op.f('ck_agreement_refunded_not_negative')),
    sa.CheckConstraint('spent_accepted >= 0 AND spent_accepted <= spent_reported', name=op.f('ck_agreement_spent_accepted_within')),
    sa.ForeignKeyConstraint(['election_id'], ['election.id'], name=op.f('fk_agreement_election_id_election')),
    sa.ForeignKeyConstraint(['recipient_id'], ['recipient.id'], name=op.f('fk_agreement_recipient_id_recipient')),
    sa.ForeignKeyConstraint(['region_code'], ['region.code'], name=op.f('fk_agreement_region_code_region')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agreement')),
    sa.UniqueConstraint('number', name=op.f('uq_agreement_number'))
    )
    op.create_index(op.f('ix_agreement_election_id'), 'agreement', ['election_id'], unique=False)
    op.create_index(op.f('ix_agreement_province_code'), 'agreement', ['province_code'], unique=False)
    op.create_index(op.f('ix_agreement_recipient_id'), 'agreement', ['recipient_id'], unique=False)
    op.create_index(op.f('ix_agreement_recipient_kind'), 'agreement', ['recipient_kind'], unique=False)
    op.create_index(op.f('ix_agreement_region_code'), 'agreement', ['region_code'], unique=False)
    op.create_index('uq_agreement_open_per_recipient', 'agreement', ['election_id', 'recipient_id'], unique=True, postgresql_where=sa.text("status = 'active'"))
    op.create_table('amendment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agreement_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=100), nullable=False),
    sa.Column('signed_on', sa.Date(), nullable=False),
    sa.Column('previous_amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('new_amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('reason', sa.Enum('candidate_count_change', 'recount', 'revote', 'continued_election', 'follow_up_election', 'other', name='amendment_reason', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('created_by_key_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('new_amount > 0 AND previous_amount > 0', name=op.f('ck_amendment_positive_amounts')),
    sa.ForeignKeyConstraint(['agreement_id'], ['agreement.id'], name=op.f('fk_amendment_agreement_id_agreement')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_amendment')),
    sa.UniqueConstraint('agreement_id', 'number', name=op.f('uq_amendment_agreement_id_number'))
    )
    op.create_index(op.f('ix_amendment_agreement_id'), 'amendment', ['agreement_id'], unique=False)
    op.create_table('budget_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agreement_id', sa.Integer(), nullable=False),
    sa.Column('stage', sa.String(length=48), nullable=False),
    sa.Column('category', sa.String(length=48), nullable=False),
    sa.Column('amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_budget_line_positive_amount')),
    sa.ForeignKeyConstraint(['agreement_id'], ['agreement.id'], name=op.f('fk_budget_line_agreement_id_agreement')),
    sa.ForeignKeyConstraint(['category'], ['category_code.code'], name=op.f('fk_budget_line_category_category_code')),
    sa.ForeignKeyConstraint(['stage'], ['stage_code.code'], name=op.f('fk_budget_line_stage_stage_code')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_budget_line')),
    sa.UniqueConstraint('agreement_id', 'stage', 'category', name=op.f('uq_budget_line_agreement_id_stage_category'))
    )
    op.create_index(op.f('ix_budget_line_agreement_id'), 'budget_line', ['agreement_id'], unique=False)
    op.create_table('disbursement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agreement_id', sa.Integer(), nullable=False),
    sa.Column('tranche', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('paid_on', sa.Date(), nullable=False),
    sa.Column('sp2d_number', sa.String(length=100), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('created_by_key_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('amount > 0', name=op.f('ck_disbursement_positive_amount')),
    sa.CheckConstraint('tranche BETWEEN 1 AND 12', name=op.f('ck_disbursement_tranche_range')),
    sa.ForeignKeyConstraint(['agreement_id'], ['agreement.id'], name=op.f('fk_disbursement_agreement_id_agreement')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_disbursement')),
    sa.UniqueConstraint('sp2d_number', name=op.f('uq_disbursement_sp2d_number'))
    )
    op.create_index(op.f('ix_disbursement_agreement_id'), 'disbursement', ['agreement_id'], unique=False)
    op.create_table('refund',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agreement_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('returned_on', sa.Date(), nullable=False),
    sa.Column('sts_number', sa.String(length=100), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('created_by_key_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('amount > 0', name=op.f('ck_refund_positive_amount')),
    sa.ForeignKeyConstraint(['agreement_id'], ['agreement.id'], name=op.f('fk_refund_agreement_id_agreement')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refund')),
    sa.UniqueConstraint('sts_number', name=op.f('uq_refund_sts_number'))
    )
    op.create_index(op.f('ix_refund_agreement_id'), 'refund', ['agreement_id'], unique=False)
    op.create_table('disbursement_reversal',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('disbursement_id', sa.Integer(), nullable=False),
    sa.Column('agreement_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('reversed_on', sa.Date(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('created_by_key_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('amount > 0', name=op.f('ck_disbursement_reversal_positive_amount')),
    sa.ForeignKeyConstraint(['agreement_id'], ['agreement.id'], name=op.f('fk_disbursement_reversal_agreement_id_agreement')),
    sa.ForeignKeyConstraint(['disbursement_id'], ['disbursement.id'], name=op.f('fk_disbursement_reversal_disbursement_id_disbursement')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_disbursement_reversal')),
    sa.UniqueConstraint('disbursement_id', name=op.f('uq_disbursement_reversal_disbursement_id'))
    )
    op.create_index(op.f('ix_disbursement_reversal_agreement_id'), 'disbursement_reversal', ['agreement_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_disbursement_reversal_agreement_id'), table_name='disbursement_reversal')
    op.drop_table('disbursement_reversal')
    op.drop_index(op.f('ix_refund_agreement_id'), table_name='refund')
    op.drop_table('refund')
    op.drop_index(op.f('ix_disbursement_agreement_id'), table_name='disbursement')
    op.drop_table('disbursement')
    op.drop_index(op.f('ix_budget_line_agreement_id'), table_name='budget_line')
    op.drop_table('budget_line')
    op.drop_index(op.f('ix_amendment_agreement_id'), table_name='amendment')
    op.drop_table('amendment')
    op.drop_index('uq_agreement_open_per_recipient', table_name='agreement', postgresql_where=sa.text("status = 'active'"))
    op.drop_index(op.f('ix_agreement_region_code'), table_name='agreement')
    op.drop_index(op.f('ix_agreement_recipient_kind'), table_name='agreement')
    op.drop_index(op.f('ix_agreement_recipient_id'), table_name='agreement')
    op.drop_index(op.f('ix_agreement_province_code'), table_name='agreement')
    op.drop_index(op.f('ix_agreement_election_id'), table_name='agreement')
    op.drop_table('agreement')
