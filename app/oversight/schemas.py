"""Bodies of the oversight endpoints: summaries and compliance findings."""

from datetime import date
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.core.money import MoneyOut


class GroupBy(StrEnum):
    region = "region"
    province = "province"
    election = "election"
    recipient_kind = "recipient_kind"


class Totals(BaseModel):
    agreements: int
    closed: int
    amount: MoneyOut
    disbursed: MoneyOut
    undisbursed: MoneyOut
    spent_reported: MoneyOut
    spent_accepted: MoneyOut
    refunded: MoneyOut
    held: MoneyOut
    absorption: str = Field(description="spent_accepted / disbursed, four places.")
    support_value: MoneyOut = Field(
        description="The fair value of support in kind (goods, asset loans, space, staff, services) given to the"
        " group's recipients, void records left out; beside the money, never part of it."
    )


class SummaryRow(Totals):
    region_code: str | None = None
    region_name: str | None = None
    province_code: str | None = None
    province_name: str | None = None
    election_id: int | None = None
    election_name: str | None = None
    recipient_kind: str | None = None


class Summary(BaseModel):
    group_by: GroupBy
    data: list[SummaryRow]
    total: Totals = Field(description="All rows together: the national total when no filter is given.")


class Rule(StrEnum):
    tranche_late = "tranche_late"
    tranche_short = "tranche_short"
    final_report_overdue = "final_report_overdue"
    refund_overdue = "refund_overdue"
    over_budget_line = "over_budget_line"
    refund_mismatch = "refund_mismatch"
    loan_not_returned = "loan_not_returned"


class Severity(StrEnum):
    high = "high"
    medium = "medium"
    low = "low"


class Finding(BaseModel):
    rule: Rule
    severity: Severity
    agreement_id: int
    agreement_number: str
    region_code: str
    recipient_kind: str
    facts: dict[str, Any] = Field(description="The figures and dates the rule was checked against.")
    due_on: date | None
    regulation: str


class Findings(BaseModel):
    as_of: date
    data: list[Finding]


class DataPackage(BaseModel):
    """A Frictionless Data Package (https://specs.frictionlessdata.io/data-package/): the members below, and every
    other member the specification allows."""

    model_config = ConfigDict(extra="allow")

    profile: str
    name: str
    title: str
    licenses: list[dict[str, str]]
    contributors: list[dict[str, str]]
    resources: list[dict[str, Any]] = Field(description="One per CSV export, with its Table Schema (`schema`).")
