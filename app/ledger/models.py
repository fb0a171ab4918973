"""The money entries of the ledger: payments (SP2D), their reversals, and refunds (STS).

Entries are never updated or deleted; a correction is a new entry (a reversal).
"""

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core.models import created_at_column, money_column


class Disbursement(SQLModel, table=True):
    """A payment into the recipient's grant account, backed by an SP2D."""

    __tablename__ = "disbursement"
    __table_args__ = (
        sa.CheckConstraint("amount > 0", name="positive_amount"),
        sa.CheckConstraint("tranche BETWEEN 1 AND 12", name="tranche_range"),
    )

    id: int | None = Field(default=None, primary_key=True)
    agreement_id: int = Field(foreign_key="agreement.id", index=True)
    tranche: int
    amount: Decimal = money_column()
    paid_on: date
    sp2d_number: str = Field(sa_column=sa.Column(sa.String(100), nullable=False, unique=True))
    note: str | None = Field(default=None, sa_type=sa.Text)
    created_at: datetime = created_at_column()
    created_by_key_id: int | None = None


class DisbursementReversal(SQLModel, table=True):
    """Undoes one disbursement once, as a new entry; the disbursement itself stays as it was."""

    __tablename__ = "disbursement_reversal"
    __table_args__ = (sa.CheckConstraint("amount > 0", name="positive_amount"),)

    id: int | None = Field(default=None, primary_key=True)
    disbursement_id: int = Field(
        sa_column=sa.Column(sa.Integer, sa.ForeignKey("disbursement.id"), nullable=False, unique=True)
    )
    agreement_id: int = Field(foreign_key="agreement.id", index=True)
    amount: Decimal = money_column()
    reversed_on: date
    reason: str = Field(sa_type=sa.Text)
    created_at: datetime = created_at_column()
    created_by_key_id: int | None = None


class Refund(SQLModel, table=True):
    """Unspent money returned to the regional treasury, backed by an STS."""

    __tablename__ = "refund"
    __table_args__ = (sa.CheckConstraint("amount > 0", name="positive_amount"),)

    id: int | None = Field(default=None, primary_key=True)
    agreement_id: int = Field(foreign_key="agreement.id", index=True)
    amount: Decimal = money_column()
    returned_on: date
    sts_number: str = Field(sa_column=sa.Column(sa.String(100), nullable=False, unique=True))
    note: str | None = Field(default=None, sa_type=sa.Text)
    created_at: datetime = created_at_column()
    created_by_key_id: int | None = None
