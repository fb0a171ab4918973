"""The portal's pages (DESIGN §6): Indonesian first, ``?lang=en`` for English. Each handler declares its
parameters, asks the service for the page, and answers it (app/portal/http.py)."""

from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from app.core.types import DB_ID_MAX, NO_NUL
from app.oversight.schemas import Rule, Severity
from app.portal import service
from app.portal.format import Lang
from app.portal.http import CACHE_CONTROL, PortalRoute, SiteDep, page_response
from app.portal.render import ROBOTS
from app.reference.schemas import REGION_CODE_PATTERN

router = APIRouter(route_class=PortalRoute, include_in_schema=False)


class Sort(StrEnum):
    """The columns a table of provinces or regions sorts by (service.SORTS)."""

    kode = "kode"
    nama = "nama"
    nilai = "nilai"
    serapan = "serapan"
    dipegang = "dipegang"
    dikembalikan = "dikembalikan"


Language = Annotated[Lang, Query(description="id (default) or en")]
Year = Annotated[int | None, Query(ge=2000, le=2100)]
SortQuery = Annotated[Sort, Query()]
PAGE = ["GET", "HEAD"]


@router.api_route("/", methods=PAGE)
async def home(
    request: Request, site: SiteDep, tahun: Year = None, urut: SortQuery = Sort.kode, lang: Language = "id"
) -> Response:
    return page_response(request, await service.home(site, tahun, urut.value, lang))


@router.api_route("/robots.txt", methods=PAGE)
async def robots() -> Response:
    return Response(ROBOTS, media_type="text/plain", headers={"Cache-Control": CACHE_CONTROL})


@router.api_route("/wilayah", methods=PAGE)
async def search(
    request: Request,
    site: SiteDep,
    q: Annotated[str | None, Query(max_length=100, pattern=NO_NUL)] = None,
    lang: Language = "id",
) -> Response:
    return page_response(request, await service.search(site, q, lang))


@router.api_route("/wilayah/{code}", methods=PAGE)
async def region(
    request: Request,
    site: SiteDep,
    code: Annotated[str, Path(pattern=REGION_CODE_PATTERN)],
    tahun: Year = None,
    urut: SortQuery = Sort.kode,
    lang: Language = "id",
) -> Response:
    return page_response(request, await service.region(site, code, tahun, urut.value, lang))


@router.api_route("/nphd/{agreement_id}", methods=PAGE)
async def grant(
    request: Request, site: SiteDep, agreement_id: Annotated[int, Path(ge=1, le=DB_ID_MAX)], lang: Language = "id"
) -> Response:
    return page_response(request, await service.grant(site, agreement_id, lang))


@router.api_route("/temuan", methods=PAGE)
async def findings(
    request: Request,
    site: SiteDep,
    tahun: Year = None,
    provinsi: Annotated[str | None, Query(pattern=r"^[0-9]{2}$")] = None,
    aturan: Rule | None = None,
    tingkat: Severity | None = None,
    halaman: Annotated[int, Query(ge=1, le=100_000)] = 1,
    lang: Language = "id",
) -> Response:
    wanted = service.FindingsAsk(tahun, provinsi, aturan, tingkat, halaman)
    return page_response(request, await service.findings(site, wanted, lang))
