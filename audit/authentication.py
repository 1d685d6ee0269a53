"""Login with password + TOTP, lockout, unlock, API tokens (domain.md §9.6, §10.2).

Every attempt, failures included, writes its operation-log entry in a transaction that commits.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any

import django_otp
from django.conf import settings
from django.db import transaction
from django.db.models.base import ModelState
from django.http import HttpRequest
from django_otp.models import Device
from rest_framework import authentication, exceptions, throttling

from audit.access import terminal_credential_hash, terminal_from_request, terminal_remember, usage_approval_valid
from audit.models import ApiToken, Office, OperationKind, Operator, Role, Terminal
from audit.services import operation_log_record
from jukinet import clock
from jukinet.config import DEFAULTS, setting_value
from jukinet.db import loaded, prepared_cursor

FAILED_MESSAGE = "操作者ID、パスワードまたはワンタイムパスワードが正しくありません。"
LOCKED_MESSAGE = "アカウントがロックされています。管理者にロックの解除を依頼してください。"
_SAFE_USERNAME = re.compile(r"^[A-Za-z0-9_.@+-]{1,40}$")


class ApplicationError(Exception):
    """A refused request, with a Japanese message for the user."""


@dataclass
class LoginResult:
    operator: Operator | None
    device: Device | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.error is None


def _attempted_username(username: str) -> str:
    # Only a well-formed operator id is kept; anything else (possibly typed personal data) is not.
    if _SAFE_USERNAME.match(username) and not re.fullmatch(r"\d{11,12}", username):
        return username
    return "(invalid)"


@transaction.atomic
def operator_login_check(*, username: str, password: str, otp: str, terminal: Terminal | None = None) -> LoginResult:
    """Password, then OTP. Consecutive failures lock the account at LOGIN_LOCKOUT_ATTEMPTS (§10.2)."""
    operator = Operator.objects.select_for_update().filter(username=username, is_active=True).first()
    if operator is None:
        operation_log_record(
            actor="anonymous:login",
            kind=OperationKind.LOGIN_FAILED,
            terminal=terminal,
            outcome="failed",
            conditions={"username": _attempted_username(username), "reason": "unknown"},
        )
        return LoginResult(None, None, FAILED_MESSAGE)
    if operator.locked_at is not None:
        operation_log_record(
            actor=operator,
            kind=OperationKind.LOGIN_FAILED,
            terminal=terminal,
            outcome="failed",
            conditions={"reason": "locked"},
        )
        return LoginResult(operator, None, LOCKED_MESSAGE)
    if not operator.check_password(password):
        return _login_failed(operator, terminal, OperationKind.LOGIN_FAILED, "password")
    device = django_otp.match_token(operator, otp.strip()) if otp else None
    if device is None:
        return _login_failed(operator, terminal, OperationKind.OTP_FAILED, "otp")
    operator.failed_login_count = 0
    operator.last_login = clock.now()
    operator.save(update_fields=["failed_login_count", "last_login"])
    operation_log_record(actor=operator, kind=OperationKind.LOGIN, terminal=terminal)
    return LoginResult(operator, device, None)


def _login_failed(operator: Operator, terminal: Terminal | None, kind: OperationKind, reason: str) -> LoginResult:
    operator.failed_login_count += 1
    limit = int(setting_value("LOGIN_LOCKOUT_ATTEMPTS"))
    locked = operator.failed_login_count >= limit
    if locked:
        operator.locked_at = clock.now()
    operator.save(update_fields=["failed_login_count", "locked_at"])
    operation_log_record(
        actor=operator,
        kind=kind,
        terminal=terminal,
        outcome="failed",
        conditions={"reason": reason, "consecutive": operator.failed_login_count},
    )
    if locked:
        operation_log_record(
            actor=operator,
            kind=OperationKind.ACCOUNT_LOCKED,
            terminal=terminal,
            conditions={"attempts": limit},
        )
        return LoginResult(operator, None, LOCKED_MESSAGE)
    return LoginResult(operator, None, FAILED_MESSAGE)


@transaction.atomic
def operator_unlock(*, operator: Operator, administrator: Operator) -> Operator:
    """Only an administrator, never for their own account (domain.md §10.1)."""
    if not administrator.has_role(Role.ADMINISTRATOR) or administrator.has_role(Role.CONTRACTOR):
        raise ApplicationError("ロックの解除は管理者のみ行えます。")
    if administrator.pk == operator.pk:
        raise ApplicationError("自分のアカウントのロックは解除できません。")
    operator.locked_at = None
    operator.failed_login_count = 0
    operator.save(update_fields=["locked_at", "failed_login_count"])
    operation_log_record(actor=administrator, kind=OperationKind.ACCOUNT_UNLOCKED, targets=[operator])
    return operator


@transaction.atomic
def operator_logout_record(*, operator: Operator, terminal: Terminal | None, idle: bool = False) -> None:
    kind = OperationKind.IDLE_LOCKED if idle else OperationKind.LOGOUT
    operation_log_record(actor=operator, kind=kind, terminal=terminal)


@transaction.atomic
def unauthenticated_call_record(*, request: HttpRequest, channel: str = "api") -> None:
    """401 answers are logged too (domain.md §11): path only, never the body."""
    kinds = {
        "cs": OperationKind.UNAUTHENTICATED_CS_CALL,
        "screen": OperationKind.UNAUTHENTICATED_SCREEN_ACCESS,
    }
    kind = kinds.get(channel, OperationKind.UNAUTHENTICATED_API_CALL)
    operation_log_record(
        actor=f"anonymous:{channel}",
        kind=kind,
        terminal=terminal_from_request(request),
        outcome="failed",
        # Long digit runs (a code or number typed into a URL) are not kept.
        conditions={"path": re.sub(r"[0-9０-９]{11,}", "*", request.path)[:200], "method": request.method or ""},
    )


# --- REST tokens (domain.md §9.6) --------------------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def api_token_issue(*, operator: Operator, terminal: Terminal) -> tuple[str, ApiToken]:
    """A token bound to operator and terminal; expires at 24:00 of today's usage approval (or today)."""
    now = clock.now()
    approval = usage_approval_valid(operator=operator, terminal=terminal, at=now)
    day_end = clock.end_of_day(clock.local_date(now))
    expires_at = min(day_end, approval.valid_until) if approval and approval.valid_until else day_end
    token = secrets.token_urlsafe(32)
    record = ApiToken.objects.create(
        key_hash=_token_hash(token),
        operator=operator,
        terminal=terminal,
        created_at=now,
        last_used_at=now,
        expires_at=expires_at,
    )
    operation_log_record(actor=operator, kind=OperationKind.API_TOKEN_ISSUED, terminal=terminal, targets=[record])
    return token, record


