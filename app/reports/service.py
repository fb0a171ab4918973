"""Rules of usage reports: who writes what, the review workflow, and spending against the money held.

Lock order, everywhere both are taken: the agreement row, then the report row. Item writes take only
the report row; submission, acceptance and return move the agreement's running totals, so they take
both, and racing submissions cannot pass the disbursed amount together.
"""

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core import audit
from app.core.actor import Actor, Role
from app.core.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound
from app.core.etag import check_if_match, etag_of
from app.core.models import utcnow
from app.core.pagination import Page, PageRequest, cursor_value, page_of, paginate_by_id
from app.core.queries import one_or_raise
from app.grants import service as grants
from app.grants.models import Agreement, BudgetLine, Disbursement
from app.reference.models import CategoryCode, StageCode
from app.reports.models import (
    COUNTED_STATUSES,
    ReportKind,
    ReportStatus,
    UsageItem,
    UsageReport,
    UsageReportSpend,
)
from app.reports.schemas import (
    BudgetVariance,
    ItemIn,
    ItemOut,
    ItemUpdate,
    ReportCreate,
    VarianceLine,
)

ZERO = Decimal("0.00")


def report_etag(report: UsageReport) -> str:
    return etag_of("usage-report", report.id, report.version)


# --- who may do what -----------------------------------------------------------------------------


def ensure_own_recipient(actor: Actor, agreement: Agreement) -> None:
    if actor.role == Role.recipient and actor.recipient_id != agreement.recipient_id:
        raise Forbidden(
            "This recipient key reports only for its own recipient.",
            "Kunci penerima ini hanya melaporkan untuk penerimanya sendiri.",
            code="not_your_report",
        )


def ensure_reviewer(actor: Actor, agreement: Agreement) -> None:
    grants.ensure_writer_scope(actor, agreement.region_code)


def can_see_drafts(actor: Actor, agreement: Agreement) -> bool:
    if actor.role is None:
        return False
    return actor.role != Role.recipient or actor.recipient_id == agreement.recipient_id


# --- reports -------------------------------------------------------------------------------------


async def _report(session: AsyncSession, report_id: int, *, for_update: bool = False) -> UsageReport:
    return await one_or_raise(
        session, UsageReport, col(UsageReport.id) == report_id, _report_not_found(report_id), for_update=for_update
    )


def _report_not_found(report_id: int) -> NotFound:
    return NotFound(
        f"There is no usage report {report_id}.", f"Tidak ada laporan penggunaan {report_id}.", code="report_not_found"
    )


async def get_report(session: AsyncSession, actor: Actor, report_id: int) -> UsageReport:
    report = await _report(session, report_id)
    agreement = await grants.get_agreement(session, report.agreement_id)
    if report.status not in COUNTED_STATUSES and not can_see_drafts(actor, agreement):
        raise _report_not_found(report_id)
    return report


async def create_report(session: AsyncSession, actor: Actor, agreement_id: int, data: ReportCreate) -> UsageReport:
    agreement = await grants.get_agreement(session, agreement_id)
    ensure_own_recipient(actor, agreement)
    grants.ensure_open(agreement)
    grants.ensure_not_before(
        "period_start", data.period_start, agreement.signed_on, "the signing of the NPHD", "penandatanganan NPHD"
    )
    report = UsageReport(agreement_id=agreement_id, created_by_key_id=actor.key_id, **data.model_dump())
    session.add(report)
    await session.flush()
    audit.record(
        session,
        actor,
        action="usage_report.create",
        entity="usage_report",
        entity_id=report.id,
        payload={"agreement_id": agreement_id, **data.model_dump(mode="json")},
    )
    return report


async def list_reports(session: AsyncSession, actor: Actor, agreement_id: int, page: PageRequest) -> Page[UsageReport]:
    agreement = await grants.get_agreement(session, agreement_id)
    statement = sa.select(UsageReport).where(col(UsageReport.agreement_id) == agreement_id)
    if not can_see_drafts(actor, agreement):
        statement = statement.where(col(UsageReport.status).in_(COUNTED_STATUSES))
    return await paginate_by_id(session, statement, col(UsageReport.id), page)


