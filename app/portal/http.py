"""HTTP for the portal's pages: validators and caching like the API's public reads, gzip chosen from the
kept page, and errors shown as pages in the reader's language (a browser is the client here, not a program
reading RFC 9457 problems; the status codes are the API's)."""

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from app.core.errors import DomainError
from app.core.i18n import status_title
from app.core.replicas import engine_for, reader_for
from app.core.web import accepts_gzip
from app.portal.cache import Rendered
from app.portal.format import Lang
from app.portal.render import CONTENT_SECURITY_POLICY
from app.portal.service import Ask, Site, render_error

CACHE_CONTROL = "public, max-age=60"
HTML = "text/html; charset=utf-8"
BASE_HEADERS = {
    "Cache-Control": CACHE_CONTROL,
    "Vary": "Accept-Encoding",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}


def site(request: Request) -> Site:
    state = request.app.state
    base = str(request.base_url).rstrip("/")
    # The portal only reads: on a replica when one is up (app/core/replicas.py).
    engine, reader = engine_for(request), reader_for(request)
    return Site(engine, reader, state.settings, state.portal_cache, state.portal_head, base)


SiteDep = Annotated[Site, Depends(site)]


def _accepts_gzip(request: Request) -> bool:
    return accepts_gzip(request.headers)


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    # Weak comparison (RFC 9110 §13.1.2): the opaque tags, W/ or not.
    wanted = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == wanted for tag in if_none_match.split(","))


def page_response(request: Request, page: Rendered) -> Response:
    """The kept bytes as they are (gzipped when the client takes it), or a 304 when its copy is current."""
    headers = {**BASE_HEADERS, "ETag": page.etag}
    if page.status == 200 and _matches(request.headers.get("if-none-match"), page.etag):
        return Response(status_code=304, headers=headers)
    if page.status != 200:
        headers["Cache-Control"] = "no-store"
    if _accepts_gzip(request):
        headers["Content-Encoding"] = "gzip"
        return Response(page.gzipped, status_code=page.status, media_type=HTML, headers=headers)
    return Response(page.body, status_code=page.status, media_type=HTML, headers=headers)


def _lang_of(request: Request) -> Lang:
    asked = request.query_params.get("lang")
    return "en" if asked == "en" else "id"


def _validation_detail(exc: RequestValidationError, lang: Lang) -> str:
    names = sorted({str(error["loc"][-1]) for error in exc.errors() if error.get("loc")})
    listed = ", ".join(names) or "?"
    if lang == "id":
        return (
            f"Alamat ini memuat nilai yang tidak dapat dipakai: {listed}. Periksa alamatnya, atau mulai dari beranda."
        )
    return f"This address holds a value that cannot be used: {listed}. Check the address, or start from the home page."


class PortalRoute(APIRoute):
    """A page route: a domain error or a bad parameter becomes a page with the error's status, in the
    language the reader asked for; nothing a client sends answers 500."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handle_as_page(request: Request) -> Response:
            try:
                return await handle(request)
            except DomainError as exc:
                lang = _lang_of(request)
                title, detail, status = status_title(exc.status, lang), exc.detail_in(lang), exc.status
            except RequestValidationError as exc:
                lang = _lang_of(request)
                title, detail, status = status_title(422, lang), _validation_detail(exc, lang), 422
            state = request.app.state
            ask = Ask(request.url.path, (), lang)
            base = str(request.base_url).rstrip("/")
            return page_response(
                request, render_error(base, state.settings, ask, status=status, title=title, detail=detail)
            )

        return handle_as_page
