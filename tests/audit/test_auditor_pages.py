"""Auditor pages (domain.md §11; §17 scenarios 35, 50, 52)."""

import csv
import datetime as dt
import io

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse

from audit import subjects
from audit.auditing import sampling_campaign_create
from audit.models import OperationKind, OperationLogEntry, Operator, SamplingItem
from audit.services import blind_index_condition, operation_log_record
from jukinet import clock

pytestmark = pytest.mark.django_db


@pytest.fixture
def auditor_client(auditor, terminal, login_with_otp):
    client = Client()
    login_with_otp(client, auditor, terminal)
    return client


@pytest.fixture
def person_resolver():
    def resolve(resident_code):
        return [("prefserver.person", "77")] if resident_code == "12345678901" else []

    subjects.subject_resolver_register(resolve)
    yield resolve
    subjects._resolvers.remove(resolve)


def _log(actor, kind=OperationKind.IDENTITY_VIEWED, **extra):
    with transaction.atomic():
        return operation_log_record(actor=actor, kind=kind, **extra)


def test_opening_the_log_creates_a_log_entry(auditor_client, auditor, clerk):
    # given
    _log(clerk)
    # when
    response = auditor_client.post(reverse("audit:log_search"), {"kind": OperationKind.IDENTITY_VIEWED})
    # then
    assert response.status_code == 200 and "本人確認情報の照会" in response.content.decode()
    entry = OperationLogEntry.objects.get(kind=OperationKind.LOG_SEARCHED)
    assert entry.operator == auditor and entry.result_count == 1 and entry.terminal is not None


def test_viewing_one_entry_creates_a_log_entry(auditor_client, auditor, clerk):
    viewed = _log(clerk)
    response = auditor_client.get(reverse("audit:log_entry", args=[viewed.sequence]))
    assert response.status_code == 200
    entry = OperationLogEntry.objects.get(kind=OperationKind.LOG_VIEWED)
    assert entry.targets == [["audit.operationlogentry", str(viewed.sequence)]]


def test_search_by_resident_code_resolves_to_surrogate_ids_and_logs_the_resolution(
    auditor_client, clerk, person_resolver
):
    # given: one entry about person 77 and one about someone else
    _log(clerk, targets=[("prefserver.person", "77")])
    _log(clerk, targets=[("prefserver.person", "78")])
    # when
    response = auditor_client.post(reverse("audit:log_search"), {"resident_code": "12345678901"})
    # then
    body = response.content.decode()
    assert body.count("<td>本人確認情報の照会</td>") == 1
    resolution = OperationLogEntry.objects.get(kind=OperationKind.LOG_SUBJECT_RESOLVED)
    assert resolution.targets == [["prefserver.person", "77"]] and resolution.result_count == 1
    search = OperationLogEntry.objects.get(kind=OperationKind.LOG_SEARCHED)
    assert search.result_count == 1


def test_unknown_resident_code_finds_nothing(auditor_client, clerk, person_resolver):
    _log(clerk, targets=[("prefserver.person", "77")])
    auditor_client.post(reverse("audit:log_search"), {"resident_code": "99999999999"})
    assert OperationLogEntry.objects.get(kind=OperationKind.LOG_SEARCHED).result_count == 0


def test_blind_index_shows_only_as_its_label_never_digits(auditor_client, clerk):
    searched = _log(clerk, kind=OperationKind.IDENTITY_SEARCHED, conditions=blind_index_condition("ab" * 32))
    body = auditor_client.get(reverse("audit:log_entry", args=[searched.sequence])).content.decode()
    conditions_cell = body.split("<th>条件</th><td>")[1].split("</td>")[0]
    assert conditions_cell == "個人番号（照合値）"


def test_csv_export_is_logged(auditor_client, auditor, clerk):
    _log(clerk)
    response = auditor_client.post(reverse("audit:log_export"), {"kind": OperationKind.IDENTITY_VIEWED})
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][0] == "連番" and len(rows) == 2
    assert OperationLogEntry.objects.get(kind=OperationKind.LOG_EXPORTED).operator == auditor


