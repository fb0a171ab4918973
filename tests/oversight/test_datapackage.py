"""The Data Package of the exports: Table Schemas written from the same column declarations as the files, and
`frictionless` (an independent reader, as a CKAN portal would use) validating the live CSVs against them."""

import asyncio
import random
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import psycopg
import pytest
import sqlalchemy as sa
from frictionless import Package, system

from app.core.config import Settings
from app.core.db import create_engine_for, transaction
from app.datasets.demo import load_demo
from app.datasets.national import generate_region, plan_regions
from app.oversight.columns import REFUNDS, TABLES
from app.oversight.exports import Export


async def _load(url: str, generated: bool) -> None:
    engine = create_engine_for(url, Settings())
    try:
        if not generated:
            async with transaction(engine) as tx:
                await load_demo(tx)
            return
        # A slice of the national generator: one province and three of its regencies/cities, 32 items a grant.
        plans = plan_regions()
        province = next(plan for plan in plans if "." not in plan.code)
        chosen = [province, *[plan for plan in plans if plan.code.startswith(province.code + ".")][:3]]
        rng = random.Random(2024)
        for plan in chosen:
            async with transaction(engine) as tx:
                await generate_region(tx, plan, 32, rng)
    finally:
        await engine.dispose()


def _loaded(database_url: str, *, generated: bool = False) -> None:
    with ThreadPoolExecutor(max_workers=1) as thread:
        thread.submit(asyncio.run, _load(database_url, generated)).result()


def _validated(client: httpx.Client, params: dict[str, str] | None = None) -> dict[str, Any]:
    response = client.get("/exports/datapackage.json", params=params)
    assert response.status_code == 200, response.text
    descriptor: dict[str, Any] = response.json()
    with system.use_context(trusted=True):
        report = Package(descriptor).validate()
    errors = [(task.name, error.type, error.note) for task in report.tasks for error in task.errors]
    assert errors == []
    assert report.valid
    return descriptor


def test_the_package_describes_every_export(client: httpx.Client, database_url: str) -> None:
    _loaded(database_url)
    package = _validated(client)
    base = str(client.base_url).rstrip("/")
    assert [resource["name"] for resource in package["resources"]] == [
        "agreements",
        "disbursements",
        "refunds",
        "usage-items",
        "findings",
        "support",
    ]
    assert [resource["path"] for resource in package["resources"]] == [
        f"{base}/exports/agreements.csv",
        f"{base}/exports/disbursements.csv",
        f"{base}/exports/refunds.csv",
        f"{base}/exports/usage-items.csv",
        f"{base}/exports/findings.csv",
        f"{base}/exports/support.csv",
    ]
    assert package["licenses"] == [
        {
            "name": "CC-BY-4.0",
            "title": "Creative Commons Attribution 4.0",
            "path": "https://creativecommons.org/licenses/by/4.0/",
        }
    ]
    assert package["contributors"] == [{"title": "Hibah operators", "role": "publisher"}]
    agreements = package["resources"][0]["schema"]
    amount = next(field for field in agreements["fields"] if field["name"] == "amount")
    assert amount["type"] == "number"
    assert amount["constraints"] == {"required": True, "minimum": 0.01}
    assert amount["titles"] == {"id": "Nilai (setelah adendum)", "en": "Amount (after amendments)"}
    assert agreements["primaryKey"] == ["id"]
    items = package["resources"][3]["schema"]
    assert items["foreignKeys"] == [
        {"fields": ["agreement_id"], "reference": {"resource": "agreements", "fields": ["id"]}}
    ]
    category = next(field for field in items["fields"] if field["name"] == "category")
    published = [code["code"] for code in client.get("/codes/categories").json()["data"]]
    assert published[:3] == ["honorarium_adhoc", "honorarium_lainnya", "logistik"]
    assert category["constraints"] == {"required": True, "enum": published}

    support = package["resources"][5]["schema"]
    kinds = {field["name"]: field["type"] for field in support["fields"]}
    assert (kinds["quantity"], kinds["value"], kinds["voided_at"]) == ("number", "number", "datetime")
    bast = next(field for field in support["fields"] if field["name"] == "bast_number")
    assert bast["constraints"] == {"required": True, "unique": True}
    support_rows = client.get(package["resources"][5]["path"]).text.strip().splitlines()
    assert len(support_rows) > 1  # the demo's support in kind is there to validate, not an empty file

    # The schema's fields are the files' header, column for column.
    for resource in package["resources"]:
        header = client.get(resource["path"]).text.lstrip("\ufeff").splitlines()[0].split(",")
        assert header == [field["name"] for field in resource["schema"]["fields"]]
        assert header == list(TABLES[next(t for t in TABLES if t.value == resource["name"])].header)


def test_paths_carry_the_request_filters(client: httpx.Client, database_url: str) -> None:
    _loaded(database_url)
    package = _validated(client, {"recipient_kind": "kpu", "as_of": "2025-06-30"})
    base = str(client.base_url).rstrip("/")
    assert package["resources"][0]["path"] == f"{base}/exports/agreements.csv?recipient_kind=kpu&as_of=2025-06-30"
    rows = client.get(package["resources"][0]["path"]).text.strip().splitlines()
    assert len(rows) == 2  # the header and KPU Kota Probolinggo's one agreement


def test_bad_filters_are_refused(client: httpx.Client) -> None:
    response = client.get("/exports/datapackage.json", params={"as_of": "yesterday"})
    assert response.status_code == 422


def test_a_generated_dataset_validates(client: httpx.Client, database_url: str, db: psycopg.Connection[Any]) -> None:
    _loaded(database_url, generated=True)
    assert db.execute("SELECT count(*) FROM usage_item").fetchone() == (4 * 4 * 32,)
    _validated(client)


def test_an_export_selects_exactly_its_declared_columns() -> None:
    columns = {name: sa.literal(1) for name in REFUNDS.header}
    assert Export.of(REFUNDS, columns).header == REFUNDS.header
    with pytest.raises(RuntimeError, match="declared"):
        Export.of(REFUNDS, {**columns, "extra": sa.literal(2)})
    with pytest.raises(RuntimeError, match="declared"):
        Export.of(REFUNDS, {name: value for name, value in columns.items() if name != "note"})
