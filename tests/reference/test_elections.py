"""Elections: the kind fits the region's level, the dates are real and in order; bad bodies refused with no write."""

from typing import Any

import httpx
import psycopg
import pytest

from tests.helpers import (
    ELECTION,
    LONG_NAME,
    NUL_NAME,
    Body,
    Refuses,
    World,
    assert_problem,
    changed,
    nothing_written,
    without,
)


def test_election_kind_must_fit_region_level(client: httpx.Client, admin: dict[str, str], region_35: None) -> None:
    mayor = {"name": "Pilwali Probolinggo 2024", "kind": "mayor", "region_code": "35.74", "voting_day": "2024-11-27"}
    created = client.post("/elections", json=mayor, headers=admin)
    assert created.status_code == 201
    governor_in_city = {**mayor, "kind": "governor", "voting_day": "2029-11-28"}
    assert_problem(client.post("/elections", json=governor_in_city, headers=admin), 422, "election_kind_mismatch")
    assert_problem(client.post("/elections", json=mayor, headers=admin), 409, "election_exists")
    governor = {**mayor, "kind": "governor", "region_code": "35", "name": "Pilgub Jatim 2024"}
    assert client.post("/elections", json=governor, headers=admin).status_code == 201
    listed = client.get("/elections", params={"region_code": "35.74", "year": 2024}).json()["data"]
    assert [row["id"] for row in listed] == [created.json()["id"]]


def test_election_winner_date_can_be_set_later(client: httpx.Client, admin: dict[str, str], region_35: None) -> None:
    body = {"name": "Pilwali", "kind": "mayor", "region_code": "35.74", "voting_day": "2024-11-27"}
    created = client.post("/elections", json=body, headers=admin)
    election_id, etag = created.json()["id"], created.headers["etag"]
    too_early = client.patch(f"/elections/{election_id}", json={"winner_proposed_on": "2024-11-01"}, headers=admin)
    assert_problem(too_early, 422, "inconsistent_input")
    updated = client.patch(
        f"/elections/{election_id}", json={"winner_proposed_on": "2025-02-10"}, headers={**admin, "If-Match": etag}
    )
    assert updated.status_code == 200
    assert updated.json()["winner_proposed_on"] == "2025-02-10"
    assert updated.json()["version"] == 2


ELECTION_CASES = [
    pytest.param(changed(ELECTION, name=1), 422, "validation_error", "name", id="name-is-a-number"),
    pytest.param(changed(ELECTION, kind=1), 422, "validation_error", "kind", id="kind-is-a-number"),
    pytest.param(changed(ELECTION, region_code=35), 422, "validation_error", "region_code", id="region-is-number"),
    pytest.param(changed(ELECTION, voting_day=True), 422, "validation_error", "voting_day", id="day-is-a-bool"),
    pytest.param(changed(ELECTION, voting_day=["2024-11-27"]), 422, "validation_error", "voting_day", id="day-list"),
    pytest.param(changed(ELECTION, voting_day="27/11/2024"), 422, "validation_error", "voting_day", id="day-d/m/y"),
    pytest.param(changed(ELECTION, voting_day="2024-02-30"), 422, "validation_error", "voting_day", id="day-feb-30"),
    pytest.param(changed(ELECTION, voting_day="besok"), 422, "validation_error", "voting_day", id="day-a-word"),
    pytest.param(without(ELECTION, "name"), 422, "validation_error", "name", id="name-missing"),
    pytest.param(without(ELECTION, "kind"), 422, "validation_error", "kind", id="kind-missing"),
    pytest.param(without(ELECTION, "region_code"), 422, "validation_error", "region_code", id="region-missing"),
    pytest.param(without(ELECTION, "voting_day"), 422, "validation_error", "voting_day", id="day-missing"),
    pytest.param(changed(ELECTION, voting_day=None), 422, "validation_error", "voting_day", id="day-null"),
    pytest.param(changed(ELECTION, id=7), 422, "validation_error", "id", id="extra-id"),
    pytest.param(changed(ELECTION, region="35"), 422, "validation_error", "region", id="extra-region"),
    pytest.param(changed(ELECTION, name=""), 422, "validation_error", "name", id="name-empty"),
    pytest.param(changed(ELECTION, name="  "), 422, "validation_error", "name", id="name-blank"),
    pytest.param(changed(ELECTION, name=LONG_NAME), 422, "validation_error", "name", id="name-201-chars"),
    pytest.param(changed(ELECTION, name=NUL_NAME), 422, "validation_error", "name", id="name-with-NUL"),
    pytest.param(changed(ELECTION, kind="president"), 422, "validation_error", "kind", id="kind-unknown"),
    pytest.param(changed(ELECTION, kind="Governor"), 422, "validation_error", "kind", id="kind-capitalised"),
    pytest.param(changed(ELECTION, region_code="3"), 422, "validation_error", "region_code", id="region-3"),
    pytest.param(changed(ELECTION, region_code="35.100"), 422, "validation_error", "region_code", id="region-35.100"),
    pytest.param(changed(ELECTION, region_code="ab"), 422, "validation_error", "region_code", id="region-ab"),
    pytest.param(changed(ELECTION, region_code="36"), 422, "unknown_region", "region_code", id="region-unknown"),
    pytest.param(changed(ELECTION, region_code="35.70"), 422, "validation_error", "region_code", id="region-35.70"),
    pytest.param(changed(ELECTION, region_code="35.75"), 422, "unknown_region", "region_code", id="region-35.75"),
    pytest.param(
        changed(ELECTION, kind="governor", region_code="35.74"), 422, "election_kind_mismatch", "kind", id="gov-city"
    ),
    pytest.param(
        changed(ELECTION, kind="regent", region_code="35.74"), 422, "election_kind_mismatch", "kind", id="regent-city"
    ),
    pytest.param(
        changed(ELECTION, kind="mayor", region_code="35"), 422, "election_kind_mismatch", "kind", id="mayor-province"
    ),
    pytest.param(
        changed(ELECTION, kind="mayor", region_code="35.74", voting_day="2024-11-27"),
        409,
        "election_exists",
        None,
        id="duplicate-region-and-day",
    ),
    pytest.param(
        changed(ELECTION, winner_proposed_on="2024-11-26"), 422, "inconsistent_input", None, id="winner-before-voting"
    ),
    pytest.param(changed(ELECTION, voting_day="1900-11-27"), 422, "validation_error", "voting_day", id="day-1900"),
    pytest.param(changed(ELECTION, voting_day="3000-11-27"), 422, "validation_error", "voting_day", id="day-3000"),
    pytest.param(changed(ELECTION, voting_day="0001-01-01"), 422, "validation_error", "voting_day", id="day-year-1"),
    pytest.param(
        changed(ELECTION, winner_proposed_on="3000-01-01"), 422, "validation_error", "winner_proposed_on", id="win-3000"
    ),
    pytest.param(
        changed(ELECTION, winner_proposed_on="nanti"), 422, "validation_error", "winner_proposed_on", id="win-a-word"
    ),
]


