"""The database killed under concurrent money writes, measured: shared by tests/faults and bench/bench_outages.py."""

import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx

from tests.faults.harness import API, Server, Setup, disbursement, new_key


@dataclass
class Acknowledged:
    key: str
    sp2d: str
    disbursement_id: int


@dataclass
class WriteRun:
    statuses: Counter[str] = field(default_factory=Counter)
    acknowledged: list[Acknowledged] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    """Seconds, of every answered request."""
    first_ack_after: float | None = None
    """Seconds from the kill to the first 201 of a request sent after it."""
    unfinished: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def write_until(server: Server, setup: Setup, run: WriteRun, stop_at: float, killed_at: list[float], name: str) -> None:
    """One finance clerk: pays, and on a 503 (or no answer) sends the same payment with the same key again."""
    headers_base = setup.finance
    url = f"/agreements/{setup.agreement_id}/disbursements"
    number = 0
    with httpx.Client(base_url=server.base + API, timeout=30) as http:
        while time.monotonic() < stop_at:
            number += 1
            key, sp2d = new_key(), f"SP2D-{name}-{number}"
            headers = {**headers_base, "Idempotency-Key": key}
            while True:
                sent = time.monotonic()
                try:
                    response = http.post(url, json=disbursement(sp2d), headers=headers)
                except httpx.TransportError as exc:
                    with run.lock:
                        run.statuses[f"no answer ({type(exc).__name__})"] += 1
                    outcome = None
                else:
                    elapsed = time.monotonic() - sent
                    with run.lock:
                        run.statuses[str(response.status_code)] += 1
                        run.latencies.append(elapsed)
                    outcome = response
                if outcome is not None and outcome.status_code == 201:
                    with run.lock:
                        run.acknowledged.append(Acknowledged(key, sp2d, outcome.json()["id"]))
                        if killed_at and sent > killed_at[0]:
                            after = time.monotonic() - killed_at[0]
                            if run.first_ack_after is None or after < run.first_ack_after:
                                run.first_ack_after = after
                    break
                if outcome is not None and outcome.status_code != 503:
                    break  # anything else is a failure the test reports by status
                if time.monotonic() > stop_at + 30:
                    with run.lock:
                        run.unfinished += 1
                    return
                time.sleep(0.1)


def kill_under_writes(
    server: Server, setup: Setup, *, writers: int, before_s: float, after_s: float
) -> tuple[WriteRun, int]:
    """``writers`` clerks paying; the postmaster killed ``before_s`` in; writing goes on ``after_s`` more."""
    run = WriteRun()
    killed_at: list[float] = []
    stop_at = time.monotonic() + before_s + after_s
    threads = [
        threading.Thread(target=write_until, args=(server, setup, run, stop_at, killed_at, f"W{n}"))
        for n in range(writers)
    ]
    for thread in threads:
        thread.start()
    time.sleep(before_s)
    killed_at.append(time.monotonic())
    killed = server.kill_postgres()
    for thread in threads:
        thread.join()
    return run, killed


def p99(latencies: list[float]) -> float:
    ordered = sorted(latencies)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else float("nan")
