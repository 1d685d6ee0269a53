"""Auditor pages (domain.md §11; §17 scenarios 35, 50, 52)."""

import csv
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
    assert "個人番号（照合値）" in body


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