@pytest.mark.parametrize(("body", "status", "code", "field"), ELECTION_CASES)
def test_election_create_refuses(refuses: Refuses, body: Body, status: int, code: str, field: str | None) -> None:
    refuses("POST", "/elections", body, status, code, field)


ELECTION_UPDATE_CASES = [
    pytest.param({"name": ""}, "name", id="name-empty"),
    pytest.param({"name": "  "}, "name", id="name-blank"),
    pytest.param({"name": LONG_NAME}, "name", id="name-201-chars"),
    pytest.param({"name": NUL_NAME}, "name", id="name-with-NUL"),
    pytest.param({"name": 5}, "name", id="name-is-a-number"),
    pytest.param({"voting_day": "1900-01-01"}, "voting_day", id="day-1900"),
    pytest.param({"voting_day": "3000-01-01"}, "voting_day", id="day-3000"),
    pytest.param({"voting_day": "2024-02-30"}, "voting_day", id="day-feb-30"),
    pytest.param({"voting_day": 3.5}, "voting_day", id="day-is-a-float"),
    pytest.param({"winner_proposed_on": "3000-01-01"}, "winner_proposed_on", id="winner-3000"),
    pytest.param({"kind": "governor"}, "kind", id="extra-kind"),
    pytest.param({"region_code": "35"}, "region_code", id="extra-region_code"),
    pytest.param({"id": 99}, "id", id="extra-id"),
]


@pytest.mark.parametrize(("body", "field"), ELECTION_UPDATE_CASES)
def test_election_update_refuses(refuses: Refuses, world: World, body: Body, field: str) -> None:
    refuses("PATCH", f"/elections/{world.election_id}", body, 422, "validation_error", field)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"winner_proposed_on": "2024-11-26"}, id="winner-before-voting"),
        # The stored winner_proposed_on (2025-01-09) would then precede the new voting day.
        pytest.param({"voting_day": "2025-02-01"}, id="voting-after-winner"),
    ],
)
def test_election_update_refuses_dates_out_of_order(refuses: Refuses, world: World, body: Body) -> None:
    """Each date valid alone, together out of order: a rule of the input, not the schema's form."""
    refuses("PATCH", f"/elections/{world.election_id}", body, 422, "inconsistent_input", "winner_proposed_on")


@pytest.mark.parametrize("body", [{"name": None}, {"voting_day": None}], ids=["name-null", "day-null"])
def test_election_update_refuses_emptying_required_fields(
    client: httpx.Client, db: psycopg.Connection[Any], world: World, body: Body
) -> None:
    with nothing_written(db):
        response = client.patch(f"/elections/{world.election_id}", json=body, headers=world.admin)
        # test_election_update_null_names_the_field checks the field is named.
        assert_problem(response, 422, "field_cannot_be_emptied", errors_required=False)


@pytest.mark.parametrize(
    ("body", "field"),
    [({"name": None}, "name"), ({"voting_day": None}, "voting_day")],
    ids=["name-null", "day-null"],
)
def test_election_update_null_names_the_field(client: httpx.Client, world: World, body: Body, field: str) -> None:
    response = client.patch(f"/elections/{world.election_id}", json=body, headers=world.admin)
    assert_problem(response, 422, "field_cannot_be_emptied", field)


def test_election_update_onto_another_elections_day_conflicts(
    client: httpx.Client, db: psycopg.Connection[Any], world: World
) -> None:
    with nothing_written(db):
        response = client.patch(
            f"/elections/{world.other_election_id}", json={"voting_day": "2024-11-27"}, headers=world.admin
        )
        assert_problem(response, 409)
