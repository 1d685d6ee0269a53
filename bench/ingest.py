"""End-to-end intake throughput: notices → inbox → Celery workers → apply → outbox → relay → national simulator.

Real path: the import path of `manage.py import_notices` (`notices_receive`, the same steps as the HTTP
endpoint, in chunks of NOTICE_BATCH_MAX per municipality, in stream order) into a fresh database; real Celery
worker processes (prefork) and beat apply the notices and push them over mutual TLS to a national simulator
process. The clock runs from the first receipt until every notice is decided and every outbox row is
acknowledged. Baseline, same run, same notices: a raw set-based load (search keys and AES-GCM in Python, COPY
into a staging table, INSERT … SELECT of persons, code history and versions with is_current by window
function) into copies of the version tables. Prints both rates and the ratio, and how slow the machine itself
was during the real path (bench/hostprobe.py: this VM's CPU stalls in bursts that every process pays for).

    python bench/ingest.py [--notices 200000] [--workers 2] [--seed 1] [--database bench_ingest] [--redis-db 13]

Uses its own database (dropped and recreated) on the project's PostgreSQL and a Redis db number of its own
on the project's Redis (flushed at start; both on the ports of `JUKINET_PG_PORT`/`JUKINET_REDIS_PORT` as in
scripts/services.sh); the national simulator runs on a free port under a temporary folder.
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness
from bench.hostprobe import HostProbe

# The project's PostgreSQL and Redis (`make services`), on the ports scripts/services.sh uses.
SHARED_PG = f"postgresql://jukinet:jukinet@127.0.0.1:{os.environ.get('JUKINET_PG_PORT', '54329')}/postgres"
SHARED_REDIS = f"redis://127.0.0.1:{os.environ.get('JUKINET_REDIS_PORT', '63799')}"
TARGET_RATE = 5000  # issue 4: ≥ 5,000 notices/s end to end on 2 cores, 200,000 notices


def feed(notices: list[dict[str, Any]], chunk: int, pool: Any = None) -> float:
    """Receive every notice through the import path; returns the seconds spent.

    Each chunk of the stream is split by municipality into one request each. Without `pool` they go out one
    after another; with a thread pool, from its threads at once (each thread with its own database connection,
    as several municipal CSes post at once), and the next chunk starts when the chunk's requests are answered.
    Within a chunk the requests' order was never the stream's (one request per municipality), so concurrency
    changes no order that the serial feed kept."""
    from prefserver.intake.receive import notices_receive
    from prefserver.models import IntakeBatch

    def send(code: str, group: list[dict[str, Any]]) -> None:
        notices_receive(municipality_code=code, elements=group, actor="operator:bench", kind=IntakeBatch.Kind.IMPORT)

    started = time.perf_counter()
    for start in range(0, len(notices), chunk):
        groups: dict[str, list[dict[str, Any]]] = {}
        for notice in notices[start : start + chunk]:
            groups.setdefault(notice["municipality_code"], []).append(notice)
        if pool is None:
            for code, group in groups.items():
                send(code, group)
        else:
            for future in [pool.submit(send, code, group) for code, group in groups.items()]:
                future.result()
    return time.perf_counter() - started


def senders_pool(senders: int) -> Any:
    """Threads for concurrent senders (None: serial). Kept until after the CPU snapshot, so that their database
    connections (and their backends' CPU) are still there to be counted."""
    from concurrent.futures import ThreadPoolExecutor

    return ThreadPoolExecutor(max_workers=senders) if senders > 1 else None


def senders_close(pool: Any) -> None:
    from django.db import connections

    if pool is not None:
        for future in [pool.submit(connections.close_all) for _ in range(pool._max_workers * 4)]:
            future.result()
        pool.shutdown()


def progress() -> dict[str, int]:
    row = harness.query_one(
        """SELECT count(*) FILTER (WHERE status = 'applied'), count(*) FILTER (WHERE status = 'rejected'),
                  count(*) FILTER (WHERE status = 'held'), count(*) FILTER (WHERE status = 'pending'),
                  (SELECT count(*) FROM prefserver_pushoutbox WHERE status = 'pending'),
                  (SELECT count(*) FROM prefserver_pushoutbox WHERE status = 'sent'),
                  (SELECT count(*) FROM prefserver_pushoutbox WHERE status = 'failed')
             FROM prefserver_notice"""
    )
    keys = ("applied", "rejected", "held", "pending", "push_pending", "push_sent", "push_failed")
    return dict(zip(keys, row, strict=True))


STUCK_SECONDS = 30.0


# What is left to do, read through the partial indexes (pending and held notices, pending outbox rows): the
# poll costs the database next to nothing. progress()'s full counts scan the inbox once and the outbox three
# times: polled every 0.25 s, they cost the database as much CPU as a worker near the end of a 200,000 run.
BACKLOG_SQL = """SELECT (SELECT count(*) FROM prefserver_notice WHERE status = 'pending'),
                        (SELECT count(*) FROM prefserver_notice WHERE status = 'held'),
                        (SELECT count(*) FROM prefserver_pushoutbox WHERE status = 'pending')"""


def backlog() -> tuple[int, int, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        # Right after a burst the statistics may still say "all pending": keep the poll on the indexes.
        cursor.execute("SET enable_seqscan = off")
        cursor.execute(BACKLOG_SQL)
        pending, held, push_pending = cursor.fetchone()
        cursor.execute("RESET enable_seqscan")
    return int(pending), int(held), int(push_pending)


def wait_drained(total: int, *, timeout: float) -> tuple[dict[str, int], float | None]:
    """Poll until every notice is decided and every outbox row acknowledged; returns (final counts, intake end).

    Called once every notice is stored, so no pending and no held notice means every notice is decided. The
    full counts (progress()) are read once at the end. Every notice sent is valid, so once nothing is pending a
    held notice waits for nothing: if held notices stay put for STUCK_SECONDS with nothing else to do, stop and
    report them."""
    deadline = time.monotonic() + timeout
    intake_done: float | None = None
    stuck_since: float | None = None
    left = (-1, -1, -1)
    while time.monotonic() < deadline:
        left = pending, held, push_pending = backlog()
        if pending == 0 and held == 0 and intake_done is None:
            intake_done = time.perf_counter()
        if pending == 0 and held == 0 and push_pending == 0:
            counts = progress()
            if counts["applied"] + counts["rejected"] >= total and counts["push_pending"] == 0:
                return counts, intake_done
        idle = pending == 0 and push_pending == 0 and held > 0
        stuck_since = (stuck_since or time.monotonic()) if idle else None
        if stuck_since is not None and time.monotonic() - stuck_since > STUCK_SECONDS:
            return progress(), intake_done
        time.sleep(0.25)
    raise TimeoutError(f"not drained: pending, held, push pending = {left}")


def held_notice_ids() -> list[int]:
    from prefserver.models import Notice

    return list(Notice.objects.filter(status=Notice.Status.HELD).order_by("id").values_list("id", flat=True)[:20])


def wait_workers_ready(timeout: float = 60) -> None:
    from jukinet.celery import app

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if app.control.ping(timeout=1.0):
            return
    raise TimeoutError("no Celery worker answered")


def relay_alone(client: Any) -> tuple[int, float]:
    """The push relay's own rate: every outbox row made pending again, the simulator's receipts forgotten."""
    from django.db import connection

    from prefserver.push import push_relay_run

    client._request("POST", "/v1/_reset", {"keep_seeded": True})
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE prefserver_pushoutbox"
            " SET status = 'pending', acked_at = NULL, attempts = 0, next_attempt_at = now()"
        )
        rows = cursor.rowcount
        cursor.execute("ANALYZE prefserver_pushoutbox")  # the reset changed every row at once
    started = time.perf_counter()
    while push_relay_run(max_batches=1000, client_factory=lambda: client):
        pass
    return rows, time.perf_counter() - started


# --- baseline ---------------------------------------------------------------------------------------------

BASELINE_TABLES = """
DROP TABLE IF EXISTS bench_stage, bench_person, bench_code, bench_version, bench_furyo_version;
CREATE UNLOGGED TABLE bench_stage (
  ord bigint, file text, resident_code text, update_sequence int, change_reason text, change_date date,
  municipality_code text, operator_id text, terminal_id text, payload jsonb, ciphertext bytea, key_id text,
  blind_index bytea, seion_kana text, name_key text, address_key text);
CREATE TABLE bench_person (id bigserial PRIMARY KEY, file text, resident_code text, UNIQUE (file, resident_code));
CREATE TABLE bench_version (LIKE prefserver_identity_version INCLUDING DEFAULTS INCLUDING INDEXES);
CREATE TABLE bench_furyo_version (LIKE furyo_version INCLUDING DEFAULTS INCLUDING INDEXES);
"""

BASELINE_APPLY = """
INSERT INTO bench_person (file, resident_code)
SELECT DISTINCT file, resident_code FROM bench_stage ON CONFLICT DO NOTHING;
INSERT INTO bench_version (
  expiry_year, person_id, resident_code, name, name_gaiji_count, name_kana, birth_date, sex, address,
  address_gaiji_count, individual_number_ciphertext, change_reason, change_date, retention_flag, seion_kana,
  municipality_code, district_code, operator_id, terminal_id, recorded_at, received_on, gaiji_flag, deleted,
  update_sequence, name_gaiji_revision, address_gaiji_revision, former_surname, former_surname_gaiji_count,
  former_surname_kana, former_surname_gaiji_revision, is_current, removed, retention_start, source_notice_id,
  revision, individual_number_key_id, individual_number_blind_index, name_key, address_key)
SELECT CASE WHEN latest THEN 9999 ELSE extract(year FROM now())::int + 150 END, p.id, s.resident_code,
  payload->>'name', (payload->>'name_gaiji_count')::smallint, payload->>'name_kana', (payload->>'birth_date')::date,
  (payload->>'sex')::smallint, payload->>'address', (payload->>'address_gaiji_count')::smallint, s.ciphertext,
  s.change_reason, s.change_date, CASE WHEN latest AND NOT removed THEN 0 ELSE 1 END, s.seion_kana,
  s.municipality_code, payload->>'district_code', s.operator_id, s.terminal_id, now(), current_date,
  (payload->>'gaiji_flag')::boolean, false, s.update_sequence, (payload->>'name_gaiji_revision')::int,
  (payload->>'address_gaiji_revision')::int, payload->>'former_surname',
  (payload->>'former_surname_gaiji_count')::smallint, payload->>'former_surname_kana',
  (payload->>'former_surname_gaiji_revision')::int, latest, removed,
  CASE WHEN latest AND NOT removed THEN NULL ELSE current_date END, s.ord, 0, s.key_id, s.blind_index, s.name_key,
  s.address_key
FROM (SELECT *, row_number() OVER (PARTITION BY file, resident_code ORDER BY update_sequence DESC) = 1 AS latest,
             change_reason IN ('31', '32', '33', '34') AS removed
        FROM bench_stage WHERE file = 'identity') s
JOIN bench_person p ON p.file = s.file AND p.resident_code = s.resident_code;
INSERT INTO bench_furyo_version (
  expiry_year, person_id, resident_code, name, name_gaiji_count, name_kana, birth_date, sex,
  address_municipality_code, address, address_gaiji_count, last_address, last_address_gaiji_count, change_date,
  former_resident_code, furyo_municipality_code, status, gaiji_flag, gaiji_pattern, notice_kind, is_current,
  removed, update_sequence, deleted, received_on, recorded_at, municipality_code, operator_id, terminal_id,
  source_notice_id, revision, retention_flag, retention_start, seion_kana, name_key, address_key)
SELECT 9999, p.id, s.resident_code, payload->>'name', (payload->>'name_gaiji_count')::smallint,
  payload->>'name_kana', (payload->>'birth_date')::date, (payload->>'sex')::smallint,
  payload->>'address_municipality_code', payload->>'address', (payload->>'address_gaiji_count')::smallint,
  payload->>'last_address', (payload->>'last_address_gaiji_count')::smallint, s.change_date, NULL,
  payload->>'furyo_municipality_code', (payload->>'status')::smallint, (payload->>'gaiji_flag')::boolean,
  payload->>'gaiji_pattern', s.change_reason, true, false, s.update_sequence, false, current_date, now(),
  s.municipality_code, s.operator_id, s.terminal_id, s.ord, 0, 0, NULL, s.seion_kana, s.name_key, s.address_key
FROM bench_stage s JOIN bench_person p ON p.file = s.file AND p.resident_code = s.resident_code
WHERE s.file = 'furyo';
"""


def baseline(notices: list[dict[str, Any]]) -> tuple[float, int]:
    """Raw set-based load of the same notices; returns (seconds, versions written)."""
    import json

    from django.db import connection, transaction

    from jukinet.crypto import blind_index, encrypt_individual_number
    from jukinet.search_keys import address_key, name_key, seion_kana

    with connection.cursor() as cursor:
        cursor.execute(BASELINE_TABLES)
    started = time.perf_counter()
    buffer = io.StringIO()
    for ord_, n in enumerate(notices):
        p = n["payload"]
        number = p.get("individual_number")
        key_id, ciphertext = (
            encrypt_individual_number(number, table="bench_version", person_id=ord_) if number else ("", b"")
        )
        fields = [
            str(ord_), n["file"], n["resident_code"], str(n["update_sequence"]), n["change_reason"],
            n["change_date"], n["municipality_code"], n["operator_id"], n["terminal_id"],
            json.dumps({k: v for k, v in p.items() if k != "individual_number"}, ensure_ascii=False),
            "\\\\x" + ciphertext.hex(), key_id, "\\\\x" + (blind_index(number).hex() if number else ""),
            seion_kana(p["name_kana"]), name_key(p["name"]), address_key(p["address"]),
        ]  # fmt: skip
        buffer.write("\t".join(f.replace("\\", "\\\\") if i == 9 else f for i, f in enumerate(fields)) + "\n")
    with transaction.atomic(), connection.cursor() as cursor:
        with cursor.copy("COPY bench_stage FROM STDIN") as copy:
            copy.write(buffer.getvalue())
        cursor.execute(BASELINE_APPLY)
        cursor.execute("SELECT (SELECT count(*) FROM bench_version) + (SELECT count(*) FROM bench_furyo_version)")
        (written,) = cursor.fetchone()
    return time.perf_counter() - started, int(written)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--notices", type=int, default=200_000)
    parser.add_argument("--workers", type=int, default=2, help="worker processes (concurrency 1 each)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database", default="bench_ingest")
    parser.add_argument("--redis-db", type=int, default=13)
    parser.add_argument("--chunk", type=int, default=1000)
    parser.add_argument("--senders", type=int, default=1, help="concurrent senders of the receipt (1: serial)")
    parser.add_argument("--timeout", type=float, default=3600)
    args = parser.parse_args()

    import redis

    redis_url = f"{SHARED_REDIS}/{args.redis_db}"
    redis.Redis.from_url(redis_url).flushdb()
    database_url = harness.fresh_database(SHARED_PG, args.database)
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        work = Path(tmp)
        with harness.national_server(work / "national") as national:
            env = harness.django_env(database_url, redis_url, national.url, national.pki.directory)
            harness.manage(env, "migrate", "--noinput", "-v", "0")
            harness.manage(env, "load_reference")
            harness.django_setup(env)
            from jukinet import clock
            from jukinet.reference import prefecture_municipalities
            from prefserver.cs_simulator import valid_notices
            from prefserver.national_client import NationalClient

            municipalities = [(m.code, m.name) for m in prefecture_municipalities()]
            t = time.perf_counter()
            notices = valid_notices(args.notices, municipalities=municipalities, seed=args.seed, today=clock.today())
            mix = Counter(f"{n['file'][:1]}{n['change_reason']}" for n in notices)
            print(
                f"generated {len(notices)} valid notices in {time.perf_counter() - t:.1f} s;"
                f" mix {dict(sorted(mix.items()))}"
            )

            workers = harness.Workers(env, work / "logs", count=args.workers, concurrency=1)
            workers.start()
            try:
                wait_workers_ready()
                cpu_before = cpu_snapshot(workers, national, args.database)
                scans_before = scans()
                started = time.perf_counter()
                with HostProbe() as probe:
                    pool = senders_pool(args.senders)
                    receive_seconds = feed(notices, args.chunk, pool)
                    receive_cpu = own_cpu() - cpu_before["receipt"]
                    counts, intake_done = wait_drained(len(notices), timeout=args.timeout)
                    finished = time.perf_counter()
                cpu_after = cpu_snapshot(workers, national, args.database)
                senders_close(pool)
                time.sleep(0.6)  # the statistics collector's flush interval (PGSTAT_MIN_INTERVAL 0.5 s)
                scans_after = scans()
                if counts["held"]:
                    finished -= STUCK_SECONDS  # the idle wait is not processing time
                    print(f"  STUCK: {counts['held']} valid notices held with nothing pending: ids {held_notice_ids()}")
            finally:
                workers.stop()
            p = national.pki
            client = NationalClient(national.url, p.ca_cert, p.client_cert, p.client_key, national.server_pin)
            stats = client.stats()
            elapsed = finished - started
            done = counts["applied"] + counts["rejected"]
            rate = done / elapsed
            print(f"real path: {done} notices decided and pushed in {elapsed:.1f} s = {rate:,.0f} notices/s end to end")
            print(
                f"  receipt (import path, {args.senders} concurrent sender(s)) finished after"
                f" {receipt_seconds(receive_seconds)}"
            )
            if intake_done is not None:
                print(
                    f"  every notice decided after {intake_done - started:.1f} s;"
                    f" pushes drained {finished - intake_done:.1f} s later"
                )
            print(f"  results {counts}")
            chained, unchained = harness.query_one(
                "SELECT (SELECT count(*) FROM audit_operationlogentry),"
                " (SELECT count(*) FROM audit_operationlogpending)"
            )
            print(f"  operation log at the end: {chained} entries chained, {unchained} waiting for the sealer")
            print_cpu(cpu_before, cpu_after, receive_cpu, len(notices))
            print(f"  {probe.summary()}")
            print_scans(scans_before, scans_after)
            print(
                f"  national: accepted={stats['accepted']} duplicates={stats['duplicates']}"
                f" rejected={stats['rejected']} requests={stats['requests']} keys_received_more_than_once="
                f"{sum(f.get('keys_received_more_than_once', 0) for f in stats['files'].values())}",
                flush=True,
            )
            ok = counts["applied"] == len(notices) and counts["push_sent"] == counts["applied"]
            relay_rows, relay_seconds = relay_alone(client)
            client.close()
        print(
            f"  relay alone (one process, outbox reset, national receipts reset): {relay_rows} rows in "
            f"{relay_seconds:.1f} s = {relay_rows / relay_seconds:,.0f} rows/s",
            flush=True,
        )
        base_seconds, written = baseline(notices)
        base_rate = len(notices) / base_seconds
        print(f"baseline (set-based SQL): {written} versions in {base_seconds:.1f} s = {base_rate:,.0f} notices/s")
        print(f"ratio real/baseline: {rate / base_rate:.3f}  (baseline is {base_rate / rate:.1f}x faster)")
        print(
            f"target ≥ {TARGET_RATE:,} notices/s end to end on {len(notices):,} notices:"
            f" {'met' if rate >= TARGET_RATE else 'NOT met'} ({rate:,.0f}/s)"
        )
        print("check: every notice applied and pushed exactly once" if ok else "check FAILED")
        return 0 if ok else 1


SCANS_SQL = "SELECT relname, seq_scan, seq_tup_read FROM pg_stat_user_tables"


def scans() -> dict[str, tuple[int, int]]:
    """Sequential scans per table so far (the statistics collector's view, a little behind the backends)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(SCANS_SQL)
        return {name: (int(count or 0), int(rows or 0)) for name, count, rows in cursor.fetchall()}


def print_scans(before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]]) -> None:
    """The tables the real path read most by sequential scans: where a plan does work that grows with the data."""
    read = {
        name: (n - before.get(name, (0, 0))[0], rows - before.get(name, (0, 0))[1]) for name, (n, rows) in after.items()
    }
    top = sorted(((rows, n, name) for name, (n, rows) in read.items() if rows > 0), reverse=True)[:5]
    print("  sequential scans (rows read, scans): " + ", ".join(f"{name} {rows:,} ({n})" for rows, n, name in top))


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def cpu_snapshot(workers: harness.Workers, national: Any, database: str) -> dict[str, Any]:
    """CPU seconds so far: this process (receipt, then polling), the Celery workers and beat (process groups),
    the national simulator, and each PostgreSQL backend of the bench database."""
    groups = {process.pid for process in workers.workers.values()} | ({workers.beat.pid} if workers.beat else set())
    return {
        "receipt": own_cpu(),
        "workers": harness.process_group_cpu(groups),
        "national": harness.process_group_cpu({national.process.pid}),
        "db": harness.backend_cpu(database),
    }


def print_cpu(before: dict[str, Any], after: dict[str, Any], receive_cpu: float, count: int) -> None:
    db = sum(cpu - before["db"].get(pid, 0.0) for pid, cpu in after["db"].items())
    parts = {
        "receipt process": receive_cpu,
        "workers (apply + relay)": after["workers"] - before["workers"],
        "national simulator": after["national"] - before["national"],
        "PostgreSQL backends": db,
    }
    total = sum(parts.values())
    line = ", ".join(f"{name} {1e6 * cpu / count:.0f}" for name, cpu in parts.items())
    print(f"  CPU µs/notice: {line}; total {1e6 * total / count:.0f} (2 cores: ≤ {2 * count / total:,.0f} notices/s)")


def receipt_seconds(seconds: float) -> str:
    return f"{seconds:.1f} s"


if __name__ == "__main__":
    sys.exit(main())
