"""Every list not paged elsewhere, paged: ``limit`` cuts a page to its size and ``cursor`` follows on, so the pages
add up to the whole list in order, each row once (the rows made here, counted by hand)."""

from typing import Any

import httpx

from tests.helpers import Grant, Headers, created, money_headers, new_report, pay


def paged(first: httpx.Response, rest: httpx.Response, size: int, key: str = "id") -> list[Any]:
    assert first.status_code == rest.status_code == 200, (first.text, rest.text)
    assert len(first.json()["data"]) == size
    assert rest.json()["next_cursor"] is None
    return [row[key] for page in (first, rest) for row in page.json()["data"]]


def test_the_lists_of_a_grant_come_in_pages(client: httpx.Client, paid: Grant, recipient: Headers) -> None:
    a = paid.agreement_id
    disbursements = [*(row["id"] for row in client.get(f"/agreements/{a}/disbursements").json()["data"])]
    disbursements += [created(pay(client, paid, "1000000", f"SP2D-{n}", "2024-01-10")) for n in (2, 3)]
    first = client.get(f"/agreements/{a}/disbursements", params={"limit": 2})
    rest = client.get(f"/agreements/{a}/disbursements", params={"limit": 2, "cursor": first.json()["next_cursor"]})
    assert paged(first, rest, 2) == disbursements

    refunds = [
        created(
            client.post(
                f"/agreements/{a}/refunds",
                json={"amount": "1000000", "returned_on": "2025-05-07", "sts_number": f"STS-{n}"},
                headers=money_headers(paid.finance),
            )
        )
        for n in (1, 2, 3)
    ]
    first = client.get(f"/agreements/{a}/refunds", params={"limit": 2})
    rest = client.get(f"/agreements/{a}/refunds", params={"limit": 2, "cursor": first.json()["next_cursor"]})
    assert paged(first, rest, 2) == refunds

    for n in (1, 2, 3):
        amendment = {
            "number": f"ADD-0{n}",
            "signed_on": "2024-06-01",
            "new_amount": f"2{n}000000000",
            "reason": "other",
        }
        assert client.post(f"/agreements/{a}/amendments", json=amendment, headers=paid.finance).status_code == 201
    first = client.get(f"/agreements/{a}/amendments", params={"limit": 2})
    rest = client.get(f"/agreements/{a}/amendments", params={"limit": 2, "cursor": first.json()["next_cursor"]})
    assert paged(first, rest, 2, key="number") == ["ADD-01", "ADD-02", "ADD-03"]

    reports = [new_report(client, paid, recipient, title=f"Laporan {n}")["id"] for n in (1, 2, 3)]
    first = client.get(f"/agreements/{a}/usage-reports", params={"limit": 2}, headers=recipient)
    rest = client.get(
        f"/agreements/{a}/usage-reports", params={"limit": 2, "cursor": first.json()["next_cursor"]}, headers=recipient
    )
    assert paged(first, rest, 2) == reports


def test_checkpoints_come_in_pages(client: httpx.Client, admin: Headers) -> None:
    sealed = []
    for code, name in (("35", "Jawa Timur"), ("36", "Banten"), ("51", "Bali")):
        assert client.post("/regions", json={"code": code, "name": name}, headers=admin).status_code == 201
        sealed.append(created(client.post("/audit/checkpoints", headers=admin)))
    first = client.get("/audit/checkpoints", params={"limit": 2})
    rest = client.get("/audit/checkpoints", params={"limit": 2, "cursor": first.json()["next_cursor"]})
    assert paged(first, rest, 2) == sealed
