"""The demo dataset of `make run`. Synthetic data only; never used outside the local demo."""

from __future__ import annotations

DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 - printed for the local demo on purpose


def demo_setup() -> list[str]:
    """Every part's demo data, in order: the affair catalogue (provision), operators of each role with TOTP,
    the demo terminal and usage approvals (audit), then the synthetic population."""
    from audit.demo import audit_demo_setup

    lines = demo_affairs()
    lines += audit_demo_setup(DEMO_PASSWORD)
    lines.extend(demo_population())
    lines.append(f"市町村CS模擬の認証情報: {len(cs_demo_keys())}市町分（var/secrets/cs-keys.json）")
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


def demo_affairs() -> list[str]:
    """The affair catalogue and its recipient offices (fixtures/affairs.json; idempotent)."""
    from provision.catalogue import affair_catalogue_load

    counts = affair_catalogue_load()
    return [f"事務一覧: 提供・移転先 {counts['offices']} 所属、事務 {counts['affairs']} 件を登録しました"]
