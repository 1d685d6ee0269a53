"""Shared fixtures. Tests run against the real PostgreSQL and Redis started by `make test`."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):  # type: ignore[no-untyped-def]
    """Reference data (municipalities, code tables) is loaded once per test database."""
    from jukinet.reference import reference_data_load

    with django_db_blocker.unblock():
        reference_data_load()
