"""HTTP routes of the reference data: declare inputs, call one service function, return."""

from typing import Annotated

from fastapi import Depends, Path, Query, Request, Response

from app.core.auth import AdminActor, CurrentActor
from app.core.deps import Tx
from app.core.errors import FieldsCannotBeEmptied, UnsupportedMediaType
from app.core.http import IfMatch, domain_router, read_limited_body, require_media_type, validators
from app.core.idempotency import OptionalIdempotency
from app.core.openapi import problems
from app.core.pagination import Page, PageRequest, convert_page, page_request
from app.core.reads import ReadPool
from app.core.types import DB_ID_MAX, NO_NUL, Year
from app.reference import importer, service
from app.reference.errors import (
    ElectionExists,
    ElectionKindMismatch,
    ElectionNotFound,
    InvalidCsv,
    InvalidCsvHeader,
    ParentRegionMissing,
    RecipientExists,
    RecipientNotFound,
    RegionExists,
    RegionImportEmpty,
    RegionImportRejected,
    RegionNotFound,
    UnknownRegion,
    WinnerBeforeVoting,
)
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

router = domain_router("reference")
hot_reads = domain_router("reference")
"""The public read clients poll hardest; the app matches it before every other route (app/main.py)."""

Paging = Annotated[PageRequest, Depends(page_request)]
RegionCodePath = Annotated[str, Path(pattern=REGION_CODE_PATTERN, description="Kemendagri code, e.g. 35.74")]
RegionCodeQuery = Annotated[str | None, Query(pattern=REGION_CODE_PATTERN)]
SearchQuery = Annotated[str | None, Query(max_length=100, pattern=NO_NUL, description="Part of the name.")]
IdPath = Annotated[int, Path(ge=1, le=DB_ID_MAX)]
REGION_IMPORT_LIMIT = 5 * 1024 * 1024


@hot_reads.get(
    "/regions/{code:region_code}",
    response_model=RegionOut,
    responses=problems(RegionNotFound),
    description="The hot public read: served from the read pool and serialised here (docs/performance.md).",
)
async def get_region(connection: ReadPool, code: RegionCodePath) -> Response:
    region, etag = await service.read_region(connection, code)
    return Response(
        region.model_dump_json(), headers=validators(etag, region.updated_at), media_type="application/json"
    )


@router.get("/regions", response_model=Page[RegionOut])
async def list_regions(
    tx: Tx, paging: Paging, level: RegionLevel | None = None, parent_code: RegionCodeQuery = None, q: SearchQuery = None
) -> Page[RegionOut]:
    """Regions (provinces, regencies, cities) by Kemendagri code, filtered by `level`, `parent_code` or a part of the
    name (`q`).
    """
    page = await service.list_regions(tx, paging, level=level, parent_code=parent_code, q=q)
    return convert_page(page, RegionOut)


@router.post(
    "/regions",
    response_model=RegionOut,
    status_code=201,
    dependencies=[OptionalIdempotency],
    responses=problems(ParentRegionMissing, RegionExists),
)
async def create_region(tx: Tx, actor: AdminActor, body: RegionCreate, response: Response) -> RegionOut:
    """Add a region; its parent (the province of a regency or city) must exist."""
    region = await service.create_region(tx, actor, body)
    response.headers.update({"ETag": service.region_etag(region), "Location": f"/api/v1/regions/{region.code}"})
    return RegionOut.model_validate(region)


@router.patch("/regions/{code:region_code}", response_model=RegionOut, responses=problems(RegionNotFound))
async def update_region(
    tx: Tx, actor: AdminActor, code: RegionCodePath, body: RegionUpdate, response: Response, if_match: IfMatch = None
) -> RegionOut:
    """Rename a region. Send its ETag as `If-Match` to refuse a stale change (412)."""
    region = await service.update_region(tx, actor, code, body, if_match)
    response.headers["ETag"] = service.region_etag(region)
    return RegionOut.model_validate(region)


