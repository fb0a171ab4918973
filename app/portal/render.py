"""Templates (Jinja2, autoescaped) and the one stylesheet, inlined into every page: a page is one request,
nothing on it comes from another host, and the Content-Security-Policy admits that stylesheet alone."""

import base64
import hashlib
import re
from datetime import date
from decimal import Decimal
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from app.core.calendar import is_working_day
from app.portal import charts, texts
from app.portal.format import LANGS, Formatter


def _minified(css: str) -> str:
    """Comments and runs of blank space out; a few kilobytes less on every page."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.DOTALL)
    css = re.sub(r"\s+", " ", css)
    return re.sub(r"\s*([{};:,>])\s*", r"\1", css).replace(";}", "}").strip()


STYLESHEET = _minified(resources.files("app.portal").joinpath("static/portal.css").read_text())
_STYLE_HASH = base64.b64encode(hashlib.sha256(STYLESHEET.encode()).digest()).decode()
CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; img-src 'self' data:; form-action 'self';"
    # The pages fetch nothing; 'self' lets a crawler's audit (Lighthouse) read /robots.txt from the page.
    " connect-src 'self'; base-uri 'none'; frame-ancestors 'none'"
)
# A favicon drawn inline, so no browser asks the server for /favicon.ico.
FAVICON = (
    "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E%3Crect width='16'"
    " height='16' rx='3' fill='%23124a35'/%3E%3Cpath d='M4 12V4h2v3h4V4h2v8h-2V9H6v3z' fill='%23fff'/%3E%3C/svg%3E"
)

ENVIRONMENT = Environment(
    loader=PackageLoader("app.portal", "templates"),
    autoescape=select_autoescape(["html", "j2"], default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    auto_reload=False,  # the templates ship with the package: no stat() per rendering, a restart takes a change
)
ENVIRONMENT.globals.update(
    stylesheet=Markup(STYLESHEET),  # noqa: S704 - the package's own stylesheet
    favicon=FAVICON,
    charts=charts,
    T=texts,
)


def render(template: str, **context: Any) -> str:
    return ENVIRONMENT.get_template(template).render(**context)


def warm() -> None:
    """Compile every template, load both languages' locale data and the recent years' public holidays now, at
    startup, instead of in the first reader's request (seconds on a busy machine)."""
    for name in ENVIRONMENT.list_templates():
        ENVIRONMENT.get_template(name)
    for lang in LANGS:
        formatter = Formatter(lang)
        formatter.rupiah(Decimal("1234.50"))
        formatter.day(date(2024, 11, 27))
    this_year = date.today().year
    for year in range(this_year - RECENT_YEARS, this_year + 1):
        is_working_day(date(year, 1, 2))


RECENT_YEARS = 3
"""Elections of the last few years are what readers open; older years' holidays load when first asked."""

ROBOTS = "User-agent: *\nAllow: /\nDisallow: /api/\n"
"""Pages are for search engines; the API's calls and exports are for programs."""
