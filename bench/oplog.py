"""Operation-log benchmark (issue 5): chained appends vs plain inserts, and the verify rate.

    .venv/bin/python bench/oplog.py [--appends 3000] [--verify-rows 1000000]

1. Appends: N entries in 10 interleaved rounds, each entry in its own transaction, through
   `operation_log_record` (advisory lock, head row, SHA-256 chain, partitioned table) and, in the same run, the
   same rows as plain INSERTs into an unpartitioned copy of the table without lock, head or hash work.
   Target: chained/plain >= 0.5.
2. Verify: a valid chain of --verify-rows entries (bulk-loaded with COPY once, reused on later runs) is
   recomputed by `operation_log_verify` (the code behind `manage.py verify_operation_log`).
   Target: 1,000,000 entries in <= 30 s.

Uses its own database (BENCH_DATABASE_URL, default jukinet_bench_audit on the local server), migrated on
first use. Prints both rates and the ratios; nothing is hard-coded.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import secrets
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql://jukinet:jukinet@127.0.0.1:54329/jukinet_bench_audit")


def ensure_database() -> None:
    import psycopg

    base, name = BENCH_URL.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def setup_django() -> None:
    os.environ["DATABASE_URL"] = BENCH_URL
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jukinet.settings.base")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def bench_appends(count: int) -> tuple[float, float]:
    from django.db import connection, transaction

    from audit.models import OperationKind
    from audit.oplog import canonical_json
    from audit.services import operation_log_record

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_oplog_plain")
        cursor.execute("CREATE TABLE bench_oplog_plain (LIKE audit_operationlogentry INCLUDING ALL)")
    conditions = {"name_kana": "ヤマダ", "birth_date": "1980-01-01", "affair": "A001"}
    targets = [("prefserver.person", "123456")]

    payload_conditions = canonical_json(conditions)
    payload_targets = canonical_json([list(t) for t in targets])

    def chained_block(first: int, size: int) -> float:
        started = time.perf_counter()
        for index in range(first, first + size):
            with transaction.atomic():
                operation_log_record(
                    actor="system:bench",
                    kind=OperationKind.IDENTITY_SEARCHED,
                    targets=targets,
                    conditions=conditions,
                    result_count=index % 7,
                )
        return time.perf_counter() - started

    def plain_block(first: int, size: int) -> float:
        started = time.perf_counter()
        for index in range(first, first + size):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    "INSERT INTO bench_oplog_plain (sequence, recorded_at, operator_id, actor, terminal_id, kind,"
                    " affair_id, targets, outcome, conditions, result_count, hash)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s::json, %s, %s::json, %s, %s)",
                    [
                        index + 1,
                        dt.datetime.now(dt.UTC),
                        None,
                        "system:bench",
                        None,
                        int(OperationKind.IDENTITY_SEARCHED),
                        None,
                        payload_targets,
                        "ok",
                        payload_conditions,
                        index % 7,
                        secrets.token_bytes(32),
                    ],
                )
        return time.perf_counter() - started

    # Interleaved rounds, so that load from other processes on the machine hits both paths alike.
    rounds = 10
    size = max(1, count // rounds)
    chained_time = plain_time = 0.0
    for round_index in range(rounds):
        chained_time += chained_block(round_index * size, size)
        plain_time += plain_block(round_index * size, size)
    chained, plain = rounds * size / chained_time, rounds * size / plain_time
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_oplog_plain")
    return chained, plain


def load_chain(rows: int) -> None:
    """Extend the log to `rows` entries with a valid chain, via COPY (fast set-up, not what is measured)."""
    from django.db import connection, transaction

    from audit import partitions
    from audit.models import OperationLogEntry
    from audit.oplog import GENESIS, canonical_entry, canonical_json, chain_hash
    from audit.services import OPLOG_LOCK_KEY
    from jukinet import clock

    existing = OperationLogEntry.objects.count()
    if existing >= rows:
        return
    partitions.partitions_ensure(first=clock.today(), months=1)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [OPLOG_LOCK_KEY])
        cursor.execute("SELECT sequence, hash FROM audit_operationloghead WHERE id = 1")
        head = cursor.fetchone()
        sequence, previous = (int(head[0]), bytes(head[1])) if head else (0, GENESIS)
        start = clock.now()
        conditions = {"name_kana": "ヤマダ", "birth_date": "1980-01-01", "affair": "A001"}
        targets = [["prefserver.person", "123456"]]
        raw = connection.connection
        with raw.cursor().copy(
            "COPY audit_operationlogentry (sequence, recorded_at, actor, kind, targets, outcome, conditions,"
            " result_count, hash) FROM STDIN"
        ) as copy:
            for offset in range(rows - existing):
                sequence += 1
                moment = start + dt.timedelta(microseconds=offset)
                canonical = canonical_entry(
                    sequence=sequence,
                    recorded_at=moment,
                    actor="system:bench",
                    terminal_id=None,
                    kind=100,
                    affair_id=None,
                    targets=targets,
                    outcome="ok",
                    conditions=conditions,
                    result_count=offset % 7,
                )
                previous = chain_hash(previous, canonical)
                copy.write_row(
                    [
                        sequence,
                        moment,
                        "system:bench",
                        100,
                        canonical_json(targets),
                        "ok",
                        canonical_json(conditions),
                        offset % 7,
                        previous,
                    ]
                )
        cursor.execute(
            "INSERT INTO audit_operationloghead (id, sequence, hash) VALUES (1, %s, %s)"
            " ON CONFLICT (id) DO UPDATE SET sequence = EXCLUDED.sequence, hash = EXCLUDED.hash",
            [sequence, previous],
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE audit_operationlogentry")


def bench_verify() -> tuple[int, float, str]:
    from audit.verify import operation_log_verify

    started = time.perf_counter()
    result = operation_log_verify()
    elapsed = time.perf_counter() - started
    return result.checked, elapsed, result.summary()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--appends", type=int, default=3000)
    parser.add_argument("--verify-rows", type=int, default=1_000_000)
    args = parser.parse_args()
    ensure_database()
    setup_django()

    chained, plain = bench_appends(args.appends)
    print(f"appends ({args.appends} entries, one transaction each)")
    print(f"  chained operation_log_record : {chained:10.0f} entries/s")
    print(f"  plain INSERT, same rows      : {plain:10.0f} entries/s")
    print(f"  ratio chained/plain          : {chained / plain:10.2f}   (target >= 0.5)")

    load_chain(args.verify_rows)
    checked, elapsed, summary = bench_verify()
    print(f"verify ({summary})")
    print(f"  {checked} entries in {elapsed:.1f} s = {checked / elapsed:,.0f} entries/s")
    projected = 1_000_000 / (checked / elapsed)
    print(f"  1,000,000 entries: {projected:.1f} s projected   (target <= 30 s, ratio {30 / projected:.2f})")


if __name__ == "__main__":
    main()
