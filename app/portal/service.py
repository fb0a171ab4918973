"""The portal's pages: what each shows, read through the domain services (the same SQL, rules and formulas as
the API) in one transaction, rendered once and kept while the records stand still (app/portal/cache.py).

A page is asked for as an :class:`Ask`; a kept page answers without opening a transaction, any other opens
the one transaction of ``app.core.db`` for its reads (the cache hit must cost one indexed read, so pages do
not take the request-scoped ``Tx``).
"""

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.actor import PUBLIC
from app.core.config import Settings
from app.core.db import Transaction, transaction
from app.core.pagination import LIMIT_MAX, Page, PageRequest, decode_cursor
from app.core.reads import Reader
from app.grants import service as grants
from app.grants.filters import AgreementFilter
from app.grants.rules import Figures
from app.grants.schemas import AgreementOut, Position
from app.ledger import service as ledger
from app.oversight import service as oversight
from app.oversight.rules import TRANCHE_RULE, TrancheDue
from app.oversight.schemas import Finding, GroupBy, Rule, Severity, SummaryRow
from app.portal import charts, public, repository
from app.portal.cache import ChainHead, PageCache, Rendered
from app.portal.errors import NoElectionsInYear
from app.portal.format import Formatter, Lang
from app.portal.links import Links
from app.portal.render import render
from app.portal.texts import RECIPIENT_ORDER, SEVERITY_ORDER, Texts, describe
from app.reference import service as reference
from app.reference.models import RegionLevel
from app.reports import service as reports
from app.support import service as support
from app.support.filters import SupportFilter
from app.support.schemas import SupportOut

ALL = PageRequest(limit=LIMIT_MAX, after=None)
FINDINGS_PER_PAGE = 50
TOP_FINDINGS = 8
T = TypeVar("T")


@dataclass(frozen=True)
class Site:
    """What every page reads with: the engine (a page's transaction), the read pool and the head last read (the
    cache's key), the settings (the compliance rules' parameters), the page cache, and the origin the reader
    reached."""

    engine: AsyncEngine
    reader: Reader
    settings: Settings
    cache: PageCache
    head: ChainHead
    base_url: str


@dataclass(frozen=True)
class Ask:
    """A page as asked: its path, its parameters (None when not given) and the language."""

    path: str
    params: tuple[tuple[str, Any], ...]
    lang: Lang


@dataclass(frozen=True)
class Context:
    """What every template reads: the language, the formatter, the links, the settings and the day."""

    lang: Lang
    fmt: Formatter
    tr: Texts
    links: Links
    settings: Settings
    today: date
    path: str
    params: dict[str, Any]

    def canonical(self) -> str:
        return self.links.absolute(self.links.page(self.path, **self.params))

    def alternate(self, lang: Lang) -> str:
        return self.links.absolute(self.links.in_lang(lang, self.path, **self.params))

    def switch(self) -> str:
        """This page in the other language."""
        return self.links.in_lang("en" if self.lang == "id" else "id", self.path, **self.params)


def context_for(site_base: str, settings: Settings, ask: Ask, today: date) -> Context:
    return Context(
        lang=ask.lang,
        fmt=Formatter(ask.lang),
        tr=Texts(ask.lang),
        links=Links(ask.lang, site_base),
        settings=settings,
        today=today,
        path=ask.path,
        params={name: value for name, value in ask.params if value is not None},
    )


Build = Callable[[Transaction, Context], Awaitable[tuple[str, dict[str, Any]]]]


async def serve(site: Site, ask: Ask, build: Build) -> Rendered:
    """The page kept for this head of the audit chain and this day, or a fresh rendering of it."""
    head = await site.head.current(lambda: repository.chain_head(site.reader))
    today = date.today()
    key = (ask, site.base_url, head, today)
    page = site.cache.get(key)
    if page is None:
        context = context_for(site.base_url, site.settings, ask, today)
        async with transaction(site.engine) as tx:
            template, values = await build(tx, context)
        page = Rendered.of(render(template, p=context, **values))
        site.cache.put(key, page)
    return page


