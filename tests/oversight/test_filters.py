"""The oversight reads, filtered: summaries (each ``group_by`` and every filter), the findings (``as_of``, ``rule``,
``severity`` and the agreement filters), every export's filters and the data package that hands them on. Each
filter keeps exactly what the atlas of tests/helpers.py says it should and drops the decoys; the expected rows,
sums and sets are written out by hand from the atlas's tables."""

import csv
import io
from typing import Any

import httpx
import pytest

from tests.helpers import Atlas, Grant, Headers, KeyMaker, atlas, atlas_support, created, item, new_report

MILLION = 1_000_000


@pytest.fixture
def grants(client: httpx.Client, admin: Headers, make_key: KeyMaker) -> Atlas:
    return atlas(client, admin, make_key)


def rows_of(response: httpx.Response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))


def column(response: httpx.Response, name: str) -> list[str]:
    return sorted(row[name] for row in rows_of(response))


# --- summaries -------------------------------------------------------------------------------------


def amounts(response: httpx.Response, key: str) -> dict[Any, tuple[int, str]]:
    """Each row's key → (agreements, amount)."""
    assert response.status_code == 200, response.text
    return {row[key]: (row["agreements"], row["amount"]) for row in response.json()["data"]}


def total(response: httpx.Response) -> tuple[int, str]:
    assert response.status_code == 200, response.text
    body = response.json()["total"]
    return body["agreements"], body["amount"]


def test_each_group_by_groups_the_atlas_by_its_key(client: httpx.Client, grants: Atlas) -> None:
    e = grants.elections
    assert amounts(client.get("/summaries", params={"group_by": "region"}), "region_code") == {
        "35.74": (3, "19000000.00"),
        "35.13": (1, "4000000.00"),
        "36.71": (1, "8000000.00"),
    }
    assert amounts(client.get("/summaries", params={"group_by": "province"}), "province_code") == {
        "35": (4, "23000000.00"),
        "36": (1, "8000000.00"),
    }
    assert amounts(client.get("/summaries", params={"group_by": "election"}), "election_id") == {
        e["mayor_2024"]: (2, "3000000.00"),
        e["regent_2024"]: (1, "4000000.00"),
        e["tangerang_2024"]: (1, "8000000.00"),
        e["mayor_2020"]: (1, "16000000.00"),
    }
    assert amounts(client.get("/summaries", params={"group_by": "recipient_kind"}), "recipient_kind") == {
        "kpu": (4, "29000000.00"),
        "bawaslu": (1, "2000000.00"),
    }


def test_each_summary_filter_sums_only_its_grants(client: httpx.Client, grants: Atlas) -> None:
    # Amounts are powers of two (kota 1M, bawaslu 2M, kab 4M, banten 8M, old 16M): each sum names its set.
    e, r = grants.elections, grants.recipients
    assert total(client.get("/summaries")) == (5, "31000000.00")
    assert total(client.get("/summaries", params={"region_code": "35.74"})) == (3, "19000000.00")
    assert total(client.get("/summaries", params={"province": "36"})) == (1, "8000000.00")
    assert total(client.get("/summaries", params={"election_id": e["mayor_2024"]})) == (2, "3000000.00")
    assert total(client.get("/summaries", params={"recipient_id": r["kpu_3574"]})) == (2, "17000000.00")
    assert total(client.get("/summaries", params={"recipient_kind": "bawaslu"})) == (1, "2000000.00")
    assert total(client.get("/summaries", params={"status": "closed"})) == (1, "16000000.00")
    assert total(client.get("/summaries", params={"year": 2024})) == (4, "15000000.00")
    # Filtered and grouped: 2024's grants in Jawa Timur, by region.
    both = client.get("/summaries", params={"group_by": "region", "province": "35", "year": 2024})
    assert amounts(both, "region_code") == {"35.74": (2, "3000000.00"), "35.13": (1, "4000000.00")}


# --- findings --------------------------------------------------------------------------------------


