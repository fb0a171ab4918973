"""Grant agreements (NPHD) with their running totals, their amendments and their budget lines (RAB).

The running totals (disbursed, spent_reported, spent_accepted, refunded) are written only by the ledger
(app/ledger/), under the agreement row's lock, in the same statement set as the entry they sum; CHECK
constraints hold them to the invariants whatever the code does.
"""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core.models import created_at_column, enum_column, money_column, updated_at_column, version_column


class Scheme(StrEnum):
    staged = "staged"
    lump_sum = "lump_sum"


class AgreementStatus(StrEnum):
    active = "active"
    closed = "closed"


class AmendmentReason(StrEnum):
    candidate_count_change = "candidate_count_change"
    recount = "recount"
    revote = "revote"
    continued_election = "continued_election"
    follow_up_election = "follow_up_election"
    other = "other"


class Agreement(SQLModel, table=True):
    __tablename__ = "agreement"
    __table_args__ = (
        sa.CheckConstraint("amount > 0 AND original_amount > 0", name="positive_amounts"),
        sa.CheckConstraint("currency = 'IDR'", name="currency_idr"),
        sa.CheckConstraint("disbursed >= 0 AND disbursed <= amount", name="disbursed_within_amount"),
        sa.CheckConstraint("spent_accepted >= 0 AND spent_accepted <= spent_reported", name="spent_accepted_within"),
        sa.CheckConstraint("refunded >= 0", name="refunded_not_negative"),
        sa.CheckConstraint("disbursed - spent_reported - refunded >= 0", name="held_not_negative"),
        sa.CheckConstraint("(status = 'closed') = (closed_at IS NOT NULL)", name="closed_at_by_status"),
        # A recipient has at most one open agreement per election.
        sa.Index(
            "uq_agreement_open_per_recipient",
            "election_id",
            "recipient_id",
            unique=True,
            postgresql_where=sa.text("status = 'active'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(sa_column=sa.Column(sa.String(100), nullable=False, unique=True))
    election_id: int = Field(foreign_key="election.id", index=True)
    recipient_id: int = Field(foreign_key="recipient.id", index=True)
    # Copied from the recipient, which never moves, so lists filter without joins.
    region_code: str = Field(foreign_key="region.code", index=True, sa_type=sa.String(5))
    province_code: str = Field(index=True, sa_type=sa.String(2))
    recipient_kind: str = Field(sa_type=sa.String(16), index=True)
    signed_on: date
    scheme: Scheme = enum_column(Scheme, "agreement_scheme")
    currency: str = Field(default="IDR", sa_column=sa.Column(sa.String(3), nullable=False, server_default="IDR"))
    original_amount: Decimal = money_column()
    amount: Decimal = money_column()
    disbursed: Decimal = money_column(default_zero=True)
    spent_reported: Decimal = money_column(default_zero=True)
    spent_accepted: Decimal = money_column(default_zero=True)
    refunded: Decimal = money_column(default_zero=True)
    status: AgreementStatus = enum_column(AgreementStatus, "agreement_status", server_default="active")
    closed_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    created_at: datetime = created_at_column()
    updated_at: datetime = updated_at_column()
    version: int = version_column()


class BudgetLine(SQLModel, table=True):
    """A line of the RAB: how much of the current amount is meant for one stage and category."""

    __tablename__ = "budget_line"
    __table_args__ = (
        sa.UniqueConstraint("agreement_id", "stage", "category"),
        sa.CheckConstraint("amount > 0", name="positive_amount"),
    )

    id: int | None = Field(default=None, primary_key=True)
    agreement_id: int = Field(foreign_key="agreement.id", index=True)
    stage: str = Field(foreign_key="stage_code.code", sa_type=sa.String(48))
    category: str = Field(foreign_key="category_code.code", sa_type=sa.String(48))
    amount: Decimal = money_column()


class Amendment(SQLModel, table=True):
    __tablename__ = "amendment"
    __table_args__ = (
        sa.UniqueConstraint("agreement_id", "number"),
        sa.CheckConstraint("new_amount > 0 AND previous_amount > 0", name="positive_amounts"),
    )

    id: int | None = Field(default=None, primary_key=True)
    agreement_id: int = Field(foreign_key="agreement.id", index=True)
    number: str = Field(sa_type=sa.String(100))
    signed_on: date
    previous_amount: Decimal = money_column()
    new_amount: Decimal = money_column()
    reason: AmendmentReason = enum_column(AmendmentReason, "amendment_reason")
    note: str | None = Field(default=None, sa_type=sa.Text)
    created_at: datetime = created_at_column()
    created_by_key_id: int | None = None
