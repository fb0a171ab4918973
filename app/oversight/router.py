"""HTTP routes of oversight: summaries, compliance findings, export files."""

from datetime import date
from typing import Annotated

from fastapi import Path, Query, Request
from fastapi.responses import StreamingResponse

from app.core.auth import CurrentActor
from app.core.deps import AppSettings, Tx
from app.core.http import domain_router
from app.core.replicas import engine_for
from app.core.types import DB_ID_MAX, LedgerDate
from app.grants.filters import AgreementFilters
from app.oversight import exports, service
from app.oversight.schemas import Findings, GroupBy, Rule, Severity, Summary

router = domain_router("oversight")

EXPORT_NAME = r"^(agreements|disbursements|refunds|usage-items|findings)\.(csv|xlsx)$"
AsOf = Annotated[LedgerDate | None, Query(description="Check the records as they stood on this day (default: today).")]
DateQuery = Annotated[LedgerDate | None, Query()]
CodeQuery = Annotated[str | None, Query(max_length=48, pattern=r"^[a-z_]+$")]


@router.get("/summaries", response_model=Summary)
async def summary(tx: Tx, where: AgreementFilters, group_by: GroupBy = GroupBy.province) -> Summary:
    """The position fields summed by region, province, election or recipient kind, with counts and a national total;
    the filters of the agreement list.
    """
    return await service.summarise(tx, group_by, where)


@router.get("/compliance/findings", response_model=Findings)
async def compliance_findings(
    tx: Tx,
    settings: AppSettings,
    where: AgreementFilters,
    as_of: AsOf = None,
    rule: Rule | None = None,
    severity: Severity | None = None,
) -> Findings:
    """Compliance findings computed from the records and the calendar as of a day: each with its rule, severity, facts,
    due date and regulation.
    """
    day = as_of or date.today()
    return Findings(
        as_of=day, data=await service.findings(tx, settings, where, as_of=day, rule=rule, severity=severity)
    )


@router.get(
    "/exports/{name}",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}, exports.MEDIA_TYPES[exports.FileFormat.xlsx]: {}}}},
    description=(
        "`agreements`, `disbursements`, `refunds`, `usage-items` or `findings`, as `.csv` or `.xlsx`, with the"
        " filters of the lists. Streamed in constant memory. In `usage-items`, `payee` and `document_number` are"
        " empty unless the reader is a finance, auditor or admin key, or the key of the recipient that owns the"
        " row's report (README: who sees what)."
    ),
)
async def export(
    request: Request,
    tx: Tx,
    settings: AppSettings,
    actor: CurrentActor,
    where: AgreementFilters,
    name: Annotated[str, Path(pattern=EXPORT_NAME, examples=["agreements.csv"])],
    report_id: Annotated[int | None, Query(ge=1, le=DB_ID_MAX)] = None,
    category: CodeQuery = None,
    stage: CodeQuery = None,
    spent_from: DateQuery = None,
    spent_to: DateQuery = None,
    as_of: AsOf = None,
    rule: Rule | None = None,
    severity: Severity | None = None,
) -> StreamingResponse:
    wanted = service.ExportRequest(
        name=name,
        where=where,
        items=exports.ItemFilter(report_id, category, stage, spent_from, spent_to),
        as_of=as_of or date.today(),
        rule=rule,
        severity=severity,
    )
    file = await service.export(tx, engine_for(request), settings, actor, wanted)
    return StreamingResponse(
        file.body,
        media_type=file.media_type,
        headers={"Content-Disposition": f'attachment; filename="{file.filename}"'},
    )