def test_filters_by_operator_and_period(auditor_client, clerk, body_operator):
    _log(clerk)
    _log(body_operator)
    today = clock.today().isoformat()
    response = auditor_client.post(
        reverse("audit:log_search"), {"operator": clerk.pk, "date_from": today, "date_to": today}
    )
    assert response.content.decode().count("<td>本人確認情報の照会</td>") == 1


def test_sampling_never_assigns_an_entry_to_its_own_operator(auditor, section_office, clerk):
    # given: two auditors, each with entries of their own
    other = Operator.objects.create(username="auditor2", roles=["auditor"], office=section_office)
    for actor in (auditor, other, clerk) * 5:
        _log(actor)
    today = clock.today()
    # when
    campaign = sampling_campaign_create(
        auditor=auditor, terminal=None, name="11月", period_from=today, period_to=today, size=15, seed=42
    )
    # then
    items = list(SamplingItem.objects.filter(campaign=campaign))
    assert len(items) == 15 and all(item.reviewer_id != item.entry_operator_id for item in items)
    assert campaign.seed == 42
    logged = OperationLogEntry.objects.get(kind=OperationKind.SAMPLING_CREATED)
    assert logged.conditions["seed"] == 42


def test_reviewer_records_a_verdict_and_nobody_else_can(auditor_client, auditor, section_office, clerk):
    other = Operator.objects.create(username="auditor2", roles=["auditor"], office=section_office)
    _log(clerk)
    today = clock.today()
    campaign = sampling_campaign_create(
        auditor=auditor, terminal=None, name="抽出", period_from=today, period_to=today, size=1, seed=1
    )
    item = campaign.items.get()
    assert item.reviewer in (auditor, other)
    item.reviewer = auditor
    item.save()
    response = auditor_client.post(
        reverse("audit:sampling_review", args=[item.pk]),
        {"verdict": "appropriate", "document_checked": "照会依頼書", "finding": "問題なし"},
    )
    item.refresh_from_db()
    assert response.status_code == 302 and item.verdict == "appropriate"
    assert OperationLogEntry.objects.filter(kind=OperationKind.SAMPLING_REVIEWED, operator=auditor).exists()
    item.reviewer = other
    item.save()
    response = auditor_client.post(reverse("audit:sampling_review", args=[item.pk]), {"verdict": "inappropriate"})
    item.refresh_from_db()
    assert item.verdict == "appropriate" and "割り当てられた確認者" in response.content.decode()


def test_resident_code_in_a_url_is_ignored(auditor_client, clerk, person_resolver):
    _log(clerk, targets=[("prefserver.person", "77")])
    auditor_client.get(reverse("audit:log_search"), {"resident_code": "12345678901", "kind": ""})
    assert not OperationLogEntry.objects.filter(kind=OperationKind.LOG_SUBJECT_RESOLVED).exists()


def test_sampling_prefers_reviewers_outside_the_operators_office(auditor, clerk, body_office):
    # given: one auditor in the clerk's office, one elsewhere
    outside = Operator.objects.create(username="auditor_b", roles=["auditor"], office=body_office)
    for _ in range(6):
        _log(clerk)
    today = clock.today()
    # when
    campaign = sampling_campaign_create(
        auditor=auditor, terminal=None, name="所属外", period_from=today, period_to=today, size=6, seed=7
    )
    # then
    assert {item.reviewer_id for item in campaign.items.all()} == {outside.pk}


def test_flags_show_off_hours_use_repeated_subjects_and_wide_searches(auditor_client, auditor, clerk, monkeypatch):
    # given: a Sunday-night view, five views of one person, a search over the cap
    sunday_night = dt.datetime(2026, 11, 22, 23, 0, tzinfo=clock.TOKYO)
    monkeypatch.setattr(clock, "now", lambda: sunday_night)
    for _ in range(5):
        _log(clerk, targets=[("prefserver.person", "77")])
    _log(clerk, kind=OperationKind.IDENTITY_SEARCHED, outcome="Q06", result_count=51)
    # when
    response = auditor_client.get(reverse("audit:log_flags"), {"date_from": "2026-11-22", "date_to": "2026-11-22"})
    # then
    body = response.content.decode()
    assert "時間外の利用（6件）" in body and "prefserver.person:77: 5回" in body and "広範な検索（1件）" in body
    assert OperationLogEntry.objects.filter(kind=OperationKind.LOG_SEARCHED, operator=auditor).exists()
