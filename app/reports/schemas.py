"""Request and response bodies of usage reports and items."""

from datetime import date, datetime
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from app.core.errors import InputRule
from app.core.money import Money, MoneyOut
from app.core.types import INPUT_MODEL, NO_NUL, NOT_BLANK, THREE_OR_MORE, LedgerDate, Name, Note
from app.core.visibility import WITHHELD_NOTE, private_field
from app.reports.models import ReportKind, ReportStatus
from app.reports.rules import DESCRIPTION_MAX, DOCUMENT_MAX, PAYEE_MAX

MAX_BATCH = 1000

CodeText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=48, pattern=NOT_BLANK)]
Description = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=DESCRIPTION_MAX, pattern=NOT_BLANK)
]
Payee = Annotated[str, StringConstraints(strip_whitespace=True, max_length=PAYEE_MAX, pattern=NO_NUL)]
DocumentNumber = Annotated[str, StringConstraints(strip_whitespace=True, max_length=DOCUMENT_MAX, pattern=NO_NUL)]
Sha256 = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, pattern=r"^[0-9a-fA-F]{64}$")]


class ReportCreate(BaseModel):
    model_config = INPUT_MODEL

    kind: ReportKind
    title: Name
    period_start: LedgerDate
    period_end: LedgerDate

    @model_validator(mode="after")
    def _period_order(self) -> Self:
        if self.period_end < self.period_start:
            raise InputRule("period_end cannot precede period_start", "period_end tidak boleh sebelum period_start")
        return self


class ReturnRequest(BaseModel):
    model_config = INPUT_MODEL

    note: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=3, max_length=2000, pattern=THREE_OR_MORE)
    ] = Field(description="What the recipient must correct.")


class ReviewNote(BaseModel):
    model_config = INPUT_MODEL

    note: Note | None = None


class ReportOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    agreement_id: int
    kind: ReportKind
    title: str
    period_start: date
    period_end: date
    status: ReportStatus
    total: MoneyOut
    item_count: int
    review_note: str | None
    submitted_at: datetime | None
    reviewed_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime


class ItemIn(BaseModel):
    model_config = INPUT_MODEL

    spent_on: LedgerDate
    category: CodeText = Field(description="A code from /codes/categories.")
    stage: CodeText = Field(description="A code from /codes/stages.")
    description: Description
    amount: Money
    payee: Payee | None = Field(default=None, description="Who was paid. Private: " + WITHHELD_NOTE)
    document_number: DocumentNumber | None = Field(
        default=None, description="The receipt or proof's number. Private: " + WITHHELD_NOTE
    )
    evidence_sha256: Sha256 | None = Field(default=None, description="SHA-256 of the receipt or proof, 64 hex digits.")


class ItemBatch(BaseModel):
    model_config = INPUT_MODEL

    items: list[ItemIn] = Field(min_length=1, max_length=MAX_BATCH)


class ItemUpdate(BaseModel):
    model_config = INPUT_MODEL

    spent_on: LedgerDate | None = None
    category: CodeText | None = None
    stage: CodeText | None = None
    description: Description | None = None
    amount: Money | None = None
    payee: Payee | None = None
    document_number: DocumentNumber | None = None
    evidence_sha256: Sha256 | None = None


class ItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    report_id: int
    spent_on: date
    category: str
    stage: str
    description: str
    amount: MoneyOut
    payee: str | None = private_field("Who was paid")
    document_number: str | None = private_field("The number of the receipt or proof")
    evidence_sha256: str | None


class ItemsAdded(BaseModel):
    added: int
    report: ReportOut


class ImportRowError(BaseModel):
    row: int = Field(description="Data row number, 1-based (the header is row 0); for NDJSON, the line number.")
    column: str | None
    message: str


class ImportResult(BaseModel):
    rows: int
    total: MoneyOut = Field(description="Sum of the imported amounts.")
    sha256: str = Field(description="SHA-256 of the file as received.")
    report: ReportOut


class VarianceLine(BaseModel):
    stage: str
    category: str
    budgeted: MoneyOut
    reported: MoneyOut = Field(description="In submitted and accepted reports.")
    accepted: MoneyOut
    remaining: MoneyOut = Field(description="budgeted - reported; negative when over the line.")
    over_budget: bool


class BudgetVariance(BaseModel):
    agreement_id: int
    lines: list[VarianceLine]
    budgeted: MoneyOut
    reported: MoneyOut
    unbudgeted: MoneyOut = Field(description="Reported spending on a stage and category with no budget line.")
