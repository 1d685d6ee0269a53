"""The simulator's storage in process (national/store.py): the state survives a restart through its journal, a
line cut short by a crash is dropped, a reset rewrites the journal, and the lookup indexes follow every change."""

from __future__ import annotations

from pathlib import Path

import pytest

from national.store import JournalDamaged, Store
from tests.national.factories import identity_update, new_individual_number, new_resident_code

FOUR = {"name": "見本　太郎", "birth_date": "1980-04-01", "sex": 1, "address": "山口県山口市見本町一丁目2番3号"}


def _store(tmp_path: Path) -> Store:
    return Store(tmp_path / "national.journal")


def _statuses(store: Store, updates: list[dict[str, object]]) -> list[str]:
    return [ack["status"] for ack in store.receive("identity", updates).acks]


def test_the_state_survives_a_restart(tmp_path: Path) -> None:
    # given: two persons received, one of them twice, and a lookup
    store = _store(tmp_path)
    first, second = identity_update(), identity_update(**{**FOUR, "name": "見本　次郎"})
    assert _statuses(store, [first, second, first]) == ["accepted", "accepted", "duplicate"]
    found = {
        u["resident_code"]: store.lookup("identity", {"resident_code": u["resident_code"]}) for u in (first, second)
    }
    before = store.stats()
    store.close()
    # when
    again = _store(tmp_path)
    # then: the same receipts, persons, counters and lookups; a repeat is still a duplicate
    assert {code: again.lookup("identity", {"resident_code": code}) for code in found} == found
    assert again.stats() == {**before, "lookups": before["lookups"] + 2}
    assert again.stats()["files"]["identity"]["keys_received_more_than_once"] == 1
    assert again.lookup("identity", {"resident_code": second["resident_code"]})["record"]["name"] == "見本　次郎"
    assert _statuses(again, [second]) == ["duplicate"]
    assert (tmp_path / "national.journal").stat().st_mode & 0o777 == 0o600


def test_a_journal_line_cut_short_by_a_crash_is_dropped(tmp_path: Path) -> None:
    # given: one committed request, then half of a second request's line (the process died while writing it)
    store = _store(tmp_path)
    kept = identity_update()
    store.receive("identity", [kept])
    store.close()
    journal = tmp_path / "national.journal"
    committed = journal.stat().st_size
    with journal.open("a", encoding="utf-8") as file:
        file.write('[["R","identity","' + new_resident_code() + '",1,0,"ab')
    # when
    again = _store(tmp_path)
    # then: the committed request is there, the torn one is gone from memory and from the file
    assert journal.stat().st_size == committed
    assert again.stats()["accepted"] == 1
    assert again.sequences("identity", [kept["resident_code"]])[kept["resident_code"]] is not None
    # and the journal goes on from there
    assert _statuses(again, [identity_update()]) == ["accepted"]
    again.close()
    assert _store(tmp_path).stats()["accepted"] == 2


