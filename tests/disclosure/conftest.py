"""Fixtures for citizens' requests: synthetic persons in both files and a request helper (the cast of
operators is tests/conftest.py's)."""

from __future__ import annotations

import datetime as dt
import itertools
import random
from typing import Any

import pytest

from audit.models import OperationLogEntry, Operator
from disclosure import services
from disclosure.models import DisclosureCase, RequestKind
from furyo.models import FuryoPerson, FuryoResidentCode, FuryoVersion
from prefserver.models import IdentityPerson
from prefserver.versions import identity_person_create, identity_version_write
from tests.prefserver.factories import envelope, identity_content, make_individual_number, make_resident_code

_rng = random.Random(7)
_seq = itertools.count(1)


def make_identity_person(**overrides: Any) -> IdentityPerson:
    """A current file (1) person; `overrides` change the content (name, birth_date, sex, address …)."""
    code = make_resident_code(_rng)
    person = identity_person_create(resident_code=code, assigned_on=dt.date(2020, 4, 1))
    content = identity_content(individual_number=make_individual_number(_rng), **overrides)
    identity_version_write(
        person=person,
        content=content,
        envelope=envelope(resident_code=code, change_date=dt.date(2020, 4, 1), received_on=dt.date(2020, 4, 1)),
        removed=False,
    )
    person.refresh_from_db()
    return person


def make_furyo_person(**overrides: Any) -> FuryoPerson:
    code = make_resident_code(_rng)
    person = FuryoPerson.objects.create()
    FuryoResidentCode.objects.create(resident_code=code, person=person, assigned_on=dt.date(2020, 4, 1))
    values: dict[str, Any] = {
        "resident_code": code, "name": "見本 太郎", "name_gaiji_count": 0, "name_kana": "ミホン タロウ",
        "birth_date": dt.date(1980, 4, 1), "sex": 1, "address_municipality_code": "352039",
        "address": "山口県山口市見本町一丁目2番3号", "address_gaiji_count": 0, "change_date": dt.date(2020, 4, 1),
        "furyo_municipality_code": "352039", "status": 1, "gaiji_flag": False, "gaiji_pattern": "",
        "notice_kind": "41", "update_sequence": 1, "received_on": dt.date(2020, 4, 1),
        "municipality_code": "352039", "operator_id": "OP1", "terminal_id": "T1",
        "seion_kana": "ミホンタロウ", "name_key": "見本太郎", "address_key": "山口県山口市見本町一丁目2番3号",
    }  # fmt: skip
    values.update(overrides)
    version = FuryoVersion.objects.create(person=person, **values)
    person.current_version_id, person.current_version_expiry_year = version.pk, version.expiry_year
    person.save(update_fields=["current_version_id", "current_version_expiry_year"])
    return person


REQUESTER = services.Requester(
    name="見本　太郎",  # as written on the form: a full-width space the record does not have
    kana="ミホン　タロウ",
    birth_date=dt.date(1980, 4, 1),
    sex=1,
    address="山口県山口市見本町１丁目２番３号",
    postal_code="753-0000",
    contact="083-000-0000",
)


def receive(operator: Operator, *, kind: str = RequestKind.DISCLOSURE, **overrides: Any) -> DisclosureCase:
    values: dict[str, Any] = {
        "operator": operator,
        "kind": kind,
        "received_on": dt.date(2026, 1, 31),
        "form_version": "様式第1号（令和7年4月改正）",
        "requester": REQUESTER,
        "verification": services.Verification(
            method="counter", document_type="運転免許証", checked_on=dt.date(2026, 1, 31)
        ),
    }
    values.update(overrides)
    return services.disclosure_case_receive(**values)


def log_kinds(since: int = 0) -> list[int]:
    return list(
        OperationLogEntry.objects.filter(sequence__gt=since).order_by("sequence").values_list("kind", flat=True)
    )


def log_head() -> int:
    last = OperationLogEntry.objects.order_by("-sequence").values_list("sequence", flat=True).first()
    return last or 0


@pytest.fixture
def desk(clerk, terminal, approve_usage):  # type: ignore[no-untyped-def]
    """The clerk's registered terminal with today's usage approval, and the affair catalogue (INT-001):
    what the identity door (provision.selectors.staff_search) asks of a matching search."""
    from provision.catalogue import affair_catalogue_load

    affair_catalogue_load()
    approve_usage(clerk, terminal)
    return terminal.terminal