def api_token_check(*, token: str, terminal: Terminal | None) -> ApiToken | None:
    """The live token for this terminal, its idle clock moved; None if unknown, expired, idle or elsewhere."""
    record = ApiToken.objects.select_related("operator", "terminal").filter(key_hash=_token_hash(token)).first()
    if record is None or terminal is None or record.terminal_id != terminal.pk:
        return None
    now = clock.now()
    idle = dt.timedelta(minutes=int(setting_value("IDLE_LOCK_MINUTES")))
    operator = record.operator
    if now >= record.expires_at or now - record.last_used_at > idle:
        return None
    if not operator.is_active or operator.locked_at is not None:
        return None
    ApiToken.objects.filter(pk=record.pk).update(last_used_at=now)
    return record


def _columns(model: type[Any]) -> list[str]:
    return [field.column for field in model._meta.concrete_fields]


_TOKEN_COLUMNS = _columns(ApiToken)
_OPERATOR_COLUMNS = _columns(Operator)
_OFFICE_COLUMNS = _columns(Office)
_TERMINAL_COLUMNS = _columns(Terminal)


# api_token_check in one statement, with the terminal found by its credential hash: the token's row is
# touched (idle clock) only when token, terminal, operator and the IDLE_LOCK_MINUTES in force all allow it,
# and only when its clock is TOUCH_GRANULARITY_SECONDS old or more (a data-modifying CTE matching no row
# writes nothing).
# It returns the token's columns and only the ids and row versions (xmin) of operator, office and terminal:
# their rows are read again (_ROWS) only when this process has not seen that version of them (_row_cache).
# A version is (xmin, ctid): every UPDATE writes a new tuple elsewhere, even twice in one transaction.
# The idle clock (last_used_at) moves at most once per this many seconds: most lookups then only read the
# token row, with no write and no commit flush. An idle token is refused at most this much early.
TOUCH_GRANULARITY_SECONDS = 10


