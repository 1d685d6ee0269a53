"""Two transactions creating the same year partition at once (jukinet.partitions.ensure_partitions): two intake
workers starting on a fresh database, or at a new year, both find it missing. Transactional test."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction

from jukinet.partitions import ensure_partitions, existing_partition_years

# Requested by name so that conftest drops the year partitions the test commits.
pytestmark = pytest.mark.usefixtures("transactional_db")


@pytest.mark.parametrize("table", ["prefserver_identity_version", "furyo_version"])
def test_a_partition_created_meanwhile_by_another_transaction_is_not_created_again(table: str) -> None:
    year = 2190
    created, release = threading.Event(), threading.Event()
    results: dict[str, list[int]] = {}
    errors: list[BaseException] = []

    def first() -> None:
        # given a transaction that has created the partition and not yet committed
        try:
            with transaction.atomic():
                results["first"] = ensure_partitions(table, {year})
                created.set()
                release.wait(timeout=20)
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            created.set()
            connection.close()

    def second() -> None:
        # when another one, which does not see it yet, ensures the same year
        try:
            with transaction.atomic():
                results["second"] = ensure_partitions(table, {year})
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=first)]
    threads[0].start()
    assert created.wait(timeout=20)
    threads.append(threading.Thread(target=second))
    threads[1].start()
    time.sleep(0.5)  # the second transaction is now waiting for the first
    release.set()
    for thread in threads:
        thread.join(timeout=30)
    # then it waits for the first, finds the partition and creates nothing (no "already exists")
    assert errors == []
    assert results == {"first": [year], "second": []}
    assert year in existing_partition_years(table)
