"""Following the feed live: ``wait`` answers within a second of a commit made by another client, or empty at its
timeout; held requests hold no pooled connection; a follower sees every change of concurrent writers exactly
once, in order; the listener comes back when its connection is cut."""

import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import httpx
import psycopg

from tests.helpers import Grant, created, last_seq, money_headers, pay

TOLD_WITHIN = 1.0


def follow_once(server_address: str, after: int, wait: int) -> tuple[dict[str, Any], float]:
    """One held request on its own connection: its answer and the moment (monotonic) it came."""
    with httpx.Client(base_url=f"{server_address}/api/v1", timeout=60) as http:
        response = http.get("/changes", params={"after": after, "wait": wait})
        told = time.monotonic()
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body, told


def held(pool: ThreadPoolExecutor, server_address: str, after: int, count: int = 1) -> list[Future[Any]]:
    """``count`` held requests, once the server is holding them (their reads found nothing yet)."""
    futures = [pool.submit(follow_once, server_address, after, 20) for _ in range(count)]
    time.sleep(0.5)
    assert not any(future.done() for future in futures)
    return futures


def test_a_held_request_is_answered_within_a_second_of_a_commit(
    client: httpx.Client, server_address: str, grant: Grant, db: psycopg.Connection[Any]
) -> None:
    head = last_seq(db)
    with ThreadPoolExecutor(max_workers=1) as pool:
        [follower] = held(pool, server_address, head)
        disbursement_id = created(pay(client, grant, "10000000", "SP2D-1", "2023-12-19"))
        committed = time.monotonic()  # the 201 comes only after the commit
        body, told = follower.result(timeout=10)
    assert told - committed < TOLD_WITHIN, told - committed
    assert [(entry["seq"], entry["action"], entry["entity_id"]) for entry in body["data"]] == [
        (head + 1, "disbursement.create", str(disbursement_id))
    ]
    assert body["next_cursor"] == str(head + 1)


def test_a_held_request_with_nothing_new_is_answered_empty_at_its_timeout(
    client: httpx.Client, grant: Grant, db: psycopg.Connection[Any]
) -> None:
    head = last_seq(db)
    started = time.monotonic()
    response = client.get("/changes", params={"after": head, "wait": 1})
    elapsed = time.monotonic() - started
    assert response.status_code == 200
    assert response.json() == {"data": [], "next_cursor": str(head)}
    assert 1.0 <= elapsed < 1.8, elapsed
    # Something already there is answered at once, wait or not.
    started = time.monotonic()
    assert len(client.get("/changes", params={"after": head - 1, "wait": 30}).json()["data"]) == 1
    assert time.monotonic() - started < 0.5


def test_held_requests_hold_no_pooled_connection(
    client: httpx.Client, server_address: str, grant: Grant, db: psycopg.Connection[Any]
) -> None:
    """More followers than both pools hold connections (10 + 20 by default): reads on the read pool (which the
    feed reads on), reads in a transaction and writes go on meanwhile, and every follower is told."""
    head = last_seq(db)
    with ThreadPoolExecutor(max_workers=40) as pool:
        followers = held(pool, server_address, head, count=40)
        started = time.monotonic()
        assert client.get(f"/agreements/{grant.agreement_id}/position").status_code == 200
        assert client.get("/regions/35.74").status_code == 200
        assert client.get(f"/agreements/{grant.agreement_id}").status_code == 200
        created(pay(client, grant, "10000000", "SP2D-1", "2023-12-19"))
        committed = time.monotonic()
        assert committed - started < 5.0  # not the 20 s the followers would hold connections for
        answers = [future.result(timeout=10) for future in followers]
    assert all([entry["seq"] for entry in body["data"]] == [head + 1] for body, _ in answers)
    assert max(told for _, told in answers) - committed < TOLD_WITHIN * 3  # forty answers, on a shared machine


def test_the_listener_reconnects_when_its_connection_is_cut(
    client: httpx.Client, server_address: str, grant: Grant, db: psycopg.Connection[Any]
) -> None:
    cut = db.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE application_name = 'hibah-feed' AND datname = current_database()"
    ).fetchall()
    assert cut == [(True,)]
    head = last_seq(db)
    with ThreadPoolExecutor(max_workers=1) as pool:
        [follower] = held(pool, server_address, head)
        created(pay(client, grant, "10000000", "SP2D-1", "2023-12-19"))
        committed = time.monotonic()
        body, told = follower.result(timeout=10)
    assert [entry["seq"] for entry in body["data"]] == [head + 1]
    assert told - committed < TOLD_WITHIN
    deadline = time.monotonic() + 5
    listening: list[Any] = []
    while not listening and time.monotonic() < deadline:
        listening = db.execute(
            "SELECT 1 FROM pg_stat_activity WHERE application_name = 'hibah-feed' AND datname = current_database()"
        ).fetchall()
        time.sleep(0.1)
    assert listening == [(1,)]


WRITERS = 6
PAYMENTS_EACH = 5


def test_a_follower_sees_every_change_of_concurrent_writers_once_in_order(
    client: httpx.Client, server_address: str, grant: Grant, db: psycopg.Connection[Any]
) -> None:
    start = last_seq(db)
    expected = WRITERS * PAYMENTS_EACH
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + 30

    def follow() -> None:
        """Pages of at most 7, each asked with the last answer's cursor, until every write is seen."""
        cursor = str(start)
        with httpx.Client(base_url=f"{server_address}/api/v1", timeout=60) as http:
            while len(seen) < expected and time.monotonic() < deadline:
                page = http.get("/changes", params={"after": cursor, "wait": 5, "limit": 7}).json()
                seen.extend(page["data"])
                cursor = page["next_cursor"]

    barrier = threading.Barrier(WRITERS)

    def write(writer: int) -> list[int]:
        ids = []
        with httpx.Client(base_url=f"{server_address}/api/v1", timeout=60) as http:
            barrier.wait()
            for payment in range(PAYMENTS_EACH):
                body = {
                    "tranche": 1,
                    "amount": "1000",
                    "paid_on": "2024-01-10",
                    "sp2d_number": f"SP2D-{writer}-{payment}",
                }
                response = http.post(
                    f"/agreements/{grant.agreement_id}/disbursements", json=body, headers=money_headers(grant.finance)
                )
                ids.append(created(response))
        return ids

    with ThreadPoolExecutor(max_workers=1) as following, ThreadPoolExecutor(max_workers=WRITERS) as pool:
        follower = following.submit(follow)
        written = [disbursement for ids in pool.map(write, range(WRITERS)) for disbursement in ids]
        follower.result(timeout=40)
    assert len(written) == expected
    assert [entry["seq"] for entry in seen] == list(range(start + 1, start + expected + 1))
    assert sorted(int(entry["entity_id"]) for entry in seen) == sorted(written)
    assert {entry["data"]["sp2d_number"] for entry in seen} == {
        f"SP2D-{writer}-{payment}" for writer in range(WRITERS) for payment in range(PAYMENTS_EACH)
    }
    stored = db.execute("SELECT seq, entity_id FROM audit_event WHERE seq > %s ORDER BY seq", (start,)).fetchall()
    assert [(entry["seq"], entry["entity_id"]) for entry in seen] == stored
