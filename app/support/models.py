"""Support in kind (dukungan sarana dan prasarana): what a Pemda gives the election bodies besides money.

A record is never edited or deleted: a loan is returned once (its own BAST), a wrong record is voided with a
reason and stays on record, outside every total. CHECK constraints hold the rules whatever the code does.
"""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core.models import created_at_column, enum_column, money_column, updated_at_column, version_column

QuantityColumn = sa.Numeric(18, 4)
"""A count or a measure (units, m², person-months): not money, so four places and no rupiah rules."""


class SupportKind(StrEnum):
    goods = "goods"
    """Hibah barang: granted outright."""
    asset_loan = "asset_loan"
    """Pinjam pakai of regional property (PP 27/2014): lent, to be returned."""
    facility = "facility"
    personnel = "personnel"
    service = "service"


class Support(SQLModel, table=True):
    __tablename__ = "support"
    __table_args__ = (
        sa.CheckConstraint("value > 0", name="positive_value"),
        sa.CheckConstraint("quantity > 0", name="positive_quantity"),
        sa.CheckConstraint("(returned_on IS NULL) = (return_bast_number IS NULL)", name="return_complete"),
        sa.CheckConstraint("returned_on IS NULL OR kind = 'asset_loan'", name="return_only_loans"),
        sa.CheckConstraint("returned_on IS NULL OR returned_on >= handed_over_on", name="returned_after_handover"),
        sa.CheckConstraint("(voided_at IS NULL) = (void_reason IS NULL)", name="void_complete"),
    )

    id: int | None = Field(default=None, primary_key=True)
    election_id: int = Field(foreign_key="election.id", index=True)
    recipient_id: int = Field(foreign_key="recipient.id", index=True)
    # Copied from the recipient, which never moves, so lists and summaries filter without joins (as agreements).
    region_code: str = Field(foreign_key="region.code", index=True, sa_type=sa.String(5))
    province_code: str = Field(index=True, sa_type=sa.String(2))
    recipient_kind: str = Field(sa_type=sa.String(16), index=True)
    kind: SupportKind = enum_column(SupportKind, "support_kind")
    description: str = Field(sa_type=sa.Text)
    quantity: Decimal = Field(sa_column=sa.Column(QuantityColumn, nullable=False))
    unit: str = Field(sa_type=sa.String(32))
    value: Decimal = money_column()
    handed_over_on: date
    bast_number: str = Field(sa_column=sa.Column(sa.String(100), nullable=False, unique=True))
    returned_on: date | None = None
    return_bast_number: str | None = Field(default=None, sa_column=sa.Column(sa.String(100), unique=True))
    voided_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    void_reason: str | None = Field(default=None, sa_type=sa.Text)
    note: str | None = Field(default=None, sa_type=sa.Text)
    created_at: datetime = created_at_column()
    updated_at: datetime = updated_at_column()
    version: int = version_column()
    created_by_key_id: int | None = None
