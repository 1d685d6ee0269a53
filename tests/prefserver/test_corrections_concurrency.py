"""例外修正 under concurrency (domain.md §6.5 locking, §6.6): transactional tests on separate connections."""

from __future__ import annotations

import threading

import pytest

from prefserver import corrections
from prefserver.corrections import CorrectionError, manual_correction_approve, manual_correction_draft
from prefserver.intake import process, receive
from prefserver.models import IdentityPerson, IdentityVersion, ManualCorrection, PushOutbox
from tests.prefserver.intake_helpers import CODE_A, YAMAGUCHI, identity_payload, notice, send_and_process
from tests.threads import run_in_threads

# Requested by name (not by the django_db mark) so that conftest empties the version tables afterwards.
pytestmark = pytest.mark.usefixtures("transactional_db")


def test_two_administrators_approving_one_draft_apply_it_once(clerk, administrator, section_office, terminal):
    from tests.conftest import _cast_member

    # given a draft and two administrators other than the drafter
    send_and_process(notice("11", 1))
    person = IdentityPerson.objects.get(codes__resident_code=CODE_A)
    draft = manual_correction_draft(
        clerk=clerk, terminal=terminal.terminal, file="identity", person_id=person.pk, changes={"name": "見本 太朗"},
        reason="誤記", document_reference="市町課第12号",
    )  # fmt: skip
    second = _cast_member("admin2", "第二管理者", ["administrator"], section_office)
    # when both approve at the same time
    errors = run_in_threads(
        lambda: manual_correction_approve(administrator=administrator, correction=draft),
        lambda: manual_correction_approve(administrator=second, correction=draft),
    )
    # then one applies and the other finds it no longer pending
    assert [type(e) for e in errors] == [CorrectionError]
    assert IdentityVersion.objects.filter(change_reason="99").count() == 1
    assert PushOutbox.objects.filter(revision=1).count() == 1
    assert ManualCorrection.objects.get().status == "applied"


def test_approval_waits_for_an_intake_batch_on_the_same_person(clerk, administrator, terminal, monkeypatch):
    # given a person and a stored 転居 (2) whose batch holds the person's advisory lock for a moment
    monkeypatch.setattr(receive, "wake_intake_worker", lambda: None)
    send_and_process(notice("11", 1))
    person = IdentityPerson.objects.get(codes__resident_code=CODE_A)
    draft = manual_correction_draft(
        clerk=clerk, terminal=terminal.terminal, file="identity", person_id=person.pk, changes={"name": "見本 太朗"},
        reason="誤記", document_reference="市町課第12号",
    )  # fmt: skip
    moved = identity_payload(address="山口県下関市見本町二丁目1番")
    receive.notices_receive(municipality_code=YAMAGUCHI, elements=[notice("21", 2, payload=moved)], actor="cs:352039")
    batch_locked, approval_started = threading.Event(), threading.Event()
    original_load = process.BatchRun._load

    def slow_load(self, keys):  # type: ignore[no-untyped-def]
        batch_locked.set()
        approval_started.wait(timeout=10)
        return original_load(self, keys)

    monkeypatch.setattr(process.BatchRun, "_load", slow_load)
    original_lock = corrections._lock_person

    def lock_after_batch(file, person_id):  # type: ignore[no-untyped-def]
        batch_locked.wait(timeout=10)
        approval_started.set()
        return original_lock(file, person_id)

    monkeypatch.setattr(corrections, "_lock_person", lock_after_batch)
    # when the batch and the approval run at the same time
    errors = run_in_threads(
        lambda: process.intake_process_batch(limit=10),
        lambda: manual_correction_approve(administrator=administrator, correction=draft),
    )
    # then the approval applied after the 転居, on its update_sequence, keeping the new address
    assert errors == []
    person.refresh_from_db()
    current = IdentityVersion.objects.get(pk=person.current_version_id)
    assert (current.change_reason, current.update_sequence, current.revision) == ("99", 2, 1)
    assert (current.address, current.name) == (moved["address"], "見本 太朗")
    assert sorted(PushOutbox.objects.values_list("update_sequence", "revision")) == [(1, 0), (2, 0), (2, 1)]
