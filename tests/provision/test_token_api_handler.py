"""jukinet.wsgi: bearer requests to /api/ skip the browser-session middlewares; everything else does not."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction

from audit.authentication import api_token_issue
from audit.models import OperationKind, OperationLogEntry
from jukinet import wsgi
from provision.models import ProvisionRecord
from tests.provision.conftest import person, verified_client

pytestmark = pytest.mark.django_db

LOOKUP = "/api/v1/identity/lookup"


@pytest.fixture(autouse=True)
def _keep_the_test_connection() -> Iterator[None]:
    # As Django's test client does: the test's transaction must survive the handler's request signals.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def call(path: str, body: dict[str, Any], **headers: str) -> tuple[str, dict[str, str], bytes]:
    """One POST through jukinet.wsgi.application, as gunicorn calls it."""
    data = json.dumps(body).encode()
    environ = {
        "REQUEST_METHOD": "POST", "PATH_INFO": path, "SERVER_NAME": "testserver", "SERVER_PORT": "443",
        "REMOTE_ADDR": "127.0.0.1", "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(data)),
        "HTTP_HOST": "testserver", "wsgi.input": io.BytesIO(data), "wsgi.url_scheme": "https",
        "wsgi.errors": sys.stderr, "wsgi.version": (1, 0), "wsgi.multithread": True, "wsgi.multiprocess": True,
        "wsgi.run_once": False, "SERVER_PROTOCOL": "HTTP/1.1", **headers,
    }  # fmt: skip
    answer: dict[str, Any] = {}

    def start_response(status: str, response_headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        answer["status"], answer["headers"] = status, response_headers

    chunks = wsgi.application(environ, start_response)
    content = b"".join(chunks)
    getattr(chunks, "close", lambda: None)()
    return answer["status"], {k.lower(): v for k, v in answer["headers"]}, content


def test_only_bearer_requests_to_the_api_take_the_token_chain() -> None:
    assert wsgi.is_token_api_request({"PATH_INFO": "/api/v1/identity/lookup", "HTTP_AUTHORIZATION": "Bearer x"})
    assert wsgi.is_token_api_request({"PATH_INFO": "/api/v1/furyo/lookup", "HTTP_AUTHORIZATION": "bearer x"})
    assert not wsgi.is_token_api_request({"PATH_INFO": "/api/v1/identity/lookup"})  # a session call
    assert not wsgi.is_token_api_request({"PATH_INFO": "/api/v1/identity/lookup", "HTTP_AUTHORIZATION": "Basic x"})
    assert not wsgi.is_token_api_request({"PATH_INFO": "/staff/search", "HTTP_AUTHORIZATION": "Bearer x"})


def test_the_token_chain_is_the_header_middlewares_in_settings_order() -> None:
    chain = []
    handler: Any = wsgi.token_api_application._middleware_chain
    while hasattr(handler, "__wrapped__") or hasattr(handler, "get_response"):
        handler = getattr(handler, "__wrapped__", handler)
        if not hasattr(handler, "get_response"):
            break
        chain.append(f"{type(handler).__module__}.{type(handler).__name__}")
        handler = handler.get_response

    assert chain == [m for m in settings.MIDDLEWARE if m in wsgi.TOKEN_API_MIDDLEWARE]
    assert "django.contrib.sessions.middleware.SessionMiddleware" not in chain


def test_a_bearer_lookup_is_answered_with_its_record_entry_and_security_headers(body_operator, body_terminal):
    # given a §9.6 token
    someone, code, _ = person()
    with transaction.atomic():
        token, _ = api_token_issue(operator=body_operator, terminal=body_terminal)
    # when
    status, headers, content = call(
        LOOKUP, {"affair": "S6-EDU-01", "conditions": {"resident_code": code}},
        HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_X_TERMINAL_KEY="edu-terminal-key",
    )  # fmt: skip
    # then: released, recorded and logged as on the full chain; headers of the kept middlewares; no cookie
    body = json.loads(content)
    assert status.startswith("200") and body["result"] == "released"
    assert ProvisionRecord.objects.get(pk=body["provision_record"]).subjects == [someone.pk]
    assert OperationLogEntry.objects.filter(kind=OperationKind.PROVISION, operator=body_operator).exists()
    assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"
    assert headers["cache-control"] == "no-store"
    assert "set-cookie" not in headers


def test_a_bad_bearer_token_is_401_and_logged_without_a_record(body_operator, body_terminal):
    _, code, _ = person()
    before = OperationLogEntry.objects.count()

    status, _, _ = call(
        LOOKUP, {"affair": "S6-EDU-01", "conditions": {"resident_code": code}},
        HTTP_AUTHORIZATION="Bearer not-a-token", HTTP_X_TERMINAL_KEY="edu-terminal-key",
    )  # fmt: skip

    assert status.startswith("401")
    assert OperationLogEntry.objects.count() == before + 1
    assert not ProvisionRecord.objects.exists()


def test_a_session_api_call_still_goes_through_the_session_middlewares(body_operator, body_terminal):
    # given an OTP-verified browser session (no bearer header)
    _, code, _ = person()
    client = verified_client(body_operator, "edu-terminal-key")
    session = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    csrf = "k" * 32  # a CSRF secret of the right length; the cookie and the header must agree
    body = {"affair": "S6-EDU-01", "conditions": {"resident_code": code}}
    # when: without and with the CSRF token a session call needs
    refused, _, _ = call(LOOKUP, body, HTTP_COOKIE=session, HTTP_X_TERMINAL_KEY="edu-terminal-key")
    status, _, content = call(
        LOOKUP, body, HTTP_COOKIE=f"{session}; {settings.CSRF_COOKIE_NAME}={csrf}", HTTP_X_CSRFTOKEN=csrf,
        HTTP_ORIGIN="https://testserver", HTTP_X_TERMINAL_KEY="edu-terminal-key",
    )  # fmt: skip
    # then: CSRF was enforced and the session authenticated it (the token chain has neither)
    assert refused.startswith("403")
    assert status.startswith("200") and json.loads(content)["result"] == "released"
