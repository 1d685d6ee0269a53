"""Idle lock (domain.md §10.2): after IDLE_LOCK_MINUTES without a request the session ends; resuming needs
password and a fresh OTP. API tokens have their own idle clock (audit.authentication)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from urllib.parse import urlencode

from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse

from audit.access import terminal_from_request
from jukinet import clock
from jukinet.config import setting_value

LAST_SEEN = "audit_last_seen"


class IdleLockMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            now = clock.now()
            last = request.session.get(LAST_SEEN)
            idle = dt.timedelta(minutes=int(setting_value("IDLE_LOCK_MINUTES")))
            if last and now - dt.datetime.fromisoformat(last) > idle:
                return self._lock(request)
            request.session[LAST_SEEN] = now.isoformat()
        return self.get_response(request)

    def _lock(self, request: HttpRequest) -> HttpResponse:
        from audit.authentication import operator_logout_record

        operator_logout_record(operator=request.user, terminal=terminal_from_request(request), idle=True)  # type: ignore[arg-type]
        logout(request)
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": "無操作のためロックされました。再度ログインしてください。"}, status=401)
        query = urlencode({"next": request.get_full_path(), "idle": "1"})
        return HttpResponseRedirect(f"{reverse('login')}?{query}")
