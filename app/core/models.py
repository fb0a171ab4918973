"""The shared MetaData (with a naming convention, so migrations name every constraint) and column helpers."""

from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core.money import MoneyColumn

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION
metadata = SQLModel.metadata


def utcnow() -> datetime:
    return datetime.now(UTC)


def enum_column(enum: type[StrEnum], name: str, **kwargs: Any) -> Any:
    """A text column with a CHECK listing the members: readable in psql, cheap to extend in a migration."""
    return Field(
        sa_column=sa.Column(
            sa.Enum(
                enum,
                name=name,
                native_enum=False,
                create_constraint=True,
                length=32,
                values_callable=lambda members: [member.value for member in members],
                validate_strings=True,
            ),
            nullable=kwargs.pop("nullable", False),
            server_default=kwargs.pop("server_default", None),
            **kwargs,
        )
    )


def created_at_column() -> Any:
    return Field(
        default_factory=utcnow,
        sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )


def updated_at_column() -> Any:
    return Field(
        default_factory=utcnow,
        sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )


def version_column() -> Any:
    return Field(default=1, sa_column=sa.Column(sa.Integer, nullable=False, server_default="1"))


class HexDigest(sa.types.TypeDecorator[str]):
    """A digest stored as its bytes (``bytea``: half the room of its hex text, and a length CHECK instead of a
    regex), handed to and from Python as lowercase hex. SQL that reads it outside the ORM (exports by COPY)
    selects ``encode(column, 'hex')``."""

    impl = sa.LargeBinary
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: sa.Dialect) -> bytes | None:
        return None if value is None else bytes.fromhex(value)

    def process_result_value(self, value: bytes | None, dialect: sa.Dialect) -> str | None:
        return None if value is None else bytes(value).hex()


def money_column(*, default_zero: bool = False) -> Any:
    """NUMERIC(18,2), never NULL; running totals start at zero."""
    if default_zero:
        return Field(default=Decimal("0.00"), sa_column=sa.Column(MoneyColumn, nullable=False, server_default="0"))
    return Field(sa_column=sa.Column(MoneyColumn, nullable=False))
