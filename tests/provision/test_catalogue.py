"""The affair catalogue (domain.md §9.1): data, versioned by effective date, loaded idempotently."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command

from audit.models import Affair, Office
from audit.selectors import affair_in_force
from provision.catalogue import affair_catalogue_load

pytestmark = pytest.mark.django_db


def test_loads_recipients_and_affairs_idempotently():
    # when
    first = affair_catalogue_load()
    call_command("load_affairs")
    # then
    assert Affair.objects.count() == first["affairs"] == 18
    assert set(Office.objects.filter(kind="body").values_list("name", flat=True)) == {
        "教育委員会（教育庁）", "公安委員会（警察本部）",
    }  # fmt: skip


def test_seed_examples_and_categories():
    affair_catalogue_load()
    # seeds/002_b6d1246946737152.txt:862-865: the board of education's special-needs school expenses (別表第6)
    school = Affair.objects.get(code="S6-EDU-01")
    assert school.category == "schedule_6" and school.release_kind == "provision"
    assert school.individual_number_permitted and list(school.recipients.values_list("code", flat=True)) == ["BODY-EDU"]
    # seeds/001_f00ff35fbf01a749.txt:666-668: 貸付金に係る債権管理事務 (ordinance)
    loans = Affair.objects.get(code="ORD-001")
    assert loans.category == "ordinance" and "債権管理事務" in loans.name and not loans.individual_number_permitted
    assert Affair.objects.filter(category="ordinance").count() >= 5
    assert set(Affair.objects.filter(national_query=True).values_list("category", flat=True)) == {"schedule_3"}


def test_a_lookup_is_judged_by_the_entry_in_force_on_its_date():
    affair_catalogue_load()
    before = affair_in_force("S5-HOU-01", dt.date(2016, 6, 1))
    after = affair_in_force("S5-HOU-01", dt.date(2025, 6, 1))
    assert before is not None and after is not None
    assert (before.individual_number_permitted, after.individual_number_permitted) == (False, True)
    assert affair_in_force("S5-HOU-01", dt.date(2000, 1, 1)) is None
