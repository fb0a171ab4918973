"""Liveness, readiness and metrics: what an operator and a load balancer ask of the process."""

import os
import threading
import time

import httpx
import psycopg
import uvicorn
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import make_url

from app.core.config import Settings
from app.core.revisions import head_revision
from app.main import create_app
from tests.helpers import free_port

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def test_health_and_readiness(server_address: str) -> None:
    assert httpx.get(f"{server_address}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{server_address}/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"
    assert ready.json()["schema_revision"] == ready.json()["expected_revision"]


def scrape(server_address: str) -> Samples:
    """Every sample of /metrics, keyed by its name and labels, as a Prometheus server would read them."""
    response = httpx.get(f"{server_address}/metrics")
    assert response.status_code == 200
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def sample(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_metrics_count_requests_by_route_template_and_status(
    server_address: str, client: httpx.Client, admin: dict[str, str], region_35: None
) -> None:
    template = "/regions/{code}"  # the router's template, as the middleware sees it
    before = scrape(server_address)
    for code in ("35", "35.74", "35.74"):
        assert client.get(f"/regions/{code}").status_code == 200
    assert client.get("/regions/36").status_code == 404
    after = scrape(server_address)

    def moved(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    # Three answers of 200 and one 404, all under the template, none under the paths as sent.
    assert moved("hibah_http_requests_total", method="GET", route=template, status="200") == 3
    assert moved("hibah_http_requests_total", method="GET", route=template, status="404") == 1
    assert moved("hibah_http_requests_total", method="GET", route="/regions/35.74", status="200") == 0
    # The latency histogram saw the same four, each taking some time, in its cumulative buckets.
    assert moved("hibah_http_request_duration_seconds_count", method="GET", route=template) == 4
    assert moved("hibah_http_request_duration_seconds_sum", method="GET", route=template) > 0
    assert moved("hibah_http_request_duration_seconds_bucket", method="GET", route=template, le="+Inf") == 4
    assert moved("hibah_http_request_duration_seconds_bucket", method="GET", route=template, le="30.0") == 4
    # The pool gauges are there, with a pool of at least one connection.
    assert sample(after, "hibah_db_pool_size") >= 1
    assert ("hibah_db_pool_checked_out", frozenset()) in after


def test_readiness_is_503_while_the_schema_is_not_migrated(database_url: str) -> None:
    """A throwaway server on a database that exists but was never migrated: alive, reachable, not ready."""
    url = make_url(database_url)
    name = f"hibah_unmigrated_{os.getpid()}"
    admin_url = url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')
    app = create_app(Settings(DATABASE_URL=url.set(database=name).render_as_string(hide_password=False)))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="critical"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "the throwaway server did not start"
            time.sleep(0.02)
        address = f"http://127.0.0.1:{server.config.port}"
        assert httpx.get(f"{address}/healthz").json() == {"status": "ok"}
        ready = httpx.get(f"{address}/readyz", timeout=30)
        assert ready.status_code == 503
        assert ready.json() == {
            "status": "not_ready",
            "database": "up",
            "schema_revision": None,
            "expected_revision": head_revision(),
            "replicas": [],
        }
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        with psycopg.connect(admin_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
