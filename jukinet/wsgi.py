"""WSGI entry point. Requests to the REST API that carry a bearer token skip the browser-session middleware.

A §9.6 bearer request (`Authorization: Bearer …` on `/api/`) is authenticated by its token and terminal
credential alone (audit.authentication.OperatorTokenAuthentication): it never uses a session, a CSRF cookie,
the session's idle lock (the token has its own idle clock) or flash messages. Those middlewares cost every
lookup about 8 % of its Python instructions (valgrind, bench/profile_lookup.py), so such requests go through a
handler whose chain keeps only the response-header middlewares of settings.MIDDLEWARE (security, common,
clickjacking), in the same order. Every other request, a session-authenticated API call included, goes through
the full chain.
"""

import os
from collections.abc import Callable, Iterable
from typing import Any

from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler
from django.core.wsgi import get_wsgi_application
from django.utils.module_loading import import_string

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jukinet.settings.base")

# Middlewares that only set response headers or normalise URLs; the rest need a browser session.
TOKEN_API_MIDDLEWARE = frozenset(
    {
        "django.middleware.security.SecurityMiddleware",
        "django.middleware.common.CommonMiddleware",
        "django.middleware.clickjacking.XFrameOptionsMiddleware",
    }
)


class TokenAPIHandler(WSGIHandler):
    """WSGIHandler whose middleware chain is settings.MIDDLEWARE without the session-only middlewares."""

    def load_middleware(self, is_async: bool = False) -> None:
        from django.conf import settings

        # Django's own loop (BaseHandler.load_middleware), for the synchronous middlewares this project uses.
        self._view_middleware: list[Callable[..., Any]] = []
        self._template_response_middleware: list[Callable[..., Any]] = []
        self._exception_middleware: list[Callable[..., Any]] = []
        handler = convert_exception_to_response(self._get_response)  # type: ignore[attr-defined]
        for path in reversed(settings.MIDDLEWARE):
            if path not in TOKEN_API_MIDDLEWARE:
                continue
            instance = import_string(path)(handler)
            if hasattr(instance, "process_view"):
                self._view_middleware.insert(0, instance.process_view)
            if hasattr(instance, "process_template_response"):
                self._template_response_middleware.append(instance.process_template_response)
            if hasattr(instance, "process_exception"):
                self._exception_middleware.append(instance.process_exception)
            handler = convert_exception_to_response(instance)
        self._middleware_chain = handler


def is_token_api_request(environ: dict[str, Any]) -> bool:
    """`/api/…` with `Authorization: Bearer …` (the keyword case-insensitive, as DRF reads it)."""
    return environ.get("PATH_INFO", "").startswith("/api/") and (
        environ.get("HTTP_AUTHORIZATION", "")[:7].lower() == "bearer "
    )


full_application = get_wsgi_application()
token_api_application = TokenAPIHandler()


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    if is_token_api_request(environ):
        return token_api_application(environ, start_response)
    return full_application(environ, start_response)
