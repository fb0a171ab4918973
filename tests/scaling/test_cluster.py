"""Past one machine, on real processes: a PostgreSQL primary (``initdb``), a streaming standby made from it
(``pg_basebackup -R``), two ``hibah serve`` nodes reading on the standby, and PgBouncer in transaction mode.

Node B allows its replica 1 s of lag, node A the default 5 s, so pausing the standby's replay shows both a
stale standby still used (within the allowance) and one skipped (beyond it)."""

import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from bench.cluster import (
    Node,
    Postgres,
    make_primary,
    make_standby,
    remove,
    start_node,
    start_pgbouncer,
    workspace,
)
from tests.helpers import Headers, stored_key, system_tool

pytestmark = pytest.mark.slow

LAG = "hibah-replica-lag"
API = "/api/v1"


@dataclass
class Cluster:
    root: Path
    primary: Postgres
    standby: Postgres
    a: Node
    b: Node
    admin: Headers


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    root = workspace("hibah-scaling-")
    nodes: list[Node] = []
    servers: list[Postgres] = []
    try:
        primary = make_primary(root)
        servers.append(primary)
        standby = make_standby(primary, root)
        servers.append(standby)
        nodes.append(start_node(root, primary.url(), replicas=standby.url()))  # migrates the primary
        nodes.append(
            start_node(root, primary.url(), replicas=standby.url(), extra_env={"HIBAH_REPLICA_MAX_LAG_S": "1"})
        )
        yield Cluster(root, primary, standby, nodes[0], nodes[1], stored_key(primary.url(), "admin"))
    finally:
        for node in nodes:
            node.stop()
        for server in reversed(servers):
            if server.running():
                server.stop("immediate")
        remove(root)


def _eventually(check: Callable[[], bool], seconds: float = 15, what: str = "") -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"not within {seconds} s: {what}"
        time.sleep(0.1)


def _replica_state(node: Node) -> dict[str, Any]:
    ready = httpx.get(f"{node.base}/readyz").json()
    (state,) = ready["replicas"]
    assert isinstance(state, dict)
    return state


def _reads_on_replica(node: Node) -> Callable[[], bool]:
    return lambda: LAG in httpx.get(f"{node.base}{API}/regions/35").headers


