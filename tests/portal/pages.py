"""Reading the portal's pages as a test: the figures as written on them, read back into numbers by rules written
here (not the app's formatter), and the visible text."""

import re
from decimal import Decimal
from html.parser import HTMLParser

import httpx

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


def rupiah(text: str) -> Decimal:
    """``Rp23.116.413.980`` or ``Rp1.234,50`` (Indonesian separators), ``−Rp5.000``."""
    cleaned = text.strip()
    negative = cleaned.startswith("\u2212")
    digits = cleaned.lstrip("\u2212").removeprefix("Rp")
    assert re.fullmatch(r"[0-9]{1,3}(\.[0-9]{3})*(,[0-9]{2})?", digits), text
    value = Decimal(digits.replace(".", "").replace(",", "."))
    return -value if negative else value


def percent(text: str) -> Decimal:
    """``81,32%`` as the ratio ``0.8132``."""
    match = re.fullmatch(r"([0-9]{1,3}(?:\.[0-9]{3})*),([0-9]{2})%", text.strip())
    assert match, text
    return Decimal(match.group(1).replace(".", "") + "." + match.group(2)) / 100


Cell = tuple[str | None, str | None, str]
"""(the nearest ``data-table``, the nearest ``data-key``, the element's ``data-field``)"""


class Cells(HTMLParser):
    """The text of each element with a ``data-field``, under the nearest ``data-key`` and ``data-table``."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: dict[Cell, str] = {}
        self._stack: list[tuple[str, str | None, str | None, str | None, list[str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in VOID:
            return
        named = dict(attrs)
        parent_table = self._stack[-1][1] if self._stack else None
        parent_key = self._stack[-1][2] if self._stack else None
        table = named.get("data-table") or parent_table
        key = named.get("data-key") or parent_key
        self._stack.append((tag, table, key, named.get("data-field"), []))

    def handle_endtag(self, tag: str) -> None:
        while self._stack:
            open_tag, table, key, name, text = self._stack.pop()
            if name is not None:
                self.cells[(table, key, name)] = " ".join("".join(text).split())
            if open_tag == tag:
                return

    def handle_data(self, data: str) -> None:
        for _, _, _, name, text in self._stack:
            if name is not None:
                text.append(data)


def cells(html: str) -> dict[Cell, str]:
    parser = Cells()
    parser.feed(html)
    parser.close()
    return parser.cells


def table(html: str, name: str) -> dict[str, dict[str, str]]:
    """Rows of the ``data-table`` called ``name``: key → field → text."""
    rows: dict[str, dict[str, str]] = {}
    for (table_name, key, field_name), text in cells(html).items():
        if table_name == name and key is not None:
            rows.setdefault(key, {})[field_name] = text
    return rows


def visible_text(html: str) -> str:
    """The page's text without its head, styles and tags, whitespace folded."""
    body = html.split("<body>", 1)[-1]
    body = re.sub(r"<svg.*?</svg>", " ", body, flags=re.DOTALL)
    text = re.sub(r"<[^>]+>", " ", body)
    return " ".join(text.replace("&nbsp;", " ").split())


def get_page(http: httpx.Client, path: str, status: int = 200) -> str:
    response = http.get(path)
    assert response.status_code == status, (path, response.status_code, response.text[:500])
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    return response.text
