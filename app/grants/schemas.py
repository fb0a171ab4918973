"""Request and response bodies of the grant ledger."""

from datetime import date, datetime
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from app.core.errors import InputRule
from app.core.money import Money, MoneyOut
from app.core.types import INPUT_MODEL, NOT_BLANK, DbId, LedgerDate, Note
from app.grants.models import AgreementStatus, AmendmentReason, Scheme

DocumentNumber = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=NOT_BLANK),
    Field(description="The number printed on the document (NPHD, adendum, SP2D or STS)."),
]
CodeText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=48, pattern=NOT_BLANK)]
MAX_BUDGET_LINES = 500


class BudgetLineIn(BaseModel):
    model_config = INPUT_MODEL

    stage: CodeText = Field(description="A code from /codes/stages.")
    category: CodeText = Field(description="A code from /codes/categories.")
    amount: Money


class BudgetLineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    stage: str
    category: str
    amount: MoneyOut


def _lines_are_distinct(lines: list[BudgetLineIn] | None) -> None:
    if not lines:
        return
    seen: set[tuple[str, str]] = set()
    for line in lines:
        key = (line.stage, line.category)
        if key in seen:
            raise InputRule(
                f"budget line {line.stage}/{line.category} appears twice",
                f"baris anggaran {line.stage}/{line.category} muncul dua kali",
            )
        seen.add(key)


class AgreementCreate(BaseModel):
    model_config = INPUT_MODEL

    number: DocumentNumber
    election_id: DbId
    recipient_id: DbId
    signed_on: LedgerDate
    scheme: Scheme
    amount: Money
    budget_lines: list[BudgetLineIn] | None = Field(
        default=None, max_length=MAX_BUDGET_LINES, description="The RAB; when given, it adds up to the amount."
    )

    @model_validator(mode="after")
    def _budget_lines_distinct(self) -> Self:
        _lines_are_distinct(self.budget_lines)
        return self


class AgreementOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    number: str
    election_id: int
    recipient_id: int
    region_code: str
    province_code: str
    recipient_kind: str
    signed_on: date
    scheme: Scheme
    currency: str
    original_amount: MoneyOut
    amount: MoneyOut
    status: AgreementStatus
    closed_at: datetime | None
    version: int
    budget_lines: list[BudgetLineOut] = []
    created_at: datetime
    updated_at: datetime


class Position(BaseModel):
    """Where the money of one agreement stands, derived from its records (DESIGN §2)."""

    agreement_id: int
    amount: MoneyOut
    disbursed: MoneyOut = Field(description="Net of reversals.")
    undisbursed: MoneyOut
    spent_reported: MoneyOut = Field(description="In submitted and accepted usage reports.")
    spent_accepted: MoneyOut
    refunded: MoneyOut
    held: MoneyOut = Field(description="disbursed - spent_reported - refunded: what the recipient still holds.")
    absorption: str = Field(description='spent_accepted / disbursed, four places ("0.8132").', examples=["0.8132"])
    as_of: datetime


class AmendmentCreate(BaseModel):
    model_config = INPUT_MODEL

    number: DocumentNumber
    signed_on: LedgerDate
    new_amount: Money
    reason: AmendmentReason
    note: Note | None = None
    budget_lines: list[BudgetLineIn] | None = Field(
        default=None,
        max_length=MAX_BUDGET_LINES,
        description="The new RAB; required when the agreement has budget lines.",
    )

    @model_validator(mode="after")
    def _budget_lines_distinct(self) -> Self:
        _lines_are_distinct(self.budget_lines)
        return self


class AmendmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    agreement_id: int
    number: str
    signed_on: date
    previous_amount: MoneyOut
    new_amount: MoneyOut
    reason: AmendmentReason
    note: str | None
    created_at: datetime
