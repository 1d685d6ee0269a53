"""View decorators for personal-data screens (domain.md §10.2): verified login, no-store, access checks."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers

from audit.access import is_verified, log_audit_allowed, require_personal_data_access
from audit.models import Terminal
from jukinet.models import ResultCode

View = Callable[..., HttpResponse]


def no_store(response: HttpResponse) -> HttpResponse:
    """`Cache-Control: no-store` (and friends): nothing with personal data stays on a terminal."""
    add_never_cache_headers(response)
    return response


def refusal_response(request: HttpRequest, code: str) -> HttpResponse:
    """The Japanese refusal page for a Q code (§19), with its HTTP status."""
    result = ResultCode.objects.filter(code=code).first()
    message = result.message if result else "この操作は利用できません。"
    status = result.http_status if result and result.http_status else 403
    return no_store(render(request, "audit/refused.html", {"code": code, "message": message}, status=status))


def _to_login(request: HttpRequest) -> HttpResponse:
    """Personal-data screens without a verified login: logged (domain.md §9.2), then the login page."""
    from audit.authentication import unauthenticated_call_record

    unauthenticated_call_record(request=request, channel="screen")
    return redirect_to_login(request.get_full_path())


def verified_login_required(view: View) -> View:
    """OTP-verified login (every login here is password + TOTP), else back to the login page."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not is_verified(request):
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return wrapped


def personal_data_view(capability: str = Terminal.Capability.SEARCH) -> Callable[[View], View]:
    """For screens showing personal data: verified login, role, terminal (Q09), usage approval (Q10), and
    `Cache-Control: no-store`. The view gets `request.personal_data_access` (terminal, usage approval).

    Views that must record a refusal themselves (provision records) call
    `audit.access.require_personal_data_access` directly instead.
    """

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not is_verified(request):
                return _to_login(request)
            try:
                access = require_personal_data_access(request, capability=capability)
            except PermissionDenied:
                return no_store(render(request, "audit/forbidden.html", status=403))
            if access.refusal:
                return refusal_response(request, access.refusal)
            request.personal_data_access = access  # type: ignore[attr-defined]
            return no_store(view(request, *args, **kwargs))

        return wrapped

    return decorate


def audit_view(view: View) -> View:
    """Audit pages: verified auditor on a representative terminal with `log_audit` (§10.2), no-store."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not is_verified(request):
            return _to_login(request)
        if not log_audit_allowed(request):
            return no_store(render(request, "audit/forbidden.html", status=403))
        return no_store(view(request, *args, **kwargs))

    return wrapped


def role_required(*roles: str) -> Callable[[View], View]:
    """Screens without personal data (approvals, ledgers): verified login and one of `roles`."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not is_verified(request):
                return redirect_to_login(request.get_full_path())
            if not set(getattr(request.user, "roles", ())) & set(roles):
                return render(request, "audit/forbidden.html", status=403)
            return view(request, *args, **kwargs)

        return wrapped

    return decorate
