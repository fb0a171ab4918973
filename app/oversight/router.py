"""What auditors, the Ministry and watchdogs come for: summaries, compliance findings, export files."""

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import StreamingResponse

from app.core.auth import CurrentActor
from app.core.config import get_settings
from app.core.deps import Session
from app.core.errors import InvalidInput
from app.core.http import PROBLEMS
from app.core.types import DB_ID_MAX
from app.grants.models import AgreementStatus
from app.oversight import exports, findings, summaries
from app.oversight.schemas import Findings, GroupBy, Rule, Severity, Summary
from app.reference.models import RecipientKind
from app.reference.schemas import REGION_CODE_PATTERN
from app.reports.models import UsageItem

router = APIRouter(tags=["oversight"], responses=PROBLEMS)

EXPORT_NAME = r"^(agreements|disbursements|refunds|usage-items|findings)\.(csv|xlsx)$"


def agreement_filters(
    region_code: Annotated[str | None, Query(pattern=REGION_CODE_PATTERN)] = None,
    province: Annotated[str | None, Query(pattern=r"^[0-9]{2}$", description="Province code, e.g. 35.")] = None,
    election_id: Annotated[int | None, Query(ge=1, le=DB_ID_MAX)] = None,
    recipient_kind: RecipientKind | None = None,
    status: AgreementStatus | None = None,
    year: Annotated[int | None, Query(ge=2000, le=2100, description="Year of the voting day.")] = None,
) -> list[Any]:
    return summaries.agreement_filters(
        region_code=region_code,
        province=province,
        election_id=election_id,
        recipient_kind=recipient_kind,
        status=status,
        year=year,
    )


AgreementFilters = Annotated[list[Any], Depends(agreement_filters)]
AsOf = Annotated[date | None, Query(description="Check the records as they stood on this day (default: today).")]


@router.get("/summaries", response_model=Summary)
async def summary(session: Session, filters: AgreementFilters, group_by: GroupBy = GroupBy.province) -> Summary:
    return await summaries.summarise(session, group_by, filters)


@router.get("/compliance/findings", response_model=Findings)
async def compliance_findings(
    session: Session,
    filters: AgreementFilters,
    as_of: AsOf = None,
    rule: Rule | None = None,
    severity: Severity | None = None,
) -> Findings:
    day = as_of or date.today()
    found = await findings.findings(session, get_settings(), filters, as_of=day, rule=rule, severity=severity)
    return Findings(as_of=day, data=found)


def _item_filters(
    report_id: int | None, category: str | None, stage: str | None, spent_from: date | None, spent_to: date | None
) -> list[Any]:
    conditions: list[Any] = []
    for column, value in ((UsageItem.report_id, report_id), (UsageItem.category, category), (UsageItem.stage, stage)):
        if value is not None:
            conditions.append(column == value)
    if spent_from is not None:
        conditions.append(UsageItem.spent_on >= spent_from)
    if spent_to is not None:
        conditions.append(UsageItem.spent_on <= spent_to)
    return conditions


@router.get(
    "/exports/{name}",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}, exports.MEDIA_TYPES[exports.FileFormat.xlsx]: {}}}},
    description=(
        "`agreements`, `disbursements`, `refunds`, `usage-items` or `findings`, as `.csv` or `.xlsx`, with the"
        " filters of the lists. Streamed in constant memory. Without a key, payees are withheld."
    ),
)
async def export(
    request: Request,
    session: Session,
    actor: CurrentActor,
    filters: AgreementFilters,
    name: Annotated[str, Path(pattern=EXPORT_NAME, examples=["agreements.csv"])],
    report_id: Annotated[int | None, Query(ge=1, le=DB_ID_MAX)] = None,
    category: Annotated[str | None, Query(max_length=48, pattern=r"^[a-z_]+$")] = None,
    stage: Annotated[str | None, Query(max_length=48, pattern=r"^[a-z_]+$")] = None,
    spent_from: date | None = None,
    spent_to: date | None = None,
    as_of: AsOf = None,
    rule: Rule | None = None,
    severity: Severity | None = None,
) -> StreamingResponse:
    stem, _, suffix = name.partition(".")
    dataset, file_format = exports.Dataset(stem), exports.FileFormat(suffix)
    sessions = request.app.state.sessions
    if dataset == exports.Dataset.findings:
        day = as_of or date.today()
        found = await findings.findings(session, get_settings(), filters, as_of=day, rule=rule, severity=severity)
        rows = [
            [
                f.rule.value,
                f.severity.value,
                f.agreement_id,
                f.agreement_number,
                f.region_code,
                f.recipient_kind,
                f.due_on,
                f.regulation,
                exports.facts_text(f.facts),
            ]
            for f in found
        ]
        body = exports.render(file_format, exports.from_list(rows), exports.FINDINGS_HEADER, stem)
    else:
        chosen = _dataset_export(
            dataset, filters, actor, _item_filters(report_id, category, stage, spent_from, spent_to)
        )
        by_copy = exports.copy_statement(chosen) if file_format == exports.FileFormat.csv else None
        if by_copy is not None:
            body = exports.stream_csv_by_copy(sessions, by_copy, chosen.header)
        else:
            body = exports.render(file_format, exports.from_database(sessions, chosen), chosen.header, stem)
    return StreamingResponse(
        body,
        media_type=exports.MEDIA_TYPES[file_format],
        headers={"Content-Disposition": f'attachment; filename="hibah-{name}"'},
    )


def _dataset_export(
    dataset: exports.Dataset, filters: list[Any], actor: Any, item_filters: list[Any]
) -> exports.Export:
    if dataset == exports.Dataset.agreements:
        return exports.agreements_export(filters)
    if dataset == exports.Dataset.disbursements:
        return exports.disbursements_export(filters)
    if dataset == exports.Dataset.refunds:
        return exports.refunds_export(filters)
    if dataset == exports.Dataset.usage_items:
        return exports.usage_items_export(filters, item_filters, actor)
    raise InvalidInput(f"There is no export {dataset}.", f"Tidak ada ekspor {dataset}.")
