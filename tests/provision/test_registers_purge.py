"""The registers purge for bulk provision and media (domain.md §13): outputs, requests and approvals by record
time, media from disposal; PROTECT chains are removed outputs first."""

from __future__ import annotations

import datetime as dt
import io

import pytest

from audit.models import Affair, Office, Operator, Terminal
from jukinet.models import SettingValue
from jukinet.registers import registers_purge
from provision.bulk import bulk_request_run
from provision.models import BulkApproval, BulkRequest, MediaOutput, Medium, ProvisionRecord
from tests.provision.conftest import person, tax_chief_approval
from tests.registers_times import AS_OF, JUST_INSIDE, JUST_PAST, LONG_AGO

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("seven_years")]


def _medium(office: Office, name: str, *, disposed: dt.datetime | None, status: str | None = None) -> Medium:
    return Medium.objects.create(
        medium_id=name, kind="cd", office=office, registered_at=LONG_AGO, disposed_at=disposed,
        status=status or (Medium.Status.DISPOSED if disposed else Medium.Status.RETURNED),
    )  # fmt: skip


def _approval(clerk: Operator, recipient: Office, *, approved: dt.datetime, used: dt.datetime | None) -> BulkApproval:
    return BulkApproval.objects.create(
        recipient=recipient, affair=Affair.objects.get(code="S5-TAX-01"), max_rows=2000, paper_reference="承認-1",
        recorded_by=clerk, approved_at=approved, used_at=used,
    )  # fmt: skip


def _job(
    clerk: Operator,
    terminal: Terminal,
    recipient: Office,
    *,
    requested: dt.datetime,
    medium: Medium | None = None,
    approval: BulkApproval | None = None,
    written: dt.datetime | None = None,
) -> BulkRequest:
    job = BulkRequest.objects.create(
        recipient=recipient, affair_code="S5-TAX-01", file="identity", operator=clerk, terminal=terminal,
        approval=approval, medium=medium, rows=1, status="completed" if medium else "refused",
        result_file=b"row_id,result\r\n1,not_found\r\n" if medium else None, requested_at=requested,
    )  # fmt: skip
    if medium is not None and written is not None:
        MediaOutput.objects.create(
            medium=medium, bulk_request=job, file_name=f"bulk-result-{job.pk}.csv", rows=1, sha256="0" * 64,
            requester=recipient, operator=clerk, terminal=terminal, written_at=written,
        )  # fmt: skip
    return job


def _ids(model) -> set[int]:  # type: ignore[no-untyped-def]
    return set(model.objects.values_list("pk", flat=True))


def test_a_bulk_job_past_the_period_goes_whole_outputs_first(clerk, clerk_terminal, catalogue, section):
    # given a real bulk job over the approval threshold, written to a medium later disposed, all just past
    SettingValue.objects.create(name="BULK_APPROVAL_THRESHOLD", value=1, effective_from=dt.date(2000, 1, 1))
    _, code, _ = person()
    _, approval = tax_chief_approval(catalogue, max_rows=2)
    medium = Medium.objects.create(medium_id="CD-OLD", kind="cd", office=section)
    content = io.StringIO()
    content.write(f"row_id,resident_code\r\na,{code}\r\nb,99999999999\r\n")
    job = bulk_request_run(
        operator=clerk, terminal=clerk_terminal, recipient=catalogue["DEPT-TAX"], affair_code="S5-TAX-01",
        file="identity", content=content.getvalue().encode(), approval=approval, medium=medium,
    )  # fmt: skip
    assert job.status == "completed" and job.result_file
    BulkRequest.objects.filter(pk=job.pk).update(requested_at=JUST_PAST - dt.timedelta(minutes=1))
    MediaOutput.objects.filter(bulk_request=job).update(written_at=JUST_PAST)
    BulkApproval.objects.filter(pk=approval.pk).update(approved_at=LONG_AGO, used_at=JUST_PAST)
    Medium.objects.filter(pk=medium.pk).update(status=Medium.Status.DISPOSED, disposed_at=JUST_PAST)
    records = ProvisionRecord.objects.filter(bulk_request_id=job.pk).count()
    # when the purge runs
    counts = registers_purge(as_of=AS_OF)
    # then output, request (with its result file), approval and medium are gone without an IntegrityError
    assert {key: counts[key] for key in counts if key.startswith("provision_")} == {
        "provision_mediaoutput": 1, "provision_bulkrequest": 1, "provision_bulkapproval": 1, "provision_medium": 1,
    }  # fmt: skip
    assert not (_ids(MediaOutput) or _ids(BulkRequest) or _ids(BulkApproval) or _ids(Medium))
    # and the provision records (their own monthly purge) are untouched
    assert records == 2 and ProvisionRecord.objects.filter(bulk_request_id=job.pk).count() == 2


