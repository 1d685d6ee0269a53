"""Synthetic population of one prefecture, loaded with COPY (`manage.py generate_population`).

Synthetic data only. Deterministic for a seed: person i of chunk c is drawn from `random.Random(f"{seed}:{c}")`,
so the content does not depend on the number of worker processes (ciphertexts differ between runs: AES-GCM
nonces are random, as they must be). Every version's columns come from prefserver.versions.version_values /
furyo.versions.version_values (search keys, ciphertext, blind index, retention), and supersedes from their
`superseded_values`, so the loader and intake share one set of rules.

Codes are unique without memory: resident code i is an affine permutation of i over 10^10 (check digit
appended), individual number i one over 10^11. Ids come from blocks reserved on the tables' sequences; a
person's version ids are `base + i * MAX_VERSIONS + j`, so ids have gaps (harmless, bigint).

Proportions (made up to look plausible, not statistics): ~7 % of file (1) persons removed (転出 4 %, 死亡
2 % + more among the old, 国外転出 0.7 %, 職権消除 0.3 %); superseded versions ≈ `history_per_person` per
person; ~85 % of residents keep their 附票 here (本籍 in the prefecture), plus ~8 % extra 附票 persons living in
another prefecture; emigrants' 附票 have status 2; the dead and ex-officio removed have status 9.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
import random
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from jukinet.identifiers import (
    individual_number_check_digit,
    resident_code_check_digit,
    with_check_digit,
)

T = TypeVar("T")
REFERENCE_DATE = dt.date(2026, 4, 1)  # fixed "today" of the generator: the output must not depend on the day
JUKINET_START = dt.date(2002, 8, 5)  # 住基ネット 第一次稼働: the earliest change date generated
MAX_VERSIONS_EXTRA = 4  # entry + removal + up to 2K changes + this slack
MOVE_BETWEEN_MUNICIPALITIES = "move"  # _change's marker: the life gets a 31 and an 11
CODE_OFFSET = 5 * 10**9  # resident codes of 附票-only persons: a disjoint range of the permutation

SURNAMES = [
    ("佐藤", "サトウ"), ("鈴木", "スズキ"), ("高橋", "タカハシ"), ("田中", "タナカ"), ("伊藤", "イトウ"),
    ("渡辺", "ワタナベ"), ("山本", "ヤマモト"), ("中村", "ナカムラ"), ("小林", "コバヤシ"), ("加藤", "カトウ"),
    ("吉田", "ヨシダ"), ("山田", "ヤマダ"), ("佐々木", "ササキ"), ("山口", "ヤマグチ"), ("松本", "マツモト"),
    ("井上", "イノウエ"), ("木村", "キムラ"), ("林", "ハヤシ"), ("斎藤", "サイトウ"), ("清水", "シミズ"),
    ("山崎", "ヤマザキ"), ("森", "モリ"), ("池田", "イケダ"), ("橋本", "ハシモト"), ("阿部", "アベ"),
    ("石川", "イシカワ"), ("山下", "ヤマシタ"), ("中島", "ナカシマ"), ("石井", "イシイ"), ("小川", "オガワ"),
    ("前田", "マエダ"), ("岡田", "オカダ"), ("長谷川", "ハセガワ"), ("藤田", "フジタ"), ("後藤", "ゴトウ"),
    ("近藤", "コンドウ"), ("村上", "ムラカミ"), ("遠藤", "エンドウ"), ("青木", "アオキ"), ("坂本", "サカモト"),
    ("藤井", "フジイ"), ("西村", "ニシムラ"), ("福田", "フクダ"), ("太田", "オオタ"), ("三浦", "ミウラ"),
    ("藤原", "フジワラ"), ("岡本", "オカモト"), ("松田", "マツダ"), ("中川", "ナカガワ"), ("原田", "ハラダ"),
    ("河野", "カワノ"), ("弘中", "ヒロナカ"), ("末永", "スエナガ"), ("守田", "モリタ"), ("吉村", "ヨシムラ"),
    ("久保", "クボ"), ("国弘", "クニヒロ"), ("岩本", "イワモト"), ("重村", "シゲムラ"), ("縄田", "ナワタ"),
    # variant forms kept as given (domain.md §4.2): 髙 U+9AD9, compatibility 﨑 U+FA11 and 塚 U+FA10, an IVS
    ("髙橋", "タカハシ"), ("山\ufa11", "ヤマサキ"), ("飯\ufa10", "イイヅカ"), ("辻\U000e0100", "ツジ"),
]  # fmt: skip
GIVEN_MALE = [
    ("太郎", "タロウ"), ("翔太", "ショウタ"), ("大輔", "ダイスケ"), ("健一", "ケンイチ"), ("誠", "マコト"),
    ("浩", "ヒロシ"), ("隆", "タカシ"), ("拓也", "タクヤ"), ("直樹", "ナオキ"), ("和也", "カズヤ"), ("蓮", "レン"),
    ("悠真", "ユウマ"), ("大翔", "ヒロト"), ("陽翔", "ハルト"), ("湊", "ミナト"), ("清", "キヨシ"), ("茂", "シゲル"),
    ("勇", "イサム"), ("修", "オサム"), ("秀樹", "ヒデキ"), ("亮", "リョウ"), ("健太", "ケンタ"), ("雄一", "ユウイチ"),
    ("正雄", "マサオ"), ("一郎", "イチロウ"), ("俊介", "シュンスケ"), ("駿", "シュン"), ("悠斗", "ユウト"),
    ("晋作", "シンサク"), ("丈二", "ジョウジ"),
]  # fmt: skip
GIVEN_FEMALE = [
    ("花子", "ハナコ"), ("陽子", "ヨウコ"), ("恵子", "ケイコ"), ("京子", "キョウコ"), ("幸子", "サチコ"),
    ("美咲", "ミサキ"), ("葵", "アオイ"), ("結衣", "ユイ"), ("陽菜", "ヒナ"), ("凛", "リン"), ("さくら", "サクラ"),
    ("愛", "アイ"), ("優子", "ユウコ"), ("真由美", "マユミ"), ("由美子", "ユミコ"), ("久美子", "クミコ"),
    ("明美", "アケミ"), ("直子", "ナオコ"), ("智子", "トモコ"), ("千尋", "チヒロ"), ("彩", "アヤ"), ("舞", "マイ"),
    ("七海", "ナナミ"), ("芽依", "メイ"), ("和子", "カズコ"), ("節子", "セツコ"), ("文子", "フミコ"),
    ("美穂", "ミホ"), ("紗希", "サキ"), ("ジュリア", "ジュリア"),
]  # fmt: skip
TOWNS = [
    "中央", "本町", "旭町", "緑町", "栄町", "幸町", "大手町", "駅前", "東町", "西町", "南町", "北町", "新町",
    "若草町", "桜町", "松原", "泉町", "港町", "昭和町", "平和町", "錦町", "宮野", "湯田", "大殿", "白石",
    "吉敷", "平川", "春日町", "住吉", "八幡",
]  # fmt: skip
KANJI_NUMBERS = ["一", "二", "三", "四", "五", "六", "七"]
BUILDINGS = ["コーポ", "ハイツ", "メゾン", "グランドール", "レジデンス"]
COUNTRIES = [
    "アメリカ合衆国",
    "大韓民国",
    "中華人民共和国",
    "オーストラリア連邦",
    "ドイツ連邦共和国",
    "ブラジル連邦共和国",
]
GAIJI = "\ue000\ue001\ue0a5"  # private-use code points, stored unchanged (domain.md §4.2)
_TO_HIRAGANA = {c: c - 0x60 for c in range(0x30A1, 0x30F7)}


@dataclass(frozen=True)
class PopulationSpec:
    prefecture_code: str
    prefecture_name: str
    municipalities: tuple[tuple[str, str], ...]  # (code, name): this prefecture's senders
    elsewhere: tuple[tuple[str, str], ...]  # (code, "<prefecture><municipality>") of other prefectures
    residents: int
    history_per_person: int = 1
    seed: int = 1
    chunk_size: int = 5000
    identity_person_base: int = 1
    identity_version_base: int = 1
    furyo_person_base: int = 1
    furyo_version_base: int = 1
    recorded_at: dt.datetime = field(default=dt.datetime(2026, 4, 1, 0, 0, tzinfo=dt.UTC))

    @property
    def max_versions(self) -> int:
        return 2 * self.history_per_person + MAX_VERSIONS_EXTRA

    @property
    def chunks(self) -> int:
        return -(-self.residents // self.chunk_size)


@dataclass
class ChunkRows:
    """One chunk of generated rows, per table, as value tuples in the tables' column order."""

    identity_persons: list[tuple[Any, ...]] = field(default_factory=list)
    identity_codes: list[tuple[Any, ...]] = field(default_factory=list)
    identity_versions: list[tuple[Any, ...]] = field(default_factory=list)
    furyo_persons: list[tuple[Any, ...]] = field(default_factory=list)
    furyo_codes: list[tuple[Any, ...]] = field(default_factory=list)
    furyo_versions: list[tuple[Any, ...]] = field(default_factory=list)
    expiry_years: set[int] = field(default_factory=set)


