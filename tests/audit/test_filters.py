"""GET /audit/events, filtered by entity, entity_id, action, actor_key_id and time: each keeps exactly the events
it names and drops the others (expected events written out by hand from the requests the test makes)."""

from typing import Any

import httpx
import psycopg

from tests.helpers import Headers, KeyMaker, key_digest, secret_of


def events(response: httpx.Response) -> list[tuple[str, str, str]]:
    assert response.status_code == 200, response.text
    return [(row["action"], row["entity"], row["entity_id"]) for row in response.json()["data"]]


def test_each_audit_filter_keeps_only_its_events(
    client: httpx.Client, db: psycopg.Connection[Any], admin: Headers, make_key: KeyMaker
) -> None:
    other_admin = make_key("admin", name="second admin")
    for body, headers in (
        ({"code": "35", "name": "Jawa Timur"}, admin),
        ({"code": "35.74", "name": "Kota Probolinggo"}, admin),
        ({"code": "36", "name": "Banten"}, other_admin),
    ):
        assert client.post("/regions", json=body, headers=headers).status_code == 201
    assert client.patch("/regions/35", json={"name": "Provinsi Jawa Timur"}, headers=other_admin).status_code == 200
    auditor = make_key("auditor")
    row = db.execute("SELECT id FROM api_key WHERE key_hash = %s", (key_digest(secret_of(other_admin)),)).fetchone()
    assert row is not None
    other_id = row[0]
    everything = events(client.get("/audit/events", params={"limit": 500}, headers=auditor))
    assert everything == [
        ("region.create", "region", "35"),
        ("region.create", "region", "35.74"),
        ("region.create", "region", "36"),
        ("region.update", "region", "35"),
    ]
    assert events(client.get("/audit/events", params={"entity": "region", "entity_id": "35"}, headers=auditor)) == [
        ("region.create", "region", "35"),
        ("region.update", "region", "35"),
    ]
    assert events(client.get("/audit/events", params={"entity": "election"}, headers=auditor)) == []
    assert events(client.get("/audit/events", params={"action": "region.update"}, headers=auditor)) == [
        ("region.update", "region", "35")
    ]
    assert events(client.get("/audit/events", params={"actor_key_id": other_id}, headers=auditor)) == [
        ("region.create", "region", "36"),
        ("region.update", "region", "35"),
    ]
    # `since` keeps events at or after its instant, `until` those strictly before it: the third event's own time
    # splits the four 2 + 2 (since) and 2 + 2 (until), each event in exactly one side.
    third_at = client.get("/audit/events", params={"action": "region.create", "entity_id": "36"}, headers=auditor)
    at = third_at.json()["data"][0]["at"]
    assert events(client.get("/audit/events", params={"since": at}, headers=auditor)) == everything[2:]
    assert events(client.get("/audit/events", params={"until": at}, headers=auditor)) == everything[:2]
    first = client.get("/audit/events", params={"limit": 3}, headers=auditor)
    rest = client.get("/audit/events", params={"limit": 3, "cursor": first.json()["next_cursor"]}, headers=auditor)
    assert events(first) + events(rest) == everything and rest.json()["next_cursor"] is None
