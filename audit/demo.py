"""Demo operators, terminal and today's usage approvals for `make run` (domain.md §10.2 "Demo").

Synthetic and local only: prints each demo user's password, otpauth URI and django-otp static backup codes.
"""

from __future__ import annotations

from django.db import transaction
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.access import usage_approval_valid
from audit.models import Office, Operator, Role, Terminal
from audit.rights import usage_approval_approve, usage_approval_request
from audit.services import terminal_register

DEMO_TERMINAL_KEY = "demo-terminal-key-2026"
DEMO_OFFICES = [
    ("S01", "総合企画部市町課", Office.Kind.SECTION),
    ("B01", "教育委員会", Office.Kind.BODY),
    ("D01", "総務部税務課", Office.Kind.DEPARTMENT),
]
# username, display name, roles, office code, needs a usage approval today
DEMO_CAST = [
    ("admin01", "管理 一郎", [Role.ADMINISTRATOR], "S01", False),
    ("admin02", "管理 二郎", [Role.ADMINISTRATOR], "S01", False),
    ("clerk01", "担当 花子", [Role.CLERK], "S01", True),
    ("officer01", "責任 次郎", [Role.SECURITY_OFFICER], "S01", False),
    ("body01", "教委 三郎", [Role.BODY_OPERATOR], "B01", True),
    ("dept01", "税務 四子", [Role.DEPARTMENT_OPERATOR], "D01", True),
    ("auditor01", "監査 五郎", [Role.AUDITOR], "S01", False),
    ("auditor02", "監査 六子", [Role.AUDITOR], "S01", False),
    ("vendor01", "委託 七郎", [Role.CONTRACTOR], "S01", False),
]


def _office(code: str) -> Office:
    name, kind = next((n, k) for c, n, k in DEMO_OFFICES if c == code)
    office, _ = Office.objects.get_or_create(code=code, defaults={"name": name, "kind": kind})
    return office


def _devices(operator: Operator) -> tuple[TOTPDevice, list[str]]:
    totp, _ = TOTPDevice.objects.get_or_create(user=operator, name="demo", defaults={"confirmed": True})
    static, created = StaticDevice.objects.get_or_create(user=operator, name="backup", defaults={"confirmed": True})
    if created:
        for _ in range(5):
            static.token_set.create(token=StaticToken.random_token())
    return totp, list(static.token_set.values_list("token", flat=True))


def _terminal() -> Terminal:
    terminal = Terminal.objects.filter(name="デモ代表端末").first()
    if terminal is None:
        capabilities = [c.value for c in Terminal.Capability]
        terminal, _ = terminal_register(
            name="デモ代表端末",
            kind=Terminal.Kind.REPRESENTATIVE,
            office=_office("S01"),
            capabilities=capabilities,
            registered_by="system:demo",
            key=DEMO_TERMINAL_KEY,
        )
    return terminal


@transaction.atomic
def audit_demo_setup(password: str) -> list[str]:
    terminal = _terminal()
    approver = None
    lines = ["", "デモ用操作者（合成データ・ローカル専用）: パスワード / otpauth URI / 予備コード"]
    operators = []
    for username, display_name, roles, office_code, needs_approval in DEMO_CAST:
        operator, created = Operator.objects.get_or_create(username=username, defaults={"display_name": display_name})
        if created or not operator.roles:
            operator.set_password(password)
            operator.roles, operator.office = [str(r) for r in roles], _office(office_code)
            operator.display_name, operator.employee_id = display_name, f"D-{username}"
            operator.save()
        totp, backup = _devices(operator)
        operators.append((operator, needs_approval))
        approver = approver or (operator if Role.ADMINISTRATOR in operator.roles else None)
        lines.append(f"  {username} ({display_name}, {'・'.join(Role(r).label for r in operator.roles)})")
        lines.append(f"    パスワード: {password}   予備コード: {' '.join(backup)}")
        lines.append(f"    {totp.config_url}")
    for operator, needs_approval in operators:
        if needs_approval and approver and usage_approval_valid(operator=operator, terminal=terminal) is None:
            approval = usage_approval_request(operator=operator, terminal=terminal, purpose="デモ")
            usage_approval_approve(approval=approval, approver=approver, devices_checked=True)
    lines += [
        "",
        f"デモ端末「{terminal.name}」（代表端末・全機能）: 端末キー {DEMO_TERMINAL_KEY}",
        "  ブラウザを端末として登録: ログイン後 /terminal/enrol/ を開き、この端末キーを入力します。",
        "  API: ヘッダ X-Terminal-Key にこの端末キーを付けて POST /api/v1/auth/token。",
        "  clerk01・body01・dept01 には本日24時まで有効な使用伺いを承認済みです。",
    ]
    return lines
