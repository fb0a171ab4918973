"""Support in kind (dukungan sarana dan prasarana): goods, asset loans, space, staff and services a Pemda gives.

One table, never updated but to return a loan once or void a record with a reason. The value follows the money
rules (NUMERIC(18,2), > 0); the quantity is a measure, not money (NUMERIC(18,4), > 0); both BAST numbers are unique;
a return exists only for an asset loan, is complete (date and BAST together) and not before the handover.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "support",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("election_id", sa.Integer(), nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=5), nullable=False),
        sa.Column("province_code", sa.String(length=2), nullable=False),
        sa.Column("recipient_kind", sa.String(length=16), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "goods",
                "asset_loan",
                "facility",
                "personnel",
                "service",
                name="support_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("unit", sa.String(length=32), nullable=False),
        sa.Column("value", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("handed_over_on", sa.Date(), nullable=False),
        sa.Column("bast_number", sa.String(length=100), nullable=False),
        sa.Column("returned_on", sa.Date(), nullable=True),
        sa.Column("return_bast_number", sa.String(length=100), nullable=True),
        sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("void_reason", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("created_by_key_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("returned_on IS NULL OR kind = 'asset_loan'", name=op.f("ck_support_return_only_loans")),
        sa.CheckConstraint(
            "(returned_on IS NULL) = (return_bast_number IS NULL)", name=op.f("ck_support_return_complete")
        ),
        sa.CheckConstraint("(voided_at IS NULL) = (void_reason IS NULL)", name=op.f("ck_support_void_complete")),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_support_positive_quantity")),
        sa.CheckConstraint(
            "returned_on IS NULL OR returned_on >= handed_over_on", name=op.f("ck_support_returned_after_handover")
        ),
        sa.CheckConstraint("value > 0", name=op.f("ck_support_positive_value")),
        sa.ForeignKeyConstraint(["election_id"], ["election.id"], name=op.f("fk_support_election_id_election")),
        sa.ForeignKeyConstraint(["recipient_id"], ["recipient.id"], name=op.f("fk_support_recipient_id_recipient")),
        sa.ForeignKeyConstraint(["region_code"], ["region.code"], name=op.f("fk_support_region_code_region")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support")),
        sa.UniqueConstraint("bast_number", name=op.f("uq_support_bast_number")),
        sa.UniqueConstraint("return_bast_number", name=op.f("uq_support_return_bast_number")),
    )
    op.create_index(op.f("ix_support_election_id"), "support", ["election_id"], unique=False)
    op.create_index(op.f("ix_support_province_code"), "support", ["province_code"], unique=False)
    op.create_index(op.f("ix_support_recipient_id"), "support", ["recipient_id"], unique=False)
    op.create_index(op.f("ix_support_recipient_kind"), "support", ["recipient_kind"], unique=False)
    op.create_index(op.f("ix_support_region_code"), "support", ["region_code"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_support_region_code"), table_name="support")
    op.drop_index(op.f("ix_support_recipient_kind"), table_name="support")
    op.drop_index(op.f("ix_support_recipient_id"), table_name="support")
    op.drop_index(op.f("ix_support_province_code"), table_name="support")
    op.drop_index(op.f("ix_support_election_id"), table_name="support")
    op.drop_table("support")
