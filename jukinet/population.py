"""Synthetic population of one prefecture, loaded with COPY (`manage.py generate_population`).

Synthetic data only. Deterministic for a seed: person i of chunk c is drawn from `random.Random(f"{seed}:{c}")`
and the pools below from `random.Random(f"{seed}:pools")`, so the content does not depend on the number of
worker processes (ciphertexts differ between runs: AES-GCM nonces are random, as they must be).

Speed (8 rows per resident; about 34 µs of CPU per resident alone, 44 µs in bench/load_population.py on the
shared machine): `_ChunkWriter` writes each row in PostgreSQL's binary COPY format (COPY … FROM STDIN
(FORMAT binary)): the server skips text parsing, hex decoding of bytea and date/timestamp parsing (about a fifth
of its COPY CPU), and the worker skips hex encoding.
Names (with kana, seion kana and name key), addresses (with address key and district code), dates, retention
columns and operator/terminal ids are drawn from pools whose binary fields (length + send format) are computed
once per process; a row is the join of those fragments with a struct-packed head. The derived columns are the
ones the real writers store: search keys from prefserver.versions' memoised search-key functions, the
ciphertext in jukinet.crypto's format under the active key with the writer's associated data and a fresh random
nonce per value, the blind index of jukinet.crypto, retention by jukinet.version_retention's rule.
`test_fast_rows_are_what_the_version_writers_store` re-derives every column of generated rows with
prefserver/furyo `version_values` and `superseded_values` and compares them, field by field, with psycopg's
own binary COPY formatting of those values.

Codes are unique without memory: resident code i is an affine permutation of i over 10^10 (check digit
appended), individual number i one over 10^11. Ids come from blocks reserved on the tables' sequences; a
person's version ids are `base + i * max_versions + j`, so ids have gaps (harmless, bigint).

Proportions (made up to look plausible, not statistics): ~7 % of file (1) persons removed (転出 4 %, 死亡
2 % + more among the old, 国外転出 0.7 %, 職権消除 0.3 %); superseded versions ≈ `history_per_person` per
person; ~85 % of residents keep their 附票 here (本籍 in the prefecture), plus ~8 % extra 附票 persons living in
another prefecture; emigrants' 附票 have status 2; the dead and ex-officio removed have status 9. Addresses come
from a pool of 2,048 per municipality (4,096 in other prefectures), so neighbours share addresses.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import random
import struct
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from jukinet.crypto import NONCE_BYTES
from jukinet.identifiers import INDIVIDUAL_NUMBER_WEIGHTS, RESIDENT_CODE_WEIGHTS
from jukinet.partitions import SENTINEL_YEAR
from jukinet.search_keys import address_key, name_key, seion_kana

T = TypeVar("T")
REFERENCE_DATE = dt.date(2026, 4, 1)  # fixed "today" of the generator: the output must not depend on the day
JUKINET_START = dt.date(2002, 8, 5)  # 住基ネット 第一次稼働: the earliest change date generated
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
        """Entry + removal + up to 2K changes, each a move at most (転出 + 転入: two versions)."""
        return 2 + 4 * self.history_per_person

    @property
    def chunks(self) -> int:
        return -(-self.residents // self.chunk_size)


# --- codes ------------------------------------------------------------------------------------------
@functools.cache
def _affine(seed: int, modulus: int, salt: int) -> tuple[int, int]:
    rng = random.Random(f"{seed}:codes:{salt}")  # noqa: S311 - synthetic data, reproducible on purpose
    while True:
        a = rng.randrange(modulus // 10, modulus)
        if a % 2 and a % 5:  # coprime with 10^k: i → a·i + b is a permutation
            return a, rng.randrange(modulus)


def _block_sums(weights: tuple[int, ...]) -> list[int]:
    """Weighted digit sums of every block of len(weights) digits, indexed by the block's value."""
    sums = [0]
    for weight in weights:  # most significant digit first
        sums = [total + weight * digit for total in sums for digit in range(10)]
    return sums


