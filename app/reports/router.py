"""HTTP routes of usage reports and their items: recipients write, everyone reads what they may see."""

from typing import Annotated

from fastapi import Depends, Path, Query, Request, Response

from app.core.actor import Actor, Role
from app.core.auth import CurrentActor, require
from app.core.deps import Tx
from app.core.errors import FieldsCannotBeEmptied, UnsupportedMediaType
from app.core.http import domain_router, require_media_type, validators
from app.core.idempotency import OptionalIdempotency, StreamedIdempotency
from app.core.openapi import problems
from app.core.pagination import Page, PageRequest, convert_page, page_request
from app.core.types import DB_ID_MAX, LedgerDate
from app.grants.errors import AgreementClosed, AgreementNotFound
from app.reports import importer, service
from app.reports.errors import (
    ImportEmpty,
    ImportRejected,
    InvalidHeader,
    ItemNotFound,
    ItemsRejected,
    NotYourReport,
    PeriodStartTooEarly,
    ReportNotDraft,
    ReportNotFound,
)
from app.reports.schemas import (
    BudgetVariance,
    ImportResult,
    ItemBatch,
    ItemOut,
    ItemsAdded,
    ItemUpdate,
    ReportCreate,
    ReportOut,
)

router = domain_router("reports")

Paging = Annotated[PageRequest, Depends(page_request)]
IdPath = Annotated[int, Path(ge=1, le=DB_ID_MAX)]
ItemIdPath = Annotated[int, Path(ge=1, le=2**63 - 1)]
Reporter = Annotated[Actor, Depends(require(Role.recipient))]
CodeQuery = Annotated[str | None, Query(max_length=48, pattern=r"^[a-z_]+$")]
DateQuery = Annotated[LedgerDate | None, Query()]
DRAFT_PROBLEMS = (ReportNotFound, NotYourReport, AgreementClosed, ReportNotDraft)
"""What any write into a draft can meet."""

IMPORT_TYPES = {
    "text/csv": importer.ImportFormat.csv,
    "application/x-ndjson": importer.ImportFormat.ndjson,
    "application/ndjson": importer.ImportFormat.ndjson,
    "application/jsonl": importer.ImportFormat.ndjson,
}


@router.post(
    "/agreements/{agreement_id:int}/usage-reports",
    response_model=ReportOut,
    status_code=201,
    dependencies=[OptionalIdempotency],
    responses=problems(AgreementNotFound, NotYourReport, AgreementClosed, PeriodStartTooEarly),
)
async def create_report(
    tx: Tx, actor: Reporter, agreement_id: IdPath, body: ReportCreate, response: Response
) -> ReportOut:
    """Open a draft usage report (interim or final) for a period of the recipient's own agreement."""
    report = await service.create_report(tx, actor, agreement_id, body)
    response.headers.update({"ETag": service.report_etag(report), "Location": f"/api/v1/usage-reports/{report.id}"})
    return ReportOut.model_validate(report)


@router.get(
    "/agreements/{agreement_id:int}/usage-reports",
    response_model=Page[ReportOut],
    responses=problems(AgreementNotFound),
)
async def list_reports(tx: Tx, actor: CurrentActor, agreement_id: IdPath, paging: Paging) -> Page[ReportOut]:
    """The usage reports of an agreement: drafts only to their recipient's key."""
    return convert_page(await service.list_reports(tx, actor, agreement_id, paging), ReportOut)


@router.get("/usage-reports/{report_id:int}", response_model=ReportOut, responses=problems(ReportNotFound))
async def get_report(tx: Tx, actor: CurrentActor, report_id: IdPath, response: Response) -> ReportOut:
    """One usage report with its total and item count, its ETag and Last-Modified."""
    report = await service.get_report(tx, actor, report_id)
    response.headers.update(validators(service.report_etag(report), report.updated_at))
    return ReportOut.model_validate(report)


@router.post(
    "/usage-reports/{report_id:int}/items",
    response_model=ItemsAdded,
    status_code=201,
    dependencies=[OptionalIdempotency],
    responses=problems(*DRAFT_PROBLEMS, ItemsRejected),
)
async def add_items(tx: Tx, actor: Reporter, report_id: IdPath, body: ItemBatch, response: Response) -> ItemsAdded:
    """Add up to 1,000 items to a draft report, all or none."""
    report = await service.add_items(tx, actor, report_id, body.items)
    response.headers["ETag"] = service.report_etag(report)
    return ItemsAdded(added=len(body.items), report=report)


@router.get("/usage-reports/{report_id:int}/items", response_model=Page[ItemOut], responses=problems(ReportNotFound))
async def list_items(
    tx: Tx,
    actor: CurrentActor,
    report_id: IdPath,
    paging: Paging,
    category: CodeQuery = None,
    stage: CodeQuery = None,
    spent_from: DateQuery = None,
    spent_to: DateQuery = None,
) -> Page[ItemOut]:
    """The items of a report, filtered by category, stage or the day spent; payees and document numbers are withheld
    without a key.
    """
    return await service.list_items(
        tx, actor, report_id, paging, category=category, stage=stage, spent_from=spent_from, spent_to=spent_to
    )


@router.patch(
    "/usage-items/{item_id:int}",
    response_model=ItemOut,
    responses=problems(ItemNotFound, *DRAFT_PROBLEMS, ItemsRejected, FieldsCannotBeEmptied),
)
async def update_item(tx: Tx, actor: Reporter, item_id: ItemIdPath, body: ItemUpdate) -> ItemOut:
    """Change an item of a draft report."""
    return await service.update_item(tx, actor, item_id, body)


@router.delete("/usage-items/{item_id:int}", status_code=204, responses=problems(ItemNotFound, *DRAFT_PROBLEMS))
async def delete_item(tx: Tx, actor: Reporter, item_id: ItemIdPath) -> Response:
    """Remove an item from a draft report."""
    await service.delete_item(tx, actor, item_id)
    return Response(status_code=204)


@router.post(
    "/usage-reports/{report_id:int}/items/import",
    response_model=ImportResult,
    status_code=201,
    dependencies=[StreamedIdempotency],
    responses=problems(*DRAFT_PROBLEMS, UnsupportedMediaType, InvalidHeader, ImportRejected, ImportEmpty),
    description=(
        "Stream a CSV (`text/csv`, header row of item field names) or NDJSON (`application/x-ndjson`, one"
        " object per line) of items into a draft report. All rows or none: a rejected file answers 422 with"
        " the first 100 bad rows (`rows`: row, column, message) and the count of bad rows (`bad_rows`)."
        " Send an `Idempotency-Key` so a retry after a timeout replays the first answer instead of importing twice."
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/x-ndjson": {"schema": {"type": "string"}},
            },
        }
    },
)
async def import_items(
    request: Request, tx: Tx, actor: Reporter, report_id: IdPath, response: Response
) -> ImportResult:
    file_format = IMPORT_TYPES[require_media_type(request, *IMPORT_TYPES)]
    outcome, report = await importer.import_items(
        tx, actor, report_id, chunks=request.stream(), file_format=file_format
    )
    response.headers["ETag"] = service.report_etag(report)
    return ImportResult(rows=outcome.rows, total=outcome.total, sha256=outcome.sha256, report=report)


@router.get(
    "/agreements/{agreement_id:int}/budget-variance",
    response_model=BudgetVariance,
    responses=problems(AgreementNotFound),
)
async def budget_variance(tx: Tx, agreement_id: IdPath) -> BudgetVariance:
    """Spending against each budget line (RAB) of an agreement."""
    return await service.budget_variance(tx, agreement_id)
