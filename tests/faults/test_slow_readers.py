"""Slow readers of a CSV export cannot starve money writes (issue #11): readers beyond the exports' capacity get a
503 ``export_busy`` with Retry-After before any byte (never a 200 cut short), and the disbursements keep their
latency while the admitted readers trickle."""

import pytest

from tests.faults.harness import Server, Setup, bulk_agreements
from tests.faults.outages import p99
from tests.faults.readers import start_readers, timed_writes

pytestmark = pytest.mark.slow

SLOTS = 2 * 2  # export_slots=2 (tests/faults/conftest.py) in each of the 2 workers
READERS = 12


def test_slow_readers_over_capacity_get_503_and_writes_stay_fast(server: Server, setup: Setup) -> None:
    bulk_agreements(server, setup, 60_000)  # ~9 MB of CSV: more than the sockets hold
    _, alone = timed_writes(server, setup, seconds=1, writers=4)

    readers, threads = start_readers(server, READERS)
    try:
        statuses, loaded = timed_writes(server, setup, seconds=2, writers=4)
    finally:
        readers.stop.set()
        for thread in threads:
            thread.join()

    assert set(statuses) == {"201"}, statuses
    answered = readers.statuses
    assert set(answered) <= {"200", "503 export_busy +Retry-After"}, answered
    assert answered["200"] <= SLOTS, answered
    assert answered["503 export_busy +Retry-After"] >= READERS - SLOTS, answered
    # Writes under slow readers: before the fix 6-30 s and 500s after 30 s; now within a second on a busy machine.
    assert p99(loaded) < max(1.0, 5 * p99(alone)), (p99(alone), p99(loaded))
