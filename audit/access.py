"""The only door to personal-data screens and APIs (domain.md §10): login, role, terminal, usage approval.

Other apps call `require_personal_data_access(request, capability=...)` first in every personal-data view or
API, then check `access.refusal` (None, "Q09" or "Q10") in the §9.2 order and link `access.usage_approval`
to what they record.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from audit.models import Affair, ApiToken, Operator, Role, Terminal, UsageApproval
from jukinet import clock
from jukinet.config import setting_value

TERMINAL_HEADER = "HTTP_X_TERMINAL_KEY"
FINGERPRINT_HEADER = "HTTP_X_CLIENT_CERT_FINGERPRINT"
ENROLMENT_COOKIE = "jukinet_terminal"
ENROLMENT_SALT = "audit.terminal.enrolment"

# Roles that may open personal data, per terminal capability. The contractor is in none, and holding the
# contractor role removes every other right to personal data (seeds/002_b6d1246946737152.txt:702-703).
CAPABILITY_ROLES: dict[str, set[str]] = {
    Terminal.Capability.SEARCH: {Role.CLERK, Role.BODY_OPERATOR, Role.DEPARTMENT_OPERATOR},
    Terminal.Capability.PROVIDE: {Role.CLERK, Role.BODY_OPERATOR, Role.DEPARTMENT_OPERATOR},
    Terminal.Capability.MEDIA_EXPORT: {Role.CLERK},
    Terminal.Capability.PRINT: {Role.CLERK},
    Terminal.Capability.LOG_AUDIT: {Role.AUDITOR},
}


class NotVerified(PermissionDenied):
    """No OTP-verified login: screens redirect to the login, APIs answer 401 (domain.md §9.2, §17 #31)."""


def credential_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def may_see_personal_data(operator: Operator | Any, capability: str = Terminal.Capability.SEARCH) -> bool:
    """Role rule, enforced in code: a contractor never, whatever else they hold."""
    roles = set(getattr(operator, "roles", ()) or ())
    if Role.CONTRACTOR in roles:
        return False
    return bool(roles & CAPABILITY_ROLES.get(capability, set()))


def terminal_enrolment_value(terminal: Terminal) -> str:
    """Signed cookie value for a browser enrolled as `terminal`; re-keying the terminal voids it."""
    return signing.dumps({"t": terminal.pk, "h": terminal.credential_hash[:16]}, salt=ENROLMENT_SALT)


def terminal_from_request(request: HttpRequest) -> Terminal | None:
    """The registered terminal of a request: client-certificate fingerprint from a trusted proxy, the
    X-Terminal-Key header (dev/test), or the browser's signed enrolment cookie."""
    cached = getattr(request, "_audit_terminal", False)
    if cached is not False:
        return cached  # type: ignore[no-any-return,return-value]
    terminal = _terminal_lookup(request)
    request._audit_terminal = terminal  # type: ignore[attr-defined]
    return terminal


def terminal_credential_hash(request: HttpRequest) -> str | None:
    """The credential hash a request presents in a header (trusted proxy's certificate fingerprint, or the
    X-Terminal-Key), or None (enrolment cookie or nothing): lets the token check find the terminal in the same
    statement (audit.authentication)."""
    fingerprint = request.META.get(FINGERPRINT_HEADER)
    if fingerprint and request.META.get("REMOTE_ADDR") in settings.TRUSTED_PROXY_IPS:
        return credential_hash(fingerprint.lower())
    key = request.META.get(TERMINAL_HEADER)
    return credential_hash(key) if key else None


def terminal_remember(request: HttpRequest, terminal: Terminal | None) -> None:
    """Cache the request's terminal (found by another statement) for `terminal_from_request`."""
    target = getattr(request, "_request", request)  # a DRF Request proxies attribute reads to its HttpRequest
    target._audit_terminal = terminal  # type: ignore[union-attr]


def _terminal_lookup(request: HttpRequest) -> Terminal | None:
    fingerprint = request.META.get(FINGERPRINT_HEADER)
    if fingerprint and request.META.get("REMOTE_ADDR") in settings.TRUSTED_PROXY_IPS:
        return Terminal.objects.filter(credential_hash=credential_hash(fingerprint.lower()), is_active=True).first()
    key = request.META.get(TERMINAL_HEADER)
    if key:
        return Terminal.objects.filter(credential_hash=credential_hash(key), is_active=True).first()
    cookie = request.COOKIES.get(ENROLMENT_COOKIE)
    if cookie:
        try:
            value = signing.loads(cookie, salt=ENROLMENT_SALT)
        except signing.BadSignature:
            return None
        terminal = Terminal.objects.filter(pk=value.get("t"), is_active=True).first()
        if terminal and terminal.credential_hash[:16] == value.get("h"):
            return terminal
    return None


def usage_approval_valid(
    *, operator: Operator, terminal: Terminal | None = None, at: dt.datetime | None = None
) -> UsageApproval | None:
    """Today's approved 使用伺い in force at `at` (valid until 24:00 Asia/Tokyo of its day)."""
    moment = at or clock.now()
    approvals = UsageApproval.objects.filter(
        operator=operator,
        status=UsageApproval.Status.APPROVED,
        approved_at__lte=moment,
        valid_until__gt=moment,
        valid_until__lte=clock.end_of_day(clock.local_date(moment)),  # implied (end of its day); for the index
    )
    if terminal is not None:
        approvals = approvals.filter(terminal=terminal)
    return approvals.order_by("-approved_at").first()


@dataclass(frozen=True)
class PersonalDataAccess:
    operator: Operator
    terminal: Terminal | None
    usage_approval: UsageApproval | None
    refusal: str | None  # None, "Q09" (terminal) or "Q10" (usage approval)

    @property
    def allowed(self) -> bool:
        return self.refusal is None


def is_verified(request: HttpRequest) -> bool:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return False
    if isinstance(getattr(request, "auth", None), ApiToken):
        return True  # the token was issued against password + OTP (domain.md §9.6)
    verified = getattr(user, "is_verified", None)
    return bool(verified and verified())


def require_personal_data_access(
    request: HttpRequest, *, capability: str = Terminal.Capability.SEARCH, affair: Affair | None = None
) -> PersonalDataAccess:
    """Check, in the §9.2 order: OTP-verified login (else `NotVerified`), role (else `PermissionDenied`),
    registered terminal with the capability (Q09), today's usage approval on that terminal covering the
    affair when the approval names affairs (Q10). Writes nothing: the caller records the refusal."""
    if not is_verified(request):
        raise NotVerified("OTP-verified login required")
    operator: Operator = request.user  # type: ignore[assignment]
    if not may_see_personal_data(operator, capability):
        raise PermissionDenied("role does not allow personal data")
    terminal = terminal_from_request(request)
    if terminal is None or not terminal.can(capability):
        return PersonalDataAccess(operator=operator, terminal=terminal, usage_approval=None, refusal="Q09")
    approval = usage_approval_valid(operator=operator, terminal=terminal)
    if approval is None or (affair is not None and not _covers(approval, affair)):
        return PersonalDataAccess(operator=operator, terminal=terminal, usage_approval=approval, refusal="Q10")
    return PersonalDataAccess(operator=operator, terminal=terminal, usage_approval=approval, refusal=None)


def _covers(approval: UsageApproval, affair: Affair) -> bool:
    codes = set(approval.affairs.values_list("code", flat=True))
    return not codes or affair.code in codes


def log_audit_allowed(request: HttpRequest) -> bool:
    """Audit pages: a verified auditor on a log_audit terminal of a LOG_AUDIT_TERMINAL_KINDS kind."""
    if not is_verified(request) or not may_see_personal_data(request.user, Terminal.Capability.LOG_AUDIT):
        return False
    terminal = terminal_from_request(request)
    kinds = setting_value("LOG_AUDIT_TERMINAL_KINDS")
    return terminal is not None and terminal.can(Terminal.Capability.LOG_AUDIT) and terminal.kind in kinds
