"""The demo's support in kind: the city's office space, seconded staff and a car lent and returned (demo values)."""

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import psycopg

from tests.portal.conftest import _load_demo


def test_the_demo_carries_the_citys_support_in_kind(
    client: httpx.Client, database_url: str, db: psycopg.Connection[Any]
) -> None:
    with ThreadPoolExecutor(max_workers=1) as thread:
        thread.submit(asyncio.run, _load_demo(database_url)).result()
    rows = client.get("/support").json()["data"]
    assert [(row["recipient_kind"], row["kind"], row["value"], row["outstanding"]) for row in rows] == [
        ("bawaslu", "facility", "180000000.00", False),
        ("bawaslu", "personnel", "216000000.00", False),
        ("kpu", "asset_loan", "385000000.00", False),
        ("kpu", "personnel", "270000000.00", False),
    ]
    assert rows[2]["returned_on"] == "2025-02-24"
    kinds = client.get("/summaries?group_by=recipient_kind").json()
    # Bawaslu 180,000,000 + 216,000,000; KPU 385,000,000 + 270,000,000.
    assert {row["recipient_kind"]: row["support_value"] for row in kinds["data"]} == {
        "bawaslu": "396000000.00",
        "kpu": "655000000.00",
        "polri": "0.00",
        "tni": "0.00",
    }
    assert kinds["total"]["support_value"] == "1051000000.00"
    # Returned before the final report fell due (2025-05-07): no finding.
    findings = client.get("/compliance/findings?rule=loan_not_returned").json()["data"]
    assert findings == []
    actions = db.execute("SELECT action, count(*) FROM audit_event WHERE entity = 'support' GROUP BY 1 ORDER BY 1")
    assert actions.fetchall() == [("support.create", 4), ("support.return", 1)]


def test_the_portal_shows_the_support_on_the_grant_and_region_pages(
    client: httpx.Client, database_url: str, db: psycopg.Connection[Any], server_address: str
) -> None:
    with ThreadPoolExecutor(max_workers=1) as thread:
        thread.submit(asyncio.run, _load_demo(database_url)).result()
    kpu = db.execute("SELECT id FROM agreement WHERE recipient_kind = 'kpu'").fetchone()
    assert kpu is not None
    with httpx.Client(base_url=server_address, timeout=60) as site:
        grant = site.get(f"/nphd/{kpu[0]}")
        assert grant.status_code == 200, grant.text
        assert "Pinjam pakai aset" in grant.text
        assert "Toyota Kijang Innova" in grant.text
        assert "24 Februari 2025" in grant.text
        assert "60 orang-bulan" in grant.text
        # Rp385.000.000 + Rp270.000.000, the KPU's support only.
        assert "Rp655.000.000" in grant.text
        assert "Ruang kantor sekretariat Bawaslu" not in grant.text
        region = site.get("/wilayah/35.74?lang=en")
        assert region.status_code == 200, region.text
        assert "Ruang kantor sekretariat Bawaslu" in region.text
        assert "Rp1,051,000,000" in region.text
        assert "/api/v1/exports/support.csv?region_code=35.74" in region.text
