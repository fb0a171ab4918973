"""Invariants under real concurrency: parallel HTTP clients on separate connections, one agreement."""

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import httpx
import psycopg

from tests.conftest import Grant, KeyMaker
from tests.test_idempotency import count

PAYMENTS = 60


def _post_all(server_address: str, requests: list[tuple[str, dict[str, Any], dict[str, str]]]) -> list[httpx.Response]:
    def send(request: tuple[str, dict[str, Any], dict[str, str]]) -> httpx.Response:
        path, body, headers = request
        with httpx.Client(base_url=f"{server_address}/api/v1", timeout=60) as http:
            return http.post(path, json=body, headers=headers)

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        return list(pool.map(send, requests))


def _small_grant(client: httpx.Client, grant: Grant, make_key: KeyMaker, admin: dict[str, str], amount: str) -> int:
    recipient = client.post(
        "/recipients", json={"name": "Kodim 0820/Probolinggo", "kind": "tni", "region_code": "35.74"}, headers=admin
    ).json()
    created = client.post(
        "/agreements",
        json={
            "number": "NPHD-KODIM",
            "election_id": grant.election_id,
            "recipient_id": recipient["id"],
            "signed_on": "2024-02-20",
            "scheme": "lump_sum",
            "amount": amount,
        },
        headers=grant.finance,
    )
    assert created.status_code == 201, created.text
    agreement_id: int = created.json()["id"]
    return agreement_id


def test_parallel_payments_never_pass_the_amount(
    server_address: str,
    client: httpx.Client,
    grant: Grant,
    make_key: KeyMaker,
    admin: dict[str, str],
    db: psycopg.Connection[Any],
) -> None:
    """60 payments of Rp30,000 race at Rp1,000,000: exactly 33 fit, each stored once, the rest refused."""
    agreement_id = _small_grant(client, grant, make_key, admin, "1000000")
    requests = [
        (
            f"/agreements/{agreement_id}/disbursements",
            {"tranche": 1, "amount": "30000", "paid_on": "2024-03-05", "sp2d_number": f"SP2D-{n:03d}"},
            {**grant.finance, "Idempotency-Key": f"pay-{n}"},
        )
        for n in range(PAYMENTS)
    ]
    responses = _post_all(server_address, requests)
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] * 33 + [409] * 27, statuses
    assert {response.json()["code"] for response in responses if response.status_code == 409} == {"over_disbursement"}
    accepted = {response.json()["sp2d_number"] for response in responses if response.status_code == 201}
    stored = db.execute(
        "SELECT sp2d_number, amount FROM disbursement WHERE agreement_id = %s", (agreement_id,)
    ).fetchall()
    assert {row[0] for row in stored} == accepted
    assert len(stored) == 33
    total = sum((row[1] for row in stored), Decimal(0))
    assert total == Decimal("990000.00")
    position = client.get(f"/agreements/{agreement_id}/position").json()
    assert position["disbursed"] == "990000.00"
    assert client.get("/audit/verify", headers=make_key("auditor")).json()["valid"] is True


def test_parallel_retries_with_one_key_store_one_payment(
    server_address: str, client: httpx.Client, grant: Grant, db: psycopg.Connection[Any]
) -> None:
    body = {"tranche": 1, "amount": "1300000000", "paid_on": "2023-12-19", "sp2d_number": "SP2D-RETRY"}
    headers = {**grant.finance, "Idempotency-Key": "bpkad-sp2d-retry"}
    responses = _post_all(server_address, [(f"/agreements/{grant.agreement_id}/disbursements", body, headers)] * 24)
    assert {response.status_code for response in responses} == {201}
    assert len({response.json()["id"] for response in responses}) == 1
    assert count(db, "disbursement") == 1
    assert client.get(f"/agreements/{grant.agreement_id}/position").json()["disbursed"] == "1300000000.00"


def test_parallel_refunds_never_pass_what_is_held(
    server_address: str, client: httpx.Client, grant: Grant, make_key: KeyMaker, db: psycopg.Connection[Any]
) -> None:
    client.post(
        f"/agreements/{grant.agreement_id}/disbursements",
        json={"tranche": 1, "amount": "100000", "paid_on": "2024-01-10", "sp2d_number": "SP2D-1"},
        headers={**grant.finance, "Idempotency-Key": "p1"},
    )
    requests = [
        (
            f"/agreements/{grant.agreement_id}/refunds",
            {"amount": "7000", "returned_on": "2025-05-07", "sts_number": f"STS-{n}"},
            {**grant.finance, "Idempotency-Key": f"r-{n}"},
        )
        for n in range(30)
    ]
    statuses = sorted(response.status_code for response in _post_all(server_address, requests))
    assert statuses == [201] * 14 + [409] * 16
    assert client.get(f"/agreements/{grant.agreement_id}/position").json()["held"] == "2000.00"
    row = db.execute("SELECT sum(amount) FROM refund").fetchone()
    assert row is not None
    assert row[0] == Decimal("98000.00")
