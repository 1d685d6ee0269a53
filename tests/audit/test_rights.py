"""Access-right lifecycle and usage approvals (domain.md §10.3, §10.4; §17 scenarios 29, 30, 57)."""

import datetime as dt
import re

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from audit.access import usage_approval_valid
from audit.models import AccessRightLedgerEntry, OperationKind, OperationLogEntry, Operator
from audit.rights import (
    RightsError,
    access_right_apply,
    access_right_approve,
    access_right_reconciliation_report,
    training_record,
    usage_approval_approve,
    usage_approval_request,
)
from jukinet import clock
from provision import sql as provision_sql

pytestmark = pytest.mark.django_db


@pytest.fixture
def newcomer(section_office):
    return Operator.objects.create_user(username="newcomer", office=section_office, employee_id="E100")


@pytest.fixture
def second_administrator(section_office):
    return Operator.objects.create_user(username="admin2", office=section_office, roles=["administrator"])


def _apply(newcomer, section_office, applied_by, role="clerk"):
    return access_right_apply(operator=newcomer, office=section_office, role=role, applied_by=applied_by)


def test_approval_without_a_training_record_is_refused(newcomer, section_office, security_officer, administrator):
    application = _apply(newcomer, section_office, security_officer)
    with pytest.raises(RightsError, match="研修"):
        access_right_approve(application=application, approver=administrator)
    newcomer.refresh_from_db()
    assert newcomer.roles == [] and not AccessRightLedgerEntry.objects.exists()


def test_the_applicant_cannot_approve_their_own_application(newcomer, section_office, administrator):
    training_record(operator=newcomer, course="初任者研修", completed_on=clock.today(), recorded_by=administrator)
    application = _apply(newcomer, section_office, administrator)
    with pytest.raises(RightsError, match="自分"):
        access_right_approve(application=application, approver=administrator)
    assert not AccessRightLedgerEntry.objects.exists()


def test_an_administrator_cannot_approve_a_right_for_themselves(section_office, administrator, second_administrator):
    training_record(operator=administrator, course="初任者研修", completed_on=clock.today(), recorded_by=administrator)
    application = _apply(administrator, section_office, second_administrator)
    with pytest.raises(RightsError):
        access_right_approve(application=application, approver=administrator)


def test_only_an_administrator_approves(newcomer, section_office, security_officer, clerk):
    training_record(operator=newcomer, course="初任者研修", completed_on=clock.today(), recorded_by=security_officer)
    application = _apply(newcomer, section_office, security_officer)
    with pytest.raises(RightsError, match="管理者"):
        access_right_approve(application=application, approver=clerk)


def test_approval_after_training_grants_the_role_and_writes_the_ledger(
    newcomer, section_office, security_officer, administrator
):
    # given
    training_record(operator=newcomer, course="初任者研修", completed_on=clock.today(), recorded_by=security_officer)
    application = _apply(newcomer, section_office, security_officer)
    # when
    entry = access_right_approve(application=application, approver=administrator)
    # then
    newcomer.refresh_from_db()
    assert newcomer.roles == ["clerk"]
    assert (entry.action, entry.role, entry.office) == ("grant", "clerk", section_office)
    logged = OperationLogEntry.objects.get(kind=OperationKind.ACCESS_RIGHT_GRANTED)
    assert logged.operator == administrator and ["audit.operator", str(newcomer.pk)] in logged.targets