@router.post(
    "/regions/import",
    response_model=RegionImportResult,
    responses=problems(
        UnsupportedMediaType, InvalidCsv, InvalidCsvHeader, RegionImportRejected, RegionImportEmpty, RegionExists
    ),
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
async def import_regions(request: Request, tx: Tx, actor: AdminActor) -> RegionImportResult:
    """Create or rename regions from a CSV (`code,name[,level]`), all rows or none."""
    require_media_type(request, "text/csv")
    return await importer.import_regions(tx, actor, await read_limited_body(request, REGION_IMPORT_LIMIT))


@router.get("/elections", response_model=Page[ElectionOut])
async def list_elections(
    tx: Tx,
    paging: Paging,
    region_code: RegionCodeQuery = None,
    kind: ElectionKind | None = None,
    year: Annotated[Year | None, Query()] = None,
) -> Page[ElectionOut]:
    """Elections (Pilkada), filtered by region, kind or the year of voting day."""
    page = await service.list_elections(tx, paging, region_code=region_code, kind=kind, year=year)
    return convert_page(page, ElectionOut)


@router.get("/elections/{election_id:int}", response_model=ElectionOut, responses=problems(ElectionNotFound))
async def get_election(tx: Tx, election_id: IdPath, response: Response) -> ElectionOut:
    """One election, with its ETag and Last-Modified."""
    election = await service.get_election(tx, election_id)
    response.headers.update(validators(service.election_etag(election), election.updated_at))
    return ElectionOut.model_validate(election)


@router.post(
    "/elections",
    response_model=ElectionOut,
    status_code=201,
    dependencies=[OptionalIdempotency],
    responses=problems(UnknownRegion, ElectionKindMismatch, ElectionExists),
)
async def create_election(tx: Tx, actor: AdminActor, body: ElectionCreate, response: Response) -> ElectionOut:
    """Add an election; its kind must fit the level of its region (governor: province, regent: regency, mayor: city)."""
    election = await service.create_election(tx, actor, body)
    response.headers.update({"ETag": service.election_etag(election), "Location": f"/api/v1/elections/{election.id}"})
    return ElectionOut.model_validate(election)


@router.patch(
    "/elections/{election_id:int}",
    response_model=ElectionOut,
    responses=problems(ElectionNotFound, WinnerBeforeVoting, ElectionExists, FieldsCannotBeEmptied),
)
async def update_election(
    tx: Tx, actor: AdminActor, election_id: IdPath, body: ElectionUpdate, response: Response, if_match: IfMatch = None
) -> ElectionOut:
    """Change an election (name, voting day, the day the winner was proposed). Send its ETag as `If-Match` to refuse a
    stale change (412).
    """
    election = await service.update_election(tx, actor, election_id, body, if_match)
    response.headers["ETag"] = service.election_etag(election)
    return ElectionOut.model_validate(election)


@router.get("/recipients", response_model=Page[RecipientOut])
async def list_recipients(
    tx: Tx,
    actor: CurrentActor,
    paging: Paging,
    region_code: RegionCodeQuery = None,
    kind: RecipientKind | None = None,
    q: SearchQuery = None,
) -> Page[RecipientOut]:
    """Grant recipients (KPU, Bawaslu, Polri, TNI offices), filtered by region, kind or a part of the name."""
    return await service.list_recipients(tx, actor, paging, region_code=region_code, kind=kind, q=q)


@router.get("/recipients/{recipient_id:int}", response_model=RecipientOut, responses=problems(RecipientNotFound))
async def get_recipient(tx: Tx, actor: CurrentActor, recipient_id: IdPath, response: Response) -> RecipientOut:
    """One recipient, with its ETag and Last-Modified; its grant account only to the keys that may see it."""
    recipient = await service.get_recipient(tx, recipient_id)
    response.headers.update(validators(service.recipient_etag(recipient), recipient.updated_at))
    return service.recipient_view(recipient, actor)


@router.post(
    "/recipients",
    response_model=RecipientOut,
    status_code=201,
    dependencies=[OptionalIdempotency],
    responses=problems(UnknownRegion, RecipientExists),
)
async def create_recipient(tx: Tx, actor: AdminActor, body: RecipientCreate, response: Response) -> RecipientOut:
    """Add a grant recipient and its grant account."""
    recipient = await service.create_recipient(tx, actor, body)
    response.headers.update(
        {"ETag": service.recipient_etag(recipient), "Location": f"/api/v1/recipients/{recipient.id}"}
    )
    return service.recipient_view(recipient, actor)


@router.patch(
    "/recipients/{recipient_id:int}",
    response_model=RecipientOut,
    responses=problems(RecipientNotFound, RecipientExists, FieldsCannotBeEmptied),
)
async def update_recipient(
    tx: Tx,
    actor: AdminActor,
    recipient_id: IdPath,
    body: RecipientUpdate,
    response: Response,
    if_match: IfMatch = None,
) -> RecipientOut:
    """Change a recipient or its grant account. Send its ETag as `If-Match` to refuse a stale change (412)."""
    recipient = await service.update_recipient(tx, actor, recipient_id, body, if_match)
    response.headers["ETag"] = service.recipient_etag(recipient)
    return service.recipient_view(recipient, actor)


@router.get("/codes/stages", response_model=StageList)
async def list_stages(tx: Tx) -> StageList:
    """The published list of election stages (tahapan) a usage item is booked against."""
    return StageList(data=[StageOut.model_validate(row) for row in await service.list_stages(tx)])


@router.get("/codes/categories", response_model=CodeList)
async def list_categories(tx: Tx) -> CodeList:
    """The published list of spending categories a usage item is booked against."""
    return CodeList(data=[CodeOut.model_validate(row) for row in await service.list_categories(tx)])
