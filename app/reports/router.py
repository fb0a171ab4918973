"""HTTP routes of usage reports: recipients report, finance offices and auditors review."""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from app.core.actor import Actor, Role
from app.core.auth import CurrentActor, require
from app.core.deps import Session
from app.core.http import PROBLEMS, IfMatch, require_media_type, with_etag
from app.core.idempotency import OptionalIdempotency, StreamedIdempotency
from app.core.pagination import Page, PageRequest, convert_page, page_request
from app.core.types import DB_ID_MAX
from app.reports import importer, service
from app.reports.schemas import (
    BudgetVariance,
    ImportResult,
    ItemBatch,
    ItemOut,
    ItemsAdded,
    ItemUpdate,
    ReportCreate,
    ReportOut,
    ReturnRequest,
    ReviewNote,
)

router = APIRouter(tags=["reports"], responses=PROBLEMS)

Paging = Annotated[PageRequest, Depends(page_request)]
IdPath = Annotated[int, Path(ge=1, le=DB_ID_MAX)]
ItemIdPath = Annotated[int, Path(ge=1, le=2**63 - 1)]
Reporter = Annotated[Actor, Depends(require(Role.recipient))]
Reviewer = Annotated[Actor, Depends(require(Role.finance, Role.auditor))]
CodeQuery = Annotated[str | None, Query(max_length=48, pattern=r"^[a-z_]+$")]

IMPORT_TYPES = {
    "text/csv": importer.ImportFormat.csv,
    "application/x-ndjson": importer.ImportFormat.ndjson,
    "application/ndjson": importer.ImportFormat.ndjson,
    "application/jsonl": importer.ImportFormat.ndjson,
}


def _report_response(report_out: ReportOut, etag: str) -> Response:
    return with_etag(report_out, etag)


@router.post("/agreements/{agreement_id}/usage-reports", response_model=ReportOut, status_code=201)
async def create_report(
    session: Session, actor: Reporter, idempotency: OptionalIdempotency, agreement_id: IdPath, body: ReportCreate
) -> Response:
    report = await service.create_report(session, actor, agreement_id, body)
    return await idempotency.respond(
        ReportOut.model_validate(report),
        headers={"ETag": service.report_etag(report), "Location": f"/api/v1/usage-reports/{report.id}"},
    )


@router.get("/agreements/{agreement_id}/usage-reports", response_model=Page[ReportOut])
async def list_reports(session: Session, actor: CurrentActor, agreement_id: IdPath, paging: Paging) -> Page[ReportOut]:
    return convert_page(await service.list_reports(session, actor, agreement_id, paging), ReportOut)


@router.get("/usage-reports/{report_id}", response_model=ReportOut)
async def get_report(session: Session, actor: CurrentActor, report_id: IdPath) -> Response:
    report = await service.get_report(session, actor, report_id)
    return _report_response(ReportOut.model_validate(report), service.report_etag(report))


@router.post("/usage-reports/{report_id}/items", response_model=ItemsAdded, status_code=201)
async def add_items(
    session: Session, actor: Reporter, idempotency: OptionalIdempotency, report_id: IdPath, body: ItemBatch
) -> Response:
    report = await service.add_items(session, actor, report_id, body.items)
    added = ItemsAdded(added=len(body.items), report=ReportOut.model_validate(report))
    return await idempotency.respond(added, headers={"ETag": service.report_etag(report)})


@router.get("/usage-reports/{report_id}/items", response_model=Page[ItemOut])
async def list_items(
    session: Session,
    actor: CurrentActor,
    report_id: IdPath,
    paging: Paging,
    category: CodeQuery = None,
    stage: CodeQuery = None,
    spent_from: date | None = None,
    spent_to: date | None = None,
) -> Page[ItemOut]:
    return await service.list_items(
        session, actor, report_id, paging, category=category, stage=stage, spent_from=spent_from, spent_to=spent_to
    )


@router.patch("/usage-items/{item_id}", response_model=ItemOut)
async def update_item(session: Session, actor: Reporter, item_id: ItemIdPath, body: ItemUpdate) -> ItemOut:
    return service.item_view(await service.update_item(session, actor, item_id, body), actor)


@router.delete("/usage-items/{item_id}", status_code=204)
async def delete_item(session: Session, actor: Reporter, item_id: ItemIdPath) -> Response:
    await service.delete_item(session, actor, item_id)
    return Response(status_code=204)


@router.post(
    "/usage-reports/{report_id}/items/import",
    response_model=ImportResult,
    status_code=201,
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
    request: Request, session: Session, actor: Reporter, idempotency: StreamedIdempotency, report_id: IdPath
) -> Response:
    file_format = IMPORT_TYPES[require_media_type(request, *IMPORT_TYPES)]
    outcome, report = await importer.import_items(
        session, actor, report_id, chunks=request.stream(), file_format=file_format
    )
    result = ImportResult(
        rows=outcome.rows, total=outcome.total, sha256=outcome.sha256, report=ReportOut.model_validate(report)
    )
    return await idempotency.respond(result, headers={"ETag": service.report_etag(report)})


@router.post("/usage-reports/{report_id}/submit", response_model=ReportOut)
async def submit(session: Session, actor: Reporter, report_id: IdPath, if_match: IfMatch = None) -> Response:
    report = await service.submit(session, actor, report_id, if_match)
    return _report_response(ReportOut.model_validate(report), service.report_etag(report))


@router.post("/usage-reports/{report_id}/accept", response_model=ReportOut)
async def accept(
    session: Session, actor: Reviewer, report_id: IdPath, body: ReviewNote | None = None, if_match: IfMatch = None
) -> Response:
    report = await service.accept(session, actor, report_id, if_match, body.note if body else None)
    return _report_response(ReportOut.model_validate(report), service.report_etag(report))


@router.post("/usage-reports/{report_id}/return", response_model=ReportOut)
async def return_report(
    session: Session, actor: Reviewer, report_id: IdPath, body: ReturnRequest, if_match: IfMatch = None
) -> Response:
    report = await service.return_report(session, actor, report_id, if_match, body.note)
    return _report_response(ReportOut.model_validate(report), service.report_etag(report))


@router.post("/usage-reports/{report_id}/reopen", response_model=ReportOut)
async def reopen(session: Session, actor: Reporter, report_id: IdPath, if_match: IfMatch = None) -> Response:
    report = await service.reopen(session, actor, report_id, if_match)
    return _report_response(ReportOut.model_validate(report), service.report_etag(report))


@router.get("/agreements/{agreement_id}/budget-variance", response_model=BudgetVariance)
async def budget_variance(session: Session, agreement_id: IdPath) -> BudgetVariance:
    return await service.budget_variance(session, agreement_id)
