"""Bodies of the API-key endpoints."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from app.core.actor import Role
from app.core.errors import InputRule
from app.core.types import INPUT_MODEL, DbId, Name
from app.reference.schemas import RegionCode


class KeyCreate(BaseModel):
    model_config = INPUT_MODEL

    name: Name = Field(description="Who holds the key, e.g. 'BPKAD Kota Probolinggo'.")
    role: Role
    recipient_id: DbId | None = Field(
        default=None, validate_default=True, description="Required for, and only for, the recipient role."
    )
    region_code: RegionCode | None = Field(
        default=None, description="Finance only: bind the key to one Pemda (its Kemendagri region code)."
    )

    @field_validator("recipient_id")
    @classmethod
    def _recipient_scope_fits_role(cls, value: int | None, info: ValidationInfo) -> int | None:
        role = info.data.get("role")
        if role is not None and (role == Role.recipient) != (value is not None):
            raise InputRule(
                "required for the recipient role, and only for it",
                "wajib untuk peran recipient, dan hanya untuk peran itu",
            )
        return value

    @field_validator("region_code")
    @classmethod
    def _region_scope_fits_role(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and info.data.get("role") not in (None, Role.finance):
            raise InputRule("binds finance keys only", "hanya untuk kunci peran finance")
        return value


class KeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    role: Role
    recipient_id: int | None
    region_code: str | None
    prefix: str = Field(description="The first characters of the key, to recognise it.")
    created_at: datetime
    revoked_at: datetime | None


class KeyCreated(KeyOut):
    key: str = Field(description="The secret. Shown once: only its hash is stored.")


class WhoAmI(BaseModel):
    key_id: int | None
    role: Role | None
    recipient_id: int | None
    region_code: str | None
