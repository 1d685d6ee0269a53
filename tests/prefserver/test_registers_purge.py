"""The registers purge for alerts (domain.md §13, §15): RETENTION_YEARS from record time."""

from __future__ import annotations

import datetime as dt

import pytest

from jukinet.registers import registers_purge
from prefserver.models import Alert
from tests.registers_times import AS_OF, JUST_INSIDE, JUST_PAST

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("seven_years")]


def test_alerts_go_by_record_time():
    # given a resolved and an unresolved alert raised just past the period, and one raised just inside it
    for resolved in (True, False):
        Alert.objects.create(kind=Alert.Kind.PUSH_BACKLOG, message="滞留", created_at=JUST_PAST, resolved=resolved)
    inside = Alert.objects.create(kind=Alert.Kind.PUSH_BACKLOG, message="滞留", created_at=JUST_INSIDE)
    # when the purge runs
    counts = registers_purge(as_of=AS_OF)
    # then both old alerts go, the young one stays
    assert counts["prefserver_alert"] == 2
    assert list(Alert.objects.values_list("pk", flat=True)) == [inside.pk]


def test_a_longer_retention_setting_keeps_them(settings):
    # given RETENTION_YEARS raised to 10 ("configurable with the log")
    settings.RETENTION_YEARS = 10
    old = Alert.objects.create(kind=Alert.Kind.PUSH_BACKLOG, message="滞留", created_at=JUST_PAST)
    # when the purge runs as of 7 years later
    counts = registers_purge(as_of=AS_OF)
    # then the alert stays until 10 years have passed
    assert counts["prefserver_alert"] == 0 and Alert.objects.filter(pk=old.pk).exists()
    assert registers_purge(as_of=dt.date(2036, 4, 1))["prefserver_alert"] == 1
