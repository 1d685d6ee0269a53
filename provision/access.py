"""Local interface to the audit app's access checks (domain.md §10), used by every provision door.

The audit branch is adding browser enrolment, usage approvals (使用伺い) and the §9.6 token; until those land
these functions carry the interim behaviour, and each says what it will call instead.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from django.http import HttpRequest

from audit.models import Operator, Terminal

TERMINAL_HEADER = "HTTP_X_TERMINAL_KEY"
# A browser's enrolment cookie, signed by the server (domain.md §10.2); value: the terminal's id.
TERMINAL_COOKIE = "jukinet_terminal"
TERMINAL_COOKIE_SALT = "jukinet.terminal"


def credential_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def terminal_for_request(request: HttpRequest) -> Terminal | None:
    """The registered, active terminal the request comes from, or None (→ Q09).

    X-Terminal-Key (dev/test credential, stored hashed) first, then the browser's signed enrolment cookie.
    """
    key = request.META.get(TERMINAL_HEADER)
    if key:
        return Terminal.objects.filter(credential_hash=credential_hash(key), is_active=True).first()
    terminal_id = request.get_signed_cookie(TERMINAL_COOKIE, default=None, salt=TERMINAL_COOKIE_SALT)
    if terminal_id and str(terminal_id).isdigit():
        return Terminal.objects.filter(pk=int(terminal_id), is_active=True).first()
    return None


def otp_verified(user: object) -> bool:
    """An OTP-verified login (django-otp); every personal-data screen and API needs one (§10.2)."""
    is_verified = getattr(user, "is_verified", None)
    return bool(getattr(user, "is_authenticated", False) and callable(is_verified) and is_verified())


def usage_approval_valid(*, operator: Operator, terminal: Terminal, on: dt.date) -> bool:
    """Today's usage approval (使用伺い, §10.4) for operator and terminal (→ Q10 when False).

    Interim: the audit branch's usage-approval model has not landed, so every operator counts as approved.
    Point this at audit's check when it lands.
    """
    return True
