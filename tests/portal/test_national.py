"""The figures on the pages equal the API's for the same filters, over data made by the national generator
(`hibah generate national`): every province, region and grant page of the generated regions, read back from
the page as a reader sees it and compared, to the rupiah, with the API's JSON.

The generator's own code makes the regions (``generate_region``, through the services); the suite makes the 37
provinces and a share of their regencies and cities, one item per report, to stay within CI's time.
"""

import asyncio
import random
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import psycopg
import pytest

from app.core.config import Settings
from app.core.db import create_engine_for, transaction
from app.datasets.national import generate_region, plan_regions
from app.reference.models import RegionLevel
from tests.conftest import libpq, reset_statement
from tests.portal.pages import get_page, percent, rupiah, table, visible_text

pytestmark = pytest.mark.slow
REGENCIES, CITIES = 12, 6
SUMMED = ("amount", "disbursed", "spent_reported", "refunded", "held")


async def _generate(url: str) -> None:
    plans = plan_regions()
    provinces = [plan for plan in plans if plan.level == RegionLevel.province]
    regencies = [plan for plan in plans if plan.level == RegionLevel.regency][:REGENCIES]
    cities = [plan for plan in plans if plan.level == RegionLevel.city][:CITIES]
    rng = random.Random(2024)
    engine = create_engine_for(url, Settings())
    try:
        for plan in (*provinces, *regencies, *cities):
            async with transaction(engine) as tx:
                await generate_region(tx, plan, 1, rng)
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def national(database_url: str, server_address: str) -> Iterator[httpx.Client]:
    """Generated once for the module's tests (they only read), emptied after the last."""
    asyncio.run(_generate(database_url))
    with httpx.Client(base_url=server_address, timeout=120) as http:
        yield http
    with psycopg.connect(libpq(database_url), autocommit=True) as connection:
        connection.execute(reset_statement(connection))


@pytest.fixture(autouse=True)
def _empty_tables() -> None:
    """Instead of the suite's emptying after every test: this module's tests share one generated dataset."""


def _same_figures(page_row: dict[str, str], api_row: dict[str, Any], where: str) -> None:
    for name in SUMMED:
        assert rupiah(page_row[name]) == Decimal(api_row[name]), (where, name, page_row[name], api_row[name])
    assert percent(page_row["absorption"]) == Decimal(api_row["absorption"]), (where, page_row["absorption"])


def test_every_page_shows_the_apis_figures(national: httpx.Client) -> None:
    site = national
    summary = site.get("/api/v1/summaries", params={"group_by": "province", "year": 2024}).json()
    home = get_page(site, "/")
    _same_figures(table(home, "headline")["total"], summary["total"], "national headline")
    provinces = table(home, "provinces")
    assert set(provinces) == {row["province_code"] for row in summary["data"]}
    for row in summary["data"]:
        _same_figures(provinces[row["province_code"]], row, f"/ province {row['province_code']}")
    kinds = site.get("/api/v1/summaries", params={"group_by": "recipient_kind", "year": 2024}).json()["data"]
    for row in kinds:
        _same_figures(table(home, "kinds")[row["recipient_kind"]], row, f"/ {row['recipient_kind']}")

    agreements_seen = 0
    for province in summary["data"]:
        code = province["province_code"]
        page = get_page(site, f"/wilayah/{code}")
        _same_figures(table(page, "headline")["total"], province, f"/wilayah/{code} headline")
        regions = site.get("/api/v1/summaries", params={"group_by": "region", "province": code, "year": 2024}).json()[
            "data"
        ]
        shown = table(page, "regions")
        children = [row for row in regions if row["region_code"] != code]
        assert set(shown) == {row["region_code"] for row in children}, code
        for row in children:
            _same_figures(shown[row["region_code"]], row, f"/wilayah/{code} row {row['region_code']}")
        for region_code in [code, *shown]:
            region_page = page if region_code == code else get_page(site, f"/wilayah/{region_code}")
            cards = table(region_page, "cards")
            for agreement_id, card in cards.items():
                position = site.get(f"/api/v1/agreements/{agreement_id}/position").json()
                _same_figures(card, position, f"/wilayah/{region_code} card {agreement_id}")
                agreements_seen += 1
    listed = site.get("/api/v1/agreements", params={"limit": 500, "year": 2024}).json()["data"]
    assert agreements_seen == len(listed), "every grant appears on its region's (or province's) page"


def test_grant_pages_and_findings_show_the_apis_figures(national: httpx.Client) -> None:
    site = national
    agreements = site.get("/api/v1/agreements", params={"limit": 500}).json()["data"]
    for agreement in agreements[:: max(1, len(agreements) // 25)]:
        agreement_id = agreement["id"]
        page = get_page(site, f"/nphd/{agreement_id}")
        position = site.get(f"/api/v1/agreements/{agreement_id}/position").json()
        _same_figures(table(page, "headline")["total"], position, f"/nphd/{agreement_id}")
        paid = site.get(f"/api/v1/agreements/{agreement_id}/disbursements").json()["data"]
        shown = table(page, "disbursements")
        assert sorted(rupiah(row["amount"]) for key, row in shown.items() if key.isdigit()) == sorted(
            Decimal(entry["amount"]) for entry in paid
        )
        refunds = site.get(f"/api/v1/agreements/{agreement_id}/refunds").json()["data"]
        returned = table(page, "refunds")
        assert sorted(rupiah(row["amount"]) for key, row in returned.items() if key.isdigit()) == sorted(
            Decimal(entry["amount"]) for entry in refunds
        )
    findings = site.get("/api/v1/compliance/findings", params={"year": 2024}).json()["data"]
    assert findings, "the generator leaves some money unreturned: refund_overdue findings"
    page = get_page(site, "/temuan")
    assert f'data-count="{len(findings)}"' in page
    for code in sorted({finding["region_code"][:2] for finding in findings})[:5]:
        expected = site.get("/api/v1/compliance/findings", params={"year": 2024, "province": code}).json()["data"]
        filtered = get_page(site, f"/temuan?provinsi={code}")
        assert f'data-count="{len(expected)}"' in filtered, code
    assert "refund_overdue" in {finding["rule"] for finding in findings}
    assert "Sisa dana belum dikembalikan" in visible_text(page)
