"""Each submitted report's spending per stage and category, fixed at submission.

Budget checks (the ``over_budget_line`` finding, ``/agreements/{id}/budget-variance``) summed every usage
item of an agreement on each request: ~550 ms for the national findings over 3,000,000 items, and growing
with them. Items change only while their report is a draft, so the breakdown is written once when the report
is submitted (and dropped when it is reopened). Reports already submitted or accepted are filled in here.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 00:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BACKFILL = """
INSERT INTO usage_report_spend (report_id, stage, category, amount, items)
SELECT i.report_id, i.stage, i.category, sum(i.amount), count(*)
FROM usage_item i JOIN usage_report r ON r.id = i.report_id
WHERE r.status IN ('submitted', 'accepted', 'returned')
GROUP BY i.report_id, i.stage, i.category
"""


def upgrade() -> None:
    op.create_table('usage_report_spend',
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('stage', sa.String(length=48), nullable=False),
    sa.Column('category', sa.String(length=48), nullable=False),
    sa.Column('amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('items', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('amount > 0 AND items > 0', name=op.f('ck_usage_report_spend_positive')),
    sa.ForeignKeyConstraint(['category'], ['category_code.code'], name=op.f('fk_usage_report_spend_category_category_code')),
    sa.ForeignKeyConstraint(['report_id'], ['usage_report.id'], name=op.f('fk_usage_report_spend_report_id_usage_report')),
    sa.ForeignKeyConstraint(['stage'], ['stage_code.code'], name=op.f('fk_usage_report_spend_stage_stage_code')),
    sa.PrimaryKeyConstraint('report_id', 'stage', 'category', name=op.f('pk_usage_report_spend'))
    )
    op.execute(BACKFILL)


def downgrade() -> None:
    op.drop_table('usage_report_spend')