def test_ledger_rows_cannot_be_updated_or_deleted(newcomer, section_office, security_officer, administrator):
    training_record(operator=newcomer, course="初任者研修", completed_on=clock.today(), recorded_by=security_officer)
    access_right_approve(application=_apply(newcomer, section_office, security_officer), approver=administrator)
    for sql in (
        "UPDATE audit_accessrightledgerentry SET role = 'auditor'",
        "DELETE FROM audit_accessrightledgerentry",
    ):
        with (
            pytest.raises(Exception, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql)


def test_a_contractor_is_never_given_a_personal_data_role(contractor, section_office, security_officer):
    with pytest.raises(RightsError, match="運用委託"):
        _apply(contractor, section_office, security_officer)


def test_transfer_taking_effect_today_suspends_every_open_right_at_midnight(tmp_path, clerk, administrator):
    # given: the clerk's right is in the ledger and a transfer takes effect today
    training_record(operator=clerk, course="初任者研修", completed_on=clock.today(), recorded_by=administrator)
    clerk.roles = []
    clerk.save()
    access_right_approve(
        application=_apply(clerk, clerk.office, administrator),
        approver=Operator.objects.create(username="admin3", roles=["administrator"], office=clerk.office),
    )
    today = clock.today()
    path = tmp_path / "personnel.csv"
    path.write_text(f"employee_id,effective_date,kind\n{clerk.employee_id},{today.isoformat()},transfer\n")
    call_command("import_personnel_changes", str(path))
    # when: the sweep runs the day before, then at 00:00 of the day
    call_command("revocation_sweep", "--as-of", (today - dt.timedelta(days=1)).isoformat())
    clerk.refresh_from_db()
    assert clerk.roles == ["clerk"]
    call_command("revocation_sweep", "--as-of", today.isoformat())
    # then
    clerk.refresh_from_db()
    assert clerk.roles == []
    row = AccessRightLedgerEntry.objects.filter(operator=clerk).latest("id")
    assert (row.action, row.overdue, row.effective_on) == ("suspend", True, today)
    assert OperationLogEntry.objects.filter(
        kind=OperationKind.ACCESS_RIGHT_SUSPENDED, actor="system:revocation"
    ).exists()
    assert OperationLogEntry.objects.filter(kind=OperationKind.PERSONNEL_CHANGES_IMPORTED).exists()


def test_reconciliation_lists_accounts_missing_from_the_ledger_and_ledger_rows_without_account(
    newcomer, section_office, security_officer, administrator, clerk
):
    # given: the clerk's role was set directly (no ledger row); the newcomer's right was removed by hand
    training_record(operator=newcomer, course="初任者研修", completed_on=clock.today(), recorded_by=security_officer)
    access_right_approve(application=_apply(newcomer, section_office, security_officer), approver=administrator)
    Operator.objects.filter(pk=newcomer.pk).update(roles=[])
    # when
    report = access_right_reconciliation_report()
    # then
    assert (clerk, "clerk") in report.missing_from_ledger
    assert report.ledger_without_account == [(newcomer, "clerk")]


# --- Usage approvals ---------------------------------------------------------------------------------------


def test_security_officer_approves_usage_valid_until_midnight(clerk, security_officer, terminal):
    approval = usage_approval_request(operator=clerk, terminal=terminal.terminal, purpose="照会業務")
    approved = usage_approval_approve(approval=approval, approver=security_officer, devices_checked=True)
    assert approved.valid_until == clock.end_of_day(clock.today())
    assert usage_approval_valid(operator=clerk, terminal=terminal.terminal) == approved
    assert OperationLogEntry.objects.filter(kind=OperationKind.USAGE_APPROVED, operator=security_officer).exists()


def test_approval_needs_the_device_check(clerk, security_officer, terminal):
    approval = usage_approval_request(operator=clerk, terminal=terminal.terminal, purpose="照会業務")
    with pytest.raises(RightsError, match="USB"):
        usage_approval_approve(approval=approval, approver=security_officer, devices_checked=False)


def test_security_officer_cannot_approve_own_usage_but_another_approver_can(
    security_officer, administrator, terminal, section_office
):
    approval = usage_approval_request(operator=security_officer, terminal=terminal.terminal, purpose="点検")
    with pytest.raises(RightsError):
        usage_approval_approve(approval=approval, approver=security_officer, devices_checked=True)
    other_officer = Operator.objects.create(username="officer2", roles=["security_officer"], office=section_office)
    assert (
        usage_approval_approve(approval=approval, approver=other_officer, devices_checked=True).approved_by
        == other_officer
    )


def test_officer_of_another_office_cannot_approve(clerk, terminal, body_office):
    officer = Operator.objects.create(username="body_officer", roles=["security_officer"], office=body_office)
    approval = usage_approval_request(operator=clerk, terminal=terminal.terminal, purpose="照会業務")
    with pytest.raises(RightsError):
        usage_approval_approve(approval=approval, approver=officer, devices_checked=True)


def test_usage_approved_at_2350_stops_at_midnight(clerk, security_officer, terminal, monkeypatch):
    # given: approved at 23:50 Asia/Tokyo
    day = clock.today()
    at_2350 = dt.datetime.combine(day, dt.time(23, 50), tzinfo=clock.TOKYO)
    monkeypatch.setattr(clock, "now", lambda: at_2350)
    approval = usage_approval_request(operator=clerk, terminal=terminal.terminal, purpose="照会業務")
    usage_approval_approve(approval=approval, approver=security_officer, devices_checked=True)
    # then
    assert usage_approval_valid(operator=clerk, at=at_2350 + dt.timedelta(minutes=9, seconds=59)) is not None
    assert usage_approval_valid(operator=clerk, at=clock.end_of_day(day)) is None


def test_paper_usage_approval_needs_the_paper_mode(clerk, security_officer, terminal):
    from audit.rights import usage_approval_paper_record
    from jukinet.models import SettingValue

    with pytest.raises(RightsError):
        usage_approval_paper_record(
            operator=clerk,
            terminal=terminal.terminal,
            paper_reference="簿-12",
            recorded_by=security_officer,
            purpose="照会",
        )
    SettingValue.objects.create(name="USAGE_APPROVAL_MODE", value="paper", effective_from=clock.today())
    approval = usage_approval_paper_record(
        operator=clerk,
        terminal=terminal.terminal,
        paper_reference="簿-12",
        recorded_by=security_officer,
        purpose="照会",
    )
    assert approval.paper_reference == "簿-12" and usage_approval_valid(operator=clerk) == approval


def test_a_security_officer_applies_only_for_their_own_office(security_officer, body_office, newcomer):
    with pytest.raises(RightsError):
        access_right_apply(operator=newcomer, office=body_office, role="body_operator", applied_by=security_officer)


def test_the_approval_in_force_is_found_by_index_among_years_of_expired_ones(clerk, security_officer, terminal):
    # given: seven years of daily approvals, all expired, and today's (about 1,700 rows per operator)
    approval = usage_approval_request(operator=clerk, terminal=terminal.terminal, purpose="照会業務")
    today = usage_approval_approve(approval=approval, approver=security_officer, devices_checked=True)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO audit_usageapproval (operator_id, office_id, terminal_id, purpose, requested_at, status,"
            " devices_checked, paper_reference, approved_by_id, approved_at, valid_until)"
            " SELECT operator_id, office_id, terminal_id, purpose, requested_at - make_interval(days => n), status,"
            " devices_checked, paper_reference, approved_by_id, approved_at - make_interval(days => n),"
            " valid_until - make_interval(days => n) FROM audit_usageapproval, generate_series(1, 1700) AS n"
            " WHERE id = %s",
            [today.pk],
        )  # fmt: skip
        cursor.execute("ANALYZE audit_usageapproval")
    # when: the personal-data screens' query is planned, and the releases' access statement as the lookup API
    # runs it (prepared, with the generic plan PostgreSQL keeps for it)
    moment = clock.now()
    with CaptureQueriesContext(connection) as screen:
        assert usage_approval_valid(operator=clerk, terminal=terminal.terminal) == today
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + screen.captured_queries[0]["sql"])
        screen_plan = "\n".join(row[0] for row in cursor.fetchall())
    names = list(dict.fromkeys(re.findall(r"%\((\w+)\)s", provision_sql.RELEASE_ACCESS)))
    values = {"operator": clerk.pk, "terminal": terminal.terminal.pk, "now": f"'{moment.isoformat()}'",
              "day_end": f"'{clock.end_of_day(clock.local_date(moment)).isoformat()}'", "code": "'X'",
              "on": f"'{clock.local_date(moment).isoformat()}'", "office": clerk.office_id}  # fmt: skip
    arguments = ", ".join(str(values[name]) for name in names)
    with connection.cursor() as cursor:
        cursor.execute(
            "PREPARE release_access AS "
            + re.sub(r"%\((\w+)\)s", lambda m: f"${names.index(m[1]) + 1}", provision_sql.RELEASE_ACCESS)
        )
        for _ in range(6):  # PostgreSQL plans the first five executions with their values, then decides
            cursor.execute(f"EXECUTE release_access({arguments})")
        cursor.execute(f"EXPLAIN EXECUTE release_access({arguments})")
        release_plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("DEALLOCATE release_access")
    # then: both read today's approvals from the partial index, not every approval the operator ever had, and
    # the release statement keeps its generic plan ($n in it: not planned again on every call)
    assert "usage_approval_in_force_idx" in screen_plan, screen_plan
    assert "usage_approval_in_force_idx" in release_plan and "$3" in release_plan, release_plan
    assert usage_approval_valid(operator=clerk, terminal=terminal.terminal) == today