def found(client: httpx.Client, grants: Atlas, response: httpx.Response) -> list[tuple[str, str]]:
    """(agreement name, rule) of each finding, sorted."""
    assert response.status_code == 200, response.text
    names = {agreement_id: name for name, agreement_id in grants.agreements.items()}
    return sorted((names[row["agreement_id"]], row["rule"]) for row in response.json()["data"])


# On 30 June 2025 every 2024 grant is unpaid: tranche I (due 22 Dec 2023) and II (due 27 Jun 2024) late; the
# mayoral grants' final reports (due 9 Apr 2025, three months after 9 Jan 2025) overdue; old's lump sum was paid
# whole on 3 Feb 2020, after its due day (24 Jan 2020): late, and nothing else.
def test_each_findings_filter_keeps_only_its_findings(client: httpx.Client, grants: Atlas) -> None:
    e, r = grants.elections, grants.recipients
    day = "2025-06-30"

    def get(**params: Any) -> list[tuple[str, str]]:
        return found(client, grants, client.get("/compliance/findings", params={"as_of": day, **params}))

    # On 30 June 2025 every 2024 grant is unpaid: tranche I (due 22 Dec 2023) and II (due 27 Jun 2024) late; the
    # mayoral grants' final reports (due 9 Apr 2025, three months after 9 Jan 2025) overdue; old's lump sum was
    # paid whole on 3 Feb 2020, after its due day (24 Jan 2020): late, and nothing else.
    everything = sorted(
        [
            ("kota", "tranche_late"),
            ("kota", "tranche_late"),
            ("kota", "final_report_overdue"),
            ("bawaslu", "tranche_late"),
            ("bawaslu", "tranche_late"),
            ("bawaslu", "final_report_overdue"),
            ("kab", "tranche_late"),
            ("kab", "tranche_late"),
            ("banten", "tranche_late"),
            ("banten", "tranche_late"),
            ("old", "tranche_late"),
        ]
    )
    assert get() == everything
    # On 1 January 2024 only tranche I had fallen due.
    first = found(client, grants, client.get("/compliance/findings", params={"as_of": "2024-01-01"}))
    assert first == sorted((name, "tranche_late") for name in ("kota", "bawaslu", "kab", "banten", "old"))
    assert found(client, grants, client.get("/compliance/findings", params={"as_of": day, "severity": "high"})) == [
        ("bawaslu", "final_report_overdue"),
        ("kota", "final_report_overdue"),
    ]
    assert found(client, grants, client.get("/compliance/findings", params={"as_of": day, "rule": "tranche_late"})) == [
        row for row in everything if row[1] == "tranche_late"
    ]
    assert found(client, grants, client.get("/compliance/findings", params={"as_of": day, "region_code": "35.74"})) == [
        row for row in everything if row[0] in {"kota", "bawaslu", "old"}
    ]
    assert found(client, grants, client.get("/compliance/findings", params={"as_of": day, "province": "36"})) == [
        ("banten", "tranche_late"),
        ("banten", "tranche_late"),
    ]
    by_election = client.get("/compliance/findings", params={"as_of": day, "election_id": e["mayor_2024"]})
    assert found(client, grants, by_election) == [row for row in everything if row[0] in {"kota", "bawaslu"}]
    by_recipient = client.get("/compliance/findings", params={"as_of": day, "recipient_id": r["kpu_3574"]})
    assert found(client, grants, by_recipient) == [row for row in everything if row[0] in {"kota", "old"}]
    by_kind = client.get("/compliance/findings", params={"as_of": day, "recipient_kind": "bawaslu"})
    assert found(client, grants, by_kind) == [row for row in everything if row[0] == "bawaslu"]
    assert found(client, grants, client.get("/compliance/findings", params={"as_of": day, "status": "closed"})) == [
        ("old", "tranche_late")
    ]
    assert found(client, grants, client.get("/compliance/findings", params={"as_of": day, "year": 2020})) == [
        ("old", "tranche_late")
    ]


