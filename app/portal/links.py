"""Addresses: the portal's own pages (keeping the reader's language), and the API calls and CSV exports that
back each figure, with the same filters."""

from dataclasses import dataclass
from urllib.parse import urlencode

from app.portal.format import Lang

API = "/api/v1"
Param = str | int | None


def _query(params: dict[str, Param]) -> str:
    kept = {name: str(value) for name, value in params.items() if value is not None and value != ""}
    return "?" + urlencode(kept) if kept else ""


@dataclass(frozen=True)
class Links:
    lang: Lang
    base: str
    """The site's origin as the request reached it, for canonical and Open Graph addresses."""

    def page(self, path: str, **params: Param) -> str:
        """A portal page in the reader's language (Indonesian needs no parameter)."""
        lang = None if self.lang == "id" else self.lang
        return path + _query({**params, "lang": lang})

    def in_lang(self, lang: Lang, path: str, **params: Param) -> str:
        return Links(lang, self.base).page(path, **params)

    def absolute(self, relative: str) -> str:
        return self.base + relative

    def api(self, path: str, **params: Param) -> str:
        return API + path + _query(params)

    def csv(self, dataset: str, **params: Param) -> str:
        return f"{API}/exports/{dataset}.csv" + _query(params)
