"""Provision's view of the audit app's access checks (domain.md §10): one small interface, audit's functions.

Selectors take an operator and a terminal (not a request) so that screens, the API and bulk jobs share them;
these wrappers keep that shape.
"""

from __future__ import annotations

from django.http import HttpRequest

from audit import access as audit_access
from audit.models import Operator, Terminal, UsageApproval

credential_hash = audit_access.credential_hash
may_see_personal_data = audit_access.may_see_personal_data
is_verified = audit_access.is_verified


def terminal_for_request(request: HttpRequest) -> Terminal | None:
    """The registered, active terminal the request comes from, or None (→ Q09)."""
    return audit_access.terminal_from_request(request)


def otp_verified(user: object) -> bool:
    """An OTP-verified session login (django-otp); every personal-data screen and API needs one (§10.2)."""
    is_verified_method = getattr(user, "is_verified", None)
    return bool(getattr(user, "is_authenticated", False) and callable(is_verified_method) and is_verified_method())


def usage_approval(*, operator: Operator, terminal: Terminal) -> UsageApproval | None:
    """Today's approved 使用伺い (§10.4) for operator and terminal, or None (→ Q10)."""
    return audit_access.usage_approval_valid(operator=operator, terminal=terminal)
