"""GIN pending lists: what the append that moves a full list into the index costs, and with the beat job.

    .venv/bin/python bench/gin_pending.py [--appends 150000] [--clean-every 15000]

The operation log's `targets` index (and the provision records' `subjects`) is GIN with fastupdate: inserts
append to a pending list, and the insert that takes it past gin_pending_list_limit (4 MB) moves the whole list
into the index in the foreground. The log's entry is inserted under the chain lock, so while that one append
moves the list, every other append waits.

A fresh database (--database, default bench_gin, dropped and re-created on the local server) whose current
month already holds --preload entries (2,000,000, inserted in SQL outside the chain, at negative sequences), as
a month's partition does by the middle of a month: autovacuum, whose insert-triggered vacuum also empties the
pending lists, then comes only every 20 % of the partition's rows, as in service, not every few thousand
appends as it would on an empty table. Two phases, each with
--appends entries through `audit.services.operation_log_record` (each in its own transaction, a different
person each, as lookups name their subjects):
1. baseline: no cleaning (as before jukinet.db.gin_pending_lists_clean);
2. with the job: a second thread with its own connection runs `gin_pending_lists_clean` each time another
   --clean-every entries were appended (15,000: beat's 30 s at 500 lookups a second).
Prints each phase's append latencies (p50, p99, p99.99, max, how many took over 100 ms), the job's runs, and
the ratio of the baseline's max to the job phase's.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.openloop import percentile  # noqa: E402

SERVER_URL = os.environ.get("BENCH_SERVER_URL", "postgresql://jukinet:jukinet@127.0.0.1:54329/postgres")


def fresh_database(name: str) -> None:
    """`name` dropped, created and migrated on the shared server; Django set up on it in this process."""
    from bench import harness

    os.environ["DATABASE_URL"] = harness.fresh_database(SERVER_URL, name)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jukinet.settings.base")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def preload(rows: int) -> None:
    """`rows` log entries in this month, one random person each, outside the chain (negative sequences, which
    appends never use), then ANALYZE so that autovacuum knows the partition's size."""
    from django.db import connection

    from audit.models import OperationKind

    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO audit_operationlogentry (sequence, recorded_at, actor, kind, targets, outcome, hash)
            SELECT -g, now(), 'system:bench', %s,
                   json_build_array(json_build_array('prefserver.person', (random() * 1e9)::bigint::text)), 'ok',
                   '\\x00'::bytea
              FROM generate_series(1, %s) AS g
            """,
            [int(OperationKind.IDENTITY_VIEWED), rows],
        )
        cursor.execute("ANALYZE audit_operationlogentry")


def appends(count: int, rng: random.Random, clean_every: int = 0) -> tuple[list[float], list[float]]:
    """Append `count` entries; returns their latencies (ms) and the cleaning runs' durations (ms)."""
    from django.db import connection, transaction

    from audit.models import OperationKind
    from audit.services import operation_log_record
    from jukinet.db import gin_pending_lists_clean

    done = 0
    runs: list[float] = []
    wake = threading.Condition()
    stop = False

    def cleaner() -> None:  # beat's job, in its own thread and database connection
        cleaned_at = 0

        def due() -> bool:
            return stop or done - cleaned_at >= clean_every

        try:
            while True:
                with wake:
                    wake.wait_for(due)
                    if stop:
                        return
                    cleaned_at = done
                started = time.perf_counter()
                gin_pending_lists_clean()
                runs.append(1000 * (time.perf_counter() - started))
        finally:
            connection.close()

    thread = threading.Thread(target=cleaner) if clean_every else None
    if thread:
        thread.start()
    latencies = []
    try:
        for _ in range(count):
            person = rng.randrange(1, 10**9)
            started = time.perf_counter()
            with transaction.atomic():
                operation_log_record(actor="system:bench", kind=OperationKind.IDENTITY_VIEWED,
                                     targets=[("prefserver.person", person)], result_count=1)  # fmt: skip
            latencies.append(1000 * (time.perf_counter() - started))
            done += 1
            if thread and done % clean_every == 0:
                with wake:
                    wake.notify()
    finally:
        if thread:
            with wake:
                stop = True
                wake.notify()
            thread.join()
    return latencies, runs


def line(label: str, latencies: list[float], wall: float) -> str:
    slow = sum(1 for value in latencies if value > 100)
    return (
        f"{label:<34} {len(latencies) / wall:7.0f} appends/s  p50 {percentile(latencies, 0.5):6.2f}  "
        f"p99 {percentile(latencies, 0.99):6.2f}  p99.99 {percentile(latencies, 0.9999):7.2f}  "
        f"max {max(latencies):7.1f} ms  over 100 ms: {slow}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--appends", type=int, default=150_000)
    parser.add_argument("--clean-every", type=int, default=15_000)
    parser.add_argument("--preload", type=int, default=2_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database", default="bench_gin", help="dropped and re-created on BENCH_SERVER_URL's server")
    args = parser.parse_args()
    if args.appends < 1 or args.clean_every < 1 or args.preload < 0:
        parser.error("--appends and --clean-every must be positive, --preload not negative")
    fresh_database(args.database)
    preload(args.preload)
    rng = random.Random(args.seed)
    started = time.perf_counter()
    baseline, _ = appends(args.appends, rng)
    baseline_wall = time.perf_counter() - started
    started = time.perf_counter()
    cleaned, runs = appends(args.appends, rng, clean_every=args.clean_every)
    cleaned_wall = time.perf_counter() - started
    print(f"{args.appends:,} chained appends per phase, one person each, each in its own transaction, "
          f"after {args.preload:,} entries this month")  # fmt: skip
    print(line("baseline (foreground moves):", baseline, baseline_wall))
    print(line(f"job every {args.clean_every:,} appends:", cleaned, cleaned_wall))
    if runs:
        print(f"{'':34} the job ran {len(runs)} times: {min(runs):.0f}–{max(runs):.0f} ms each, in its own thread")
    print(f"max append latency, baseline / with the job: {max(baseline) / max(cleaned):.1f}")


if __name__ == "__main__":
    main()