def test_an_unreadable_entry_before_others_stops_the_store_instead_of_dropping_them(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.receive("identity", [identity_update()])
    store.close()
    journal = tmp_path / "national.journal"
    committed = journal.read_bytes()
    journal.write_bytes(b"[damaged\n" + committed)
    with pytest.raises(JournalDamaged):
        _store(tmp_path)
    assert journal.read_bytes() == b"[damaged\n" + committed  # nothing cut off


def test_an_unknown_entry_stops_the_store_without_quoting_it(tmp_path: Path) -> None:
    number = new_individual_number()
    (tmp_path / "national.journal").write_text(f'[["{number}", 1]]\n', encoding="utf-8")
    with pytest.raises(ValueError, match="unknown journal entry") as raised:
        _store(tmp_path)
    assert number not in str(raised.value)


def test_a_reset_keeps_the_seeded_persons_and_rewrites_the_journal(tmp_path: Path) -> None:
    # given: a seeded person and a received one
    store = _store(tmp_path)
    seeded, pushed = identity_update(), identity_update()
    assert store.seed("identity", [seeded]) == 1
    assert store.seed("identity", [seeded]) == 0  # seeding is idempotent
    store.receive("identity", [pushed])
    # when
    store.reset(keep_seeded=True)
    # then: only the seeded person is left, in memory and after a restart
    codes = [seeded["resident_code"], pushed["resident_code"]]
    assert [v is not None for v in store.sequences("identity", codes).values()] == [True, False]
    assert store.stats()["accepted"] == 0
    store.close()
    again = _store(tmp_path)
    assert [v is not None for v in again.sequences("identity", codes).values()] == [True, False]
    assert again.stats()["files"]["identity"]["seeded_persons"] == 1
    # and the received one can be received anew (its receipt is gone)
    assert _statuses(again, [pushed]) == ["accepted"]


def test_lookups_follow_changes_of_name_number_and_code(tmp_path: Path) -> None:
    store = _store(tmp_path)
    number = new_individual_number()
    entry = identity_update(individual_number=number, **FOUR)
    code = entry["resident_code"]
    store.receive("identity", [entry])
    assert store.lookup("identity", FOUR)["result"] == "found"
    assert store.lookup("identity", {"individual_number": number})["result"] == "found"
    # a change of name and number: the old 4情報 and number no longer find the person, the new ones do
    new_number = new_individual_number()
    renamed = {**entry, "name": "見本　三郎", "individual_number": new_number, "change_reason": "23"}
    store.receive("identity", [{**renamed, "update_sequence": 2}])
    assert store.lookup("identity", FOUR)["result"] == "not_found"
    assert store.lookup("identity", {**FOUR, "name": "見本 三郎"})["result"] == "found"
    assert store.lookup("identity", {"individual_number": number})["result"] == "not_found"
    assert store.lookup("identity", {"individual_number": new_number})["record"]["resident_code"] == code
    # a code change (27) moves the person: found by the new code only, counter carried on
    new_code = new_resident_code()
    moved = {**renamed, "resident_code": new_code, "previous_resident_code": code, "change_reason": "27"}
    assert _statuses(store, [{**moved, "update_sequence": 3}]) == ["accepted"]
    assert store.lookup("identity", {"resident_code": code})["result"] == "not_found"
    assert store.lookup("identity", {"resident_code": new_code})["record"]["update_sequence"] == 3
    assert store.lookup("identity", {"individual_number": new_number})["record"]["resident_code"] == new_code
    # and all of it after a restart
    store.close()
    again = _store(tmp_path)
    assert again.lookup("identity", {"resident_code": code})["result"] == "not_found"
    assert again.lookup("identity", {"individual_number": new_number})["record"]["resident_code"] == new_code


def test_a_person_twice_in_one_request_ends_in_its_newest_state(tmp_path: Path) -> None:
    store = _store(tmp_path)
    entry = identity_update(**FOUR)
    change = {**entry, "address": "山口県山口市見本町二丁目1番", "change_reason": "22", "update_sequence": 2}
    acks = store.receive("identity", [change, entry, entry]).acks  # the newer one first, then the older twice
    assert [(a["status"], a.get("applied")) for a in acks] == [
        ("accepted", True),
        ("accepted", False),
        ("duplicate", None),
    ]
    assert store.sequences("identity", [entry["resident_code"]])[entry["resident_code"]] == {
        "update_sequence": 2,
        "revision": 0,
        "removed": False,
    }
    assert store.stats()["files"]["identity"]["keys_received_more_than_once"] == 1


def test_the_lookup_indexes_are_left_out_of_the_collectors_passes(tmp_path: Path) -> None:
    """Index entries are plain tuples of codes, which the garbage collector stops tracking once a pass has seen
    them; as sets (always tracked), one per person, each full pass walked all of them (a quarter of the store's
    CPU per update at 200,000 updates)."""
    import gc

    store = _store(tmp_path)
    update = identity_update(**FOUR)
    store.receive("identity", [update])
    gc.collect()
    person = store._persons[("identity", update["resident_code"])]
    entries = (store._by_four[person.four("identity")], store._by_number[update["individual_number"]])
    assert not any(gc.is_tracked(entry) for entry in entries)
