"""schemathesis against the OpenAPI schema, in process through the WSGI app: no answer is a 5xx."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from tests.provision.conftest import person, verified_client

CSRF = "a" * 32
APP = get_wsgi_application()
# The schema endpoint needs no database; loading it here lets schemathesis parametrize at collection.
schema = schemathesis.openapi.from_wsgi("/api/schema/", APP)


@pytest.fixture
def auth(db, body_operator, body_terminal, settings):
    settings.API_THROTTLE_RATE = "10000/s"
    # As Django's test client does: the WSGI handler must not close the test's connection (and transaction).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    person()
    client = verified_client(body_operator)
    yield {
        "headers": {"X-Terminal-Key": "edu-terminal-key", "X-CSRFToken": CSRF},
        "cookies": {"sessionid": client.cookies["sessionid"].value, "csrftoken": CSRF},
    }
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@schema.parametrize()
@hypothesis_settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case, auth):
    response = case.call(headers={**(case.headers or {}), **auth["headers"]}, cookies=auth["cookies"])
    assert response.status_code < 500, response.text[:200]
