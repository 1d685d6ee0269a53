"""Loading the reference data of fixtures/ (municipality master, code tables). Idempotent."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.db import transaction

from jukinet.identifiers import is_valid_municipality_code
from jukinet.models import Municipality, Prefecture

FIXTURES = Path(settings.BASE_DIR) / "fixtures"
MUNICIPALITY_CSV = FIXTURES / "localgovjp-utf8.csv"


@dataclass(frozen=True)
class MunicipalityRow:
    code: str
    prefecture_code: str
    prefecture_name: str
    name: str
    name_kana: str


def municipality_rows(path: Path = MUNICIPALITY_CSV) -> list[MunicipalityRow]:
    """The 1,916 rows of the code list (CC0, code4fukui/localgovjp), names with the ward space removed."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = [
            MunicipalityRow(
                code=row["lgcode"],
                prefecture_code=row["lgcode"][:2],
                prefecture_name=row["pref"],
                name=row["city"].replace(" ", ""),
                name_kana=row["citykana"].replace(" ", ""),
            )
            for row in csv.DictReader(handle)
        ]
    bad = [r.code for r in rows if not is_valid_municipality_code(r.code)]
    if bad:
        raise ValueError(f"invalid municipality codes in {path.name}: {bad[:5]}")
    return rows


def designated_city_codes(path: Path = MUNICIPALITY_CSV) -> set[str]:
    """Codes of cities that have wards: the wards, not the city, send notices (domain.md §1)."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    ward_parents = {(r["pref"], r["city"].split(" ")[0]) for r in rows if " " in r["city"]}
    return {r["lgcode"] for r in rows if " " not in r["city"] and (r["pref"], r["city"]) in ward_parents}


@transaction.atomic
def reference_data_load() -> dict[str, int]:
    rows = municipality_rows()
    cities_with_wards = designated_city_codes()
    prefectures = {r.prefecture_code: r.prefecture_name for r in rows}
    Prefecture.objects.bulk_create(
        [Prefecture(code=c, name=n) for c, n in sorted(prefectures.items())],
        update_conflicts=True,
        unique_fields=["code"],
        update_fields=["name"],
    )
    Municipality.objects.bulk_create(
        [
            Municipality(
                code=r.code,
                prefecture_id=r.prefecture_code,
                name=r.name,
                name_kana=r.name_kana,
                is_sender=r.code not in cities_with_wards,
            )
            for r in rows
        ],
        update_conflicts=True,
        unique_fields=["code"],
        update_fields=["prefecture", "name", "name_kana", "is_sender"],
    )
    call_command("loaddata", FIXTURES / "change_reasons.json", FIXTURES / "result_codes.json", verbosity=0)
    return {"prefectures": len(prefectures), "municipalities": len(rows)}


def prefecture_municipalities() -> list[Municipality]:
    """This deployment's municipality master: the senders of PREFECTURE_CODE."""
    return list(Municipality.objects.filter(prefecture_id=settings.PREFECTURE_CODE, is_sender=True))


_prefecture_names: dict[str, str] = {}


def prefecture_name() -> str:
    """This deployment's prefecture name (山口県), read once per process once reference data is loaded."""
    code = settings.PREFECTURE_CODE
    if code not in _prefecture_names:
        name = Prefecture.objects.filter(code=code).values_list("name", flat=True).first()
        if not name:
            return ""  # reference data not loaded yet: don't cache the absence
        _prefecture_names[code] = name
    return _prefecture_names[code]
