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
