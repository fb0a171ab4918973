"""Request and response bodies of the reference data."""

import re
from datetime import date, datetime
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from app.core.errors import InputRule
from app.core.types import INPUT_MODEL, NOT_BLANK, LedgerDate, Name
from app.core.visibility import private_field
from app.reference.models import ElectionKind, RecipientKind, RegionLevel

# Province 11-99; regency 01-69 or city 71-99 (the ranges level_of_code applies).
REGION_CODE_PATTERN = r"^(1[1-9]|[2-9][0-9])(\.(0[1-9]|[1-6][0-9]|7[1-9]|[89][0-9]))?$"
_PROVINCE = re.compile(r"^[0-9]{2}$")


def level_of_code(code: str) -> RegionLevel:
    """The level a Kemendagri code denotes; ``ValueError`` for codes outside the published ranges."""
    province, _, local = code.partition(".")
    if not _PROVINCE.match(province) or int(province) < 11:
        raise ValueError("province part must be two digits from 11 to 99")
    if not local:
        return RegionLevel.province
    number = int(local)
    if 1 <= number <= 69:
        return RegionLevel.regency
    if 71 <= number <= 99:
        return RegionLevel.city
    raise ValueError("regency part must be 01-69, city part 71-99")


def _valid_code(code: str) -> str:
    level_of_code(code)
    return code


RegionCode = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=REGION_CODE_PATTERN),
    AfterValidator(_valid_code),
    Field(description="Kemendagri code: `35` (province), `35.01`-`35.69` (regency), `35.71`-`35.99` (city)."),
]


class RegionCreate(BaseModel):
    model_config = INPUT_MODEL

    code: RegionCode
    name: Name
    level: RegionLevel | None = Field(
        default=None, validate_default=True, description="Optional; derived from the code, and must agree with it."
    )

    @field_validator("level")
    @classmethod
    def _level_fits_code(cls, level: RegionLevel | None, info: ValidationInfo) -> RegionLevel | None:
        code = info.data.get("code")
        if code is None:
            return level
        derived = level_of_code(code)
        if level is not None and level != derived:
            raise InputRule(
                f"code {code} is a {derived.value}, not a {level.value}",
                f"kode {code} adalah {derived.value}, bukan {level.value}",
            )
        return derived


class RegionUpdate(BaseModel):
    model_config = INPUT_MODEL

    name: Name


class RegionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    level: RegionLevel
    parent_code: str | None
    version: int
    created_at: datetime
    updated_at: datetime


class RegionImportResult(BaseModel):
    created: int
    updated: int


class ElectionCreate(BaseModel):
    model_config = INPUT_MODEL

    name: Name
    kind: ElectionKind
    region_code: RegionCode
    voting_day: LedgerDate
    winner_proposed_on: LedgerDate | None = None

    @field_validator("winner_proposed_on")
    @classmethod
    def _winner_after_voting(cls, value: date | None, info: ValidationInfo) -> date | None:
        voting_day = info.data.get("voting_day")
        if value is not None and voting_day is not None and value < voting_day:
            raise InputRule(
                "winner_proposed_on cannot precede voting_day",
                "winner_proposed_on tidak boleh sebelum voting_day",
            )
        return value


class ElectionUpdate(BaseModel):
    model_config = INPUT_MODEL

    name: Name | None = None
    voting_day: LedgerDate | None = None
    winner_proposed_on: LedgerDate | None = None


class ElectionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    kind: ElectionKind
    region_code: str
    voting_day: date
    winner_proposed_on: date | None
    version: int
    created_at: datetime
    updated_at: datetime


AccountText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=NOT_BLANK)]
AccountNumber = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9][0-9 .-]{3,32}[0-9]$")]


class RecipientCreate(BaseModel):
    model_config = INPUT_MODEL

    name: Name
    kind: RecipientKind
    region_code: RegionCode
    bank_name: AccountText | None = None
    account_number: AccountNumber | None = None
    account_holder: AccountText | None = None


class RecipientUpdate(BaseModel):
    model_config = INPUT_MODEL

    name: Name | None = None
    bank_name: AccountText | None = None
    account_number: AccountNumber | None = None
    account_holder: AccountText | None = None


class RecipientOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    kind: RecipientKind
    region_code: str
    bank_name: str | None
    account_number: str | None = private_field("The grant account's number")
    account_holder: str | None = private_field("The grant account's holder")
    version: int
    created_at: datetime
    updated_at: datetime


class CodeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    label_id: str
    label_en: str


class StageOut(CodeOut):
    phase: str


class CodeList(BaseModel):
    data: list[CodeOut]


class StageList(BaseModel):
    data: list[StageOut]