def test_an_output_inside_the_period_keeps_its_request_approval_and_medium(clerk, clerk_terminal, catalogue, section):
    # given a request, approval and medium disposal just past, but the output written just inside
    recipient = catalogue["DEPT-TAX"]
    medium = _medium(section, "CD-1", disposed=JUST_PAST)
    approval = _approval(clerk, recipient, approved=JUST_PAST, used=JUST_PAST)
    job = _job(clerk, clerk_terminal, recipient, requested=JUST_PAST, medium=medium, approval=approval,
               written=JUST_INSIDE)  # fmt: skip
    # and, for contrast, an unused approval and a refused request (no medium, no output) just past
    _approval(clerk, recipient, approved=JUST_PAST, used=None)
    _job(clerk, clerk_terminal, recipient, requested=JUST_PAST)
    # when the purge runs
    counts = registers_purge(as_of=AS_OF)
    # then the chain held by the young output stays whole; the contrast rows go
    assert (counts["provision_mediaoutput"], counts["provision_bulkrequest"]) == (0, 1)
    assert (counts["provision_bulkapproval"], counts["provision_medium"]) == (1, 0)
    assert _ids(BulkRequest) == {job.pk}
    assert _ids(BulkApproval) == {approval.pk}
    assert _ids(Medium) == {medium.pk}
    assert MediaOutput.objects.get().bulk_request_id == job.pk


def test_an_approval_used_inside_the_period_stays(clerk, catalogue):
    # given an approval recorded long ago but used just inside the period
    used_late = _approval(clerk, catalogue["DEPT-TAX"], approved=LONG_AGO, used=JUST_INSIDE)
    # when the purge runs
    counts = registers_purge(as_of=AS_OF)
    # then it stays
    assert counts["provision_bulkapproval"] == 0
    assert _ids(BulkApproval) == {used_late.pk}


def test_a_medium_goes_only_once_disposed_past_the_period_and_unused(clerk, clerk_terminal, catalogue, section):
    # given media: one returned (never disposed) since 2001, one issued, one disposed just inside the
    # period, one disposed just past, and one disposed long ago whose output is still kept
    returned = _medium(section, "CD-RETURNED", disposed=None)
    issued = _medium(section, "CD-ISSUED", disposed=None, status=Medium.Status.ISSUED)
    disposed_inside = _medium(section, "CD-INSIDE", disposed=JUST_INSIDE)
    disposed_past = _medium(section, "CD-PAST", disposed=JUST_PAST)
    still_used = _medium(section, "CD-USED", disposed=LONG_AGO)
    _job(clerk, clerk_terminal, catalogue["DEPT-TAX"], requested=JUST_INSIDE, medium=still_used, written=JUST_INSIDE)
    # when the purge runs
    counts = registers_purge(as_of=AS_OF)
    # then only the medium disposed past the period with nothing naming it goes
    assert counts["provision_medium"] == 1
    assert _ids(Medium) == {returned.pk, issued.pk, disposed_inside.pk, still_used.pk}
    assert not Medium.objects.filter(pk=disposed_past.pk).exists()
    # and a medium that is not disposed stays however late the purge runs
    registers_purge(as_of=dt.date(2090, 1, 1))
    assert _ids(Medium) == {returned.pk, issued.pk}
