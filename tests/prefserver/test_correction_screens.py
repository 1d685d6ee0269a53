"""例外修正 screens (domain.md §6.6): a clerk drafts through the selector door, another administrator approves,
an auditor checks; the contractor, a stranger and the drafter are refused."""

from __future__ import annotations

import pytest
from django.test import Client

from audit.models import OperationKind, OperationLogEntry
from prefserver.models import IdentityPerson, IdentityVersion, ManualCorrection, PushOutbox
from provision.catalogue import affair_catalogue_load
from tests.prefserver.intake_helpers import CODE_A, NUMBER, OTHER_NUMBER, notice, send_and_process

pytestmark = pytest.mark.django_db

CORRECTED = "見本 太朗"


@pytest.fixture
def person():  # type: ignore[no-untyped-def]
    affair_catalogue_load()
    send_and_process(notice("11", 1))
    return IdentityPerson.objects.get(codes__resident_code=CODE_A)


def _form(**extra):  # type: ignore[no-untyped-def]
    data = {
        "file": "identity", "affair": "INT-001", "resident_code": CODE_A, "key_1": "name", "value_1": CORRECTED,
        "reason": "戸籍との照合で誤記が判明", "document_reference": "市町課第12号",
    }  # fmt: skip
    data.update(extra)
    return data


def _signed_in(operator, terminal, login_with_otp, approve_usage=None):  # type: ignore[no-untyped-def]
    client = Client()
    login_with_otp(client, operator, terminal)
    if approve_usage is not None:
        approve_usage(operator, terminal)
    return client


def test_clerk_drafts_by_exact_resident_code_and_administrator_approves(
    person, clerk, administrator, terminal, login_with_otp, approve_usage
):
    # given a clerk with today's usage approval on a registered terminal
    clerk_client = _signed_in(clerk, terminal, login_with_otp, approve_usage)
    # when the clerk drafts a name correction, the person found by an exact resident code
    response = clerk_client.post("/corrections/new/", _form())
    # then a draft exists, found through provision's staff search (logged), and nothing is applied yet
    assert response.status_code == 302
    correction = ManualCorrection.objects.get()
    assert (correction.status, correction.person_id, correction.changes) == ("drafted", person.pk, {"name": CORRECTED})
    assert OperationLogEntry.objects.filter(kind=OperationKind.IDENTITY_SEARCHED, operator=clerk).count() == 1
    assert OperationLogEntry.objects.filter(kind=OperationKind.MANUAL_CORRECTION_DRAFTED).count() == 1
    assert response["Cache-Control"].startswith("no-store") or "no-store" in response["Cache-Control"]
    # when the drafter opens the pending list, the draft cannot be decided by them
    admin_client = _signed_in(administrator, terminal, login_with_otp, approve_usage)
    listing = admin_client.get("/corrections/pending/")
    assert listing.status_code == 200 and f"/corrections/{correction.pk}/" in listing.content.decode()
    # and the administrator opens it (a logged view of the values) and approves
    page = admin_client.get(f"/corrections/{correction.pk}/")
    assert page.status_code == 200 and CORRECTED in page.content.decode()
    assert admin_client.post(f"/corrections/{correction.pk}/", {"decision": "approve"}).status_code == 302
    # then the 99 is current and pushed with revision 1
    current = IdentityVersion.objects.get(pk=IdentityPerson.objects.get(pk=person.pk).current_version_id)
    assert (current.change_reason, current.name, current.revision) == ("99", CORRECTED, 1)
    assert PushOutbox.objects.filter(revision=1, version_id=current.pk).exists()
    viewed = OperationLogEntry.objects.filter(kind=OperationKind.IDENTITY_VIEWED, operator=administrator).get()
    assert viewed.conditions == {"file": "identity", "view": "manual_correction"}


