"""Liveness, readiness and metrics: what an operator and a load balancer ask of the process."""

import httpx


def test_health_and_readiness(server_address: str) -> None:
    assert httpx.get(f"{server_address}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{server_address}/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"
    assert ready.json()["schema_revision"] == ready.json()["expected_revision"]


def test_metrics(server_address: str, client: httpx.Client) -> None:
    client.get("/summaries")
    text = httpx.get(f"{server_address}/metrics").text
    assert "hibah_http_requests_total" in text
    assert "hibah_db_pool_checked_out" in text
