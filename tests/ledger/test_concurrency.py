"""Invariants under real concurrency: parallel HTTP clients on separate connections, one agreement."""

import threading
from decimal import Decimal
from typing import Any

import httpx
import psycopg
import pytest

from tests.helpers import Grant, Timed, another_grant, count, created, in_parallel, most_in_flight, pay, post_all

PAYMENTS = 60
KODIM = {"name": "Kodim 0820/Probolinggo", "kind": "tni", "region_code": "35.74"}


def test_parallel_payments_never_pass_the_amount(
    server_address: str, client: httpx.Client, grant: Grant, auditor: dict[str, str], db: psycopg.Connection[Any]
) -> None:
    """60 payments of Rp30,000 race at Rp1,000,000: exactly 33 fit, each stored once, the rest refused."""
    kodim = another_grant(
        client, grant, KODIM, number="NPHD-KODIM", signed_on="2024-02-20", scheme="lump_sum", amount="1000000"
    )
    agreement_id = kodim.agreement_id
    requests = [
        (
            f"/agreements/{agreement_id}/disbursements",
            {"tranche": 1, "amount": "30000", "paid_on": "2024-03-05", "sp2d_number": f"SP2D-{n:03d}"},
            {**grant.finance, "Idempotency-Key": f"pay-{n}"},
        )
        for n in range(PAYMENTS)
    ]
    responses = post_all(server_address, requests)
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
    assert client.get("/audit/verify", headers=auditor).json()["valid"] is True


def test_parallel_retries_with_one_key_store_one_payment(
    server_address: str, client: httpx.Client, grant: Grant, db: psycopg.Connection[Any]
) -> None:
    body = {"tranche": 1, "amount": "1300000000", "paid_on": "2023-12-19", "sp2d_number": "SP2D-RETRY"}
    headers = {**grant.finance, "Idempotency-Key": "bpkad-sp2d-retry"}
    responses = post_all(server_address, [(f"/agreements/{grant.agreement_id}/disbursements", body, headers)] * 24)
    assert {response.status_code for response in responses} == {201}
    assert len({response.json()["id"] for response in responses}) == 1
    assert count(db, "disbursement") == 1
    assert client.get(f"/agreements/{grant.agreement_id}/position").json()["disbursed"] == "1300000000.00"


def test_parallel_refunds_never_pass_what_is_held(
    server_address: str, client: httpx.Client, grant: Grant, db: psycopg.Connection[Any]
) -> None:
    created(pay(client, grant, "100000", "SP2D-1"))
    requests = [
        (
            f"/agreements/{grant.agreement_id}/refunds",
            {"amount": "7000", "returned_on": "2025-05-07", "sts_number": f"STS-{n}"},
            {**grant.finance, "Idempotency-Key": f"r-{n}"},
        )
        for n in range(30)
    ]
    statuses = sorted(response.status_code for response in post_all(server_address, requests))
    assert statuses == [201] * 14 + [409] * 16
    assert client.get(f"/agreements/{grant.agreement_id}/position").json()["held"] == "2000.00"
    row = db.execute("SELECT sum(amount) FROM refund").fetchone()
    assert row is not None
    assert row[0] == Decimal("98000.00")


def test_overlap_is_measured_so_a_batch_run_one_by_one_fails(server_address: str) -> None:
    """The parallel helpers prove what the tests above rely on: a batch that the server (or the client) ends up
    running one request at a time is refused, not taken for a race that was won."""
    one_at_a_time = threading.Lock()

    def serialised(http: httpx.Client) -> httpx.Response:
        with one_at_a_time:
            return http.get("/codes/stages")

    with pytest.raises(AssertionError, match="overlapped"):
        in_parallel(server_address, [serialised] * 8)
    assert [
        response.status_code for response in in_parallel(server_address, [lambda http: http.get("/codes/stages")] * 8)
    ] == [200] * 8


def test_most_in_flight_counts_intervals_that_overlap() -> None:
    def timed(sent: float, answered: float) -> Timed:
        return Timed(httpx.Response(200), sent, answered)

    assert most_in_flight([timed(0, 1), timed(1, 2), timed(2, 3)]) == 1, "touching intervals do not overlap"
    assert most_in_flight([timed(0, 3), timed(1, 2), timed(1.5, 4), timed(3.5, 5)]) == 3