def test_draft_from_a_record_view_by_surrogate_id_shows_a_masked_number(
    person, clerk, terminal, login_with_otp, approve_usage
):
    client = _signed_in(clerk, terminal, login_with_otp, approve_usage)
    page = client.get(f"/corrections/new/?file=identity&person_id={person.pk}&affair=INT-001")
    body = page.content.decode()
    assert page.status_code == 200
    assert "********9018" in body and NUMBER not in body
    response = client.post(
        "/corrections/new/",
        _form(resident_code="", person_id=str(person.pk), key_1="individual_number", value_1=OTHER_NUMBER),
    )
    assert response.status_code == 302
    assert ManualCorrection.objects.get().changes == {"individual_number": "<encrypted>"}


def test_invalid_value_is_named_by_key_not_value(person, clerk, terminal, login_with_otp, approve_usage):
    client = _signed_in(clerk, terminal, login_with_otp, approve_usage)
    response = client.post("/corrections/new/", _form(key_1="individual_number", value_1="123456789012"))
    body = response.content.decode()
    assert response.status_code == 400
    assert "E005" in body and "individual_number" in body and "123456789012" not in body.split("<form")[0]
    assert not ManualCorrection.objects.exists()


def test_drafter_cannot_approve_on_screen(person, clerk, administrator, terminal, login_with_otp, approve_usage):
    # given an administrator who also holds the clerk role drafts
    administrator.roles = [*administrator.roles, "clerk"]
    administrator.save(update_fields=["roles"])
    client = _signed_in(administrator, terminal, login_with_otp, approve_usage)
    client.post("/corrections/new/", _form())
    correction = ManualCorrection.objects.get()
    # when they try to approve it
    client.post(f"/corrections/{correction.pk}/", {"decision": "approve"})
    # then it stays drafted and the refusal is logged
    assert ManualCorrection.objects.get().status == "drafted"
    assert OperationLogEntry.objects.filter(kind=OperationKind.MANUAL_CORRECTION_APPROVED, outcome="refused").exists()


def test_clerk_contractor_and_stranger_are_refused(
    person, clerk, contractor, stranger, terminal, login_with_otp, approve_usage
):
    clerk_client = _signed_in(clerk, terminal, login_with_otp, approve_usage)
    clerk_client.post("/corrections/new/", _form())
    correction = ManualCorrection.objects.get()
    # a clerk may not see the approval list or decide
    assert clerk_client.get("/corrections/pending/").status_code == 403
    assert clerk_client.post(f"/corrections/{correction.pk}/", {"decision": "approve"}).status_code == 403
    assert clerk_client.get("/corrections/checks/").status_code == 403
    for outsider in (contractor, stranger):
        client = _signed_in(outsider, terminal, login_with_otp)
        for url in (
            "/corrections/new/",
            "/corrections/pending/",
            f"/corrections/{correction.pk}/",
            "/corrections/checks/",
        ):
            assert client.get(url).status_code == 403, (outsider.username, url)
        assert client.post("/corrections/new/", _form()).status_code == 403
    assert ManualCorrection.objects.get().status == "drafted"
    assert ManualCorrection.objects.count() == 1
    # without a verified login: back to the login page
    assert Client().get("/corrections/new/").status_code == 302


def test_auditor_checks_on_the_check_list(
    person, clerk, administrator, auditor, terminal, login_with_otp, approve_usage
):
    from prefserver.corrections import manual_correction_approve, manual_correction_draft

    correction = manual_correction_draft(
        clerk=clerk, terminal=terminal.terminal, file="identity", person_id=person.pk, changes={"name": CORRECTED},
        reason="誤記", document_reference="市町課第12号",
    )  # fmt: skip
    manual_correction_approve(administrator=administrator, correction=correction)
    client = _signed_in(auditor, terminal, login_with_otp)
    page = client.get("/corrections/checks/")
    assert page.status_code == 200 and "市町課第12号" in page.content.decode()
    assert CORRECTED not in page.content.decode()  # the check list shows keys, never values
    client.post("/corrections/checks/", {"correction": correction.pk, "verdict": "proper", "notes": "確認"})
    assert ManualCorrection.objects.get().checked_by_id == auditor.pk
    assert OperationLogEntry.objects.filter(kind=OperationKind.MANUAL_CORRECTION_CHECKED, operator=auditor).exists()
