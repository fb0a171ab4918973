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
    sent_at: float
    """When its (last) request was sent: before the kill, it was committed before the kill."""


@dataclass
class WriteRun:
    statuses: Counter[str] = field(default_factory=Counter)
    acknowledged: list[Acknowledged] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    """Seconds, of every answered request."""
    first_ack_after: float | None = None
    """Seconds from the kill to the first 201 of a request sent after it."""
    unfinished: int = 0
    killed_at: float = float("inf")
    lock: threading.Lock = field(default_factory=threading.Lock)


def write_until(
    server: Server, setup: Setup, run: WriteRun, until: list[float], killed_at: list[float], name: str
) -> None:
    """One finance clerk: pays, and on a 503 (or no answer) sends the same payment with the same key again; starts no
    new payment after ``until[0]`` (which the caller may bring forward), but finishes the one under way."""
    headers_base = setup.finance
    url = f"/agreements/{setup.agreement_id}/disbursements"
    number = 0
    with httpx.Client(base_url=server.base + API, timeout=30) as http:
        while time.monotonic() < until[0]:
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
                        run.acknowledged.append(Acknowledged(key, sp2d, outcome.json()["id"], sent))
                        if killed_at and sent > killed_at[0]:
                            after = time.monotonic() - killed_at[0]
                            if run.first_ack_after is None or after < run.first_ack_after:
                                run.first_ack_after = after
                    break
                if outcome is not None and outcome.status_code != 503:
                    break  # anything else is a failure the test reports by status
                if time.monotonic() > until[0] + 30:
                    with run.lock:
                        run.unfinished += 1
                    return
                time.sleep(0.1)


def kill_under_writes(
    server: Server,
    setup: Setup,
    *,
    writers: int,
    before_s: float,
    after_s: float,
    after_recovery_s: float | None = None,
) -> tuple[WriteRun, int]:
    """``writers`` clerks paying; the postmaster killed ``before_s`` in; writing goes on ``after_s`` more, or, with
    ``after_recovery_s``, only that long after the first payment acknowledged after the kill (the recovery)."""
    run = WriteRun()
    killed_at: list[float] = []
    until = [time.monotonic() + before_s + after_s]
    threads = [
        threading.Thread(target=write_until, args=(server, setup, run, until, killed_at, f"W{n}"))
        for n in range(writers)
    ]
    for thread in threads:
        thread.start()
    time.sleep(before_s)
    killed_at.append(time.monotonic())
    run.killed_at = killed_at[0]
    killed = server.kill_postgres()
    if after_recovery_s is not None:
        while run.first_ack_after is None and time.monotonic() < until[0]:
            time.sleep(0.05)
        until[0] = min(until[0], time.monotonic() + after_recovery_s)
    for thread in threads:
        thread.join()
    return run, killed


def p99(latencies: list[float]) -> float:
    ordered = sorted(latencies)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else float("nan")
