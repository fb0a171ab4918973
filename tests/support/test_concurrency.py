"""Support in kind under concurrency: one BAST number, one return, whatever arrives together."""

from typing import Any

import psycopg

from tests.helpers import Grant, assert_problem, money_headers, post_all
from tests.support.conftest import loan

ROUNDS = 8


def test_one_bast_number_among_parallel_creates(server_address: str, grant: Grant, db: psycopg.Connection[Any]) -> None:
    body = {"election_id": grant.election_id, "recipient_id": grant.recipient_id, **loan()}
    answers = post_all(server_address, [("/support", body, money_headers(grant.finance)) for _ in range(ROUNDS)])
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [201] + [409] * (ROUNDS - 1), [answer.text for answer in answers]
    for answer in answers:
        if answer.status_code == 409:
            assert_problem(answer, 409, "bast_number_exists")
    assert db.execute("SELECT count(*) FROM support").fetchone() == (1,)
    assert db.execute("SELECT count(*) FROM audit_event WHERE entity = 'support'").fetchone() == (1,)


def test_one_return_among_parallel_returns(
    server_address: str, grant: Grant, lent: dict[str, Any], db: psycopg.Connection[Any]
) -> None:
    path = f"/support/{lent['id']}/return"
    requests = [
        (path, {"returned_on": "2025-02-28", "return_bast_number": f"BAST-K-{n}"}, grant.finance) for n in range(ROUNDS)
    ]
    answers = post_all(server_address, requests)
    assert sorted(answer.status_code for answer in answers) == [200] + [409] * (ROUNDS - 1)
    assert all(answer.json()["code"] == "already_returned" for answer in answers if answer.status_code == 409)
    assert db.execute("SELECT count(*) FROM audit_event WHERE action = 'support.return'").fetchone() == (1,)
