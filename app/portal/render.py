"""Templates (Jinja2, autoescaped) and the one stylesheet, inlined into every page: a page is one request,
nothing on it comes from another host, and the Content-Security-Policy admits that stylesheet alone."""

import base64
import hashlib
import re
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from app.portal import charts, texts


def _minified(css: str) -> str:
    """Comments and runs of blank space out; a few kilobytes less on every page."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.DOTALL)
    css = re.sub(r"\s+", " ", css)
    return re.sub(r"\s*([{};:,>])\s*", r"\1", css).replace(";}", "}").strip()


STYLESHEET = _minified(resources.files("app.portal").joinpath("static/portal.css").read_text())
_STYLE_HASH = base64.b64encode(hashlib.sha256(STYLESHEET.encode()).digest()).decode()
CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; img-src 'self' data:; form-action 'self';"
    " base-uri 'none'; frame-ancestors 'none'"
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
)
ENVIRONMENT.globals.update(
    stylesheet=Markup(STYLESHEET),  # noqa: S704 - the package's own stylesheet
    favicon=FAVICON,
    charts=charts,
    T=texts,
)


def render(template: str, **context: Any) -> str:
    return ENVIRONMENT.get_template(template).render(**context)