@functools.cache
def _code_makers(seed: int) -> tuple[Callable[[int], str], Callable[[int], str]]:
    """(resident code of index i, individual number of index i) for a seed. The weighted sums of domain.md §3
    (jukinet.identifiers' weights) come from lookup tables by 5-digit block: a check digit costs three list
    lookups instead of a digit-by-digit sum (tests compare the two)."""
    code_a, code_b = _affine(seed, 10**10, 1)
    number_a, number_b = _affine(seed, 10**11, 2)
    rc, inn = RESIDENT_CODE_WEIGHTS, INDIVIDUAL_NUMBER_WEIGHTS
    code_high, code_low = _block_sums(rc[:5]), _block_sums(rc[5:])
    number_top, number_middle, number_low = _block_sums(inn[:1]), _block_sums(inn[1:6]), _block_sums(inn[6:])
    check = [0 if remainder <= 1 else 11 - remainder for remainder in range(11)]  # same rule for both

    def resident_code(index: int) -> str:
        body = (code_a * index + code_b) % 10**10
        return f"{body:010d}{check[(code_high[body // 100000] + code_low[body % 100000]) % 11]}"

    def individual_number(index: int) -> str:
        body = (number_a * index + number_b) % 10**11
        total = number_top[body // 10**10] + number_middle[body // 100000 % 100000] + number_low[body % 100000]
        return f"{body:011d}{check[total % 11]}"

    return resident_code, individual_number


def resident_code_for(index: int, seed: int) -> str:
    return _code_makers(seed)[0](index)


def individual_number_for(index: int, seed: int) -> str:
    return _code_makers(seed)[1](index)


# --- pools: everything a person is drawn from, with its binary COPY fields computed once per process -------
_DAY_ZERO = dt.date(1925, 1, 1)  # day numbers: the generator draws dates as days since this date


def _day(date: dt.date) -> int:
    return (date - _DAY_ZERO).days


REFERENCE_DAY, JUKINET_START_DAY = _day(REFERENCE_DATE), _day(JUKINET_START)
BIRTH_1945_DAY = _day(dt.date(1945, 1, 1))
FURYO_BIRTH_FIRST_DAY, FURYO_BIRTH_LAST_DAY = _day(dt.date(1930, 1, 1)), _day(dt.date(2020, 1, 1))

# PostgreSQL's binary COPY format (https://www.postgresql.org/docs/15/sql-copy.html, "Binary Format"): a
# signature, then per row an int16 field count and per field an int32 length (-1: NULL) and the type's binary
# send format: integers big-endian, bool one byte, date int32 days since 2000-01-01, timestamptz int64 µs
# since 2000-01-01 UTC, text/varchar UTF-8 bytes, bytea raw bytes; an int16 -1 ends the data.
COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
COPY_TRAILER = b"\xff\xff"
NULL = b"\xff\xff\xff\xff"
_PG_EPOCH_DAY = _day(dt.date(2000, 1, 1))
_MICROSECONDS_PER_DAY = 86_400_000_000
_LENGTH = struct.Struct(">i").pack
_INT2 = struct.Struct(">ih").pack
_INT4 = struct.Struct(">ii").pack
_INT8 = struct.Struct(">iq").pack
_VERSION_HEAD = struct.Struct(">hiqihiq").pack  # field count, id, expiry_year, person_id
_PERSON_ROW = struct.Struct(">hiqiqih").pack  # field count, id, current_version_id, current_version_expiry_year


_EMPTY_TEXT = b"\x00\x00\x00\x00"  # '' (not NULL)
GCM_TAG_BYTES = 16  # AESGCM.encrypt appends a 16-byte tag


def _text(value: str) -> bytes:
    data = value.encode()
    return _LENGTH(len(data)) + data


def _bytea(value: bytes) -> bytes:
    return _LENGTH(len(value)) + value


def _int2(value: int) -> bytes:
    return _INT2(2, value)


def _int4(value: int) -> bytes:
    return _INT4(4, value)


def _bool(value: bool) -> bytes:
    return b"\x00\x00\x00\x01\x01" if value else b"\x00\x00\x00\x01\x00"


def _date(day: int) -> bytes:
    return _INT4(4, day - _PG_EPOCH_DAY)


def _timestamptz(moment: dt.datetime) -> bytes:
    return _INT8(8, (moment - dt.datetime(2000, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1))


class _Pools:
    """Per process and spec: names with their kana and search keys, addresses with their address keys and
    district codes, dates, expiry years and retention columns, as ready binary COPY fields.

    The fragments hold only generated content and what prefserver/furyo `version_values` derive from it
    (seion_kana, name_key, address_key, from jukinet.search_keys as the writers use them); the retention columns follow
    jukinet.version_retention. `test_fast_rows_are_what_the_version_writers_store` checks every column of
    generated rows against the writers.
    """

    ADDRESSES_PER_MUNICIPALITY = 2048
    ELSEWHERE_ADDRESSES = 4096

    def __init__(self, spec: PopulationSpec) -> None:
        from jukinet.crypto import associated_data
        from jukinet.version_retention import CURRENT, RETAINED, retention_for
        from prefserver import versions as identity_versions

        # each name and address of the pools is keyed once: the plain functions, no cache
        self.seion_kana, self.name_key, self.address_key = seion_kana, name_key, address_key
        rng = random.Random(f"{spec.seed}:pools")  # noqa: S311 - synthetic data, reproducible on purpose
        self.municipality_codes = [code for code, _ in spec.municipalities]
        self.addresses = [
            [self._address(rng, spec, municipality) for _ in range(self.ADDRESSES_PER_MUNICIPALITY)]
            for municipality in spec.municipalities
        ]
        self.elsewhere = [self._elsewhere(rng, spec) for _ in range(self.ELSEWHERE_ADDRESSES)]
        self.countries = [(_text(country), _text(self.address_key(country))) for country in COUNTRIES]
        self.dates = [_date(day) for day in range(REFERENCE_DAY + 1)]
        # recorded_at: the receipt date plus a few seconds (never in the future), µs since PostgreSQL's epoch
        self.day_microseconds = [(day - _PG_EPOCH_DAY) * _MICROSECONDS_PER_DAY for day in range(REFERENCE_DAY + 1)]
        # A version's expiry year and state columns "is_current, removed, deleted, retention_flag, retention_start"
        # (jukinet.version_retention): by the day its clock starts, as (expiry year, superseded, removal version
        # still current, removal version superseded); the current version of a person not removed has no clock.
        self.retained: list[tuple[int, bytes, bytes, bytes]] = []
        for day in range(len(self.dates)):
            start, expiry = retention_for(_DAY_ZERO + dt.timedelta(days=day))
            clock = _int2(RETAINED) + _date(_day(start))
            self.retained.append(
                (
                    expiry,
                    _bool(False) + _bool(False) + _bool(False) + clock,
                    _bool(True) + _bool(True) + _bool(False) + clock,
                    _bool(False) + _bool(True) + _bool(False) + clock,
                )
            )
        self.current = (SENTINEL_YEAR, _bool(True) + _bool(False) + _bool(False) + _int2(CURRENT) + NULL)
        self.int2 = [_int2(number) for number in range(100)]
        # small counts, and update_sequence: up to 3 + a person's versions (so as many as max_versions allows)
        self.int4 = [_int4(number) for number in range(max(100, spec.max_versions + 3))]
        self.operators = [_text(f"OP{i + 1000}") for i in range(9000)]
        self.codes = {code: _text(code) for code in (*self.municipality_codes, *(c for c, _ in spec.elsewhere))}
        self.terminals = {
            code: [_text(f"CS{code}-{offset % 20 + 1:02d}") for offset in range(spec.max_versions)]
            for code in self.municipality_codes
        }
        self.reasons = {reason: _text(reason) for reason in ("11", "12", "13", "21", "23", "24", "26", "31", "32",
                                                                "33", "34", "51", "52", "53", "54")}  # fmt: skip
        self.names: dict[tuple[str, str, str, str, bool, bool], tuple[bytes, bytes]] = {}
        self.former = {surname: _text(surname[0]) + _int2(0) + _text(surname[1]) + _int4(0) for surname in SURNAMES}
        self.identity_table = identity_versions.VERSION_TABLE
        self.associated_data = associated_data
        self.created_at = _timestamptz(spec.recorded_at)

    def _address(self, rng: random.Random, spec: PopulationSpec, municipality: tuple[str, str]) -> tuple[Any, ...]:
        """(address, identity fields, furyo fields): prefecture + municipality + synthetic 町名 + 丁目/番/号
        (+ 方書 sometimes)."""
        town = int(rng.random() * len(TOWNS))
        text = (
            f"{spec.prefecture_name}{municipality[1]}{TOWNS[town]}{_pick(rng, KANJI_NUMBERS)}丁目"
            f"{_between(rng, 1, 30)}番{_between(rng, 1, 25)}号"
        )
        if rng.random() < 0.08:
            text += f"　{_pick(rng, BUILDINGS)}{TOWNS[town]}{_between(rng, 1, 5)}0{_between(rng, 1, 9)}号室"
        key = _text(self.address_key(text))
        # identity: address, address_gaiji_count, address_gaiji_revision, address_key, district_code
        # furyo: address_municipality_code, address, address_gaiji_count, address_key, last_address(+count)
        return (
            _text(text),
            _text(text) + _int2(0) + _int4(0) + key + _text(f"{town + 1:04d}"),
            _text(municipality[0]) + _text(text) + _int2(0) + key + NULL + NULL,
        )

    def _elsewhere(self, rng: random.Random, spec: PopulationSpec) -> tuple[bytes, bytes]:
        """(address, furyo address fields) of an address in another prefecture."""
        code, place = _pick(rng, spec.elsewhere)
        text = f"{place}{_pick(rng, TOWNS)}{_between(rng, 1, 40)}番地{_between(rng, 1, 20)}"
        return _text(text), _text(code) + _text(text) + _int2(0) + _text(self.address_key(text)) + NULL + NULL

    def name(
        self, surname: tuple[str, str], given: tuple[str, str], gaiji: bool, hiragana: bool
    ) -> tuple[bytes, bytes]:
        """(identity fields, furyo fields) of a name: name, name_gaiji_count, name_kana, seion_kana, name_key,
        gaiji_flag, then name_gaiji_revision (identity) or gaiji_pattern (furyo)."""
        key = (*surname, *given, gaiji, hiragana)
        found = self.names.get(key)
        if found is None:
            name = f"{surname[0]}{GAIJI[0] if gaiji else ''}　{given[0]}"
            kana = f"{surname[1]}　{given[1]}"
            kana = kana.translate(_TO_HIRAGANA) if hiragana else kana  # some municipalities send hiragana
            common = (
                _text(name) + _int2(int(gaiji)) + _text(kana) + _text(self.seion_kana(kana))
                + _text(self.name_key(name)) + _bool(gaiji)
            )  # fmt: skip
            found = self.names[key] = (common + _int4(int(gaiji)), common + _text("P01" if gaiji else ""))
        return found


@functools.lru_cache(maxsize=4)
def _pools(spec: PopulationSpec) -> _Pools:
    return _Pools(spec)


def _pick(rng: random.Random, items: Sequence[T]) -> T:
    """rng.choice without its bookkeeping (randrange is a third of the generator's random cost)."""
    return items[int(rng.random() * len(items))]


def _between(rng: random.Random, low: int, high: int) -> int:
    """Like rng.randint(low, high), inclusive."""
    return low + int(rng.random() * (high - low + 1))


# --- people -------------------------------------------------------------------------------------------
# An identity event: (reason, day, received day, removed, sender, name fields (identity, furyo), address
# (text, identity fields, furyo fields), former-surname fields, individual number).
_Event = tuple[str, int, int, bool, str, tuple[bytes, bytes], tuple[Any, ...], bytes, str]
_NO_FORMER_SURNAME = NULL * 4
_RECEIPT_DELAYS = (0, 0, 0, 1, 2)


class _ChunkWriter:
    """Writes one chunk's rows in binary COPY format, per table (see encode_chunk)."""

    def __init__(self, spec: PopulationSpec, chunk: int) -> None:
        from jukinet.crypto import active_cipher, blind_indexer

        self.spec, self.pools = spec, _pools(spec)
        self.resident_code, self.individual_number = _code_makers(spec.seed)
        # a fresh random nonce per ciphertext, drawn for the whole chunk at once
        self.nonces, self.nonce_at = os.urandom(NONCE_BYTES * spec.chunk_size * spec.max_versions), 0
        # the keys as configured now (key rotation, tests): the same calls encrypt_individual_number makes
        self.key_id, self.cipher_prefix, self.aead = active_cipher()
        self.blind_index = blind_indexer()
        self.rng = random.Random(f"{spec.seed}:{chunk}")  # noqa: S311 - synthetic data, reproducible on purpose
        self.identity_persons: list[bytes] = []
        self.identity_codes: list[bytes] = []
        self.identity_versions: list[bytes] = []
        self.furyo_persons: list[bytes] = []
        self.furyo_codes: list[bytes] = []
        self.furyo_versions: list[bytes] = []
        self.expiry_years: set[int] = set()

    def resident(self, index: int) -> None:
        """A file (1) person's life as notices, then the 附票 kept here if their 本籍 is in the prefecture."""
        spec, pools, random_ = self.spec, self.pools, self.rng.random
        sex = 1 if random_() < 0.5 else 2
        given = (GIVEN_MALE if sex == 1 else GIVEN_FEMALE)[int(random_() * len(GIVEN_MALE))]
        birth = int(random_() * (REFERENCE_DAY - 30))
        m = int(random_() * len(pools.municipality_codes))
        municipality = pools.municipality_codes[m]
        address = pools.addresses[m][int(random_() * pools.ADDRESSES_PER_MUNICIPALITY)]
        surname = SURNAMES[int(random_() * len(SURNAMES))]
        gaiji, hiragana = random_() < 0.01, random_() < 0.1
        name = pools.name(surname, given, gaiji, hiragana)
        number = self.individual_number(index)
        former: tuple[str, str] | None = None
        former_columns = _NO_FORMER_SURNAME
        if birth > JUKINET_START_DAY:
            first_reason, first_day = "12", birth
        elif random_() < 0.6:
            first_reason, first_day = "13", JUKINET_START_DAY
        else:
            first_reason, first_day = "11", JUKINET_START_DAY + int(random_() * (REFERENCE_DAY - JUKINET_START_DAY))
        changes = int(random_() * (2 * spec.history_per_person + 1))
        old = birth < BIRTH_1945_DAY
        roll = random_()
        removal = (
            "32" if roll < (0.15 if old else 0.02) else "31" if roll < 0.06 + (0.13 if old else 0) else
            "34" if roll < 0.067 + (0.13 if old else 0) else "33" if roll < 0.07 + (0.13 if old else 0) else None
        )  # fmt: skip
        steps = changes + (1 if removal else 0)
        span = REFERENCE_DAY - 3 - first_day
        if span <= 0:
            days = [first_day] * steps
        elif steps == 1:
            days = [first_day + int(random_() * span)]
        else:
            days = sorted([first_day + int(random_() * span) for _ in range(steps)])

        def received(day: int) -> int:
            return min(day + _RECEIPT_DELAYS[int(random_() * 5)], REFERENCE_DAY)

        events: list[_Event] = [
            (first_reason, first_day, received(first_day), False, municipality, name, address, former_columns, number)
        ]
        for step, day in enumerate(days):
            if removal and step == steps - 1:
                events.append((removal, day, received(day), True, municipality, name, address, former_columns, number))
                break
            roll = random_()
            if sex == 2 and former is None and roll < 0.15:
                if random_() < 0.4:
                    reason, former = "24", surname
                    former_columns = pools.former[surname]
                else:
                    reason, surname = "23", SURNAMES[int(random_() * len(SURNAMES))]
                    name = pools.name(surname, given, gaiji, hiragana)
            elif roll < 0.003:
                reason, number = "26", self.individual_number(CODE_OFFSET * 10 + index)
            elif random_() < 0.3:  # a move to another municipality: 転出, then 転入 (domain.md §6.3: no special case)
                events.append(("31", day, received(day), True, municipality, name, address, former_columns, number))
                m = int(random_() * len(pools.municipality_codes))
                municipality = pools.municipality_codes[m]
                address = pools.addresses[m][int(random_() * pools.ADDRESSES_PER_MUNICIPALITY)]
                reason = "11"
            else:  # 転居
                reason, address = "21", pools.addresses[m][int(random_() * pools.ADDRESSES_PER_MUNICIPALITY)]
            events.append((reason, day, received(day), False, municipality, name, address, former_columns, number))
        code, birth_columns = self.resident_code(index), pools.dates[birth] + pools.int2[sex]
        self._identity(index, code, events, birth_columns)
        if random_() < 0.85:
            self._furyo_of_resident(index, code, events, birth_columns)
        if random_() < 0.08:
            self._furyo_only(index)

    def _identity(self, index: int, code: str, events: list[_Event], birth: bytes) -> None:
        pools, spec = self.pools, self.spec
        dates, retained, operators, reasons = pools.dates, pools.retained, pools.operators, pools.reasons
        person_id = spec.identity_person_base + index
        first_id = spec.identity_version_base + index * spec.max_versions
        sequence = 1 + index % 3  # initial load: update_sequence as given (domain.md §6.3 baselines)
        clock = index % 28800 * 1_000_000  # recorded at the receipt date plus a few seconds: never in the future
        microseconds = pools.day_microseconds
        aad = pools.associated_data(table=pools.identity_table, person_id=person_id)
        encrypt, prefix, key_id = self.aead.encrypt, self.cipher_prefix, _text(self.key_id)
        nonces, nonce_at = self.nonces, self.nonce_at
        self.nonce_at += NONCE_BYTES * len(events)
        known, plaintext, constant, sized = "", b"", b"", b""  # the last number seen (it changes on 26 only)
        last = len(events) - 1
        out, years, int4 = self.identity_versions, self.expiry_years, pools.int4
        code_field, codes, terminals = _text(code), pools.codes, pools.terminals
        fields = len(IDENTITY_VERSION_COLUMNS)
        no_notice = NULL + int4[0]  # source_notice_id, revision
        for offset, (reason, day, receipt, removed, sender, name, address, former, number) in enumerate(events):
            if removed:  # a removal version carries its retention from its insert (domain.md §13)
                retention = retained[receipt]
                expiry, state = retention[0], retention[2] if offset == last else retention[3]
            elif offset < last:  # superseded by the next version: its clock starts on that receipt
                expiry, state = retained[events[offset + 1][2]][:2]
            else:
                expiry, state = pools.current
            years.add(expiry)
            if number is not known:  # key id, blind index, birth date and sex: one fragment per number
                known, plaintext = number, number.encode()
                constant = key_id + _bytea(self.blind_index(plaintext)) + birth
                # the ciphertext's length field: prefix, nonce, the number's bytes and the GCM tag
                sized = _LENGTH(len(prefix) + NONCE_BYTES + len(plaintext) + GCM_TAG_BYTES) + prefix
            nonce = nonces[nonce_at : nonce_at + NONCE_BYTES]
            nonce_at += NONCE_BYTES
            out.append(
                b"".join((
                    _VERSION_HEAD(fields, 8, first_id + offset, 2, expiry, 8, person_id), code_field, reasons[reason],
                    dates[day], dates[receipt], _INT8(8, microseconds[receipt] + clock), codes[sender],
                    operators[(index + offset) % 9000], terminals[sender][offset], int4[sequence + offset], no_notice,
                    state, sized, nonce, encrypt(nonce, plaintext, aad), constant, name[0], address[1], former,
                ))
            )  # fmt: skip
        self.identity_persons.append(_PERSON_ROW(4, 8, person_id, 8, first_id + last, 2, expiry) + pools.created_at)
        self.identity_codes.append(
            b"\x00\x05" + code_field + _INT8(8, person_id) + _EMPTY_TEXT + dates[events[0][1]] + NULL
        )

    def _furyo_of_resident(self, index: int, code: str, events: list[_Event], birth: bytes) -> None:
        """The 附票 kept here for a resident whose 本籍 is in the prefecture: it follows the file (1) life."""
        pools, random_ = self.pools, self.rng.random
        home = pools.municipality_codes[int(random_() * len(pools.municipality_codes))]
        # a 附票 event: (notice kind, day, received day, status, name columns, address columns)
        out: list[tuple[str, int, int, int, bytes, bytes]] = []
        previous_address = b""
        last = len(events) - 1
        for position, (reason, day, receipt, _removed, _sender, name, address, _former, _number) in enumerate(events):
            if not out:
                out.append(("51", day, receipt, 1, name[1], address[2]))
            elif reason in ("32", "33"):  # death, ex-officio removal: 附票の消除
                out.append(("54", day, receipt, 9, out[-1][4], out[-1][5]))
            elif reason == "34":  # emigration: abroad, last domestic address kept
                country, key = pools.countries[int(random_() * len(pools.countries))]
                fields = NULL + country + pools.int2[0] + key + previous_address + pools.int2[0]
                out.append(("53", day, receipt, 2, name[1], fields))
            elif reason == "31" and position < last:
                continue  # a move inside the prefecture: the following 転入 brings the new address
            elif reason == "31":  # moved to another prefecture: the 附票 stays here (本籍)
                elsewhere = pools.elsewhere[int(random_() * pools.ELSEWHERE_ADDRESSES)][1]
                out.append(("52", day, receipt, 1, name[1], elsewhere))
            elif reason == "26":
                continue  # no individual number in file (2): nothing to notify
            else:
                out.append(("52", day, receipt, 1, name[1], address[2]))
            previous_address = address[0]
        self._furyo(2 * index, code, home, out, birth)

    def _furyo_only(self, index: int) -> None:
        """A person living in another prefecture whose 附票 a municipality here keeps (本籍 here)."""
        spec, pools, random_ = self.spec, self.pools, self.rng.random
        sex = 1 if random_() < 0.5 else 2
        surname = SURNAMES[int(random_() * len(SURNAMES))]
        given = (GIVEN_MALE if sex == 1 else GIVEN_FEMALE)[int(random_() * len(GIVEN_MALE))]
        home = pools.municipality_codes[int(random_() * len(pools.municipality_codes))]
        name = pools.name(surname, given, False, random_() < 0.1)[1]
        birth_day = FURYO_BIRTH_FIRST_DAY + int(random_() * (FURYO_BIRTH_LAST_DAY - FURYO_BIRTH_FIRST_DAY))
        day = JUKINET_START_DAY + int(random_() * (REFERENCE_DAY - 400 - JUKINET_START_DAY))
        address_text, address = pools.elsewhere[int(random_() * pools.ELSEWHERE_ADDRESSES)]
        events = [("51", day, day, 1, name, address)]
        for _ in range(int(random_() * (spec.history_per_person + 1))):
            day += int(random_() * (REFERENCE_DAY - 3 - day))
            address_text, address = pools.elsewhere[int(random_() * pools.ELSEWHERE_ADDRESSES)]
            events.append(("52", day, day + 1, 1, name, address))
        if random_() < 0.03:
            day += int(random_() * (REFERENCE_DAY - 2 - day))
            country, key = pools.countries[0]
            events.append(
                ("53", day, day + 1, 2, name, NULL + country + pools.int2[0] + key + address_text + pools.int2[0])
            )
        code = self.resident_code(CODE_OFFSET + index)
        self._furyo(2 * index + 1, code, home, events, pools.dates[birth_day] + pools.int2[sex])

    def _furyo(
        self, slot: int, code: str, home: str, events: list[tuple[str, int, int, int, bytes, bytes]], birth: bytes
    ) -> None:
        pools, spec = self.pools, self.spec
        dates, retained, operators, reasons = pools.dates, pools.retained, pools.operators, pools.reasons
        person_id = spec.furyo_person_base + slot
        first_id = spec.furyo_version_base + slot * spec.max_versions
        sequence = 1 + slot % 2
        clock = slot % 28800 * 1_000_000
        microseconds = pools.day_microseconds
        last = len(events) - 1
        out, years, int2, int4 = self.furyo_versions, self.expiry_years, pools.int2, pools.int4
        code_field, home_field, terminals = _text(code), pools.codes[home], pools.terminals[home]
        fields = len(FURYO_VERSION_COLUMNS)
        no_notice = NULL + int4[0]  # source_notice_id, revision
        # file (2) notices come from the 附票管理市町村 (home); status 9 is a removal (furyo.versions)
        for offset, (kind, day, receipt, status, name, address) in enumerate(events):
            if status == 9:
                retention = retained[receipt]
                expiry, state = retention[0], retention[2] if offset == last else retention[3]
            elif offset < last:
                expiry, state = retained[events[offset + 1][2]][:2]
            else:
                expiry, state = pools.current
            years.add(expiry)
            out.append(
                b"".join((
                    _VERSION_HEAD(fields, 8, first_id + offset, 2, expiry, 8, person_id), code_field, reasons[kind],
                    dates[day], dates[receipt], _INT8(8, microseconds[receipt] + clock), home_field,
                    operators[(slot + offset) % 9000], terminals[offset], int4[sequence + offset], no_notice, state,
                    home_field, int2[status], NULL, name, birth, address,
                ))
            )  # fmt: skip
        self.furyo_persons.append(_PERSON_ROW(4, 8, person_id, 8, first_id + last, 2, expiry) + pools.created_at)
        self.furyo_codes.append(
            b"\x00\x05" + code_field + _INT8(8, person_id) + _EMPTY_TEXT + dates[events[0][1]] + NULL
        )


# --- COPY ---------------------------------------------------------------------------------------------
# Column orders of the COPY text _ChunkWriter writes: per-version columns first, then the content fragments.
IDENTITY_VERSION_COLUMNS = (
    "id", "expiry_year", "person_id", "resident_code", "change_reason", "change_date", "received_on", "recorded_at",
    "municipality_code", "operator_id", "terminal_id", "update_sequence", "source_notice_id", "revision",
    "is_current", "removed", "deleted", "retention_flag", "retention_start",
    "individual_number_ciphertext", "individual_number_key_id", "individual_number_blind_index", "birth_date", "sex",
    "name", "name_gaiji_count", "name_kana", "seion_kana", "name_key", "gaiji_flag", "name_gaiji_revision",
    "address", "address_gaiji_count", "address_gaiji_revision", "address_key", "district_code",
    "former_surname", "former_surname_gaiji_count", "former_surname_kana", "former_surname_gaiji_revision",
)  # fmt: skip
FURYO_VERSION_COLUMNS = (
    "id", "expiry_year", "person_id", "resident_code", "notice_kind", "change_date", "received_on", "recorded_at",
    "municipality_code", "operator_id", "terminal_id", "update_sequence", "source_notice_id", "revision",
    "is_current", "removed", "deleted", "retention_flag", "retention_start",
    "furyo_municipality_code", "status", "former_resident_code",
    "name", "name_gaiji_count", "name_kana", "seion_kana", "name_key", "gaiji_flag", "gaiji_pattern",
    "birth_date", "sex",
    "address_municipality_code", "address", "address_gaiji_count", "address_key", "last_address",
    "last_address_gaiji_count",
)  # fmt: skip
PERSON_COLUMNS = ("id", "current_version_id", "current_version_expiry_year", "created_at")
CODE_COLUMNS = ("resident_code", "person_id", "replaced_by", "assigned_on", "replaced_on")

# (table, columns, _ChunkWriter attribute), in load order: persons before their code history (FK).
COPY_TABLES = (
    ("prefserver_identity_person", PERSON_COLUMNS, "identity_persons"),
    ("prefserver_identity_resident_code", CODE_COLUMNS, "identity_codes"),
    ("prefserver_identity_version", IDENTITY_VERSION_COLUMNS, "identity_versions"),
    ("furyo_person", PERSON_COLUMNS, "furyo_persons"),
    ("furyo_resident_code", CODE_COLUMNS, "furyo_codes"),
    ("furyo_version", FURYO_VERSION_COLUMNS, "furyo_versions"),
)


# Each column's PostgreSQL type (as migrated): what its binary COPY field is, and how tests decode it.
COLUMN_TYPES = {
    "id": "int8", "person_id": "int8", "current_version_id": "int8", "source_notice_id": "int8",
    "expiry_year": "int2", "current_version_expiry_year": "int2", "name_gaiji_count": "int2", "sex": "int2",
    "address_gaiji_count": "int2", "last_address_gaiji_count": "int2", "former_surname_gaiji_count": "int2",
    "retention_flag": "int2", "status": "int2",
    "update_sequence": "int4", "revision": "int4", "name_gaiji_revision": "int4", "address_gaiji_revision": "int4",
    "former_surname_gaiji_revision": "int4",
    "change_date": "date", "received_on": "date", "birth_date": "date", "retention_start": "date",
    "assigned_on": "date", "replaced_on": "date",
    "recorded_at": "timestamptz", "created_at": "timestamptz",
    "is_current": "bool", "removed": "bool", "deleted": "bool", "gaiji_flag": "bool",
    "individual_number_ciphertext": "bytea", "individual_number_blind_index": "bytea",
}  # fmt: skip  # every other column is varchar


def column_type(column: str) -> str:
    return COLUMN_TYPES.get(column, "varchar")


def copy_statement(table: str, columns: tuple[str, ...]) -> str:
    return f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT binary)"


@dataclass
class EncodedChunk:
    """A chunk as binary COPY data per table (what a worker process sends back), with its row counts."""

    data: dict[str, bytes]
    rows: dict[str, int]
    expiry_years: set[int]


def encode_chunk(spec: PopulationSpec, chunk: int) -> EncodedChunk:
    """All rows of persons [chunk·size, (chunk+1)·size) as binary COPY data (signature, rows, trailer): file (1)
    and the 附票 this prefecture keeps."""
    writer = _ChunkWriter(spec, chunk)
    start = chunk * spec.chunk_size
    for index in range(start, min(spec.residents, start + spec.chunk_size)):
        writer.resident(index)
    data: dict[str, bytes] = {}
    counts: dict[str, int] = {}
    for table, _columns, attribute in COPY_TABLES:
        rows = getattr(writer, attribute)
        data[table], counts[table] = b"".join((COPY_SIGNATURE, *rows, COPY_TRAILER)), len(rows)
    return EncodedChunk(data=data, rows=counts, expiry_years=writer.expiry_years)


def split_copy_binary(data: bytes, columns: tuple[str, ...]) -> list[list[bytes | None]]:
    """Binary COPY data back to rows of raw fields (None for NULL), checking the framing: signature, field count
    of every row, lengths, trailer and nothing after it."""
    if not data.startswith(COPY_SIGNATURE):
        raise ValueError("not binary COPY data")
    unpack2, unpack4 = struct.Struct(">h").unpack_from, struct.Struct(">i").unpack_from
    rows, at = [], len(COPY_SIGNATURE)
    while True:
        (count,) = unpack2(data, at)
        at += 2
        if count == -1:
            break
        if count != len(columns):
            raise ValueError(f"row of {count} fields for {len(columns)} columns")
        row: list[bytes | None] = []
        for _ in range(count):
            (length,) = unpack4(data, at)
            at += 4
            if length == -1:
                row.append(None)
            else:
                row.append(data[at : at + length])
                at += length
        rows.append(row)
    if at != len(data):
        raise ValueError("data after the trailer")
    return rows


def decode_copy_binary(data: bytes, columns: tuple[str, ...]) -> list[dict[str, Any]]:
    """Binary COPY data back to rows of column → Python value, with psycopg's own binary loaders of each column's
    type (tests and inspection)."""
    from psycopg import adapters
    from psycopg.adapt import Transformer
    from psycopg.pq import Format

    transformer = Transformer()
    transformer.set_loader_types([adapters.types[column_type(c)].oid for c in columns], Format.BINARY)
    return [dict(zip(columns, transformer.load_sequence(row), strict=True)) for row in split_copy_binary(data, columns)]


def generate_chunk(spec: PopulationSpec, chunk: int) -> dict[str, list[dict[str, Any]]]:
    """A chunk's rows per table, decoded (tests and inspection; the loader streams encode_chunk's data)."""
    encoded = encode_chunk(spec, chunk)
    return {table: decode_copy_binary(encoded.data[table], columns) for table, columns, _ in COPY_TABLES}


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
     AND (i.indpred IS NULL OR NOT pg_get_expr(i.indpred, i.indrelid) = ANY(%(keep_predicates)s::text[]))
) AS ddl ORDER BY step, ord
"""


# Partial-index predicates no generated row satisfies (no generated version comes from a notice): such an
# index gets no entry from the load, so it stays in place (a predicate check per row) rather than being rebuilt
# (a full scan of the version table for nothing, about 1 s per table at 1 M residents). A kept index is
# maintained by the COPY like any other, so it stays right whatever the rows hold.
GENERATED_ROWS_NEVER_MATCH = ("(source_notice_id IS NOT NULL)",)


def deferred_indexes_for_empty_tables(
    cursor: Any, tables: Sequence[str], *, keep_predicates: Sequence[str] = ()
) -> DeferredDDL | None:
    """Initial-load fast path, step 1: if every table is EMPTY, drop its indexes and constraints (bar CHECK
    and NOT NULL) and return the statements that recreate them; None (nothing dropped) if any holds a row.

    Safety: runs inside the caller's transaction after `LOCK TABLE … ACCESS EXCLUSIVE` (no one can add a row
    between the emptiness check and the load, nor read a table without its indexes); the DDL is PostgreSQL's
    own (pg_get_indexdef / pg_get_constraintdef of the objects the migrations created), so nothing is
    forked; a failure anywhere rolls the drops back with the data. Triggers (append-only guards) stay.
    Foreign keys from and to the tables are dropped too and re-validated in one pass when re-added.
    Partial indexes whose predicate text (pg_get_expr) is in `keep_predicates` stay in place and are
    maintained by the load as usual (see GENERATED_ROWS_NEVER_MATCH).
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
    cursor.execute(_CATALOG_QUERY, {"tables": list(tables), "keep_predicates": list(keep_predicates)})
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
    # Tried and left at the default (8 MB): `min_parallel_table_scan_size = '128MB'` limits workers to the two
    # current-version partitions (12 worker launches instead of ~400 at 1 M residents) and saves 1-3 s of total
    # CPU, but moves the work to the serial leader (22 s instead of 16 s of its CPU, same data), which bounds
    # the rebuild's wall time on an idle 2-core machine. 32 MB lies in between (leader 18.6 s).
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
            deferred = (
                deferred_indexes_for_empty_tables(cursor, tables, keep_predicates=GENERATED_ROWS_NEVER_MATCH)
                if defer_indexes
                else None
            )
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
