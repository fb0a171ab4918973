"""Request and response bodies of the ledger's money entries."""

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.core.money import Money, MoneyOut
from app.core.types import INPUT_MODEL, THREE_OR_MORE, LedgerDate, Note
from app.grants.schemas import DocumentNumber

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=2000, pattern=THREE_OR_MORE)]


class DisbursementCreate(BaseModel):
    model_config = INPUT_MODEL

    tranche: int = Field(ge=1, le=12, description="Tranche number: 1 and 2 under the staged scheme.")
    amount: Money
    paid_on: LedgerDate
    sp2d_number: DocumentNumber
    note: Note | None = None


class ReversalCreate(BaseModel):
    model_config = INPUT_MODEL

    reversed_on: LedgerDate
    reason: Reason


class ReversalOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    disbursement_id: int
    agreement_id: int
    amount: MoneyOut
    reversed_on: date
    reason: str
    created_at: datetime


class DisbursementOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    agreement_id: int
    tranche: int
    amount: MoneyOut
    paid_on: date
    sp2d_number: str
    note: str | None
    created_at: datetime
    reversal: ReversalOut | None = None


class RefundCreate(BaseModel):
    model_config = INPUT_MODEL

    amount: Money
    returned_on: LedgerDate
    sts_number: DocumentNumber
    note: Note | None = None


class RefundOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    agreement_id: int
    amount: MoneyOut
    returned_on: date
    sts_number: str
    note: str | None
    created_at: datetime


class Mismatch(BaseModel):
    entity: str = Field(description="`agreement` or `usage_report`.")
    id: int
    field: str = Field(description="The running total that differs from its entries.")
    stored: str = Field(description="What the row holds.")
    recomputed: str = Field(description="What its entries add up to.")


class LedgerCheck(BaseModel):
    valid: bool
    agreements_checked: int
    reports_checked: int
    first_mismatch: Mismatch | None
