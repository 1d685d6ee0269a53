"""Intake (window, deadline, identity check, no individual number) and matching (domain.md §12; scenario 54)."""

from __future__ import annotations

import datetime as dt

import pytest

from audit.models import OperationKind, OperationLogEntry
from disclosure import selectors, services
from disclosure.models import CaseStatus, DisclosureCase, IdentityVerification
from jukinet.models import SettingValue
from tests.disclosure.conftest import REQUESTER, log_head, log_kinds, make_identity_person, receive

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("received_on", "due_on"),
    [
        (dt.date(2026, 1, 31), dt.date(2026, 3, 2)),  # day of receipt not counted; February has 28 days
        (dt.date(2026, 4, 29), dt.date(2026, 5, 29)),  # a holiday start is not extended
        (dt.date(2025, 12, 28), dt.date(2026, 1, 27)),  # across the year-end holidays, no extension
    ],
)
def test_due_date_is_thirty_calendar_days_after_receipt(clerk, received_on, due_on):
    case = receive(clerk, received_on=received_on)
    assert case.due_on == due_on


def test_deadline_days_are_a_date_effective_setting(clerk):
    SettingValue.objects.create(name="DISCLOSURE_DEADLINE_DAYS", value=14, effective_from=dt.date(2026, 1, 1))
    assert selectors.due_date_for(dt.date(2025, 12, 31)) == dt.date(2026, 1, 30)
    assert selectors.due_date_for(dt.date(2026, 1, 31)) == dt.date(2026, 2, 14)


def test_receipt_records_window_form_identity_check_and_log(clerk):
    # given two windows in force
    SettingValue.objects.create(
        name="DISCLOSURE_WINDOWS",
        effective_from=dt.date(2025, 4, 1),
        value=[
            {"name": "本庁窓口", "address": "山口市滝町1-1", "contact": "TEL 083-000-0001"},
            {"name": "県民相談室", "address": "山口市滝町1-1", "contact": "TEL 083-000-0002"},
        ],
    )
    head = log_head()

    # when a request is received at the second window
    case = receive(clerk, window_index=1)

    # then
    assert (case.window_name, case.form_version, case.status) == (
        "県民相談室",
        "様式第1号（令和7年4月改正）",
        "received",
    )
    check = IdentityVerification.objects.get(case=case)
    assert (check.method, check.document_type, check.checked_by, check.checked_on) == (
        "counter", "運転免許証", clerk, dt.date(2026, 1, 31))  # fmt: skip
    entry = OperationLogEntry.objects.get(sequence=head + 1)
    assert entry.kind == OperationKind.DISCLOSURE_RECEIVED and entry.targets == [
        ["disclosure.disclosurecase", str(case.pk)]
    ]
    assert entry.conditions == {"request_kind": "disclosure_request", "file": "identity", "due_on": "2026-03-02"}
    with pytest.raises(services.DisclosureError):
        receive(clerk, window_index=2)


def test_intake_never_records_an_individual_number(clerk):
    # no field takes one, and number-shaped text anywhere on the form is refused
    field_names = {f.name for f in DisclosureCase._meta.get_fields()} | {
        f.name for f in IdentityVerification._meta.get_fields()
    }
    assert not any("individual" in name or "number" in name for name in field_names)
    with pytest.raises(ValueError, match="個人番号"):
        receive(clerk, requester=services.Requester(**{**REQUESTER.__dict__, "contact": "1234 5678 9018"}))
    with pytest.raises(ValueError, match="個人番号"):
        receive(clerk, request_summary="番号は１２３４５６７８９０１８です")
    assert DisclosureCase.objects.count() == 0