def _standby_query(cluster: Cluster, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(cluster.standby.url(), autocommit=True) as connection:
        return connection.execute(sql).fetchall()


def _region_scans(cluster: Cluster) -> int:
    (row,) = _standby_query(
        cluster,
        "SELECT coalesce(seq_scan, 0) + coalesce(idx_scan, 0) FROM pg_stat_user_tables WHERE relname = 'region'",
    )
    return int(row[0])


def _on_standby(cluster: Cluster, sql: str) -> None:
    _standby_query(cluster, sql)


def test_a_write_on_node_a_is_read_on_node_b_from_the_standby(cluster: Cluster) -> None:
    created = httpx.post(
        f"{cluster.a.base}{API}/regions", json={"code": "35", "name": "Jawa Timur"}, headers=cluster.admin
    )
    assert created.status_code == 201, created.text
    assert LAG not in created.headers

    def on_b() -> bool:
        return httpx.get(f"{cluster.b.base}{API}/regions/35").status_code == 200

    _eventually(on_b, what="node B reads node A's write")
    read = httpx.get(f"{cluster.b.base}{API}/regions/35")
    assert read.json()["name"] == "Jawa Timur"
    assert LAG in read.headers
    # Counted on the standby itself: its own statistics of the region table (the replica checks never read it),
    # and the nodes' sessions there.
    scans_before = _region_scans(cluster)
    for _ in range(5):
        assert LAG in httpx.get(f"{cluster.b.base}{API}/regions/35").headers
    _eventually(lambda: _region_scans(cluster) >= scans_before + 5, what="the standby counts the region reads")
    sessions = _standby_query(
        cluster, "SELECT application_name FROM pg_stat_activity WHERE application_name LIKE 'hibah-replica%'"
    )
    assert {name for (name,) in sessions} >= {"hibah-replica-read"}
    listed = httpx.get(f"{cluster.a.base}{API}/regions")
    assert listed.status_code == 200 and LAG in listed.headers
    assert [row["code"] for row in listed.json()["data"]] == ["35"]


def test_a_writer_reads_its_write_at_once_while_the_standby_lags(cluster: Cluster) -> None:
    # A replica's lag is the age of its last replayed transaction once it has fallen behind: a fresh write,
    # replayed, just before the pause keeps node A's 5 s allowance from running out on a slow machine before
    # the public read below (the earlier test's writes may already be seconds old).
    fresh_write = {"code": "36", "name": "Banten"}
    assert httpx.post(f"{cluster.a.base}{API}/regions", json=fresh_write, headers=cluster.admin).status_code == 201

    def caught_up() -> bool:
        answer = httpx.get(f"{cluster.a.base}{API}/regions/36")
        return answer.status_code == 200 and LAG in answer.headers

    _eventually(caught_up, what="the standby has replayed the fresh write")
    _on_standby(cluster, "SELECT pg_wal_replay_pause()")
    # The pause is only requested by that call; replay stops when the standby gets to it.
    _eventually(
        lambda: _standby_query(cluster, "SELECT pg_get_wal_replay_pause_state()") == [("paused",)],
        what="the standby's replay paused",
    )
    try:
        body = {"code": "35.74", "name": "Kota Probolinggo"}
        assert httpx.post(f"{cluster.a.base}{API}/regions", json=body, headers=cluster.admin).status_code == 201
        own = httpx.get(f"{cluster.a.base}{API}/regions/35.74", headers=cluster.admin)
        assert own.status_code == 200 and LAG not in own.headers  # the writer: the primary
        # The public on node A: the standby, within its 5 s allowance, has not replayed the write yet.
        public = httpx.get(f"{cluster.a.base}{API}/regions/35.74")
        assert public.status_code == 404
        assert LAG in public.headers
        # Node B allows 1 s: once its check sees the standby that far behind, it reads on the primary.
        _eventually(lambda: not _replica_state(cluster.b)["in_use"], what="node B skips the lagging standby")
        fresh = httpx.get(f"{cluster.b.base}{API}/regions/35.74")
        assert fresh.status_code == 200 and LAG not in fresh.headers
        assert _replica_state(cluster.b)["up"] is True
        assert _replica_state(cluster.b)["lag_seconds"] > 1
    finally:
        _on_standby(cluster, "SELECT pg_wal_replay_resume()")
    _eventually(lambda: _replica_state(cluster.b)["in_use"], what="node B uses the standby again")
    again = httpx.get(f"{cluster.b.base}{API}/regions/35.74")
    assert again.status_code == 200 and LAG in again.headers


def test_reads_fall_back_when_the_standby_dies_and_return_when_it_is_back(cluster: Cluster) -> None:
    paths = [f"{API}/regions/35", f"{API}/regions", f"{API}/summaries?group_by=region", "/"]
    # Sessions open on the standby, so the crash cuts connections the nodes' pools hold.
    for node in (cluster.a, cluster.b):
        for path in paths:
            assert LAG in httpx.get(f"{node.base}{path}").headers
    cluster.standby.stop("immediate")
    try:
        for _ in range(3):
            for node in (cluster.a, cluster.b):
                for path in paths:
                    answer = httpx.get(f"{node.base}{path}")
                    assert answer.status_code == 200, (path, answer.text)
                    assert LAG not in answer.headers
        for node in (cluster.a, cluster.b):
            state = _replica_state(node)
            assert state["up"] is False and state["in_use"] is False and state["error"]
            assert httpx.get(f"{node.base}/readyz").status_code == 200  # the node itself stays ready
        metrics = httpx.get(f"{cluster.a.base}/metrics").text
        assert f'hibah_db_replica_up{{replica="127.0.0.1:{cluster.standby.port}/hibah"}} 0.0' in metrics
    finally:
        cluster.standby.start()
    for node in (cluster.a, cluster.b):
        _eventually(_reads_on_replica(node), what="the standby back in use")
        assert _replica_state(node)["up"] is True


def test_money_and_the_audit_chain_through_pgbouncer_in_transaction_mode(cluster: Cluster) -> None:
    pgbouncer = start_pgbouncer(system_tool("pgbouncer"), cluster.primary, cluster.root)
    node = start_node(cluster.root, pgbouncer.url(), extra_env={"HIBAH_DB_STATEMENT_CACHE": "false"})
    try:
        api = f"{node.base}{API}"
        admin = cluster.admin
        auditor = stored_key(cluster.primary.url(), "auditor")
        events_before = httpx.get(f"{api}/audit/verify", headers=auditor).json()["events"]
        regions_made = 0
        for region in ({"code": "35", "name": "Jawa Timur"}, {"code": "35.74", "name": "Kota Probolinggo"}):
            made = httpx.post(f"{api}/regions", json=region, headers=admin)
            assert made.status_code in {201, 409}, made.text  # 409: an earlier test of this module made it
            regions_made += made.status_code == 201
        election = httpx.post(
            f"{api}/elections",
            json={
                "name": "Pilwali Probolinggo 2024",
                "kind": "mayor",
                "region_code": "35.74",
                "voting_day": "2024-11-27",
            },
            headers=admin,
        )
        kpu = httpx.post(
            f"{api}/recipients",
            json={"name": "KPU Kota Probolinggo", "kind": "kpu", "region_code": "35.74"},
            headers=admin,
        )
        assert election.status_code == kpu.status_code == 201, (election.text, kpu.text)
        finance = stored_key(cluster.primary.url(), "finance")
        agreement = httpx.post(
            f"{api}/agreements",
            json={
                "number": "NPHD-KPU-3574-2023",
                "election_id": election.json()["id"],
                "recipient_id": kpu.json()["id"],
                "signed_on": "2023-12-04",
                "scheme": "staged",
                "amount": "23116413980.00",
            },
            headers=finance,
        )
        assert agreement.status_code == 201, agreement.text
        agreement_id = agreement.json()["id"]

        def pay(number: int) -> httpx.Response:
            body = {"tranche": 1, "amount": "1000000.00", "paid_on": "2023-12-19", "sp2d_number": f"SP2D-{number}"}
            headers = {**finance, "Idempotency-Key": uuid.uuid4().hex}
            return httpx.post(f"{api}/agreements/{agreement_id}/disbursements", json=body, headers=headers, timeout=30)

        # Twenty payments from eight clients at once over PgBouncer's four server connections: statements of
        # different clients interleave on the same server sessions.
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(pay, range(20)))
        assert [answer.status_code for answer in answers] == [201] * 20, [
            a.text for a in answers if a.status_code != 201
        ]
        replay_key = {**finance, "Idempotency-Key": "same-payment"}
        body = {"tranche": 1, "amount": "2000000.00", "paid_on": "2023-12-20", "sp2d_number": "SP2D-X"}
        first = httpx.post(f"{api}/agreements/{agreement_id}/disbursements", json=body, headers=replay_key)
        again = httpx.post(f"{api}/agreements/{agreement_id}/disbursements", json=body, headers=replay_key)
        assert first.status_code == again.status_code == 201 and first.json() == again.json()
        position = httpx.get(f"{api}/agreements/{agreement_id}/position").json()
        assert position["disbursed"] == "22000000.00"
        verified = httpx.get(f"{api}/audit/verify", headers=auditor)
        assert verified.status_code == 200, verified.text
        assert verified.json()["valid"] is True and verified.json()["ledger"]["valid"] is True
        # The regions made here, 1 election, 1 recipient, 1 agreement, 21 payments (the replay adds none).
        assert verified.json()["events"] == events_before + regions_made + 24
    finally:
        node.stop()
        pgbouncer.stop()
