"""Intake processing path: inbox → batch processor → versions + push outbox (no HTTP, no Celery).

Measures, in one run on a scratch database:
- receipt: notices_receive (steps 1–3, encryption, inbox insert), notices/s;
- processing: intake_process_pending (steps 4–22, locks, apply, outbox), notices/s;
- baseline: one set-based INSERT … SELECT of the same number of version-sized rows (the floor any apply path
  pays), rows/s; and the ratio.

Usage: DATABASE_URL=postgresql://…/scratch python bench/intake_apply.py --persons 5000 --changes 1
(the database must be migrated with reference data loaded; it is not emptied).
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jukinet.settings.base")

import django

django.setup()

from django.db import connection, transaction  # noqa: E402

from jukinet.identifiers import individual_number_check_digit, resident_code_check_digit, with_check_digit  # noqa: E402
from prefserver.intake import receive as receive_module  # noqa: E402
from prefserver.intake.process import BATCH_SIZE, intake_process_pending  # noqa: E402
from prefserver.intake.receive import notices_receive  # noqa: E402

SENDER = "352012"


def payload(rng: random.Random, i: int) -> dict:
    return {
        "name": f"見本 {i}郎", "name_gaiji_count": 0, "name_kana": "ミホン タロウ", "birth_date": "1980-04-01",
        "sex": 1 + i % 2, "address": f"山口県下関市見本町{i}番", "address_gaiji_count": 0,
        "individual_number": with_check_digit(f"{rng.randrange(10**11):011d}", individual_number_check_digit),
        "district_code": "0012", "gaiji_flag": False, "name_gaiji_revision": 0, "address_gaiji_revision": 0,
        "former_surname": None, "former_surname_gaiji_count": None, "former_surname_kana": None,
        "former_surname_gaiji_revision": None,
    }  # fmt: skip


def stream(persons: int, changes: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    run = f"{seed:x}{int(time.time()) % 100000:05d}"
    notices = []
    for i in range(persons):
        code = with_check_digit(f"{rng.randrange(10**10):010d}", resident_code_check_digit)
        body = payload(rng, i)
        notices.append(_envelope(f"B{run}-{i}-1", "11", 1, code, body))
        for step in range(changes):
            body = {**body, "address": f"山口県下関市見本町{i}番{step + 2}号"}
            notices.append(_envelope(f"B{run}-{i}-{step + 2}", "21", step + 2, code, body))
    return notices


def _envelope(notice_id: str, reason: str, sequence: int, code: str, body: dict) -> dict:
    return {
        "notice_id": notice_id, "municipality_code": SENDER, "file": "identity", "change_reason": reason,
        "change_date": "2025-04-01", "update_sequence": sequence, "resident_code": code, "payload": body,
        "operator_id": "OP0001", "terminal_id": "CS-01", "sent_at": "2025-04-01T10:00:00+09:00",
    }  # fmt: skip


def _backend_cpu() -> float:
    """CPU seconds of this connection's PostgreSQL backend (same machine: /proc/<pid>/stat utime + stime)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _client_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class CpuMeter:
    """Wall time and CPU time (this process + its database backend) of one phase."""

    def __enter__(self) -> CpuMeter:
        self.wall, self.client, self.server = time.perf_counter(), _client_cpu(), _backend_cpu()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.client = _client_cpu() - self.client
        self.server = _backend_cpu() - self.server

    def line(self, label: str, count: int) -> str:
        cpu = self.client + self.server
        return (
            f"{label:<24} {count / self.wall:8.0f} notices/s wall; CPU {1e6 * self.client / count:6.0f} µs client"
            f" + {1e6 * self.server / count:6.0f} µs db = {1e6 * cpu / count:6.0f} µs/notice"
            f" (≈ {count / cpu:6.0f} notices/s per core)"
        )


def baseline(rows: int) -> float:
    """Raw set-based SQL: insert `rows` version-sized rows into a temporary copy of the version table."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE bench_versions (LIKE prefserver_identity_version INCLUDING DEFAULTS) ON COMMIT DROP"
        )
        started = time.perf_counter()
        cursor.execute(
            """
            INSERT INTO bench_versions (person_id, resident_code, name, name_gaiji_count, name_kana, birth_date,
              sex, address, address_gaiji_count, individual_number_ciphertext, change_reason, change_date,
              seion_kana, municipality_code, district_code, operator_id, terminal_id, recorded_at, received_on,
              gaiji_flag, update_sequence, name_gaiji_revision, address_gaiji_revision,
              individual_number_key_id, individual_number_blind_index, name_key, address_key)
            SELECT g, lpad(g::text, 11, '0'), '見本 ' || g || '郎', 0, 'ミホン タロウ', date '1980-04-01', 1,
              '山口県下関市見本町' || g || '番', 0, sha256(g::text::bytea), '11', date '2025-04-01', 'ミホンタロウ',
              '352012', '0012', 'OP0001', 'CS-01', now(), current_date, false, 1, 0, 0, 'k1',
              sha256(g::text::bytea), '見本' || g || '郎', '山口県下関市見本町' || g || '番'
            FROM generate_series(1, %s) AS g
            """,
            [rows],
        )
        return rows / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--persons", type=int, default=5000)
    parser.add_argument("--changes", type=int, default=1, help="转居 notices per person after the entry")
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    receive_module.wake_intake_worker = lambda: None  # this process does the work; no Celery involved
    notices = stream(args.persons, args.changes, args.seed)
    rng = random.Random(args.seed)
    rng.shuffle(notices)  # arrival order need not be sequence order
    connection.ensure_connection()
    with CpuMeter() as receipt:
        for start in range(0, len(notices), 1000):
            notices_receive(municipality_code=SENDER, elements=notices[start : start + 1000], actor="system:bench")
    with CpuMeter() as processing:
        intake_process_pending(limit=args.batch_size)
    process_rate = len(notices) / processing.wall
    raw_rate = baseline(len(notices))
    print(f"notices: {len(notices)} ({args.persons} persons, {args.changes} changes each), shuffled")
    print(receipt.line("receipt (inbox insert):", len(notices)))
    print(processing.line("processing (apply path):", len(notices)))
    print(f"raw set-based baseline:  {raw_rate:10.0f} rows/s")
    print(f"ratio processing/baseline: {process_rate / raw_rate:.3f}")


if __name__ == "__main__":
    main()
