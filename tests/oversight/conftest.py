"""What the oversight tests read: a small history built through the API."""

import httpx
import pytest

from tests.helpers import Grant, created, pay


@pytest.fixture
def history(client: httpx.Client, grant: Grant) -> Grant:
    """KPU's real tranche I (Rp1.3 billion of 23.1), the rest paid after the tranche II deadline."""
    created(pay(client, grant, "1300000000", "SP2D-1", "2023-12-19", 1))
    created(pay(client, grant, "21816413980", "SP2D-2", "2024-07-15", 2))
    election = client.get(f"/elections/{grant.election_id}")
    client.patch(f"/elections/{grant.election_id}", json={"winner_proposed_on": "2025-02-07"}, headers=grant.admin)
    assert election.status_code == 200
    return grant
