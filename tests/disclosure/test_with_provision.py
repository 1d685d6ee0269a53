"""Disclosure and provision together: a granted suspension refuses releases with Q11 until lifted, and
the 提供状況 report lists the releases provision's own door recorded (domain.md §9.4, §12)."""

from __future__ import annotations

import re

import pytest

from audit.models import Office, Operator, Role, Terminal, UsageApproval
from disclosure import services
from disclosure.models import Decision, RequestKind, SuspensionDecision
from jukinet import clock
from provision.selectors import release_lookup
from tests.disclosure.conftest import make_identity_person, receive
from tests.disclosure.pdf_helpers import pdf_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def education(desk):  # type: ignore[no-untyped-def]
    """An operator of the board of education on its own terminal, approved for today (desk loads the catalogue)."""
    office = Office.objects.get(code="BODY-EDU")
    operator = Operator.objects.create(username="edu", display_name="教育庁 操作者", office=office,
                                       roles=[Role.BODY_OPERATOR])  # fmt: skip
    terminal = Terminal.objects.create(name="教育庁-01", kind="business", office=office, credential_hash="e" * 64,
                                       capabilities=["search", "provide"])  # fmt: skip
    now = clock.now()
    UsageApproval.objects.create(
        operator=operator, office=office, terminal=terminal, purpose="業務", requested_at=now,
        status=UsageApproval.Status.APPROVED, devices_checked=True, approved_at=now,
        valid_until=clock.end_of_day(clock.today()),
    )  # fmt: skip
    return operator, terminal


def _lookup(education, code, affair):  # type: ignore[no-untyped-def]
    operator, terminal = education
    return release_lookup(
        operator=operator, terminal=terminal, file="identity", affair_code=affair, conditions={"resident_code": code}
    )


def test_suspension_refuses_release_with_q11_until_lifted(clerk, administrator, desk, education):
    # given a person released once to the board of education
    person = make_identity_person()
    code = person.codes.get().resident_code
    assert _lookup(education, code, "S6-EDU-01").result == "released"

    # when the administrator grants a suspension for that affair
    case = receive(clerk, kind=RequestKind.SUSPENSION, suspension_affair_codes=["S6-EDU-01"])
    services.disclosure_requester_match(
        case=case, operator=clerk, terminal=desk, person_id=person.pk, address_confirmed=True
    )
    services.suspension_decide(case=case, operator=administrator, outcome="granted")

    # then provision refuses that affair with Q11 and still releases under another
    assert (_lookup(education, code, "S6-EDU-01").code) == "Q11"
    assert _lookup(education, code, "S6-EDU-02").result == "released"

    # when lifted, then releases resume
    services.suspension_lift(decision=SuspensionDecision.objects.get(case=case), operator=administrator)
    assert _lookup(education, code, "S6-EDU-01").result == "released"


def test_report_lists_the_releases_provision_recorded(clerk, desk, education):
    # given two releases of the person and one of someone else, all through provision's door
    person = make_identity_person()
    other = make_identity_person(name="別人 花子", sex=2)
    _lookup(education, person.codes.get().resident_code, "S6-EDU-01")
    _lookup(education, person.codes.get().resident_code, "S6-EDU-02")
    _lookup(education, other.codes.get().resident_code, "S6-EDU-01")

    # when the person asks for the provision status
    case = receive(clerk, kind=RequestKind.PROVISION_STATUS)
    services.disclosure_requester_match(
        case=case, operator=clerk, terminal=desk, person_id=person.pk, address_confirmed=True
    )
    services.disclosure_decide(case=case, operator=clerk, decision=Decision.GRANTED)
    report = services.provision_status_report_issue(case=case, operator=clerk)

    # then both of the person's releases appear (the staff search for matching is internal use, not listed)
    text = pdf_text(report.content)
    office = Office.objects.get(code="BODY-EDU").name.replace(" ", "").replace("\u3000", "")
    assert text.count(office) == 2
    assert not re.search(r"\d{12}", text)
