"""Bodies of the API-key endpoints."""

from datetime import datetime
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.core.actor import Role
from app.core.types import INPUT_MODEL, DbId, Name
from app.reference.schemas import RegionCode


class KeyCreate(BaseModel):
    model_config = INPUT_MODEL

    name: Name = Field(description="Who holds the key, e.g. 'BPKAD Kota Probolinggo'.")
    role: Role
    recipient_id: DbId | None = Field(default=None, description="Required for, and only for, the recipient role.")
    region_code: RegionCode | None = Field(
        default=None, description="Finance only: bind the key to one Pemda (its Kemendagri region code)."
    )

    @model_validator(mode="after")
    def _scope_fits_role(self) -> Self:
        if (self.role == Role.recipient) != (self.recipient_id is not None):
            raise ValueError("recipient_id is required for the recipient role and only for it")
        if self.region_code is not None and self.role != Role.finance:
            raise ValueError("region_code binds finance keys only")
        return self


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