def test_matching_with_two_candidates_lets_staff_choose_and_logs_the_choice(clerk, desk):
    # given two people with the same name, birth date and sex, and a third with another birth date
    first = make_identity_person(address="山口県山口市見本町一丁目2番3号")
    second = make_identity_person(address="山口県宇部市見本町五丁目1番1号")
    make_identity_person(birth_date=dt.date(1981, 4, 1))
    case = receive(clerk)

    # when the candidates are shown (a logged search)
    candidates = selectors.disclosure_candidates(case=case, operator=clerk, terminal=desk)

    # then exactly the two appear, with their addresses to confirm against the identity document
    assert [c.person_id for c in candidates] == [first.pk, second.pk]
    assert candidates[1].address == "山口県宇部市見本町五丁目1番1号"
    assert "見本" not in repr(candidates[0])

    # when staff choose the second after checking the address
    head = log_head()
    with pytest.raises(services.DisclosureError):
        services.disclosure_requester_match(
            case=case, operator=clerk, terminal=desk, person_id=second.pk, address_confirmed=False
        )
    services.disclosure_requester_match(
        case=case, operator=clerk, terminal=desk, person_id=second.pk, address_confirmed=True
    )

    # then the case holds the surrogate id and the log holds the candidates and the choice
    case.refresh_from_db()
    assert (case.matched_person_id, case.status, case.matched_by, case.address_confirmed) == (
        second.pk, CaseStatus.MATCHED, clerk, True)  # fmt: skip
    assert log_kinds(head) == [OperationKind.IDENTITY_SEARCHED, OperationKind.DISCLOSURE_MATCHED]
    search, matched = OperationLogEntry.objects.filter(sequence__gt=head).order_by("sequence")
    assert search.result_count == 2 and search.affair.code == "INT-001"  # through provision's staff door
    assert search.conditions == {"name": "見本　太郎", "birth_date": "1980-04-01", "sex": 1, "file": "identity"}
    assert matched.conditions == {"candidates": [first.pk, second.pk], "chosen": second.pk, "address_confirmed": True}
    assert ["prefserver.identityperson", str(second.pk)] in matched.targets


def test_staff_cannot_choose_a_person_outside_the_candidates(clerk, desk):
    make_identity_person()
    stranger = make_identity_person(name="別人 花子", sex=2)
    case = receive(clerk)
    with pytest.raises(services.DisclosureError):
        services.disclosure_requester_match(
            case=case, operator=clerk, terminal=desk, person_id=stranger.pk, address_confirmed=True
        )


def test_a_deleted_current_version_is_never_a_candidate(clerk, desk):
    from prefserver.models import IdentityVersion

    person = make_identity_person()
    IdentityVersion.objects.filter(pk=person.current_version_id).update(deleted=True)
    case = receive(clerk)
    assert selectors.disclosure_candidates(case=case, operator=clerk, terminal=desk) == []


def test_overdue_cases_top_the_dashboard(clerk):
    # given an old request past its due date, a fresh one, and a closed old one
    old = receive(clerk, received_on=dt.date(2026, 1, 5))
    fresh = receive(clerk, received_on=dt.date(2026, 11, 20))
    closed = receive(clerk, received_on=dt.date(2026, 1, 4))
    DisclosureCase.objects.filter(pk=closed.pk).update(status=CaseStatus.CLOSED)

    # when
    board = selectors.cases_for_dashboard(today=dt.date(2026, 11, 26))

    # then
    assert [c.pk for c in board["overdue"]] == [old.pk]
    assert [c.pk for c in board["open"]] == [fresh.pk]
    # and a case is overdue only from the day after its due date (2026-02-04)
    assert [c.pk for c in selectors.cases_overdue(today=dt.date(2026, 2, 4))] == []
    assert [c.pk for c in selectors.cases_overdue(today=dt.date(2026, 2, 5))] == [old.pk]


def test_matching_without_todays_usage_approval_is_refused(clerk, terminal):
    # the identity door checks terminal and usage approval (Q10) before any search
    from provision.catalogue import affair_catalogue_load

    affair_catalogue_load()
    make_identity_person()
    case = receive(clerk)
    with pytest.raises(services.DisclosureError, match="Q10"):
        services.disclosure_requester_match(
            case=case, operator=clerk, terminal=terminal.terminal, person_id=None, address_confirmed=False
        )
    case.refresh_from_db()
    assert case.status == CaseStatus.RECEIVED
