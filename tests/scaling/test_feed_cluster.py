"""The change feed past one machine, on real processes: API nodes whose pools go through PgBouncer in
transaction mode, reading on a streaming standby, with their LISTEN straight to the primary
(``HIBAH_LISTEN_URL``); and a node whose LISTEN would go through PgBouncer (it polls, with one WARNING).

A follower is a public ``GET /changes?after=<head>&wait=20`` on its own connection; it must be answered
within a second of a commit made through another client, also while the standby's replay is paused (the
notification comes from the primary before the standby has the row)."""

import itertools
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from bench.cluster import (
    Node,
    PgBouncer,
    Postgres,
    hibah_executable,
    make_primary,
    make_standby,
    remove,
    start_node,
    start_pgbouncer,
    workspace,
)
from tests.helpers import Headers, stored_key, system_tool

pytestmark = pytest.mark.slow

API = "/api/v1"
LAG = "hibah-replica-lag"
TOLD_WITHIN = 1.0
POOLER_WARNING = "leads through a connection pooler"
_CODES = itertools.count(11)
"""Province codes for the regions written here, one per write."""


@dataclass
class FeedCluster:
    root: Path
    primary: Postgres
    standby: Postgres
    pgbouncer: PgBouncer
    direct: Node
    """Pools through PgBouncer, reads on the standby, LISTEN straight to the primary."""
    pooled: Node
    """Pools through PgBouncer and LISTEN too (no HIBAH_LISTEN_URL): the feed polls."""
    session: Node
    """Everything through a PgBouncer in session mode, which carries LISTEN."""
    admin: Headers


@pytest.fixture(scope="module")
def cluster() -> Iterator[FeedCluster]:
    root = workspace("hibah-feed-cluster-")
    nodes: list[Node] = []
    servers: list[Postgres] = []
    bouncers: list[PgBouncer] = []
    try:
        primary = make_primary(root)
        servers.append(primary)
        standby = make_standby(primary, root)
        servers.append(standby)
        # Migrations on the primary itself, as the compose file's migrate service does.
        subprocess.run(
            [hibah_executable(), "migrate"], env={**os.environ, "DATABASE_URL": primary.url()}, cwd=root, check=True
        )
        pgbouncer = start_pgbouncer(system_tool("pgbouncer"), primary, root)
        bouncers.append(pgbouncer)
        in_session_mode = start_pgbouncer(system_tool("pgbouncer"), primary, root, pool_mode="session")
        bouncers.append(in_session_mode)
        through_pgbouncer = {"HIBAH_DB_STATEMENT_CACHE": "false", "HIBAH_REPLICA_MAX_LAG_S": "60"}
        nodes.append(
            start_node(
                root,
                pgbouncer.url(),
                replicas=standby.url(),
                extra_env={**through_pgbouncer, "HIBAH_LISTEN_URL": primary.url()},
            )
        )
        nodes.append(start_node(root, pgbouncer.url(), extra_env=through_pgbouncer))
        nodes.append(start_node(root, in_session_mode.url()))
        yield FeedCluster(
            root, primary, standby, pgbouncer, nodes[0], nodes[1], nodes[2], stored_key(primary.url(), "admin")
        )
    finally:
        for node in nodes:
            node.stop()
        for bouncer in bouncers:
            bouncer.stop()
        for server in reversed(servers):
            if server.running():
                server.stop("immediate")
        remove(root)


def _eventually(check: Callable[[], bool], seconds: float = 15, what: str = "") -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"not within {seconds} s: {what}"
        time.sleep(0.1)


def _head(cluster: FeedCluster) -> int:
    with psycopg.connect(cluster.primary.url(), autocommit=True) as connection:
        row = connection.execute("SELECT coalesce(max(seq), 0) FROM audit_event").fetchone()
    assert row is not None
    head: int = row[0]
    return head


