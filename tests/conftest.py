"""Shared fixtures. Tests run against the real PostgreSQL and Redis started by `make test`."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):  # type: ignore[no-untyped-def]
    """Reference data (municipalities, code tables) is loaded once per test database."""
    from jukinet.reference import reference_data_load

    with django_db_blocker.unblock():
        reference_data_load()


VERSION_TABLES = ("prefserver_identity_version", "furyo_version")


@pytest.fixture(autouse=True)
def _empty_version_tables_after_transactional_tests(request, django_db_blocker):  # type: ignore[no-untyped-def]
    """Transactional tests commit; Django's flush skips the unmanaged, append-only version tables.

    Set up before `transactional_db`, so this runs after its flush. Replica mode skips the append-only
    triggers (superuser only: the test role is one); production never does this.
    """
    yield
    marker = request.node.get_closest_marker("django_db")
    marked = marker is not None and marker.kwargs.get("transaction", False)
    if not marked and "transactional_db" not in request.fixturenames and "live_server" not in request.fixturenames:
        return
    from django.db import connection

    # By now transactional_db's teardown has blocked database access again.
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        cursor.execute(f"TRUNCATE {', '.join(VERSION_TABLES)}")
        cursor.execute("SET session_replication_role = DEFAULT")
