"""例外修正 (domain.md §6.6; scenario 45): draft, approval by another administrator, the 99 version, push,
results feed, intake afterwards, quarterly check and its alert."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection

from audit.models import OperationKind, OperationLogEntry
from furyo.models import FuryoPerson, FuryoVersion
from jukinet import clock
from jukinet.crypto import blind_index
from prefserver.corrections import (
    CorrectionError,
    check_deadline,
    manual_correction_approve,
    manual_correction_check,
    manual_correction_draft,
    manual_correction_reject,
    manual_corrections_unchecked_alerts,
)
from prefserver.intake.results import notice_results_feed
from prefserver.models import Alert, IdentityPerson, IdentityVersion, ManualCorrection, PushOutbox
from prefserver.versions import individual_number_of
from tests.prefserver.intake_helpers import (
    CODE_A,
    NUMBER,
    OTHER_NUMBER,
    YAMAGUCHI,
    furyo_payload,
    identity_payload,
    notice,
    result_of,
    send_and_process,
)

pytestmark = pytest.mark.django_db

CORRECTED = "見本 太朗"
MOVED = "山口県下関市見本町二丁目1番"


def _person() -> IdentityPerson:
    return IdentityPerson.objects.get(codes__resident_code=CODE_A)


def _current() -> IdentityVersion:
    return IdentityVersion.objects.get(pk=_person().current_version_id)


def _draft(clerk, terminal, **changes):  # type: ignore[no-untyped-def]
    return manual_correction_draft(
        clerk=clerk, terminal=terminal.terminal, file="identity", person_id=_person().pk,
        changes=changes or {"name": CORRECTED}, reason="戸籍との照合で誤記が判明", document_reference="市町課第12号",
    )  # fmt: skip


def _log(kind: int) -> list[OperationLogEntry]:
    return list(OperationLogEntry.objects.filter(kind=kind).order_by("sequence"))


def _feed() -> list[dict]:  # type: ignore[type-arg]
    return notice_results_feed(municipality_code=YAMAGUCHI, as_of=clock.now() + dt.timedelta(seconds=10))["results"]


def test_scenario_45_manual_correction_end_to_end(clerk, administrator, terminal):
    # given a person entered by the municipality's 転入 (update_sequence 1)
    (entry,) = send_and_process(notice("11", 1))
    replaced = _current()
    # when a clerk drafts a correction of the name and another administrator approves it
    correction = _draft(clerk, terminal)
    assert _current().pk == replaced.pk  # a draft changes nothing
    correction = manual_correction_approve(administrator=administrator, correction=correction)
    # then a 99 supersedes the current version, keeping update_sequence and field 14, clerk and terminal in 16–17
    current = _current()
    assert (current.change_reason, current.update_sequence, current.revision) == ("99", 1, 1)
    assert (current.name, current.municipality_code, current.removed, current.deleted) == (
        CORRECTED, YAMAGUCHI, False, False)  # fmt: skip
    assert (current.operator_id, current.terminal_id) == (f"PREF-{clerk.pk}", f"PREF-T{terminal.terminal.pk}")
    assert current.source_notice_id is None
    assert individual_number_of(current) == NUMBER  # copied, still encrypted at rest
    old = IdentityVersion.objects.get(pk=replaced.pk)
    assert (old.deleted, old.is_current) == (True, False)
    # and it is pushed with revision 1 under the same update_sequence
    push = PushOutbox.objects.get(revision=1)
    assert (push.file, push.resident_code, push.update_sequence, push.version_id, push.status) == (
        "identity", CODE_A, 1, current.pk, "pending")  # fmt: skip
    # and it reaches the municipality's results feed as a manual_correction row, after the notice's own row
    feed = _feed()
    assert [row["kind"] for row in feed] == ["notice", "manual_correction"]
    row = {k: feed[1][k] for k in ("file", "resident_code", "update_sequence", "revision", "status")}
    assert row == {
        "file": "identity",
        "resident_code": CODE_A,
        "update_sequence": 1,
        "revision": 1,
        "status": "applied",
    }
    assert "notice_id" not in feed[1]
    assert (correction.status, correction.decided_by_id, correction.result_seq) == (
        "applied", administrator.pk, feed[1]["cursor"])  # fmt: skip
    # and the municipality's next notice (stored + 1) applies through the real intake path
    (move,) = send_and_process(notice("21", 2, payload=identity_payload(name=CORRECTED, address=MOVED)))
    assert (move.status, move.code) == ("applied", "")
    assert (_current().update_sequence, _current().address, _current().revision) == (2, MOVED, 0)
    # and the operation log holds the draft and the approval, with keys only
    (drafted,) = _log(OperationKind.MANUAL_CORRECTION_DRAFTED)
    (approved,) = _log(OperationKind.MANUAL_CORRECTION_APPROVED)
    assert (drafted.operator_id, drafted.terminal_id, drafted.outcome) == (clerk.pk, terminal.terminal.pk, "ok")
    assert drafted.conditions == {"file": "identity", "keys": ["name"]}
    assert (approved.operator_id, approved.outcome, approved.conditions["revision"]) == (administrator.pk, "ok", 1)
    assert ["prefserver.manualcorrection", str(correction.pk)] in approved.targets
    assert entry.status == "applied"


def test_correction_and_cancellation_of_a_notice_behind_a_replaced_version_are_refused_e109(
    clerk, administrator, terminal
):
    # given an entry corrected by a 99
    (entry,) = send_and_process(notice("11", 1))
    manual_correction_approve(administrator=administrator, correction=_draft(clerk, terminal))
    # when the municipality cancels or corrects that entry (stored + 1)
    cancel = notice("92", 2, payload={}, target_notice_id=entry.notice_id)
    (row,) = send_and_process(cancel)
    fix = notice("91", 2, payload=identity_payload(name="見本 次郎"), target_notice_id=entry.notice_id)
    (row2,) = send_and_process(fix)
    # then both are not behind the current version (§6.2): E109, and the 99 stays current
    assert (row.status, row.code) == ("rejected", "E109")
    assert result_of(fix) == ("rejected", "E109")
    assert (_current().change_reason, row2.code) == ("99", "E109")


def test_a_second_99_on_the_same_sequence_takes_revision_2(clerk, administrator, terminal):
    # given a 99 already applied on update_sequence 1
    send_and_process(notice("11", 1))
    manual_correction_approve(administrator=administrator, correction=_draft(clerk, terminal))
    # when another correction is approved before the municipality's next notice
    manual_correction_approve(
        administrator=administrator, correction=_draft(clerk, terminal, individual_number=OTHER_NUMBER)
    )
    # then it keeps the sequence, raises the revision, and deletes the first 99
    current = _current()
    assert (current.update_sequence, current.revision, current.name) == (1, 2, CORRECTED)
    assert individual_number_of(current) == OTHER_NUMBER
    assert sorted(PushOutbox.objects.values_list("update_sequence", "revision")) == [(1, 0), (1, 1), (1, 2)]
    deleted = IdentityVersion.objects.filter(deleted=True).values_list("revision", flat=True).order_by("revision")
    assert list(deleted) == [0, 1]


def test_individual_number_is_encrypted_in_the_draft_and_absent_from_logs(clerk, administrator, terminal, caplog):
    # given a person
    send_and_process(notice("11", 1))
    # when a clerk drafts a new individual number and it is approved
    with caplog.at_level(logging.DEBUG):
        correction = _draft(clerk, terminal, individual_number=OTHER_NUMBER)
        manual_correction_approve(administrator=administrator, correction=correction)
    # then the draft stores only ciphertext and blind index, never digits
    row = ManualCorrection.objects.get(pk=correction.pk)
    assert row.changes == {"individual_number": "<encrypted>"}
    assert bytes(row.individual_number_blind_index) == blind_index(OTHER_NUMBER)
    assert OTHER_NUMBER.encode() not in bytes(row.individual_number_ciphertext)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM prefserver_manualcorrection WHERE changes::text LIKE %s", [f"%{OTHER_NUMBER}%"]
        )
        assert cursor.fetchone()[0] == 0
        cursor.execute(
            "SELECT count(*) FROM audit_operationlogentry WHERE conditions::text LIKE %s OR targets::text LIKE %s",
            [f"%{OTHER_NUMBER}%", f"%{OTHER_NUMBER}%"],
        )
        assert cursor.fetchone()[0] == 0
    assert OTHER_NUMBER not in caplog.text
    assert OTHER_NUMBER not in repr(row) and OTHER_NUMBER not in str(row)


def test_self_approval_is_refused_and_logged(clerk, administrator, terminal):
    # given an administrator who also holds the clerk role drafts a correction
    administrator.roles = [*administrator.roles, "clerk"]
    administrator.save(update_fields=["roles"])
    send_and_process(notice("11", 1))
    correction = _draft(administrator, terminal)
    # when the same administrator approves it
    with pytest.raises(PermissionDenied):
        manual_correction_approve(administrator=administrator, correction=correction)
    # then nothing is applied and the refusal is logged
    assert (ManualCorrection.objects.get(pk=correction.pk).status, _current().change_reason) == ("drafted", "11")
    (refused,) = _log(OperationKind.MANUAL_CORRECTION_APPROVED)
    assert (refused.operator_id, refused.outcome, refused.conditions) == (
        administrator.pk, "refused", {"refusal": "own_draft"})  # fmt: skip
    assert not PushOutbox.objects.filter(revision__gt=0).exists()


def test_clerk_cannot_approve(clerk, terminal, section_office):
    from tests.conftest import _cast_member

    other_clerk = _cast_member("clerk2", "別の担当", ["clerk"], section_office)
    send_and_process(notice("11", 1))
    correction = _draft(clerk, terminal)
    with pytest.raises(PermissionDenied):
        manual_correction_approve(administrator=other_clerk, correction=correction)
    with pytest.raises(PermissionDenied):
        manual_correction_reject(administrator=other_clerk, correction=correction)
    assert ManualCorrection.objects.get(pk=correction.pk).status == "drafted"
    assert [e.conditions for e in _log(OperationKind.MANUAL_CORRECTION_APPROVED)] == [
        {"refusal": "not_administrator"}, {"refusal": "not_administrator"}]  # fmt: skip


def test_contractor_stranger_and_auditor_cannot_draft(contractor, stranger, auditor, terminal):
    send_and_process(notice("11", 1))
    for operator in (contractor, stranger, auditor):
        with pytest.raises(PermissionDenied):
            _draft(operator, terminal)
    assert not ManualCorrection.objects.exists()


def test_draft_uses_intake_format_checks(clerk, terminal):
    send_and_process(notice("11", 1))
    cases = [
        ({"phone": "0830000000"}, "E002"),
        ({"sex": 3}, "E003"),
        ({"name": None}, "E003"),
        ({"individual_number": "123456789012"}, "E005"),
        ({"birth_date": (clock.today() + dt.timedelta(days=1)).isoformat()}, "E008"),
        ({"name_gaiji_count": "1"}, "E001"),
    ]
    for changes, code in cases:
        with pytest.raises(CorrectionError, match=code):
            _draft(clerk, terminal, **changes)
    with pytest.raises(CorrectionError, match="同じ"):
        _draft(clerk, terminal, name="見本 太郎")
    assert not ManualCorrection.objects.exists()


def test_rejection_writes_nothing_to_the_file(clerk, administrator, terminal):
    send_and_process(notice("11", 1))
    correction = manual_correction_reject(
        administrator=administrator, correction=_draft(clerk, terminal), note="根拠不足"
    )
    assert (correction.status, _current().change_reason, PushOutbox.objects.count()) == ("rejected", "11", 1)
    (entry,) = _log(OperationKind.MANUAL_CORRECTION_APPROVED)
    assert entry.outcome == "rejected"
    with pytest.raises(CorrectionError):
        manual_correction_approve(administrator=administrator, correction=correction)


def test_furyo_correction_copies_field_14_and_removed(clerk, administrator, terminal):
    # given a 附票 record
    send_and_process(notice("51", 1, file="furyo", payload=furyo_payload()))
    person = FuryoPerson.objects.get(codes__resident_code=CODE_A)
    old = FuryoVersion.objects.get(pk=person.current_version_id)
    # when its address is corrected
    correction = manual_correction_draft(
        clerk=clerk, terminal=terminal.terminal, file="furyo", person_id=person.pk,
        changes={"address": "東京都千代田区見本二丁目2番"}, reason="誤記", document_reference="市町課第13号",
    )  # fmt: skip
    manual_correction_approve(administrator=administrator, correction=correction)
    # then the 99 keeps sequence and 附票管理市町村, and the feed carries it to that municipality
    person.refresh_from_db()
    new = FuryoVersion.objects.get(pk=person.current_version_id)
    assert (new.notice_kind, new.update_sequence, new.revision, new.furyo_municipality_code, new.removed) == (
        "99", 1, 1, YAMAGUCHI, False)  # fmt: skip
    assert FuryoVersion.objects.get(pk=old.pk).deleted is True
    assert PushOutbox.objects.filter(file="furyo", revision=1, version_id=new.pk).exists()
    assert [r["file"] for r in _feed() if r["kind"] == "manual_correction"] == ["furyo"]
    # and neither field 14 nor the status (removed) can be corrected by hand
    for changes in ({"furyo_municipality_code": "352021"}, {"status": 9}):
        with pytest.raises(CorrectionError, match="修正できない項目"):
            manual_correction_draft(
                clerk=clerk, terminal=terminal.terminal, file="furyo", person_id=person.pk,
                changes=changes, reason="誤記", document_reference="x",
            )  # fmt: skip


def test_check_by_an_auditor_not_involved(clerk, administrator, auditor, terminal):
    send_and_process(notice("11", 1))
    correction = manual_correction_approve(administrator=administrator, correction=_draft(clerk, terminal))
    with pytest.raises(PermissionDenied):
        manual_correction_check(auditor=clerk, correction=correction, verdict="proper")
    checked = manual_correction_check(auditor=auditor, correction=correction, verdict="proper", notes="書類確認")
    assert (checked.checked_by_id, checked.check_verdict) == (auditor.pk, "proper")
    (entry,) = _log(OperationKind.MANUAL_CORRECTION_CHECKED)
    assert (entry.operator_id, entry.conditions) == (auditor.pk, {"verdict": "proper"})


def test_unchecked_after_its_quarter_raises_one_alert(clerk, administrator, auditor, terminal):
    # given two corrections applied in one quarter, one of them checked
    send_and_process(notice("11", 1))
    first = manual_correction_approve(administrator=administrator, correction=_draft(clerk, terminal))
    second = manual_correction_approve(
        administrator=administrator, correction=_draft(clerk, terminal, name="見本 太良")
    )
    manual_correction_check(auditor=auditor, correction=second, verdict="proper")
    deadline = check_deadline(first.decided_at, months=3)
    # when the sweep runs before and after the end of the quarter (twice after)
    before = manual_corrections_unchecked_alerts(as_of=deadline - dt.timedelta(seconds=1))
    after = manual_corrections_unchecked_alerts(as_of=deadline)
    again = manual_corrections_unchecked_alerts(as_of=deadline + dt.timedelta(days=1))
    # then exactly one alert, for the unchecked one, logged once
    assert (before, after, again) == (0, 1, 0)
    (alert,) = Alert.objects.filter(kind=Alert.Kind.MANUAL_CORRECTION_UNCHECKED)
    assert f"#{first.pk}" in alert.message
    (logged,) = _log(OperationKind.ALERT_RAISED)
    assert (logged.actor, logged.targets) == ("system:corrections", [["prefserver.manualcorrection", str(first.pk)]])


def test_check_deadline_follows_fiscal_quarters():
    tokyo = clock.TOKYO
    assert check_deadline(dt.datetime(2026, 5, 10, tzinfo=tokyo), months=3) == dt.datetime(2026, 7, 1, tzinfo=tokyo)
    assert check_deadline(dt.datetime(2026, 2, 1, tzinfo=tokyo), months=3) == dt.datetime(2026, 4, 1, tzinfo=tokyo)
    assert check_deadline(dt.datetime(2026, 12, 31, tzinfo=tokyo), months=3) == dt.datetime(2027, 1, 1, tzinfo=tokyo)
    assert check_deadline(dt.datetime(2026, 11, 1, tzinfo=tokyo), months=6) == dt.datetime(2027, 4, 1, tzinfo=tokyo)


def test_feed_row_reaches_the_municipality_through_the_cs_api(clerk, administrator, terminal):
    from tests.prefserver.intake_helpers import UBE, cs_client

    # given an applied 99, decided more than 5 s ago
    send_and_process(notice("11", 1))
    correction = manual_correction_approve(administrator=administrator, correction=_draft(clerk, terminal))
    ManualCorrection.objects.filter(pk=correction.pk).update(decided_at=clock.now() - dt.timedelta(seconds=6))
    # when the person's municipality and another one read their feeds
    own = cs_client(YAMAGUCHI).get("/cs/v1/results?after=0").json()["results"]
    other = cs_client(UBE).get("/cs/v1/results?after=0").json()["results"]
    # then only the person's current municipality sees the manual_correction row
    rows = [r for r in own if r["kind"] == "manual_correction"]
    assert [(r["resident_code"], r["update_sequence"], r["revision"]) for r in rows] == [(CODE_A, 1, 1)]
    assert not [r for r in other if r["kind"] == "manual_correction"]
    # and a cursor after it returns nothing more
    after = cs_client(YAMAGUCHI).get(f"/cs/v1/results?after={rows[0]['cursor']}").json()
    assert after["results"] == [] and after["next"] == rows[0]["cursor"]


def test_a_removed_person_stays_removed_after_a_99(clerk, administrator, terminal):
    # given a person who moved out (removed)
    send_and_process(notice("11", 1))
    send_and_process(notice("31", 2))
    assert _current().removed is True
    # when a correction is applied
    manual_correction_approve(administrator=administrator, correction=_draft(clerk, terminal))
    # then the 99 copies removed and keeps the sequence; the next entry (a re-entry, > stored) applies
    current = _current()
    assert (current.change_reason, current.removed, current.update_sequence, current.revision) == ("99", True, 2, 1)
    (entry,) = send_and_process(notice("11", 3, payload=identity_payload(name=CORRECTED)))
    assert (entry.status, _current().removed) == ("applied", False)


def test_cancelling_the_next_notice_restores_the_corrected_content(clerk, administrator, terminal):
    # given a 99 on sequence 1 and the municipality's 転居 (2) on top of it
    send_and_process(notice("11", 1))
    manual_correction_approve(administrator=administrator, correction=_draft(clerk, terminal))
    (move,) = send_and_process(notice("21", 2, payload=identity_payload(name=CORRECTED, address=MOVED)))
    # when the municipality cancels the 転居 (3)
    (cancel,) = send_and_process(notice("92", 3, payload={}, target_notice_id=move.notice_id))
    # then the state before it is the 99's content (the newest non-deleted older version), not the replaced one
    current = _current()
    assert cancel.status == "applied"
    assert (current.change_reason, current.name, current.address, current.update_sequence) == (
        "92", CORRECTED, identity_payload()["address"], 3)  # fmt: skip