# --- codes ------------------------------------------------------------------------------------------
@functools.cache
def _affine(seed: int, modulus: int, salt: int) -> tuple[int, int]:
    rng = random.Random(f"{seed}:codes:{salt}")  # noqa: S311 - synthetic data, reproducible on purpose
    while True:
        a = rng.randrange(modulus // 10, modulus)
        if a % 2 and a % 5:  # coprime with 10^k: i → a·i + b is a permutation
            return a, rng.randrange(modulus)


def resident_code_for(index: int, seed: int) -> str:
    a, b = _affine(seed, 10**10, 1)
    return with_check_digit(f"{(a * index + b) % 10**10:010d}", resident_code_check_digit)


def individual_number_for(index: int, seed: int) -> str:
    a, b = _affine(seed, 10**11, 2)
    return with_check_digit(f"{(a * index + b) % 10**11:011d}", individual_number_check_digit)


# --- people -------------------------------------------------------------------------------------------
def _pick(rng: random.Random, items: Sequence[T]) -> T:
    """rng.choice without its bookkeeping (randrange is a third of the generator's random cost)."""
    return items[int(rng.random() * len(items))]


def _between(rng: random.Random, low: int, high: int) -> int:
    """Like rng.randint(low, high), inclusive."""
    return low + int(rng.random() * (high - low + 1))


def _date_between(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    if end <= start:
        return start
    return start + dt.timedelta(days=int(rng.random() * (end - start).days))


def _address(rng: random.Random, spec: PopulationSpec, municipality: tuple[str, str]) -> tuple[str, str]:
    """(address, district code): prefecture + municipality + synthetic 町名 + 丁目/番/号 (+ 方書 sometimes)."""
    town = int(rng.random() * len(TOWNS))
    text = (
        f"{spec.prefecture_name}{municipality[1]}{TOWNS[town]}{_pick(rng, KANJI_NUMBERS)}丁目"
        f"{_between(rng, 1, 30)}番{_between(rng, 1, 25)}号"
    )
    if rng.random() < 0.08:
        text += f"　{_pick(rng, BUILDINGS)}{TOWNS[town]}{_between(rng, 1, 5)}0{_between(rng, 1, 9)}号室"
    return text, f"{town + 1:04d}"


def _elsewhere_address(rng: random.Random, spec: PopulationSpec) -> tuple[str, str]:
    code, place = _pick(rng, spec.elsewhere)
    return code, f"{place}{_pick(rng, TOWNS)}{_between(rng, 1, 40)}番地{_between(rng, 1, 20)}"


def _kana(rng: random.Random, surname_kana: str, given_kana: str) -> str:
    text = f"{surname_kana}　{given_kana}"
    return text.translate(_TO_HIRAGANA) if rng.random() < 0.1 else text  # some municipalities send hiragana


@dataclass
class _Person:
    surname: tuple[str, str]
    given: tuple[str, str]
    sex: int
    birth_date: dt.date
    gaiji: bool
    kana_hiragana: bool
    municipality: tuple[str, str]
    address: str
    district_code: str
    individual_number: str
    former_surname: tuple[str, str] | None = None

    def name(self) -> str:
        return f"{self.surname[0]}{GAIJI[0] if self.gaiji else ''}　{self.given[0]}"

    def name_kana(self) -> str:
        text = f"{self.surname[1]}　{self.given[1]}"
        return text.translate(_TO_HIRAGANA) if self.kana_hiragana else text


def _identity_content(person: _Person) -> dict[str, Any]:
    return {
        "name": person.name(), "name_gaiji_count": 1 if person.gaiji else 0, "name_kana": person.name_kana(),
        "birth_date": person.birth_date, "sex": person.sex, "address": person.address, "address_gaiji_count": 0,
        "individual_number": person.individual_number, "district_code": person.district_code,
        "gaiji_flag": person.gaiji, "name_gaiji_revision": 1 if person.gaiji else 0, "address_gaiji_revision": 0,
        "former_surname": person.former_surname[0] if person.former_surname else None,
        "former_surname_gaiji_count": 0 if person.former_surname else None,
        "former_surname_kana": person.former_surname[1] if person.former_surname else None,
        "former_surname_gaiji_revision": 0 if person.former_surname else None,
    }  # fmt: skip


@dataclass(frozen=True)
class _Event:
    """One notice of a person's life as the generator tells it: file (1) reason and the resulting state."""

    reason: str
    date: dt.date
    received_on: dt.date
    content: dict[str, Any]
    removed: bool
    municipality_code: str  # the sender: the municipality of the address before the notice applies


def _life(rng: random.Random, spec: PopulationSpec, index: int) -> tuple[_Person, list[_Event]]:
    sex = 1 if rng.random() < 0.5 else 2
    given_pool = GIVEN_MALE if sex == 1 else GIVEN_FEMALE
    birth = _date_between(rng, dt.date(1925, 1, 1), REFERENCE_DATE - dt.timedelta(days=30))
    municipality = _pick(rng, spec.municipalities)
    address, district = _address(rng, spec, municipality)
    person = _Person(
        surname=_pick(rng, SURNAMES), given=_pick(rng, given_pool),
        sex=sex, birth_date=birth, gaiji=rng.random() < 0.01, kana_hiragana=rng.random() < 0.1,
        municipality=municipality, address=address, district_code=district,
        individual_number=individual_number_for(index, spec.seed),
    )  # fmt: skip
    if birth > JUKINET_START:
        first_reason, first_date = "12", birth
    elif rng.random() < 0.6:
        first_reason, first_date = "13", JUKINET_START
    else:
        first_reason, first_date = "11", _date_between(rng, JUKINET_START, REFERENCE_DATE)
    changes = _between(rng, 0, 2 * spec.history_per_person)
    old = birth < dt.date(1945, 1, 1)
    roll = rng.random()
    removal = (
        "32" if roll < (0.15 if old else 0.02) else "31" if roll < 0.06 + (0.13 if old else 0) else
        "34" if roll < 0.067 + (0.13 if old else 0) else "33" if roll < 0.07 + (0.13 if old else 0) else None
    )  # fmt: skip
    steps = changes + (1 if removal else 0)
    dates = sorted(_date_between(rng, first_date, REFERENCE_DATE - dt.timedelta(days=3)) for _ in range(steps))
    events = [_event(rng, first_reason, first_date, _identity_content(person), removed=False, sender=municipality[0])]
    for step, date in enumerate(dates):
        if removal and step == steps - 1:
            events.append(
                _event(rng, removal, date, _identity_content(person), removed=True, sender=person.municipality[0])
            )
            break
        sender, before = person.municipality[0], _identity_content(person)
        reason = _change(rng, person, spec, index)
        if reason == MOVE_BETWEEN_MUNICIPALITIES:
            # 転出 from the old municipality, then 転入 in the new one (domain.md §6.3: no special case)
            events.append(_event(rng, "31", date, before, removed=True, sender=sender))
            reason, sender = "11", person.municipality[0]
        events.append(_event(rng, reason, date, _identity_content(person), removed=False, sender=sender))
    return person, events


def _change(rng: random.Random, person: _Person, spec: PopulationSpec, index: int) -> str:
    """Apply one change to the person and return its reason: mostly 転居, some marriages and 旧氏, rarely 26."""
    roll = rng.random()
    if person.sex == 2 and person.former_surname is None and roll < 0.15:
        if rng.random() < 0.4:
            person.former_surname = person.surname
            return "24"
        person.surname = _pick(rng, SURNAMES)
        return "23"
    if roll < 0.003:
        person.individual_number = individual_number_for(CODE_OFFSET * 10 + index, spec.seed)
        return "26"
    if rng.random() < 0.3:  # a move to another municipality of the prefecture: 転出 + 転入
        person.municipality = _pick(rng, spec.municipalities)
        person.address, person.district_code = _address(rng, spec, person.municipality)
        return MOVE_BETWEEN_MUNICIPALITIES
    person.address, person.district_code = _address(rng, spec, person.municipality)
    return "21"


def _event(
    rng: random.Random, reason: str, date: dt.date, content: dict[str, Any], *, removed: bool, sender: str
) -> _Event:
    received = min(date + dt.timedelta(days=_pick(rng, (0, 0, 0, 1, 2))), REFERENCE_DATE)
    return _Event(reason, date, received, content, removed, sender)


# --- 附票 (file (2)) ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class _FuryoEvent:
    kind: str
    date: dt.date
    received_on: dt.date
    content: dict[str, Any]


def _furyo_content(
    person_content: dict[str, Any],
    *,
    municipality_code: str | None,
    furyo_municipality: str,
    status: int,
    address: str | None = None,
    last_address: str | None = None,
) -> dict[str, Any]:
    return {
        "name": person_content["name"], "name_gaiji_count": person_content["name_gaiji_count"],
        "name_kana": person_content["name_kana"], "birth_date": person_content["birth_date"],
        "sex": person_content["sex"], "address_municipality_code": municipality_code,
        "address": address if address is not None else person_content["address"], "address_gaiji_count": 0,
        "last_address": last_address, "last_address_gaiji_count": 0 if last_address else None,
        "former_resident_code": None, "furyo_municipality_code": furyo_municipality, "status": status,
        "gaiji_flag": person_content["gaiji_flag"], "gaiji_pattern": "P01" if person_content["gaiji_flag"] else "",
    }  # fmt: skip


def _furyo_events(rng: random.Random, spec: PopulationSpec, person: _Person, events: list[_Event]) -> list[_FuryoEvent]:
    """The 附票 kept here for a resident whose 本籍 is in the prefecture: it follows the file (1) life."""
    home = _pick(rng, spec.municipalities)[0]
    out: list[_FuryoEvent] = []
    previous_address = ""
    for position, event in enumerate(events):
        content = event.content
        municipality = _municipality_of(spec, content["address"])
        if not out:
            kind, new = "51", _furyo_content(content, municipality_code=municipality, furyo_municipality=home, status=1)
        elif event.reason in ("32", "33"):  # death, ex-officio removal: 附票の消除
            kind, new = "54", {**out[-1].content, "status": 9}
        elif event.reason == "34":  # emigration: abroad, last domestic address kept
            country = _pick(rng, COUNTRIES)
            kind, new = "53", _furyo_content(content, municipality_code=None, furyo_municipality=home, status=2,
                                             address=country, last_address=previous_address)  # fmt: skip
        elif event.reason == "31" and position < len(events) - 1:
            continue  # a move inside the prefecture: the following 転入 brings the new address
        elif event.reason == "31":  # moved to another prefecture: the 附票 stays here (本籍)
            code, address = _elsewhere_address(rng, spec)
            kind, new = "52", _furyo_content(content, municipality_code=code, furyo_municipality=home, status=1,
                                             address=address)  # fmt: skip
        elif event.reason == "26":
            continue  # no individual number in file (2): nothing to notify
        else:
            kind, new = "52", _furyo_content(content, municipality_code=municipality, furyo_municipality=home, status=1)
        previous_address = content["address"]
        out.append(_FuryoEvent(kind, event.date, event.received_on, new))
    return out


def _furyo_only_events(rng: random.Random, spec: PopulationSpec, index: int) -> list[_FuryoEvent]:
    """A person living in another prefecture whose 附票 a municipality here keeps (本籍 here)."""
    sex = 1 if rng.random() < 0.5 else 2
    surname = _pick(rng, SURNAMES)
    given = _pick(rng, GIVEN_MALE if sex == 1 else GIVEN_FEMALE)
    home = _pick(rng, spec.municipalities)[0]
    base = {
        "name": f"{surname[0]}　{given[0]}", "name_gaiji_count": 0, "name_kana": _kana(rng, surname[1], given[1]),
        "birth_date": _date_between(rng, dt.date(1930, 1, 1), dt.date(2020, 1, 1)), "sex": sex, "gaiji_flag": False,
    }  # fmt: skip
    date = _date_between(rng, JUKINET_START, REFERENCE_DATE - dt.timedelta(days=400))
    code, address = _elsewhere_address(rng, spec)
    events = [_FuryoEvent("51", date, date, _furyo_content({**base, "address": address}, municipality_code=code,
                                                           furyo_municipality=home, status=1))]  # fmt: skip
    for _ in range(_between(rng, 0, spec.history_per_person)):
        date = _date_between(rng, date, REFERENCE_DATE - dt.timedelta(days=3))
        code, address = _elsewhere_address(rng, spec)
        content = _furyo_content({**base, "address": address}, municipality_code=code, furyo_municipality=home,
                                 status=1)  # fmt: skip
        events.append(_FuryoEvent("52", date, date + dt.timedelta(days=1), content))
    if rng.random() < 0.03:
        date = _date_between(rng, date, REFERENCE_DATE - dt.timedelta(days=2))
        content = _furyo_content({**base, "address": COUNTRIES[0]}, municipality_code=None, furyo_municipality=home,
                                 status=2, last_address=events[-1].content["address"])  # fmt: skip
        events.append(_FuryoEvent("53", date, date + dt.timedelta(days=1), content))
    return events


def _municipality_of(spec: PopulationSpec, address: str) -> str:
    for code, name in spec.municipalities:
        if address.startswith(spec.prefecture_name + name):
            return code
    raise ValueError("address outside the prefecture's municipalities")


# --- rows ---------------------------------------------------------------------------------------------
def _recorded_at(received_on: dt.date, index: int) -> dt.datetime:
    # 09:00 JST on the receipt date plus a few seconds: deterministic, never in the future
    seconds = index % 28800
    return dt.datetime(received_on.year, received_on.month, received_on.day, seconds // 3600, seconds // 60 % 60,
                       seconds % 60, tzinfo=dt.UTC)  # fmt: skip


@functools.cache
def _row_getter(columns: tuple[str, ...]) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
    return operator.itemgetter(*columns)


_BYTEA_COLUMNS = ("individual_number_ciphertext", "individual_number_blind_index")
_INTEGER_CHOICE_COLUMNS = ("retention_flag", "status", "sex")  # dumped by name if left as enum members


def _copy_ready(values: dict[str, Any], columns: tuple[str, ...]) -> tuple[Any, ...]:
    for column in _BYTEA_COLUMNS:
        if column in values:  # bytea hex input (cheaper to format than psycopg's bytes dumper)
            values[column] = "\\x" + values[column].hex()
    for column in _INTEGER_CHOICE_COLUMNS:
        if column in values:
            values[column] = int(values[column])
    return _row_getter(columns)(values)


def _append_versions(
    target: list[tuple[Any, ...]], versions: list[dict[str, Any]], columns: tuple[str, ...], years: set[int]
) -> None:
    for values in versions:
        years.add(values["expiry_year"])
        target.append(_copy_ready(values, columns))


def _identity_rows(rows: ChunkRows, spec: PopulationSpec, index: int, code: str, events: list[_Event]) -> None:
    from prefserver.versions import Envelope, superseded_values, version_values

    person_id = spec.identity_person_base + index
    first_id = spec.identity_version_base + index * spec.max_versions
    sequence = 1 + index % 3  # initial load: update_sequence as given (domain.md §6.3 baselines)
    versions: list[dict[str, Any]] = []
    for offset, event in enumerate(events):
        envelope = Envelope(
            resident_code=code, change_reason=event.reason, change_date=event.date,
            municipality_code=event.municipality_code, operator_id=f"OP{(index + offset) % 9000 + 1000}",
            terminal_id=f"CS{event.municipality_code}-{offset % 20 + 1:02d}", received_on=event.received_on,
            update_sequence=sequence + offset,
        )  # fmt: skip
        values = version_values(
            person_id=person_id, content=event.content, envelope=envelope, removed=event.removed,
            recorded_at=_recorded_at(event.received_on, index),
        )  # fmt: skip
        values["id"] = first_id + offset
        if versions:
            superseded_values(versions[-1], received_on=event.received_on)
        versions.append(values)
    _append_versions(rows.identity_versions, versions, IDENTITY_VERSION_COLUMNS, rows.expiry_years)
    last = versions[-1]
    rows.identity_persons.append((person_id, last["id"], last["expiry_year"], spec.recorded_at))
    rows.identity_codes.append((code, person_id, "", events[0].date, None))


def _furyo_rows(rows: ChunkRows, spec: PopulationSpec, slot: int, code: str, events: list[_FuryoEvent]) -> None:
    from furyo.versions import FuryoEnvelope, superseded_values, version_values

    person_id = spec.furyo_person_base + slot
    first_id = spec.furyo_version_base + slot * spec.max_versions
    sequence = 1 + slot % 2
    versions: list[dict[str, Any]] = []
    for offset, event in enumerate(events):
        sender = event.content["furyo_municipality_code"]  # file (2) notices come from the 附票管理市町村
        envelope = FuryoEnvelope(
            resident_code=code, notice_kind=event.kind, change_date=event.date, municipality_code=sender,
            operator_id=f"OP{(slot + offset) % 9000 + 1000}", terminal_id=f"CS{sender}-{offset % 20 + 1:02d}",
            received_on=event.received_on, update_sequence=sequence + offset,
        )  # fmt: skip
        values = version_values(
            person_id=person_id, content=event.content, envelope=envelope, removed=event.content["status"] == 9,
            recorded_at=_recorded_at(event.received_on, slot),
        )  # fmt: skip
        values["id"] = first_id + offset
        if versions:
            superseded_values(versions[-1], received_on=event.received_on)
        versions.append(values)
    _append_versions(rows.furyo_versions, versions, FURYO_VERSION_COLUMNS, rows.expiry_years)
    last = versions[-1]
    rows.furyo_persons.append((person_id, last["id"], last["expiry_year"], spec.recorded_at))
    rows.furyo_codes.append((code, person_id, "", events[0].date, None))


def generate_chunk(spec: PopulationSpec, chunk: int) -> ChunkRows:
    """All rows of persons [chunk·size, (chunk+1)·size): file (1) and the 附票 this prefecture keeps."""
    rng = random.Random(f"{spec.seed}:{chunk}")  # noqa: S311 - synthetic data, reproducible on purpose
    rows = ChunkRows()
    start = chunk * spec.chunk_size
    for index in range(start, min(spec.residents, start + spec.chunk_size)):
        person, events = _life(rng, spec, index)
        code = resident_code_for(index, spec.seed)
        _identity_rows(rows, spec, index, code, events)
        if rng.random() < 0.85:
            _furyo_rows(rows, spec, 2 * index, code, _furyo_events(rng, spec, person, events))
        if rng.random() < 0.08:
            other_code = resident_code_for(CODE_OFFSET + index, spec.seed)
            _furyo_rows(rows, spec, 2 * index + 1, other_code, _furyo_only_events(rng, spec, index))
    return rows


# --- COPY ---------------------------------------------------------------------------------------------
IDENTITY_VERSION_COLUMNS = (
    "id", "expiry_year", "person_id", "resident_code", "name", "name_gaiji_count", "name_kana", "birth_date", "sex",
    "address", "address_gaiji_count", "individual_number_ciphertext", "change_reason", "change_date",
    "retention_flag", "seion_kana", "municipality_code", "district_code", "operator_id", "terminal_id",
    "recorded_at", "received_on", "gaiji_flag", "deleted", "update_sequence", "name_gaiji_revision",
    "address_gaiji_revision", "former_surname", "former_surname_gaiji_count", "former_surname_kana",
    "former_surname_gaiji_revision", "is_current", "removed", "retention_start", "source_notice_id", "revision",
    "individual_number_key_id", "individual_number_blind_index", "name_key", "address_key",
)  # fmt: skip
FURYO_VERSION_COLUMNS = (
    "id", "expiry_year", "person_id", "resident_code", "name", "name_gaiji_count", "name_kana", "birth_date", "sex",
    "address_municipality_code", "address", "address_gaiji_count", "last_address", "last_address_gaiji_count",
    "change_date", "former_resident_code", "furyo_municipality_code", "status", "gaiji_flag", "gaiji_pattern",
    "notice_kind", "is_current", "removed", "update_sequence", "deleted", "received_on", "recorded_at",
    "municipality_code", "operator_id", "terminal_id", "source_notice_id", "revision", "retention_flag",
    "retention_start", "seion_kana", "name_key", "address_key",
)  # fmt: skip
PERSON_COLUMNS = ("id", "current_version_id", "current_version_expiry_year", "created_at")
CODE_COLUMNS = ("resident_code", "person_id", "replaced_by", "assigned_on", "replaced_on")

# (table, columns, ChunkRows attribute), in load order: persons before their code history (FK).
COPY_TABLES = (
    ("prefserver_identity_person", PERSON_COLUMNS, "identity_persons"),
    ("prefserver_identity_resident_code", CODE_COLUMNS, "identity_codes"),
    ("prefserver_identity_version", IDENTITY_VERSION_COLUMNS, "identity_versions"),
    ("furyo_person", PERSON_COLUMNS, "furyo_persons"),
    ("furyo_resident_code", CODE_COLUMNS, "furyo_codes"),
    ("furyo_version", FURYO_VERSION_COLUMNS, "furyo_versions"),
)


def copy_statement(table: str, columns: tuple[str, ...]) -> str:
    return f"COPY {table} ({', '.join(columns)}) FROM STDIN"


@dataclass
class EncodedChunk:
    """A chunk as COPY text per table (what a worker process sends back), with its row counts."""

    data: dict[str, bytes]
    rows: dict[str, int]
    expiry_years: set[int]


def encode_chunk(spec: PopulationSpec, chunk: int) -> EncodedChunk:
    """Generate a chunk and format it as COPY text with psycopg's own formatter (what `write_row` uses)."""
    from psycopg import _copy_base
    from psycopg.adapt import Transformer

    rows = generate_chunk(spec, chunk)
    transformer = Transformer()
    data: dict[str, bytes] = {}
    counts: dict[str, int] = {}
    for table, _columns, attribute in COPY_TABLES:
        out = bytearray()
        table_rows = getattr(rows, attribute)
        for row in table_rows:
            _copy_base.format_row_text(row, transformer, out)
        data[table], counts[table] = bytes(out), len(table_rows)
    return EncodedChunk(data=data, rows=counts, expiry_years=rows.expiry_years)


def encoded_chunks(spec: PopulationSpec, *, workers: int) -> Iterator[EncodedChunk]:
    """Chunks in order; with workers, at most 2 per worker in flight, so memory does not grow with N."""
    if workers <= 1:
        for chunk in range(spec.chunks):
            yield encode_chunk(spec, chunk)
        return
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(workers) as pool:
        pending: deque[Any] = deque()
        next_chunk = 0
        while next_chunk < spec.chunks or pending:
            while next_chunk < spec.chunks and len(pending) < 2 * workers:
                pending.append(pool.apply_async(encode_chunk, (spec, next_chunk)))
                next_chunk += 1
            yield pending.popleft().get()


ProgressCallback = Callable[[int, int], None]


# --- loading (Django connection) -------------------------------------------------------------------------
@dataclass
class LoadResult:
    spec: PopulationSpec
    rows: dict[str, int]
    seconds: float
    copy_seconds: float = 0.0  # time spent in COPY (PostgreSQL's share); the rest waits for generated chunks
    deferred_ddl: bool = False  # True when the empty-tables fast path dropped and rebuilt indexes/constraints
    rebuild_seconds: float = 0.0  # fast path: recreating constraints and indexes, then ANALYZE


@dataclass(frozen=True)
class DeferredDDL:
    """What `deferred_indexes_for_empty_tables` dropped, as the catalog's own statements to recreate it."""

    drops: tuple[str, ...]
    creates: tuple[str, ...]  # in order: PK/unique/exclusion constraints, plain indexes, then foreign keys
    analyze: Any  # psycopg.sql.Composed


_CATALOG_QUERY = """
SELECT kind, drop_sql, create_sql FROM (
  SELECT 1 AS step, 'fk' AS kind, c.oid::bigint AS ord,
         format('ALTER TABLE %%s DROP CONSTRAINT %%I', c.conrelid::regclass, c.conname) AS drop_sql,
         format('ALTER TABLE %%s ADD CONSTRAINT %%I %%s', c.conrelid::regclass, c.conname,
                pg_get_constraintdef(c.oid)) AS create_sql
    FROM pg_constraint c
   WHERE c.contype = 'f' AND c.conparentid = 0
     AND (c.conrelid = ANY(%(tables)s::regclass[]) OR c.confrelid = ANY(%(tables)s::regclass[]))
  UNION ALL
  SELECT 2, 'constraint', c.oid::bigint,
         format('ALTER TABLE %%s DROP CONSTRAINT %%I', c.conrelid::regclass, c.conname),
         format('ALTER TABLE %%s ADD CONSTRAINT %%I %%s', c.conrelid::regclass, c.conname, pg_get_constraintdef(c.oid))
    FROM pg_constraint c
   WHERE c.contype IN ('p', 'u', 'x') AND c.conparentid = 0 AND c.conrelid = ANY(%(tables)s::regclass[])
  UNION ALL
  SELECT 3, 'index', i.indexrelid::bigint,
         format('DROP INDEX %%s', i.indexrelid::regclass),
         -- a partitioned table's index reads "ON ONLY t": recreated without ONLY it recurses to the partitions
         CASE WHEN t.relkind = 'p' THEN regexp_replace(pg_get_indexdef(i.indexrelid), ' ON ONLY ', ' ON ')
              ELSE pg_get_indexdef(i.indexrelid) END
    FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
   WHERE i.indrelid = ANY(%(tables)s::regclass[])
     AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.contype IN ('p', 'u', 'x'))
) AS ddl ORDER BY step, ord
"""


def deferred_indexes_for_empty_tables(cursor: Any, tables: Sequence[str]) -> DeferredDDL | None:
    """Initial-load fast path, step 1: if every table is EMPTY, drop its indexes and constraints (bar CHECK
    and NOT NULL) and return the statements that recreate them; None (nothing dropped) if any holds a row.

    Safety: runs inside the caller's transaction after `LOCK TABLE … ACCESS EXCLUSIVE` (no one can add a row
    between the emptiness check and the load, nor read a table without its indexes); the DDL is PostgreSQL's
    own (pg_get_indexdef / pg_get_constraintdef of the objects the migrations created), so nothing is
    forked; a failure anywhere rolls the drops back with the data. Triggers (append-only guards) stay.
    Foreign keys from and to the tables are dropped too and re-validated in one pass when re-added.
    Call `rebuild_deferred_indexes` before the transaction commits (until then the tables have no indexes,
    no unique or primary keys and no foreign keys: only the loader may write them, which the lock ensures).
    """
    from psycopg import sql

    names = sql.SQL(", ").join(map(sql.Identifier, tables))
    cursor.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(names))
    for table in tables:
        cursor.execute(sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(sql.Identifier(table)))
        if cursor.fetchone()[0]:
            return None
    cursor.execute(_CATALOG_QUERY, {"tables": list(tables)})
    ddl = cursor.fetchall()
    for _kind, drop_sql, _create_sql in ddl:
        cursor.execute(drop_sql)
    ordered = [create for kind, _, create in ddl if kind == "constraint"]
    ordered += [create for kind, _, create in ddl if kind == "index"]
    ordered += [create for kind, _, create in ddl if kind == "fk"]
    return DeferredDDL(
        drops=tuple(d for _, d, _ in ddl), creates=tuple(ordered), analyze=sql.SQL("ANALYZE {}").format(names)
    )


def rebuild_deferred_indexes(cursor: Any, deferred: DeferredDDL, *, analyze: bool = False) -> None:
    """Initial-load fast path, step 2: recreate what step 1 dropped (sorted builds, parallel workers on big
    partitions) and re-validate the foreign keys in one pass each.

    CREATE INDEX records each table's row count (pg_class.reltuples) for the planner; column statistics come
    from autovacuum's ANALYZE of the partitions after commit. `analyze=True` runs ANALYZE here instead (on
    the busy 2-core bench machine about 10 s whatever the size: two partitioned tables of ~30 partitions).
    """
    cursor.execute("SET LOCAL max_parallel_maintenance_workers = 2")
    cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
    for statement in deferred.creates:
        cursor.execute(statement)
    if analyze:
        cursor.execute(deferred.analyze)


def _reserve_ids(cursor: Any, table: str, count: int) -> int:
    """Reserve `count` ids from the table's sequence; returns the first. Concurrent writers get later ids."""
    cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
    sequence = cursor.fetchone()[0]
    cursor.execute("SELECT nextval(%s)", [sequence])
    first = int(cursor.fetchone()[0])
    cursor.execute("SELECT setval(%s, %s)", [sequence, first + count])
    return first


def population_spec(
    *, prefecture_code: str, residents: int, history_per_person: int = 1, seed: int = 1, chunk_size: int = 5000
) -> PopulationSpec:
    """Read the prefecture's municipalities and reserve id blocks (call inside the load transaction)."""
    from django.db import connection

    from jukinet.models import Municipality, Prefecture

    prefecture = Prefecture.objects.get(code=prefecture_code)
    senders = Municipality.objects.filter(prefecture=prefecture, is_sender=True).order_by("code")
    others = (
        Municipality.objects.filter(is_sender=True)
        .exclude(prefecture=prefecture)
        .select_related("prefecture")
        .order_by("code")
    )
    probe = PopulationSpec(prefecture_code, prefecture.name, (), (), residents, history_per_person, seed, chunk_size)
    with connection.cursor() as cursor:
        identity_person_base = _reserve_ids(cursor, "prefserver_identity_person", residents)
        identity_version_base = _reserve_ids(cursor, "prefserver_identity_version", residents * probe.max_versions)
        furyo_person_base = _reserve_ids(cursor, "furyo_person", 2 * residents)
        furyo_version_base = _reserve_ids(cursor, "furyo_version", 2 * residents * probe.max_versions)
    return PopulationSpec(
        prefecture_code=prefecture_code,
        prefecture_name=prefecture.name,
        municipalities=tuple((m.code, m.name) for m in senders),
        elsewhere=tuple((m.code, f"{m.prefecture.name}{m.name}") for m in others),
        residents=residents,
        history_per_person=history_per_person,
        seed=seed,
        chunk_size=chunk_size,
        identity_person_base=identity_person_base,
        identity_version_base=identity_version_base,
        furyo_person_base=furyo_person_base,
        furyo_version_base=furyo_version_base,
    )


def expiry_years_ahead() -> range:
    """Every expiry year the generator can produce (change dates from 2002-08-05 to REFERENCE_DATE)."""
    from jukinet.partitions import expiry_year_for

    return range(expiry_year_for(JUKINET_START.year), expiry_year_for(REFERENCE_DATE.year) + 1)


def population_load(
    *,
    prefecture_code: str,
    residents: int,
    history_per_person: int = 1,
    seed: int = 1,
    workers: int = 0,
    chunk_size: int = 5000,
    progress: ProgressCallback | None = None,
    defer_indexes: bool = True,
) -> LoadResult:
    """Generate and COPY a synthetic population in one transaction (all or nothing). Memory stays flat:
    chunks stream through COPY, with at most two per worker in flight.

    Into empty tables (an initial or migration load) and with `defer_indexes`, indexes and constraints are
    dropped before the COPY and rebuilt after it in the same transaction (see
    `deferred_indexes_for_empty_tables`); the six tables are locked ACCESS EXCLUSIVE until commit. Into
    tables that hold rows, the COPY maintains the indexes as it goes and the tables stay readable.
    """
    import time

    from django.db import connection, transaction

    from jukinet.partitions import ensure_partitions

    started = time.perf_counter()
    totals = {table: 0 for table, _, _ in COPY_TABLES}
    tables = [table for table, _, _ in COPY_TABLES]
    copy_seconds = rebuild_seconds = 0.0
    with transaction.atomic():
        with connection.cursor() as wrapper:
            cursor = wrapper.cursor  # psycopg's own cursor: COPY
            deferred = deferred_indexes_for_empty_tables(cursor, tables) if defer_indexes else None
        spec = population_spec(
            prefecture_code=prefecture_code, residents=residents, history_per_person=history_per_person,
            seed=seed, chunk_size=chunk_size,
        )  # fmt: skip
        with connection.cursor() as wrapper:
            cursor = wrapper.cursor
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # FK checks per statement, not queued to commit
            partition_years: set[int] = set()
            for done, encoded in enumerate(encoded_chunks(spec, workers=workers), start=1):
                copy_started = time.perf_counter()
                if not encoded.expiry_years <= partition_years:
                    for table in ("prefserver_identity_version", "furyo_version"):
                        ensure_partitions(table, encoded.expiry_years)
                    partition_years |= encoded.expiry_years
                for table, columns, _ in COPY_TABLES:
                    with cursor.copy(copy_statement(table, columns)) as copy:
                        copy.write(encoded.data[table])
                    totals[table] += encoded.rows[table]
                copy_seconds += time.perf_counter() - copy_started
                if progress:
                    progress(done, spec.chunks)
            if deferred is not None:
                rebuild_started = time.perf_counter()
                rebuild_deferred_indexes(cursor, deferred)
                rebuild_seconds = time.perf_counter() - rebuild_started
    return LoadResult(
        spec=spec, rows=totals, seconds=time.perf_counter() - started, copy_seconds=copy_seconds,
        deferred_ddl=deferred is not None, rebuild_seconds=rebuild_seconds,
    )  # fmt: skip