def render_error(site_base: str, settings: Settings, ask: Ask, *, status: int, title: str, detail: str) -> Rendered:
    """An error as a page in the reader's language (never kept)."""
    context = context_for(site_base, settings, ask, date.today())
    return Rendered.of(render("error.html.j2", p=context, status=status, title=title, detail=detail), status)


# --- shared reads --------------------------------------------------------------------------------


class HasFigures(Protocol):
    amount: Decimal
    disbursed: Decimal
    spent_reported: Decimal
    spent_accepted: Decimal
    refunded: Decimal


def figures_of(row: HasFigures) -> Figures:
    """The running totals of a summary row or a position, for the charts (the formulas stay in Figures)."""
    return Figures(row.amount, row.disbursed, row.spent_reported, row.spent_accepted, row.refunded)


async def every_page(fetch: Callable[[PageRequest], Awaitable[Page[T]]]) -> list[T]:
    """All rows of a paginated service read, page after page."""
    rows: list[T] = []
    request = ALL
    while True:
        page = await fetch(request)
        rows.extend(page.data)
        if page.next_cursor is None:
            return rows
        # The services take the cursor decoded, as the API's dependency hands it to them.
        request = PageRequest(limit=LIMIT_MAX, after=decode_cursor(page.next_cursor))


async def _years(tx: Transaction, year: int | None) -> tuple[int | None, list[int]]:
    years = await repository.election_years(tx.session)
    if not years:
        return None, years
    if year is None:
        return years[0], years
    if year not in years:
        raise NoElectionsInYear(year, years)
    return year, years


def _rank(finding: Finding) -> tuple[int, date, int]:
    """Most serious first: severity, then the oldest due date (undated ones last), then the NPHD."""
    return (SEVERITY_ORDER.index(finding.severity.value), finding.due_on or date.max, finding.agreement_id)


@dataclass(frozen=True)
class FindingView:
    finding: Finding
    region_name: str
    sentence: str


async def _finding_views(tx: Transaction, context: Context, found: Sequence[Finding]) -> list[FindingView]:
    names = await repository.region_names(tx.session, (finding.region_code for finding in found))
    labels = await _code_labels(tx, context.lang)
    return [
        FindingView(
            finding,
            names.get(finding.region_code, finding.region_code),
            describe(finding, context.fmt, context.settings, labels),
        )
        for finding in found
    ]


async def _code_labels(tx: Transaction, lang: Lang) -> dict[str, str]:
    """Stage and category codes to their published labels."""
    stages = await reference.list_stages(tx)
    categories = await reference.list_categories(tx)
    labels = {row.code: row.label_id if lang == "id" else row.label_en for row in stages}
    labels.update({row.code: row.label_id if lang == "id" else row.label_en for row in categories})
    return labels