def _standby(cluster: FeedCluster, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(cluster.standby.url(), autocommit=True) as connection:
        return connection.execute(sql).fetchall()


def _follow(node: Node, after: int) -> tuple[httpx.Response, float]:
    with httpx.Client(base_url=f"{node.base}{API}", timeout=60) as http:
        answer = http.get("/changes", params={"after": after, "wait": 20})
        return answer, time.monotonic()


def _held(pool: ThreadPoolExecutor, node: Node, after: int) -> Future[tuple[httpx.Response, float]]:
    follower = pool.submit(_follow, node, after)
    time.sleep(0.7)
    assert not follower.done(), "the follower was answered before anything committed"
    return follower


def _write(cluster: FeedCluster, node: Node) -> tuple[str, float]:
    """A new region through ``node`` (through PgBouncer); its code, and when its 201 came (after the commit)."""
    code = str(next(_CODES))
    answer = httpx.post(
        f"{node.base}{API}/regions", json={"code": code, "name": f"Wilayah {code}"}, headers=cluster.admin
    )
    assert answer.status_code == 201, answer.text
    return code, time.monotonic()


def _told(follower: Future[tuple[httpx.Response, float]], committed: float, code: str) -> httpx.Response:
    answer, at = follower.result(timeout=30)
    assert answer.status_code == 200, answer.text
    entries = answer.json()["data"]
    assert [(entry["entity"], entry["entity_id"]) for entry in entries] == [("region", code)], entries
    assert at - committed < TOLD_WITHIN, f"told {at - committed:.2f} s after the commit"
    return answer


def test_the_listen_goes_straight_to_the_primary_while_the_pools_go_through_pgbouncer(cluster: FeedCluster) -> None:
    with ThreadPoolExecutor(1) as pool:
        follower = _held(pool, cluster.direct, _head(cluster))
        code, committed = _write(cluster, cluster.direct)
        answer = _told(follower, committed, code)
    assert LAG in answer.headers  # a public read: the node reads the feed on the standby
    log = cluster.direct.log.read_text()
    assert POOLER_WARNING not in log, log


def test_a_follower_on_a_paused_standby_is_told_from_the_primary(cluster: FeedCluster) -> None:
    # A fresh write replayed before the pause: the standby's lag then counts from it.
    code, _ = _write(cluster, cluster.direct)
    _eventually(
        lambda: _standby(cluster, f"SELECT count(*) FROM region WHERE code = '{code}'") == [(1,)],
        what="the standby replayed the fresh write",
    )
    _standby(cluster, "SELECT pg_wal_replay_pause()")
    _eventually(
        lambda: _standby(cluster, "SELECT pg_get_wal_replay_pause_state()") == [("paused",)],
        what="the standby's replay paused",
    )
    try:
        with ThreadPoolExecutor(1) as pool:
            follower = _held(pool, cluster.direct, _head(cluster))
            code, committed = _write(cluster, cluster.direct)
            answer = _told(follower, committed, code)
        assert LAG in answer.headers  # the request was routed to the standby, which does not have the row:
        assert _standby(cluster, f"SELECT count(*) FROM region WHERE code = '{code}'") == [(0,)]
    finally:
        _standby(cluster, "SELECT pg_wal_replay_resume()")


def test_a_listen_through_pgbouncer_polls_with_one_warning(cluster: FeedCluster) -> None:
    assert httpx.get(f"{cluster.pooled.base}/readyz").status_code == 200
    with ThreadPoolExecutor(1) as pool:
        follower = _held(pool, cluster.pooled, _head(cluster))
        code, committed = _write(cluster, cluster.pooled)
        answer, at = follower.result(timeout=30)
    assert answer.status_code == 200 and [entry["entity_id"] for entry in answer.json()["data"]] == [code]
    # Polled every 0.5 s: told within a poll and a read, not at the end of the 20 s wait.
    assert at - committed < 1.5, f"told {at - committed:.2f} s after the commit"
    assert cluster.pooled.log.read_text().count(POOLER_WARNING) == 1


def test_a_listen_through_pgbouncer_in_session_mode_listens(cluster: FeedCluster) -> None:
    """Session mode keeps a client's server session: LISTEN works there, and the listener (seeing a pooler) finds
    out by hearing its own test notification, so it listens rather than polls."""
    with ThreadPoolExecutor(1) as pool:
        follower = _held(pool, cluster.session, _head(cluster))
        code, committed = _write(cluster, cluster.session)
        _told(follower, committed, code)
    assert POOLER_WARNING not in cluster.session.log.read_text()