# --- exports ---------------------------------------------------------------------------------------


def test_the_agreement_filters_narrow_the_agreements_export(client: httpx.Client, grants: Atlas) -> None:
    e, r = grants.elections, grants.recipients

    def ids(**params: Any) -> list[str]:
        return sorted(str(grants.agreements[name]) for name in params.pop("expect"))

    def exported(response: httpx.Response) -> list[str]:
        return column(response, "id")

    assert exported(client.get("/exports/agreements.csv", params={"region_code": "35.74"})) == ids(
        expect=("kota", "bawaslu", "old")
    )
    assert exported(client.get("/exports/agreements.csv", params={"province": "36"})) == ids(expect=("banten",))
    assert exported(client.get("/exports/agreements.csv", params={"election_id": e["mayor_2024"]})) == ids(
        expect=("kota", "bawaslu")
    )
    assert exported(client.get("/exports/agreements.csv", params={"recipient_id": r["kpu_3574"]})) == ids(
        expect=("kota", "old")
    )
    assert exported(client.get("/exports/agreements.csv", params={"recipient_kind": "bawaslu"})) == ids(
        expect=("bawaslu",)
    )
    assert exported(client.get("/exports/agreements.csv", params={"status": "closed"})) == ids(expect=("old",))
    assert exported(client.get("/exports/agreements.csv", params={"year": 2024})) == ids(
        expect=("kota", "bawaslu", "kab", "banten")
    )
    # The other exports take the same filters: the disbursements of Kabupaten Probolinggo's grant are not the city's.
    kab = {"tranche": 1, "amount": "1000000", "paid_on": "2023-12-11", "sp2d_number": "SP2D-KAB"}
    created(
        client.post(
            f"/agreements/{grants.agreements['kab']}/disbursements",
            json=kab,
            headers={**grants.finance, "Idempotency-Key": "kab-1"},
        )
    )
    assert column(client.get("/exports/disbursements.csv", params={"region_code": "35.74"}), "sp2d_number") == [
        "SP2D-OLD"
    ]
    assert column(client.get("/exports/disbursements.csv", params={"region_code": "35.13"}), "sp2d_number") == [
        "SP2D-KAB"
    ]


def test_support_export_filters(client: httpx.Client, grants: Atlas) -> None:
    s = atlas_support(client, grants)
    assert column(client.get("/exports/support.csv", params={"kind": "asset_loan"}), "bast_number") == [
        "BAST-BANTEN",
        "BAST-KOTA",
    ]
    assert column(client.get("/exports/support.csv", params={"outstanding": "true"}), "bast_number") == ["BAST-KOTA"]
    assert column(client.get("/exports/support.csv", params={"status": "closed"}), "id") == [str(s["old"])]


