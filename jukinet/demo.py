"""The demo dataset of `make run`. Synthetic data only; never used outside the local demo."""

from __future__ import annotations

from django.contrib.auth import get_user_model

DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 - printed for the local demo on purpose
DEMO_OPERATORS = [
    ("admin01", "管理 一郎"),
    ("clerk01", "担当 花子"),
]


def demo_setup() -> list[str]:
    Operator = get_user_model()
    lines = ["", "デモ用ログイン（合成データ・ローカル専用）:"]
    for username, display_name in DEMO_OPERATORS:
        operator, created = Operator.objects.get_or_create(username=username, defaults={"display_name": display_name})
        if created:
            operator.set_password(DEMO_PASSWORD)
            operator.save(update_fields=["password"])
        lines.append(f"  {username} / {DEMO_PASSWORD}  ({display_name})")
    from audit.demo import audit_demo_setup  # roles, TOTP, backup codes, demo terminal, usage approvals

    lines += audit_demo_setup(DEMO_PASSWORD)
    return lines
