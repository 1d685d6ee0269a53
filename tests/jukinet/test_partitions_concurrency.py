"""Two transactions creating the same year partition at once (jukinet.partitions.ensure_partitions): two intake
workers starting on a fresh database, or at a new year, both find it missing. Transactional test."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import transaction

from jukinet.partitions import ensure_partitions, existing_partition_years
from tests.threads import run_in_threads

# Requested by name so that conftest drops the year partitions the test commits.
pytestmark = pytest.mark.usefixtures("transactional_db")


@pytest.mark.parametrize("table", ["prefserver_identity_version", "furyo_version"])
def test_a_partition_created_meanwhile_by_another_transaction_is_not_created_again(table: str) -> None:
    year = 2190
    created, release = threading.Event(), threading.Event()
    results: dict[str, list[int]] = {}

    def first() -> None:
        # given a transaction that has created the partition and not yet committed
        try:
            with transaction.atomic():
                results["first"] = ensure_partitions(table, {year})
                created.set()
                release.wait(timeout=20)
        finally:
            created.set()

    def second() -> None:
        # when another one, which does not see it yet, ensures the same year
        assert created.wait(timeout=20)
        with transaction.atomic():
            results["second"] = ensure_partitions(table, {year})

    def releaser() -> None:
        assert created.wait(timeout=20)
        time.sleep(0.5)  # the second transaction is now waiting for the first
        release.set()

    errors = run_in_threads(first, second, releaser)
    # then it waits for the first, finds the partition and creates nothing (no "already exists")
    assert errors == []
    assert results == {"first": [year], "second": []}
    assert year in existing_partition_years(table)
