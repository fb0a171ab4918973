"""Rules of usage reports while they are written: who writes what, items, and spending against the budget.

Submitting, accepting, returning and reopening a report change the agreement's position: they are the
ledger's (app/ledger/). Item writes take the report's row lock; the item rules are app/reports/rules.py.
"""

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from app.core.actor import Actor
from app.core.db import Transaction
from app.core.errors import FieldError, FieldsCannotBeEmptied
from app.core.etag import Versioned, etag_of
from app.core.pagination import Page, PageRequest
from app.core.visibility import Private, withhold
from app.grants import repository as grants
from app.grants.rules import ensure_open
from app.reports import repository
from app.reports.errors import ItemsRejected, PeriodStartTooEarly, ReportNotDraft, ReportNotFound
from app.reports.models import ReportStatus, UsageItem, UsageReport
from app.reports.repository import Draft, ItemValues
from app.reports.rules import can_see_drafts, ensure_own_recipient, visible
from app.reports.schemas import BudgetVariance, ItemIn, ItemOut, ItemUpdate, ReportCreate, ReportOut, VarianceLine

ZERO = Decimal("0.00")


def report_etag(report: Versioned) -> str:
    return etag_of("usage-report", report.id, report.version)


# --- reports -------------------------------------------------------------------------------------


async def get_report(tx: Transaction, actor: Actor, report_id: int) -> UsageReport:
    """The report, if ``actor`` may see it: a draft is its recipient's own until submitted."""
    report, _ = await _visible_report(tx, actor, report_id)
    return report


async def _visible_report(tx: Transaction, actor: Actor, report_id: int) -> tuple[UsageReport, int]:
    """The report if ``actor`` may see it, and the recipient that owns it."""
    report = await repository.get_report(tx.session, report_id)
    agreement = await grants.get_agreement(tx.session, report.agreement_id)
    if not visible(actor, report.status, agreement.recipient_id):
        raise ReportNotFound(report_id)
    return report, agreement.recipient_id


async def create_report(tx: Transaction, actor: Actor, agreement_id: int, data: ReportCreate) -> UsageReport:
    agreement = await grants.get_agreement(tx.session, agreement_id)
    ensure_own_recipient(actor, agreement.recipient_id)
    ensure_open(agreement.number, agreement.status)
    if data.period_start < agreement.signed_on:
        raise PeriodStartTooEarly(data.period_start, agreement.signed_on)
    report = UsageReport(agreement_id=agreement_id, created_by_key_id=actor.key_id, **data.model_dump())
    tx.session.add(report)
    await tx.session.flush()
    payload = {"agreement_id": agreement_id, **data.model_dump(mode="json")}
    tx.record(actor, action="usage_report.create", entity="usage_report", entity_id=report.id, payload=payload)
    return report


async def list_reports(tx: Transaction, actor: Actor, agreement_id: int, page: PageRequest) -> Page[UsageReport]:
    agreement = await grants.get_agreement(tx.session, agreement_id)
    submitted_only = not can_see_drafts(actor, agreement.recipient_id)
    return await repository.list_reports(tx.session, agreement_id, page, submitted_only=submitted_only)


async def writable_report(tx: Transaction, actor: Actor, report_id: int) -> Draft:
    """The report, locked, when ``actor`` may change its items now: its own recipient, in draft."""
    draft = await repository.lock_report(tx.sql, report_id)
    ensure_own_recipient(actor, draft.recipient_id)
    ensure_open(draft.agreement_number, draft.agreement_status)
    if draft.status != ReportStatus.draft:
        raise ReportNotDraft(report_id, draft.status.value)
    return draft


# --- items ---------------------------------------------------------------------------------------


def _values(item: ItemIn) -> ItemValues:
    return (
        item.spent_on,
        item.category,
        item.stage,
        item.description,
        item.amount,
        item.payee,
        item.document_number,
        item.evidence_sha256,
    )


async def _ensure_items_follow_rules(tx: Transaction, draft: Draft, rows: Sequence[ItemValues], prefix: str) -> None:
    """Refuse the whole batch if any cell breaks an item rule; ``prefix`` names the rows (``items.3.``)."""
    verdicts = await repository.item_errors(tx.sql, draft, rows)
    if verdicts:
        errors = [
            FieldError(field=prefix.format(row["row_number"]) + row["column_name"], message=row["message"])
            for row in verdicts
        ]
        raise ItemsRejected(errors)