def _version(alias: str) -> str:
    return f"({alias}.xmin::text || ':' || {alias}.ctid::text)"


_TOKEN_TOUCH = f"""
WITH checked AS (
  SELECT t.*, {_version("o")} AS operator_version, f.id AS office_pk, {_version("f")} AS office_version,
    {_version("term")} AS terminal_version
  FROM audit_apitoken t, audit_terminal term, audit_operator o LEFT JOIN audit_office f ON f.id = o.office_id
  WHERE t.key_hash = %(key)s AND term.credential_hash = %(terminal)s AND term.is_active
    AND t.terminal_id = term.id AND o.id = t.operator_id AND o.is_active AND o.locked_at IS NULL
    AND %(now)s < t.expires_at
    AND %(now)s - t.last_used_at <= make_interval(mins => COALESCE(
        (SELECT (s.value #>> '{{}}')::int FROM jukinet_settingvalue s
         WHERE s.name = 'IDLE_LOCK_MINUTES' AND s.effective_from <= %(today)s
         ORDER BY s.effective_from DESC LIMIT 1), %(idle_default)s))
), touched AS (
  UPDATE audit_apitoken u SET last_used_at = %(now)s FROM checked
  WHERE u.id = checked.id AND %(now)s - checked.last_used_at >= make_interval(secs => {TOUCH_GRANULARITY_SECONDS})
)
SELECT {", ".join(f"checked.{c}" for c in _TOKEN_COLUMNS)}, operator_version, office_pk, office_version,
  terminal_version
FROM checked
"""  # noqa: S608 - column names from the models

_ROWS = f"""
SELECT {_version("o")}, {", ".join(f"o.{c}" for c in _OPERATOR_COLUMNS)},
  {_version("f")}, {", ".join(f"f.{c}" for c in _OFFICE_COLUMNS)},
  {_version("term")}, {", ".join(f"term.{c}" for c in _TERMINAL_COLUMNS)}
FROM audit_operator o LEFT JOIN audit_office f ON f.id = o.office_id, audit_terminal term
WHERE o.id = %(operator)s AND term.id = %(terminal)s
"""  # noqa: S608 - column names from the models

# (model, pk) -> (row version, instance) of rows this process has loaded; callers get copies. A changed row (roles,
# office, lock, capabilities...) has a new row version, so a stale copy is never used.
_row_cache: dict[tuple[type[Any], int], tuple[str, Any]] = {}


def _fresh(instance: Any) -> Any:
    """A new instance with the cached one's field values and its own state (no relation cache shared)."""
    new = instance.__class__.__new__(instance.__class__)
    new.__dict__ = instance.__dict__.copy()
    new._state = ModelState()
    new._state.adding, new._state.db = False, instance._state.db
    return new


def _cached(model: type[Any], pk: int | None, xmin: str | None) -> Any:
    hit = _row_cache.get((model, pk)) if pk is not None else None
    return _fresh(hit[1]) if hit is not None and hit[0] == xmin else None


def _load_rows(operator_id: int, terminal_id: int) -> tuple[Operator, Office | None, Terminal] | None:
    from django.db import connection

    with prepared_cursor() as cursor:
        cursor.execute(_ROWS, {"operator": operator_id, "terminal": terminal_id})
        row = cursor.fetchone()
    if row is None:
        return None
    db = connection.alias
    cut = [1 + len(_OPERATOR_COLUMNS), 1 + len(_OFFICE_COLUMNS)]
    operator_row, rest = row[: cut[0]], row[cut[0] :]
    office_row, terminal_row = rest[: cut[1]], rest[cut[1] :]
    operator = loaded(Operator, db, _OPERATOR_ATTNAMES, operator_row[1:])
    office = loaded(Office, db, _OFFICE_ATTNAMES, office_row[1:]) if office_row[1] is not None else None
    terminal = loaded(Terminal, db, _TERMINAL_ATTNAMES, terminal_row[1:])
    _row_cache[(Operator, operator.pk)] = (operator_row[0], operator)
    if office is not None:
        _row_cache[(Office, office.pk)] = (office_row[0], office)
    _row_cache[(Terminal, terminal.pk)] = (terminal_row[0], terminal)
    return _fresh(operator), _fresh(office) if office is not None else None, _fresh(terminal)