def _count_by(found: Sequence[Finding], attribute: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for finding in found:
        value = str(getattr(finding, attribute).value)
        counts[value] = counts.get(value, 0) + 1
    return counts


# --- sorting tables --------------------------------------------------------------------------------

SORTS: dict[str, Callable[[SummaryRow], Any]] = {
    "kode": lambda row: row.province_code or row.region_code or "",
    "nama": lambda row: (row.province_name or row.region_name or "").lower(),
    "nilai": lambda row: -row.amount,
    "serapan": lambda row: -Decimal(row.absorption),
    "dipegang": lambda row: -row.held,
    "dikembalikan": lambda row: -row.refunded,
}
"""The columns a table of provinces or regions can be sorted by: names and codes up, money down."""


def sorted_rows(rows: Sequence[SummaryRow], sort: str) -> list[SummaryRow]:
    return sorted(rows, key=SORTS[sort])


# --- / ------------------------------------------------------------------------------------------


async def home(site: Site, year: int | None, sort: str, lang: Lang) -> Rendered:
    ask = Ask("/", (("tahun", year), ("urut", None if sort == "kode" else sort)), lang)

    async def build(tx: Transaction, context: Context) -> tuple[str, dict[str, Any]]:
        chosen, years = await _years(tx, year)
        if chosen is None:
            return "empty.html.j2", {}
        where = AgreementFilter(year=chosen)
        by_province = await oversight.summarise(tx, GroupBy.province, where)
        by_kind = await oversight.summarise(tx, GroupBy.recipient_kind, where)
        found = sorted(await oversight.findings(tx, site.settings, where, as_of=context.today), key=_rank)
        kinds = sorted(by_kind.data, key=lambda row: RECIPIENT_ORDER.index(row.recipient_kind or "kpu"))
        return "home.html.j2", {
            "year": chosen,
            "years": years,
            "sort": sort,
            "total": by_province.total,
            "figures": figures_of(by_province.total),
            "provinces": sorted_rows(by_province.data, sort),
            "kinds": kinds,
            "counts": await repository.year_counts(tx.session, chosen),
            "findings": await _finding_views(tx, context, found[:TOP_FINDINGS]),
            "findings_count": len(found),
            "severity_counts": _count_by(found, "severity"),
            "figures_of": figures_of,
        }

    return await serve(site, ask, build)


# --- /wilayah -----------------------------------------------------------------------------------


async def search(site: Site, query: str | None, lang: Lang) -> Rendered:
    """Regions by name or code; with nothing asked, the provinces."""
    text = (query or "").strip()
    ask = Ask("/wilayah", (("q", text or None),), lang)

    async def build(tx: Transaction, context: Context) -> tuple[str, dict[str, Any]]:
        provinces = await every_page(lambda page: reference.list_regions(tx, page, level=RegionLevel.province))
        province_names = {region.code: region.name for region in provinces}
        if not text:
            return "search.html.j2", {"query": "", "results": provinces, "province_names": province_names}
        results = list((await reference.list_regions(tx, PageRequest(limit=100, after=None), q=text)).data)
        by_code = await repository.region_names(tx.session, [text]) if _looks_like_code(text) else {}
        if by_code:
            exact = await reference.get_region(tx, text)
            results = [exact, *(region for region in results if region.code != exact.code)]
        return "search.html.j2", {"query": text, "results": results, "province_names": province_names}

    return await serve(site, ask, build)


def _looks_like_code(text: str) -> bool:
    head, _, tail = text.partition(".")
    return len(head) == 2 and head.isdigit() and (not tail or (len(tail) == 2 and tail.isdigit()))


async def region(site: Site, code: str, year: int | None, sort: str, lang: Lang) -> Rendered:
    ask = Ask(f"/wilayah/{code}", (("tahun", year), ("urut", None if sort == "kode" else sort)), lang)

    async def build(tx: Transaction, context: Context) -> tuple[str, dict[str, Any]]:
        found = await reference.get_region(tx, code)
        if found.level == RegionLevel.province:
            return await _province(tx, context, found, year, sort)
        return await _regency(tx, context, found)

    return await serve(site, ask, build)


@dataclass
class GrantCard:
    """One recipient's grant in an election, as the region page sets them side by side."""

    agreement: AgreementOut
    recipient_name: str
    position: Position
    figures: Figures


@dataclass
class ElectionBlock:
    election: Any
    cards: list[GrantCard] = field(default_factory=list)
    total: Any = None


async def _cards(tx: Transaction, where: AgreementFilter) -> list[GrantCard]:
    agreements = await every_page(lambda page: grants.list_agreements(tx, page, where))
    names: dict[int, str] = {}
    for code in sorted({agreement.region_code for agreement in agreements}):
        names.update(await _recipient_names(tx, code))
    cards = []
    for agreement in agreements:
        position = await grants.read_position(tx.sql, agreement.id)
        cards.append(GrantCard(agreement, names.get(agreement.recipient_id, ""), position, figures_of(position)))
    return sorted(cards, key=lambda card: (RECIPIENT_ORDER.index(card.agreement.recipient_kind), card.agreement.id))


async def _recipient_names(tx: Transaction, region_code: str) -> dict[int, str]:
    recipients = await every_page(lambda page: reference.list_recipients(tx, PUBLIC, page, region_code=region_code))
    return {recipient.id: recipient.name for recipient in recipients if recipient.id is not None}


async def _elections(tx: Transaction, region_code: str, year: int | None = None) -> list[ElectionBlock]:
    """The region's elections, latest first, each with its recipients' grants side by side."""
    elections = await every_page(lambda page: reference.list_elections(tx, page, region_code=region_code, year=year))
    cards = await _cards(tx, AgreementFilter(region_code=region_code, year=year))
    totals = await oversight.summarise(tx, GroupBy.election, AgreementFilter(region_code=region_code, year=year))
    by_election = {row.election_id: row for row in totals.data}
    blocks = []
    for election in sorted(elections, key=lambda each: each.voting_day, reverse=True):
        mine = [card for card in cards if card.agreement.election_id == election.id]
        blocks.append(ElectionBlock(election, mine, by_election.get(election.id)))
    return blocks


async def _regency(tx: Transaction, context: Context, found: Any) -> tuple[str, dict[str, Any]]:
    province = await reference.get_region(tx, found.parent_code)
    where = AgreementFilter(region_code=found.code)
    found_findings = sorted(await oversight.findings(tx, context.settings, where, as_of=context.today), key=_rank)
    return "region.html.j2", {
        "region": found,
        "province": province,
        "elections": await _elections(tx, found.code),
        "findings": await _finding_views(tx, context, found_findings),
        "support": await _support(tx, AgreementFilter(region_code=found.code)),
        "figures_of": figures_of,
    }


async def _province(
    tx: Transaction, context: Context, found: Any, year: int | None, sort: str
) -> tuple[str, dict[str, Any]]:
    chosen, years = await _years(tx, year)
    where = AgreementFilter(province=found.code, year=chosen)
    summary = await oversight.summarise(tx, GroupBy.region, where)
    rows = {row.region_code: row for row in summary.data}
    children = await every_page(lambda page: reference.list_regions(tx, page, parent_code=found.code))
    child_rows = [rows[child.code] for child in children if child.code in rows]
    quiet = [child for child in children if child.code not in rows]
    found_findings = sorted(await oversight.findings(tx, context.settings, where, as_of=context.today), key=_rank)
    return "province.html.j2", {
        "region": found,
        "year": chosen,
        "years": years,
        "sort": sort,
        "total": summary.total,
        "figures": figures_of(summary.total),
        "own": await _elections(tx, found.code, chosen) if found.code in rows else [],
        "regions": sorted_rows(child_rows, sort),
        "quiet": quiet,
        "levels": {child.code: child.level.value for child in children},
        "findings": await _finding_views(tx, context, found_findings[:TOP_FINDINGS]),
        "findings_count": len(found_findings),
        "figures_of": figures_of,
    }


# --- /nphd/{id} -----------------------------------------------------------------------------------


async def grant(site: Site, agreement_id: int, lang: Lang) -> Rendered:
    ask = Ask(f"/nphd/{agreement_id}", (), lang)

    async def build(tx: Transaction, context: Context) -> tuple[str, dict[str, Any]]:
        agreement = await grants.get_agreement(tx, agreement_id)
        position = await grants.read_position(tx.sql, agreement_id)
        found_region = await reference.get_region(tx, agreement.region_code)
        province = (
            await reference.get_region(tx, found_region.parent_code) if found_region.parent_code else found_region
        )
        election = await reference.get_election(tx, agreement.election_id)
        where = AgreementFilter(election_id=agreement.election_id, recipient_id=agreement.recipient_id)
        compliance = await oversight.compliance_of(tx, site.settings, agreement_id, where, as_of=context.today)
        disbursements = public.payments(
            await every_page(lambda page: ledger.list_disbursements(tx, agreement_id, page))
        )
        labels = await _code_labels(tx, context.lang)
        found = sorted(compliance.findings, key=_rank) if compliance else []
        return "grant.html.j2", {
            "agreement": agreement,
            "position": position,
            "figures": figures_of(position),
            "recipient": public.recipient(await reference.get_recipient(tx, agreement.recipient_id)),
            "region": found_region,
            "province": province,
            "election": election,
            "dues": compliance.dues if compliance else [],
            "flags": _due_flags(found),
            "findings": await _finding_views(tx, context, found),
            "amendments": await every_page(lambda page: grants.list_amendments(tx, agreement_id, page)),
            "disbursements": disbursements,
            "refunds": public.refunds(await every_page(lambda page: ledger.list_refunds(tx, agreement_id, page))),
            "reports": public.reports(
                await every_page(lambda page: reports.list_reports(tx, PUBLIC, agreement_id, page))
            ),
            "variance": await reports.budget_variance(tx, agreement_id),
            "support": await _support(tx, where),
            "labels": labels,
            "tranche_rule": TRANCHE_RULE,
            **_timeline(disbursements, compliance.dues if compliance else [], agreement, election, context.tr),
        }

    return await serve(site, ask, build)


async def _support(tx: Transaction, where: AgreementFilter) -> list[SupportOut]:
    """The support in kind the page shows: void records are out of every figure, so out of the page too."""
    rows = await every_page(lambda page: support.list_support(tx, page, SupportFilter(where)))
    return [row for row in rows if row.voided_at is None]


def _due_flags(found: Sequence[Finding]) -> dict[int, list[Rule]]:
    """Tranche number → the payment rules it broke (the findings say so; the page does not judge again)."""
    flags: dict[int, list[Rule]] = {}
    for finding in found:
        if finding.rule in (Rule.tranche_late, Rule.tranche_short):
            flags.setdefault(int(finding.facts.get("tranche", 0)), []).append(finding.rule)
    return flags


def _timeline(
    disbursements: Sequence[public.PublicPayment],
    dues: Sequence[TrancheDue],
    agreement: AgreementOut,
    election: Any,
    tr: Texts,
) -> dict[str, list[Any]]:
    """Net money paid after each payment or reversal, the cumulative amount due by each due date, and the days
    that frame them (signing, the due dates, voting day)."""
    moves: list[tuple[date, Decimal]] = []
    for entry in disbursements:
        moves.append((entry.paid_on, entry.amount))
        if entry.reversed_on is not None:
            moves.append((entry.reversed_on, -entry.amount))
    paid, total = [], Decimal(0)
    for day, amount in sorted(moves):
        total += amount
        paid.append(charts.Step(day, total))
    marks = [charts.Mark(agreement.signed_on, "NPHD")]
    marks += [charts.Mark(due.due_on, tr("Batas ", "Due ") + ("I" if due.tranche == 1 else "II")) for due in dues]
    marks.append(charts.Mark(election.voting_day, tr("Coblos", "Vote")))
    return {
        "timeline_paid": paid,
        "timeline_required": [charts.Step(due.due_on, due.required) for due in dues],
        "timeline_marks": sorted(marks, key=lambda mark: mark.day),
    }


# --- /temuan ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FindingsAsk:
    year: int | None
    province: str | None
    rule: Rule | None
    severity: Severity | None
    page: int


async def findings(site: Site, wanted: FindingsAsk, lang: Lang) -> Rendered:
    params = (
        ("tahun", wanted.year),
        ("provinsi", wanted.province),
        ("aturan", wanted.rule.value if wanted.rule else None),
        ("tingkat", wanted.severity.value if wanted.severity else None),
        ("halaman", wanted.page if wanted.page > 1 else None),
    )
    ask = Ask("/temuan", params, lang)

    async def build(tx: Transaction, context: Context) -> tuple[str, dict[str, Any]]:
        chosen, years = await _years(tx, wanted.year)
        if wanted.province is not None:
            await reference.get_region(tx, wanted.province)
        where = AgreementFilter(province=wanted.province, year=chosen)
        found = sorted(
            await oversight.findings(
                tx, site.settings, where, as_of=context.today, rule=wanted.rule, severity=wanted.severity
            ),
            key=_rank,
        )
        pages = max(1, -(-len(found) // FINDINGS_PER_PAGE))
        number = min(wanted.page, pages)
        shown = found[(number - 1) * FINDINGS_PER_PAGE : number * FINDINGS_PER_PAGE]
        provinces = await every_page(lambda page: reference.list_regions(tx, page, level=RegionLevel.province))
        return "findings.html.j2", {
            "wanted": wanted,
            "year": chosen,
            "years": years,
            "provinces": provinces,
            "findings": await _finding_views(tx, context, shown),
            "count": len(found),
            "page": number,
            "pages": pages,
            "by_rule": _count_by(found, "rule"),
            "by_severity": _count_by(found, "severity"),
            "filters": {
                "year": chosen,
                "province": wanted.province,
                "rule": wanted.rule.value if wanted.rule else None,
                "severity": wanted.severity.value if wanted.severity else None,
            },
        }

    return await serve(site, ask, build)
