"""Bulk provision (domain.md §9.5; scenario 28)."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io

import pytest

from audit.models import Affair, OperationKind, OperationLogEntry
from jukinet.models import SettingValue
from provision.bulk import BulkError, bulk_approval_record, bulk_request_run
from provision.models import BulkApprover, MediaOutput, Medium, ProvisionRecord
from tests.provision.conftest import make_operator, make_terminal, person, tax_chief_approval

pytestmark = pytest.mark.django_db


def request_file(rows: list[dict[str, str]], header: list[str] | None = None) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header or ["row_id", "resident_code"])
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


@pytest.fixture
def medium(section):
    return Medium.objects.create(medium_id="CD-2026-001", kind="cd", office=section)


def set_setting(name, value):
    SettingValue.objects.create(name=name, value=value, effective_from=dt.date(2000, 1, 1))


def run(clerk, terminal, catalogue, content, **kwargs):
    kwargs.setdefault("recipient", catalogue["DEPT-TAX"])
    kwargs.setdefault("affair_code", "S5-TAX-01")
    kwargs.setdefault("file", "identity")
    return bulk_request_run(operator=clerk, terminal=terminal, content=content, **kwargs)


def test_over_threshold_without_approval_is_q12(clerk, clerk_terminal, catalogue, medium):
    # given: the real default threshold of 1,000; 1,001 rows
    content = request_file([{"row_id": str(i), "resident_code": "12345678903"} for i in range(1001)])
    # when
    job = run(clerk, clerk_terminal, catalogue, content, medium=medium)
    # then: refused whole before any row is looked up
    assert (job.status, job.code) == ("refused", "Q12")
    assert list(ProvisionRecord.objects.values_list("code", flat=True)) == ["Q12"]
    assert not MediaOutput.objects.exists()
    assert OperationLogEntry.objects.order_by("-sequence").first().outcome == "Q12"


def test_with_approval_writes_result_file_and_media_entry(clerk, clerk_terminal, catalogue, medium):
    # given: threshold lowered to 2, three rows, the recipient's responsible officer approves
    set_setting("BULK_APPROVAL_THRESHOLD", 2)
    _, code, _ = person()
    person(name="重複 花子", name_kana="チョウフク ハナコ", sex=2)
    person(name="重複 花子", name_kana="チョウフク ハナコ", sex=2)
    officer, approval = tax_chief_approval(catalogue, max_rows=3)
    header = ["row_id", "resident_code", "name", "birth_date", "sex", "address"]
    content = request_file(
        [
            {"row_id": "a", "resident_code": code},
            {"row_id": "b", "resident_code": "99999999999"},
            {
                "row_id": "c",
                "name": "重複 花子",
                "birth_date": "1980-04-01",
                "sex": "2",
                "address": "山口県山口市見本町一丁目2番3号",
            },
        ],
        header,
    )
    # when
    job = run(clerk, clerk_terminal, catalogue, content, medium=medium, approval=approval)
    # then
    assert job.status == "completed"
    rows = list(csv.DictReader(io.StringIO(bytes(job.result_file).decode("utf-8"))))
    assert [(r["row_id"], r["result"], r["code"]) for r in rows] == [
        ("a", "released", ""), ("b", "not_found", ""), ("c", "refused", "Q07"),
    ]  # fmt: skip
    assert rows[0]["resident_code"] == code and rows[0]["name"] == "見本 太郎"
    output = MediaOutput.objects.get()
    assert output.sha256 == hashlib.sha256(bytes(job.result_file)).hexdigest()
    assert (output.rows, output.medium, output.approver, output.operator) == (3, medium, officer, clerk)
    records = ProvisionRecord.objects.filter(bulk_request_id=job.pk)
    assert sorted(records.values_list("result", flat=True)) == ["not_found", "refused", "released"]
    assert set(records.values_list("channel", flat=True)) == {"media"}
    kinds = list(OperationLogEntry.objects.order_by("-sequence").values_list("kind", flat=True)[:2])
    assert kinds == [OperationKind.MEDIA_WRITTEN, OperationKind.BULK_PROCESSED]
    approval.refresh_from_db()
    assert approval.used_at is not None


def test_paper_approval_reference_by_clerk(clerk, clerk_terminal, catalogue, medium):
    set_setting("BULK_APPROVAL_THRESHOLD", 1)
    approval = bulk_approval_record(
        recorded_by=clerk, recipient=catalogue["DEPT-TAX"], affair=Affair.objects.get(code="S5-TAX-01"),
        max_rows=2, paper_reference="税務第88号",
    )  # fmt: skip
    content = request_file([{"row_id": "1", "resident_code": "12345678903"}, {"row_id": "2", "resident_code": "1"}])
    job = run(clerk, clerk_terminal, catalogue, content, medium=medium, approval=approval)
    assert job.status == "completed" and MediaOutput.objects.get().paper_approval_reference == "税務第88号"


def test_approver_of_another_recipient_cannot_approve(clerk, catalogue):
    officer = make_operator("edu-chief", catalogue["BODY-EDU"], "body_operator")
    BulkApprover.objects.create(operator=officer, office=catalogue["BODY-EDU"])
    with pytest.raises(PermissionError):
        bulk_approval_record(
            recorded_by=officer, approver=officer, recipient=catalogue["DEPT-TAX"],
            affair=Affair.objects.get(code="S5-TAX-01"), max_rows=5000,
        )  # fmt: skip


def test_too_many_rows_refused_whole_even_with_approval(clerk, clerk_terminal, catalogue, medium):
    set_setting("BULK_MAX_ROWS", 2)
    content = request_file([{"row_id": str(i), "resident_code": "12345678903"} for i in range(3)])
    assert run(clerk, clerk_terminal, catalogue, content, medium=medium).code == "Q12"


def test_unregistered_medium_is_q12(clerk, clerk_terminal, catalogue, medium):
    medium.status = Medium.Status.DISPOSED
    medium.save()
    content = request_file([{"row_id": "1", "resident_code": "12345678903"}])
    assert run(clerk, clerk_terminal, catalogue, content, medium=medium).code == "Q12"
    assert run(clerk, clerk_terminal, catalogue, content, medium=None).code == "Q12"


def test_terminal_without_media_export_is_q09(clerk, section, catalogue, medium):
    terminal = make_terminal("市町課-02", section, "search-only", ["search", "provide"])
    content = request_file([{"row_id": "1", "resident_code": "12345678903"}])
    assert run(clerk, terminal, catalogue, content, medium=medium).code == "Q09"


def test_recipient_operators_may_not_run_bulk_by_default(tax_operator, tax_terminal, catalogue, medium):
    content = request_file([{"row_id": "1", "resident_code": "12345678903"}])
    assert run(tax_operator, tax_terminal, catalogue, content, medium=medium).code == "Q02"


def test_malformed_files_are_rejected(clerk, clerk_terminal, catalogue, medium):
    with pytest.raises(BulkError):
        run(clerk, clerk_terminal, catalogue, b"resident_code\n12345678903\n", medium=medium)
    with pytest.raises(BulkError):
        run(clerk, clerk_terminal, catalogue, request_file([], ["row_id", "phone"]), medium=medium)
    with pytest.raises(BulkError):
        run(clerk, clerk_terminal, catalogue, "row_id\n1\n".encode("shift_jis") + b"\x82\xa0", medium=medium)


def test_bulk_screen_returns_the_result_csv(clerk, clerk_terminal, catalogue, medium):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.provision.conftest import verified_client

    _, code, _ = person()
    client = verified_client(clerk, "clerk-terminal-key")
    upload = SimpleUploadedFile("req.csv", request_file([{"row_id": "1", "resident_code": code}]), "text/csv")
    response = client.post(
        "/bulk/",
        {"recipient": catalogue["DEPT-TAX"].pk, "affair": "S5-TAX-01", "file": "identity", "medium": medium.pk,
         "request_file": upload},
    )  # fmt: skip
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "released" in response.content.decode() and response["Cache-Control"].startswith("no-store")