def _ensure_status(report: UsageReport, action: str, *expected: ReportStatus) -> None:
    if report.status not in expected:
        wanted = " or ".join(status.value for status in expected)
        raise Conflict(
            f"Report {report.id} is {report.status.value}; to {action} it must be {wanted}.",
            f"Laporan {report.id} berstatus {report.status.value}; untuk {action} harus {wanted}.",
            code="invalid_transition",
        )


async def writable_report(session: AsyncSession, actor: Actor, report_id: int) -> tuple[UsageReport, Agreement]:
    """The report, locked, when ``actor`` may change its items now: its own recipient, in draft."""
    report = await _report(session, report_id, for_update=True)
    agreement = await grants.get_agreement(session, report.agreement_id)
    ensure_own_recipient(actor, agreement)
    grants.ensure_open(agreement)
    if report.status != ReportStatus.draft:
        raise Conflict(
            f"Report {report_id} is {report.status.value}: items change only while it is a draft.",
            f"Laporan {report_id} berstatus {report.status.value}: rincian hanya dapat diubah saat draf.",
            code="report_not_draft",
        )
    return report, agreement


async def _transition(
    session: AsyncSession, actor: Actor, report_id: int, if_match: str | None
) -> tuple[UsageReport, Agreement]:
    agreement_id = (
        await session.execute(sa.select(col(UsageReport.agreement_id)).where(col(UsageReport.id) == report_id))
    ).scalar_one_or_none()
    if agreement_id is None:
        raise _report_not_found(report_id)
    agreement = await grants.get_agreement(session, agreement_id, for_update=True)
    report = await _report(session, report_id, for_update=True)
    if report.status not in COUNTED_STATUSES and not can_see_drafts(actor, agreement):
        raise _report_not_found(report_id)
    check_if_match(if_match, report_etag(report))
    return report, agreement


def _stamp(report: UsageReport, status: ReportStatus) -> None:
    report.status = status
    report.version += 1
    report.updated_at = utcnow()


async def submit(session: AsyncSession, actor: Actor, report_id: int, if_match: str | None) -> UsageReport:
    report, agreement = await _transition(session, actor, report_id, if_match)
    ensure_own_recipient(actor, agreement)
    _ensure_status(report, "submit", ReportStatus.draft)
    grants.ensure_open(agreement)
    room = grants.held_by(agreement)
    if report.total > room:
        raise Conflict(
            f"This report's {grants.rupiah(report.total)} would bring reported spending above what was disbursed: "
            f"only {grants.rupiah(room)} is unaccounted for (disbursed less reported spending and refunds).",
            f"Laporan {grants.rupiah(report.total)} ini membuat penggunaan melebihi dana yang dicairkan: "
            f"sisa yang belum dipertanggungjawabkan {grants.rupiah(room)}.",
            code="spending_exceeds_disbursed",
        )
    agreement.spent_reported += report.total
    report.submitted_at = utcnow()
    _stamp(report, ReportStatus.submitted)
    await session.flush()
    await _record_spend(session, report_id)
    _record_transition(session, actor, report, "submit")
    return report


_SPEND_OF_REPORT = sa.text("""
INSERT INTO usage_report_spend (report_id, stage, category, amount, items)
SELECT report_id, stage, category, sum(amount), count(*) FROM usage_item WHERE report_id = :report_id
GROUP BY report_id, stage, category
""")


async def _record_spend(session: AsyncSession, report_id: int) -> None:
    """Fix the report's breakdown by stage and category now that its items can no longer change."""
    await _forget_spend(session, report_id)
    await session.execute(_SPEND_OF_REPORT, {"report_id": report_id})


async def _forget_spend(session: AsyncSession, report_id: int) -> None:
    await session.execute(sa.delete(UsageReportSpend).where(col(UsageReportSpend.report_id) == report_id))


