"""Intake processing with several worker processes on one inbox (SKIP LOCKED claims, advisory locks).

Stores a shuffled stream, then runs N processes of `intake_process_pending` at once and checks the outcome:
every notice applied exactly once, one version and one outbox row each. Prints the processing rate and, in
the same run, the raw set-based baseline of bench/intake_apply.py with the ratio.

Usage: DATABASE_URL=postgresql://…/scratch python bench/intake_parallel.py --persons 10000 --workers 2
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import intake_apply
from django.db import connection

from prefserver.intake import receive as receive_module
from prefserver.intake.process import BATCH_SIZE, intake_process_pending
from prefserver.intake.receive import notices_receive
from prefserver.models import IdentityVersion, Notice, PushOutbox


def work(batch_size: int) -> None:
    connection.close()  # a fresh connection per process
    intake_process_pending(limit=batch_size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--persons", type=int, default=10000)
    parser.add_argument("--changes", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    parser.add_argument("--seed", type=int, default=random.randrange(10**6))
    args = parser.parse_args()
    receive_module.wake_intake_worker = lambda: None
    notices = intake_apply.stream(args.persons, args.changes, args.seed)
    random.Random(args.seed).shuffle(notices)
    first_id = (Notice.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    for start in range(0, len(notices), 1000):
        notices_receive(
            municipality_code=intake_apply.SENDER, elements=notices[start : start + 1000], actor="system:bench"
        )
    connection.close()
    started = time.perf_counter()
    processes = [multiprocessing.Process(target=work, args=(args.batch_size,)) for _ in range(args.workers)]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    elapsed = time.perf_counter() - started
    mine = Notice.objects.filter(id__gte=first_id)
    statuses = dict(mine.values_list("status").annotate(n=__import__("django").db.models.Count("id")))
    versions = IdentityVersion.objects.filter(source_notice_id__gte=first_id).count()
    pushes = PushOutbox.objects.filter(version_id__in=IdentityVersion.objects.filter(
        source_notice_id__gte=first_id).values("id")).count()  # fmt: skip
    raw_rate = intake_apply.baseline(len(notices))
    rate = len(notices) / elapsed
    print(f"notices: {len(notices)}; workers: {args.workers}; statuses: {statuses}")
    print(f"versions written: {versions}; outbox rows: {pushes} (expected {len(notices)} each)")
    print(f"processing: {rate:10.0f} notices/s")
    print(f"raw set-based baseline: {raw_rate:10.0f} rows/s; ratio {rate / raw_rate:.3f}")
    if not (statuses == {"applied": len(notices)} and versions == pushes == len(notices)):
        sys.exit("MISMATCH")


if __name__ == "__main__":
    main()
