"""A real national server process per test module, on a free loopback port, with its own PKI and data."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from national.testing import RunningServer, running_server
from prefserver.national_client import NationalClient
from tests.national.factories import client_for


@pytest.fixture(scope="module")
def national(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("national"), "--seed-population", "1000") as server:
        yield server


@pytest.fixture
def client(national: RunningServer) -> Iterator[NationalClient]:
    c = client_for(national)
    yield c
    c.set_faults(mode="none")
    c.close()