async def accept(
    session: AsyncSession, actor: Actor, report_id: int, if_match: str | None, note: str | None
) -> UsageReport:
    report, agreement = await _transition(session, actor, report_id, if_match)
    ensure_reviewer(actor, agreement)
    _ensure_status(report, "accept", ReportStatus.submitted)
    agreement.spent_accepted += report.total
    _reviewed(report, actor, note)
    _stamp(report, ReportStatus.accepted)
    await session.flush()
    _record_transition(session, actor, report, "accept")
    return report


async def return_report(
    session: AsyncSession, actor: Actor, report_id: int, if_match: str | None, note: str
) -> UsageReport:
    report, agreement = await _transition(session, actor, report_id, if_match)
    ensure_reviewer(actor, agreement)
    _ensure_status(report, "return", ReportStatus.submitted)
    agreement.spent_reported -= report.total
    _reviewed(report, actor, note)
    _stamp(report, ReportStatus.returned)
    await session.flush()
    _record_transition(session, actor, report, "return")
    return report


async def reopen(session: AsyncSession, actor: Actor, report_id: int, if_match: str | None) -> UsageReport:
    report, agreement = await _transition(session, actor, report_id, if_match)
    ensure_own_recipient(actor, agreement)
    _ensure_status(report, "reopen", ReportStatus.returned)
    _stamp(report, ReportStatus.draft)
    await session.flush()
    await _forget_spend(session, report_id)  # its items may change again
    _record_transition(session, actor, report, "reopen")
    return report


def _reviewed(report: UsageReport, actor: Actor, note: str | None) -> None:
    report.review_note = note
    report.reviewed_at = utcnow()
    report.reviewed_by_key_id = actor.key_id


def _record_transition(session: AsyncSession, actor: Actor, report: UsageReport, verb: str) -> None:
    audit.record(
        session,
        actor,
        action=f"usage_report.{verb}",
        entity="usage_report",
        entity_id=report.id,
        payload={"agreement_id": report.agreement_id, "total": f"{report.total:.2f}", "note": report.review_note},
    )


async def require_accepted_final_report(session: AsyncSession, agreement: Agreement) -> None:
    """Closing rule: an accepted final report, nothing left under review. Only a grant that never paid
    out and never reported (a cancelled NPHD) closes without one."""
    rows = await session.execute(
        sa.select(col(UsageReport.status), sa.func.count())
        .where(col(UsageReport.agreement_id) == agreement.id)
        .group_by(col(UsageReport.status))
    )
    counts = {status: number for status, number in rows}
    if not counts and not await _ever_disbursed(session, agreement):
        return
    if counts.get(ReportStatus.submitted):
        raise Conflict(
            "A usage report is still under review; accept or return it before closing.",
            "Masih ada laporan penggunaan dalam peninjauan; terima atau kembalikan sebelum menutup.",
            code="report_under_review",
        )
    final_accepted = await session.execute(
        sa.select(col(UsageReport.id))
        .where(
            col(UsageReport.agreement_id) == agreement.id,
            col(UsageReport.kind) == ReportKind.final,
            col(UsageReport.status) == ReportStatus.accepted,
        )
        .limit(1)
    )
    if final_accepted.scalar_one_or_none() is None:
        raise Conflict(
            "The agreement closes only after its final usage report is accepted.",
            "NPHD hanya dapat ditutup setelah laporan akhir penggunaan diterima.",
            code="final_report_required",
        )


async def _ever_disbursed(session: AsyncSession, agreement: Agreement) -> bool:
    found = await session.execute(
        sa.select(col(Disbursement.id)).where(col(Disbursement.agreement_id) == agreement.id).limit(1)
    )
    return found.scalar_one_or_none() is not None


grants.CLOSE_CHECKS.append(require_accepted_final_report)


# --- items ---------------------------------------------------------------------------------------


async def _known_codes(session: AsyncSession) -> tuple[set[str], set[str]]:
    stages = set((await session.execute(sa.select(col(StageCode.code)))).scalars())
    categories = set((await session.execute(sa.select(col(CategoryCode.code)))).scalars())
    return stages, categories


