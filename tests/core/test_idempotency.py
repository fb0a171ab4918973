"""Idempotency-Key: replay on the same key and body, 409 on another body, one record under parallel retries."""

from typing import Any

import httpx
import psycopg
import pytest

from tests.helpers import REGION, KeyMaker, World, assert_problem, changed, count, nothing_written, post_all


def test_same_key_same_body_replays(client: httpx.Client, admin: dict[str, str], db: psycopg.Connection[Any]) -> None:
    headers = {**admin, "Idempotency-Key": "province-35"}
    first = client.post("/regions", json={"code": "35", "name": "Jawa Timur"}, headers=headers)
    again = client.post("/regions", json={"name": "Jawa Timur", "code": "35"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["location"] == first.headers["location"]
    assert count(db, "region") == 1
    assert count(db, "audit_event") == 1


def test_same_key_other_body_is_409(client: httpx.Client, admin: dict[str, str], db: psycopg.Connection[Any]) -> None:
    headers = {**admin, "Idempotency-Key": "k-1"}
    assert client.post("/regions", json={"code": "35", "name": "Jawa Timur"}, headers=headers).status_code == 201
    reused = client.post("/regions", json={"code": "36", "name": "Banten"}, headers=headers)
    assert_problem(reused, 409, "idempotency_key_reused")
    assert count(db, "region") == 1


def test_keys_are_scoped_to_the_api_key(client: httpx.Client, make_key: KeyMaker, db: psycopg.Connection[Any]) -> None:
    first, second = make_key("admin"), make_key("admin")
    body = {"code": "35", "name": "Jawa Timur"}
    assert client.post("/regions", json=body, headers={**first, "Idempotency-Key": "same"}).status_code == 201
    other = client.post("/regions", json=body, headers={**second, "Idempotency-Key": "same"})
    assert_problem(other, 409, "region_exists")


def test_a_failed_request_is_not_remembered(
    client: httpx.Client, admin: dict[str, str], db: psycopg.Connection[Any]
) -> None:
    headers = {**admin, "Idempotency-Key": "retry-after-fix"}
    body = {"code": "35.74", "name": "Kota Probolinggo"}
    assert_problem(client.post("/regions", json=body, headers=headers), 422, "parent_region_missing")
    assert count(db, "idempotency_record") == 0
    assert client.post("/regions", json={"code": "35", "name": "Jawa Timur"}, headers=admin).status_code == 201
    assert client.post("/regions", json=body, headers=headers).status_code == 201


def test_invalid_key_is_422(client: httpx.Client, admin: dict[str, str]) -> None:
    response = client.post(
        "/regions", json={"code": "35", "name": "X"}, headers={**admin, "Idempotency-Key": "x" * 256}
    )
    assert_problem(response, 422, "invalid_idempotency_key")


def test_parallel_retries_store_one_record(
    server_address: str, admin: dict[str, str], db: psycopg.Connection[Any]
) -> None:
    """25 clients on 25 connections send the same create at once: one row, 25 identical answers."""
    body = {"code": "35", "name": "Jawa Timur"}
    headers = {**admin, "Idempotency-Key": "storm"}
    responses = post_all(server_address, [("/regions", body, headers)] * 25)
    assert {response.status_code for response in responses} == {201}
    assert len({response.text for response in responses}) == 1
    assert sum(response.headers.get("idempotent-replayed") == "true" for response in responses) == 24
    assert count(db, "region") == 1
    assert count(db, "idempotency_record") == 1


def test_key_secrets_are_never_kept_for_replay(
    client: httpx.Client, admin: dict[str, str], db: psycopg.Connection[Any]
) -> None:
    body = {"name": "BPKAD", "role": "finance"}
    first = client.post("/keys", json=body, headers={**admin, "Idempotency-Key": "k"})
    second = client.post("/keys", json=body, headers={**admin, "Idempotency-Key": "k"})
    assert first.status_code == second.status_code == 201
    assert first.json()["key"] != second.json()["key"]
    assert count(db, "idempotency_record") == 0


@pytest.mark.parametrize("key", ["", "x" * 256], ids=["empty", "256-chars"])
def test_a_bad_idempotency_key_is_refused(
    client: httpx.Client, db: psycopg.Connection[Any], world: World, key: str
) -> None:
    with nothing_written(db):
        response = client.post("/regions", json=REGION, headers={**world.admin, "Idempotency-Key": key})
        assert_problem(response, 422, "invalid_idempotency_key", "Idempotency-Key")


def test_a_refused_request_does_not_burn_its_idempotency_key(
    client: httpx.Client, db: psycopg.Connection[Any], world: World
) -> None:
    headers = {**world.admin, "Idempotency-Key": "banten-1"}
    with nothing_written(db):
        assert_problem(client.post("/regions", json=changed(REGION, name=""), headers=headers), 422)
    response = client.post("/regions", json=REGION, headers=headers)
    assert response.status_code == 201, response.text