async def add_items(tx: Transaction, actor: Actor, report_id: int, items: Sequence[ItemIn]) -> ReportOut:
    draft = await writable_report(tx, actor, report_id)
    rows = [_values(item) for item in items]
    await _ensure_items_follow_rules(tx, draft, rows, "items.{}.")
    await repository.insert_items(tx.sql, report_id, rows)
    total = sum((item.amount for item in items), ZERO)
    report = await repository.touch_report(tx.sql, report_id, total, len(items))
    payload = {"items": len(items), "total": f"{total:.2f}"}
    tx.record(actor, action="usage_item.add", entity="usage_report", entity_id=report_id, payload=payload)
    return ReportOut.model_validate(dict(report))


async def _locked_item(tx: Transaction, actor: Actor, item_id: int) -> tuple[Any, Draft]:
    """The item and its report, both locked (report first, as every item write), read fresh."""
    draft = await writable_report(tx, actor, await repository.report_of_item(tx.sql, item_id))
    return await repository.lock_item(tx.sql, item_id), draft


REQUIRED_FIELDS = ("spent_on", "category", "stage", "description", "amount")


async def update_item(tx: Transaction, actor: Actor, item_id: int, data: ItemUpdate) -> ItemOut:
    """The item as changed, as ``actor`` may see it."""
    item, draft = await _locked_item(tx, actor, item_id)
    changes = data.model_dump(exclude_unset=True)
    emptied = [name for name in REQUIRED_FIELDS if name in changes and changes[name] is None]
    if emptied:
        raise FieldsCannotBeEmptied(emptied)
    merged = ItemIn.model_construct(**{**{key: item[key] for key in ItemIn.model_fields}, **changes})
    await _ensure_items_follow_rules(tx, draft, [_values(merged)], "")
    updated = await repository.update_item(tx.sql, item_id, _values(merged))
    await repository.touch_report(tx.sql, draft.id, merged.amount - item["amount"], 0)
    payload = data.model_dump(mode="json", exclude_unset=True, exclude={"payee"})
    tx.record(actor, action="usage_item.update", entity="usage_item", entity_id=item_id, payload=payload)
    return item_view(ItemOut.model_validate(dict(updated)), actor, draft.recipient_id)


async def delete_item(tx: Transaction, actor: Actor, item_id: int) -> None:
    item, draft = await _locked_item(tx, actor, item_id)
    await repository.delete_item(tx.sql, item_id)
    await repository.touch_report(tx.sql, draft.id, -item["amount"], -1)
    payload = {"report_id": draft.id, "amount": f"{item['amount']:.2f}"}
    tx.record(actor, action="usage_item.delete", entity="usage_item", entity_id=item_id, payload=payload)


def item_view(item: UsageItem | ItemOut, actor: Actor, owner_recipient_id: int) -> ItemOut:
    """The item as ``actor`` may see it: who was paid, and the document naming them, only to those the
    visibility policy (app/core/visibility.py) shows them to."""
    out = item if isinstance(item, ItemOut) else ItemOut.model_validate(item)
    return withhold(actor, owner_recipient_id, out, Private.payee)


async def list_items(
    tx: Transaction,
    actor: Actor,
    report_id: int,
    page: PageRequest,
    *,
    category: str | None = None,
    stage: str | None = None,
    spent_from: date | None = None,
    spent_to: date | None = None,
) -> Page[ItemOut]:
    _, owner = await _visible_report(tx, actor, report_id)
    items = await repository.list_items(
        tx.session, report_id, page, category=category, stage=stage, spent_from=spent_from, spent_to=spent_to
    )
    return Page[ItemOut](data=[item_view(item, actor, owner) for item in items.data], next_cursor=items.next_cursor)


# --- budget variance -----------------------------------------------------------------------------


async def budget_variance(tx: Transaction, agreement_id: int) -> BudgetVariance:
    await grants.get_agreement(tx.session, agreement_id)
    budget = await repository.budgeted(tx.session, agreement_id)
    reported = await repository.reported_spending(tx.session, agreement_id)
    lines = []
    for key in sorted(set(budget) | set(reported)):
        budgeted = budget.get(key, ZERO)
        spent, accepted = reported.get(key, (ZERO, ZERO))
        lines.append(
            VarianceLine(
                stage=key[0],
                category=key[1],
                budgeted=budgeted,
                reported=spent,
                accepted=accepted,
                remaining=budgeted - spent,
                over_budget=key in budget and spent > budgeted,
            )
        )
    return BudgetVariance(
        agreement_id=agreement_id,
        lines=lines,
        budgeted=sum(budget.values(), ZERO),
        reported=sum((spent for spent, _ in reported.values()), ZERO),
        unbudgeted=sum((spent for key, (spent, _) in reported.items() if key not in budget), ZERO),
    )
