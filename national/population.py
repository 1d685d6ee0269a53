"""A deterministic synthetic population held only nationally (persons outside this prefecture).

Every identifier carries a valid check digit. Pairs of persons share their 4情報 on purpose (every
`TWIN_EVERY`-th person repeats the previous one's name, birth date, sex and address), so a 4情報 lookup can
answer "several". All data is synthetic.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from typing import Any

from national.identifiers import individual_number_check_digit, resident_code_check_digit

TWIN_EVERY = 500
# Real municipality codes (JIS X 0402) outside Yamaguchi (35), with their prefecture names.
MUNICIPALITIES = (
    ("011002", "北海道", "札幌市"),
    ("131016", "東京都", "千代田区"),
    ("141003", "神奈川県", "横浜市"),
    ("231002", "愛知県", "名古屋市"),
    ("261009", "京都府", "京都市"),
    ("271004", "大阪府", "大阪市"),
    ("341002", "広島県", "広島市"),
    ("401005", "福岡県", "北九州市"),
    ("352039", "山口県", "山口市"),
)
SURNAMES = (
    ("佐藤", "サトウ"),
    ("鈴木", "スズキ"),
    ("高橋", "タカハシ"),
    ("田中", "タナカ"),
    ("伊藤", "イトウ"),
    ("渡辺", "ワタナベ"),
    ("山本", "ヤマモト"),
    ("中村", "ナカムラ"),
    ("小林", "コバヤシ"),
    ("加藤", "カトウ"),
)
GIVEN = {
    1: (("太郎", "タロウ"), ("一郎", "イチロウ"), ("健", "ケン"), ("翔太", "ショウタ"), ("大輔", "ダイスケ")),
    2: (("花子", "ハナコ"), ("美咲", "ミサキ"), ("陽子", "ヨウコ"), ("さくら", "サクラ"), ("恵", "メグミ")),
}
TOWNS = ("見本町", "試験町", "仮設町", "模擬町", "例示町")


def _digits(rng: random.Random, count: int) -> str:
    return "".join(str(rng.randrange(10)) for _ in range(count))


def generate(
    count: int, *, seed: int = 1, exclude_prefecture: str = "35"
) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """Yield (identity record, furyo record) pairs for `count` persons, always the same for a seed."""
    rng = random.Random(seed)  # noqa: S311 - synthetic data, not security
    places = [m for m in MUNICIPALITIES if m[0][:2] != exclude_prefecture]
    previous: dict[str, Any] | None = None
    for index in range(count):
        resident_code = _digits(rng, 10)
        resident_code += str(resident_code_check_digit(resident_code))
        number = _digits(rng, 11)
        number += str(individual_number_check_digit(number))
        code, prefecture, city = places[rng.randrange(len(places))]
        sex = rng.choice((1, 2))
        surname, surname_kana = rng.choice(SURNAMES)
        given, given_kana = rng.choice(GIVEN[sex])
        birth = dt.date(1930, 1, 1) + dt.timedelta(days=rng.randrange(32000))
        four = {
            "name": f"{surname}　{given}",
            "name_kana": f"{surname_kana}　{given_kana}",
            "birth_date": birth.isoformat(),
            "sex": sex,
            "address": f"{prefecture}{city}{rng.choice(TOWNS)}{rng.randint(1, 5)}丁目{rng.randint(1, 30)}番"
            f"{rng.randint(1, 20)}号",
            "municipality_code": code,
        }
        if previous is not None and index % TWIN_EVERY == TWIN_EVERY - 1:
            four = dict(previous)
        previous = four
        change_date = max(birth, dt.date(2015, 10, 5)) + dt.timedelta(days=rng.randrange(3000))
        change_date = min(change_date, dt.date(2024, 12, 31))
        identity = {
            "resident_code": resident_code,
            "name": four["name"],
            "name_kana": four["name_kana"],
            "birth_date": four["birth_date"],
            "sex": four["sex"],
            "address": four["address"],
            "individual_number": number,
            "change_reason": "11",
            "change_date": change_date.isoformat(),
            "update_sequence": rng.randint(1, 20),
            "revision": 0,
        }
        furyo = {
            "resident_code": resident_code,
            "name": four["name"],
            "name_gaiji_count": 0,
            "name_kana": four["name_kana"],
            "birth_date": four["birth_date"],
            "sex": four["sex"],
            "address_municipality_code": four["municipality_code"],
            "address": four["address"],
            "address_gaiji_count": 0,
            "last_address": None,
            "last_address_gaiji_count": None,
            "change_date": change_date.isoformat(),
            "former_resident_code": None,
            "furyo_municipality_code": four["municipality_code"],
            "status": 1,
            "gaiji_flag": False,
            "gaiji_pattern": None,
            "notice_kind": "51",
            "update_sequence": rng.randint(1, 10),
            "revision": 0,
        }
        yield identity, furyo
