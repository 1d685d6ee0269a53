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
    lines.extend(demo_population())
    lines.extend(demo_affairs())
    from audit.demo import audit_demo_setup  # roles, TOTP, backup codes, demo terminal, usage approvals

    lines += audit_demo_setup(DEMO_PASSWORD)
    return lines


DEMO_POPULATION = 10_000  # residents of the demo dataset (jukinet.population, seed 35)


def demo_population() -> list[str]:
    """Load the synthetic demo population once (skipped when file (1) already holds anyone)."""
    from django.conf import settings

    from jukinet.population import population_load
    from prefserver.models import IdentityPerson

    if IdentityPerson.objects.exists():
        return ["合成住民データ: 投入済みのため省略"]
    result = population_load(
        prefecture_code=settings.PREFECTURE_CODE, residents=DEMO_POPULATION, history_per_person=1, seed=35
    )
    return [f"合成住民データ: {result.rows['prefserver_identity_person']} 人を投入しました（{result.seconds:.0f} 秒）"]


def demo_affairs() -> list[str]:
    """The affair catalogue and its recipient offices (fixtures/affairs.json; idempotent)."""
    from provision.catalogue import affair_catalogue_load

    counts = affair_catalogue_load()
    return [f"事務一覧: 提供・移転先 {counts['offices']} 所属、事務 {counts['affairs']} 件を登録しました"]