def _item_errors(
    prefix: str, item: ItemIn | ItemUpdate, report: UsageReport, signed_on: date, codes: tuple[set[str], set[str]]
) -> list[FieldError]:
    stages, categories = codes
    errors = []
    if item.spent_on is not None:
        if not report.period_start <= item.spent_on <= report.period_end:
            errors.append(
                FieldError(
                    field=f"{prefix}spent_on",
                    message=f"outside the report period {report.period_start}..{report.period_end}",
                )
            )
        elif item.spent_on < signed_on:
            errors.append(FieldError(field=f"{prefix}spent_on", message=f"before the NPHD was signed ({signed_on})"))
    if item.stage is not None and item.stage not in stages:
        errors.append(FieldError(field=f"{prefix}stage", message=f"unknown stage code {item.stage!r}"))
    if item.category is not None and item.category not in categories:
        errors.append(FieldError(field=f"{prefix}category", message=f"unknown category code {item.category!r}"))
    return errors


def _rejected(errors: list[FieldError]) -> InvalidInput:
    return InvalidInput(
        f"{len(errors)} item field(s) break the reporting rules; nothing was stored.",
        f"{len(errors)} isian rincian melanggar aturan pelaporan; tidak ada yang disimpan.",
        code="items_rejected",
        errors=errors[:100],
    )


def _touch(report: UsageReport, added: Decimal, count: int) -> None:
    report.total += added
    report.item_count += count
    report.version += 1
    report.updated_at = utcnow()


async def add_items(session: AsyncSession, actor: Actor, report_id: int, items: Sequence[ItemIn]) -> UsageReport:
    report, agreement = await writable_report(session, actor, report_id)
    codes = await _known_codes(session)
    errors = [
        error
        for index, item in enumerate(items)
        for error in _item_errors(f"items.{index}.", item, report, agreement.signed_on, codes)
    ]
    if errors:
        raise _rejected(errors)
    await session.execute(sa.insert(UsageItem), [{"report_id": report_id, **item.model_dump()} for item in items])
    _touch(report, sum((item.amount for item in items), ZERO), len(items))
    await session.flush()
    audit.record(
        session,
        actor,
        action="usage_item.add",
        entity="usage_report",
        entity_id=report_id,
        payload={"items": len(items), "total": f"{sum((item.amount for item in items), ZERO):.2f}"},
    )
    return report


def _item_not_found(item_id: int) -> NotFound:
    return NotFound(f"There is no usage item {item_id}.", f"Tidak ada rincian {item_id}.", code="item_not_found")


async def _locked_item(session: AsyncSession, actor: Actor, item_id: int) -> tuple[UsageItem, UsageReport, Agreement]:
    """The item and its report, both locked and read fresh, so racing edits of one item cannot both count."""
    report_id = (
        await session.execute(sa.select(col(UsageItem.report_id)).where(col(UsageItem.id) == item_id))
    ).scalar_one_or_none()
    if report_id is None:
        raise _item_not_found(item_id)
    report, agreement = await writable_report(session, actor, report_id)
    item = await one_or_raise(
        session, UsageItem, col(UsageItem.id) == item_id, _item_not_found(item_id), for_update=True
    )
    return item, report, agreement


async def update_item(session: AsyncSession, actor: Actor, item_id: int, data: ItemUpdate) -> UsageItem:
    item, report, agreement = await _locked_item(session, actor, item_id)
    changes = data.model_dump(exclude_unset=True)
    required = ("spent_on", "category", "stage", "description", "amount")
    if any(changes.get(name, True) is None for name in required):
        raise InvalidInput(
            "spent_on, category, stage, description and amount cannot be emptied.",
            "spent_on, category, stage, description dan amount tidak boleh dikosongkan.",
            errors=[
                FieldError(field=name, message="cannot be null")
                for name in required
                if name in changes and changes[name] is None
            ],
        )
    errors = _item_errors("", data, report, agreement.signed_on, await _known_codes(session))
    if errors:
        raise _rejected(errors)
    before = item.amount
    for name, value in changes.items():
        setattr(item, name, value)
    _touch(report, item.amount - before, 0)
    await session.flush()
    audit.record(
        session,
        actor,
        action="usage_item.update",
        entity="usage_item",
        entity_id=item_id,
        payload=data.model_dump(mode="json", exclude_unset=True, exclude={"payee"}),
    )
    return item


