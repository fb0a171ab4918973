"""Reference data: regions (Kemendagri codes), elections, recipients, and the published code lists."""

from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core.models import created_at_column, enum_column, updated_at_column, version_column


class RegionLevel(StrEnum):
    province = "province"
    regency = "regency"
    city = "city"


class ElectionKind(StrEnum):
    governor = "governor"
    regent = "regent"
    mayor = "mayor"


class RecipientKind(StrEnum):
    kpu = "kpu"
    bawaslu = "bawaslu"
    polri = "polri"
    tni = "tni"


LEVEL_OF_ELECTION = {
    ElectionKind.governor: RegionLevel.province,
    ElectionKind.regent: RegionLevel.regency,
    ElectionKind.mayor: RegionLevel.city,
}


class Region(SQLModel, table=True):
    __tablename__ = "region"
    __table_args__ = (
        sa.CheckConstraint(r"code ~ '^[0-9]{2}$' OR code ~ '^[0-9]{2}\.[0-9]{2}$'", name="code_format"),
        sa.CheckConstraint("(level = 'province') = (parent_code IS NULL)", name="parent_by_level"),
    )

    code: str = Field(sa_column=sa.Column(sa.String(5), primary_key=True))
    name: str = Field(sa_type=sa.Text)
    level: RegionLevel = enum_column(RegionLevel, "region_level")
    parent_code: str | None = Field(default=None, foreign_key="region.code", index=True, sa_type=sa.String(5))
    created_at: datetime = created_at_column()
    updated_at: datetime = updated_at_column()
    version: int = version_column()


class Election(SQLModel, table=True):
    __tablename__ = "election"
    __table_args__ = (
        sa.UniqueConstraint("region_code", "voting_day"),
        sa.CheckConstraint(
            "winner_proposed_on IS NULL OR winner_proposed_on >= voting_day", name="winner_after_voting"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_type=sa.Text)
    kind: ElectionKind = enum_column(ElectionKind, "election_kind")
    region_code: str = Field(foreign_key="region.code", index=True, sa_type=sa.String(5))
    voting_day: date
    winner_proposed_on: date | None = None
    created_at: datetime = created_at_column()
    updated_at: datetime = updated_at_column()
    version: int = version_column()


class Recipient(SQLModel, table=True):
    __tablename__ = "recipient"
    __table_args__ = (sa.UniqueConstraint("region_code", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_type=sa.Text)
    kind: RecipientKind = enum_column(RecipientKind, "recipient_kind")
    region_code: str = Field(foreign_key="region.code", index=True, sa_type=sa.String(5))
    bank_name: str | None = Field(default=None, sa_type=sa.Text)
    account_number: str | None = Field(default=None, sa_type=sa.String(34))
    account_holder: str | None = Field(default=None, sa_type=sa.Text)
    created_at: datetime = created_at_column()
    updated_at: datetime = updated_at_column()
    version: int = version_column()


class StageCode(SQLModel, table=True):
    """Election stages (tahapan), seeded by migration; usage items must name one."""

    __tablename__ = "stage_code"

    code: str = Field(sa_column=sa.Column(sa.String(48), primary_key=True))
    phase: str = Field(sa_type=sa.String(16))
    label_id: str = Field(sa_type=sa.Text)
    label_en: str = Field(sa_type=sa.Text)
    position: int


class CategoryCode(SQLModel, table=True):
    """Spending categories, seeded by migration; usage items and budget lines must name one."""

    __tablename__ = "category_code"

    code: str = Field(sa_column=sa.Column(sa.String(48), primary_key=True))
    label_id: str = Field(sa_type=sa.Text)
    label_en: str = Field(sa_type=sa.Text)
    position: int