def api_token_touch(*, token: str, terminal_credential: str) -> ApiToken | None:
    """`api_token_check` for a terminal known by its credential hash, in one statement (the lookup path's
    authentication, domain.md §9.6): the same rules, the operator (with its office) and the terminal loaded."""
    from django.db import connection

    now = clock.now()
    params: dict[str, Any] = {
        "now": now, "today": clock.local_date(now), "key": _token_hash(token), "terminal": terminal_credential,
        "idle_default": int(DEFAULTS["IDLE_LOCK_MINUTES"]),
    }  # fmt: skip
    with prepared_cursor() as cursor:  # planned once per connection (psycopg's prepare_threshold)
        cursor.execute(_TOKEN_TOUCH, params)
        row = cursor.fetchone()
    if row is None:
        return None
    token_row = row[: len(_TOKEN_COLUMNS)]
    operator_xmin, office_id, office_xmin, terminal_xmin = row[len(_TOKEN_COLUMNS) :]
    record = loaded(ApiToken, connection.alias, _TOKEN_COLUMNS_ATTNAMES, token_row)
    operator = _cached(Operator, record.operator_id, operator_xmin)
    office = _cached(Office, office_id, office_xmin) if office_id is not None else None
    terminal = _cached(Terminal, record.terminal_id, terminal_xmin)
    if operator is None or terminal is None or (office_id is not None and office is None):
        fetched = _load_rows(record.operator_id, record.terminal_id)
        if fetched is None:
            return None
        operator, office, terminal = fetched
    Operator._meta.get_field("office").set_cached_value(operator, office)  # type: ignore[union-attr]
    ApiToken._meta.get_field("operator").set_cached_value(record, operator)  # type: ignore[union-attr]
    ApiToken._meta.get_field("terminal").set_cached_value(record, terminal)  # type: ignore[union-attr]
    return record


_TOKEN_COLUMNS_ATTNAMES = [field.attname for field in ApiToken._meta.concrete_fields]
_OPERATOR_ATTNAMES = [field.attname for field in Operator._meta.concrete_fields]
_OFFICE_ATTNAMES = [field.attname for field in Office._meta.concrete_fields]
_TERMINAL_ATTNAMES = [field.attname for field in Terminal._meta.concrete_fields]


class OperatorTokenAuthentication(authentication.BaseAuthentication):
    """DRF authentication: `Authorization: Bearer <token>` plus the same terminal credential (§9.6)."""

    keyword = "Bearer"

    def authenticate(self, request: Any) -> tuple[Operator, ApiToken] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("認証情報が正しくありません。")
        token = header[1].decode(errors="replace")
        credential = terminal_credential_hash(request)
        if credential is not None:
            # One statement: terminal, token, operator, office and the idle clock (the lookup path).
            record = api_token_touch(token=token, terminal_credential=credential)
            if record is not None:
                terminal_remember(request, record.terminal)
        else:
            record = api_token_check(token=token, terminal=terminal_from_request(request))
        if record is None:
            raise exceptions.AuthenticationFailed("トークンが無効か、有効期限が切れています。")
        return record.operator, record

    def authenticate_header(self, request: Any) -> str:
        return self.keyword


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Any:
    """DRF exception handler: every 401 writes an operation-log entry (domain.md §9.2, §11)."""
    from rest_framework.views import exception_handler

    from audit.access import NotVerified

    if isinstance(exc, NotVerified):
        exc = exceptions.NotAuthenticated()
    response = exception_handler(exc, context)
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        request = context.get("request")
        if request is not None:
            unauthenticated_call_record(request=request._request)
    return response


class OperatorRateThrottle(throttling.SimpleRateThrottle):
    """Per-operator API throttle at API_THROTTLE_RATE (domain.md §9.6, default 10/s); a refusal is logged.

    Add it to a view's `throttle_classes` (lookups); DRF answers 429 above the rate.
    """

    scope = "operator"

    def get_rate(self) -> str:
        return str(settings.API_THROTTLE_RATE)

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        return f"audit-throttle-operator-{user.pk}"

    def allow_request(self, request: Any, view: Any) -> bool:
        if super().allow_request(request, view):
            return True
        with transaction.atomic():
            operation_log_record(
                actor=request.user,
                kind=OperationKind.API_THROTTLED,
                terminal=terminal_from_request(request),
                outcome="refused",
                conditions={"path": re.sub(r"[0-9０-９]{11,}", "*", request.path)[:200]},
            )
        return False