async def delete_item(session: AsyncSession, actor: Actor, item_id: int) -> None:
    item, report, _ = await _locked_item(session, actor, item_id)
    await session.delete(item)
    _touch(report, -item.amount, -1)
    await session.flush()
    audit.record(
        session,
        actor,
        action="usage_item.delete",
        entity="usage_item",
        entity_id=item_id,
        payload={"report_id": report.id, "amount": f"{item.amount:.2f}"},
    )


def item_view(item: UsageItem, actor: Actor) -> ItemOut:
    """Readers without a key never see who was paid, nor the document that names them."""
    out = ItemOut.model_validate(item)
    if actor.is_public:
        return out.model_copy(update={"payee": None, "document_number": None})
    return out


async def list_items(
    session: AsyncSession,
    actor: Actor,
    report_id: int,
    page: PageRequest,
    *,
    category: str | None = None,
    stage: str | None = None,
    spent_from: date | None = None,
    spent_to: date | None = None,
) -> Page[ItemOut]:
    await get_report(session, actor, report_id)
    statement = (
        sa.select(UsageItem)
        .where(col(UsageItem.report_id) == report_id)
        .order_by(col(UsageItem.id))
        .limit(page.limit + 1)
    )
    filters: list[Any] = []
    if category is not None:
        filters.append(col(UsageItem.category) == category)
    if stage is not None:
        filters.append(col(UsageItem.stage) == stage)
    if spent_from is not None:
        filters.append(col(UsageItem.spent_on) >= spent_from)
    if spent_to is not None:
        filters.append(col(UsageItem.spent_on) <= spent_to)
    after = cursor_value(page, 0, int)
    if after is not None:
        filters.append(col(UsageItem.id) > after)
    rows = (await session.execute(statement.where(*filters))).scalars().all()
    items = page_of(rows, page, lambda item: [item.id])
    return Page[ItemOut](data=[item_view(item, actor) for item in items.data], next_cursor=items.next_cursor)


# --- budget variance -----------------------------------------------------------------------------


async def budget_variance(session: AsyncSession, agreement_id: int) -> BudgetVariance:
    await grants.get_agreement(session, agreement_id)
    budget = {
        (line.stage, line.category): line.amount
        for line in (
            await session.execute(sa.select(BudgetLine).where(col(BudgetLine.agreement_id) == agreement_id))
        ).scalars()
    }
    amount = col(UsageReportSpend.amount)
    spending = await session.execute(
        sa.select(
            col(UsageReportSpend.stage),
            col(UsageReportSpend.category),
            sa.func.sum(amount),
            sa.func.sum(amount).filter(col(UsageReport.status) == ReportStatus.accepted),
        )
        .join(UsageReport, col(UsageReport.id) == col(UsageReportSpend.report_id))
        .where(col(UsageReport.agreement_id) == agreement_id, col(UsageReport.status).in_(COUNTED_STATUSES))
        .group_by(col(UsageReportSpend.stage), col(UsageReportSpend.category))
    )
    reported = {(stage, category): (total or ZERO, accepted or ZERO) for stage, category, total, accepted in spending}
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
    unbudgeted = sum((spent for key, (spent, _) in reported.items() if key not in budget), ZERO)
    return BudgetVariance(
        agreement_id=agreement_id,
        lines=lines,
        budgeted=sum(budget.values(), ZERO),
        reported=sum((spent for spent, _ in reported.values()), ZERO),
        unbudgeted=unbudgeted,
    )
