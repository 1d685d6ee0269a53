"""Intake and push under faults: SIGKILL of workers, a Redis restart and a PostgreSQL crash-restart.

Everything runs on instances of its own, never the shared ones: a PostgreSQL cluster initialised under a
temporary folder (as the `postgres` user when run as root) on a free port, a Redis without persistence on
a free port, the national simulator on a free port, two Celery worker processes (prefork, concurrency 1)
and beat. Valid notices (prefserver.cs_simulator) are received through the import path by a feeder thread
(which retries a chunk after a database error: a retried chunk's notices that were stored answer
`duplicate`). Faults are spread over the processing, by the share of notices decided. Afterwards:

- the applied set equals the sent set (every notice is valid), each notice applied exactly once (one version
  per notice, one outbox row per version);
- the national simulator received each change exactly once: `accepted` = outbox rows, every key received,
  and its counters equal the prefecture's (repeats after a lost answer show as `duplicates`, no effect);
- the drain time after the last fault (target ≤ 60 s), with the backlog left at that moment.

    python bench/faults.py [--notices 100000] [--kills 5] [--redis-restarts 1] [--pg-restarts 1] [--json]

The test suite runs a small version (tests/prefserver/test_faults.py).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness

DATABASE = "jukinet_faults"
STUCK_SECONDS = 30.0


class Feeder(threading.Thread):
    """Receives the notices in chunks, in stream order; retries a chunk after a database error."""

    def __init__(self, notices: list[dict[str, Any]], chunk: int) -> None:
        super().__init__(daemon=True)
        self.notices, self.chunk = notices, chunk
        self.retries = 0
        self.error: BaseException | None = None
        self.done = threading.Event()

    def run(self) -> None:
        from django.db import DatabaseError, connection

        from prefserver.intake.receive import notices_receive
        from prefserver.models import IntakeBatch

        try:
            for start in range(0, len(self.notices), self.chunk):
                groups: dict[str, list[dict[str, Any]]] = {}
                for notice in self.notices[start : start + self.chunk]:
                    groups.setdefault(notice["municipality_code"], []).append(notice)
                for code, group in groups.items():
                    while True:
                        try:
                            notices_receive(municipality_code=code, elements=list(group), actor="operator:bench",
                                            kind=IntakeBatch.Kind.IMPORT)  # fmt: skip
                            break
                        except DatabaseError:
                            self.retries += 1
                            connection.close()
                            time.sleep(0.5)
        except BaseException as exc:  # reported by the main thread
            self.error = exc
        finally:
            connection.close()
            self.done.set()


def progress_safe() -> dict[str, int] | None:
    from django.db import DatabaseError, connection

    from bench.ingest import progress

    try:
        return progress()
    except DatabaseError:
        connection.close()
        return None


def wait_for(predicate: Any, timeout: float) -> dict[str, int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        counts = progress_safe()
        if counts is not None and predicate(counts):
            return counts
        time.sleep(0.2)
    raise TimeoutError(f"timed out; last counts {progress_safe()}")


def checks(notices: list[dict[str, Any]], client: Any) -> dict[str, Any]:
    """The exactly-once checks of the module docstring."""
    from django.db import connection

    sent = {(n["municipality_code"], n["notice_id"]) for n in notices}
    with connection.cursor() as cursor:
        cursor.execute("SELECT municipality_code, notice_id, status FROM prefserver_notice")
        rows = cursor.fetchall()
        cursor.execute(
            "SELECT code, change_reason, count(*) FROM prefserver_notice WHERE status = 'rejected' GROUP BY 1, 2"
        )
        rejected = {f"{code}/{reason}": n for code, reason, n in cursor.fetchall()}
        cursor.execute(
            """SELECT (SELECT count(*) FROM prefserver_identity_version) + (SELECT count(*) FROM furyo_version),
                      (SELECT count(*) FROM (SELECT source_notice_id FROM prefserver_identity_version
                        GROUP BY 1 HAVING count(*) > 1) a)
                      + (SELECT count(*) FROM (SELECT source_notice_id FROM furyo_version GROUP BY 1
                        HAVING count(*) > 1) b),
                      (SELECT count(*) FROM prefserver_pushoutbox),
                      (SELECT count(*) FROM prefserver_pushoutbox WHERE status = 'sent'),
                      (SELECT count(DISTINCT (file, version_id)) FROM prefserver_pushoutbox)"""
        )
        versions, notices_with_two_versions, outbox, outbox_sent, outbox_versions = cursor.fetchone()
        cursor.execute(
            """SELECT v.resident_code, v.update_sequence FROM prefserver_identity_person p
               JOIN prefserver_identity_version v ON v.id = p.current_version_id
                AND v.expiry_year = p.current_version_expiry_year"""
        )
        current = dict(cursor.fetchall())
    applied = {(m, n) for m, n, status in rows if status == "applied"}
    stats = client.stats()
    files = stats.get("files", {})
    national_sequences: dict[str, int | None] = {}
    codes = sorted(current)
    for start in range(0, len(codes), 5000):
        national_sequences.update(client.sequences_of(codes[start : start + 5000]))
    sequence_mismatches = sum(1 for code, seq in current.items() if national_sequences.get(code) != seq)
    keys_received = sum(f.get("keys_received", 0) for f in files.values())
    result = {
        "sent": len(sent),
        "stored": len(rows),
        "applied": len(applied),
        "applied_equals_sent": applied == sent,
        "rejected_by_code": rejected,
        "versions": versions,
        "notices_with_more_than_one_version": notices_with_two_versions,
        "outbox_rows": outbox,
        "outbox_sent": outbox_sent,
        "outbox_one_row_per_version": outbox == outbox_versions == versions,
        "national_accepted": stats["accepted"],
        "national_duplicates": stats["duplicates"],
        "national_rejected": stats["rejected"],
        "national_keys_received": keys_received,
        "national_keys_received_more_than_once": sum(f.get("keys_received_more_than_once", 0) for f in files.values()),
        "national_sequence_mismatches": sequence_mismatches,
    }
    result["held_never_released"] = [m + "/" + n for m, n, status in rows if status == "held"][:20]
    result["ok"] = bool(
        result["applied_equals_sent"]
        and len(rows) == len(sent)
        and versions == len(sent)
        and notices_with_two_versions == 0
        and result["outbox_one_row_per_version"]
        and outbox_sent == outbox
        and stats["accepted"] == outbox == keys_received
        and stats["rejected"] == 0
        and sequence_mismatches == 0
    )
    return result


def run(args: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="bench-faults-"))
    tmp.chmod(0o755)  # the postgres user must reach its data folder inside
    postgres = harness.PrivatePostgres(tmp / "pg")
    redis = harness.PrivateRedis(tmp / "redis")
    workers: harness.Workers | None = None
    events: list[dict[str, Any]] = []
    try:
        postgres.init()
        postgres.start()
        redis.start()
        database_url = harness.fresh_database(postgres.url(), DATABASE)
        with harness.national_server(tmp / "national") as national:
            env = harness.django_env(database_url, redis.url(0), national.url, national.pki.directory,
                                     DATABASE_CONN_MAX_AGE="0")  # fmt: skip
            harness.manage(env, "migrate", "--noinput", "-v", "0")
            harness.manage(env, "load_reference")
            harness.django_setup(env)
            from jukinet import clock
            from jukinet.reference import prefecture_municipalities
            from prefserver.cs_simulator import valid_notices
            from prefserver.national_client import NationalClient

            municipalities = [(m.code, m.name) for m in prefecture_municipalities()]
            notices = valid_notices(args.notices, municipalities=municipalities, seed=args.seed, today=clock.today())
            workers = harness.Workers(env, tmp / "logs", count=2, concurrency=1)
            workers.start()
            from bench.ingest import wait_workers_ready

            wait_workers_ready()
            started = time.perf_counter()
            feeder = Feeder(notices, args.chunk)
            feeder.start()

            faults = ["kill"] * args.kills + ["redis"] * args.redis_restarts + ["postgres"] * args.pg_restarts
            # Spread the faults over the processing: kills first and last, the restarts in between.
            order = faults[:1] + [f for f in faults[1:-1] if f != "kill"] + [f for f in faults[1:-1] if f == "kill"]
            order += faults[-1:] if len(faults) > 1 else []
            total = len(notices)
            last_fault = started
            for index, fault in enumerate(order):
                threshold = int(total * (index + 1) / (len(order) + 1) * args.fault_span)
                at = wait_for(lambda c, t=threshold: c["applied"] + c["rejected"] >= t, args.timeout)
                if fault == "kill":
                    workers.kill_worker(index % 2)
                elif fault == "redis":
                    redis.restart()
                else:
                    postgres.restart("immediate")
                last_fault = time.perf_counter()
                events.append({"fault": fault, "at_s": round(last_fault - started, 1), "decided_before": threshold,
                               "counts": at})  # fmt: skip
                print(f"[{last_fault - started:7.1f} s] {fault}: decided {at['applied'] + at['rejected']}/{total}",
                      flush=True)  # fmt: skip
            resumed = None
            if events:
                before = events[-1]["counts"]["applied"] + events[-1]["counts"]["rejected"]
                after = wait_for(lambda c: c["applied"] + c["rejected"] > before or c["pending"] == 0, args.timeout)
                resumed = round(time.perf_counter() - last_fault, 1) if after else None
            feeder.done.wait(args.timeout)
            if feeder.error is not None:
                raise feeder.error
            backlog = events[-1]["counts"] if events else {}
            stuck: dict[str, float] = {}

            def drained(c: dict[str, int]) -> bool:
                decided = c["applied"] + c["rejected"]
                if decided >= total and c["pending"] == 0 and c["push_pending"] == 0:
                    return True
                # Every notice is valid and has arrived: a hold that outlives the sweeps waits for nothing.
                if c["pending"] == 0 and c["push_pending"] == 0 and decided + c["held"] >= total:
                    stuck.setdefault("since", time.monotonic())
                    return time.monotonic() - stuck["since"] > STUCK_SECONDS
                stuck.clear()
                return False

            final = wait_for(drained, args.timeout)
            finished = time.perf_counter() - (STUCK_SECONDS if final["held"] else 0)
            p = national.pki
            client = NationalClient(national.url, p.ca_cert, p.client_cert, p.client_key, national.server_pin)
            report = checks(notices, client)
            client.close()
            report.update(
                notices=total,
                faults=events,
                feeder_retries=feeder.retries,
                elapsed_s=round(finished - started, 1),
                drain_after_last_fault_s=round(finished - last_fault, 1),
                decisions_resumed_after_last_fault_s=resumed,
                backlog_at_last_fault={
                    "undecided": total - backlog.get("applied", 0) - backlog.get("rejected", 0),
                    "push_pending": backlog.get("push_pending"),
                }
                if backlog
                else {},
                final=final,
            )
            return report
    finally:
        if workers is not None:
            workers.stop()
        redis.stop()
        postgres.stop("immediate")
        if not args.keep:
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--notices", type=int, default=100_000)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--redis-restarts", type=int, default=1)
    parser.add_argument("--pg-restarts", type=int, default=1)
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--chunk", type=int, default=1000)
    parser.add_argument("--fault-span", type=float, default=0.9, help="share of the run over which faults spread")
    parser.add_argument("--timeout", type=float, default=7200)
    parser.add_argument("--json", action="store_true", help="print the report as one JSON line")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs)")
    args = parser.parse_args()
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    report = run(args)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, default=str))
    else:
        for key, value in report.items():
            if key != "faults":
                print(f"{key}: {value}")
        print(
            f"drain time after the last fault: {report['drain_after_last_fault_s']} s (target ≤ 60 s);"
            f" decisions resumed {report['decisions_resumed_after_last_fault_s']} s after it"
        )
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
