"""HTTP routes of oversight: summaries, compliance findings, export files."""

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request
from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from app.core.auth import CurrentActor
from app.core.deps import AppSettings, Tx
from app.core.http import domain_router
from app.core.openapi import problems
from app.core.replicas import replica_engine_for
from app.core.types import DB_ID_MAX, LedgerDate
from app.grants.filters import AgreementFilter, AgreementFilters
from app.oversight import exports, service
from app.oversight.errors import ExportBusy
from app.oversight.schemas import DataPackage, Findings, GroupBy, Rule, Severity, Summary
from app.support.filters import SupportFilter
from app.support.models import SupportKind

router = domain_router("oversight")

EXPORT_NAME = r"^(agreements|disbursements|refunds|usage-items|findings|support)\.(csv|xlsx)$"
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


@dataclass(frozen=True)
class ExportFilters:
    where: AgreementFilter
    items: exports.ItemFilter
    as_of: date
    rule: Rule | None
    severity: Severity | None
    support: SupportFilter


def export_filters(
    where: AgreementFilters,
    report_id: Annotated[int | None, Query(ge=1, le=DB_ID_MAX)] = None,
    category: CodeQuery = None,
    stage: CodeQuery = None,
    spent_from: DateQuery = None,
    spent_to: DateQuery = None,
    as_of: AsOf = None,
    rule: Rule | None = None,
    severity: Severity | None = None,
    kind: Annotated[SupportKind | None, Query(description="support: one kind of support.")] = None,
    outstanding: Annotated[bool | None, Query(description="support: asset loans not yet returned.")] = None,
) -> ExportFilters:
    """The filters of every export (and of the data package, which hands them on to each file's path)."""
    items = exports.ItemFilter(report_id, category, stage, spent_from, spent_to)
    support = SupportFilter(where, kind, outstanding)
    return ExportFilters(where, items, as_of or date.today(), rule, severity, support)


Filters = Annotated[ExportFilters, Depends(export_filters)]


@router.get(
    "/exports/datapackage.json",
    response_model=DataPackage,
    description=(
        "A Frictionless Data Package describing every CSV export with a Table Schema (types, constraints, keys,"
        " Indonesian and English titles), the data's licence and publisher. Each resource's `path` is the live"
        " export URL with this request's filters, so `frictionless validate` or a CKAN portal reads the data"
        " unaided."
    ),
)
async def export_package(request: Request, tx: Tx, settings: AppSettings, filters: Filters) -> DataPackage:
    query = request.url.query

    def path(dataset: exports.Dataset) -> str:
        url = str(request.url_for("export", name=f"{dataset.value}.csv"))
        return f"{url}?{query}" if query else url

    return await service.describe_exports(tx, settings, path)


@router.get(
    "/exports/{name:export_file}",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/csv": {}, exports.MEDIA_TYPES[exports.FileFormat.xlsx]: {}}},
        **problems(ExportBusy),
    },
    description=(
        "`agreements`, `disbursements`, `refunds`, `usage-items`, `findings` or `support` (in kind; `kind` and"
        " `outstanding` filter it; its `quantity` is a count or measure, not money, written as text), as `.csv` or"
        " `.xlsx`, with the filters of the lists. Streamed in constant memory. In `usage-items`, `payee` and"
        " `document_number` are empty unless the reader is a finance, auditor or admin key, or the key of the"
        " recipient that owns the row's report (README: who sees what)."
    ),
)
async def export(
    request: Request,
    tx: Tx,
    settings: AppSettings,
    actor: CurrentActor,
    filters: Filters,
    name: Annotated[str, Path(pattern=EXPORT_NAME, examples=["agreements.csv"])],
) -> StreamingResponse:
    wanted = service.ExportRequest(
        name=name,
        where=filters.where,
        items=filters.items,
        as_of=filters.as_of,
        rule=filters.rule,
        severity=filters.severity,
        support=filters.support,
    )
    file = await service.export(
        tx, request.app.state.exports, settings, actor, wanted, replica=replica_engine_for(request)
    )
    return ExportResponse(
        file.opened,
        file.body,
        media_type=file.media_type,
        headers={"Content-Disposition": f'attachment; filename="{file.filename}"'},
    )


class ExportResponse(StreamingResponse):
    """A streamed export that gives its slot and connection back when the response ends, even one whose body was
    never read (a HEAD, a client gone before the first byte)."""

    def __init__(self, opened: exports.OpenExport, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.opened = opened

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self.opened.close()