def test_usage_item_export_filters(client: httpx.Client, grants: Atlas, auditor: Headers) -> None:
    """A draft report of KPU Kota Probolinggo beside old's accepted one (one item: 9 Dec 2020, honorarium_adhoc,
    pemungutan_suara, KW-001/KPPS/2024)."""
    kota = Grant(
        grants.agreements["kota"],
        grants.elections["mayor_2024"],
        grants.recipients["kpu_3574"],
        grants.finance,
        grants.admin,
    )
    report = new_report(client, kota, grants.kpu_key)
    items = [
        item("100", spent_on="2024-01-10", document_number="KW-A"),
        item("200", spent_on="2024-06-15", category="logistik", stage="logistik", document_number="KW-B"),
        item("300", spent_on="2024-11-27", stage="kampanye", document_number="KW-C"),
        item("400", spent_on="2024-12-31", category="sewa", document_number="KW-D"),
    ]
    added = client.post(f"/usage-reports/{report['id']}/items", json={"items": items}, headers=grants.kpu_key)
    assert added.status_code == 201, added.text

    url = "/exports/usage-items.csv"
    assert column(client.get(url, headers=auditor), "document_number") == [
        "KW-001/KPPS/2024",
        "KW-A",
        "KW-B",
        "KW-C",
        "KW-D",
    ]
    assert column(
        client.get("/exports/usage-items.csv", params={"report_id": report["id"]}, headers=auditor), "document_number"
    ) == [
        "KW-A",
        "KW-B",
        "KW-C",
        "KW-D",
    ]
    assert column(
        client.get("/exports/usage-items.csv", params={"category": "logistik"}, headers=auditor), "document_number"
    ) == ["KW-B"]
    assert column(
        client.get("/exports/usage-items.csv", params={"stage": "pemungutan_suara"}, headers=auditor), "document_number"
    ) == [
        "KW-001/KPPS/2024",
        "KW-A",
        "KW-D",
    ]
    # Both ends of a date range are in it.
    assert column(
        client.get("/exports/usage-items.csv", params={"spent_from": "2024-06-15"}, headers=auditor), "document_number"
    ) == [
        "KW-B",
        "KW-C",
        "KW-D",
    ]
    assert column(
        client.get("/exports/usage-items.csv", params={"spent_to": "2024-11-27"}, headers=auditor), "document_number"
    ) == [
        "KW-001/KPPS/2024",
        "KW-A",
        "KW-B",
        "KW-C",
    ]
    assert column(
        client.get(
            "/exports/usage-items.csv",
            params={"spent_from": "2024-06-15", "spent_to": "2024-11-27", "region_code": "35.74"},
            headers=auditor,
        ),
        "document_number",
    ) == ["KW-B", "KW-C"]


def test_findings_export_filters(client: httpx.Client, grants: Atlas) -> None:
    def pairs(response: httpx.Response) -> list[tuple[str, str]]:
        names = {str(agreement_id): name for name, agreement_id in grants.agreements.items()}
        return sorted((names[row["agreement_id"]], row["rule"]) for row in rows_of(response))

    day = "2025-06-30"
    assert pairs(client.get("/exports/findings.csv", params={"as_of": day, "severity": "high"})) == [
        ("bawaslu", "final_report_overdue"),
        ("kota", "final_report_overdue"),
    ]
    assert pairs(client.get("/exports/findings.csv", params={"as_of": "2024-01-01", "rule": "tranche_late"})) == sorted(
        (name, "tranche_late") for name in ("kota", "bawaslu", "kab", "banten", "old")
    )
    by_election = client.get(
        "/exports/findings.csv", params={"as_of": day, "election_id": grants.elections["mayor_2020"]}
    )
    assert pairs(by_election) == [("old", "tranche_late")]


def test_the_data_package_hands_every_filter_on_to_each_file(client: httpx.Client, grants: Atlas) -> None:
    atlas_support(client, grants)
    package = client.get(
        "/exports/datapackage.json",
        params={
            "report_id": 7,
            "category": "logistik",
            "stage": "kampanye",
            "spent_from": "2024-01-01",
            "spent_to": "2024-12-31",
            "as_of": "2025-06-30",
            "rule": "tranche_late",
            "severity": "medium",
            "kind": "asset_loan",
            "outstanding": "true",
            "region_code": "35.74",
            "province": "35",
            "election_id": grants.elections["mayor_2024"],
            "recipient_id": grants.recipients["kpu_3574"],
            "recipient_kind": "kpu",
            "status": "active",
            "year": 2024,
        },
    )
    assert package.status_code == 200, package.text
    query = package.request.url.query.decode()
    assert query.count("=") == 17
    base = str(client.base_url).rstrip("/")
    assert [resource["path"] for resource in package.json()["resources"]] == [
        f"{base}/exports/{name}.csv?{query}"
        for name in ("agreements", "disbursements", "refunds", "usage-items", "findings", "support")
    ]
    # And the file at such a path is filtered by them: of the support, only kota's loan, still out.
    assert column(client.get(f"/exports/support.csv?{query}"), "bast_number") == ["BAST-KOTA"]
