"""The long version of tests/faults: a real ``hibah serve`` (two workers, embedded PostgreSQL) under the kills and
the slow readers of issue #11, measured. Prints a table.

    uv run python -m bench.bench_outages [--writers 8] [--readers 40] [--after 15]

1. The postmaster killed with ``kill -9`` under concurrent idempotent disbursements: answers by status (a
   connection reset would show as "no answer"), time from the kill to the first acknowledged write, and whether
   every acknowledged write is there once.
2. Disbursements alone, then under ``--readers`` unauthenticated readers of a ~9 MB CSV export at 1 KB/s:
   write statuses and p99, readers' answers (200 within capacity, 503 export_busy beyond it).
"""

import argparse
import time

import httpx

from tests.faults.harness import API, bulk_agreements, grant, serve, workdir
from tests.faults.outages import kill_under_writes, p99
from tests.faults.readers import start_readers, timed_writes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--readers", type=int, default=40)
    parser.add_argument("--after", type=float, default=15.0, help="seconds of writes after the kill")
    parser.add_argument("--slots", type=int, default=4, help="HIBAH_EXPORT_SLOTS per worker")
    args = parser.parse_args()

    server = serve(workdir(), workers=2, export_slots=str(args.slots))
    try:
        setup = grant(server)
        run, _ = kill_under_writes(server, setup, writers=args.writers, before_s=3, after_s=args.after)
        with httpx.Client(base_url=server.base + API, timeout=30) as http:
            kept = sum(
                http.get(f"/disbursements/{ack.disbursement_id}", headers=setup.finance).status_code == 200
                for ack in run.acknowledged
            )
            disbursed = http.get(f"/agreements/{setup.agreement_id}/position").json()["disbursed"]
        recovery = f"{run.first_ack_after:.1f} s" if run.first_ack_after is not None else "never"
        print("## Database killed (kill -9 of the postmaster) under concurrent disbursements")
        print(f"writers: {args.writers}; writes went on {args.after:.0f} s after the kill\n")
        print("| answer | requests |\n|---|---|")
        for status, number in sorted(run.statuses.items()):
            print(f"| {status} | {number} |")
        print(f"\ntime from the kill to the first acknowledged write: {recovery}")
        print(f"acknowledged: {len(run.acknowledged)}, present afterwards: {kept}, disbursed: {disbursed}")
        print(f"(expected disbursed: {1000 * len(run.acknowledged)}.00); payments never acknowledged: {run.unfinished}")

        bulk_agreements(server, setup, 60_000)
        alone_statuses, alone = timed_writes(server, setup, seconds=5, writers=4)
        readers, threads = start_readers(server, args.readers)
        time.sleep(1)
        try:
            loaded_statuses, loaded = timed_writes(server, setup, seconds=10, writers=4)
        finally:
            readers.stop.set()
            for thread in threads:
                thread.join()
        print(f"\n## Disbursements against {args.readers} slow readers (1 KB/s) of /exports/agreements.csv\n")
        print("| | write answers | write p99 | writes |\n|---|---|---|---|")
        print(f"| alone | {dict(alone_statuses)} | {p99(alone) * 1000:.0f} ms | {len(alone)} |")
        print(f"| with slow readers | {dict(loaded_statuses)} | {p99(loaded) * 1000:.0f} ms | {len(loaded)} |")
        print(f"\nreaders' answers: {dict(readers.statuses)} (capacity {2 * args.slots}: 2 workers x {args.slots})")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
