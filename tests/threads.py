"""Running database work on several connections at once (transactional tests of locking and concurrency)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connection


def run_in_threads(*targets: Callable[[], object]) -> list[BaseException]:
    """Run each target in its own thread (so on its own database connection), wait for all, and return what
    they raised: a failure in a thread is surfaced to the test instead of being lost."""
    errors: list[BaseException] = []

    def wrap(target: Callable[[], object]) -> Callable[[], None]:
        def run() -> None:
            try:
                target()
            except BaseException as exc:  # surfaced to the test
                errors.append(exc)
            finally:
                connection.close()

        return run

    threads = [threading.Thread(target=wrap(t)) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return errors
