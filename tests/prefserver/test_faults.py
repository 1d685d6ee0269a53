"""Small fault run with real processes: one SIGKILL of a worker, one Redis restart, one PostgreSQL crash-restart.

Runs bench/faults.py in a subprocess: its own PostgreSQL cluster (initdb under a temporary folder) and Redis
on free ports, never the shared ones; real Celery workers and beat; the national simulator process.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.faults
def test_no_notice_lost_or_applied_twice_and_each_change_pushed_once_under_faults() -> None:
    # given / when: 2,000 valid notices while a worker is killed, Redis and PostgreSQL restart
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "faults.py"), "--notices", "2000", "--kills", "1",
         "--redis-restarts", "1", "--pg-restarts", "1", "--timeout", "240", "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert run.returncode in (0, 1), run.stderr[-3000:]
    report = json.loads(run.stdout.strip().splitlines()[-1])
    # then
    assert [event["fault"] for event in report["faults"]] == ["kill", "redis", "postgres"]
    assert report["applied_equals_sent"] and report["stored"] == report["sent"] == 2000
    assert report["versions"] == 2000 and report["notices_with_more_than_one_version"] == 0
    assert report["outbox_one_row_per_version"] and report["outbox_sent"] == report["outbox_rows"]
    assert report["national_accepted"] == report["outbox_rows"] == report["national_keys_received"]
    assert report["national_rejected"] == 0 and report["national_sequence_mismatches"] == 0
    assert report["ok"]
