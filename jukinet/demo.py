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
    lines.append(f"市町村CS模擬の認証情報: {len(cs_demo_keys())}市町分（var/secrets/cs-keys.json）")
    return lines


def cs_demo_keys() -> dict[str, str]:
    """Demo CS credentials, one per municipality: keys kept in var/secrets/cs-keys.json (0600, never printed).

    The municipal CS simulator (`manage.py simulate_cs`) reads them; a municipality without a stored key gets
    a new credential here (credential_issue replaces any older one).
    """
    import hashlib
    import json
    import os

    from jukinet.env import VAR_DIR
    from jukinet.reference import prefecture_municipalities
    from prefserver.intake.receive import credential_issue
    from prefserver.models import MunicipalCredential

    path = VAR_DIR / "secrets" / "cs-keys.json"
    keys: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    stored = dict(MunicipalCredential.objects.filter(active=True).values_list("municipality_id", "key_sha256"))
    changed = False
    for municipality in prefecture_municipalities():
        key = keys.get(municipality.code)
        if key is None or stored.get(municipality.code) != hashlib.sha256(key.encode()).hexdigest():
            keys[municipality.code] = credential_issue(municipality_code=municipality.code)
            changed = True
    if changed:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as out:
            json.dump(keys, out)
    return keys
