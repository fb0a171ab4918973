"""Usage reports (laporan penggunaan) and their line items."""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core.models import (
    HexDigest,
    created_at_column,
    enum_column,
    money_column,
    updated_at_column,
    version_column,
)


class ReportKind(StrEnum):
    interim = "interim"
    final = "final"


class ReportStatus(StrEnum):
    draft = "draft"
    submitted = "submitted"
    accepted = "accepted"
    returned = "returned"


COUNTED_STATUSES = (ReportStatus.submitted, ReportStatus.accepted)
"""Reports whose items count as reported spending (DESIGN §2: spent_reported)."""


class UsageReport(SQLModel, table=True):
    __tablename__ = "usage_report"
    __table_args__ = (
        sa.CheckConstraint("period_end >= period_start", name="period_order"),
        sa.CheckConstraint("total >= 0 AND item_count >= 0", name="totals_not_negative"),
    )

    id: int | None = Field(default=None, primary_key=True)
    agreement_id: int = Field(foreign_key="agreement.id", index=True)
    kind: ReportKind = enum_column(ReportKind, "report_kind")
    title: str = Field(sa_type=sa.Text)
    period_start: date
    period_end: date
    status: ReportStatus = enum_column(ReportStatus, "report_status", server_default="draft")
    # Kept up to date with every item write, under the report's row lock.
    total: Decimal = money_column(default_zero=True)
    item_count: int = Field(default=0, sa_column=sa.Column(sa.BigInteger, nullable=False, server_default="0"))
    review_note: str | None = Field(default=None, sa_type=sa.Text)
    submitted_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    reviewed_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    reviewed_by_key_id: int | None = None
    created_by_key_id: int | None = None
    created_at: datetime = created_at_column()
    updated_at: datetime = updated_at_column()
    version: int = version_column()


class UsageItem(SQLModel, table=True):
    """One line of spending. Nationally there are millions (every KPPS member's honorarium).

    Built for bulk loads (migration 0006): ``report_id``, ``category`` and ``stage`` are checked against their
    tables once per statement by a trigger on the distinct keys it wrote, not by foreign keys (one lookup per
    row each); the evidence digest is stored as its 32 bytes.
    """

    __tablename__ = "usage_item"
    __table_args__ = (
        sa.CheckConstraint("amount > 0", name="positive_amount"),
        sa.CheckConstraint("octet_length(evidence_sha256) = 32", name="evidence_sha256_length"),
        sa.Index("ix_usage_item_report_id_id", "report_id", "id"),
    )

    id: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger, primary_key=True, autoincrement=True))
    report_id: int
    spent_on: date
    category: str = Field(sa_type=sa.String(48))
    stage: str = Field(sa_type=sa.String(48))
    description: str = Field(sa_type=sa.Text)
    amount: Decimal = money_column()
    payee: str | None = Field(default=None, sa_type=sa.Text)
    document_number: str | None = Field(default=None, sa_type=sa.String(100))
    evidence_sha256: str | None = Field(default=None, sa_type=HexDigest)


class UsageReportSpend(SQLModel, table=True):
    """A submitted report's spending per (stage, category), written once at submission.

    Items change only while their report is a draft, so this breakdown stays exact from submission on:
    budget checks read a few rows per report instead of summing every item (millions nationally).
    """

    __tablename__ = "usage_report_spend"
    __table_args__ = (sa.CheckConstraint("amount > 0 AND items > 0", name="positive"),)

    report_id: int = Field(foreign_key="usage_report.id", primary_key=True)
    stage: str = Field(foreign_key="stage_code.code", sa_type=sa.String(48), primary_key=True)
    category: str = Field(foreign_key="category_code.code", sa_type=sa.String(48), primary_key=True)
    amount: Decimal = money_column()
    items: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
