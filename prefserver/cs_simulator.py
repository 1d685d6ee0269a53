"""Municipal CS simulator (市町村CS模擬): a realistic stream of update notices (domain.md §6.1–§6.3).

A library without Django: `manage.py simulate_cs` sends its stream over HTTP, and the benchmarks take
valid envelopes from it. It keeps each person's update_sequence itself (domain.md §6.3: the counter travels
with the person); a mover from another prefecture continues the counter the national server holds
(`national_sequences`, i.e. `NationalClient.sequences_of`).

Mix (per change, when a candidate exists; otherwise an entry): 転居 30 %, 転入 27 %, 転出 22 %, 死亡 9 %,
出生 7 %, 氏名の変更 5 % (roughly the shape of Japan's yearly registrations: moves dominate, then deaths,
births, marriages). Part of the moves out are moves inside the prefecture: the new municipality's 転入
(n + 1) follows the old one's 転出 (n), sometimes arriving first. Noise, unless `valid_only`: invalid notices
(a bad check digit, a 出生 whose birth date is not its change date, an unknown key, a 転入 for a current
resident), exact duplicates of earlier notices, and notices sent before their predecessor.

Synthetic data only: generated names, addresses, resident codes and individual numbers with valid check
digits.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from jukinet.identifiers import individual_number_check_digit, resident_code_check_digit, with_check_digit

SURNAMES = [
    ("山田", "ヤマダ"), ("田中", "タナカ"), ("佐藤", "サトウ"), ("鈴木", "スズキ"), ("高橋", "タカハシ"),
    ("伊藤", "イトウ"), ("渡辺", "ワタナベ"), ("中村", "ナカムラ"), ("小林", "コバヤシ"), ("吉田", "ヨシダ"),
    ("山口", "ヤマグチ"), ("松本", "マツモト"), ("井上", "イノウエ"), ("木村", "キムラ"), ("林", "ハヤシ"),
    ("清水", "シミズ"), ("藤原", "フジワラ"), ("岡田", "オカダ"), ("村上", "ムラカミ"), ("河野", "コウノ"),
]  # fmt: skip
GIVEN_NAMES = [
    ("太郎", "タロウ", 1), ("一郎", "イチロウ", 1), ("健太", "ケンタ", 1), ("翔", "ショウ", 1), ("大輔", "ダイスケ", 1),
    ("誠", "マコト", 1), ("蓮", "レン", 1), ("花子", "ハナコ", 2), ("陽子", "ヨウコ", 2), ("美咲", "ミサキ", 2),
    ("結衣", "ユイ", 2), ("さくら", "サクラ", 2), ("恵", "メグミ", 2), ("葵", "アオイ", 2),
]  # fmt: skip
TOWNS = ["見本町", "駅前", "中央", "本町", "東町", "西町", "南町", "北町", "新町", "緑町", "旭町", "港町"]

# Change kinds and their weights (see the module docstring).
MIX = (("21", 30), ("11", 27), ("31", 22), ("32", 9), ("12", 7), ("23", 5))
MOVE_INSIDE_SHARE = 0.4  # of 転出: a 転入 in another municipality of the prefecture follows
# A move inside the prefecture only for a person whose latest entry lies at least this many notices back:
# senders batch their notices per municipality, so a recent entry (in another municipality's batch) could
# otherwise arrive after the next municipality's 転入, which for an unknown or removed person sets the counter
# (an entry may skip values, domain.md §6.3) and makes the earlier notices stale.
MOVE_INSIDE_MIN_AGE = 5000


@dataclass
class SimPerson:
    resident_code: str
    update_sequence: int
    municipality_code: str
    payload: dict[str, Any]
    removed: bool = False
    file: str = "identity"
    created_serial: int = 0  # the stream position of the person's entry


@dataclass
class StreamStats:
    valid: int = 0
    invalid: int = 0
    duplicates: int = 0
    out_of_order: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)


class CsStream:
    """An endless, reproducible stream of notice envelopes for the municipalities given.

    `municipalities`: (code, name) pairs of this prefecture's senders; `prefecture_name` starts addresses.
    `national_sequences(codes)` → {code: update_sequence | None} (the national server's counters, for movers
    from other prefectures); without it such movers start a new counter at a random baseline.
    """

    def __init__(
        self,
        *,
        municipalities: Sequence[tuple[str, str]],
        prefecture_name: str = "山口県",
        seed: int = 0,
        today: dt.date | None = None,
        valid_only: bool = False,
        invalid_rate: float = 0.02,
        duplicate_rate: float = 0.02,
        out_of_order_rate: float = 0.03,
        furyo_rate: float = 0.03,
        national_sequences: Callable[[list[str]], dict[str, int | None]] | None = None,
        outside_movers: Sequence[dict[str, Any]] = (),
        run_id: str | None = None,
    ) -> None:
        if not municipalities:
            raise ValueError("at least one municipality is needed")
        self.rng = random.Random(seed)  # noqa: S311 - synthetic data, not security
        self.municipalities = list(municipalities)
        self.prefecture_name = prefecture_name
        self.today = today or dt.date.today()  # noqa: DTZ011 - the caller passes Asia/Tokyo's date
        self.valid_only = valid_only
        self.invalid_rate = 0.0 if valid_only else invalid_rate
        self.duplicate_rate = 0.0 if valid_only else duplicate_rate
        self.out_of_order_rate = 0.0 if valid_only else out_of_order_rate
        self.furyo_rate = furyo_rate
        self.national_sequences = national_sequences
        self.outside_movers = deque(outside_movers)
        self.run_id = run_id or f"{self.rng.randrange(16**6):06x}"
        self.serial = itertools.count(1)
        self.persons: dict[str, SimPerson] = {}  # identity persons by current code
        self.current: list[str] = []  # codes of current (not removed) identity persons, for sampling
        self.current_index: dict[str, int] = {}
        self.queue: deque[dict[str, Any]] = deque()  # notices decided but not yet emitted
        self.sent: deque[dict[str, Any]] = deque(maxlen=2000)  # recent notices, for duplicates
        self.stats = StreamStats()
        self.used_codes: set[str] = set()
        self.position = 0  # notices emitted so far

    # --- people -------------------------------------------------------------------------------------
    def add_person(self, person: SimPerson) -> None:
        """Bootstrap: a person already current (or removed) at the prefecture."""
        person.created_serial = -MOVE_INSIDE_MIN_AGE
        self.persons[person.resident_code] = person
        self.used_codes.add(person.resident_code)
        if not person.removed:
            self._mark_current(person.resident_code)

    def _mark_current(self, code: str) -> None:
        if code not in self.current_index:
            self.current_index[code] = len(self.current)
            self.current.append(code)

    def _unmark_current(self, code: str) -> None:
        index = self.current_index.pop(code, None)
        if index is None:
            return
        last = self.current.pop()
        if last != code:
            self.current[index] = last
            self.current_index[last] = index

    def new_resident_code(self) -> str:
        while True:
            code = with_check_digit(f"{self.rng.randrange(10**10):010d}", resident_code_check_digit)
            if code not in self.used_codes:
                self.used_codes.add(code)
                return code

    def new_individual_number(self) -> str:
        return with_check_digit(f"{self.rng.randrange(10**11):011d}", individual_number_check_digit)

    def _address(self, municipality: tuple[str, str]) -> str:
        town = self.rng.choice(TOWNS)
        return (
            f"{self.prefecture_name}{municipality[1]}{town}{self.rng.randint(1, 5)}丁目"
            f"{self.rng.randint(1, 30)}番{self.rng.randint(1, 20)}号"
        )

    def _identity_payload(self, municipality: tuple[str, str], *, birth_date: dt.date | None = None) -> dict[str, Any]:
        surname, surname_kana = self.rng.choice(SURNAMES)
        given, given_kana, sex = self.rng.choice(GIVEN_NAMES)
        born = birth_date or self.today - dt.timedelta(days=self.rng.randint(0, 95 * 365))
        return {
            "name": f"{surname}　{given}", "name_gaiji_count": 0, "name_kana": f"{surname_kana}　{given_kana}",
            "birth_date": born.isoformat(), "sex": sex, "address": self._address(municipality),
            "address_gaiji_count": 0, "individual_number": self.new_individual_number(),
            "district_code": f"{self.rng.randint(1, 999):04d}", "gaiji_flag": False, "name_gaiji_revision": 0,
            "address_gaiji_revision": 0, "former_surname": None, "former_surname_gaiji_count": None,
            "former_surname_kana": None, "former_surname_gaiji_revision": None,
        }  # fmt: skip

    def _furyo_payload(self, municipality: tuple[str, str]) -> dict[str, Any]:
        surname, surname_kana = self.rng.choice(SURNAMES)
        given, given_kana, sex = self.rng.choice(GIVEN_NAMES)
        born = self.today - dt.timedelta(days=self.rng.randint(0, 95 * 365))
        return {
            "name": f"{surname}　{given}", "name_gaiji_count": 0, "name_kana": f"{surname_kana}　{given_kana}",
            "birth_date": born.isoformat(), "sex": sex, "address_municipality_code": municipality[0],
            "address": self._address(municipality), "address_gaiji_count": 0, "last_address": None,
            "last_address_gaiji_count": None, "furyo_municipality_code": municipality[0], "status": 1,
            "gaiji_flag": False, "gaiji_pattern": "",
        }  # fmt: skip

    # --- envelopes ----------------------------------------------------------------------------------
    def _envelope(self, person: SimPerson, reason: str, *, sequence: int, municipality: str) -> dict[str, Any]:
        serial = next(self.serial)
        return {
            "notice_id": f"{municipality}-{self.today:%Y%m%d}-{self.run_id}-{serial:07d}",
            "municipality_code": municipality,
            "file": person.file,
            "change_reason": reason,
            "change_date": self.today.isoformat(),
            "update_sequence": sequence,
            "resident_code": person.resident_code,
            "payload": dict(person.payload),
            "operator_id": f"OP{self.rng.randint(1, 40):04d}",
            "terminal_id": f"CS{municipality}-{self.rng.randint(1, 9):02d}",
            "sent_at": dt.datetime.combine(self.today, dt.time(9), tzinfo=dt.timezone(dt.timedelta(hours=9)))
            .replace(second=serial % 60)
            .isoformat(),
        }

    def _municipality(self, code: str | None = None) -> tuple[str, str]:
        if code is not None:
            for item in self.municipalities:
                if item[0] == code:
                    return item
        return self.rng.choice(self.municipalities)

    def _valid_change(self) -> list[dict[str, Any]]:
        """One valid event: one notice, or a move inside the prefecture (転出 then 転入)."""
        if self.rng.random() < self.furyo_rate:
            return [self._furyo_entry()]
        reason = self.rng.choices([r for r, _ in MIX], weights=[w for _, w in MIX])[0]
        if reason in ("11", "12") or not self.current:
            return [self._entry("12" if reason == "12" else "11")]
        code = self.rng.choice(self.current)
        person = self.persons[code]
        if reason == "21":
            person.payload = {**person.payload, "address": self._address(self._municipality(person.municipality_code))}
            person.payload["district_code"] = f"{self.rng.randint(1, 999):04d}"
        elif reason == "23":
            surname, kana = self.rng.choice(SURNAMES)
            given = person.payload["name"].split("　")[-1]
            given_kana = person.payload["name_kana"].split("　")[-1]
            person.payload = {**person.payload, "name": f"{surname}　{given}", "name_kana": f"{kana}　{given_kana}"}
        person.update_sequence += 1
        notices = [
            self._envelope(person, reason, sequence=person.update_sequence, municipality=person.municipality_code)
        ]
        if reason in ("31", "32"):
            person.removed = True
            self._unmark_current(code)
        settled = self.position - person.created_serial >= MOVE_INSIDE_MIN_AGE
        if reason == "31" and settled and len(self.municipalities) > 1 and self.rng.random() < MOVE_INSIDE_SHARE:
            notices.append(self._move_inside(person))
        return notices

    def _move_inside(self, person: SimPerson) -> dict[str, Any]:
        """The new municipality's 転入 (n + 1) after the old one's 転出 (n), domain.md §6.3."""
        others = [m for m in self.municipalities if m[0] != person.municipality_code]
        target = self.rng.choice(others)
        person.municipality_code = target[0]
        person.payload = {**person.payload, "address": self._address(target)}
        person.update_sequence += 1
        person.removed = False
        person.created_serial = self.position  # its latest entry: the next move inside waits (MOVE_INSIDE_MIN_AGE)
        self._mark_current(person.resident_code)
        return self._envelope(person, "11", sequence=person.update_sequence, municipality=target[0])

    def _entry(self, reason: str) -> dict[str, Any]:
        municipality = self._municipality()
        if reason == "11" and self.outside_movers:
            mover = self.outside_movers.popleft()
            code = mover["resident_code"]
            held = self.national_sequences([code]).get(code) if self.national_sequences else None
            sequence = (held or 0) + 1
            payload = self._identity_payload(municipality)
            payload.update({k: mover[k] for k in ("name", "name_kana", "birth_date", "sex") if k in mover})
            if mover.get("individual_number"):
                payload["individual_number"] = mover["individual_number"]
            self.used_codes.add(code)
        else:
            code = self.new_resident_code()
            born = self.today if reason == "12" else None
            payload = self._identity_payload(municipality, birth_date=born)
            # A mover from elsewhere whose counter we cannot learn starts from a baseline (§6.3: any value).
            sequence = 1 if reason == "12" else self.rng.randint(1, 6)
        person = SimPerson(code, sequence, municipality[0], payload, created_serial=self.position)
        self.persons[code] = person
        self._mark_current(code)
        return self._envelope(person, reason, sequence=sequence, municipality=municipality[0])

    def _furyo_entry(self) -> dict[str, Any]:
        municipality = self._municipality()
        person = SimPerson(
            self.new_resident_code(), 1, municipality[0], self._furyo_payload(municipality), file="furyo"
        )
        return self._envelope(person, "51", sequence=1, municipality=municipality[0])

    def _invalid(self) -> dict[str, Any]:
        """A notice the prefecture must reject; it consumes no update_sequence (§6.3)."""
        kind = self.rng.choice(("bad_code", "birth_date", "unknown_key", "current_entry"))
        municipality = self._municipality()
        if kind == "current_entry" and self.current:
            person = self.persons[self.rng.choice(self.current)]
            return self._envelope(
                person, "11", sequence=person.update_sequence + 1, municipality=person.municipality_code
            )
        person = SimPerson(self.new_resident_code(), 1, municipality[0], self._identity_payload(municipality))
        envelope = self._envelope(
            person, "12" if kind == "birth_date" else "11", sequence=1, municipality=municipality[0]
        )
        if kind == "bad_code":
            code = envelope["resident_code"]
            envelope["resident_code"] = code[:-1] + str((int(code[-1]) + 1) % 10)
        elif kind == "birth_date":
            envelope["payload"]["birth_date"] = (self.today - dt.timedelta(days=3)).isoformat()
        else:
            envelope["payload"]["phone"] = "000"
        return envelope

    def _refill(self) -> None:
        roll = self.rng.random()
        if roll < self.invalid_rate:
            self.stats.invalid += 1
            self.queue.append(self._invalid())
            return
        if roll < self.invalid_rate + self.duplicate_rate and self.sent:
            self.stats.duplicates += 1
            self.queue.append(dict(self.rng.choice(self.sent)))
            return
        notices = self._valid_change()
        self.stats.valid += len(notices)
        for notice in notices:
            self.stats.by_reason[notice["change_reason"]] = self.stats.by_reason.get(notice["change_reason"], 0) + 1
        if len(notices) == 1 and self.rng.random() < self.out_of_order_rate * 3:
            # Hold this one back and send the next event first: a later notice may then overtake it.
            nxt = self._valid_change()
            self.stats.valid += len(nxt)
            self.stats.out_of_order += 1
            notices = nxt + notices
        elif len(notices) == 2 and self.rng.random() < self.out_of_order_rate * 10:
            self.stats.out_of_order += 1
            notices.reverse()  # the new municipality's 転入 arrives before the old one's 転出
        self.queue.extend(notices)

    def take(self, count: int) -> list[dict[str, Any]]:
        """The next `count` envelopes in sending order."""
        out: list[dict[str, Any]] = []
        while len(out) < count:
            if not self.queue:
                self._refill()
                continue
            notice = self.queue.popleft()
            self.position += 1
            self.sent.append(notice)
            out.append(notice)
        return out

    def __iter__(self) -> Iterator[dict[str, Any]]:
        while True:
            yield from self.take(1)


def valid_notices(
    count: int,
    *,
    municipalities: Sequence[tuple[str, str]],
    seed: int = 0,
    today: dt.date | None = None,
    prefecture_name: str = "山口県",
    furyo_rate: float = 0.03,
) -> list[dict[str, Any]]:
    """`count` valid envelopes (domain.md §6.1) in a valid sending order: what the benchmarks send."""
    stream = CsStream(
        municipalities=municipalities, prefecture_name=prefecture_name, seed=seed, today=today, valid_only=True,
        furyo_rate=furyo_rate,
    )  # fmt: skip
    return stream.take(count)
