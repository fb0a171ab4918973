"""HTTP routes of the reference data: declare inputs, call one service function, return."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from app.core.auth import AdminActor
from app.core.deps import Session
from app.core.http import PROBLEMS, IfMatch, read_limited_body, require_media_type, with_etag
from app.core.idempotency import OptionalIdempotency
from app.core.pagination import Page, PageRequest, convert_page, page_request
from app.core.reads import ReadPool
from app.core.types import DB_ID_MAX, NO_NUL
from app.reference import service
from app.reference.models import ElectionKind, RecipientKind, RegionLevel
from app.reference.schemas import (
    REGION_CODE_PATTERN,
    CodeList,
    CodeOut,
    ElectionCreate,
    ElectionOut,
    ElectionUpdate,
    RecipientCreate,
    RecipientOut,
    RecipientUpdate,
    RegionCreate,
    RegionImportResult,
    RegionOut,
    RegionUpdate,
    StageList,
    StageOut,
)

router = APIRouter()

Paging = Annotated[PageRequest, Depends(page_request)]
RegionCodePath = Annotated[str, Path(pattern=REGION_CODE_PATTERN, description="Kemendagri code, e.g. 35.74")]
RegionCodeQuery = Annotated[str | None, Query(pattern=REGION_CODE_PATTERN)]
SearchQuery = Annotated[str | None, Query(max_length=100, pattern=NO_NUL, description="Part of the name.")]
IdPath = Annotated[int, Path(ge=1, le=DB_ID_MAX)]
REGION_IMPORT_LIMIT = 5 * 1024 * 1024


@router.get("/regions", response_model=Page[RegionOut], tags=["reference"])
async def list_regions(
    session: Session,
    paging: Paging,
    level: RegionLevel | None = None,
    parent_code: RegionCodeQuery = None,
    q: SearchQuery = None,
) -> Page[RegionOut]:
    page = await service.list_regions(session, paging, level=level, parent_code=parent_code, q=q)
    return convert_page(page, RegionOut)


@router.get("/regions/{code}", response_model=RegionOut, tags=["reference"], responses=PROBLEMS)
async def get_region(connection: ReadPool, code: RegionCodePath) -> Response:
    region, etag = await service.read_region(connection, code)
    return with_etag(region, etag)


@router.post("/regions", response_model=RegionOut, status_code=201, tags=["reference"], responses=PROBLEMS)
async def create_region(
    session: Session, actor: AdminActor, idempotency: OptionalIdempotency, body: RegionCreate
) -> Response:
    region = await service.create_region(session, actor, body)
    return await idempotency.respond(
        RegionOut.model_validate(region),
        headers={"ETag": service.region_etag(region), "Location": f"/api/v1/regions/{region.code}"},
    )


@router.patch("/regions/{code}", response_model=RegionOut, tags=["reference"], responses=PROBLEMS)
async def update_region(
    session: Session, actor: AdminActor, code: RegionCodePath, body: RegionUpdate, if_match: IfMatch = None
) -> Response:
    region = await service.update_region(session, actor, code, body, if_match)
    return with_etag(RegionOut.model_validate(region), service.region_etag(region))


@router.post(
    "/regions/import",
    response_model=RegionImportResult,
    tags=["reference"],
    responses=PROBLEMS,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {
                    "schema": {"type": "string"},
                    "example": "code,name\n35,Jawa Timur\n35.74,Kota Probolinggo\n",
                }
            },
        }
    },
)
async def import_regions(request: Request, session: Session, actor: AdminActor) -> RegionImportResult:
    require_media_type(request, "text/csv")
    raw = await read_limited_body(request, REGION_IMPORT_LIMIT)
    return await service.import_regions(session, actor, raw)


@router.get("/elections", response_model=Page[ElectionOut], tags=["reference"])
async def list_elections(
    session: Session,
    paging: Paging,
    region_code: RegionCodeQuery = None,
    kind: ElectionKind | None = None,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> Page[ElectionOut]:
    page = await service.list_elections(session, paging, region_code=region_code, kind=kind, year=year)
    return convert_page(page, ElectionOut)


@router.get("/elections/{election_id}", response_model=ElectionOut, tags=["reference"], responses=PROBLEMS)
async def get_election(session: Session, election_id: IdPath) -> Response:
    election = await service.get_election(session, election_id)
    return with_etag(ElectionOut.model_validate(election), service.election_etag(election))


@router.post("/elections", response_model=ElectionOut, status_code=201, tags=["reference"], responses=PROBLEMS)
async def create_election(
    session: Session, actor: AdminActor, idempotency: OptionalIdempotency, body: ElectionCreate
) -> Response:
    election = await service.create_election(session, actor, body)
    return await idempotency.respond(
        ElectionOut.model_validate(election),
        headers={"ETag": service.election_etag(election), "Location": f"/api/v1/elections/{election.id}"},
    )


@router.patch("/elections/{election_id}", response_model=ElectionOut, tags=["reference"], responses=PROBLEMS)
async def update_election(
    session: Session, actor: AdminActor, election_id: IdPath, body: ElectionUpdate, if_match: IfMatch = None
) -> Response:
    election = await service.update_election(session, actor, election_id, body, if_match)
    return with_etag(ElectionOut.model_validate(election), service.election_etag(election))


@router.get("/recipients", response_model=Page[RecipientOut], tags=["reference"])
async def list_recipients(
    session: Session,
    paging: Paging,
    region_code: RegionCodeQuery = None,
    kind: RecipientKind | None = None,
    q: SearchQuery = None,
) -> Page[RecipientOut]:
    page = await service.list_recipients(session, paging, region_code=region_code, kind=kind, q=q)
    return convert_page(page, RecipientOut)


@router.get("/recipients/{recipient_id}", response_model=RecipientOut, tags=["reference"], responses=PROBLEMS)
async def get_recipient(session: Session, recipient_id: IdPath) -> Response:
    recipient = await service.get_recipient(session, recipient_id)
    return with_etag(RecipientOut.model_validate(recipient), service.recipient_etag(recipient))


@router.post("/recipients", response_model=RecipientOut, status_code=201, tags=["reference"], responses=PROBLEMS)
async def create_recipient(
    session: Session, actor: AdminActor, idempotency: OptionalIdempotency, body: RecipientCreate
) -> Response:
    recipient = await service.create_recipient(session, actor, body)
    return await idempotency.respond(
        RecipientOut.model_validate(recipient),
        headers={"ETag": service.recipient_etag(recipient), "Location": f"/api/v1/recipients/{recipient.id}"},
    )


@router.patch("/recipients/{recipient_id}", response_model=RecipientOut, tags=["reference"], responses=PROBLEMS)
async def update_recipient(
    session: Session, actor: AdminActor, recipient_id: IdPath, body: RecipientUpdate, if_match: IfMatch = None
) -> Response:
    recipient = await service.update_recipient(session, actor, recipient_id, body, if_match)
    return with_etag(RecipientOut.model_validate(recipient), service.recipient_etag(recipient))


@router.get("/codes/stages", response_model=StageList, tags=["reference"])
async def list_stages(session: Session) -> StageList:
    return StageList(data=[StageOut.model_validate(row) for row in await service.list_stages(session)])


@router.get("/codes/categories", response_model=CodeList, tags=["reference"])
async def list_categories(session: Session) -> CodeList:
    return CodeList(data=[CodeOut.model_validate(row) for row in await service.list_categories(session)])
